//! Strimzi `kafka.strimzi.io/v1` (KRaft only): Kafka, KafkaNodePool, KafkaTopic, and the
//! KafkaMirrorMaker2 and KafkaUser of the DR replication.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, PodSecurityContext, ResourceRequirements, SecurityContext, TopologySpreadConstraint,
};
use serde::Serialize;
use serde_json::Value;

pub const KAFKA: (&str, &str) = ("kafka.strimzi.io/v1", "Kafka");
pub const NODE_POOL: (&str, &str) = ("kafka.strimzi.io/v1", "KafkaNodePool");
pub const TOPIC: (&str, &str) = ("kafka.strimzi.io/v1", "KafkaTopic");
pub const MIRROR_MAKER2: (&str, &str) = ("kafka.strimzi.io/v1", "KafkaMirrorMaker2");
pub const USER: (&str, &str) = ("kafka.strimzi.io/v1", "KafkaUser");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaSpec {
    pub kafka: KafkaClusterSpec,
    pub entity_operator: EntityOperator,
    pub cruise_control: CruiseControl,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaClusterSpec {
    pub version: String,
    pub image: String,
    pub listeners: Vec<Listener>,
    /// Broker properties; values are strings or numbers as Kafka reads them.
    pub config: BTreeMap<String, Value>,
    pub rack: Rack,
    pub liveness_probe: StrimziProbe,
    pub readiness_probe: StrimziProbe,
    pub template: KafkaTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listener {
    pub name: &'static str,
    pub port: u16,
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub tls: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<ListenerAuth>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ListenerAuth {
    #[serde(rename = "type")]
    pub type_: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rack {
    pub topology_key: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StrimziProbe {
    pub initial_delay_seconds: u32,
    pub timeout_seconds: u32,
    pub period_seconds: u32,
    pub failure_threshold: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaTemplate {
    pub pod_disruption_budget: Pdb,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pdb {
    pub max_unavailable: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub security_context: PodSecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerTemplate {
    pub security_context: SecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityOperator {
    pub topic_operator: Operand,
    pub user_operator: Operand,
    pub template: EntityOperatorTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Operand {
    pub resources: ResourceRequirements,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntityOperatorTemplate {
    pub pod: SimplePodTemplate,
    pub topic_operator_container: ContainerTemplate,
    pub user_operator_container: ContainerTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SimplePodTemplate {
    pub security_context: PodSecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControl {
    pub resources: ResourceRequirements,
    pub template: CruiseControlTemplate,
    /// Rebalance on scaling: the operator runs a KafkaRebalance (default Cruise Control goals,
    /// no template) after brokers are added and before brokers are removed.
    pub auto_rebalance: Vec<AutoRebalance>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoRebalance {
    /// `add-brokers` or `remove-brokers`.
    pub mode: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CruiseControlTemplate {
    pub pod: SimplePodTemplate,
    pub cruise_control_container: ContainerTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolSpec {
    pub replicas: u32,
    pub roles: Vec<&'static str>,
    pub storage: Storage,
    pub resources: ResourceRequirements,
    pub template: NodePoolTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Storage {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub size: String,
    pub class: String,
    pub delete_claim: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodePoolTemplate {
    pub pod: PodTemplate,
    pub kafka_container: ContainerTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    pub partitions: u32,
    pub replicas: u32,
    pub config: BTreeMap<String, Value>,
}

/// `kafka.strimzi.io/v1` KafkaMirrorMaker2: only the fields we set. In v1 the Connect cluster
/// is `target` (with its internal topics and group) and sources are `mirrors[].source`.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MirrorMaker2Spec {
    pub replicas: u32,
    pub target: Mm2Cluster,
    pub mirrors: Vec<Mm2Mirror>,
    pub resources: k8s_openapi::api::core::v1::ResourceRequirements,
    pub template: Mm2Template,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Cluster {
    pub alias: String,
    pub bootstrap_servers: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config_storage_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_storage_topic: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset_storage_topic: Option<String>,
    pub tls: Mm2Tls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authentication: Option<Mm2Auth>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub config: BTreeMap<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Tls {
    pub trusted_certificates: Vec<TrustedCertificate>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrustedCertificate {
    pub secret_name: String,
    pub certificate: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Auth {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub certificate_and_key: CertificateAndKey,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CertificateAndKey {
    pub secret_name: String,
    pub certificate: &'static str,
    pub key: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Mirror {
    pub source: Mm2Cluster,
    pub source_connector: Mm2Connector,
    pub checkpoint_connector: Mm2Connector,
    pub topics_pattern: String,
    pub groups_pattern: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Connector {
    pub tasks_max: u32,
    pub config: BTreeMap<String, Value>,
    pub auto_restart: AutoRestart,
}

#[derive(Debug, Clone, Serialize)]
pub struct AutoRestart {
    pub enabled: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Template {
    pub pod: Mm2PodTemplate,
    pub connect_container: Mm2Container,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2PodTemplate {
    pub security_context: k8s_openapi::api::core::v1::PodSecurityContext,
    pub affinity: k8s_openapi::api::core::v1::Affinity,
    pub topology_spread_constraints: Vec<k8s_openapi::api::core::v1::TopologySpreadConstraint>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Mm2Container {
    pub security_context: k8s_openapi::api::core::v1::SecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KafkaUserSpec {
    pub authentication: KafkaUserAuth,
}

#[derive(Debug, Clone, Serialize)]
pub struct KafkaUserAuth {
    #[serde(rename = "type")]
    pub type_: &'static str,
}
