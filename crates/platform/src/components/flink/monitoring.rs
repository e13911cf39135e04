//! flink's monitors and alert rules (assembled by [`crate::monitoring`]).

use std::time::Duration;

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::flink;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Flink;
    let r = m.get(id);
    let ns = &r.namespace;
    let name = flink::NAME;
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[("app", name), ("type", FLINK_NATIVE_TYPE)],
        endpoint(FLINK_METRICS_PORT.0, None),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-.*\"");
    // Flink writes the interval as e.g. "30 s"; an unreadable value was reported by validation.
    let interval = m
        .platform
        .spec
        .components
        .flink
        .config
        .checkpoint_interval
        .as_deref()
        .map(|s| s.replace(' ', ""))
        .and_then(|s| crate::units::parse_duration(&s).ok())
        .unwrap_or(Duration::from_secs(30));
    // Three missed checkpoints in a row, but never a window shorter than 10 minutes.
    let window = (interval * 3).max(Duration::from_secs(600));
    let w = window.as_secs();
    let rules = vec![
        rule(
            "FlinkJobManagerUnavailable",
            deployment_available(ns, name, 1),
            &secs(r.slo.rto),
            "critical",
            "No Flink JobManager",
            format!(
                "No JobManager of {ns}/{name} is available for longer than the RTO ({} s): jobs cannot be submitted or recovered.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "FlinkJobRestarting",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numRestarts{{{sel}}}[10m])) > 2"
            ),
            "0m",
            "warning",
            "Flink job restarting",
            "Job {{ $labels.job_name }} restarted more than twice in 10 minutes.".into(),
        ),
        rule(
            "FlinkCheckpointsFailing",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numberOfFailedCheckpoints{{{sel}}}[{w}s])) > 0"
            ),
            "0m",
            "warning",
            "Flink checkpoints failing",
            format!("Job {{{{ $labels.job_name }}}} had failed checkpoints in the last {w} s."),
        ),
        rule(
            "FlinkNoCompletedCheckpoint",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numberOfCompletedCheckpoints{{{sel}}}[{w}s])) == 0 and on (namespace, job_name) max by (namespace, job_name) (flink_jobmanager_job_uptime{{{sel}}}) > {}",
                window.as_millis()
            ),
            "0m",
            "critical",
            "Flink job without checkpoints",
            format!(
                "Job {{{{ $labels.job_name }}}} completed no checkpoint in {w} s (3 × the {} s interval): a restart would reprocess all of it.",
                interval.as_secs()
            ),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}
