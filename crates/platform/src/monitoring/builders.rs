//! Builders of monitoring objects and PromQL, shared by every component's `monitoring.rs`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::k8s;
use crate::model::Model;

/// Scrape interval of every monitor: short enough that a `for:` derived from a failover window
/// of tens of seconds sees several samples.
pub(crate) const SCRAPE_INTERVAL: &str = "15s";

/// Slack added to a backup schedule's longest gap before "backup too old" fires: a backup is
/// not instantaneous, and one slow run must not page.
pub(crate) const BACKUP_MARGIN: Duration = Duration::from_secs(3600);

pub(crate) fn secs(d: Duration) -> String {
    // Whole seconds, rounded up: a `for:` shorter than the window it stands for fires early.
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{s}s")
}

pub(crate) fn rule(
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

pub(crate) fn prometheus_rule(m: &Model, id: ComponentId, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {"groups": [{"name": format!("{}.{}", m.name, name), "rules": rules}]},
    })
}

/// A PodMonitor for pods matching `labels`, scraping the named container port.
pub(crate) fn pod_monitor(
    m: &Model,
    id: ComponentId,
    name: &str,
    labels: &[(&str, &str)],
    endpoint: Value,
) -> Value {
    let sel: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {
            "selector": {"matchLabels": sel},
            "podMetricsEndpoints": [endpoint],
        },
    })
}

pub(crate) fn endpoint(port: &str, path: Option<&str>) -> Value {
    let mut e = json!({"port": port, "interval": SCRAPE_INTERVAL});
    if let Some(p) = path {
        e["path"] = json!(p);
    }
    e
}

/// Longest gap of a snapshot schedule; a schedule too irregular to read gets a day, so the
/// alert stays meaningful rather than silent.
pub(crate) fn snapshot_gap(schedule: &str) -> Duration {
    crate::units::cron_max_gap(schedule).unwrap_or(Duration::from_secs(86_400))
}

/// "Backup too old" for a snapshot CronJob: the last success is older than the schedule's gap
/// plus margin, or the CronJob exists that long without ever succeeding.
pub(crate) fn cronjob_backup_rule(
    alert: &str,
    ns: &str,
    cronjob: &str,
    interval: Duration,
    component: &str,
) -> Value {
    let max_age = interval + BACKUP_MARGIN;
    let sel = format!("namespace=\"{ns}\",cronjob=\"{cronjob}\"");
    let s = max_age.as_secs();
    rule(
        alert,
        format!(
            "time() - kube_cronjob_status_last_successful_time{{{sel}}} > {s} or (time() - kube_cronjob_created{{{sel}}} > {s} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{sel}}})"
        ),
        "10m",
        "warning",
        &format!("{component} backup too old"),
        format!(
            "CronJob {ns}/{cronjob} has not succeeded for more than {s} s (schedule every {} s plus {} s margin): a restore would lose more than the backup plan promises.",
            interval.as_secs(),
            BACKUP_MARGIN.as_secs()
        ),
    )
}

/// Fewer available replicas of a Deployment than `min` (kube-state-metrics; also fires when the
/// Deployment is gone).
pub(crate) fn deployment_available(ns: &str, deployment: &str, min: u32) -> String {
    let sel = format!("namespace=\"{ns}\",deployment=\"{deployment}\"");
    format!(
        "kube_deployment_status_replicas_available{{{sel}}} < {min} or absent(kube_deployment_status_replicas_available{{{sel}}})"
    )
}
