//! Every custom resource we render is accepted by the upstream operator's CRD schema.

mod common;

use datalyptica_conformance::catalog_for_tests;

/// Kinds served by the API server itself (typed through k8s-openapi, so no CRD to check).
const CORE_GROUPS: &[&str] = &[
    "v1",
    "apps/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "batch/v1",
    "storage.k8s.io/v1",
    "networking.k8s.io/v1",
];

/// Kinds whose CRD is not among ../shared/crds (see SOURCES.md); checked by shape tests instead.
const NO_UPSTREAM_CRD: &[(&str, &str)] = &[
    ("objectbucket.io/v1alpha1", "ObjectBucketClaim"),
    // Shape-tested in `monitoring::tests::alertmanager_config_pages_critical_and_mails_everything`.
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
];

#[test]
fn every_custom_resource_validates_against_its_upstream_crd() {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    let mut checked = 0;
    for (variant, tree) in common::rendered() {
        for (file, o) in tree.objects() {
            let api = o["apiVersion"].as_str().unwrap_or("");
            let kind = common::kind(o);
            if CORE_GROUPS.contains(&api) || NO_UPSTREAM_CRD.contains(&(api, kind)) {
                continue;
            }
            assert!(
                catalog.knows(api, kind),
                "{variant}: {file}: {api} {kind} has no upstream CRD to validate against"
            );
            if let Err(v) = catalog.validate(o) {
                let msgs: Vec<String> = v
                    .iter()
                    .map(|x| format!("  {}: {}", x.path, x.message))
                    .collect();
                panic!(
                    "{variant}: {file}: {} rejected by its CRD:\n{}",
                    common::name(o),
                    msgs.join("\n")
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} custom resources checked");
}

#[test]
fn the_validator_rejects_a_broken_postgres_cluster() {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    let tree = datalyptica_platform::render(&datalyptica_platform::Platform::default_ha());
    let (_, pg) = tree
        .objects()
        .find(|(_, o)| common::kind(o) == "PostgresCluster")
        .expect("rendered");
    let mut bad_type = pg.clone();
    bad_type["spec"]["instances"][0]["replicas"] = serde_json::json!("three");
    let v = catalog
        .validate(&bad_type)
        .expect_err("a string replica count must be rejected");
    assert!(
        v.iter().any(|x| x.path == "/spec/instances/0/replicas"),
        "{v:?}"
    );
    let mut unknown = pg.clone();
    unknown["spec"]["patroni"]["leaderLeaseSecondz"] = serde_json::json!(20);
    let v = catalog
        .validate(&unknown)
        .expect_err("an unknown field must be rejected");
    assert!(
        v.iter().any(|x| x.message.contains("leaderLeaseSecondz")),
        "{v:?}"
    );
    assert!(catalog.validate(pg).is_ok());
}
