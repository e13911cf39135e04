//! Checks of `spec.backup`.

use crate::spec::Platform;
use crate::units::parse_duration;
use crate::validate::Issue;

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
