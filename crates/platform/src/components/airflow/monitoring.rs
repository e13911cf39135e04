//! airflow's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::airflow;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Airflow;
    let r = m.get(id);
    let ns = &r.namespace;
    let scheduler = format!("{}-scheduler", airflow::NAME);
    let api = format!("{}-api-server", airflow::NAME);
    let monitor = pod_monitor(
        m,
        id,
        &scheduler,
        &[("app", &scheduler)],
        endpoint(AIRFLOW_METRICS_PORT.0, None),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{scheduler}-.*\"");
    let rules = vec![
        rule(
            "AirflowSchedulerHeartbeatMissing",
            format!(
                "sum by (namespace) (rate(airflow_scheduler_heartbeat{{{sel}}}[2m])) == 0 or absent(airflow_scheduler_heartbeat{{{sel}}})"
            ),
            "5m",
            "critical",
            "Airflow schedulers not heartbeating",
            "No Airflow scheduler has sent a heartbeat for 5 minutes: no task is being scheduled.".into(),
        ),
        rule(
            "AirflowApiServerDown",
            deployment_available(ns, &api, 1),
            &secs(r.slo.rto),
            "critical",
            "Airflow API server down",
            format!(
                "No Airflow API server is available for longer than the RTO ({} s): UI, REST API and task execution API fail.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "AirflowSchedulersDegraded",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{scheduler}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{scheduler}\"}}"
            ),
            "15m",
            "warning",
            "Airflow running with fewer schedulers",
            "Fewer schedulers are available than configured: scheduling continues but without a spare.".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, airflow::NAME, rules)]
}
