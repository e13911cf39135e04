//! The platform spec as the user writes it (`datalyptica.yaml`).
//!
//! Kubernetes-shaped (apiVersion/kind/metadata/spec) because the same struct becomes the CRD of
//! the in-cluster operator later. Every field is optional: an absent field takes the profile's
//! default in [`crate::model`], so a spec only states what differs from the HA default.
//! Doc comments are user documentation: they feed `datalyptica schema` and `datalyptica init`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::components::{
    airflow::AirflowConfig, clickhouse::ClickhouseConfig, etcd::EtcdConfig, flink::FlinkConfig,
    kafka::KafkaConfig, minio::MinioConfig, nessie::NessieConfig, postgresql::PostgresConfig,
    redis::RedisConfig, spark::SparkConfig, superset::SupersetConfig, trino::TrinoConfig,
};

pub const API_VERSION: &str = "datalyptica.io/v1alpha1";
pub const KIND: &str = "Platform";

/// A Datalyptica platform: one spec from which every manifest of the HA deployment is rendered.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Platform {
    /// Always `datalyptica.io/v1alpha1`.
    pub api_version: String,
    /// Always `Platform`.
    pub kind: String,
    pub metadata: Metadata,
    #[serde(default)]
    pub spec: PlatformSpec,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Metadata {
    /// Platform name (DNS-1123 label); used as the prefix of rendered names where needed.
    pub name: String,
    /// Labels added to every rendered object.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PlatformSpec {
    /// `ha` (default): the seed's HA topology (3-node quorums, anti-affinity, PDBs).
    /// `dev`: single replicas and small resources, for small clusters.
    #[serde(default)]
    pub profile: Profile,
    /// Target distribution. Only `openshift` today; the renderer keeps distribution-specific
    /// objects (Routes, SCC-compatible security contexts, OLM catalogs) behind this switch.
    #[serde(default)]
    pub distribution: Distribution,
    #[serde(default)]
    pub namespaces: NamespacesSpec,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default)]
    pub operators: OperatorsSpec,
    #[serde(default)]
    pub object_store: ObjectStoreSpec,
    #[serde(default)]
    pub components: ComponentsSpec,
    /// Backups and disaster recovery per component (defaults: the seed's backup table).
    #[serde(default)]
    pub backup: BackupSpec,
    /// How Secrets reach the cluster. The rendered tree never holds a secret value.
    #[serde(default)]
    pub secrets: SecretsSpec,
    /// Where alerts go: PagerDuty for critical alerts, e-mail for all.
    #[serde(default)]
    pub alerting: AlertingSpec,
    /// Destinations outside the cluster that network policies must name by address.
    #[serde(default)]
    pub network: NetworkSpec,
    /// Failure and repair rates `datalyptica availability` computes with, and against which
    /// `render` checks each component's `slo.availability` (defaults and their sources: README).
    #[serde(default)]
    pub availability_model: AvailabilityModelSpec,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    #[default]
    Ha,
    Dev,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Distribution {
    #[default]
    Openshift,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NamespacesSpec {
    /// Prefix of every platform namespace (default `datalyptica`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// `per-group` (default): one project per layer (core, storage, catalog, streaming,
    /// analytics, orchestration) so network policies and quotas follow the architecture.
    /// `single`: everything in the project named by `prefix`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<NamespaceLayout>,
    /// Extra labels on every platform namespace (e.g. for monitoring or cost attribution).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum NamespaceLayout {
    #[default]
    PerGroup,
    Single,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StorageSpec {
    /// ReadWriteOnce storage class for databases and queues
    /// (default `ocs-storagecluster-ceph-rbd`, OpenShift Data Foundation's RBD class).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rwo_class: Option<String>,
    /// ReadWriteMany storage class for shared data (default `ocs-storagecluster-cephfs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rwx_class: Option<String>,
    /// Render ODF-backed StorageClass objects with the names above (for clusters where ODF is
    /// installed but the classes were not created). Default false: the classes must exist.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_odf_classes: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperatorsSpec {
    /// Namespace the OLM Subscriptions live in (default `datalyptica-operators`, with an
    /// AllNamespaces OperatorGroup). Set `openshift-operators` to use the cluster's global group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `Automatic` or `Manual` (default `Manual`: operator upgrades are a change, not a surprise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub install_plan_approval: Option<InstallPlanApproval>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
pub enum InstallPlanApproval {
    Automatic,
    Manual,
}

/// Where every consumer (pgBackRest, Nessie, Trino, Spark, Flink, ClickHouse backups) finds its
/// S3-compatible object store. One place, so a backend switch touches nothing else.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectStoreSpec {
    /// `minio` (default, the seed's choice), `odf` (ObjectBucketClaims on OpenShift Data
    /// Foundation) or `external` (an existing S3 endpoint).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<ObjectStoreBackend>,
    /// For `external`: the S3 endpoint URL (https).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// S3 region (default `us-east-1`, what MinIO and RGW accept).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// For `external`: name of the Secret holding `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
    /// For `odf`: the ObjectBucketClaim storage class (default `openshift-storage.noobaa.io`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub odf_storage_class: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ObjectStoreBackend {
    Minio,
    Odf,
    External,
}

/// Backup and disaster-recovery settings. Every value has the seed's default.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct BackupSpec {
    #[serde(default)]
    pub postgresql: PostgresBackupSpec,
    #[serde(default)]
    pub redis: SnapshotBackupSpec,
    #[serde(default)]
    pub etcd: SnapshotBackupSpec,
    #[serde(default)]
    pub minio: MinioBackupSpec,
    #[serde(default)]
    pub kafka: KafkaBackupSpec,
}

/// pgBackRest to the object store (rendered into the PostgresCluster).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresBackupSpec {
    /// Full backup schedule (cron, default daily at 01:00).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full_schedule: Option<String>,
    /// Differential backup schedule (cron, default every 6 hours).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub differential_schedule: Option<String>,
    /// Days full backups (and the WAL they need) are kept (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Recovery time objective of a restore from backup (duration, default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
}

/// A scheduled snapshot shipped to the object store (Redis RDB, etcd snapshot).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SnapshotBackupSpec {
    /// Cron schedule (default: Redis every hour, etcd every 30 minutes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Days snapshots are kept (default 7).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_days: Option<u32>,
    /// Image with `sh` and `mc` that uploads and prunes (default `quay.io/minio/mc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploader_image: Option<String>,
    /// Recovery time objective of a restore from snapshot (duration, default `30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
}

/// MinIO bucket versioning, lifecycle and replication to a secondary site.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MinioBackupSpec {
    /// Enable versioning on every platform bucket (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versioning: Option<bool>,
    /// Days a non-current object version is kept before the lifecycle rule expires it
    /// (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub noncurrent_version_days: Option<u32>,
    /// Secondary site every bucket is replicated to. Unset: no replication (documented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replication_target: Option<ReplicationTarget>,
    /// Image of the configuration Job (default `quay.io/minio/mc`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mc_image: Option<String>,
    /// Recovery time objective of a switch to the secondary site (duration, default `1h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ReplicationTarget {
    /// S3 endpoint of the secondary site (https URL).
    pub endpoint: String,
    /// Secret (in the MinIO namespace) with `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` of the
    /// secondary site.
    pub credentials_secret: String,
}

/// Kafka MirrorMaker 2 to a disaster-recovery cluster.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaBackupSpec {
    /// The DR cluster. Unset: no MirrorMaker 2 (documented).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<KafkaDrTarget>,
    /// Regular expression of the topics to mirror (default `.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topics_pattern: Option<String>,
    /// Regular expression of the consumer groups whose offsets are synced (default `.*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups_pattern: Option<String>,
    /// MirrorMaker 2 replicas (default 2 in `ha`, 1 in `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Recovery time objective of a client switch to the DR cluster (duration, default `30m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct KafkaDrTarget {
    /// Bootstrap servers of the DR cluster's TLS listener, e.g. `kafka-dr.example.com:9093`.
    pub bootstrap_servers: String,
    /// Secret (in the Kafka namespace) holding the DR cluster's CA certificate.
    pub trust_secret: String,
    /// Key of the CA certificate in `trustSecret` (default `ca.crt`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust_certificate: Option<String>,
    /// Secret with `user.crt`/`user.key` for mutual TLS with the DR cluster (optional).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate_secret: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretsSpec {
    /// `generated` (default): `datalyptica deploy` creates the Secrets at apply time;
    /// `external-secrets`: ExternalSecret objects pull them from `storeRef`;
    /// `sealed-secrets`: you commit SealedSecrets made with `kubeseal` (placeholders rendered).
    #[serde(default)]
    pub mode: SecretsMode,
    /// The external-secrets store (required with `external-secrets`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_ref: Option<SecretStoreRef>,
    /// Prefix of the remote keys (default `datalyptica/<platform name>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_key_prefix: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum SecretsMode {
    #[default]
    Generated,
    ExternalSecrets,
    SealedSecrets,
}

/// Alert receivers, rendered into one AlertmanagerConfig per platform namespace (OpenShift
/// user-workload monitoring). Credentials are Secret references: AlertmanagerConfig reads
/// Secrets of its own namespace only, so each platform namespace needs them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AlertingSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutySpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailSpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PagerDutySpec {
    /// Page through PagerDuty (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Alert severities that page (default `[critical]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severities: Option<Vec<String>>,
    /// Secret key with the Events API v2 routing key (default `alertmanager-pagerduty`/`routing-key`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_key: Option<SecretKeySpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EmailSpec {
    /// Mail every alert (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Recipients (default `[datalyptica-oncall@example.com]`: set your on-call list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<Vec<String>>,
    /// Sender address (default `alertmanager@example.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// SMTP relay as `host:port`, spoken with STARTTLS (default `smtp.example.com:587`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smarthost: Option<String>,
    /// SMTP user (default: the sender address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Secret key with the SMTP password (default `alertmanager-smtp`/`password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretKeySpec>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretKeySpec {
    pub name: String,
    pub key: String,
}

/// Network policies allow the platform's few egress hops that leave the cluster by port; list
/// the address ranges here to also pin them by destination.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NetworkSpec {
    /// CIDRs of the kube-apiserver endpoints (control-plane nodes), e.g. `[10.0.0.0/24]`.
    /// Default: any address, port 6443 only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_server_cidrs: Vec<String>,
    /// CIDRs of destinations outside the cluster: the external S3 endpoint, the DR sites and
    /// the DAG repository. Default: any address, on each destination's port only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_cidrs: Vec<String>,
}

/// The failure model of `datalyptica availability`: node failures, repairs and planned drains.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AvailabilityModelSpec {
    /// Mean time between failures of one node (default `8760h`, one year: a new cluster sees
    /// about 1,000 individual machine failures in its first year, J. Dean, Google, 2008/2009;
    /// for clusters of 1,000–2,000 machines that is 1–2 years, the default takes the low end).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_mtbf: Option<String>,
    /// Time until a stateful member (a pod bound to its volume) runs again after its node
    /// failed: machine replacement by a MachineHealthCheck, volume re-attach, resync
    /// (default `1h`; use your measured repair time, e.g. `24h` on bare metal without
    /// machine remediation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_repair: Option<String>,
    /// Time until a stateless pod of a failed node runs elsewhere (default `6m`: node
    /// monitor grace 40–50 s + the 300 s unreachable toleration + start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_reschedule: Option<String>,
    /// Time a pod evicted by a drain needs to run again on another node (default `1m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pod_restart: Option<String>,
    /// Node drains a year; each evicts every pod once (default 12: a monthly cluster update
    /// drains and reboots every node).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drains_per_year: Option<u32>,
    /// Availability zones the worker nodes span (default 3); members are spread evenly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zones: Option<u32>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SecretStoreRef {
    /// Name of the (Cluster)SecretStore.
    pub name: String,
    /// `ClusterSecretStore` (default) or `SecretStore`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

/// Settings every component accepts. Absent values take the component's profile default.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schemars(bound = "C: JsonSchema + Default + Serialize")]
pub struct ComponentSpec<C> {
    /// Deploy this component (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// Replica count (members of the quorum, servers, or pods, depending on the component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicas: Option<u32>,
    /// Persistent volume size per replica (Kubernetes quantity, e.g. `100Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesSpec>,
    /// Container image (pin a tag or digest). Required to be reachable by the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Version of the software where the operator takes one (e.g. PostgreSQL major, Kafka).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<OperatorSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloSpec>,
    /// Component-specific settings.
    #[serde(default)]
    pub config: C,
}

impl<C: Default> Default for ComponentSpec<C> {
    fn default() -> Self {
        Self {
            enabled: None,
            replicas: None,
            storage: None,
            resources: None,
            image: None,
            version: None,
            operator: None,
            slo: None,
            config: C::default(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourcesSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<CpuMemory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limits: Option<CpuMemory>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CpuMemory {
    /// CPU quantity, e.g. `500m` or `2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Memory quantity, e.g. `4Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
}

/// OLM subscription overrides (package, channel, catalog source).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OperatorSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_namespace: Option<String>,
    /// Pin an exact ClusterServiceVersion (e.g. for air-gapped mirrors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starting_csv: Option<String>,
}

/// Service-level objectives. Defaults are the seed's HA table; derived timings (Patroni lease,
/// Sentinel down-after) are computed from `rto`, and alerts from all three.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SloSpec {
    /// Availability target in percent, e.g. `99.95`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub availability: Option<f64>,
    /// Recovery point objective (duration, e.g. `10s`; `0s` for none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<String>,
    /// Recovery time objective (duration, e.g. `30s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<String>,
}

/// One entry per component of the platform, in the seed's phase order.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ComponentsSpec {
    /// Phase 1. Crunchy PGO PostgresCluster (Patroni), 3 instances, synchronous replication.
    #[serde(default)]
    pub postgresql: ComponentSpec<PostgresConfig>,
    /// Phase 1. Redis with Sentinel (OT-Container-Kit redis-operator).
    #[serde(default)]
    pub redis: ComponentSpec<RedisConfig>,
    /// Phase 1. etcd, 3 members, peer and client TLS.
    #[serde(default)]
    pub etcd: ComponentSpec<EtcdConfig>,
    /// Phase 2. MinIO Tenant (distributed, erasure coded); `replicas` is the server count.
    #[serde(default)]
    pub minio: ComponentSpec<MinioConfig>,
    /// Phase 3. Nessie catalog with its version store on PostgreSQL.
    #[serde(default)]
    pub nessie: ComponentSpec<NessieConfig>,
    /// Phase 4. Kafka on Strimzi (KRaft): `replicas` is the broker count.
    #[serde(default)]
    pub kafka: ComponentSpec<KafkaConfig>,
    /// Phase 4. Flink session cluster with JobManager HA: `replicas` is the JobManager count.
    #[serde(default)]
    pub flink: ComponentSpec<FlinkConfig>,
    /// Phase 5. Trino: `replicas` is the worker count.
    #[serde(default)]
    pub trino: ComponentSpec<TrinoConfig>,
    /// Phase 5. Spark application template and history server: `replicas` is the history-server count.
    #[serde(default)]
    pub spark: ComponentSpec<SparkConfig>,
    /// Phase 5. ClickHouse (Altinity operator): `replicas` is the replica count of the shard.
    #[serde(default)]
    pub clickhouse: ComponentSpec<ClickhouseConfig>,
    /// Phase 6. Airflow: `replicas` is the API-server count (schedulers, triggerers, workers in `config`).
    #[serde(default)]
    pub airflow: ComponentSpec<AirflowConfig>,
    /// Phase 6. Superset: `replicas` is the web-server count (Celery workers in `config`).
    #[serde(default)]
    pub superset: ComponentSpec<SupersetConfig>,
}

impl Platform {
    /// The embedded default: the seed's HA platform with every setting at its default.
    pub fn default_ha() -> Self {
        Platform {
            api_version: API_VERSION.into(),
            kind: KIND.into(),
            metadata: Metadata {
                name: "datalyptica".into(),
                labels: BTreeMap::new(),
            },
            spec: PlatformSpec::default(),
        }
    }

    /// Every supported combination of profile and object-store backend, each valid: what
    /// tests, conformance checks and benchmarks iterate so that no variant goes unchecked.
    pub fn variants() -> Vec<(&'static str, Platform)> {
        let mut dev = Platform::default_ha();
        dev.spec.profile = Profile::Dev;
        let mut odf = Platform::default_ha();
        odf.spec.object_store.backend = Some(ObjectStoreBackend::Odf);
        let mut external = Platform::default_ha();
        external.spec.object_store.backend = Some(ObjectStoreBackend::External);
        external.spec.object_store.endpoint = Some("https://s3.example.com".into());
        external.spec.object_store.credentials_secret = Some("s3-credentials".into());
        vec![
            ("ha", Platform::default_ha()),
            ("dev", dev),
            ("odf", odf),
            ("external", external),
        ]
    }
}
