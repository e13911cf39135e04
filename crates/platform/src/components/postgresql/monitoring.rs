//! postgresql's monitors and alert rules (assembled by [`crate::monitoring`]).

use std::time::Duration;

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::postgresql::{self, PatroniTiming};
use crate::model::Model;
use crate::monitoring::*;

/// The PodMonitor and rules of the component, with `for:` windows from the Patroni timing it
/// was rendered with.
pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let t = postgresql::patroni_timing(
        &m.platform.spec.components.postgresql.config,
        m.get(ComponentId::Postgresql).slo.rto,
    );
    objects_with(m, t)
}

fn objects_with(m: &Model, t: PatroniTiming) -> Vec<Value> {
    let id = ComponentId::Postgresql;
    let ns = &m.get(id).namespace;
    let cluster = postgresql::CLUSTER;
    let sel = format!("namespace=\"{ns}\",pod=~\"{cluster}-.*\"");
    let c = &m.platform.spec.components.postgresql.config;
    let max_lag = c.maximum_lag_on_failover.unwrap_or(1_048_576);
    let monitor = pod_monitor(
        m,
        id,
        cluster,
        &[(PGO_CLUSTER_LABEL, cluster), (PGO_EXPORTER_LABEL, "true")],
        endpoint(PGO_EXPORTER_PORT, None),
    );
    // The newest of the full and differential backups bounds the restore point; the
    // differential schedule is the denser one, so its longest gap is the expected age.
    let diff = crate::backup::postgresql(m).differential;
    let backup_max_age = crate::units::cron_max_gap(&diff)
        .unwrap_or(Duration::from_secs(7 * 86_400))
        + BACKUP_MARGIN;
    // pgMonitor: ccp_is_in_recovery_status is 1 on a replica and 2 on the primary.
    let mut rules = vec![
        rule(
            "PostgreSQLPrimaryMissing",
            format!("absent(ccp_is_in_recovery_status{{{sel}}} == 2)"),
            &format!("{}s", t.ttl + t.loop_wait),
            "critical",
            "No PostgreSQL primary",
            format!(
                "No instance of {ns}/{cluster} reports itself primary for longer than Patroni's failover window: writes are failing."
            ),
        ),
        rule(
            "PostgreSQLFailoverHappened",
            format!(
                "changes(ccp_is_in_recovery_status{{{sel}}}[10m]) > 0 and ccp_is_in_recovery_status{{{sel}}} == 2"
            ),
            "0m",
            "warning",
            "PostgreSQL failover",
            "{{ $labels.pod }} was promoted to primary in the last 10 minutes.".into(),
        ),
        rule(
            "PostgreSQLReplicationLag",
            format!(
                "max by (namespace, pod) (ccp_replication_lag_size_bytes{{{sel}}}) > {max_lag}"
            ),
            "2m",
            "warning",
            "PostgreSQL replica lags",
            format!(
                "A replica lags by more than maximum_lag_on_failover ({max_lag} bytes) and is no failover candidate."
            ),
        ),
        rule(
            "PostgreSQLBackupTooOld",
            format!(
                "min by (namespace, stanza) ({{__name__=~\"ccp_backrest_last_(full|diff)_backup_time_since_completion_seconds\",{sel}}}) > {}",
                backup_max_age.as_secs()
            ),
            "10m",
            "warning",
            "PostgreSQL backup too old",
            format!(
                "The newest full or differential pgBackRest backup is older than {} s (differential schedule `{diff}` plus {} s margin).",
                backup_max_age.as_secs(),
                BACKUP_MARGIN.as_secs()
            ),
        ),
        rule(
            "PostgreSQLExporterDown",
            format!("up{{{sel}}} == 0"),
            "5m",
            "warning",
            "PostgreSQL metrics missing",
            "The exporter of {{ $labels.pod }} cannot be scraped; the alerts above are blind."
                .into(),
        ),
    ];
    // A single-instance cluster (dev) has no standby by design: the alert would always fire.
    if m.get(id).replicas > 1 {
        rules.push(rule(
            "PostgreSQLSyncStandbyMissing",
            format!("absent(ccp_is_in_recovery_status{{{sel}}} == 1)"),
            "1m",
            "critical",
            "No PostgreSQL standby",
            "No replica is running: there is no synchronous standby and no failover target.".into(),
        ));
    }
    vec![monitor, prometheus_rule(m, id, cluster, rules)]
}
