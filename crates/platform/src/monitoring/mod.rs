//! Prometheus Operator objects (PodMonitor, ServiceMonitor, PrometheusRule, AlertmanagerConfig)
//! per component. Thresholds come from the spec so an alert fires before an SLO is breached, not
//! after: `for:` of "no primary/master/leader" alerts from the failover timing the component was
//! rendered with (itself derived from the RTO), lag thresholds from the RPO, backup ages from the
//! backup schedules.
//!
//! On OpenShift these objects are picked up by user-workload monitoring. Rules without the
//! `openshift.io/prometheus-rule-evaluation-scope: leaf-prometheus` label are evaluated by Thanos
//! Ruler, which sees the platform's kube-state-metrics and kubelet series of the rule's
//! namespace: that is what the backup-age, PVC and crash-loop alerts query.
//!
//! The assembly is here. Alert routing (`routing`), the labels and ports operators put on the
//! pods they create (`labels`) and the builders every component's `monitoring.rs` uses
//! (`builders`) are rooms of their own; paths stay `monitoring::X`: they are re-exported here.

mod builders;
mod labels;
mod routing;

pub(crate) use builders::*;
pub use labels::*;
pub use routing::*;

use serde_json::Value;

use crate::component::ComponentId;
use crate::k8s;
use crate::model::Model;

/// etcd's `--quota-backend-bytes` when the spec leaves it unset (etcd's own default, 2 GiB, which
/// the etcd component renders explicitly; a test checks the two agree).
pub(crate) const ETCD_DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The monitoring objects a component declares (each component's `monitoring.rs`), followed
/// by the namespace-wide objects when it is the first enabled component of its namespace.
pub fn objects(m: &Model, id: ComponentId) -> Vec<Value> {
    let mut out = crate::components::get(id).monitoring(m);
    out.extend(namespace_objects(m, id));
    out
}

// ---- namespace-wide objects ----------------------------------------------------------------

/// The first enabled component of each namespace carries the namespace's PVC and crash-loop
/// alerts and its AlertmanagerConfig: the Prometheus Operator scopes an AlertmanagerConfig to
/// alerts of its own namespace, so every platform namespace needs one.
fn namespace_objects(m: &Model, id: ComponentId) -> Vec<Value> {
    let ns = &m.get(id).namespace;
    let first = m
        .enabled_components()
        .find(|c| &m.get(c.id()).namespace == ns)
        .map(|c| c.id());
    if first != Some(id) {
        return vec![];
    }
    let sel = format!("namespace=\"{ns}\"");
    let rules = vec![
        rule(
            "PersistentVolumeFillingUp",
            format!(
                "kubelet_volume_stats_available_bytes{{{sel}}} / kubelet_volume_stats_capacity_bytes{{{sel}}} < 0.15"
            ),
            "5m",
            "warning",
            "Volume almost full",
            "PVC {{ $labels.persistentvolumeclaim }} has less than 15 % free space.".into(),
        ),
        rule(
            "PersistentVolumeFillingUp",
            format!(
                "kubelet_volume_stats_available_bytes{{{sel}}} / kubelet_volume_stats_capacity_bytes{{{sel}}} < 0.05"
            ),
            "2m",
            "critical",
            "Volume full",
            "PVC {{ $labels.persistentvolumeclaim }} has less than 5 % free space: the service writing to it is about to fail.".into(),
        ),
        rule(
            "PodCrashLooping",
            format!(
                "max_over_time(kube_pod_container_status_waiting_reason{{{sel},reason=\"CrashLoopBackOff\"}}[5m]) >= 1"
            ),
            "15m",
            "warning",
            "Pod crash-looping",
            "Container {{ $labels.container }} of {{ $labels.pod }} has been restarting in CrashLoopBackOff for 15 minutes.".into(),
        ),
    ];
    let name = format!("{}-namespace", m.name);
    let mut v = vec![prometheus_rule(m, id, &name, rules)];
    v.extend(alertmanager_config(m, id).map(|c| k8s::to_value(&c)));
    v
}

#[cfg(test)]
mod tests;
