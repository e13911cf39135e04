//! nessie's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::nessie;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Nessie;
    let r = m.get(id);
    let ns = &r.namespace;
    let name = nessie::NAME;
    // Quarkus serves Micrometer's Prometheus registry on the management port.
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[("app", name)],
        endpoint("management", Some("/q/metrics")),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-.*\"");
    let rules = vec![
        rule(
            "NessieUnavailable",
            deployment_available(ns, name, 1),
            &secs(r.slo.rto),
            "critical",
            "Nessie catalog down",
            format!(
                "No Nessie pod is available for longer than the RTO ({} s): table commits and catalog reads fail.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "NessieServerErrors",
            format!(
                "sum by (namespace) (rate(http_server_requests_seconds_count{{{sel},status=~\"5..\"}}[5m])) / sum by (namespace) (rate(http_server_requests_seconds_count{{{sel}}}[5m])) > 0.05"
            ),
            "10m",
            "warning",
            "Nessie answers with server errors",
            "More than 5 % of Nessie requests fail with 5xx (backend store unreachable?).".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}
