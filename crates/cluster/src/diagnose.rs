//! Why a gate is not passing: pending pods with the scheduler's reason, crashing containers,
//! warning events, each with the fix the seed's troubleshooting section suggests.

use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cause {
    AntiAffinity,
    InsufficientCpu,
    InsufficientMemory,
    UnboundPvc,
    Unschedulable,
    ImagePull,
    CrashLoop,
    NotReady,
    Event,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `pod/<name>` or the event's object.
    pub subject: String,
    pub cause: Cause,
    pub message: String,
    pub fix: String,
}

fn fix(cause: Cause, ns: &str) -> String {
    match cause {
        Cause::AntiAffinity => format!(
            "replicas need one node each (required anti-affinity on kubernetes.io/hostname): add worker nodes or lower the replica count; check placement with `oc get pods -o wide -n {ns}` and `oc get nodes --show-labels`"
        ),
        Cause::InsufficientCpu => "not enough allocatable CPU on the eligible nodes: add or enlarge workers, or lower the component's resources.requests.cpu in the spec".into(),
        Cause::InsufficientMemory => "not enough allocatable memory on the eligible nodes: add or enlarge workers, or lower resources.requests.memory in the spec".into(),
        Cause::UnboundPvc => format!(
            "the PersistentVolumeClaim is not bound: check the storage class exists and provisions (`oc get sc`, `oc get pvc -n {ns}`, `oc describe pvc -n {ns}`)"
        ),
        Cause::Unschedulable => format!("see the scheduler's events: `oc get events -n {ns} --sort-by='.lastTimestamp'`"),
        Cause::ImagePull => "the image cannot be pulled: check the image reference in the spec, the registry's reachability and pull secrets".into(),
        Cause::CrashLoop => format!("the container keeps crashing: `oc logs -n {ns} <pod> --previous`"),
        Cause::NotReady => format!("the pod runs but its readiness probe fails: `oc describe pod -n {ns} <pod>` and its logs"),
        Cause::Event => format!("`oc get events -n {ns} --sort-by='.lastTimestamp'`; for operator-managed kinds check the operator: `oc get csv -A` and its logs"),
    }
}

/// Classify a scheduler message (FailedScheduling or the PodScheduled condition).
pub fn scheduling_cause(msg: &str) -> Cause {
    let m = msg.to_ascii_lowercase();
    if m.contains("anti-affinity") || m.contains("didn't match pod affinity") {
        Cause::AntiAffinity
    } else if m.contains("insufficient cpu") {
        Cause::InsufficientCpu
    } else if m.contains("insufficient memory") {
        Cause::InsufficientMemory
    } else if m.contains("unbound") && m.contains("persistentvolumeclaim") {
        Cause::UnboundPvc
    } else {
        Cause::Unschedulable
    }
}

fn name(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or("?")
}

/// Findings for the given pods (already narrowed to the gate's selector, or the whole namespace)
/// and the namespace's events.
pub fn diagnose(ns: &str, pods: &[Value], events: &[Value]) -> Vec<Finding> {
    let mut out = Vec::new();
    for p in pods {
        let subject = format!("pod/{}", name(p));
        let phase = p["status"]["phase"].as_str().unwrap_or("Unknown");
        let conds = p["status"]["conditions"].as_array();
        let sched = conds.and_then(|cs| cs.iter().find(|c| c["type"] == "PodScheduled"));
        if phase == "Pending"
            && let Some(c) = sched.filter(|c| c["status"] == "False")
        {
            let msg = c["message"].as_str().unwrap_or("unschedulable").to_string();
            let cause = scheduling_cause(&msg);
            out.push(Finding {
                subject,
                cause,
                fix: fix(cause, ns),
                message: msg,
            });
            continue;
        }
        let statuses = p["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .chain(p["status"]["initContainerStatuses"].as_array())
            .flatten();
        let mut found = false;
        for cs in statuses {
            let reason = cs["state"]["waiting"]["reason"]
                .as_str()
                .unwrap_or_default();
            let cause = match reason {
                "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" => Cause::ImagePull,
                "CrashLoopBackOff" => Cause::CrashLoop,
                _ => continue,
            };
            out.push(Finding {
                subject: subject.clone(),
                cause,
                message: format!(
                    "container {}: {reason} {}",
                    cs["name"].as_str().unwrap_or("?"),
                    cs["state"]["waiting"]["message"]
                        .as_str()
                        .unwrap_or_default()
                )
                .trim()
                .to_string(),
                fix: fix(cause, ns),
            });
            found = true;
        }
        if !found && phase == "Running" && !crate::gates::pod_ready(p) {
            out.push(Finding {
                subject,
                cause: Cause::NotReady,
                message: "running, not ready".into(),
                fix: fix(Cause::NotReady, ns),
            });
        }
    }
    // Events add what pods cannot say (unbound claims, operator errors); keep the latest few
    // warnings not already explained by a pod finding.
    let mut warnings: Vec<&Value> = events.iter().filter(|e| e["type"] == "Warning").collect();
    warnings.sort_by_key(|e| {
        e["lastTimestamp"]
            .as_str()
            .or(e["eventTime"].as_str())
            .unwrap_or_default()
            .to_string()
    });
    for e in warnings.iter().rev().take(10) {
        let obj = &e["involvedObject"];
        let subject = format!(
            "{}/{}",
            obj["kind"].as_str().unwrap_or("?").to_ascii_lowercase(),
            obj["name"].as_str().unwrap_or("?")
        );
        if out.iter().any(|f| f.subject == subject) {
            continue;
        }
        let msg = e["message"].as_str().unwrap_or_default();
        let cause = if e["reason"] == "FailedScheduling" {
            scheduling_cause(msg)
        } else if msg.contains("persistentvolumeclaim") && msg.contains("not found") {
            Cause::UnboundPvc
        } else {
            Cause::Event
        };
        out.push(Finding {
            subject,
            cause,
            message: format!("{}: {msg}", e["reason"].as_str().unwrap_or("Warning")),
            fix: fix(cause, ns),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn pending_pods_name_the_scheduler_reason() {
        let pods = [
            json!({"metadata": {"name": "pg-0"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                "message": "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available"}]}}),
            json!({"metadata": {"name": "kafka-0"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "message": "0/3 nodes are available: 3 Insufficient cpu."}]}}),
            json!({"metadata": {"name": "etcd-0"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False",
                "message": "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims."}]}}),
            json!({"metadata": {"name": "web-1"}, "status": {"phase": "Pending", "containerStatuses": [{"name": "web", "state": {"waiting": {"reason": "ImagePullBackOff"}}}]}}),
        ];
        let f = diagnose("ns", &pods, &[]);
        let causes: Vec<Cause> = f.iter().map(|f| f.cause).collect();
        assert_eq!(
            causes,
            vec![
                Cause::AntiAffinity,
                Cause::InsufficientCpu,
                Cause::UnboundPvc,
                Cause::ImagePull
            ]
        );
        assert!(f[0].fix.contains("add worker nodes"));
        assert!(f[2].fix.contains("oc get pvc -n ns"));
    }

    #[test]
    fn warning_events_are_reported_once() {
        let events = [
            json!({"type": "Normal", "reason": "Scheduled", "message": "ok", "involvedObject": {"kind": "Pod", "name": "a"}}),
            json!({"type": "Warning", "reason": "FailedScheduling", "message": "0/3 nodes are available: 3 Insufficient memory.",
                "lastTimestamp": "2026-01-01T00:00:00Z", "involvedObject": {"kind": "Pod", "name": "b"}}),
        ];
        let f = diagnose("ns", &[], &events);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].cause, Cause::InsufficientMemory);
        assert_eq!(f[0].subject, "pod/b");
    }
}
