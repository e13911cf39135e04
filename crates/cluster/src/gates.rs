//! Health gates: one evaluator per kind, reading only the object's JSON and its pods, so the
//! same code serves `deploy`, `status` and the tests' recorded fixtures.

use std::collections::BTreeMap;

use datalyptica_platform::component::{Gate, GateKind};
use serde::Serialize;
use serde_json::Value;

use crate::api::TypeRef;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", content = "detail", rename_all = "lowercase")]
pub enum GateState {
    Ready(String),
    Waiting(String),
    /// Will not become ready by waiting (a failed Job, a failed CSV).
    Failed(String),
}

impl GateState {
    pub fn is_ready(&self) -> bool {
        matches!(self, GateState::Ready(_))
    }
    pub fn detail(&self) -> &str {
        match self {
            GateState::Ready(s) | GateState::Waiting(s) | GateState::Failed(s) => s,
        }
    }
}

/// Who made the object ready when that was a sandbox stand-in, not its operator or a
/// Kubernetes controller: the manager that wrote its status, or the stand-in's mark on an object
/// it created in an operator's place (Redis', MinIO's StatefulSets). Such readiness says the
/// tree was accepted by the API server, not that an operator would reach it.
pub fn stand_in(obj: &Value) -> Option<String> {
    use crate::sandbox::standin::{OLM_MANAGER, OPERATOR_MANAGER};
    let status_writer = obj["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["subresource"] == "status")
        .filter_map(|f| f["manager"].as_str())
        .find(|m| [OLM_MANAGER, OPERATOR_MANAGER].contains(m));
    if let Some(m) = status_writer {
        return Some(format!(
            "status written by the sandbox stand-in `{m}`, not by a real operator"
        ));
    }
    obj["metadata"]["annotations"]["datalyptica.io/sandbox-stand-in"]
        .as_str()
        .map(|who| format!("made by the sandbox {who} stand-in, not by a real operator"))
}

/// A passed gate's detail, saying so when a stand-in made it pass.
pub fn passed_detail(detail: String, obj: Option<&Value>) -> String {
    match obj.and_then(stand_in) {
        Some(who) => format!("{detail} ({who})"),
        None => detail,
    }
}

/// The API type of the object a gate watches.
pub fn type_ref(kind: GateKind) -> TypeRef {
    TypeRef::new(kind.api_version(), kind.kind())
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn condition<'a>(obj: &'a Value, ty: &str) -> Option<&'a Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == ty)
}

pub fn condition_true(obj: &Value, ty: &str) -> bool {
    condition(obj, ty).is_some_and(|c| c["status"] == "True")
}

/// `Type=Status message` (the reason when there is no message) of one status condition.
pub(crate) fn describe_condition(c: &Value) -> String {
    format!(
        "{}={} {}",
        c["type"].as_str().unwrap_or("?"),
        c["status"].as_str().unwrap_or("?"),
        c["message"]
            .as_str()
            .or(c["reason"].as_str())
            .unwrap_or_default()
    )
    .trim()
    .to_string()
}

fn condition_message(obj: &Value, ty: &str) -> String {
    condition(obj, ty)
        .map(describe_condition)
        .unwrap_or_else(|| format!("no {ty} condition yet"))
}

/// The operator has seen the latest spec (otherwise status describes an older generation).
fn observed(obj: &Value) -> bool {
    let g = &obj["metadata"]["generation"];
    let o = &obj["status"]["observedGeneration"];
    g.is_null() || o.is_null() || int(o) >= int(g)
}

/// Labels selecting the pods behind a gate's object: the object's own selector for the
/// workload kinds, the operator's labels for the custom resources.
pub fn pod_selector(kind: GateKind, name: &str, obj: Option<&Value>) -> BTreeMap<String, String> {
    match kind {
        GateKind::Deployment | GateKind::StatefulSet => obj
            .and_then(|o| o["spec"]["selector"]["matchLabels"].as_object())
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                    .collect()
            })
            .unwrap_or_default(),
        _ => kind
            .pod_labels(name)
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    }
}

pub fn pod_ready(p: &Value) -> bool {
    condition_true(p, "Ready")
}

fn label<'a>(p: &'a Value, k: &str) -> Option<&'a str> {
    p["metadata"]["labels"][k].as_str()
}

/// Evaluate a gate against the live object (None: not created yet) and its pods.
pub fn evaluate(gate: &Gate, obj: Option<&Value>, pods: &[Value]) -> GateState {
    let Some(o) = obj else {
        return GateState::Waiting(format!("{} {} does not exist yet", gate.kind, gate.name));
    };
    match gate.kind {
        GateKind::Deployment => deployment(o),
        GateKind::StatefulSet => statefulset(o, pods),
        GateKind::Job => job(o),
        GateKind::PostgresCluster => postgres(o, pods),
        GateKind::Tenant => tenant(o),
        GateKind::Kafka => {
            if condition_true(o, "Ready") && observed(o) {
                GateState::Ready("Ready".into())
            } else if condition_true(o, "NotReady") || condition(o, "Ready").is_some() {
                GateState::Waiting(condition_message(o, "Ready"))
            } else {
                GateState::Waiting("the Strimzi operator has not reported Ready yet".into())
            }
        }
        GateKind::FlinkDeployment => {
            let s = o["status"]["jobManagerDeploymentStatus"]
                .as_str()
                .unwrap_or("unknown");
            match s {
                "READY" => GateState::Ready("JobManager READY".into()),
                "ERROR" => GateState::Failed(format!(
                    "JobManager ERROR: {}",
                    o["status"]["error"]
                        .as_str()
                        .unwrap_or("see the operator log")
                )),
                other => GateState::Waiting(format!("JobManager {other}")),
            }
        }
        GateKind::ClickHouseInstallation | GateKind::ClickHouseKeeperInstallation => {
            match o["status"]["status"].as_str().unwrap_or("unknown") {
                "Completed" => GateState::Ready("Completed".into()),
                "Aborted" => GateState::Failed("reconcile Aborted".into()),
                other => GateState::Waiting(format!("status {other}")),
            }
        }
    }
}

fn deployment(o: &Value) -> GateState {
    let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
    let st = &o["status"];
    let ready = int(&st["readyReplicas"]);
    let updated = int(&st["updatedReplicas"]);
    if condition(o, "Progressing").is_some_and(|c| c["reason"] == "ProgressDeadlineExceeded") {
        return GateState::Failed(condition_message(o, "Progressing"));
    }
    if observed(o) && condition_true(o, "Available") && ready >= want && updated >= want {
        GateState::Ready(format!("{ready}/{want} ready, Available"))
    } else {
        GateState::Waiting(format!(
            "{ready}/{want} ready, {updated} updated; {}",
            condition_message(o, "Available")
        ))
    }
}

fn statefulset(o: &Value, pods: &[Value]) -> GateState {
    let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
    let st = &o["status"];
    let ready = int(&st["readyReplicas"]);
    let updated = if st["updatedReplicas"].is_null() {
        ready
    } else {
        int(&st["updatedReplicas"])
    };
    let rolled = st["updateRevision"].is_null() || st["currentRevision"] == st["updateRevision"];
    if !(observed(o) && ready >= want && updated >= want && rolled) {
        let quorum = if ready > want / 2 {
            "majority up"
        } else {
            "no majority"
        };
        return GateState::Waiting(format!(
            "{ready}/{want} ready ({quorum}), {updated} updated{}",
            if rolled { "" } else { ", rollout in progress" }
        ));
    }
    // OT-Container-Kit labels Redis pods with their replication role: the set is healthy only
    // with exactly one master.
    let roles: Vec<&str> = pods.iter().filter_map(|p| label(p, "redis-role")).collect();
    if !roles.is_empty() {
        let masters = roles.iter().filter(|r| **r == "master").count();
        if masters != 1 {
            return GateState::Waiting(format!(
                "{ready}/{want} ready but {masters} Redis masters (want exactly 1)"
            ));
        }
        return GateState::Ready(format!("{ready}/{want} ready, 1 master"));
    }
    GateState::Ready(format!("{ready}/{want} ready, rolled out"))
}

fn job(o: &Value) -> GateState {
    if condition_true(o, "Complete") {
        GateState::Ready("Complete".into())
    } else if condition_true(o, "Failed") {
        GateState::Failed(condition_message(o, "Failed"))
    } else {
        GateState::Waiting(format!(
            "{} active, {} failed attempts",
            int(&o["status"]["active"]),
            int(&o["status"]["failed"])
        ))
    }
}

fn postgres(o: &Value, pods: &[Value]) -> GateState {
    let want: i64 = o["spec"]["instances"]
        .as_array()
        .map(|a| a.iter().map(|i| i["replicas"].as_i64().unwrap_or(1)).sum())
        .unwrap_or(1);
    let ready: i64 = o["status"]["instances"]
        .as_array()
        .map(|a| a.iter().map(|i| int(&i["readyReplicas"])).sum())
        .unwrap_or(0);
    // PGO mirrors Patroni's role into a pod label; the leader is the `master` pod.
    let leaders: Vec<&str> = pods
        .iter()
        .filter(|p| label(p, "postgres-operator.crunchydata.com/role") == Some("master"))
        .map(|p| p["metadata"]["name"].as_str().unwrap_or("?"))
        .collect();
    if ready < want {
        return GateState::Waiting(format!("{ready}/{want} instances ready"));
    }
    match leaders.as_slice() {
        [one] => GateState::Ready(format!("{ready}/{want} instances ready, leader {one}")),
        [] => GateState::Waiting(format!(
            "{ready}/{want} instances ready, no Patroni leader yet"
        )),
        many => GateState::Waiting(format!(
            "{} pods claim the leader role: {}",
            many.len(),
            many.join(", ")
        )),
    }
}

fn tenant(o: &Value) -> GateState {
    let state = o["status"]["currentState"].as_str().unwrap_or("unknown");
    let health = o["status"]["healthStatus"].as_str().unwrap_or("unknown");
    if state == "Initialized" && health == "green" {
        GateState::Ready("Initialized, health green".into())
    } else {
        GateState::Waiting(format!("state {state}, health {health}"))
    }
}

/// An OLM ClusterServiceVersion: `Succeeded` is installed; `Failed` will not heal by waiting.
pub fn csv(o: &Value) -> GateState {
    let phase = o["status"]["phase"].as_str().unwrap_or("Pending");
    let msg = o["status"]["message"].as_str().unwrap_or_default();
    match phase {
        "Succeeded" => GateState::Ready("Succeeded".into()),
        "Failed" => GateState::Failed(format!("Failed: {msg}")),
        other => GateState::Waiting(format!("{other} {msg}").trim().to_string()),
    }
}

pub fn crd_established(o: &Value) -> GateState {
    if condition_true(o, "Established") {
        GateState::Ready("Established".into())
    } else {
        GateState::Waiting(condition_message(o, "Established"))
    }
}

/// The CSV a Subscription installed, or why there is none yet.
pub fn subscription_csv(sub: &Value) -> Result<String, String> {
    let st = &sub["status"];
    if let Some(csv) = st["installedCSV"].as_str() {
        return Ok(csv.to_string());
    }
    if st["state"] == "UpgradePending"
        && let Some(ip) = st["installPlanRef"]["name"].as_str()
    {
        return Err(format!(
            "install plan {ip} awaits approval (installPlanApproval Manual)"
        ));
    }
    if let Some(c) = st["conditions"].as_array().and_then(|cs| {
        cs.iter()
            .find(|c| c["type"] == "ResolutionFailed" && c["status"] == "True")
    }) {
        return Err(format!(
            "OLM cannot resolve the package: {}",
            c["message"].as_str().unwrap_or_default()
        ));
    }
    Err(match st["state"].as_str() {
        Some(s) => format!("subscription state {s}, no installed CSV yet"),
        None => "OLM has not picked the subscription up yet".into(),
    })
}

/// The role map `status` shows, where object status or pod labels reveal it.
pub fn roles(kind: GateKind, obj: Option<&Value>, pods: &[Value]) -> String {
    let names = |f: &dyn Fn(&Value) -> bool| -> Vec<String> {
        pods.iter()
            .filter(|p| f(p))
            .map(|p| p["metadata"]["name"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    match kind {
        GateKind::PostgresCluster => {
            let role =
                |p: &Value| label(p, "postgres-operator.crunchydata.com/role").map(str::to_string);
            let leader = names(&|p| role(p).as_deref() == Some("master"));
            let replicas = names(&|p| role(p).as_deref() == Some("replica"));
            format!(
                "leader {}; replicas {}",
                or_none(&leader),
                or_none(&replicas)
            )
        }
        GateKind::StatefulSet if pods.iter().any(|p| label(p, "redis-role").is_some()) => {
            let m = names(&|p| label(p, "redis-role") == Some("master"));
            format!("master {}", or_none(&m))
        }
        GateKind::Kafka => obj
            .and_then(|o| o["status"]["kafkaMetadataState"].as_str())
            .map(|s| format!("metadata {s}; controller not in status"))
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn or_none(v: &[String]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(",")
    }
}

/// Desired and ready member counts of a gate's object, for `status`.
pub fn counts(kind: GateKind, obj: &Value) -> (i64, i64) {
    let st = &obj["status"];
    match kind {
        GateKind::Deployment | GateKind::StatefulSet => (
            obj["spec"]["replicas"].as_i64().unwrap_or(1),
            int(&st["readyReplicas"]),
        ),
        GateKind::PostgresCluster => (
            obj["spec"]["instances"]
                .as_array()
                .map(|a| a.iter().map(|i| i["replicas"].as_i64().unwrap_or(1)).sum())
                .unwrap_or(1),
            st["instances"]
                .as_array()
                .map(|a| a.iter().map(|i| int(&i["readyReplicas"])).sum())
                .unwrap_or(0),
        ),
        GateKind::Tenant => (
            obj["spec"]["pools"]
                .as_array()
                .map(|a| a.iter().map(|p| int(&p["servers"])).sum())
                .unwrap_or(0),
            int(&st["availableReplicas"]),
        ),
        GateKind::Job => (1, i64::from(condition_true(obj, "Complete"))),
        _ => (1, i64::from(evaluate_kind_ready(kind, obj))),
    }
}

fn evaluate_kind_ready(kind: GateKind, obj: &Value) -> bool {
    evaluate(&Gate::new(kind, "", ""), Some(obj), &[]).is_ready()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::time::Duration;

    fn gate(kind: GateKind) -> Gate {
        let mut g = Gate::new(kind, "ns", "x");
        g.timeout = Duration::from_secs(1);
        g
    }

    #[test]
    fn readiness_from_a_stand_in_is_named() {
        let by = |manager: &str, sub: &str| {
            json!({"metadata": {"managedFields": [
                {"manager": "datalyptica", "operation": "Apply"},
                {"manager": manager, "operation": "Update", "subresource": sub}]}})
        };
        let pg = by("sandbox-operator-standin", "status");
        assert!(passed_detail("3/3".into(), Some(&pg)).contains("`sandbox-operator-standin`"));
        // A real controller's status, or a stand-in writing something other than status.
        for o in [
            by("kube-controller-manager", "status"),
            by("sandbox-operator-standin", ""),
        ] {
            assert_eq!(stand_in(&o), None, "{o}");
        }
        let sts =
            json!({"metadata": {"annotations": {"datalyptica.io/sandbox-stand-in": "operator"}}});
        assert_eq!(
            stand_in(&sts).as_deref(),
            Some("made by the sandbox operator stand-in, not by a real operator")
        );
        assert_eq!(passed_detail("ok".into(), None), "ok");
    }

    fn pod(name: &str, labels: Value) -> Value {
        json!({"metadata": {"name": name, "labels": labels}, "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    }

    #[test]
    fn postgres_needs_all_instances_and_one_leader() {
        let o = json!({"spec": {"instances": [{"name": "pg", "replicas": 3}]},
            "status": {"instances": [{"name": "pg", "readyReplicas": 3}]}});
        let g = gate(GateKind::PostgresCluster);
        assert!(
            matches!(evaluate(&g, Some(&o), &[]), GateState::Waiting(s) if s.contains("no Patroni leader"))
        );
        let pods = [
            pod(
                "pg-0",
                json!({"postgres-operator.crunchydata.com/role": "master"}),
            ),
            pod(
                "pg-1",
                json!({"postgres-operator.crunchydata.com/role": "replica"}),
            ),
        ];
        assert_eq!(
            evaluate(&g, Some(&o), &pods),
            GateState::Ready("3/3 instances ready, leader pg-0".into())
        );
        assert_eq!(
            roles(GateKind::PostgresCluster, Some(&o), &pods),
            "leader pg-0; replicas pg-1"
        );
        let short = json!({"spec": {"instances": [{"replicas": 3}]}, "status": {"instances": [{"readyReplicas": 2}]}});
        assert!(
            matches!(evaluate(&g, Some(&short), &pods), GateState::Waiting(s) if s == "2/3 instances ready")
        );
    }

    #[test]
    fn statefulset_rollout_quorum_and_redis_master() {
        let g = gate(GateKind::StatefulSet);
        let partial =
            json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3}});
        assert!(
            matches!(evaluate(&g, Some(&partial), &[]), GateState::Waiting(s) if s.contains("majority up"))
        );
        let rolling = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 3, "updatedReplicas": 3, "currentRevision": "a", "updateRevision": "b"}});
        assert!(
            matches!(evaluate(&g, Some(&rolling), &[]), GateState::Waiting(s) if s.contains("rollout"))
        );
        let done = json!({"spec": {"replicas": 3}, "status": {"readyReplicas": 3, "updatedReplicas": 3, "currentRevision": "b", "updateRevision": "b"}});
        assert!(evaluate(&g, Some(&done), &[]).is_ready());
        let two_masters = [
            pod("r-0", json!({"redis-role": "master"})),
            pod("r-1", json!({"redis-role": "master"})),
        ];
        assert!(
            matches!(evaluate(&g, Some(&done), &two_masters), GateState::Waiting(s) if s.contains("2 Redis masters"))
        );
    }

    #[test]
    fn operator_kinds() {
        let k = json!({"status": {"conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(evaluate(&gate(GateKind::Kafka), Some(&k), &[]).is_ready());
        let k2 = json!({"status": {"conditions": [{"type": "NotReady", "status": "True", "message": "pods pending"}]}});
        assert!(!evaluate(&gate(GateKind::Kafka), Some(&k2), &[]).is_ready());
        let t = json!({"status": {"currentState": "Initialized", "healthStatus": "yellow"}});
        assert_eq!(
            evaluate(&gate(GateKind::Tenant), Some(&t), &[]),
            GateState::Waiting("state Initialized, health yellow".into())
        );
        let f = json!({"status": {"jobManagerDeploymentStatus": "READY"}});
        assert!(evaluate(&gate(GateKind::FlinkDeployment), Some(&f), &[]).is_ready());
        let j = json!({"status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}});
        assert!(matches!(
            evaluate(&gate(GateKind::Job), Some(&j), &[]),
            GateState::Failed(_)
        ));
        let d = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]}});
        assert!(evaluate(&gate(GateKind::Deployment), Some(&d), &[]).is_ready());
        let stale = json!({"metadata": {"generation": 3}, "spec": {"replicas": 2}, "status": {"observedGeneration": 2, "readyReplicas": 2, "updatedReplicas": 2, "conditions": [{"type": "Available", "status": "True"}]}});
        assert!(!evaluate(&gate(GateKind::Deployment), Some(&stale), &[]).is_ready());
        assert!(
            matches!(evaluate(&gate(GateKind::Deployment), None, &[]), GateState::Waiting(s) if s.contains("does not exist"))
        );
    }

    #[test]
    fn olm() {
        assert!(csv(&json!({"status": {"phase": "Succeeded"}})).is_ready());
        assert!(matches!(
            csv(&json!({"status": {"phase": "Failed", "message": "x"}})),
            GateState::Failed(_)
        ));
        assert!(
            crd_established(
                &json!({"status": {"conditions": [{"type": "Established", "status": "True"}]}})
            )
            .is_ready()
        );
        let pending = json!({"status": {"state": "UpgradePending", "installPlanRef": {"name": "install-abc"}}});
        assert!(subscription_csv(&pending).is_err_and(|e| e.contains("install-abc")));
        assert_eq!(
            subscription_csv(&json!({"status": {"installedCSV": "pgo.v5"}})),
            Ok("pgo.v5".to_string())
        );
    }
}
