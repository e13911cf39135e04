//! Which CRDs the sandbox serves, and where they come from. One function per source so that a
//! change of install (catalog bundle, upstream release, Helm) is one line here.

use std::path::{Path, PathBuf};

use serde_json::Value;

/// The reference material: `$DATALYPTICA_SHARED_DIR`, else `shared` beside the checkout.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("DATALYPTICA_SHARED_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The CRD files an operator package installs, as the tree's chosen install delivers them:
/// the OperatorHub catalog bundle of the channel the tree subscribes to
/// (`shared/catalog/README.md`). `None`: the catalog has no such package (OLM would report
/// the Subscription `ResolutionFailed`).
///
/// This is the one place to change when a component's install changes (e.g. Helm instead of
/// OLM, another channel).
pub fn operator_crd_dir(shared: &Path, package: &str, channel: &str) -> Option<PathBuf> {
    let bundle = match (package, channel) {
        ("crunchy-postgres-operator", _) => "crunchy-postgres-operator/5.8.8",
        ("strimzi-kafka-operator", "stable") => "strimzi-kafka-operator/0.51.0",
        ("strimzi-kafka-operator", _) => "strimzi-kafka-operator/1.2.0",
        ("flink-kubernetes-operator", _) => "flink-kubernetes-operator/1.14.0",
        ("clickhouse", _) => "clickhouse/0.27.2",
        ("minio-object-store-operator", _) => "minio-object-store-operator/2026.7.21224148",
        // minio-operator was removed from certified-operators (see the catalog README): the
        // only Tenant CRD an OpenShift user can get is upstream minio/operator installed
        // outside OLM, which `shared/crds/minio` holds.
        ("minio-operator", _) => return Some(shared.join("crds/minio")),
        _ => return None,
    };
    Some(shared.join("catalog").join(bundle))
}

/// CRDs an OpenShift cluster serves before any operator is installed: OLM's, Route,
/// SecurityContextConstraints, ClusterVersion, and the monitoring stack's.
/// `.ci/install-k8s.sh` adds AlertmanagerConfig (from the prometheus-operator module) under
/// `<assets>/crds/monitoring`.
pub fn platform_crd_dirs(shared: &Path, assets: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = ["crds/olm", "crds/openshift", "crds/monitoring"]
        .iter()
        .map(|d| shared.join(d))
        .collect();
    dirs.push(assets.join("crds/monitoring"));
    dirs
}

/// Every CustomResourceDefinition document in the YAML files of `dir` (sorted by file name).
pub fn load_dir(dir: &Path) -> Result<Vec<Value>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x == "yaml" || x == "yml" || x == "json")
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        // Some bundle CRDs use YAML anchors and `<<:` merge keys; serde-saphyr expands them.
        let docs: Vec<Value> =
            serde_saphyr::from_multiple(&text).map_err(|e| format!("{}: {e}", f.display()))?;
        out.extend(
            docs.into_iter()
                .filter(|d| d["kind"] == "CustomResourceDefinition"),
        );
    }
    if out.is_empty() {
        return Err(format!(
            "{}: no CustomResourceDefinition found",
            dir.display()
        ));
    }
    Ok(out)
}

/// The CRD as the API server should receive it: no status, no server-set metadata.
pub fn clean(mut crd: Value) -> Value {
    if let Some(m) = crd.as_object_mut() {
        m.remove("status");
    }
    if let Some(md) = crd["metadata"].as_object_mut() {
        for k in ["creationTimestamp", "resourceVersion", "uid", "generation"] {
            md.remove(k);
        }
    }
    crd
}
