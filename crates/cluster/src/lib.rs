//! The cluster engine of datalyptica: preflight, phased deploy with health gates, status,
//! troubleshoot and destroy, through the Kubernetes API with kube-rs.
//!
//! Pure parts (the plan, gate evaluation, preflight analyzers, diagnosis, secret provisioning,
//! redaction) take JSON objects and are tested on fixtures; the I/O lives behind
//! [`api::ClusterApi`], implemented over `kube::Client`.

pub mod api;
pub mod certs;
pub mod cli;
pub mod deep;
pub mod deploy;
pub mod diagnose;
pub mod gates;
pub mod lock;
pub mod monitoring;
pub mod ops;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod sandbox;
pub mod secrets;

pub use cli::{
    DeployArgs, DestroyArgs, PreflightArgs, StatusArgs, TroubleshootArgs, run_deploy, run_destroy,
    run_preflight, run_status, run_troubleshoot,
};
pub use cli::{SandboxArgs, run_sandbox};
