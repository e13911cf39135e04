//! Hand-written CRs that the upstream operators document as valid must be accepted.

use datalyptica_conformance::catalog_for_tests;
use serde_json::{Value, json};

fn assert_valid(obj: &Value) {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    if let Err(violations) = catalog.validate(obj) {
        let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
        panic!(
            "{} {} rejected:\n{}",
            obj["apiVersion"],
            obj["kind"],
            list.join("\n")
        );
    }
}

fn pvc(size: &str) -> Value {
    json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}})
}

#[test]
fn postgres_cluster_with_instances_and_backups() {
    for version in ["v1beta1", "v1"] {
        assert_valid(&json!({
            "apiVersion": format!("postgres-operator.crunchydata.com/{version}"),
            "kind": "PostgresCluster",
            "metadata": {"name": "pg", "namespace": "data", "labels": {"app.kubernetes.io/part-of": "datalyptica"}},
            "spec": {
                "postgresVersion": 17,
                "instances": [{
                    "name": "pgha1",
                    "replicas": 3,
                    "dataVolumeClaimSpec": pvc("10Gi"),
                    "resources": {"limits": {"cpu": 2, "memory": "4Gi"}},
                }],
                "backups": {"pgbackrest": {
                    "global": {"repo1-retention-full": "14"},
                    "repos": [{"name": "repo1", "volume": {"volumeClaimSpec": pvc("20Gi")}}],
                }},
                "patroni": {"dynamicConfiguration": {"postgresql": {"parameters": {"max_connections": 200}}}},
            },
        }));
    }
}

#[test]
fn kafka_v1_kraft() {
    assert_valid(&json!({
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "Kafka",
        "metadata": {"name": "events", "annotations": {"strimzi.io/node-pools": "enabled", "strimzi.io/kraft": "enabled"}},
        "spec": {
            "kafka": {
                "version": "4.2.0",
                "listeners": [{"name": "tls", "port": 9093, "type": "internal", "tls": true}],
                "config": {"offsets.topic.replication.factor": 3, "min.insync.replicas": 2},
            },
            "entityOperator": {"topicOperator": {}, "userOperator": {}},
        },
    }));
}

#[test]
fn kafka_node_pool() {
    assert_valid(&json!({
        "apiVersion": "kafka.strimzi.io/v1",
        "kind": "KafkaNodePool",
        "metadata": {"name": "broker", "labels": {"strimzi.io/cluster": "events"}},
        "spec": {
            "replicas": 3,
            "roles": ["controller", "broker"],
            "storage": {"type": "jbod", "volumes": [{"id": 0, "type": "persistent-claim", "size": "100Gi", "deleteClaim": false}]},
        },
    }));
}

#[test]
fn minio_tenant_v2_with_pools() {
    assert_valid(&json!({
        "apiVersion": "minio.min.io/v2",
        "kind": "Tenant",
        "metadata": {"name": "lake"},
        "spec": {
            "image": "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z",
            "configuration": {"name": "lake-env"},
            "requestAutoCert": true,
            "pools": [{
                "name": "pool-0",
                "servers": 4,
                "volumesPerServer": 2,
                "volumeClaimTemplate": {"metadata": {"name": "data"}, "spec": pvc("100Gi")},
            }],
        },
    }));
}

#[test]
fn redis_replication_and_sentinel() {
    assert_valid(&json!({
        "apiVersion": "redis.redis.opstreelabs.in/v1beta2",
        "kind": "RedisReplication",
        "metadata": {"name": "cache"},
        "spec": {
            "clusterSize": 3,
            "kubernetesConfig": {"image": "quay.io/opstree/redis:v7.0.15", "imagePullPolicy": "IfNotPresent"},
            "storage": {"volumeClaimTemplate": {"spec": pvc("1Gi")}},
        },
    }));
    assert_valid(&json!({
        "apiVersion": "redis.redis.opstreelabs.in/v1beta2",
        "kind": "RedisSentinel",
        "metadata": {"name": "cache-sentinel"},
        "spec": {
            "clusterSize": 3,
            "kubernetesConfig": {"image": "quay.io/opstree/redis-sentinel:v7.0.15"},
            "redisSentinelConfig": {"redisReplicationName": "cache", "masterGroupName": "mymaster", "quorum": "2"},
        },
    }));
}

#[test]
fn olm_subscription() {
    assert_valid(&json!({
        "apiVersion": "operators.coreos.com/v1alpha1",
        "kind": "Subscription",
        "metadata": {"name": "strimzi-kafka-operator", "namespace": "openshift-operators"},
        "spec": {
            "channel": "stable",
            "name": "strimzi-kafka-operator",
            "source": "community-operators",
            "sourceNamespace": "openshift-marketplace",
            "installPlanApproval": "Manual",
            "startingCSV": "strimzi-cluster-operator.v1.2.0",
        },
    }));
}

#[test]
fn openshift_route() {
    assert_valid(&json!({
        "apiVersion": "route.openshift.io/v1",
        "kind": "Route",
        "metadata": {"name": "console"},
        "spec": {
            "host": "console.apps.example.com",
            "to": {"kind": "Service", "name": "console", "weight": 100},
            "port": {"targetPort": "https"},
            "tls": {"termination": "reencrypt", "insecureEdgeTerminationPolicy": "Redirect"},
        },
    }));
}

#[test]
fn clickhouse_installation() {
    assert_valid(&json!({
        "apiVersion": "clickhouse.altinity.com/v1",
        "kind": "ClickHouseInstallation",
        "metadata": {"name": "olap"},
        "spec": {
            // `suspend` gets its type and enum only through `!!merge <<: *TypeStringBool`.
            "suspend": "no",
            "configuration": {
                "clusters": [{"name": "main", "layout": {"shardsCount": 2, "replicasCount": 2}}],
                "zookeeper": {"nodes": [{"host": "keeper", "port": 2181}]},
                "users": {"app/networks/ip": ["::/0"]},
            },
            "defaults": {"templates": {"podTemplate": "clickhouse", "dataVolumeClaimTemplate": "data"}},
            "templates": {
                "podTemplates": [{"name": "clickhouse", "spec": {"containers": [{"name": "clickhouse", "image": "clickhouse/clickhouse-server:25.3"}]}}],
                "volumeClaimTemplates": [{"name": "data", "spec": pvc("50Gi")}],
            },
        },
    }));
}

#[test]
fn prometheus_rule() {
    assert_valid(&json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "datalyptica"},
        "spec": {"groups": [{"name": "pg", "rules": [{
            "alert": "PostgresDown",
            "expr": "pg_up == 0",
            "for": "5m",
            "labels": {"severity": "critical"},
            "annotations": {"summary": "PostgreSQL is down"},
        }]}]},
    }));
}
