//! kubeflow spark-operator `sparkoperator.k8s.io/v1beta2` SparkApplication.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, Container, EnvVar, PodSecurityContext, SecurityContext, Volume, VolumeMount,
};
use serde::Serialize;

pub const SPARK_APPLICATION: (&str, &str) = ("sparkoperator.k8s.io/v1beta2", "SparkApplication");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SparkApplicationSpec {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub mode: &'static str,
    pub image: String,
    pub spark_version: String,
    pub main_class: String,
    pub main_application_file: String,
    pub spark_conf: BTreeMap<String, String>,
    pub restart_policy: RestartPolicy,
    pub driver: PodSpec,
    pub executor: PodSpec,
    /// Mounted by the operator's mutating webhook (`webhook.enable=true`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volumes: Vec<Volume>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RestartPolicy {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub on_failure_retries: u32,
    pub on_failure_retry_interval: u32,
    pub on_submission_failure_retries: u32,
    pub on_submission_failure_retry_interval: u32,
}

/// Driver and executor settings (the CRD's SparkPodSpec, only the fields we set).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instances: Option<u32>,
    pub cores: u32,
    pub core_request: String,
    pub core_limit: String,
    pub memory: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub env: Vec<EnvVar>,
    pub affinity: Affinity,
    pub pod_security_context: PodSecurityContext,
    pub security_context: SecurityContext,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub init_containers: Vec<Container>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub volume_mounts: Vec<VolumeMount>,
}
