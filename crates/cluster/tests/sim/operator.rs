//! The scripted "operators" of the simulation: OLM installing CSVs and CRDs for Subscriptions,
//! and controllers that make workloads and custom resources ready after a few ticks. Kinds in
//! `broken` never become ready; their pods stay Pending with an anti-affinity scheduling error.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{Script, State, package_crds};

#[derive(Debug, Default)]
pub struct Behaviour {
    /// Ticks an object exists before its controller reports it ready.
    pub delay: u64,
    /// Single-object GETs (deploy's pre-apply read, then gate polls) before a gated object turns
    /// ready: 3 guarantees the first gate poll sees it waiting.
    pub reads: u64,
    pub broken: BTreeSet<&'static str>,
}

fn name(o: &Value) -> String {
    o["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}
fn ns(o: &Value) -> String {
    o["metadata"]["namespace"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn pod(namespace: &str, name: &str, labels: Value, ready: bool) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "main"}]},
        "status": {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": if ready { "True" } else { "False" }}],
            "containerStatuses": [{"name": "main", "ready": ready, "state": {"running": {}}}]}})
}

fn pending_pod(namespace: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "main"}]},
        "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."}]}})
}

fn ensure(s: &mut State, o: Value) {
    let av = o["apiVersion"].as_str().unwrap_or_default().to_string();
    let kind = o["kind"].as_str().unwrap_or_default().to_string();
    if s.get(&av, &kind, &ns(&o), &name(&o)).is_none() {
        s.put(o);
    }
}

fn ready_after(s: &mut State, o: &Value, delay: (u64, u64)) -> bool {
    let (delay, reads) = delay;
    let Some(r) = super::res_of_kind(
        o["apiVersion"].as_str().unwrap_or(""),
        o["kind"].as_str().unwrap_or(""),
    ) else {
        return false;
    };
    let k = State::key(r, &ns(o), &name(o));
    let tick = s.tick;
    let first = *s.seen.entry(k.clone()).or_insert(tick);
    tick >= first + delay && s.reads.get(&k).copied().unwrap_or(0) >= reads
}

fn sts(namespace: &str, name: &str, replicas: u64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": name, "namespace": namespace},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}}, "template": {"metadata": {"labels": {"app": name}}}}})
}

pub fn script(b: Arc<Mutex<Behaviour>>) -> Script {
    Arc::new(move |s: &mut State| {
        let Ok(b) = b.lock() else { return };
        if s.tick == 1 {
            for (i, zone) in ["a", "b", "c"].iter().enumerate() {
                s.put(json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("worker-{i}"),
                    "labels": {"node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": format!("zone-{zone}")}},
                    "status": {"allocatable": {"cpu": "16", "memory": "64Gi"}, "conditions": [{"type": "Ready", "status": "True"}]}}));
            }
        }
        olm(s);
        let delay = (b.delay, b.reads);
        for o in s.list("apps/v1", "Deployment") {
            if ready_after(s, &o, delay) {
                let n = o["spec"]["replicas"].as_i64().unwrap_or(1);
                let st = json!({"observedGeneration": o["metadata"]["generation"], "replicas": n, "readyReplicas": n, "updatedReplicas": n, "availableReplicas": n,
                    "conditions": [{"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"}]});
                s.set_status("apps/v1", "Deployment", &ns(&o), &name(&o), st);
            }
        }
        for o in s.list("apps/v1", "StatefulSet") {
            let n = o["spec"]["replicas"].as_i64().unwrap_or(1);
            let app = o["spec"]["selector"]["matchLabels"].clone();
            for i in 0..n {
                let mut labels = app.clone();
                if name(&o) == "redis" {
                    labels["redis-role"] = json!(if i == 0 { "master" } else { "slave" });
                }
                ensure(s, pod(&ns(&o), &format!("{}-{i}", name(&o)), labels, true));
                ensure(
                    s,
                    json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": format!("data-{}-{i}", name(&o)), "namespace": ns(&o)},
                    "spec": {"accessModes": ["ReadWriteOnce"]}, "status": {"phase": "Bound"}}),
                );
            }
            if ready_after(s, &o, delay) {
                let st = json!({"observedGeneration": o["metadata"]["generation"], "replicas": n, "readyReplicas": n, "updatedReplicas": n, "currentRevision": "r1", "updateRevision": "r1"});
                s.set_status("apps/v1", "StatefulSet", &ns(&o), &name(&o), st);
            }
        }
        for o in s.list("batch/v1", "Job") {
            if ready_after(s, &o, delay) {
                s.set_status(
                    "batch/v1",
                    "Job",
                    &ns(&o),
                    &name(&o),
                    json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}),
                );
            }
        }
        let pgo = "postgres-operator.crunchydata.com/v1beta1";
        for o in s.list(pgo, "PostgresCluster") {
            let (namespace, cluster) = (ns(&o), name(&o));
            let sets: Vec<(String, i64)> = o["spec"]["instances"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|i| {
                    (
                        i["name"].as_str().unwrap_or("pg").to_string(),
                        i["replicas"].as_i64().unwrap_or(1),
                    )
                })
                .collect();
            if !ready_after(s, &o, delay) {
                continue;
            }
            let mut first = true;
            for (set, n) in &sets {
                for i in 0..*n {
                    let role = if first { "master" } else { "replica" };
                    first = false;
                    ensure(
                        s,
                        pod(
                            &namespace,
                            &format!("{cluster}-{set}-{i}"),
                            json!({"postgres-operator.crunchydata.com/cluster": cluster, "postgres-operator.crunchydata.com/role": role}),
                            true,
                        ),
                    );
                }
            }
            // PGO's root CA, one per namespace with clusters (what consumers verify against).
            ensure(
                s,
                json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pgo-root-cacert", "namespace": namespace},
                "data": {"root.crt": "c2ltLWNh", "root.key": "c2ltLWtleQ=="}}),
            );
            for u in o["spec"]["users"].as_array().into_iter().flatten() {
                let user = u["name"].as_str().unwrap_or("x");
                ensure(
                    s,
                    json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{cluster}-pguser-{user}"), "namespace": namespace},
                    "data": {"user": "c2lt", "password": "c2ltLXBhc3N3b3Jk", "uri": "cG9zdGdyZXNxbDovL3NpbQ=="}}),
                );
            }
            let st: Vec<Value> = sets.iter().map(|(set, n)| json!({"name": set, "replicas": n, "readyReplicas": n, "updatedReplicas": n})).collect();
            s.set_status(
                pgo,
                "PostgresCluster",
                &namespace,
                &cluster,
                json!({"instances": st}),
            );
        }
        let redis = "redis.redis.opstreelabs.in/v1beta2";
        for o in s.list(redis, "RedisReplication") {
            ensure(
                s,
                sts(
                    &ns(&o),
                    &name(&o),
                    o["spec"]["clusterSize"].as_u64().unwrap_or(3),
                ),
            );
        }
        for o in s.list(redis, "RedisSentinel") {
            // OT-Container-Kit names the Sentinel StatefulSet `<name>-sentinel`.
            ensure(
                s,
                sts(
                    &ns(&o),
                    &format!("{}-sentinel", name(&o)),
                    o["spec"]["clusterSize"].as_u64().unwrap_or(3),
                ),
            );
        }
        for o in s.list("minio.min.io/v2", "Tenant") {
            if ready_after(s, &o, delay) {
                s.set_status("minio.min.io/v2", "Tenant", &ns(&o), &name(&o), json!({"currentState": "Initialized", "healthStatus": "green", "availableReplicas": 4}));
            }
        }
        for o in s.list("kafka.strimzi.io/v1", "Kafka") {
            let (namespace, cluster) = (ns(&o), name(&o));
            if b.broken.contains("Kafka") {
                ensure(
                    s,
                    pending_pod(
                        &namespace,
                        &format!("{cluster}-broker-2"),
                        json!({"strimzi.io/cluster": cluster}),
                    ),
                );
                ensure(
                    s,
                    json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": format!("{cluster}-broker-2.1"), "namespace": namespace},
                    "type": "Warning", "reason": "FailedScheduling", "lastTimestamp": "2026-01-01T00:00:00Z",
                    "message": "0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.",
                    "involvedObject": {"kind": "Pod", "name": format!("{cluster}-broker-2"), "namespace": namespace}}),
                );
                s.set_status("kafka.strimzi.io/v1", "Kafka", &namespace, &cluster, json!({"conditions": [{"type": "NotReady", "status": "True", "reason": "Creating", "message": "Pods are not ready: broker-2 Pending"}]}));
            } else if ready_after(s, &o, delay) {
                s.objects
                    .retain(|k, v| !(k.0 == "v1/pods" && v["status"]["phase"] == "Pending"));
                s.set_status("kafka.strimzi.io/v1", "Kafka", &namespace, &cluster, json!({"observedGeneration": o["metadata"]["generation"], "kafkaMetadataState": "KRaft", "conditions": [{"type": "Ready", "status": "True"}]}));
            }
        }
        for o in s.list("flink.apache.org/v1beta1", "FlinkDeployment") {
            if ready_after(s, &o, delay) {
                s.set_status(
                    "flink.apache.org/v1beta1",
                    "FlinkDeployment",
                    &ns(&o),
                    &name(&o),
                    json!({"jobManagerDeploymentStatus": "READY"}),
                );
            }
        }
        for (av, kind) in [
            ("clickhouse.altinity.com/v1", "ClickHouseInstallation"),
            (
                "clickhouse-keeper.altinity.com/v1",
                "ClickHouseKeeperInstallation",
            ),
        ] {
            for o in s.list(av, kind) {
                if ready_after(s, &o, delay) {
                    s.set_status(av, kind, &ns(&o), &name(&o), json!({"status": "Completed"}));
                }
            }
        }
    })
}

/// OLM: a Subscription gets its CSV (Succeeded) and the package's CRDs (Established).
fn olm(s: &mut State) {
    for sub in s.list("operators.coreos.com/v1alpha1", "Subscription") {
        if !sub["status"]["installedCSV"].is_null() {
            continue;
        }
        let pkg = sub["spec"]["name"].as_str().unwrap_or_default().to_string();
        let csv = format!("{pkg}.v1.0.0");
        let crds = package_crds(&pkg);
        let owned: Vec<Value> = crds.iter().map(|r| json!({"name": format!("{}.{}", r.plural, r.group), "kind": r.kind, "version": r.version})).collect();
        for r in &crds {
            ensure(
                s,
                json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": format!("{}.{}", r.plural, r.group)},
                "spec": {"group": r.group, "names": {"kind": r.kind, "plural": r.plural}}, "status": {"conditions": [{"type": "Established", "status": "True"}]}}),
            );
        }
        ensure(
            s,
            json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion", "metadata": {"name": csv, "namespace": ns(&sub)},
            "spec": {"customresourcedefinitions": {"owned": owned}}, "status": {"phase": "Succeeded"}}),
        );
        s.set_status(
            "operators.coreos.com/v1alpha1",
            "Subscription",
            &ns(&sub),
            &name(&sub),
            json!({"state": "AtLatestKnown", "installedCSV": csv, "currentCSV": csv}),
        );
    }
}
