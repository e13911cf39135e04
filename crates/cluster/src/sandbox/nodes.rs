//! The sandbox's Node objects (kwok plays their kubelets): N generated workers spread over
//! zones, or clones of a real cluster's nodes (`oc get nodes -o json`).

use serde_json::{Map, Value, json};

/// kwok manages nodes carrying this annotation (and, with `--manage-all-nodes`, every node).
const KWOK_ANNOTATION: &str = "kwok.x-k8s.io/node";

fn node(name: &str, labels: Value, taints: Value, capacity: Value, allocatable: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels, "annotations": {KWOK_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"}},
        "spec": {"taints": taints},
        "status": {"capacity": capacity, "allocatable": allocatable,
            "nodeInfo": {"architecture": "amd64", "operatingSystem": "linux", "kubeletVersion": "fake", "kubeProxyVersion": "fake",
                "containerRuntimeVersion": "", "kernelVersion": "", "osImage": "", "machineID": "", "systemUUID": "", "bootID": ""}}})
}

/// `n` workers `worker-<i>` in zones `zone-a`, `zone-b`, … (round robin), each with `cpu` and
/// `memory` allocatable and room for 250 pods.
pub fn workers(n: u32, zones: u32, cpu: &str, memory: &str) -> Vec<Value> {
    let zones = zones.max(1);
    (0..n)
        .map(|i| {
            let zone = format!("zone-{}", char::from(b'a' + (i % zones).min(25) as u8));
            let name = format!("worker-{i}");
            let res = json!({"cpu": cpu, "memory": memory, "pods": "250", "ephemeral-storage": "500Gi"});
            node(
                &name,
                json!({"kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/worker": "", "topology.kubernetes.io/zone": zone,
                    "topology.kubernetes.io/region": "sandbox", "type": "kwok"}),
                json!([]),
                res.clone(),
                res,
            )
        })
        .collect()
}

/// Clones of the nodes in `oc get nodes -o json` (a List): name, labels, taints, capacity and
/// allocatable. Err names the item that lacks what is needed.
pub fn cloned(list: &Value) -> Result<Vec<Value>, String> {
    let items = list["items"]
        .as_array()
        .ok_or("--nodes-from: expected `oc get nodes -o json` output (a List with items)")?;
    if items.is_empty() {
        return Err("--nodes-from: the list has no nodes".into());
    }
    items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let at = |f: &str| format!("--nodes-from: items[{i}].{f}");
            if n["kind"] != "Node" && !n["kind"].is_null() {
                return Err(format!("{} is {}, expected Node", at("kind"), n["kind"]));
            }
            let name = n["metadata"]["name"]
                .as_str()
                .ok_or_else(|| format!("{} is missing", at("metadata.name")))?;
            let cap = n["status"]["capacity"].clone();
            if !cap.is_object() {
                return Err(format!("{} is missing", at("status.capacity")));
            }
            let alloc = match &n["status"]["allocatable"] {
                Value::Object(m) => Value::Object(m.clone()),
                _ => cap.clone(),
            };
            let labels = match &n["metadata"]["labels"] {
                Value::Object(m) => Value::Object(m.clone()),
                _ => Value::Object(Map::new()),
            };
            // Taints a kubelet or the node controller sets (not-ready, unreachable…) say
            // nothing about the real cluster's layout.
            let taints: Vec<Value> = n["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|t| {
                    !t["key"]
                        .as_str()
                        .unwrap_or_default()
                        .starts_with("node.kubernetes.io/")
                })
                .map(|t| json!({"key": t["key"], "value": t["value"], "effect": t["effect"]}))
                .collect();
            Ok(node(name, labels, Value::Array(taints), cap, alloc))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_round_robin_over_zones() {
        let w = workers(10, 3, "16", "64Gi");
        let zones: Vec<&str> = w
            .iter()
            .map(|n| {
                n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap_or("")
            })
            .collect();
        assert_eq!(zones[..4], ["zone-a", "zone-b", "zone-c", "zone-a"]);
        assert_eq!(w[9]["status"]["allocatable"]["cpu"], "16");
        assert!(w[0]["metadata"]["labels"]["node-role.kubernetes.io/worker"] == "");
    }

    #[test]
    fn clones_keep_capacity_labels_and_layout_taints() {
        let list = json!({"kind": "List", "items": [{"kind": "Node", "metadata": {"name": "infra-1", "labels": {"node-role.kubernetes.io/infra": ""}},
            "spec": {"taints": [{"key": "node-role.kubernetes.io/infra", "effect": "NoSchedule"}, {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]},
            "status": {"capacity": {"cpu": "8", "memory": "32Gi"}, "allocatable": {"cpu": "7500m", "memory": "30Gi"}}}]});
        let n = cloned(&list).expect("clone");
        assert_eq!(n[0]["status"]["allocatable"]["cpu"], "7500m");
        assert_eq!(n[0]["spec"]["taints"].as_array().map(Vec::len), Some(1));
        let bad = json!({"items": [{"metadata": {"name": "x"}}]});
        let e = cloned(&bad).expect_err("no capacity");
        assert!(e.contains("items[0].status.capacity"), "{e}");
    }
}
