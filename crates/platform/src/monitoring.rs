//! Prometheus Operator objects (PodMonitor, ServiceMonitor, PrometheusRule) per component.
//! Thresholds come from the spec so an alert fires before an SLO is breached, not after.

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::components::postgresql::{self, PatroniTiming};
use crate::k8s;
use crate::model::Model;

fn rule(
    alert: &str,
    expr: String,
    for_: &str,
    severity: &str,
    summary: &str,
    description: String,
) -> Value {
    json!({
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    })
}

fn prometheus_rule(m: &Model, id: ComponentId, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {"groups": [{"name": format!("{}.{}", m.name, name), "rules": rules}]},
    })
}

/// The monitoring objects of a component (empty when it has none yet).
pub fn objects(m: &Model, id: ComponentId) -> Vec<Value> {
    match id {
        ComponentId::Postgresql => {
            let t = postgresql::patroni_timing(
                &m.platform.spec.components.postgresql.config,
                m.get(id).slo.rto,
            );
            postgresql(m, t)
        }
        _ => vec![],
    }
}

fn postgresql(m: &Model, t: PatroniTiming) -> Vec<Value> {
    let id = ComponentId::Postgresql;
    let ns = &m.get(id).namespace;
    let cluster = postgresql::CLUSTER;
    let sel = format!("namespace=\"{ns}\",pod=~\"{cluster}-.*\"");
    let max_lag = m
        .platform
        .spec
        .components
        .postgresql
        .config
        .maximum_lag_on_failover
        .unwrap_or(1_048_576);
    let pod_monitor = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": k8s::to_value(&k8s::meta(m, id, cluster, cluster)),
        "spec": {
            "selector": {"matchLabels": {
                "postgres-operator.crunchydata.com/cluster": cluster,
                "postgres-operator.crunchydata.com/crunchy-postgres-exporter": "true",
            }},
            "podMetricsEndpoints": [{"port": "exporter", "interval": "15s"}],
        },
    });
    // pgMonitor: ccp_is_in_recovery_status is 1 on a replica and 2 on the primary.
    let rules = vec![
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
            format!("max by (pod) (ccp_replication_lag_size_bytes{{{sel}}}) > {max_lag}"),
            "2m",
            "warning",
            "PostgreSQL replica lags",
            format!(
                "A replica lags by more than maximum_lag_on_failover ({max_lag} bytes) and is no failover candidate."
            ),
        ),
        rule(
            "PostgreSQLSyncStandbyMissing",
            format!("count(ccp_is_in_recovery_status{{{sel}}} == 1) < 1"),
            "1m",
            "critical",
            "No PostgreSQL standby",
            "No replica is running: there is no synchronous standby and no failover target.".into(),
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
    vec![pod_monitor, prometheus_rule(m, id, cluster, rules)]
}
