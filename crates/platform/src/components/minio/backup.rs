//! MinIO's backup: a Job sets versioning, lifecycle and (with a target) bucket replication.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use crate::backup::*;
use crate::component::{Backup, ComponentId};
use crate::k8s;
use crate::model::Model;
use crate::template;

pub(crate) fn backup(m: &Model) -> Backup {
    if !minio_job_enabled(m) {
        return Backup::None("the object store is not this MinIO tenant");
    }
    Backup::Objects {
        header: header(m),
        objects: objects(m),
        // The job talks to MinIO as a client already.
        pods: job_pods(MINIO_JOB, false),
    }
}

pub(crate) fn header(m: &Model) -> String {
    format!(
        "Bucket versioning, lifecycle and {}: Job {MINIO_JOB} (idempotent; re-apply after a spec change).",
        match replication_target(m) {
            Some(t) => format!("replication to {}", t.endpoint),
            None => "no replication (spec.backup.minio.replicationTarget unset)".into(),
        }
    )
}

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    vec![
        service_account(m, ComponentId::Minio, MINIO_JOB),
        config_map(m),
        k8s::to_value(&job(m)),
    ]
}

fn config_map(m: &Model) -> Value {
    let id = ComponentId::Minio;
    let mut data: BTreeMap<String, String> = platform_buckets(m)
        .iter()
        .map(|bk| {
            (
                format!("lifecycle-{bk}.json"),
                serde_json::to_string_pretty(&lifecycle(m, bk)).unwrap_or_default(),
            )
        })
        .collect();
    data.insert("configure.sh".into(), configure_script(m));
    let cm = k8s::config_map(m, id, MINIO_JOB, MINIO_JOB, data);
    let mut cm_v = k8s::to_value(&cm);
    cm_v["metadata"] = k8s::to_value(&meta(m, id, MINIO_JOB, MINIO_JOB));
    cm_v
}

fn configure_script(m: &Model) -> String {
    let versioning = m.platform.spec.backup.minio.versioning.unwrap_or(true);
    let target = replication_target(m);
    // Every step is idempotent: the Job can be re-applied after any spec change.
    template::fill(
        include_str!("configure-buckets.sh"),
        &[
            (
                "local_alias",
                &mc_alias_set("local", "S3_ENDPOINT", S3_KEYS_DIR),
            ),
            (
                "dr_alias",
                &target
                    .map(|_| mc_alias_set("dr", "DR_ENDPOINT", DR_KEYS_DIR))
                    .unwrap_or_default(),
            ),
            ("versioning", &if versioning { "enable" } else { "suspend" }),
            (
                "replication",
                &target.map_or("", |_| include_str!("replicate-bucket.sh")),
            ),
        ],
    )
}

fn container(m: &Model) -> Container {
    let b = &m.platform.spec.backup.minio;
    let mut env = object_store_env(m);
    env.push(k8s::env("BUCKETS", platform_buckets(m).join(" ")));
    let mut key_mounts = vec![k8s::mount(S3_KEYS_VOLUME, S3_KEYS_DIR, true)];
    if let Some(t) = replication_target(m) {
        env.push(k8s::env("DR_ENDPOINT", t.endpoint.clone()));
        key_mounts.push(k8s::mount(DR_KEYS_VOLUME, DR_KEYS_DIR, true));
    }
    Container {
        name: "mc".into(),
        image: Some(
            b.mc_image
                .clone()
                .unwrap_or_else(|| DEFAULT_MC_IMAGE.into()),
        ),
        command: Some(vec![
            "/bin/sh".into(),
            "/etc/minio-backup/configure.sh".into(),
        ]),
        env: Some(env),
        resources: Some(k8s::resources(&small_resources())),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(
            [
                vec![
                    k8s::mount("config", "/etc/minio-backup", true),
                    k8s::mount("trust", "/etc/trust", true),
                    k8s::mount("tmp", "/tmp", false),
                ],
                key_mounts,
            ]
            .concat(),
        ),
        ..Default::default()
    }
}

fn key_volumes(m: &Model) -> Vec<Volume> {
    let mut key_volumes = vec![s3_keys_volume(
        S3_KEYS_VOLUME,
        &m.object_store.credentials_secret,
    )];
    if let Some(t) = replication_target(m) {
        key_volumes.push(s3_keys_volume(DR_KEYS_VOLUME, &t.credentials_secret));
    }
    key_volumes
}

fn job(m: &Model) -> Job {
    let id = ComponentId::Minio;
    let mut pod_labels = backup_labels(m, id, MINIO_JOB);
    pod_labels.retain(|k, _| k.starts_with("app") || k.starts_with("datalyptica.io"));
    Job {
        metadata: meta(m, id, MINIO_JOB, MINIO_JOB),
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            ttl_seconds_after_finished: Some(86_400),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..Default::default()
                }),
                spec: Some(PodSpec {
                    service_account_name: Some(MINIO_JOB.into()),
                    automount_service_account_token: Some(false),
                    restart_policy: Some("OnFailure".into()),
                    security_context: Some(k8s::pod_security()),
                    containers: vec![container(m)],
                    volumes: Some(
                        [
                            vec![
                                k8s::config_map_volume("config", MINIO_JOB),
                                k8s::ca_trust_volume(m, "trust"),
                                k8s::empty_dir_volume("tmp"),
                            ],
                            key_volumes(m),
                        ]
                        .concat(),
                    ),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}
