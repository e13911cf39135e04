//! The cluster engine of datalyptica: preflight, phased deploy with health gates, status,
//! troubleshoot and destroy, through the Kubernetes API with kube-rs.
//!
//! Pure parts (the plan, gate evaluation, preflight analyzers, diagnosis, secret provisioning,
//! redaction) take JSON objects and are tested on fixtures; the I/O lives behind
//! [`api::ClusterApi`], implemented over `kube::Client`.

pub mod alerts;
pub mod api;
pub mod certs;
pub mod deep;
pub mod deploy;
pub mod destroy;
pub mod diagnose;
pub mod gates;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod progress;
pub mod sandbox;
pub mod secrets;
pub mod snapshot;
pub mod status;
pub mod troubleshoot;
