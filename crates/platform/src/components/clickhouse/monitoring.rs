//! clickhouse's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::clickhouse;
use crate::k8s;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Clickhouse;
    let r = m.get(id);
    let ns = &r.namespace;
    let chi = clickhouse::CHI;
    let monitor = pod_monitor(
        m,
        id,
        chi,
        &[(CHI_LABEL, chi)],
        endpoint(CLICKHOUSE_METRICS_PORT.0, Some("/metrics")),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"chi-{chi}-.*\"");
    let keepers = clickhouse::keepers(m);
    let majority = k8s::majority(keepers);
    let delay = r.slo.rpo.as_secs().max(30);
    let rules = vec![
        rule(
            "ClickHouseReadonlyReplica",
            format!("ClickHouseMetrics_ReadonlyReplica{{{sel}}} > 0"),
            "2m",
            "critical",
            "ClickHouse replica read-only",
            "{{ $labels.pod }} has read-only replicated tables (Keeper unreachable or metadata lost): inserts fail there.".into(),
        ),
        rule(
            "ClickHouseReplicationDelay",
            format!("ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay{{{sel}}} > {delay}"),
            "5m",
            "warning",
            "ClickHouse replica behind",
            format!(
                "{{{{ $labels.pod }}}} is more than {delay} s behind its replicas (RPO {} s): losing the others now loses data.",
                r.slo.rpo.as_secs()
            ),
        ),
        rule(
            "ClickHouseKeeperQuorumLost",
            format!(
                "(sum(kube_pod_status_ready{{namespace=\"{ns}\",pod=~\"chk-{}-.*\",condition=\"true\"}}) or vector(0)) < {majority}",
                clickhouse::CHK
            ),
            "1m",
            "critical",
            "ClickHouse Keeper without quorum",
            format!(
                "Fewer than {majority} of {keepers} Keeper pods are ready: replicated tables turn read-only."
            ),
        ),
        rule(
            "ClickHouseMetricsDown",
            format!("up{{{sel}}} == 0"),
            "5m",
            "warning",
            "ClickHouse metrics missing",
            "{{ $labels.pod }} cannot be scraped on its Prometheus port.".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, chi, rules)]
}
