//! Kafka's backup: KafkaMirrorMaker2 to the DR cluster when a target is set.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::backup::*;
use crate::component::{Backup, ComponentId};
use crate::components::kafka;
use crate::crs::Cr;
use crate::crs::strimzi::*;
use crate::k8s;
use crate::model::{Model, Resources};
use crate::security::PodGroup;
use crate::spec::KafkaDrTarget;

pub(crate) fn backup(m: &Model) -> Backup {
    if !mirror_maker_enabled(m) {
        return Backup::None(
            "no DR target (spec.backup.kafka.target unset): replication factor 3 across zones only",
        );
    }
    Backup::Objects {
        header: header(m),
        objects: objects(m),
        pods: PodGroup {
            name: "kafka-mirror-maker".into(),
            selector: json!({"matchLabels": {"strimzi.io/cluster": MIRROR_MAKER}}),
            client: vec![],
            metrics: vec![],
            api: false,
            object_store: false,
            own_client: true,
        },
    }
}

pub(crate) fn header(m: &Model) -> String {
    format!(
        "MirrorMaker 2 to the DR cluster {} with consumer-offset sync; KafkaUser {MIRROR_MAKER_USER} for mutual TLS on the source.",
        kafka_target(m)
            .map(|t| t.bootstrap_servers.as_str())
            .unwrap_or_default()
    )
}

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let Some(t) = kafka_target(m) else {
        return vec![];
    };
    vec![k8s::to_value(&user(m)), k8s::to_value(&mirror_maker(m, t))]
}

fn replication_factor(m: &Model) -> u32 {
    if m.ha() { 3 } else { 1 }
}

fn user(m: &Model) -> Cr<KafkaUserSpec> {
    let mut user_meta = k8s::meta(m, ComponentId::Kafka, MIRROR_MAKER_USER, MIRROR_MAKER_USER);
    if let Some(l) = user_meta.labels.as_mut() {
        // The User Operator only reconciles users labelled with their cluster.
        l.insert("strimzi.io/cluster".into(), kafka::CLUSTER.into());
    }
    Cr {
        api_version: KAFKA_USER.0,
        kind: KAFKA_USER.1,
        metadata: user_meta,
        spec: KafkaUserSpec {
            authentication: KafkaUserAuth { type_: "tls" },
        },
    }
}

fn mirror_maker(m: &Model, t: &KafkaDrTarget) -> Cr<MirrorMaker2Spec> {
    let b = &m.platform.spec.backup.kafka;
    let replicas = b.replicas.unwrap_or(if m.ha() { 2 } else { 1 });
    Cr {
        api_version: KAFKA_MIRROR_MAKER2.0,
        kind: KAFKA_MIRROR_MAKER2.1,
        metadata: k8s::meta(m, ComponentId::Kafka, MIRROR_MAKER, MIRROR_MAKER),
        spec: MirrorMaker2Spec {
            replicas,
            target: target_cluster(m, t),
            mirrors: vec![mirror(m)],
            resources: k8s::resources(&Resources {
                cpu_request: "250m".into(),
                memory_request: "1Gi".into(),
                cpu_limit: "1".into(),
                memory_limit: "2Gi".into(),
            }),
            template: template(),
        },
    }
}

fn mirror(m: &Model) -> Mm2Mirror {
    let b = &m.platform.spec.backup.kafka;
    let rf = replication_factor(m);
    Mm2Mirror {
        source: source_cluster(m),
        source_connector: connector(
            rf,
            &[
                ("offset-syncs.topic.replication.factor", json!(rf)),
                ("sync.topic.acls.enabled", json!("false")),
                ("refresh.topics.interval.seconds", json!(60)),
            ],
        ),
        // Consumers switched to the DR cluster resume from their translated offsets.
        checkpoint_connector: connector(
            rf,
            &[
                ("checkpoints.topic.replication.factor", json!(rf)),
                ("sync.group.offsets.enabled", json!("true")),
                ("sync.group.offsets.interval.seconds", json!(60)),
                ("emit.checkpoints.interval.seconds", json!(60)),
                ("refresh.groups.interval.seconds", json!(60)),
            ],
        ),
        topics_pattern: b.topics_pattern.clone().unwrap_or_else(|| ".*".into()),
        groups_pattern: b.groups_pattern.clone().unwrap_or_else(|| ".*".into()),
    }
}

fn connector(rf: u32, extra: &[(&str, Value)]) -> Mm2Connector {
    let mut c: BTreeMap<String, Value> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect();
    c.insert("replication.factor".into(), json!(rf));
    Mm2Connector {
        tasks_max: 2,
        config: c,
        auto_restart: AutoRestart { enabled: true },
    }
}

fn source_cluster(m: &Model) -> Mm2Cluster {
    Mm2Cluster {
        alias: "primary".into(),
        bootstrap_servers: kafka::bootstrap(m),
        group_id: None,
        config_storage_topic: None,
        status_storage_topic: None,
        offset_storage_topic: None,
        tls: Mm2Tls {
            trusted_certificates: vec![TrustedCertificate {
                secret_name: format!("{}-cluster-ca-cert", kafka::CLUSTER),
                certificate: "ca.crt".into(),
            }],
        },
        authentication: Some(Mm2Auth {
            type_: "tls",
            certificate_and_key: CertificateAndKey {
                secret_name: MIRROR_MAKER_USER.into(),
                certificate: "user.crt",
                key: "user.key",
            },
        }),
        config: BTreeMap::new(),
    }
}

fn target_cluster(m: &Model, t: &KafkaDrTarget) -> Mm2Cluster {
    let rf = replication_factor(m);
    Mm2Cluster {
        alias: "dr".into(),
        bootstrap_servers: t.bootstrap_servers.clone(),
        group_id: Some(format!("{}-mirror-maker-2", m.name)),
        config_storage_topic: Some("mirrormaker2-cluster-configs".into()),
        status_storage_topic: Some("mirrormaker2-cluster-status".into()),
        offset_storage_topic: Some("mirrormaker2-cluster-offsets".into()),
        tls: Mm2Tls {
            trusted_certificates: vec![TrustedCertificate {
                secret_name: t.trust_secret.clone(),
                certificate: t
                    .trust_certificate
                    .clone()
                    .unwrap_or_else(|| "ca.crt".into()),
            }],
        },
        authentication: t.client_certificate_secret.as_ref().map(|s| Mm2Auth {
            type_: "tls",
            certificate_and_key: CertificateAndKey {
                secret_name: s.clone(),
                certificate: "user.crt",
                key: "user.key",
            },
        }),
        config: BTreeMap::from([
            ("config.storage.replication.factor".to_string(), json!(rf)),
            ("offset.storage.replication.factor".to_string(), json!(rf)),
            ("status.storage.replication.factor".to_string(), json!(rf)),
        ]),
    }
}

fn template() -> Mm2Template {
    let sel = BTreeMap::from([("strimzi.io/cluster".to_string(), MIRROR_MAKER.to_string())]);
    Mm2Template {
        pod: Mm2PodTemplate {
            security_context: k8s::pod_security(),
            affinity: k8s::anti_affinity(&sel),
            topology_spread_constraints: k8s::zone_spread(&sel),
        },
        connect_container: Mm2Container {
            security_context: k8s::container_security(k8s::RootFs::ReadOnly),
        },
    }
}
