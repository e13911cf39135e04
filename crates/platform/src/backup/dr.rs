//! The disaster-recovery guide of the rendered tree (`disaster-recovery.md`).

use std::fmt::Write;

use super::{
    ETCD_CRONJOB, MINIO_JOB, MIRROR_MAKER, REDIS_CRONJOB, dur, etcd_snapshot, kafka_target,
    minio_job_enabled, mirror_maker_enabled, postgresql, redis_snapshot, replication_target,
};
use crate::component::{ComponentId, Content, File};
use crate::components::{minio, postgresql, redis};
use crate::model::Model;
use crate::spec::ObjectStoreBackend;
use crate::units::format_duration;

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
    intro(&mut s, m);
    summary_table(&mut s, m);
    s.push('\n');
    if m.enabled(ComponentId::Postgresql) {
        postgresql_section(&mut s, m);
    }
    if m.enabled(ComponentId::Redis) {
        redis_section(&mut s, m);
    }
    if m.enabled(ComponentId::Etcd) {
        etcd_section(&mut s, m);
    }
    if minio_job_enabled(m) {
        minio_section(&mut s, m);
    }
    if m.enabled(ComponentId::Kafka) {
        kafka_section(&mut s, m);
    }
    File {
        path: "disaster-recovery.md".into(),
        content: Content::Markdown(s),
    }
}

fn intro(s: &mut String, m: &Model) {
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
}

fn summary_table(s: &mut String, m: &Model) {
    let _ = writeln!(
        s,
        "| Component | Method | Frequency | Retention | RPO (restore from backup) | RTO target |\n|---|---|---|---|---|---|"
    );
    if m.enabled(ComponentId::Postgresql) {
        postgresql_row(s, m);
    }
    if m.enabled(ComponentId::Redis) {
        redis_row(s, m);
    }
    if m.enabled(ComponentId::Etcd) {
        etcd_row(s, m);
    }
    if minio_job_enabled(m) {
        minio_row(s, m);
    }
    if m.enabled(ComponentId::Kafka) {
        kafka_row(s, m);
    }
}

fn postgresql_row(s: &mut String, m: &Model) {
    let pg = postgresql(m);
    let _ = writeln!(
        s,
        "| postgresql | pgBackRest (full + differential, continuous WAL archive) | full `{}`, differential `{}` | {} days | last archived WAL segment (point-in-time) | {} |",
        pg.full,
        pg.differential,
        pg.retention_days,
        format_duration(pg.rto)
    );
}

fn redis_row(s: &mut String, m: &Model) {
    let rs = redis_snapshot(m);
    let _ = writeln!(
        s,
        "| redis | RDB snapshot (CronJob `{REDIS_CRONJOB}`) | `{}` | {} days | {} | {} |",
        rs.schedule,
        rs.retention_days,
        rpo_of(&rs.schedule),
        format_duration(rs.rto)
    );
}

fn etcd_row(s: &mut String, m: &Model) {
    let es = etcd_snapshot(m);
    let _ = writeln!(
        s,
        "| etcd | snapshot (CronJob `{ETCD_CRONJOB}`) | `{}` | {} days | {} | {} |",
        es.schedule,
        es.retention_days,
        rpo_of(&es.schedule),
        format_duration(es.rto)
    );
}

fn minio_row(s: &mut String, m: &Model) {
    let mb = &m.platform.spec.backup.minio;
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

fn kafka_row(s: &mut String, m: &Model) {
    let kb = &m.platform.spec.backup.kafka;
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

fn postgresql_section(s: &mut String, m: &Model) {
    let bucket = |p: &str| m.object_store.bucket(p);
    let ns = &m.get(ComponentId::Postgresql).namespace;
    let c = postgresql::CLUSTER;
    let _ = writeln!(
        s,
        "## PostgreSQL\n\npgBackRest repository `repo1` in bucket `{}` (path `/pgbackrest/{}/repo1`); schedules and retention are in `01-postgresql-ha/postgres-cluster.yaml`. Point-in-time recovery: the exact restore manifest and commands are in [01-postgresql-ha/README.md](01-postgresql-ha/README.md#point-in-time-recovery).\n\n```bash\n# backups present and their time range\noc exec -n {ns} $(oc get pod -n {ns} -l postgres-operator.crunchydata.com/role=master -o name) -c database -- pgbackrest info\n# one-off full backup before a risky change\noc annotate postgrescluster/{c} -n {ns} --overwrite postgres-operator.crunchydata.com/pgbackrest-backup=\"$(date)\"\n```\n\nSite loss: create the PostgresCluster on the new site with `spec.dataSource.pgbackrest` pointing at the same repository (bucket replicated by MinIO, or the external store).\n",
        bucket("pgbackrest"),
        m.name
    );
}

fn redis_section(s: &mut String, m: &Model) {
    let bucket = |p: &str| m.object_store.bucket(p);
    let rs = redis_snapshot(m);
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

fn etcd_section(s: &mut String, m: &Model) {
    let bucket = |p: &str| m.object_store.bucket(p);
    let es = etcd_snapshot(m);
    let ns = &m.get(ComponentId::Etcd).namespace;
    let _ = writeln!(
        s,
        "## etcd\n\nCronJob `{ETCD_CRONJOB}` runs `etcdctl snapshot save` over mutual TLS (client certificate `etcd-client-tls` from deploy's etcd CA) against any member and uploads to `{}/etcd/`; snapshots older than {} days are pruned.\n\n```bash\noc get cronjob/{ETCD_CRONJOB} -n {ns}\noc create job --from=cronjob/{ETCD_CRONJOB} {ETCD_CRONJOB}-manual -n {ns}\nmc cp store/{}/etcd/<stamp>-etcd-snapshot.db ./snapshot.db\netcdutl snapshot status ./snapshot.db -w table\n```\n\nRestore: follow the runbook in [03-etcd-ha/README.md](03-etcd-ha/README.md#restore-runbook) (scale to 0, `etcdutl snapshot restore` per member with a new cluster token, scale up).\n",
        bucket("etcd-backups"),
        es.retention_days,
        bucket("etcd-backups"),
    );
}

fn minio_section(s: &mut String, m: &Model) {
    let mb = &m.platform.spec.backup.minio;
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

fn kafka_section(s: &mut String, m: &Model) {
    let kb = &m.platform.spec.backup.kafka;
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
