//! OT-Container-Kit redis-operator `redis.redis.opstreelabs.in/v1beta2`: RedisReplication (the
//! data nodes) and RedisSentinel (the monitors), as the v0.26.0 release the tree carries serves
//! them (`api/redisreplication/v1beta2`, `api/redissentinel/v1beta2`, `api/common/v1beta2`).
//! The replication's PodDisruptionBudget stays a core object of ours (`spec.pdb` off), so there
//! is exactly one budget per pod and lint and the availability arithmetic see it.

use k8s_openapi::api::core::v1::{
    Affinity, EnvVarSource, PersistentVolumeClaim, PodSecurityContext, ResourceRequirements,
    SecretVolumeSource, SecurityContext, TopologySpreadConstraint,
};
use serde::Serialize;

pub const REDIS_REPLICATION: (&str, &str) =
    ("redis.redis.opstreelabs.in/v1beta2", "RedisReplication");
pub const REDIS_SENTINEL: (&str, &str) = ("redis.redis.opstreelabs.in/v1beta2", "RedisSentinel");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesConfig {
    pub image: String,
    pub image_pull_policy: &'static str,
    pub resources: ResourceRequirements,
    /// The password Secret: the operator sets `REDIS_PASSWORD` from it and its entrypoint
    /// writes `requirepass` and `masterauth`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redis_secret: Option<ExistingSecret>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExistingSecret {
    pub name: String,
    pub key: String,
}

/// The exporter sidecar (`common.RedisExporter`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exporter {
    pub enabled: bool,
    pub image: String,
    pub image_pull_policy: &'static str,
    pub resources: ResourceRequirements,
    pub security_context: SecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pdb {
    pub enabled: bool,
    pub min_available: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisReplicationSpec {
    pub cluster_size: u32,
    #[serde(rename = "TLS")]
    pub tls: Tls,
    pub kubernetes_config: KubernetesConfig,
    pub redis_exporter: Exporter,
    pub redis_config: RedisConfig,
    pub storage: Storage,
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
}

/// The operator mounts `secret` at `/tls`, sets `REDIS_TLS_CERT`, `REDIS_TLS_CERT_KEY` and
/// `REDIS_TLS_CA_CERT` to the three files there, and reads the same keys of the Secret through
/// the API for its own TLS client (`getRedisTLSConfig`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Tls {
    pub ca: String,
    pub cert: String,
    pub key: String,
    pub secret: SecretVolumeSource,
}

/// `additionalRedisConfig` names a ConfigMap (mounted at `/etc/redis/external.conf.d`, key
/// `redis-additional.conf`, included last), not configuration text.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisConfig {
    pub additional_redis_config: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    pub volume_claim_template: PersistentVolumeClaim,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RedisSentinelSpec {
    pub cluster_size: u32,
    #[serde(rename = "TLS")]
    pub tls: Tls,
    pub kubernetes_config: KubernetesConfig,
    pub redis_sentinel_config: SentinelConfig,
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
    pub pdb: Pdb,
}

/// The operator takes these as strings: it runs `SENTINEL MONITOR` with the replication's master
/// and `SENTINEL SET` for the timings on every Sentinel (`internal/controller/common/redis/heal.go`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SentinelConfig {
    pub redis_replication_name: String,
    pub master_group_name: String,
    pub quorum: String,
    pub down_after_milliseconds: String,
    pub failover_timeout: String,
    pub parallel_syncs: String,
    /// ConfigMap with `redis-sentinel-additional.conf`, included last.
    pub additional_sentinel_config: String,
    /// The data nodes' password: the operator reads it from the Secret and sets
    /// `SENTINEL SET <group> auth-pass` after `SENTINEL MONITOR` (`SentinelMonitor`).
    pub redis_replication_password: EnvVarSource,
}
