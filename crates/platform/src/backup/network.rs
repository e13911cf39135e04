//! Egress of the backup pods to the DR sites, and MirrorMaker 2's REST port.

use serde_json::{Value, json};

use super::{kafka_target, minio_job_enabled, mirror_maker_enabled, pod_group, replication_target};
use crate::component::ComponentId;
use crate::model::Model;
use crate::security::{self, PodGroup, Rules, network_policy};

/// Host ports of a `host:port,host:port` list (TLS listener default 9093).
fn bootstrap_ports(servers: &str) -> Vec<u16> {
    let mut v: Vec<u16> = servers
        .split(',')
        .filter_map(|s| s.trim().rsplit_once(':').and_then(|(_, p)| p.parse().ok()))
        .collect();
    if v.is_empty() {
        v.push(9093);
    }
    v.sort();
    v.dedup();
    v
}

/// Egress to the DR sites (outside the cluster: a hostname cannot be expressed in a policy,
/// so the rule is the port to any address, from the replicating pods only).
pub fn network_policies(m: &Model) -> Vec<Value> {
    let mut out = Vec::new();
    let mut push = |id: ComponentId, name: &str, selector: Value, ports: Vec<u16>| {
        let to = json!({"to": security::outside_cluster(m), "ports": security::tcp(&ports)});
        let ns = &m.get(id).namespace;
        out.push(network_policy(
            m,
            ns,
            name,
            &selector,
            Rules::Egress(vec![to]),
        ));
    };
    if minio_job_enabled(m)
        && let Some(t) = replication_target(m)
    {
        let port = security::url_port(&t.endpoint).unwrap_or(443);
        // MinIO servers replicate; the Job configures the remote bucket.
        for g in security::exposure(m, ComponentId::Minio).groups {
            push(
                ComponentId::Minio,
                &format!("{}-to-dr-site", g.name),
                g.selector,
                vec![port],
            );
        }
    }
    if mirror_maker_enabled(m)
        && let (Some(t), Some(g)) = (kafka_target(m), pod_group(m, ComponentId::Kafka))
    {
        push(
            ComponentId::Kafka,
            &format!("{}-to-dr-cluster", g.name),
            g.selector.clone(),
            bootstrap_ports(&t.bootstrap_servers),
        );
        out.extend(mirror_maker_rest(m, &g));
    }
    out
}

/// Kafka Connect's REST port (8083): between MirrorMaker 2 workers, and from the Strimzi
/// cluster operator, which manages the connectors through it.
fn mirror_maker_rest(m: &Model, g: &PodGroup) -> Vec<Value> {
    const REST: u16 = 8083;
    let ns = &m.get(ComponentId::Kafka).namespace;
    let ports = security::tcp(&[REST]);
    let workers =
        json!({"namespaceSelector": security::namespace_selector(ns), "podSelector": g.selector});
    let ops = &m.operators_namespace;
    let policy = |ns: &str, name: String, selector: &Value, rules: Rules| {
        network_policy(m, ns, &name, selector, rules)
    };

    let mut out = vec![
        policy(
            ns,
            format!("{}-from-peers", g.name),
            &g.selector,
            Rules::Ingress(vec![json!({"from": [workers.clone()], "ports": ports})]),
        ),
        policy(
            ns,
            format!("{}-to-peers", g.name),
            &g.selector,
            Rules::Egress(vec![json!({"to": [workers.clone()], "ports": ports})]),
        ),
        policy(
            ns,
            format!("{}-from-operator", g.name),
            &g.selector,
            Rules::Ingress(vec![
                json!({"from": [{"namespaceSelector": security::namespace_selector(ops)}], "ports": ports}),
            ]),
        ),
    ];
    if crate::prereqs::owned_namespaces(m).contains(ops) {
        out.push(policy(
            ops,
            "operators-to-kafka-mirror-maker".into(),
            &json!({}),
            Rules::Egress(vec![json!({"to": [workers], "ports": ports})]),
        ));
    }
    out
}
