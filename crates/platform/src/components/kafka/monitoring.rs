//! kafka's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::kafka;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Kafka;
    let r = m.get(id);
    let ns = &r.namespace;
    let cluster = kafka::CLUSTER;
    let monitor = pod_monitor(
        m,
        id,
        cluster,
        &[
            ("strimzi.io/cluster", cluster),
            ("strimzi.io/kind", "Kafka"),
        ],
        endpoint(STRIMZI_METRICS_PORT, Some("/metrics")),
    );
    let sel = format!(
        "namespace=\"{ns}\",pod=~\"{cluster}-({}|{})-[0-9]+\"",
        kafka::CONTROLLERS,
        kafka::BROKERS
    );
    // `sum(…) or vector(0)`: both sides without labels, so the fallback only applies when no
    // series exists (a `by` clause would make it a second, always-present element).
    let rules = vec![
        rule(
            "KafkaUnderReplicatedPartitions",
            format!(
                "sum by (namespace) (kafka_server_replicamanager_underreplicatedpartitions{{{sel}}}) > 0"
            ),
            "5m",
            "warning",
            "Kafka partitions under-replicated",
            "{{ $value }} partition(s) have fewer in-sync replicas than replicas for 5 minutes (a broker is down or lagging); one more failure may stop writes.".into(),
        ),
        rule(
            "KafkaUnderMinIsrPartitions",
            format!(
                "sum by (namespace) (kafka_server_replicamanager_underminisrpartitioncount{{{sel}}}) > 0"
            ),
            "1m",
            "critical",
            "Kafka partitions below min.insync.replicas",
            "{{ $value }} partition(s) are below min.insync.replicas: producers with acks=all are refused.".into(),
        ),
        rule(
            "KafkaOfflinePartitions",
            format!(
                "sum by (namespace) (kafka_controller_kafkacontroller_offlinepartitionscount{{{sel}}}) > 0"
            ),
            "1m",
            "critical",
            "Kafka partitions offline",
            "{{ $value }} partition(s) have no leader: reads and writes to them fail.".into(),
        ),
        rule(
            "KafkaActiveControllerMissing",
            format!(
                "(sum(kafka_controller_kafkacontroller_activecontrollercount{{{sel}}}) or vector(0)) != 1"
            ),
            &secs(r.slo.rto),
            "critical",
            "Kafka has no single active controller",
            format!(
                "The KRaft quorum reports {{{{ $value }}}} active controllers for longer than the RTO ({} s): metadata changes and leader elections stall.",
                r.slo.rto.as_secs()
            ),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, cluster, rules)]
}
