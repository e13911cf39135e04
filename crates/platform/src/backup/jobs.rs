//! The shared builders of backup Jobs and CronJobs: labels, ServiceAccount, the upload
//! container and its object-store keys, the snapshot CronJob, the buckets and their lifecycle.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{CronJob, CronJobSpec, JobSpec, JobTemplateSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ServiceAccount};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::{Snapshot, bucket_purpose, etcd_snapshot, redis_snapshot};
use crate::component::ComponentId;
use crate::k8s;
use crate::model::{Model, Resources};
use crate::security::PodGroup;
use crate::template;

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
fn upload_script(bucket: &str, prefix: &str, retention_days: u32) -> String {
    template::fill(
        include_str!("../scripts/backup-upload.sh"),
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
