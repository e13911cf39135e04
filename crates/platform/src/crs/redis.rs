//! OT-Container-Kit redis-operator `redis.redis.opstreelabs.in/v1beta2`:
//! RedisReplication (the data nodes) and RedisSentinel (the monitors), as served by 0.15.1, the
//! head of the `stable` channel in OpenShift's community-operators (the only usable channel).
//! 0.15.1's RedisReplication has no `pdb` and neither kind has `topologySpreadConstraints` or
//! `redisExporter.securityContext` (all added upstream after 2023): strict server-side apply
//! would reject them, so they are not fields here. The replication's PodDisruptionBudget is a
//! core object of ours, zone spreading a preferred anti-affinity term.

use k8s_openapi::api::core::v1::{
    Affinity, PersistentVolumeClaim, PodSecurityContext, ResourceRequirements, SecretVolumeSource,
    SecurityContext, Volume, VolumeMount,
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

/// Extra volumes the operator mounts in the Redis or Sentinel container.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalVolumes {
    pub volume: Vec<Volume>,
    pub mount_path: Vec<VolumeMount>,
}

/// The exporter sidecar; 0.15.1 gives it no security context field, so restricted-v2 admission
/// supplies the defaults (random UID, no privilege escalation, all capabilities dropped).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exporter {
    pub enabled: bool,
    pub image: String,
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
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
}

/// The operator mounts `secret` at `/tls` and points Redis at the three file names.
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
    pub volume_mount: AdditionalVolumes,
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
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
    pub pdb: Pdb,
    // No `volumeMount`: 0.15.1's RedisSentinel serves none (strict server-side apply refuses it).
}

/// The operator takes these as strings (they are written into sentinel.conf).
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
    // No `redisReplicationPassword`: 0.15.1 serves none, so its Sentinel gets no `auth-pass`.
}
