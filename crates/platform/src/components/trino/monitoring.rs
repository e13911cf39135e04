//! trino's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::components::trino;
use crate::k8s;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Trino;
    let r = m.get(id);
    let ns = &r.namespace;
    // Trino's own `/metrics` (OpenMetrics of every JMX bean) needs no agent jar or exporter
    // image, so it works with the upstream image as is; a JMX exporter would need both. It is
    // served on the HTTPS port only; coordinator and workers carry certificates for different
    // Service names, hence one monitor per role.
    let monitor = |app: &str, server_name: String| {
        let mut mon = pod_monitor(
            m,
            id,
            app,
            &[("app", app), ("app.kubernetes.io/instance", &m.name)],
            endpoint("https", Some("/metrics")),
        );
        let ep = &mut mon["spec"]["podMetricsEndpoints"][0];
        ep["scheme"] = json!("https");
        ep["tlsConfig"] = json!({
            "ca": {"configMap": {"name": k8s::SERVICE_CA_CONFIGMAP, "key": "service-ca.crt"}},
            "serverName": server_name,
        });
        // No password: Trino would refuse it (see TRINO_METRICS_SECRET).
        ep["basicAuth"] = json!({
            "username": {"name": TRINO_METRICS_SECRET, "key": "username"},
        });
        mon
    };
    let sel = format!("namespace=\"{ns}\",pod=~\"trino-.*\"");
    let rules = vec![
        rule(
            "TrinoCoordinatorDown",
            deployment_available(ns, trino::COORDINATOR, 1),
            &secs(r.slo.rto),
            "critical",
            "Trino coordinator down",
            format!(
                "The single Trino coordinator is unavailable for longer than the RTO ({} s): every query fails.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "TrinoWorkersMissing",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{}\"}}",
                trino::WORKER,
                trino::WORKER
            ),
            "15m",
            "warning",
            "Trino workers missing",
            "Fewer Trino workers are available than configured for 15 minutes: queries run slower and memory-heavy ones may fail.".into(),
        ),
        rule(
            "TrinoMetricsDown",
            format!("up{{{sel}}} == 0"),
            "10m",
            "warning",
            "Trino metrics missing",
            format!(
                "{{{{ $labels.pod }}}} cannot be scraped (Secret {TRINO_METRICS_SECRET} missing or not accepted?)."
            ),
        ),
    ];
    vec![
        monitor(trino::COORDINATOR, trino::host(m)),
        monitor(trino::WORKER, trino::worker_host(m)),
        prometheus_rule(m, id, "trino", rules),
    ]
}
