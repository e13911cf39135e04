//! Real kustomize for the GitOps tests of the platform and cluster crates (the cluster crate
//! includes this file with `#[path]`): find it (`.ci/install-kustomize.sh`,
//! `$DATALYPTICA_KUSTOMIZE`), write a tree, build a directory, compare what it built.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use datalyptica_platform::Tree;
use serde_json::Value;

/// Some(kustomize) or None after announcing the skip; panics in CI.
pub fn find() -> Option<PathBuf> {
    let bin = std::env::var_os("DATALYPTICA_KUSTOMIZE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kustomize"));
    if Command::new(&bin)
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("kustomize not found in CI (.ci/install-kustomize.sh sets DATALYPTICA_KUSTOMIZE)");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n**************************************************************************\n\
         SKIPPED: kustomize not found (eval \"$(bash .ci/install-kustomize.sh)\")\n\
         **************************************************************************"
    );
    None
}

/// The tree written under `dir` (emptied first), as a Git checkout would hold it.
pub fn write(tree: &Tree, dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
    for (rel, text) in tree.to_bytes() {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
}

/// `kustomize build DIR`: the objects a GitOps engine syncs from that directory.
pub fn build(kustomize: &Path, dir: &Path) -> Vec<Value> {
    let out = Command::new(kustomize)
        .arg("build")
        .arg(dir)
        .output()
        .expect("run kustomize");
    assert!(
        out.status.success(),
        "kustomize build {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf-8");
    datalyptica_yaml::parse(&text)
        .expect("kustomize output parses")
        .into_iter()
        .map(|d| d.value)
        .filter(|v| !v.is_null())
        .collect()
}

/// The JSON pointer of the first difference, numbers compared by value (kustomize writes the
/// float `1.0` as `1`; both are the same quantity to the API server).
pub fn first_difference(a: &Value, b: &Value, at: String) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => (x.as_f64() != y.as_f64()).then_some(at),
        (Value::Object(x), Value::Object(y)) => {
            if x.len() != y.len() {
                return Some(format!(
                    "{at} (keys {:?} vs {:?})",
                    x.keys().collect::<Vec<_>>(),
                    y.keys().collect::<Vec<_>>()
                ));
            }
            x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, format!("{at}/{k}")),
                None => Some(format!("{at}/{k} (missing)")),
            })
        }
        (Value::Array(x), Value::Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at} (length {} vs {})", x.len(), y.len()));
            }
            x.iter()
                .zip(y)
                .enumerate()
                .find_map(|(i, (v, w))| first_difference(v, w, format!("{at}/{i}")))
        }
        _ => (a != b).then_some(at),
    }
}
