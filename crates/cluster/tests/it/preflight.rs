//! Preflight analyzers on a recorded snapshot of an OpenShift cluster, and variations of it.

use datalyptica_cluster::plan;
use datalyptica_cluster::preflight::{
    Outcome, Requirements, Snapshot, analyze, overall, requirements,
};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use serde_json::json;

fn snapshot() -> Snapshot {
    serde_json::from_str(include_str!("../fixtures/snapshot-openshift-ok.json")).expect("fixture")
}

fn reqs(p: &Platform) -> Requirements {
    let m = Model::new(p);
    let t = render(p);
    let plan = plan::build(&m, &t).expect("plan");
    requirements(&m, &t, &plan)
}

fn outcome(s: &Snapshot, id: &str) -> (Outcome, String) {
    let checks = analyze(&reqs(&Platform::default_ha()), s);
    let worst = checks
        .iter()
        .filter(|c| c.id == id)
        .max_by_key(|c| c.outcome)
        .unwrap_or_else(|| panic!("no check {id}"));
    (worst.outcome, worst.message.clone())
}

#[test]
fn recorded_openshift_cluster_passes() {
    let checks = analyze(&reqs(&Platform::default_ha()), &snapshot());
    let bad: Vec<_> = checks
        .iter()
        .filter(|c| c.outcome != Outcome::Pass)
        .collect();
    assert!(bad.is_empty(), "{bad:#?}");
    assert_eq!(overall(&checks), Outcome::Pass);
    let ids: Vec<&str> = checks.iter().map(|c| c.id).collect();
    for id in [
        "api",
        "distribution",
        "cluster-admin",
        "workers",
        "zones",
        "capacity",
        "storage-rwo",
        "storage-rwx",
        "storage-default",
        "catalog",
        "package",
        "conflicts",
        "user-secrets",
    ] {
        assert!(ids.contains(&id), "missing check {id}");
    }
}

#[test]
fn requirements_sum_the_rendered_requests() {
    let r = reqs(&Platform::default_ha());
    let pg = r
        .pod_sets
        .iter()
        .find(|s| s.name.starts_with("PostgresCluster/"))
        .expect("pg set");
    assert_eq!(pg.replicas, 3);
    assert!(pg.cpu > 0.0 && pg.memory > 0.0 && pg.distinct_nodes);
    assert!(
        r.pod_sets
            .iter()
            .any(|s| s.name.starts_with("StatefulSet/")),
        "etcd"
    );
    assert!(
        r.pod_sets
            .iter()
            .any(|s| s.name.starts_with("KafkaNodePool/"))
    );
    // Four Subscriptions: the Redis and MinIO operators are carried as manifests.
    assert_eq!(r.operators.len(), 4);
    assert!(
        !r.operators
            .iter()
            .any(|o| o.0 == "minio-operator" || o.0 == "redis-operator")
    );
}

#[test]
fn unreachable_api_is_one_fail() {
    let s = Snapshot {
        api_error: Some("connection refused".into()),
        ..Default::default()
    };
    let checks = analyze(&reqs(&Platform::default_ha()), &s);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].outcome, Outcome::Fail);
    assert!(!checks[0].fix.is_empty());
}

#[test]
fn old_openshift_fails_and_plain_kubernetes_warns() {
    let mut s = snapshot();
    s.cluster_version = Some(json!({"status": {"desired": {"version": "4.8.57"}}}));
    assert_eq!(outcome(&s, "distribution").0, Outcome::Fail);
    s.cluster_version = None;
    let (o, msg) = outcome(&s, "distribution");
    assert_eq!(o, Outcome::Warn);
    assert!(msg.contains("v1.29"), "{msg}");
}

#[test]
fn denied_verbs_fail() {
    let mut s = snapshot();
    s.access[0].allowed = false;
    let (o, msg) = outcome(&s, "cluster-admin");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("* *.*"), "{msg}");
}

#[test]
fn too_few_workers_for_anti_affinity() {
    let mut s = snapshot();
    s.nodes.retain(|n| {
        let name = n["metadata"]["name"].as_str().unwrap_or_default();
        name != "worker-2" && name != "worker-3" && name != "worker-4" && name != "worker-5"
    });
    let (o, msg) = outcome(&s, "workers");
    assert_eq!(o, Outcome::Fail, "{msg}");
    assert!(msg.contains("2 schedulable workers"), "{msg}");
    // Two zones left: the soft spread warns.
    assert_eq!(outcome(&s, "zones").0, Outcome::Warn);
}

#[test]
fn small_nodes_fail_the_bin_packing() {
    let mut s = snapshot();
    for n in &mut s.nodes {
        n["status"]["allocatable"]["cpu"] = json!("2");
        n["status"]["allocatable"]["memory"] = json!("4Gi");
    }
    let (o, msg) = outcome(&s, "capacity");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("fit on no node"), "{msg}");
}

#[test]
fn storage_classes_as_the_spec_names_them() {
    let mut s = snapshot();
    s.storage_classes
        .retain(|c| c["metadata"]["name"] != "ocs-storagecluster-cephfs");
    assert_eq!(outcome(&s, "storage-rwx").0, Outcome::Fail);
    s.storage_classes[0]["metadata"]["annotations"] = json!({});
    assert_eq!(outcome(&s, "storage-default").0, Outcome::Warn);
}

#[test]
fn missing_catalog_package_and_channel() {
    let mut s = snapshot();
    s.catalog_sources
        .retain(|c| c["metadata"]["name"] != "community-operators");
    assert_eq!(outcome(&s, "catalog").0, Outcome::Fail);
    let mut s = snapshot();
    s.package_manifests[0]["status"]["channels"] = json!([{"name": "v6"}]);
    let (o, msg) = outcome(&s, "package");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("no channel v5"), "{msg}");
}

#[test]
fn conflicting_installs() {
    let mut s = snapshot();
    s.subscriptions.push(json!({"metadata": {"name": "x", "namespace": "openshift-operators"}, "spec": {"name": "strimzi-kafka-operator"}}));
    s.namespaces.push(json!({"metadata": {"name": "datalyptica-core", "labels": {"app.kubernetes.io/managed-by": "someone-else"}}}));
    let (o, msg) = outcome(&s, "conflicts");
    assert_eq!(o, Outcome::Fail);
    assert!(
        msg.contains("strimzi-kafka-operator is already subscribed in openshift-operators"),
        "{msg}"
    );
    assert!(msg.contains("datalyptica-core"), "{msg}");
}

#[test]
fn kinds_no_operator_brings_must_be_served() {
    let mut s = snapshot();
    if let Some(k) = s.served_kinds.as_mut() {
        k.retain(|k| !k.starts_with("monitoring.coreos.com/"));
    }
    let (o, msg) = outcome(&s, "apis");
    assert_eq!(o, Outcome::Fail);
    assert!(msg.contains("PodMonitor (postgresql)"), "{msg}");
    // Templates are rendered for reference and never applied: their CRDs are not required.
    assert!(!msg.contains("SparkApplication"), "{msg}");
    // Kinds of subscribed operators are not required up front: deploy installs them.
    assert!(!msg.contains("PostgresCluster"), "{msg}");
}

/// Secrets only the user can provide: missing in an existing namespace fails (deploy would
/// stop there); missing where deploy has not created the namespace yet only warns.
#[test]
fn user_provided_secrets_are_checked_by_name() {
    let ok = snapshot();
    assert_eq!(outcome(&ok, "user-secrets").0, Outcome::Pass);
    let mut s = ok.clone();
    if let Some(p) = s.user_secrets_present.as_mut() {
        p.retain(|k| k != "datalyptica-core/alertmanager-smtp");
    }
    let (o, msg) = outcome(&s, "user-secrets");
    assert_eq!(o, Outcome::Warn, "namespace not created yet: {msg}");
    assert!(
        msg.contains("datalyptica-core/alertmanager-smtp (password of the SMTP relay user)"),
        "{msg}"
    );
    s.namespaces.push(
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "datalyptica-core"}}),
    );
    assert_eq!(outcome(&s, "user-secrets").0, Outcome::Fail);
    s.user_secrets_present = None;
    assert_eq!(outcome(&s, "user-secrets").0, Outcome::Warn);
}
