//! The platform's integration tests, one binary (`cargo test -p datalyptica-platform --test it`,
//! a module name after it to run one room, e.g. `-- conformance::`): one link instead of one
//! per file.

mod airflow_remote_logs;
mod availability;
mod backup;
mod common;
mod conformance;
mod flink_s3;
mod gitops;
mod invariants;
mod kustomize;
mod malformed;
mod object_store;
mod pg_user_schema;
mod promtool;
mod security;
mod shell_scripts;
mod snapshot;
mod spark_s3a_jars;
