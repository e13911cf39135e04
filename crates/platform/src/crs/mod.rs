//! Typed custom resources of the operators we drive. Only the fields we set are modelled;
//! conformance tests check every rendered object against the upstream CRD schemas.

pub mod clickhouse;
pub mod external_secrets;
pub mod flink;
pub mod gitops;
pub mod minio;
pub mod monitoring;
pub mod obc;
pub mod olm;
pub mod openshift;
pub mod pgo;
pub mod redis;
pub mod spark;
pub mod strimzi;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;

/// Envelope shared by every custom resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cr<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: S,
}
