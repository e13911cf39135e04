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

use std::collections::BTreeMap;
use std::fmt::Write;
use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use crate::component::{Backup, Component, ComponentId, Content, File};
use crate::components::{minio, postgresql, redis};
use crate::k8s;
use crate::model::{Model, Resources};
use crate::security::{self, PodGroup};
use crate::spec::{KafkaDrTarget, ObjectStoreBackend, Platform, ReplicationTarget};
use crate::template;
use crate::units::{format_duration, parse_duration};
use crate::validate::Issue;

pub const REDIS_CRONJOB: &str = "redis-backup";
pub const ETCD_CRONJOB: &str = "etcd-backup";
pub const MINIO_JOB: &str = "minio-backup-config";
pub const MIRROR_MAKER: &str = "kafka-dr";
pub const MIRROR_MAKER_USER: &str = "kafka-mirror-maker";
pub const DEFAULT_MC_IMAGE: &str = "quay.io/minio/mc:RELEASE.2025-04-16T18-13-26Z";
pub const KAFKA_MIRROR_MAKER2: (&str, &str) = crate::crs::strimzi::MIRROR_MAKER2;
pub const KAFKA_USER: (&str, &str) = crate::crs::strimzi::USER;

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
    let b = &m.platform.spec.backup.redis;
    Snapshot {
        schedule: b.schedule.clone().unwrap_or_else(|| "0 * * * *".into()),
        retention_days: b.retention_days.unwrap_or(7),
        uploader_image: b
            .uploader_image
            .clone()
            .unwrap_or_else(|| DEFAULT_MC_IMAGE.into()),
        rto: dur(b.rto.as_deref(), 1800),
    }
}

pub fn etcd_snapshot(m: &Model) -> Snapshot {
    let b = &m.platform.spec.backup.etcd;
    Snapshot {
        schedule: b.schedule.clone().unwrap_or_else(|| "*/30 * * * *".into()),
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

/// Labels of a backup pod: `app` names the job; the component label is `backup` so that the
/// component's own pod selectors (and their client rules) do not include it.
pub(crate) fn backup_labels(m: &Model, id: ComponentId, app: &str) -> BTreeMap<String, String> {
    let mut l = k8s::labels(m, id, app);
    l.insert("app.kubernetes.io/component".into(), "backup".into());
    l.insert("datalyptica.io/backup-of".into(), id.name().into());
    l
}

pub(crate) fn meta(m: &Model, id: ComponentId, name: &str, app: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.into()),
        namespace: Some(m.get(id).namespace.clone()),
        labels: Some(backup_labels(m, id, app)),
        ..Default::default()
    }
}

/// The pods of a component's backup objects, for [`crate::security`]: clients of the component
/// (they talk to it on its client ports) that also reach the object store or the DR site.
pub fn pod_group(m: &Model, id: ComponentId) -> Option<PodGroup> {
    match crate::components::get(id).backup(m) {
        Backup::Objects { pods, .. } => Some(pods),
        Backup::None(_) => None,
    }
}

/// The pods of a backup job labelled `app: <app>`; `object_store`: it uploads there.
pub(crate) fn job_pods(app: &str, object_store: bool) -> PodGroup {
    PodGroup {
        name: app.into(),
        selector: json!({"matchLabels": {"app": app}}),
        client: vec![],
        metrics: vec![],
        api: false,
        object_store,
        own_client: true,
    }
}

pub(crate) fn service_account(m: &Model, id: ComponentId, name: &str) -> Value {
    k8s::to_value(&ServiceAccount {
        metadata: meta(m, id, name, name),
        automount_service_account_token: Some(false),
        ..Default::default()
    })
}

pub(crate) fn small_resources() -> Resources {
    Resources {
        cpu_request: "50m".into(),
        memory_request: "128Mi".into(),
        cpu_limit: "500m".into(),
        memory_limit: "512Mi".into(),
    }
}

pub(crate) fn object_store_env(m: &Model) -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    vec![
        k8s::env("S3_ENDPOINT", m.object_store.endpoint.clone()),
        // mc keeps its aliases and trusted CAs here; the root filesystem is read-only.
        k8s::env("MC_CONFIG_DIR", "/tmp/.mc"),
    ]
}

/// Where the object store's keys are mounted as files for `mc` (volume [`S3_KEYS_VOLUME`]).
pub(crate) const S3_KEYS_DIR: &str = "/run/secrets/s3";
pub(crate) const S3_KEYS_VOLUME: &str = "s3-keys";
/// Where the replication target's keys are mounted (volume [`DR_KEYS_VOLUME`]).
pub(crate) const DR_KEYS_DIR: &str = "/run/secrets/dr";
pub(crate) const DR_KEYS_VOLUME: &str = "dr-keys";

/// The two keys of an S3 credentials Secret as the files `AWS_ACCESS_KEY_ID` and
/// `AWS_SECRET_ACCESS_KEY`.
pub(crate) fn s3_keys_volume(volume: &str, secret: &str) -> k8s_openapi::api::core::v1::Volume {
    let keys = k8s::S3_CREDENTIAL_KEYS.map(|k| (secret, k, k));
    k8s::secret_files_volume(volume, &keys)
}

/// `mc alias set` with the keys on its standard input: mc reads the access key and the secret
/// key as two lines when they are not arguments and stdin is not a terminal (`fetchAliasKeys`
/// in mc's cmd/alias-set.go), so they never appear in a process's arguments or environment.
pub(crate) fn mc_alias_set(alias: &str, endpoint_var: &str, keys_dir: &str) -> String {
    format!(
        "{{ cat {keys_dir}/AWS_ACCESS_KEY_ID; echo; cat {keys_dir}/AWS_SECRET_ACCESS_KEY; echo; }} | mc alias set --api S3v4 {alias} \"${endpoint_var}\" >/dev/null\n"
    )
}

/// Upload the files of /backup to `<bucket>/<prefix>/` and delete what is older than the
/// retention: works against every backend (MinIO, ODF, external S3).
pub(crate) fn upload_script(bucket: &str, prefix: &str, retention_days: u32) -> String {
    template::fill(
        include_str!("scripts/backup-upload.sh"),
        &[
            (
                "mc_alias_set",
                &mc_alias_set("store", "S3_ENDPOINT", S3_KEYS_DIR),
            ),
            ("bucket", &bucket),
            ("prefix", &prefix),
            ("retention_days", &retention_days),
        ],
    )
}

pub(crate) fn container(name: &str, image: &str, script: String) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(k8s::resources(&small_resources())),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            k8s::mount("backup", "/backup", false),
            k8s::mount("tmp", "/tmp", false),
        ]),
        ..Default::default()
    }
}

/// A CronJob that runs `dump` (writes into /backup) then the upload container.
pub(crate) fn snapshot_cronjob(
    m: &Model,
    id: ComponentId,
    name: &str,
    s: &Snapshot,
    dump: Container,
    extra_volumes: Vec<k8s_openapi::api::core::v1::Volume>,
) -> CronJob {
    let bucket = m
        .object_store
        .bucket(bucket_purpose(id).unwrap_or_default());
    let mut upload = container(
        "upload",
        &s.uploader_image,
        upload_script(&bucket, id.name(), s.retention_days),
    );
    upload.env = Some(object_store_env(m));
    if let Some(v) = upload.volume_mounts.as_mut() {
        v.push(k8s::mount("trust", "/etc/trust", true));
        v.push(k8s::mount(S3_KEYS_VOLUME, S3_KEYS_DIR, true));
    }
    let mut volumes = vec![
        k8s::empty_dir_volume("backup"),
        k8s::empty_dir_volume("tmp"),
        k8s::ca_trust_volume(m, "trust"),
        s3_keys_volume(S3_KEYS_VOLUME, &m.object_store.credentials_secret),
    ];
    volumes.extend(extra_volumes);
    let mut pod_labels = backup_labels(m, id, name);
    pod_labels.retain(|k, _| k.starts_with("app") || k.starts_with("datalyptica.io"));
    CronJob {
        metadata: meta(m, id, name, name),
        spec: Some(CronJobSpec {
            schedule: s.schedule.clone(),
            // A slow run must not overlap the next: two dumps would double the master's load.
            concurrency_policy: Some("Forbid".into()),
            starting_deadline_seconds: Some(600),
            successful_jobs_history_limit: Some(3),
            failed_jobs_history_limit: Some(3),
            job_template: JobTemplateSpec {
                metadata: None,
                spec: Some(JobSpec {
                    backoff_limit: Some(2),
                    active_deadline_seconds: Some(1800),
                    ttl_seconds_after_finished: Some(86_400),
                    template: PodTemplateSpec {
                        metadata: Some(ObjectMeta {
                            labels: Some(pod_labels),
                            ..Default::default()
                        }),
                        spec: Some(PodSpec {
                            service_account_name: Some(name.into()),
                            automount_service_account_token: Some(false),
                            restart_policy: Some("Never".into()),
                            security_context: Some(k8s::pod_security()),
                            init_containers: Some(vec![dump]),
                            containers: vec![upload],
                            volumes: Some(volumes),
                            ..Default::default()
                        }),
                    },
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub(crate) const REDIS_SECRETS_DIR: &str = "/run/secrets/redis";
pub(crate) const REDIS_PASSWORD_FILE: &str = "/run/secrets/redis/password";

/// Buckets of the enabled components, sorted (what the MinIO tenant creates).
pub(crate) fn platform_buckets(m: &Model) -> Vec<String> {
    let mut b: Vec<String> = m
        .enabled_components()
        .flat_map(|c| c.buckets().iter().map(|p| m.object_store.bucket(p)))
        .collect();
    b.sort();
    b.dedup();
    b
}

/// S3 lifecycle of a bucket: non-current versions expire; backup buckets also expire current
/// objects after their retention (belt and braces with the jobs' own pruning).
pub(crate) fn lifecycle(m: &Model, bucket: &str) -> Value {
    let days = m
        .platform
        .spec
        .backup
        .minio
        .noncurrent_version_days
        .unwrap_or(30);
    let mut rules = vec![json!({
        "ID": "expire-noncurrent-versions",
        "Status": "Enabled",
        "Filter": {"Prefix": ""},
        "NoncurrentVersionExpiration": {"NoncurrentDays": days},
    })];
    for (id, s) in [
        (ComponentId::Redis, redis_snapshot(m)),
        (ComponentId::Etcd, etcd_snapshot(m)),
    ] {
        if bucket_purpose(id)
            .map(|p| m.object_store.bucket(p))
            .as_deref()
            == Some(bucket)
        {
            rules.push(json!({
                "ID": format!("expire-{}-snapshots", id.name()),
                "Status": "Enabled",
                "Filter": {"Prefix": format!("{}/", id.name())},
                "Expiration": {"Days": s.retention_days},
            }));
        }
    }
    json!({ "Rules": rules })
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

/// Host ports of a `host:port,host:port` list (TLS listener default 9093).
pub(crate) fn bootstrap_ports(servers: &str) -> Vec<u16> {
    let mut v: Vec<u16> = servers
        .split(',')
        .filter_map(|s| s.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect();
    if v.is_empty() {
        v.push(9093);
    }
    v.sort();
    v.dedup();
    v
}

/// Egress to the DR sites (outside the cluster: a hostname cannot be expressed in a policy,
/// so the rule is the port to any address, from the replicating pods only).
pub fn network_policies(m: &Model) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |id: ComponentId, name: &str, selector: Value, ports: Vec<u16>| {
        let mut labels = crate::prereqs::platform_labels(m);
        labels.insert(
            "app.kubernetes.io/component".into(),
            "network-policy".into(),
        );
        let ports: Vec<Value> = ports
            .iter()
            .map(|p| json!({"protocol": "TCP", "port": p}))
            .collect();
        out.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": m.get(id).namespace, "labels": labels},
            "spec": {
                "podSelector": selector,
                "policyTypes": ["Egress"],
                "egress": [{"to": security::outside_cluster(m), "ports": ports}],
            },
        }));
    };
    if minio_job_enabled(m)
        && let Some(t) = replication_target(m)
    {
        let port = security::url_port(&t.endpoint).unwrap_or(443);
        // MinIO servers replicate; the Job configures the remote bucket.
        for g in security::exposure(m, ComponentId::Minio).groups {
            push(
                ComponentId::Minio,
                &format!("{}-to-dr-site", g.name),
                g.selector,
                vec![port],
            );
        }
    }
    if mirror_maker_enabled(m)
        && let (Some(t), Some(g)) = (kafka_target(m), pod_group(m, ComponentId::Kafka))
    {
        push(
            ComponentId::Kafka,
            &format!("{}-to-dr-cluster", g.name),
            g.selector.clone(),
            bootstrap_ports(&t.bootstrap_servers),
        );
        out.extend(mirror_maker_rest(m, &g));
    }
    out
}

/// Kafka Connect's REST port (8083): between MirrorMaker 2 workers, and from the Strimzi
/// cluster operator, which manages the connectors through it.
fn mirror_maker_rest(m: &Model, g: &PodGroup) -> Vec<Value> {
    const REST: u16 = 8083;
    let ns = &m.get(ComponentId::Kafka).namespace;
    let mut labels = crate::prereqs::platform_labels(m);
    labels.insert(
        "app.kubernetes.io/component".into(),
        "network-policy".into(),
    );
    let ports = json!([{"protocol": "TCP", "port": REST}]);
    let workers =
        json!({"namespaceSelector": security::namespace_selector(ns), "podSelector": g.selector});
    let ops = &m.operators_namespace;
    let policy = |ns: &str, name: String, selector: &Value, kind: &str, rule: Value| {
        let key = if kind == "Ingress" {
            "ingress"
        } else {
            "egress"
        };
        json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"podSelector": selector, "policyTypes": [kind], key: [rule]},
        })
    };
    let mut out = vec![
        policy(
            ns,
            format!("{}-from-peers", g.name),
            &g.selector,
            "Ingress",
            json!({"from": [workers.clone()], "ports": ports}),
        ),
        policy(
            ns,
            format!("{}-to-peers", g.name),
            &g.selector,
            "Egress",
            json!({"to": [workers.clone()], "ports": ports}),
        ),
        policy(
            ns,
            format!("{}-from-operator", g.name),
            &g.selector,
            "Ingress",
            json!({"from": [{"namespaceSelector": security::namespace_selector(ops)}], "ports": ports}),
        ),
    ];
    if crate::prereqs::owned_namespaces(m).contains(ops) {
        out.push(policy(
            ops,
            "operators-to-kafka-mirror-maker".into(),
            &json!({}),
            "Egress",
            json!({"to": [workers], "ports": ports}),
        ));
    }
    out
}

fn check_cron(ptr: &str, v: &Option<String>, out: &mut Vec<Issue>) {
    if let Some(v) = v
        && v.split_whitespace().count() != 5
    {
        out.push(Issue::new(
            ptr,
            format!("`{v}` is not a cron schedule (expected 5 fields, e.g. \"0 */6 * * *\")"),
        ));
    }
}

fn check_days(ptr: &str, v: Option<u32>, out: &mut Vec<Issue>) {
    if v == Some(0) {
        out.push(Issue::new(ptr, "0 days keeps no backup (expected ≥ 1)"));
    }
}

fn check_duration(ptr: &str, v: &Option<String>, out: &mut Vec<Issue>) {
    if let Some(v) = v
        && let Err(e) = parse_duration(v)
    {
        out.push(Issue::new(ptr, e));
    }
}

/// Checks of `spec.backup` (and the pgBackRest knobs that moved there).
pub fn validate(p: &Platform, out: &mut Vec<Issue>) {
    let b = &p.spec.backup;
    let base = "/spec/backup";
    let pg = &b.postgresql;
    check_cron(
        &format!("{base}/postgresql/fullSchedule"),
        &pg.full_schedule,
        out,
    );
    check_cron(
        &format!("{base}/postgresql/differentialSchedule"),
        &pg.differential_schedule,
        out,
    );
    check_days(
        &format!("{base}/postgresql/retentionDays"),
        pg.retention_days,
        out,
    );
    check_duration(&format!("{base}/postgresql/rto"), &pg.rto, out);
    let old = &p.spec.components.postgresql.config;
    for (field, set, new) in [
        (
            "fullBackupSchedule",
            old.full_backup_schedule.is_some(),
            "fullSchedule",
        ),
        (
            "differentialBackupSchedule",
            old.differential_backup_schedule.is_some(),
            "differentialSchedule",
        ),
        (
            "backupRetentionDays",
            old.backup_retention_days.is_some(),
            "retentionDays",
        ),
    ] {
        if set {
            out.push(Issue::new(
                format!("/spec/components/postgresql/config/{field}"),
                format!("backup settings moved (expected spec.backup.postgresql.{new})"),
            ));
        }
    }
    for (name, s) in [("redis", &b.redis), ("etcd", &b.etcd)] {
        check_cron(&format!("{base}/{name}/schedule"), &s.schedule, out);
        check_days(
            &format!("{base}/{name}/retentionDays"),
            s.retention_days,
            out,
        );
        check_duration(&format!("{base}/{name}/rto"), &s.rto, out);
    }
    check_days(
        &format!("{base}/minio/noncurrentVersionDays"),
        b.minio.noncurrent_version_days,
        out,
    );
    check_duration(&format!("{base}/minio/rto"), &b.minio.rto, out);
    if let Some(t) = &b.minio.replication_target {
        if !t.endpoint.starts_with("https://") {
            out.push(Issue::new(
                format!("{base}/minio/replicationTarget/endpoint"),
                format!("`{}` is not an https URL (expected https://…; replication carries every object)", t.endpoint),
            ));
        }
        if t.credentials_secret.trim().is_empty() {
            out.push(Issue::new(
                format!("{base}/minio/replicationTarget/credentialsSecret"),
                "empty Secret name (expected the Secret with the secondary site's keys)",
            ));
        }
    }
    check_duration(&format!("{base}/kafka/rto"), &b.kafka.rto, out);
    if b.kafka.replicas == Some(0) {
        out.push(Issue::new(
            format!("{base}/kafka/replicas"),
            "0 MirrorMaker 2 replicas (expected ≥ 1, or unset the target)",
        ));
    }
    if let Some(t) = &b.kafka.target {
        let bad: Vec<&str> = t
            .bootstrap_servers
            .split(',')
            .map(str::trim)
            .filter(|s| {
                s.rsplit_once(':')
                    .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
            })
            .collect();
        if !bad.is_empty() {
            out.push(Issue::new(
                format!("{base}/kafka/target/bootstrapServers"),
                format!(
                    "`{}` is not a host:port list (expected e.g. kafka-dr.example.com:9093)",
                    t.bootstrap_servers
                ),
            ));
        }
        if t.trust_secret.trim().is_empty() {
            out.push(Issue::new(
                format!("{base}/kafka/target/trustSecret"),
                "empty Secret name (expected the Secret with the DR cluster's CA certificate)",
            ));
        }
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

fn rpo_of(schedule: &str) -> String {
    crate::units::cron_max_gap(schedule).map_or_else(
        || format!("one schedule interval (`{schedule}`)"),
        |d| format!("≤ {}", format_duration(d)),
    )
}

/// `disaster-recovery.md`: per component how it is backed up, how much can be lost, how long
/// a restore takes, and the exact commands.
pub fn disaster_recovery(m: &Model) -> File {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Disaster recovery — platform `{}`\n\nGenerated from `spec.backup`. Backups go to the object store `{}` (`{}` backend); a site loss needs them somewhere else too: MinIO bucket replication and Kafka MirrorMaker 2 below, or the external store's own replication.\n\nThe `mc` commands below use an alias for the object store: `mc alias set store {} \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\"` (keys from the Secret `{}`).\n",
        m.name,
        m.object_store.endpoint,
        match m.object_store.backend {
            ObjectStoreBackend::Minio => "minio",
            ObjectStoreBackend::Odf => "odf",
            ObjectStoreBackend::External => "external",
        },
        m.object_store.endpoint,
        m.object_store.credentials_secret
    );
    let _ = writeln!(
        s,
        "| Component | Method | Frequency | Retention | RPO (restore from backup) | RTO target |\n|---|---|---|---|---|---|"
    );
    let pg = postgresql(m);
    if m.enabled(ComponentId::Postgresql) {
        let _ = writeln!(
            s,
            "| postgresql | pgBackRest (full + differential, continuous WAL archive) | full `{}`, differential `{}` | {} days | last archived WAL segment (point-in-time) | {} |",
            pg.full,
            pg.differential,
            pg.retention_days,
            format_duration(pg.rto)
        );
    }
    let rs = redis_snapshot(m);
    if m.enabled(ComponentId::Redis) {
        let _ = writeln!(
            s,
            "| redis | RDB snapshot (CronJob `{REDIS_CRONJOB}`) | `{}` | {} days | {} | {} |",
            rs.schedule,
            rs.retention_days,
            rpo_of(&rs.schedule),
            format_duration(rs.rto)
        );
    }
    let es = etcd_snapshot(m);
    if m.enabled(ComponentId::Etcd) {
        let _ = writeln!(
            s,
            "| etcd | snapshot (CronJob `{ETCD_CRONJOB}`) | `{}` | {} days | {} | {} |",
            es.schedule,
            es.retention_days,
            rpo_of(&es.schedule),
            format_duration(es.rto)
        );
    }
    let mb = &m.platform.spec.backup.minio;
    if minio_job_enabled(m) {
        let _ = writeln!(
            s,
            "| minio | versioning{} | {} | non-current versions {} days | {} | {} |",
            if replication_target(m).is_some() {
                " + bucket replication"
            } else {
                ""
            },
            if replication_target(m).is_some() {
                "continuous"
            } else {
                "—"
            },
            mb.noncurrent_version_days.unwrap_or(30),
            if replication_target(m).is_some() {
                "replication lag (seconds)"
            } else {
                "**no off-site copy**"
            },
            format_duration(dur(mb.rto.as_deref(), 3600))
        );
    }
    let kb = &m.platform.spec.backup.kafka;
    if m.enabled(ComponentId::Kafka) {
        let _ = writeln!(
            s,
            "| kafka | {} | {} | topic retention (7 days) | {} | {} |",
            if mirror_maker_enabled(m) {
                "MirrorMaker 2 + offset sync"
            } else {
                "replication factor 3 in-cluster only"
            },
            if mirror_maker_enabled(m) {
                "continuous"
            } else {
                "—"
            },
            if mirror_maker_enabled(m) {
                "mirror lag (seconds)"
            } else {
                "**no off-site copy**"
            },
            format_duration(dur(kb.rto.as_deref(), 1800))
        );
    }
    s.push('\n');
    let bucket = |p: &str| m.object_store.bucket(p);
    if m.enabled(ComponentId::Postgresql) {
        let ns = &m.get(ComponentId::Postgresql).namespace;
        let c = postgresql::CLUSTER;
        let _ = writeln!(
            s,
            "## PostgreSQL\n\npgBackRest repository `repo1` in bucket `{}` (path `/pgbackrest/{}/repo1`); schedules and retention are in `01-postgresql-ha/postgres-cluster.yaml`. Point-in-time recovery: the exact restore manifest and commands are in [01-postgresql-ha/README.md](01-postgresql-ha/README.md#point-in-time-recovery).\n\n```bash\n# backups present and their time range\noc exec -n {ns} $(oc get pod -n {ns} -l postgres-operator.crunchydata.com/role=master -o name) -c database -- pgbackrest info\n# one-off full backup before a risky change\noc annotate postgrescluster/{c} -n {ns} --overwrite postgres-operator.crunchydata.com/pgbackrest-backup=\"$(date)\"\n```\n\nSite loss: create the PostgresCluster on the new site with `spec.dataSource.pgbackrest` pointing at the same repository (bucket replicated by MinIO, or the external store).\n",
            bucket("pgbackrest"),
            m.name
        );
    }
    if m.enabled(ComponentId::Redis) {
        let ns = &m.get(ComponentId::Redis).namespace;
        let _ = writeln!(
            s,
            "## Redis\n\nCronJob `{REDIS_CRONJOB}` asks Sentinel for the master, pulls an RDB with `redis-cli --rdb` and uploads it to `{}/redis/`; snapshots older than {} days are pruned.\n\n```bash\n# last successful run (alerted on by kube_cronjob_status_last_successful_time{{cronjob=\"{REDIS_CRONJOB}\"}})\noc get cronjob/{REDIS_CRONJOB} -n {ns}\noc create job --from=cronjob/{REDIS_CRONJOB} {REDIS_CRONJOB}-manual -n {ns}\n# restore: stop writers, then load the snapshot into the master\nmc cp store/{}/redis/<stamp>-dump.rdb ./dump.rdb\noc scale statefulset/{r} -n {ns} --replicas=0\n# copy dump.rdb into every data volume (a debug pod mounting each PVC) and remove appendonlydir/:\n# with no AOF, Redis 7 loads the RDB and rewrites the AOF from it\noc scale statefulset/{r} -n {ns} --replicas={n}\noc exec -n {ns} {r}-0 -- redis-cli INFO keyspace\n```\n\nAOF is on: the RDB only seeds the restore; replicas resync from the master.\n",
            bucket("redis-backups"),
            rs.retention_days,
            bucket("redis-backups"),
            r = redis::REPLICATION,
            n = m.get(ComponentId::Redis).replicas,
        );
    }
    if m.enabled(ComponentId::Etcd) {
        let ns = &m.get(ComponentId::Etcd).namespace;
        let _ = writeln!(
            s,
            "## etcd\n\nCronJob `{ETCD_CRONJOB}` runs `etcdctl snapshot save` over mutual TLS (client certificate `etcd-client-tls` from deploy's etcd CA) against any member and uploads to `{}/etcd/`; snapshots older than {} days are pruned.\n\n```bash\noc get cronjob/{ETCD_CRONJOB} -n {ns}\noc create job --from=cronjob/{ETCD_CRONJOB} {ETCD_CRONJOB}-manual -n {ns}\nmc cp store/{}/etcd/<stamp>-etcd-snapshot.db ./snapshot.db\netcdutl snapshot status ./snapshot.db -w table\n```\n\nRestore: follow the runbook in [03-etcd-ha/README.md](03-etcd-ha/README.md#restore-runbook) (scale to 0, `etcdutl snapshot restore` per member with a new cluster token, scale up).\n",
            bucket("etcd-backups"),
            es.retention_days,
            bucket("etcd-backups"),
        );
    }
    if minio_job_enabled(m) {
        let ns = &m.get(ComponentId::Minio).namespace;
        let _ = writeln!(
            s,
            "## MinIO\n\nJob `{MINIO_JOB}` (in `04-minio-ha/backup.yaml`) {} versioning on every platform bucket and imports the lifecycle rules (non-current versions expire after {} days; snapshot prefixes after their retention).\n",
            if mb.versioning.unwrap_or(true) {
                "enables"
            } else {
                "suspends"
            },
            mb.noncurrent_version_days.unwrap_or(30)
        );
        match replication_target(m) {
            Some(t) => {
                let _ = writeln!(
                    s,
                    "Every bucket replicates (objects, deletes and delete markers, existing objects) to `{}` with the keys of Secret `{}`.\n\n```bash\noc logs job/{MINIO_JOB} -n {ns}\noc exec -n {ns} {}-{}-0 -c minio -- mc replicate status local/<bucket>\n# site loss: point spec.objectStore at the secondary site (backend external) and render again\n```\n",
                    t.endpoint,
                    t.credentials_secret,
                    minio::TENANT,
                    minio::POOL
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "**Replication is off**: `spec.backup.minio.replicationTarget` is not set, so a site loss loses the object store and every backup in it. Set an https endpoint and a Secret with its keys to replicate every bucket.\n\n```bash\noc logs job/{MINIO_JOB} -n {ns}\n# recover an overwritten or deleted object from its previous version\nmc ls --versions store/<bucket>/<key>\nmc cp --version-id <id> store/<bucket>/<key> store/<bucket>/<key>\n```\n"
                );
            }
        }
    }
    if m.enabled(ComponentId::Kafka) {
        let ns = &m.get(ComponentId::Kafka).namespace;
        match kafka_target(m) {
            Some(t) => {
                let _ = writeln!(
                    s,
                    "## Kafka\n\n`KafkaMirrorMaker2` `{MIRROR_MAKER}` mirrors topics matching `{}` to `{}` (alias `dr`; mirrored topics are named `primary.<topic>`) and syncs the offsets of groups matching `{}` (checkpoint connector, `sync.group.offsets.enabled`).\n\n```bash\noc get kafkamirrormaker2/{MIRROR_MAKER} -n {ns} -o jsonpath='{{.status.conditions}}'\n# failover: stop producers, let the mirror drain, then point clients at {} and the topics primary.<topic>\n```\n",
                    kb.topics_pattern.as_deref().unwrap_or(".*"),
                    t.bootstrap_servers,
                    kb.groups_pattern.as_deref().unwrap_or(".*"),
                    t.bootstrap_servers
                );
            }
            None => {
                let _ = writeln!(
                    s,
                    "## Kafka\n\n**No MirrorMaker 2**: `spec.backup.kafka.target` is not set. In-cluster replication covers broker loss, not a site loss. Set `bootstrapServers` and `trustSecret` of a DR cluster to render `KafkaMirrorMaker2` with consumer-offset sync.\n"
                );
            }
        }
    }
    File {
        path: "disaster-recovery.md".into(),
        content: Content::Markdown(s),
    }
}

/// The `backup.yaml` file of a component, if it has backup objects.
pub fn extra(m: &Model, c: &dyn Component) -> Option<(String, Vec<Value>)> {
    let objects = objects(m, c.id());
    (!objects.is_empty()).then(|| (header(m, c.id()), objects))
}
