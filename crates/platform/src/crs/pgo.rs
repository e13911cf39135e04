//! Crunchy PGO `postgres-operator.crunchydata.com/v1beta1` PostgresCluster.
//! v1beta1 because PGO 5.x (OperatorHub's v5 channel) serves only it and 6.x still stores it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PersistentVolumeClaimSpec, ResourceRequirements, TopologySpreadConstraint,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::Serialize;
use serde_json::Value;

pub const POSTGRES_CLUSTER: (&str, &str) = (
    "postgres-operator.crunchydata.com/v1beta1",
    "PostgresCluster",
);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PostgresClusterSpec {
    pub postgres_version: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    pub openshift: bool,
    pub instances: Vec<InstanceSet>,
    pub patroni: Patroni,
    pub backups: Backups,
    pub monitoring: Monitoring,
    pub proxy: Proxy,
    pub users: Vec<User>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceSet {
    pub name: String,
    pub replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    pub data_volume_claim_spec: PersistentVolumeClaimSpec,
    pub resources: ResourceRequirements,
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Patroni {
    pub leader_lease_duration_seconds: u32,
    pub sync_period_seconds: u32,
    /// Passed verbatim into Patroni's DCS configuration.
    pub dynamic_configuration: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct Backups {
    pub pgbackrest: PgBackRest,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PgBackRest {
    pub configuration: Vec<Projection>,
    pub global: BTreeMap<String, String>,
    pub repos: Vec<Repo>,
}

/// One projection of `backups.pgbackrest.configuration`: PGO mounts them all at
/// `/etc/pgbackrest/conf.d` in the database, pgBackRest and restore containers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Projection {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<SourceRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_map: Option<SourceRef>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRef {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub items: Vec<KeyPath>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyPath {
    pub key: String,
    pub path: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Repo {
    pub name: String,
    pub schedules: Schedules,
    pub s3: S3,
}

#[derive(Debug, Clone, Serialize)]
pub struct Schedules {
    pub full: String,
    pub differential: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct S3 {
    pub bucket: String,
    pub endpoint: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Monitoring {
    pub pgmonitor: PgMonitor,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgMonitor {
    /// An empty exporter object enables the postgres_exporter sidecar with defaults.
    pub exporter: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Proxy {
    pub pg_bouncer: PgBouncer,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PgBouncer {
    pub replicas: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_available: Option<IntOrString>,
    pub resources: ResourceRequirements,
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
}

#[derive(Debug, Clone, Serialize)]
pub struct User {
    pub name: String,
    pub databases: Vec<String>,
}
