//! Redis's backup: a CronJob pulls an RDB from the master Sentinel names and ships it.

use serde_json::Value;

use crate::backup::*;
use crate::component::{Backup, ComponentId};
use crate::components::redis;
use crate::k8s;
use crate::model::Model;
use crate::template;

pub(crate) fn backup(m: &Model) -> Backup {
    Backup::Objects {
        header: header(m),
        objects: objects(m),
        pods: job_pods(REDIS_CRONJOB, true),
    }
}

pub(crate) fn header(m: &Model) -> String {
    {
        let s = redis_snapshot(m);
        format!(
            "Redis RDB snapshot of the current master: CronJob {REDIS_CRONJOB} ({}), kept {} days in {}.",
            s.schedule,
            s.retention_days,
            m.object_store.bucket("redis-backups")
        )
    }
}

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Redis;
    let ns = &m.get(id).namespace;
    let s = redis_snapshot(m);
    // Ask Sentinel for the current master: a fixed pod may be a replica after a failover.
    let script = template::fill(
        include_str!("backup-dump.sh"),
        &[
            (
                "tls",
                &redis::cli_tls_flags(&format!("{REDIS_SECRETS_DIR}/{}", redis::CLIENT_CA_ITEM.2)),
            ),
            ("sentinel", &redis::SENTINEL),
            ("ns", ns),
            ("group", &redis::MASTER_GROUP),
            ("pw", &REDIS_PASSWORD_FILE),
        ],
    );
    let mut dump = container("dump", &m.get(id).image, script);
    if let Some(mounts) = dump.volume_mounts.as_mut() {
        // The master requires the password; Sentinel asks none. A file, read by the one
        // command that needs it, not a variable of the container; the Redis CA beside it.
        mounts.push(k8s::mount("redis-auth", REDIS_SECRETS_DIR, true));
    }
    let cj = snapshot_cronjob(
        m,
        id,
        REDIS_CRONJOB,
        &s,
        dump,
        vec![k8s::secret_files_volume(
            "redis-auth",
            &[
                (redis::AUTH_SECRET, redis::AUTH_KEY, "password"),
                redis::CLIENT_CA_ITEM,
            ],
        )],
    );
    vec![service_account(m, id, REDIS_CRONJOB), k8s::to_value(&cj)]
}
