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
use serde_json::Value;

/// The custom resources from which an operator creates pods: what preflight sizes and the
/// monitors select, matched exhaustively instead of on kind strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodOwner {
    PostgresCluster,
    Kafka,
    KafkaNodePool,
    Tenant,
    RedisReplication,
    RedisSentinel,
    FlinkDeployment,
    ClickHouseInstallation,
    ClickHouseKeeperInstallation,
}

impl PodOwner {
    pub const ALL: [PodOwner; 9] = [
        PodOwner::PostgresCluster,
        PodOwner::Kafka,
        PodOwner::KafkaNodePool,
        PodOwner::Tenant,
        PodOwner::RedisReplication,
        PodOwner::RedisSentinel,
        PodOwner::FlinkDeployment,
        PodOwner::ClickHouseInstallation,
        PodOwner::ClickHouseKeeperInstallation,
    ];

    /// `(apiVersion, kind)` as the tree renders it.
    pub const fn type_ref(self) -> (&'static str, &'static str) {
        match self {
            PodOwner::PostgresCluster => pgo::POSTGRES_CLUSTER,
            PodOwner::Kafka => strimzi::KAFKA,
            PodOwner::KafkaNodePool => strimzi::NODE_POOL,
            PodOwner::Tenant => minio::TENANT,
            PodOwner::RedisReplication => redis::REDIS_REPLICATION,
            PodOwner::RedisSentinel => redis::REDIS_SENTINEL,
            PodOwner::FlinkDeployment => flink::FLINK_DEPLOYMENT,
            PodOwner::ClickHouseInstallation => clickhouse::CHI,
            PodOwner::ClickHouseKeeperInstallation => clickhouse::CHK,
        }
    }

    /// The kind of a rendered object, by its apiVersion and kind (another version of the same
    /// kind is not ours).
    pub fn of(obj: &Value) -> Option<PodOwner> {
        let t = (obj["apiVersion"].as_str()?, obj["kind"].as_str()?);
        PodOwner::ALL.into_iter().find(|k| k.type_ref() == t)
    }
}

/// Envelope shared by every custom resource.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Cr<S> {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: S,
}

#[cfg(test)]
mod tests {
    use super::PodOwner;
    use crate::spec::Platform;

    #[test]
    fn the_default_tree_renders_every_pod_owner_by_its_type() {
        let tree = crate::render(&Platform::default_ha());
        let seen: Vec<PodOwner> = tree
            .objects()
            .filter_map(|(_, o)| PodOwner::of(o))
            .collect();
        for k in PodOwner::ALL {
            assert!(
                seen.contains(&k),
                "{k:?} {:?} is not rendered",
                k.type_ref()
            );
        }
        let mut other_version =
            serde_json::json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka"});
        assert_eq!(PodOwner::of(&other_version), None);
        other_version["apiVersion"] = "kafka.strimzi.io/v1".into();
        assert_eq!(PodOwner::of(&other_version), Some(PodOwner::Kafka));
    }
}
