//! etcd's backup: a CronJob takes `etcdctl snapshot save` over TLS and ships it.

use k8s_openapi::api::core::v1::Container;
use serde_json::Value;

use crate::backup::*;
use crate::component::{Backup, ComponentId};
use crate::components::etcd;
use crate::k8s;
use crate::model::Model;

pub(crate) fn backup(m: &Model) -> Backup {
    Backup::Objects {
        header: header(m),
        objects: objects(m),
        pods: job_pods(ETCD_CRONJOB, true),
    }
}

pub(crate) fn header(m: &Model) -> String {
    {
        let s = etcd_snapshot(m);
        format!(
            "etcd snapshot over TLS: CronJob {ETCD_CRONJOB} ({}), kept {} days in {}.",
            s.schedule,
            s.retention_days,
            m.object_store.bucket("etcd-backups")
        )
    }
}

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Etcd;
    let ns = &m.get(id).namespace;
    let s = etcd_snapshot(m);
    // The etcd image has no shell: etcdctl runs directly. The headless Service name resolves
    // to every member and is in the member certificate, so any live member answers; etcd
    // requires a client certificate, the CronJob presents etcd-client-tls.
    let mut command = vec![
        "etcdctl".to_string(),
        format!("--endpoints=https://{}.{ns}.svc:2379", etcd::HEADLESS),
    ];
    command.extend(etcd::etcdctl_tls_flags(etcd::CLIENT_DIR));
    let dump = Container {
        name: "snapshot".into(),
        image: Some(m.get(id).image.clone()),
        command: Some(
            command
                .into_iter()
                .chain([
                    "--dial-timeout=10s".into(),
                    "--command-timeout=300s".into(),
                    "snapshot".into(),
                    "save".into(),
                    "/backup/etcd-snapshot.db".into(),
                ])
                .collect(),
        ),
        resources: Some(k8s::resources(&small_resources())),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            k8s::mount("backup", "/backup", false),
            k8s::mount("tls", etcd::CLIENT_DIR, true),
        ]),
        ..Default::default()
    };
    let ca = k8s::secret_volume("tls", etcd::CLIENT_TLS);
    let cj = snapshot_cronjob(m, id, ETCD_CRONJOB, &s, dump, vec![ca]);
    vec![service_account(m, id, ETCD_CRONJOB), k8s::to_value(&cj)]
}
