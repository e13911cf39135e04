//! Kafka on Strimzi (KRaft only, `kafka.strimzi.io/v1`): a controller pool holding the metadata
//! quorum and a broker pool holding the data, so each can be sized and drained on its own.

mod backup;
mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::{
    Check, Component, ComponentId, Content, Dep, File, Gate, GateKind, Group, HealthCheck,
    OperatorDefaults, TlsHop,
};
use crate::components::spec_pointer;
use crate::crs::{Cr, strimzi as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resources, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const CLUSTER: &str = "kafka";
pub const CONTROLLERS: &str = "controllers";
pub const BROKERS: &str = "brokers";
pub const TOPIC_TEMPLATE: &str = "example-topic";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaConfig {
    /// KRaft controllers (default 3 in `ha`, 1 in `dev`). A majority quorum: odd and ≥ 3 in `ha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controllers: Option<u32>,
    /// Storage per controller (default 20Gi; the metadata log is small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controller_storage: Option<String>,
    /// `default.replication.factor` and the internal topics' factor (default 3 in `ha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_factor: Option<u32>,
    /// `min.insync.replicas` (default 2 in `ha`): with `acks=all` a write survives the loss of
    /// replication factor − min ISR brokers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_insync_replicas: Option<u32>,
    /// Partitions of the topic template (default 6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_partitions: Option<u32>,
}

/// The replication settings the cluster runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Replication {
    pub brokers: u32,
    pub controllers: u32,
    pub factor: u32,
    pub min_isr: u32,
}

pub fn replication(m: &Model) -> Replication {
    let c = &m.platform.spec.components.kafka.config;
    let ha = m.ha();
    Replication {
        brokers: m.get(ComponentId::Kafka).replicas,
        controllers: c.controllers.unwrap_or(if ha { 3 } else { 1 }),
        factor: c.replication_factor.unwrap_or(if ha { 3 } else { 1 }),
        min_isr: c.min_insync_replicas.unwrap_or(if ha { 2 } else { 1 }),
    }
}

/// In-cluster bootstrap address of the TLS listener.
pub fn bootstrap(m: &Model) -> String {
    format!(
        "{CLUSTER}-kafka-bootstrap.{}.svc:9093",
        m.get(ComponentId::Kafka).namespace
    )
}

pub struct Kafka;
pub static KAFKA: Kafka = Kafka;

fn small() -> Resources {
    Resources {
        cpu_request: "100m".into(),
        memory_request: "256Mi".into(),
        cpu_limit: "500m".into(),
        memory_limit: "512Mi".into(),
    }
}

impl Component for Kafka {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the image writes outside its volumes"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, m: &Model) -> crate::component::Backup {
        backup::backup(m)
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Kafka
    }
    fn summary(&self) -> &'static str {
        "Kafka on Strimzi (KRaft): 3 controllers and 3 brokers across zones, replication factor 3, min ISR 2, TLS"
    }
    fn phase(&self) -> u8 {
        4
    }
    fn dir(&self) -> &'static str {
        "06-kafka-ha"
    }
    fn group(&self) -> Group {
        Group::Streaming
    }
    fn deps(&self) -> &'static [Dep] {
        &[]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        Some(OperatorDefaults {
            display: "Strimzi",
            package: "strimzi-kafka-operator",
            channel: "strimzi-1.x",
            source: "community-operators",
            head: "1.2.0",
        })
    }
    fn min_ha_replicas(&self) -> u32 {
        3
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 0, 30);
        let image = "quay.io/strimzi/kafka:1.2.0-kafka-4.2.0";
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "100Gi",
                requests: ("1", "4Gi"),
                limits: ("2", "4Gi"),
                image,
                version: "4.2.0",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "10Gi",
                requests: ("250m", "1Gi"),
                limits: ("1", "1Gi"),
                image,
                version: "4.2.0",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "operator-install.yaml",
            "kafka-cluster.yaml",
            "kafka-topic-template.yaml",
        ]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = format!("{}/config", spec_pointer(self.id()));
        let r = replication(m);
        if m.ha() && (r.controllers < 3 || r.controllers.is_multiple_of(2)) {
            out.push(Issue::new(
                format!("{base}/controllers"),
                format!("{} KRaft controllers cannot keep a majority quorum through a failure (expected an odd count ≥ 3 in the ha profile)", r.controllers),
            ));
        } else if r.controllers == 0 {
            out.push(Issue::new(
                format!("{base}/controllers"),
                "0 KRaft controllers (expected ≥ 1)",
            ));
        }
        if let Some(q) = &m.platform.spec.components.kafka.config.controller_storage
            && let Err(e) = crate::units::parse_quantity(q)
        {
            out.push(Issue::new(format!("{base}/controllerStorage"), e));
        }
        // Strimzi 1.2 runs Kafka 4.2.0–4.3.x only (KRaft); an older version would never start.
        let version = &m.get(self.id()).version;
        if !(version.starts_with("4.2.") || version.starts_with("4.3.")) {
            out.push(Issue::new(
                format!("{}/version", spec_pointer(self.id())),
                format!(
                    "Kafka `{version}` is not supported by Strimzi 1.2 (expected 4.2.x or 4.3.x)"
                ),
            ));
        }
        if r.factor > r.brokers {
            out.push(Issue::new(
                format!("{base}/replicationFactor"),
                format!(
                    "replication factor {} exceeds the {} brokers (expected ≤ replicas)",
                    r.factor, r.brokers
                ),
            ));
        }
        if r.min_isr == 0 || (m.ha() && r.min_isr >= r.factor) {
            out.push(Issue::new(
                format!("{base}/minInsyncReplicas"),
                format!("min.insync.replicas {} with replication factor {} (expected 1 ≤ min ISR < replication factor, so acks=all writes survive a broker loss)", r.min_isr, r.factor),
            ));
        } else if r.min_isr > r.factor {
            out.push(Issue::new(
                format!("{base}/minInsyncReplicas"),
                format!(
                    "min.insync.replicas {} exceeds the replication factor {}",
                    r.min_isr, r.factor
                ),
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let rep = replication(m);
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            File {
                path: format!("{dir}/kafka-cluster.yaml"),
                content: Content::Objects {
                    header: format!(
                        "Kafka {} (KRaft): {} controllers, {} brokers, replication factor {}, min ISR {}, rack = zone.\nProducers must use acks=all. Bootstrap: {}",
                        r.version,
                        rep.controllers,
                        rep.brokers,
                        rep.factor,
                        rep.min_isr,
                        bootstrap(m)
                    ),
                    objects: vec![
                        k8s::to_value(&controller_pool(m)),
                        k8s::to_value(&broker_pool(m)),
                        cluster(m),
                    ],
                },
            },
            File {
                path: format!("{dir}/kafka-topic-template.yaml"),
                content: Content::Objects {
                    header: "Template for application topics: copy, rename, keep replicas and min.insync.replicas.".into(),
                    objects: vec![k8s::to_value(&topic_template(m))],
                },
            },
            docs::component_readme(m, self, &readme_body(m, rep)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::new(GateKind::Kafka, ns, CLUSTER)]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        // Every listener needs mutual TLS, so checks read the operator's view instead of
        // running Kafka CLI tools without a client certificate.
        vec![
            HealthCheck {
                what: "cluster Ready and KRaft metadata state".into(),
                check: Check::Oc(format!(
                    "oc get kafka/{CLUSTER} -n {ns} -o jsonpath='{{.status.conditions[?(@.type==\"Ready\")].status}} {{.status.kafkaMetadataState}}{{\"\\n\"}}'"
                )),
            },
            HealthCheck {
                what: "node pools at their replica counts, topics Ready".into(),
                check: Check::Oc(format!("oc get kafkanodepools,kafkatopics -n {ns}")),
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "9093 (clients), 9090/9091 (controllers, replication)",
                true,
                "Strimzi TLS listener with mutual TLS; internal listeners are always TLS",
            ),
            TlsHop::new(
                "8443 (Kafka agent: broker state)",
                true,
                "Strimzi's Kafka agent answers the Cluster Operator over HTTPS with the cluster CA",
            ),
            TlsHop::new(
                "9404 (metrics)",
                false,
                "plain HTTP JMX exporter, admitted only from the monitoring namespaces",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let rep = replication(m);
        vec![
            format!(
                "{} KRaft controllers tolerate {} failure(s); {} brokers on different nodes, racks = zones",
                rep.controllers,
                rep.controllers.saturating_sub(k8s::majority(rep.controllers)),
                rep.brokers
            ),
            format!(
                "replication factor {}, min.insync.replicas {}: with acks=all, {} broker(s) can be lost without losing or refusing acknowledged writes",
                rep.factor,
                rep.min_isr,
                rep.factor.saturating_sub(rep.min_isr)
            ),
            "unclean leader election is off: an out-of-sync replica never becomes leader (RPO 0 for acks=all)".into(),
            "one PodDisruptionBudget (maxUnavailable 1) over all Kafka pods; Cruise Control rebalances automatically when brokers are added (onto them) and before brokers are removed (off them): `cruiseControl.autoRebalance` with modes add-brokers and remove-brokers, default goals".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Failover, Recovery, Redundancy, Tier};
        use std::time::Duration;
        let rep = replication(m);
        let spare = rep.factor.saturating_sub(rep.min_isr);
        Redundancy {
            tiers: vec![
                Tier::quorum("controllers", rep.controllers).with_max_unavailable(1),
                Tier::new(
                    "brokers",
                    rep.brokers,
                    rep.brokers.saturating_sub(spare),
                    Recovery::NodeRepair,
                    format!(
                        "replication factor {}, min.insync.replicas {}: acks=all writes need {} in-sync replicas of every partition, so any {} broker loss(es) may stop one",
                        rep.factor,
                        rep.min_isr,
                        rep.min_isr,
                        spare + 1
                    ),
                )
                .with_failover(Failover {
                    // Every broker leads partitions of a topic spread over all of them.
                    active: rep.brokers,
                    unplanned: Duration::from_secs(9),
                    planned: Duration::from_secs(1),
                    source: "Kafka defaults: a lost broker's partitions get new leaders after broker.session.timeout.ms (9 s); a drained broker moves its leaders away first (controlled shutdown)".into(),
                })
                .with_max_unavailable(1),
            ],
            journey: None,
        }
    }
}

fn cfg<'a>(m: &'a Model) -> &'a KafkaConfig {
    &m.platform.spec.components.kafka.config
}

/// The labels Strimzi puts on the pods of node pool `pool`.
fn pool_selector(pool: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("strimzi.io/cluster".to_string(), CLUSTER.to_string()),
        ("strimzi.io/pool-name".to_string(), pool.to_string()),
    ])
}

/// Metadata of a Strimzi resource that belongs to the cluster (`strimzi.io/cluster`).
fn cluster_meta(m: &Model, name: &str) -> ObjectMeta {
    let mut md = k8s::meta(m, ComponentId::Kafka, name, CLUSTER);
    if let Some(l) = md.labels.as_mut() {
        l.insert("strimzi.io/cluster".into(), CLUSTER.into());
    }
    md
}

fn pod_template(pool: &str) -> cr::PodTemplate {
    cr::PodTemplate {
        affinity: k8s::anti_affinity(&pool_selector(pool)),
        topology_spread_constraints: k8s::zone_spread(&pool_selector(pool)),
        security_context: k8s::pod_security(),
    }
}

fn container_template() -> cr::ContainerTemplate {
    cr::ContainerTemplate {
        security_context: k8s::container_security(k8s::RootFs::ReadOnly),
    }
}

fn node_pool(
    m: &Model,
    name: &'static str,
    replicas: u32,
    role: &'static str,
    size: String,
    res: &Resources,
) -> Cr<cr::NodePoolSpec> {
    Cr {
        api_version: cr::NODE_POOL.0,
        kind: cr::NODE_POOL.1,
        metadata: cluster_meta(m, name),
        spec: cr::NodePoolSpec {
            replicas,
            roles: vec![role],
            storage: cr::Storage {
                type_: "persistent-claim",
                size,
                class: m.rwo_class.clone(),
                delete_claim: false,
            },
            resources: k8s::resources(res),
            template: cr::NodePoolTemplate {
                pod: pod_template(name),
                kafka_container: container_template(),
            },
        },
    }
}

fn controller_pool(m: &Model) -> Cr<cr::NodePoolSpec> {
    let storage = cfg(m)
        .controller_storage
        .clone()
        .unwrap_or_else(|| if m.ha() { "20Gi" } else { "5Gi" }.into());
    let res = Resources {
        cpu_request: "500m".into(),
        memory_request: "2Gi".into(),
        cpu_limit: "1".into(),
        memory_limit: "2Gi".into(),
    };
    node_pool(
        m,
        CONTROLLERS,
        replication(m).controllers,
        "controller",
        storage,
        &res,
    )
}

fn broker_pool(m: &Model) -> Cr<cr::NodePoolSpec> {
    let r = m.get(ComponentId::Kafka);
    node_pool(
        m,
        BROKERS,
        replication(m).brokers,
        "broker",
        r.storage.clone(),
        &r.resources,
    )
}

/// Broker properties: replication of data and internal topics.
fn broker_config(rep: Replication) -> BTreeMap<String, Value> {
    let mut config: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in [
        ("default.replication.factor", rep.factor),
        ("min.insync.replicas", rep.min_isr),
        ("offsets.topic.replication.factor", rep.factor),
        ("transaction.state.log.replication.factor", rep.factor),
        ("transaction.state.log.min.isr", rep.min_isr),
    ] {
        config.insert(k.into(), Value::from(v));
    }
    // An out-of-sync replica must never become leader: that would drop acknowledged writes.
    config.insert("unclean.leader.election.enable".into(), Value::Bool(false));
    config.insert("auto.create.topics.enable".into(), Value::Bool(false));
    config
}

fn probe(delay: u32) -> cr::StrimziProbe {
    cr::StrimziProbe {
        initial_delay_seconds: delay,
        timeout_seconds: 5,
        period_seconds: 10,
        failure_threshold: 3,
    }
}

fn cluster_spec(m: &Model) -> cr::KafkaClusterSpec {
    let r = m.get(ComponentId::Kafka);
    cr::KafkaClusterSpec {
        version: r.version.clone(),
        image: r.image.clone(),
        listeners: vec![cr::Listener {
            name: "tls",
            port: 9093,
            type_: "internal",
            tls: true,
            authentication: Some(cr::ListenerAuth { type_: "tls" }),
        }],
        config: broker_config(replication(m)),
        rack: cr::Rack {
            topology_key: k8s::ZONE_KEY,
        },
        liveness_probe: probe(15),
        readiness_probe: probe(15),
        // One budget over controllers and brokers: one pod at a time keeps both the
        // KRaft majority and min ISR.
        template: cr::KafkaTemplate {
            pod_disruption_budget: cr::Pdb { max_unavailable: 1 },
        },
    }
}

fn entity_operator() -> cr::EntityOperator {
    cr::EntityOperator {
        topic_operator: cr::Operand {
            resources: k8s::resources(&small()),
        },
        user_operator: cr::Operand {
            resources: k8s::resources(&small()),
        },
        template: cr::EntityOperatorTemplate {
            pod: cr::SimplePodTemplate {
                security_context: k8s::pod_security(),
            },
            topic_operator_container: container_template(),
            user_operator_container: container_template(),
        },
    }
}

fn cruise_control() -> cr::CruiseControl {
    cr::CruiseControl {
        resources: k8s::resources(&Resources {
            cpu_request: "250m".into(),
            memory_request: "512Mi".into(),
            cpu_limit: "1".into(),
            memory_limit: "1Gi".into(),
        }),
        template: cr::CruiseControlTemplate {
            pod: cr::SimplePodTemplate {
                security_context: k8s::pod_security(),
            },
            cruise_control_container: container_template(),
        },
        auto_rebalance: ["add-brokers", "remove-brokers"]
            .into_iter()
            .map(|mode| cr::AutoRebalance { mode })
            .collect(),
    }
}

/// The Kafka resource.
fn cluster(m: &Model) -> Value {
    let kafka = Cr {
        api_version: cr::KAFKA.0,
        kind: cr::KAFKA.1,
        metadata: k8s::meta(m, ComponentId::Kafka, CLUSTER, CLUSTER),
        spec: cr::KafkaSpec {
            kafka: cluster_spec(m),
            entity_operator: entity_operator(),
            cruise_control: cruise_control(),
        },
    };
    // Brokers and controllers serve Prometheus metrics on `tcp-prometheus` (9404) through
    // the Strimzi Metrics Reporter: no JMX-exporter rules ConfigMap to maintain.
    let mut v = k8s::to_value(&kafka);
    v["spec"]["kafka"]["metricsConfig"] = serde_json::json!({"type": "strimziMetricsReporter"});
    v
}

fn topic_template(m: &Model) -> Cr<cr::TopicSpec> {
    let rep = replication(m);
    Cr {
        api_version: cr::TOPIC.0,
        kind: cr::TOPIC.1,
        metadata: cluster_meta(m, TOPIC_TEMPLATE),
        spec: cr::TopicSpec {
            partitions: cfg(m).topic_partitions.unwrap_or(6),
            replicas: rep.factor,
            config: BTreeMap::from([
                ("min.insync.replicas".to_string(), Value::from(rep.min_isr)),
                ("retention.ms".to_string(), Value::from(604_800_000u64)),
            ]),
        },
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model, rep: Replication) -> String {
    template::fill(
        README,
        &[
            ("bootstrap", &bootstrap(m)),
            ("CLUSTER", &CLUSTER),
            ("min_isr", &rep.min_isr),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;

    fn pointers(p: &Platform) -> Vec<String> {
        validate(p).into_iter().map(|i| i.pointer).collect()
    }

    #[test]
    fn default_ha_renders_pools_and_cluster() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let files = KAFKA.render(&m);
        let cluster = files
            .iter()
            .find(|f| f.path.ends_with("kafka-cluster.yaml"))
            .map(|f| f.objects().to_vec())
            .unwrap_or_default();
        assert_eq!(cluster.len(), 3);
        assert_eq!(cluster[0]["spec"]["replicas"], 3);
        assert_eq!(cluster[1]["spec"]["roles"][0], "broker");
        let cfg = &cluster[2]["spec"]["kafka"]["config"];
        assert_eq!(cfg["min.insync.replicas"], 2);
        assert_eq!(cfg["default.replication.factor"], 3);
        assert_eq!(
            cluster[2]["spec"]["kafka"]["rack"]["topologyKey"],
            k8s::ZONE_KEY
        );
    }

    #[test]
    fn quorum_and_isr_are_checked() {
        let mut p = Platform::default_ha();
        p.spec.components.kafka.config.controllers = Some(2);
        p.spec.components.kafka.config.min_insync_replicas = Some(3);
        p.spec.components.kafka.config.replication_factor = Some(3);
        let ptrs = pointers(&p);
        assert!(ptrs.contains(&"/spec/components/kafka/config/controllers".to_string()));
        assert!(ptrs.contains(&"/spec/components/kafka/config/minInsyncReplicas".to_string()));
        let mut p = Platform::default_ha();
        p.spec.components.kafka.config.replication_factor = Some(4);
        p.spec.components.kafka.version = Some("3.9.0".into());
        assert!(pointers(&p).contains(&"/spec/components/kafka/version".to_string()));
        assert!(
            pointers(&p).contains(&"/spec/components/kafka/config/replicationFactor".to_string())
        );
    }
}
