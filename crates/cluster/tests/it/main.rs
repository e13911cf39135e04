//! The cluster engine's integration tests, one binary (`cargo test -p datalyptica-cluster --test
//! it <module>::`). Tests that start a sandbox take `common::SANDBOX` first, so at most one
//! control plane runs at a time on a 2-core machine.

mod common;

mod alerts;
mod deep;
mod e2e;
mod etcd_tls;
mod gitops_health;
mod gitops_sync;
mod minio_tls;
mod preflight;
mod redis_tls;
mod sandbox;
mod spark_operator;
mod unreachable;
