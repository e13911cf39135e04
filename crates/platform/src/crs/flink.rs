//! Flink Kubernetes Operator `flink.apache.org/v1beta1` FlinkDeployment (session cluster).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::PodSpec;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

pub const FLINK_DEPLOYMENT: (&str, &str) = ("flink.apache.org/v1beta1", "FlinkDeployment");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlinkDeploymentSpec {
    pub image: String,
    pub flink_version: String,
    pub mode: &'static str,
    pub service_account: String,
    pub flink_configuration: BTreeMap<String, String>,
    pub pod_template: PodTemplate,
    pub job_manager: ManagerSpec,
    pub task_manager: ManagerSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ManagerSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    pub resource: FlinkResource,
    pub pod_template: PodTemplate,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FlinkResource {
    pub cpu: f64,
    pub memory: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodTemplate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ObjectMeta>,
    pub spec: PodSpec,
}
