//! Every custom resource we render is accepted by the CRDs of the install the tree chooses, and
//! that install exists: each Subscription's package and channel are in OpenShift's catalogs
//! (`../shared/catalog/index.yaml`), and its CRs are validated against exactly the CRDs of that
//! channel's head bundle (`../shared/catalog/<package>/<head>/`), not upstream's latest. An
//! operator the tree carries as upstream manifests is validated against the CRDs the tree
//! carries. Kinds without an operator of ours (monitoring, OLM, Routes, Spark's Helm-installed
//! operator) come from `../shared/crds/`.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use datalyptica_conformance::{CrdCatalog, catalog_dir, crds_dir, shared_for_tests};
use datalyptica_platform::component::GateKind;
use datalyptica_platform::components::ALL;
use datalyptica_platform::components::minio::operator as minio_operator;
use datalyptica_platform::model::Model;
use datalyptica_platform::spec::Platform;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Kinds served by the API server itself (typed through k8s-openapi, so no CRD to check).
const CORE_GROUPS: &[&str] = &[
    "v1",
    "apps/v1",
    "policy/v1",
    "rbac.authorization.k8s.io/v1",
    "batch/v1",
    "storage.k8s.io/v1",
    "networking.k8s.io/v1",
    "apiextensions.k8s.io/v1",
];

/// Kinds whose CRD is not among ../shared/crds (see SOURCES.md); checked by shape tests instead.
const NO_UPSTREAM_CRD: &[(&str, &str)] = &[
    ("objectbucket.io/v1alpha1", "ObjectBucketClaim"),
    // Shape-tested in `monitoring::routing::tests::alertmanager_config_pages_critical_and_mails_everything`.
    ("monitoring.coreos.com/v1alpha1", "AlertmanagerConfig"),
];

/// `../shared/crds/` folders for kinds no operator of ours serves: the cluster's own
/// (OpenShift, OLM, the monitoring stack) and the Spark operator, a documented Helm install.
const CLUSTER_CRDS: &[&str] = &["monitoring", "olm", "openshift", "spark"];

fn dirs() -> Option<(PathBuf, PathBuf)> {
    let crds = shared_for_tests(crds_dir())?;
    let catalog = shared_for_tests(catalog_dir())?;
    Some((crds, catalog))
}

/// The CRDs of the install a platform's tree chooses: per OLM operator its channel head's
/// bundle, per carried operator the CRDs in the tree, and the cluster's own kinds. Loaded once
/// per distinct install (parsing the 8 MB of CRDs is most of this test binary's time).
fn install_catalog(p: &Platform, tree: &datalyptica_platform::Tree) -> &'static CrdCatalog {
    static CACHE: Mutex<BTreeMap<String, &'static CrdCatalog>> = Mutex::new(BTreeMap::new());
    let (paths, carried) = install_sources(p, tree);
    let key = format!(
        "{paths:?} {:?}",
        carried
            .iter()
            .map(|(o, v)| (o, v.to_string()))
            .collect::<Vec<_>>()
    );
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    cache.entry(key).or_insert_with(|| {
        Box::leak(Box::new(
            CrdCatalog::load(&paths, &carried)
                .unwrap_or_else(|e| panic!("loading the install's CRDs: {e}")),
        ))
    })
}

fn install_sources(
    p: &Platform,
    tree: &datalyptica_platform::Tree,
) -> (Vec<PathBuf>, Vec<(String, Value)>) {
    let (crds, catalog) = dirs().expect("checked by the caller");
    let m = Model::new(p);
    let mut paths: Vec<PathBuf> = CLUSTER_CRDS.iter().map(|d| crds.join(d)).collect();
    for c in m.enabled_components() {
        if let Some(op) = &m.get(c.id()).operator {
            let head = op
                .head
                .unwrap_or_else(|| panic!("{}: no channel head known", c.id()));
            let dir = catalog.join(&op.package).join(head);
            assert!(dir.is_dir(), "{}: no bundle at {}", c.id(), dir.display());
            paths.push(dir);
        }
    }
    // Read back from the text `oc apply -f` gets, not from the objects before writing.
    let files = tree.to_bytes();
    let mut carried: Vec<(String, Value)> = Vec::new();
    let crd_files: BTreeSet<&str> = tree
        .objects()
        .filter(|(_, o)| common::kind(o) == "CustomResourceDefinition")
        .map(|(f, _)| f)
        .collect();
    for f in crd_files {
        let docs = datalyptica_yaml::parse(&files[f]).unwrap_or_else(|e| panic!("{f}: {e}"));
        carried.extend(
            docs.into_iter()
                .filter(|d| d.value["kind"] == "CustomResourceDefinition")
                .map(|d| (format!("{f} (carried)"), d.value)),
        );
    }
    (paths, carried)
}

#[test]
fn every_custom_resource_validates_against_the_crds_of_the_chosen_install() {
    if dirs().is_none() {
        return;
    }
    let mut checked = 0;
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let catalog = install_catalog(&p, &tree);
        for (file, o) in tree.objects() {
            let api = o["apiVersion"].as_str().unwrap_or("");
            let kind = common::kind(o);
            if CORE_GROUPS.contains(&api) || NO_UPSTREAM_CRD.contains(&(api, kind)) {
                continue;
            }
            assert!(
                catalog.knows(api, kind),
                "{variant}: {file}: {api} {kind} is served by no CRD of the chosen install"
            );
            if let Err(v) = catalog.validate(o) {
                let msgs: Vec<String> = v
                    .iter()
                    .map(|x| format!("  {}: {}", x.path, x.message))
                    .collect();
                panic!(
                    "{variant}: {file}: {} rejected by {}:\n{}",
                    common::name(o),
                    catalog
                        .source_of(api, kind)
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                    msgs.join("\n")
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 40, "only {checked} custom resources checked");
}

/// The catalog's bundles are what the CRs are checked against, and they are stricter than
/// upstream's latest: a field only newer releases know is refused.
#[test]
fn the_catalog_heads_refuse_what_only_newer_releases_serve() {
    let Some((_, catalog)) = dirs() else {
        return;
    };
    let p = Platform::default_ha();
    let tree = datalyptica_platform::render(&p);
    let cat = install_catalog(&p, &tree);
    let src = |api: &str, kind: &str| cat.source_of(api, kind).map(Path::to_path_buf);
    // Redis is carried: its CRs are checked against the v0.26.0 CRDs in the tree, not the
    // catalog's 0.15.1, which refuses `spec.pdb`.
    assert_eq!(
        src("redis.redis.opstreelabs.in/v1beta2", "RedisReplication"),
        Some(PathBuf::from("02-redis-ha/operator-install.yaml (carried)"))
    );
    let old = CrdCatalog::load(&[catalog.join("redis-operator/0.15.1")], &[])
        .expect("the catalog's 0.15.1 bundle");
    // PostgresCluster v1 exists only in PGO 6, which no catalog offers.
    assert!(!cat.knows("postgres-operator.crunchydata.com/v1", "PostgresCluster"));
    let find = |kind: &str| {
        tree.objects()
            .find(|(_, o)| common::kind(o) == kind)
            .map(|(_, o)| o.clone())
            .expect("rendered")
    };
    let mut redis = find("RedisReplication");
    redis["spec"]["pdb"] = serde_json::json!({"enabled": true, "minAvailable": 2});
    assert!(cat.validate(&redis).is_ok(), "v0.26.0 serves spec.pdb");
    let v = old.validate(&redis).expect_err("0.15.1 has no spec.pdb");
    assert!(v.iter().any(|x| x.path == "/spec/pdb"), "{v:?}");
    let v = old
        .validate(&find("RedisSentinel"))
        .expect_err("0.15.1 has no redisReplicationPassword");
    assert!(
        v.iter()
            .any(|x| x.path.contains("redisReplicationPassword")),
        "{v:?}"
    );
    let mut pg = find("PostgresCluster");
    pg["spec"]["instances"][0]["dataVolumeClaimSpec"]["autoGrow"] = serde_json::json!({});
    let v = cat.validate(&pg).expect_err("5.8.8 has no autoGrow");
    assert!(v.iter().any(|x| x.message.contains("autoGrow")), "{v:?}");
    let mut bad_type = find("PostgresCluster");
    bad_type["spec"]["instances"][0]["replicas"] = serde_json::json!("three");
    let v = cat
        .validate(&bad_type)
        .expect_err("a string replica count must be rejected");
    assert!(
        v.iter().any(|x| x.path == "/spec/instances/0/replicas"),
        "{v:?}"
    );
    assert!(cat.validate(&find("PostgresCluster")).is_ok());
}

/// One package entry of `index.yaml`.
fn package<'a>(index: &'a Value, name: &str) -> Option<&'a Value> {
    index["packages"]
        .as_array()?
        .iter()
        .find(|p| p["package"] == name)
}

/// The head of a channel on the newest OpenShift the catalog covers (`head`, or the
/// `head_by_ocp` entry whose range ends last).
fn channel_head(channel: &Value) -> Option<String> {
    if let Some(h) = channel["head"].as_str() {
        return Some(h.to_string());
    }
    let by_ocp = channel["head_by_ocp"].as_object()?;
    let newest = by_ocp.keys().max_by_key(|range| {
        let last = range.rsplit('-').next().unwrap_or(range);
        let v: Vec<u32> = last
            .trim_start_matches('v')
            .split('.')
            .filter_map(|x| x.parse().ok())
            .collect();
        v
    })?;
    by_ocp[newest].as_str().map(str::to_string)
}

#[test]
fn every_subscription_names_a_package_and_channel_the_catalogs_serve() {
    let Some((_, catalog)) = dirs() else {
        return;
    };
    let text = std::fs::read_to_string(catalog.join("index.yaml")).expect("index.yaml");
    let index: Value = serde_saphyr::from_str(&text).expect("index.yaml parses");
    let mut subscriptions = 0;
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let m = Model::new(&p);
        for (file, o) in tree.objects() {
            if common::kind(o) != "Subscription" {
                continue;
            }
            subscriptions += 1;
            let name = o["spec"]["name"].as_str().unwrap_or_default();
            let channel = o["spec"]["channel"].as_str().unwrap_or_default();
            let pkg = package(&index, name).unwrap_or_else(|| {
                panic!("{variant}: {file}: package {name} is not in index.yaml")
            });
            assert_eq!(
                pkg["exists"], true,
                "{variant}: {file}: package {name} no longer exists in the catalog"
            );
            assert_eq!(
                o["spec"]["source"], pkg["catalog_source"],
                "{variant}: {file}: {name} is served by another catalog"
            );
            let ch = &pkg["channels"][channel];
            assert!(
                ch.is_object(),
                "{variant}: {file}: {name} has no channel {channel} (has {:?})",
                pkg["channels"]
                    .as_object()
                    .map(|c| c.keys().collect::<Vec<_>>())
            );
            // The head the tree is written for is the channel's head.
            let c = ALL
                .iter()
                .find(|c| c.operator().is_some_and(|op| op.package == name))
                .expect("a component subscribes to it");
            let declared = m.get(c.id()).operator.as_ref().and_then(|op| op.head);
            assert_eq!(
                declared,
                channel_head(ch).as_deref(),
                "{variant}: {file}: {name}/{channel}: the tree is written for another bundle than the channel's head"
            );
        }
        // The MinIO Operator is carried, never subscribed: its package is gone.
        assert!(
            !tree
                .objects()
                .any(|(_, o)| o["spec"]["name"] == "minio-operator"),
            "{variant}: a Subscription to the removed minio-operator package blocks every Subscription of its namespace"
        );
    }
    assert!(
        subscriptions >= 20,
        "only {subscriptions} Subscriptions seen"
    );
    // The index itself says minio-operator is gone: the check above is not vacuous.
    assert_eq!(
        package(&index, "minio-operator").expect("listed")["exists"],
        false
    );
}

/// A carried operator's CRDs: its tree file, its `../shared/crds/` folder, and (file, text).
struct CarriedCrds {
    install: &'static str,
    shared: &'static str,
    files: Vec<(&'static str, &'static str)>,
}

fn carried_crd_sets() -> Vec<CarriedCrds> {
    use datalyptica_platform::components::redis::operator as redis_operator;
    vec![
        CarriedCrds {
            install: "02-redis-ha/operator-install.yaml",
            shared: "redis",
            files: redis_operator::CRD_FILES
                .iter()
                .map(|(f, t, _)| (*f, *t))
                .collect(),
        },
        CarriedCrds {
            install: "04-minio-ha/operator-install.yaml",
            shared: "minio",
            files: minio_operator::CRD_FILES.to_vec(),
        },
    ]
}

#[test]
fn the_carried_crds_are_the_pinned_upstream_release_files() {
    let Some((crds, _)) = dirs() else {
        return;
    };
    let sha = |b: &[u8]| -> String {
        Sha256::digest(b)
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let tree = datalyptica_platform::render(&Platform::default_ha());
    let text = tree.to_bytes();
    let mut compared_with_shared = 0;
    for CarriedCrds {
        install,
        shared: shared_dir,
        files,
    } in carried_crd_sets()
    {
        for (file, body) in &files {
            // `../shared/crds/` holds the kinds the platform uses; the rest are pinned by hash
            // in the module (redis-operator's Redis and RedisCluster).
            if let Ok(shared) = std::fs::read(crds.join(shared_dir).join(file)) {
                assert_eq!(
                    sha(body.as_bytes()),
                    sha(&shared),
                    "{file} differs from ../shared/crds/{shared_dir}/{file}"
                );
                compared_with_shared += 1;
            }
        }
        // The tree carries exactly them, in the install file, and what it writes reads back as
        // the upstream files do: no field lost or retyped.
        let written: Vec<Value> = datalyptica_yaml::parse(&text[install])
            .expect("parses")
            .into_iter()
            .map(|d| d.value)
            .filter(|v| v["kind"] == "CustomResourceDefinition")
            .collect();
        assert_eq!(written.len(), files.len(), "{install}");
        for ((file, body), w) in files.iter().zip(&written) {
            let upstream: Value = serde_saphyr::from_str(body).expect("parses");
            assert!(
                upstream == *w,
                "{file}: the written CRD differs from upstream's"
            );
        }
    }
    assert_eq!(compared_with_shared, 4, "redis 2 + minio 2 shared copies");
    let carried: BTreeSet<&str> = tree
        .objects()
        .filter(|(_, o)| common::kind(o) == "CustomResourceDefinition")
        .map(|(f, _)| f)
        .collect();
    assert_eq!(
        carried,
        carried_crd_sets().iter().map(|c| c.install).collect()
    );
}

/// `spec.names` of the CRD serving `api_version`/`kind` in this install: read from the bundle
/// file it was loaded from, or from the tree's carried CRDs.
fn crd_names(
    catalog: &CrdCatalog,
    carried: &[(String, Value)],
    api_version: &str,
    kind: &str,
) -> Value {
    let source = catalog
        .source_of(api_version, kind)
        .unwrap_or_else(|| panic!("{api_version} {kind}: no CRD in the install"));
    let docs: Vec<Value> = if source.is_file() {
        let text =
            std::fs::read_to_string(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        datalyptica_yaml::parse(&text)
            .unwrap_or_else(|e| panic!("{}: {e}", source.display()))
            .into_iter()
            .map(|d| d.value)
            .collect()
    } else {
        carried.iter().map(|(_, v)| v.clone()).collect()
    };
    docs.into_iter()
        .find(|d| d["spec"]["names"]["kind"] == kind)
        .map(|d| d["spec"]["names"].clone())
        .unwrap_or_else(|| panic!("{}: no CRD of kind {kind}", source.display()))
}

#[test]
fn every_gate_waits_on_a_resource_name_the_api_serves() {
    if dirs().is_none() {
        return;
    }
    let mut checked = BTreeSet::new();
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let catalog = install_catalog(&p, &tree);
        let (_, carried) = install_sources(&p, &tree);
        let m = Model::new(&p);
        for c in m.enabled_components() {
            for g in c.gates(&m) {
                let text = g.wait_command();
                let words: Vec<&str> = text.split(' ').collect();
                let target = match words.as_slice() {
                    ["oc", "wait", target, "-n", ns, for_, timeout]
                        if for_.starts_with("--for=") =>
                    {
                        assert_eq!(*ns, g.namespace, "{variant}: {text}");
                        assert_eq!(*timeout, format!("--timeout={}m", g.timeout.as_secs() / 60));
                        *target
                    }
                    ["oc", "rollout", "status", target, "-n", ns, _] => {
                        assert_eq!(*ns, g.namespace, "{variant}: {text}");
                        *target
                    }
                    _ => panic!("{variant}: {}: unexpected wait text {text}", c.id()),
                };
                let (resource, name) = target.split_once('/').expect("resource/name");
                assert_eq!(name, g.name, "{variant}: {text}");
                let (api, kind) = (g.kind.api_version(), g.kind.kind());
                let accepted: Vec<String> = if CORE_GROUPS.contains(&api) {
                    vec![kind.to_lowercase()]
                } else {
                    let names = crd_names(catalog, &carried, api, kind);
                    ["plural", "singular"]
                        .iter()
                        .filter_map(|k| names[k].as_str())
                        .chain(
                            names["shortNames"]
                                .as_array()
                                .into_iter()
                                .flatten()
                                .filter_map(Value::as_str),
                        )
                        .map(String::from)
                        .collect()
                };
                assert!(
                    accepted.iter().any(|a| a == resource),
                    "{variant}: {text}: `{resource}` is not a name of {kind} ({accepted:?})"
                );
                checked.insert(g.kind);
            }
        }
    }
    assert_eq!(
        checked.len(),
        GateKind::ALL.len(),
        "gate kinds seen: {checked:?}"
    );
}
