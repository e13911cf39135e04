//! superset's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::superset;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Superset;
    let r = m.get(id);
    let ns = &r.namespace;
    let web = format!("{}-web", superset::NAME);
    // Superset has no metrics endpoint (only a StatsD logger hook): availability comes from
    // kube-state-metrics.
    let rules = vec![
        rule(
            "SupersetWebDown",
            deployment_available(ns, &web, 1),
            &secs(r.slo.rto),
            "critical",
            "Superset down",
            format!(
                "No Superset web pod is available for longer than the RTO ({} s).",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "SupersetWebDegraded",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{web}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{web}\"}}"
            ),
            "15m",
            "warning",
            "Superset running with fewer pods",
            "Fewer Superset web pods are available than configured: one more failure is an outage."
                .into(),
        ),
    ];
    vec![prometheus_rule(m, id, superset::NAME, rules)]
}
