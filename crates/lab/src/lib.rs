//! HA lab of real servers (etcd, Patroni + PostgreSQL 15, Redis + Sentinel) as plain processes on
//! loopback addresses, and failover drills that measure RTO and lost acknowledged writes from the
//! client's side.
//!
//! The CLI mounts [`LabArgs`]/[`run_lab`] as `datalyptica lab` and [`DrillArgs`]/[`run_drill`] as
//! `datalyptica drill`, filling [`LabSettings`] from the resolved platform spec.

pub mod analysis;
pub mod drill;
pub mod health;
pub mod http;
pub mod lab;
pub mod probe;
pub mod procs;
pub mod render;
pub mod report;
pub mod settings;
pub mod topology;

pub use settings::{EtcdSettings, LabSettings, PatroniSettings, RedisSettings, SettingsError, Slo};
pub use topology::Datastore;
