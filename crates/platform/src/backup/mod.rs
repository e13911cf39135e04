//! Backups and disaster recovery, from `spec.backup` (defaults: the seed's backup table).
//!
//! - PostgreSQL: pgBackRest inside the PostgresCluster (schedules and retention resolved here,
//!   rendered by the component).
//! - Redis: CronJob `redis-backup` pulls an RDB from the master Sentinel names and ships it.
//! - etcd: CronJob `etcd-backup` takes `etcdctl snapshot save` over TLS and ships it.
//! - MinIO: a Job sets versioning, lifecycle and (when a target is set) bucket replication.
//! - Kafka: KafkaMirrorMaker2 to the DR cluster when a target is set, with offset sync.
//!
//! Every backup pod runs under its own ServiceAccount without an API token, with the
//! restricted-v2 security context, and reads credentials by reference only.

mod dr;
mod jobs;
mod network;
mod validate;

use std::time::Duration;

use serde_json::Value;

use crate::component::{Backup, Component, ComponentId};
use crate::model::Model;
use crate::security::PodGroup;
use crate::spec::{KafkaDrTarget, ObjectStoreBackend, ReplicationTarget, SnapshotBackupSpec};
use crate::units::parse_duration;

pub use dr::disaster_recovery;
pub(crate) use jobs::{
    DR_KEYS_DIR, DR_KEYS_VOLUME, S3_KEYS_DIR, S3_KEYS_VOLUME, backup_labels, container, job_pods,
    lifecycle, mc_alias_set, meta, object_store_env, platform_buckets, s3_keys_volume,
    service_account, small_resources, snapshot_cronjob,
};
pub use network::network_policies;
pub use validate::validate;

pub const REDIS_CRONJOB: &str = "redis-backup";
pub const ETCD_CRONJOB: &str = "etcd-backup";
pub const MINIO_JOB: &str = "minio-backup-config";
pub const MIRROR_MAKER: &str = "kafka-dr";
pub const MIRROR_MAKER_USER: &str = "kafka-mirror-maker";
pub const DEFAULT_MC_IMAGE: &str = "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z";
pub const KAFKA_MIRROR_MAKER2: (&str, &str) = crate::crs::strimzi::MIRROR_MAKER2;
pub const KAFKA_USER: (&str, &str) = crate::crs::strimzi::USER;

pub(crate) const REDIS_SECRETS_DIR: &str = "/run/secrets/redis";
pub(crate) const REDIS_PASSWORD_FILE: &str = "/run/secrets/redis/password";

/// pgBackRest settings the PostgresCluster is rendered with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgBackRest {
    pub full: String,
    pub differential: String,
    pub retention_days: u32,
    pub rto: Duration,
}

pub fn postgresql(m: &Model) -> PgBackRest {
    let b = &m.platform.spec.backup.postgresql;
    PgBackRest {
        full: b
            .full_schedule
            .clone()
            .unwrap_or_else(|| "0 1 * * *".into()),
        differential: b
            .differential_schedule
            .clone()
            .unwrap_or_else(|| "0 */6 * * *".into()),
        retention_days: b.retention_days.unwrap_or(30),
        rto: dur(b.rto.as_deref(), 3600),
    }
}

/// A snapshot CronJob's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub schedule: String,
    pub retention_days: u32,
    pub uploader_image: String,
    pub rto: Duration,
}

fn dur(v: Option<&str>, default_s: u64) -> Duration {
    v.and_then(|s| parse_duration(s).ok())
        .unwrap_or(Duration::from_secs(default_s))
}

pub fn redis_snapshot(m: &Model) -> Snapshot {
    snapshot(&m.platform.spec.backup.redis, "0 * * * *")
}

pub fn etcd_snapshot(m: &Model) -> Snapshot {
    snapshot(&m.platform.spec.backup.etcd, "*/30 * * * *")
}

/// A snapshot policy with its defaults filled in; only the schedule's default differs.
fn snapshot(b: &SnapshotBackupSpec, default_schedule: &str) -> Snapshot {
    Snapshot {
        schedule: b
            .schedule
            .clone()
            .unwrap_or_else(|| default_schedule.into()),
        retention_days: b.retention_days.unwrap_or(7),
        uploader_image: b
            .uploader_image
            .clone()
            .unwrap_or_else(|| DEFAULT_MC_IMAGE.into()),
        rto: dur(b.rto.as_deref(), 1800),
    }
}

pub(crate) fn replication_target<'a>(m: &Model<'a>) -> Option<&'a ReplicationTarget> {
    m.platform.spec.backup.minio.replication_target.as_ref()
}

pub fn kafka_target<'a>(m: &Model<'a>) -> Option<&'a KafkaDrTarget> {
    m.platform.spec.backup.kafka.target.as_ref()
}

/// MirrorMaker 2 is rendered only with a DR target and a Kafka to mirror.
pub fn mirror_maker_enabled(m: &Model) -> bool {
    kafka_target(m).is_some() && m.enabled(ComponentId::Kafka)
}

/// MinIO configuration Job is rendered only when MinIO is the object store.
pub(crate) fn minio_job_enabled(m: &Model) -> bool {
    m.enabled(ComponentId::Minio) && m.object_store.backend == ObjectStoreBackend::Minio
}

/// Bucket purpose of a component's backup files, as the component declares it.
pub fn bucket_purpose(id: ComponentId) -> Option<&'static str> {
    crate::components::get(id).backup_bucket()
}

/// The pods of a component's backup objects, for [`crate::security`]: clients of the component
/// (they talk to it on its client ports) that also reach the object store or the DR site.
pub fn pod_group(m: &Model, id: ComponentId) -> Option<PodGroup> {
    match crate::components::get(id).backup(m) {
        Backup::Objects { pods, .. } => Some(pods),
        Backup::None(_) => None,
    }
}

/// Objects of a component's `backup.yaml` (empty: no file).
pub fn objects(m: &Model, id: ComponentId) -> Vec<Value> {
    match crate::components::get(id).backup(m) {
        Backup::Objects { objects, .. } => objects,
        Backup::None(_) => vec![],
    }
}

/// The header line of a component's `backup.yaml` (empty: no file).
pub fn header(m: &Model, id: ComponentId) -> String {
    match crate::components::get(id).backup(m) {
        Backup::Objects { header, .. } => header,
        Backup::None(_) => String::new(),
    }
}

/// Secrets the backup objects read (names, for the secrets inventory).
pub fn secret_refs(m: &Model) -> Vec<(ComponentId, String, &'static str)> {
    let mut v = Vec::new();
    if m.enabled(ComponentId::Minio)
        && let Some(t) = replication_target(m)
    {
        v.push((
            ComponentId::Minio,
            t.credentials_secret.clone(),
            "S3 keys of the replication target (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        ));
    }
    if mirror_maker_enabled(m)
        && let Some(t) = kafka_target(m)
    {
        v.push((
            ComponentId::Kafka,
            t.trust_secret.clone(),
            "CA certificate of the DR Kafka cluster",
        ));
        if let Some(s) = &t.client_certificate_secret {
            v.push((
                ComponentId::Kafka,
                s.clone(),
                "client certificate for the DR Kafka cluster (user.crt, user.key)",
            ));
        }
    }
    v
}

/// The `backup.yaml` file of a component, if it has backup objects.
pub fn extra(m: &Model, c: &dyn Component) -> Option<(String, Vec<Value>)> {
    let objects = objects(m, c.id());
    (!objects.is_empty()).then(|| (header(m, c.id()), objects))
}
