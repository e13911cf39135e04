//! MinIO Operator `minio.min.io/v2` Tenant.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Affinity, EnvVar, PersistentVolumeClaim, PodSecurityContext, ResourceRequirements,
    SecurityContext, TopologySpreadConstraint,
};
use serde::Serialize;

pub const TENANT: (&str, &str) = ("minio.min.io/v2", "Tenant");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSpec {
    pub image: String,
    pub pools: Vec<Pool>,
    /// The operator's own certificates (signed through the CSR API): off, see `external_cert_secret`.
    pub request_auto_cert: bool,
    /// Serving certificates the tenant presents; with type `cert-manager.io/v1` the operator
    /// also mounts each Secret's `ca.crt` into the servers' `certs/CAs`, so they trust each other.
    pub external_cert_secret: Vec<CertSecret>,
    /// Secret holding `config.env` (root credentials): referenced, never rendered.
    pub configuration: NameRef,
    pub env: Vec<EnvVar>,
    pub buckets: Vec<Bucket>,
    pub prometheus_operator: bool,
    pub pools_metadata: PoolsMetadata,
}

#[derive(Debug, Clone, Serialize)]
pub struct CertSecret {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct NameRef {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PoolsMetadata {
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pool {
    pub name: String,
    pub servers: u32,
    pub volumes_per_server: u32,
    pub volume_claim_template: PersistentVolumeClaim,
    pub resources: ResourceRequirements,
    pub affinity: Affinity,
    pub topology_spread_constraints: Vec<TopologySpreadConstraint>,
    pub security_context: PodSecurityContext,
    pub container_security_context: SecurityContext,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bucket {
    pub name: String,
    pub object_lock: bool,
    pub region: String,
}
