//! Altinity clickhouse-operator: `ClickHouseInstallation` (clickhouse.altinity.com/v1) and
//! `ClickHouseKeeperInstallation` (clickhouse-keeper.altinity.com/v1). Pod and PVC templates are
//! free-form in the CRD; we type them with k8s-openapi's PodSpec and PVC spec.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{PersistentVolumeClaimSpec, PodSpec, ServiceSpec};
use serde::Serialize;

pub const CHI: (&str, &str) = ("clickhouse.altinity.com/v1", "ClickHouseInstallation");
pub const CHK: (&str, &str) = (
    "clickhouse-keeper.altinity.com/v1",
    "ClickHouseKeeperInstallation",
);

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstallationSpec {
    pub defaults: Defaults,
    pub configuration: Configuration,
    pub templates: Templates,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Defaults {
    pub templates: TemplateRefs,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRefs {
    pub pod_template: String,
    pub data_volume_claim_template: String,
    /// Template of the Service that covers the whole installation (its client entry point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_template: Option<String>,
    /// Template of every host (its ports), from `templates.hostTemplates`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_template: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Configuration {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zookeeper: Option<Zookeeper>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub settings: BTreeMap<String, serde_json::Value>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: BTreeMap<String, String>,
    pub clusters: Vec<Cluster>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Zookeeper {
    pub nodes: Vec<ZkNode>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ZkNode {
    pub host: String,
    pub port: u16,
    /// `"yes"`: connect with TLS (`<secure>1</secure>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub name: String,
    pub pdb_max_unavailable: u32,
    /// `"yes"`: the operator opens the TLS ports and uses them between replicas.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secure: Option<String>,
    /// `"no"`: the operator assigns no plain ports (and talks to the servers over HTTPS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub insecure: Option<String>,
    pub layout: Layout,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Layout {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards_count: Option<u32>,
    pub replicas_count: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Templates {
    pub pod_templates: Vec<PodTemplate>,
    pub volume_claim_templates: Vec<VolumeClaimTemplate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_templates: Vec<ServiceTemplate>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub host_templates: Vec<HostTemplate>,
}

/// A host template. The operator applies `spec`'s ports only through a port distribution
/// (`hostApplyHostTemplatePortDistribution` in `pkg/model/chk/normalizer/normalizer-host.go`):
/// `Unspecified` gives every host the same numbers.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostTemplate {
    pub name: String,
    pub port_distribution: Vec<PortDistribution>,
    pub spec: HostSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct PortDistribution {
    #[serde(rename = "type")]
    pub type_: &'static str,
}

/// Ports of a Keeper host. `raftPort` is what the operator writes into every member's
/// `raft_configuration` and declares as the container port `raft` (default 9444).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HostSpec {
    pub raft_port: u16,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    pub name: String,
    pub spec: PodSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeClaimTemplate {
    pub name: String,
    pub spec: PersistentVolumeClaimSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceTemplate {
    pub name: String,
    pub generate_name: String,
    pub metadata: ServiceTemplateMeta,
    pub spec: ServiceSpec,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceTemplateMeta {
    pub annotations: BTreeMap<String, String>,
}
