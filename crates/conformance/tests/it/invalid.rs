//! Deliberately wrong CRs must be rejected at the right JSON pointer, and the Kubernetes
//! extensions (preserve-unknown-fields, int-or-string, nullable) must not cause false alarms.

use datalyptica_conformance::{Violation, catalog_for_tests};
use serde_json::{Value, json};

/// `None` when the CRDs are missing and the test is being skipped.
fn check(obj: &Value) -> Option<Result<(), Vec<Violation>>> {
    catalog_for_tests().map(|catalog| catalog.validate(obj))
}

fn assert_accepted(obj: &Value) {
    if let Some(Err(violations)) = check(obj) {
        panic!("unexpectedly rejected: {violations:#?}");
    }
}

/// Asserts some violation sits at `path` and mentions `needle`.
fn assert_rejected_at(obj: &Value, path: &str, needle: &str) {
    let Some(result) = check(obj) else { return };
    let violations = result.expect_err("must be rejected");
    assert!(
        violations
            .iter()
            .any(|v| v.path == path && v.message.contains(needle)),
        "no violation at {path} mentioning {needle:?} in {violations:#?}"
    );
}

fn postgres(instance: Value) -> Value {
    json!({
        "apiVersion": "postgres-operator.crunchydata.com/v1beta1",
        "kind": "PostgresCluster",
        "metadata": {"name": "pg"},
        "spec": {
            "postgresVersion": 17,
            "instances": [instance],
            "patroni": {"dynamicConfiguration": {"anything": {"goes": [1, "here"]}}},
        },
    })
}

fn instance(extra: Value) -> Value {
    let mut instance = json!({
        "name": "pgha1",
        "dataVolumeClaimSpec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    });
    if let (Some(obj), Some(extra)) = (instance.as_object_mut(), extra.as_object()) {
        obj.extend(extra.clone());
    }
    instance
}

#[test]
fn wrong_type_is_reported_at_its_path() {
    assert_rejected_at(
        &postgres(instance(json!({"replicas": "three"}))),
        "/spec/instances/0/replicas",
        "integer",
    );
}

#[test]
fn unknown_field_is_reported_where_the_schema_forbids_it() {
    let obj = postgres(instance(json!({"replicaz": 3})));
    assert_rejected_at(
        &obj,
        "/spec/instances/0/replicaz",
        "unknown field \"replicaz\"",
    );
}

#[test]
fn unknown_fields_below_preserve_unknown_fields_are_accepted() {
    // `postgres()` always carries spec.patroni.dynamicConfiguration.anything.
    assert_accepted(&postgres(instance(json!({"replicas": 2}))));
}

#[test]
fn int_or_string_accepts_both_and_checks_the_quantity_pattern() {
    for cpu in [json!(2), json!("500m")] {
        let resources = json!({"resources": {"limits": {"cpu": cpu}}});
        assert_accepted(&postgres(instance(resources)));
    }
    let path = "/spec/instances/0/resources/limits/cpu";
    let bad = |cpu: Value| postgres(instance(json!({"resources": {"limits": {"cpu": cpu}}})));
    assert_rejected_at(&bad(json!(true)), path, "");
    assert_rejected_at(&bad(json!("lots")), path, "does not match");
}

fn scc(allowed_capabilities: Option<Value>) -> Value {
    let mut scc = json!({
        "apiVersion": "security.openshift.io/v1",
        "kind": "SecurityContextConstraints",
        "metadata": {"name": "datalyptica"},
        "allowHostDirVolumePlugin": false, "allowHostIPC": false, "allowHostNetwork": false,
        "allowHostPID": false, "allowHostPorts": false, "allowPrivilegedContainer": false,
        "allowPrivilegeEscalation": null,
        "defaultAddCapabilities": null, "priority": null, "readOnlyRootFilesystem": true,
        "requiredDropCapabilities": ["ALL"], "volumes": ["configMap", "secret"],
    });
    if let (Some(obj), Some(caps)) = (scc.as_object_mut(), allowed_capabilities) {
        obj.insert("allowedCapabilities".into(), caps);
    }
    scc
}

#[test]
fn nullable_accepts_null_but_keeps_the_type() {
    assert_accepted(&scc(Some(Value::Null)));
    assert_accepted(&scc(Some(json!(["NET_BIND_SERVICE"]))));
    assert_rejected_at(
        &scc(Some(json!("NET_BIND_SERVICE"))),
        "/allowedCapabilities",
        "",
    );
}

#[test]
fn missing_required_fields_are_reported() {
    // SCC requires allowedCapabilities even though it may be null.
    assert_rejected_at(
        &scc(None),
        "",
        "\"allowedCapabilities\" is a required property",
    );

    let mut pg = postgres(instance(json!({})));
    pg["spec"]
        .as_object_mut()
        .map(|s| s.remove("postgresVersion"));
    assert_rejected_at(&pg, "/spec", "\"postgresVersion\" is a required property");

    let mut pg = postgres(instance(json!({})));
    pg["metadata"] = json!({"namespace": "data"});
    assert_rejected_at(&pg, "/metadata", "\"name\" is a required property");
}

#[test]
fn metadata_is_checked_loosely() {
    let mut pg = postgres(instance(json!({})));
    pg["metadata"] = json!({"name": "pg", "generateName": "pg-", "finalizers": ["x"]});
    assert_accepted(&pg);
    pg["metadata"]["labels"] = json!({"replicas": 3});
    assert_rejected_at(&pg, "/metadata/labels/replicas", "string");
}

#[test]
fn unknown_kind_is_one_violation() {
    let obj = json!({"apiVersion": "kafka.strimzi.io/v1beta2", "kind": "Kafka", "metadata": {"name": "k"}});
    let Some(result) = check(&obj) else { return };
    let violations = result.expect_err("v1beta2 is no longer served");
    assert_eq!(violations.len(), 1, "{violations:#?}");
    assert!(
        violations[0].message.contains("unknown kind"),
        "{violations:#?}"
    );
}

fn clickhouse(spec: Value) -> Value {
    json!({
        "apiVersion": "clickhouse.altinity.com/v1",
        "kind": "ClickHouseInstallation",
        "metadata": {"name": "olap"},
        "spec": spec,
    })
}

#[test]
fn clickhouse_fields_defined_through_yaml_merge_keys_are_validated() {
    // `suspend: {!!merge <<: *TypeStringBool, description: ...}`: without merge-key support
    // it would carry no type or enum and accept anything.
    assert_accepted(&clickhouse(json!({"suspend": "yes"})));
    assert_rejected_at(
        &clickhouse(json!({"suspend": "maybe"})),
        "/spec/suspend",
        "maybe",
    );
    // `reconcile` gets all of its properties from `!!merge <<: *TypeReconcile`.
    assert_accepted(&clickhouse(json!({"reconcile": {"policy": "wait"}})));
    assert_rejected_at(
        &clickhouse(json!({"reconcile": {"polcy": "wait"}})),
        "/spec/reconcile/polcy",
        "unknown field",
    );
}

#[test]
fn nested_object_meta_without_properties_rejects_labels() {
    // controller-gen emits `metadata: {type: object}` for embedded ObjectMeta, and the API
    // server prunes everything in it (kubernetes/kubernetes#103739): a label set here is lost.
    let obj = json!({
        "apiVersion": "redis.redis.opstreelabs.in/v1beta2",
        "kind": "RedisReplication",
        "metadata": {"name": "cache"},
        "spec": {
            "clusterSize": 3,
            "kubernetesConfig": {"image": "quay.io/opstree/redis:v7.0.15"},
            "storage": {"volumeClaimTemplate": {
                "metadata": {"labels": {"app": "cache"}},
                "spec": {"resources": {"requests": {"storage": "1Gi"}}},
            }},
        },
    });
    assert_rejected_at(
        &obj,
        "/spec/storage/volumeClaimTemplate/metadata/labels",
        "unknown field",
    );
}

#[test]
fn strimzi_one_of_branches_do_not_forbid_sibling_fields() {
    let node_pool = |storage: Value| {
        json!({
            "apiVersion": "kafka.strimzi.io/v1",
            "kind": "KafkaNodePool",
            "metadata": {"name": "broker"},
            "spec": {"replicas": 3, "roles": ["broker"], "storage": storage},
        })
    };
    assert_accepted(&node_pool(json!({"type": "ephemeral", "sizeLimit": "1Gi"})));
    assert_rejected_at(
        &node_pool(json!({"type": "floppy"})),
        "/spec/storage/type",
        "floppy",
    );
}
