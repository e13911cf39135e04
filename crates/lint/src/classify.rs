//! What a file of a tree is, before any rule looks at it: Kubernetes manifests are linted;
//! kustomize files, the patches and configs a kustomization points at, Helm charts' metadata,
//! values and templates, and YAML that is not Kubernetes at all are skipped with a note.
//! Pure: it sees the paths, the texts and the parsed documents, never the filesystem.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use datalyptica_yaml::Document;
use serde_json::Value;

use crate::Source;

/// Kustomization file names kustomize looks for, in its order.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// A path with `.` and `..` resolved lexically (kustomize paths are relative to their file).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

fn dir_of(p: &Path) -> PathBuf {
    normalize(p.parent().unwrap_or(Path::new("")))
}

fn file_name(p: &Path) -> &str {
    p.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// Whether a parsed document is a kustomize `Kustomization` or `Component`.
fn is_kustomize_doc(v: &Value) -> bool {
    let api = v.get("apiVersion").and_then(Value::as_str);
    let kind = v.get("kind").and_then(Value::as_str);
    api.is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"))
        && matches!(kind, Some("Kustomization" | "Component"))
}

/// A document that means to be a Kubernetes object: a mapping with `metadata` and a kind or
/// an apiVersion. Tools' own config files in Kubernetes style (kind, kubeadm, kustomize
/// transformers) have no metadata; Helm's Chart.yaml has an apiVersion but no kind.
pub(crate) fn meant_as_object(v: &Value) -> bool {
    v.as_object().is_some_and(|m| {
        m.contains_key("metadata") && (m.contains_key("kind") || m.contains_key("apiVersion"))
            || m.get("kind")
                .and_then(Value::as_str)
                .is_some_and(|k| k.ends_with("List"))
                && m.get("items").is_some_and(Value::is_array)
    })
}

/// An RFC 6902 JSON patch: a list of `{op, path, …}` operations.
fn is_json6902(v: &Value) -> bool {
    v.as_array().is_some_and(|a| {
        !a.is_empty()
            && a.iter()
                .all(|x| x.get("op").is_some_and(Value::is_string) && x.get("path").is_some())
    })
}

/// One kustomization of the tree and what it points at.
#[derive(Debug, Clone, Default)]
pub struct Kustomization {
    /// Index of its file among the sources.
    pub src: usize,
    /// A kustomize `Component`: only built as part of a kustomization that uses it.
    pub component: bool,
    pub dir: PathBuf,
    /// `resources`, `bases` and `components` entries, resolved against `dir`.
    pub resources: Vec<PathBuf>,
    /// Files kustomize reads as patches, configs or plugin configs (never applied as they are),
    /// with what they are.
    pub inputs: Vec<(PathBuf, &'static str)>,
}

fn strings(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// An entry that names a file or directory (not inline YAML, not a remote URL).
fn local(entry: &str) -> bool {
    !entry.contains('\n') && !entry.contains("://") && !entry.starts_with("github.com/")
}

fn read_kustomization(src: usize, path: &Path, v: &Value) -> Kustomization {
    let dir = dir_of(path);
    let at = |e: &str| normalize(&dir.join(e));
    let mut k = Kustomization {
        src,
        component: v.get("kind").and_then(Value::as_str) == Some("Component"),
        dir: dir.clone(),
        ..Default::default()
    };
    for key in ["resources", "bases", "components"] {
        k.resources
            .extend(strings(v.get(key)).filter(|e| local(e)).map(at));
    }
    for e in strings(v.get("patchesStrategicMerge")).filter(|e| local(e) && !e.contains(':')) {
        k.inputs.push((at(e), "a strategic-merge patch"));
    }
    for (key, what) in [
        ("patches", "a patch"),
        ("patchesJson6902", "a JSON 6902 patch"),
        ("replacements", "a replacements config"),
    ] {
        for p in v.get(key).and_then(Value::as_array).into_iter().flatten() {
            if let Some(path) = p.get("path").and_then(Value::as_str) {
                k.inputs.push((at(path), what));
            }
        }
    }
    for (key, what) in [
        ("configurations", "a transformer configuration"),
        ("crds", "an OpenAPI definition for kustomize"),
        ("generators", "a generator plugin config"),
        ("transformers", "a transformer plugin config"),
        ("validators", "a validator plugin config"),
    ] {
        for e in strings(v.get(key)).filter(|e| local(e)) {
            k.inputs.push((at(e), what));
        }
    }
    if let Some(p) = v
        .get("openapi")
        .and_then(|o| o.get("path"))
        .and_then(Value::as_str)
    {
        k.inputs.push((at(p), "an OpenAPI schema for kustomize"));
    }
    for h in v
        .get("helmCharts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(p) = h.get("valuesFile").and_then(Value::as_str) {
            k.inputs
                .push((at(p), "Helm values for kustomize's helmCharts"));
        }
    }
    k
}

/// Whether a source is a kustomization, by file name or by content.
fn kustomization_doc<'d>(s: &Source, docs: &'d [Document]) -> Option<&'d Value> {
    let by_name = KUSTOMIZATION_FILES.contains(&file_name(&s.path));
    let first = docs.iter().map(|d| &d.value).find(|v| !v.is_null());
    match first {
        Some(v) if is_kustomize_doc(v) => Some(v),
        // A kustomization.yaml without apiVersion/kind is still one (kustomize defaults them).
        Some(v) if by_name && v.get("kind").is_none() && v.is_object() => Some(v),
        _ => None,
    }
}

/// Every kustomization among the sources.
pub fn kustomizations(sources: &[Source], docs: &[&[Document]]) -> Vec<Kustomization> {
    sources
        .iter()
        .zip(docs)
        .enumerate()
        .filter_map(|(i, (s, d))| {
            kustomization_doc(s, d).map(|v| read_kustomization(i, &s.path, v))
        })
        .collect()
}

/// The kustomization roots: kustomizations that no other kustomization of the tree uses as a
/// resource, base or component (overlays, not the bases they build on). A `Component` is
/// never a root: kustomize builds it only into a kustomization.
pub fn roots(ks: &[Kustomization]) -> Vec<&Kustomization> {
    let used: BTreeSet<&Path> = ks
        .iter()
        .flat_map(|k| k.resources.iter().map(PathBuf::as_path))
        .collect();
    ks.iter()
        .filter(|k| !k.component && !used.contains(k.dir.as_path()))
        .collect()
}

/// Every file a set of kustomizations consumes (resource files, the kustomization files,
/// inputs), following directories that are kustomizations themselves.
pub fn consumed<'k>(ks: &'k [Kustomization], sources: &[Source]) -> BTreeMap<PathBuf, &'k Path> {
    let by_dir: BTreeMap<&Path, &Kustomization> = ks.iter().map(|k| (k.dir.as_path(), k)).collect();
    let mut out: BTreeMap<PathBuf, &Path> = BTreeMap::new();
    for root in roots(ks) {
        let mut stack = vec![root];
        let mut seen = BTreeSet::new();
        while let Some(k) = stack.pop() {
            if !seen.insert(k.dir.as_path()) {
                continue;
            }
            out.entry(normalize(&sources[k.src].path))
                .or_insert(root.dir.as_path());
            for (p, _) in &k.inputs {
                out.entry(p.clone()).or_insert(root.dir.as_path());
            }
            for r in &k.resources {
                match by_dir.get(r.as_path()) {
                    Some(sub) => stack.push(sub),
                    None => {
                        out.entry(r.clone()).or_insert(root.dir.as_path());
                    }
                }
            }
        }
    }
    out
}

/// Why each source is skipped (`None`: a manifest to lint). `failed[i]`: its YAML did not
/// parse as a whole.
pub(crate) fn classify(
    sources: &[Source],
    docs: &[&[Document]],
    failed: &[bool],
) -> Vec<Option<String>> {
    let ks = kustomizations(sources, docs);
    let mut inputs: BTreeMap<PathBuf, (&'static str, &Path)> = BTreeMap::new();
    for k in &ks {
        let kfile = &sources[k.src].path;
        for (p, what) in &k.inputs {
            inputs.entry(p.clone()).or_insert((what, kfile.as_path()));
        }
    }
    let charts: BTreeSet<PathBuf> = sources
        .iter()
        .filter(|s| file_name(&s.path) == "Chart.yaml")
        .map(|s| dir_of(&s.path))
        .collect();
    let kfiles: BTreeSet<usize> = ks.iter().map(|k| k.src).collect();
    sources
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let path = normalize(&s.path);
            let name = file_name(&path);
            if kfiles.contains(&i) {
                return Some(
                    "kustomization: kustomize's input, not an object to apply; \
                     `datalyptica lint --kustomize` lints what `kustomize build` makes of it"
                        .to_string(),
                );
            }
            if let Some((what, k)) = inputs.get(&path) {
                return Some(format!(
                    "{what} that {} reads: not an object on its own; \
                     `--kustomize` lints the built result",
                    k.display()
                ));
            }
            if name == "Chart.yaml" {
                return Some("Helm chart metadata (Chart.yaml)".into());
            }
            // A file under a chart's templates/ (the nearest chart wins), or its values.
            let mut up = path.parent();
            let mut under_templates = false;
            while let Some(d) = up {
                if charts.contains(d) {
                    if under_templates {
                        return Some(format!(
                            "Helm template of chart {}: lint the rendered output \
                             (`helm template … | datalyptica lint -`)",
                            d.display()
                        ));
                    }
                    if path.parent() == Some(d) && name.starts_with("values") {
                        return Some(format!("Helm values of chart {}", d.display()));
                    }
                    break;
                }
                under_templates |= d.file_name().is_some_and(|n| n == "templates");
                up = d.parent();
            }
            if failed[i] {
                // A Go template does not parse as YAML; say what it is rather than an error.
                return (s.text.contains("{{") && s.text.contains("}}")).then(|| {
                    "Go template (e.g. a Helm template): lint the rendered output \
                     (`helm template … | datalyptica lint -`)"
                        .to_string()
                });
            }
            let values: Vec<&Value> = docs[i]
                .iter()
                .map(|d| &d.value)
                .filter(|v| !v.is_null())
                .collect();
            if values.is_empty() || values.iter().any(|v| meant_as_object(v)) {
                return None;
            }
            if values.iter().all(|v| is_json6902(v)) {
                return Some("JSON 6902 patch (a list of operations), not an object".into());
            }
            Some(
                "not a Kubernetes manifest: no document is an object with metadata and a kind"
                    .into(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots() {
        assert_eq!(normalize(Path::new("a/./b/../c")), PathBuf::from("a/c"));
        assert_eq!(normalize(Path::new("../x")), PathBuf::from("../x"));
        assert_eq!(normalize(Path::new("/r/o/../p")), PathBuf::from("/r/p"));
    }
}
