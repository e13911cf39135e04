//! Checks rendered Kubernetes custom resources against CRD `openAPIV3Schema`s.
//!
//! Other crates' tests use this to prove that every custom resource they render would be accepted
//! by the API server with the real operator's CRD installed, without needing a cluster. Which
//! CRDs are "the real operator's" is the caller's choice: [`CrdCatalog::load`] builds a catalog
//! from exactly one install (the OpenShift catalog channel heads recorded in
//! `$DATALYPTICA_SHARED_DIR/catalog/<package>/<version>/`, CRDs a rendered tree carries, and
//! `$DATALYPTICA_SHARED_DIR/crds/` folders for the cluster's own kinds); [`catalog_for_tests`]
//! loads all of upstream's latest in `crds/`.
//!
//! ```no_run
//! let Some(catalog) = datalyptica_conformance::catalog_for_tests() else { return };
//! let cr = serde_json::json!({
//!     "apiVersion": "kafka.strimzi.io/v1", "kind": "KafkaTopic",
//!     "metadata": {"name": "events"}, "spec": {"partitions": 3},
//! });
//! if let Err(violations) = catalog.validate(&cr) {
//!     panic!("{violations:#?}");
//! }
//! ```
//!
//! # What is checked
//!
//! The CRD schema (OpenAPI v3 with Kubernetes extensions) is rewritten into a draft-4 JSON
//! Schema and validated with `jsonschema`:
//!
//! - `nullable: true` admits `null`; `x-kubernetes-int-or-string` admits integers and strings.
//! - Unknown fields are errors (`unknown field "x"`), as with `kubectl apply
//!   --validate=strict`, except below `x-kubernetes-preserve-unknown-fields: true`. Objects
//!   marked `x-kubernetes-embedded-resource` also admit `apiVersion`, `kind` and `metadata`.
//! - `apiVersion`, `kind` and `metadata.name` are required; `metadata` is only checked loosely
//!   (`name`, `namespace`, string-valued `labels` and `annotations`), because CRDs leave it to
//!   the API server.
//! - Types, `enum`, `required`, `pattern` (Rust `regex`, close to Go's RE2), bounds (draft-4
//!   boolean `exclusiveMaximum`), `allOf`/`anyOf`/`oneOf`/`not`, and the formats `date-time`,
//!   `email`, `hostname`, `ipv4`, `ipv6` and `uri` (JSON Schema's reading of `uri`: an absolute
//!   URI, stricter than Kubernetes for bare paths).
//!
//! # What is not checked
//!
//! - **CEL rules (`x-kubernetes-validations`) are dropped, not evaluated.** PGO, Route, Strimzi,
//!   MinIO, ClusterVersion and OLM CSV carry about 200 of them; a CR passing here can still be
//!   rejected by such a rule on a real cluster.
//! - `x-kubernetes-list-type` / `x-kubernetes-list-map-keys` uniqueness and
//!   `x-kubernetes-map-type` are ignored.
//! - Formats `int32`, `int64`, `byte`, `duration` and other Kubernetes-only ones are ignored.
//! - Defaulting, pruning, conversion between versions, admission webhooks and anything the
//!   operator itself checks at reconcile time.
//!
//! # Cost
//!
//! [`CrdCatalog::load_dir`] parses every YAML file up front (it must, to learn kinds and served
//! versions) but compiles a kind's schema only on its first [`CrdCatalog::validate`] call.
//! Measured in a debug build on 2 shared cores: loading the 32 CRDs (8.7 MB) takes about 2.5 s
//! (about 4 s of CPU, nearly all YAML parsing, spread over the cores); the first PostgresCluster
//! validation, which compiles its 1.4 MB schema, about 0.15–0.2 s; later ones about 20 µs.
//! Compiling all 35 served schemas takes about 1 s.

mod schema;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// One schema violation in a validated object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// JSON pointer to the offending value in the validated object (`""` is the whole object).
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for Violation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let path = if self.path.is_empty() {
            "/"
        } else {
            &self.path
        };
        write!(f, "{path}: {}", self.message)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{}: invalid YAML: {source}", path.display())]
    Yaml {
        path: PathBuf,
        #[source]
        source: Box<serde_saphyr::Error>,
    },
    #[error("{}: not a CustomResourceDefinition: {reason}", path.display())]
    NotACrd { path: PathBuf, reason: String },
    #[error("{}: unusable schema: {reason}", path.display())]
    Schema { path: PathBuf, reason: String },
}

/// Result of looking for the shared CRD directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Located {
    Found(PathBuf),
    Missing(PathBuf),
}

struct Entry {
    file: PathBuf,
    openapi: Value,
    // Compiled on first use: most callers validate a few kinds, and compiling all 35 served
    // schemas would add about 1 s (debug) to every test binary.
    compiled: OnceLock<Result<jsonschema::Validator, String>>,
}

/// The served versions of a set of CRDs, keyed by (`group/version`, kind).
pub struct CrdCatalog {
    entries: BTreeMap<(String, String), Entry>,
}

impl std::fmt::Debug for CrdCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrdCatalog")
            .field("kinds", &self.entries.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl CrdCatalog {
    /// Loads every `*.yaml` / `*.yml` below `dir`, recursively; each must be one CRD.
    pub fn load_dir(dir: &Path) -> Result<Self, Error> {
        Self::load(&[dir.to_path_buf()], &[])
    }

    /// The CRDs of an install: every `*.yaml`/`*.yml` below each path (a directory, searched
    /// recursively, or a file), plus CRD objects already in memory (`(origin, object)`, e.g. the
    /// CRDs a rendered tree carries). A kind served by two of them is an error naming both, so a
    /// caller cannot validate against a mixture by accident.
    pub fn load(paths: &[PathBuf], objects: &[(String, Value)]) -> Result<Self, Error> {
        let mut files = Vec::new();
        for path in paths {
            if path.is_dir() {
                collect_yaml(path, &mut files)?;
            } else {
                files.push(path.clone());
            }
        }
        // Sorted so that a duplicate kind is always reported against the same file.
        files.sort();
        let mut parsed: Vec<(PathBuf, Result<Vec<ServedVersion>, Error>)> =
            files.iter().cloned().zip(read_all(&files)).collect();
        for (origin, doc) in objects {
            let origin = PathBuf::from(origin);
            let versions = served_versions(doc, &origin);
            parsed.push((origin, versions));
        }
        let mut entries = BTreeMap::new();
        for (file, crd) in parsed {
            for (key, openapi) in crd? {
                if let Some(prev) = entries.get(&key).map(|e: &Entry| e.file.clone()) {
                    return Err(Error::Schema {
                        reason: format!(
                            "{} {} is also defined in {}",
                            key.0,
                            key.1,
                            prev.display()
                        ),
                        path: file.clone(),
                    });
                }
                let entry = Entry {
                    file: file.clone(),
                    openapi,
                    compiled: OnceLock::new(),
                };
                entries.insert(key, entry);
            }
        }
        Ok(Self { entries })
    }

    /// The file (or origin) a served kind was loaded from.
    pub fn source_of(&self, api_version: &str, kind: &str) -> Option<&Path> {
        self.entries
            .get(&(api_version.to_owned(), kind.to_owned()))
            .map(|e| e.file.as_path())
    }

    /// Served (`group/version`, kind) pairs, sorted.
    pub fn kinds(&self) -> Vec<(String, String)> {
        self.entries.keys().cloned().collect()
    }

    /// Whether `api_version` (`group/version`) and `kind` are served by a loaded CRD.
    pub fn knows(&self, api_version: &str, kind: &str) -> bool {
        self.entries
            .contains_key(&(api_version.to_owned(), kind.to_owned()))
    }

    /// Validates `obj` against the schema of its `apiVersion` and `kind`.
    pub fn validate(&self, obj: &Value) -> Result<(), Vec<Violation>> {
        let field = |name: &str| obj.get(name).and_then(Value::as_str);
        let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
            return Err(vec![Violation {
                path: String::new(),
                message: "object needs string fields apiVersion and kind".into(),
            }]);
        };
        let Some(entry) = self.entries.get(&(api_version.to_owned(), kind.to_owned())) else {
            return Err(vec![Violation {
                path: String::new(),
                message: format!(
                    "unknown kind: no served CRD version for apiVersion {api_version:?} kind {kind:?}"
                ),
            }]);
        };
        let validator = entry
            .compiled
            .get_or_init(|| compile(&entry.openapi))
            .as_ref()
            .map_err(|e| {
                vec![Violation {
                    path: String::new(),
                    message: format!(
                        "schema for {api_version} {kind} from {} does not compile: {e}",
                        entry.file.display()
                    ),
                }]
            })?;
        let violations: Vec<Violation> = validator.iter_errors(obj).flat_map(violations).collect();
        if violations.is_empty() {
            Ok(())
        } else {
            Err(violations)
        }
    }
}

fn compile(openapi: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .with_keyword(schema::RE2_PATTERN, |_, pattern, _| {
            let pattern = pattern
                .as_str()
                .ok_or_else(|| jsonschema::ValidationError::schema("pattern is not a string"))?;
            let regex = regex::Regex::new(pattern).map_err(|e| {
                jsonschema::ValidationError::schema(format!("pattern {pattern:?}: {e}"))
            })?;
            Ok(Box::new(Re2Pattern(regex)))
        })
        // Assert the formats jsonschema knows for draft 4, skip Kubernetes-only ones (int32, ...).
        .should_validate_formats(true)
        .should_ignore_unknown_formats(true)
        .build(&schema::to_json_schema(openapi))
        .map_err(|e| format!("{e} (at schema {})", e.instance_path()))
}

/// Kubernetes evaluates `pattern` with Go's RE2; the `regex` crate shares its syntax and
/// semantics (no lookaround or backreferences), except that `\d`/`\w` also match non-ASCII.
struct Re2Pattern(regex::Regex);

impl<'i> jsonschema::Keyword<'i> for Re2Pattern {
    fn validate(&self, instance: &'i Value) -> Result<(), jsonschema::ValidationError<'i>> {
        if self.is_valid(instance) {
            return Ok(());
        }
        Err(jsonschema::ValidationError::custom(format!(
            "{instance} does not match {:?}",
            self.0.as_str()
        )))
    }

    fn is_valid(&self, instance: &'i Value) -> bool {
        instance.as_str().is_none_or(|s| self.0.is_match(s))
    }
}

fn violations(error: jsonschema::ValidationError<'_>) -> Vec<Violation> {
    let path = error.instance_path().to_string();
    if let jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected } =
        error.kind()
    {
        return unexpected
            .iter()
            .map(|name| Violation {
                path: format!("{path}/{}", name.replace('~', "~0").replace('/', "~1")),
                message: format!("unknown field {name:?}"),
            })
            .collect();
    }
    vec![Violation {
        path,
        message: error.to_string(),
    }]
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Error> {
    let io = |source| Error::Io {
        path: dir.to_owned(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}

/// Parses `files` on all cores: YAML parsing is nearly all of the load time (about 4 s for the
/// 8.7 MB of CRDs in a debug build on one core), and the files are independent.
fn read_all(files: &[PathBuf]) -> Vec<Result<Vec<ServedVersion>, Error>> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    // Largest first, so the 2.8 MB PGO file does not start last and leave the other cores idle.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(std::fs::metadata(&files[i]).map_or(0, |m| m.len())));
    let next = AtomicUsize::new(0);
    let mut results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers.min(files.len()))
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) else {
                            break done;
                        };
                        done.push((i, read_crd(&files[i])));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| {
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

type ServedVersion = ((String, String), Value);

/// The served versions of the CRD in `file`, with their `openAPIV3Schema`.
fn read_crd(file: &Path) -> Result<Vec<ServedVersion>, Error> {
    let text = std::fs::read_to_string(file).map_err(|source| Error::Io {
        path: file.to_owned(),
        source,
    })?;
    // The default MergeKeyPolicy::Merge expands `<<` and `!!merge <<` (ClickHouse CRDs need it).
    let doc: Value = serde_saphyr::from_str(&text).map_err(|source| Error::Yaml {
        path: file.to_owned(),
        source: Box::new(source),
    })?;
    served_versions(&doc, file)
}

/// The served versions of one CRD object, with their `openAPIV3Schema`; `file` names it in errors.
fn served_versions(doc: &Value, file: &Path) -> Result<Vec<ServedVersion>, Error> {
    let not_crd = |reason: &str| Error::NotACrd {
        path: file.to_owned(),
        reason: reason.to_owned(),
    };
    if doc.get("kind").and_then(Value::as_str) != Some("CustomResourceDefinition") {
        return Err(not_crd("kind is not CustomResourceDefinition"));
    }
    let spec = doc.get("spec").ok_or_else(|| not_crd("no spec"))?;
    let group = spec
        .get("group")
        .and_then(Value::as_str)
        .ok_or_else(|| not_crd("no spec.group"))?;
    let kind = spec
        .pointer("/names/kind")
        .and_then(Value::as_str)
        .ok_or_else(|| not_crd("no spec.names.kind"))?;
    let versions = spec
        .get("versions")
        .and_then(Value::as_array)
        .ok_or_else(|| not_crd("no spec.versions list"))?;
    let mut served = Vec::new();
    for version in versions {
        if version.get("served").and_then(Value::as_bool) != Some(true) {
            continue;
        }
        let name = version
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| not_crd("a version has no name"))?;
        let openapi = version
            .pointer("/schema/openAPIV3Schema")
            .filter(|s| s.is_object())
            .ok_or_else(|| Error::Schema {
                path: file.to_owned(),
                reason: format!("served version {name} has no schema.openAPIV3Schema object"),
            })?;
        served.push((
            (format!("{group}/{name}"), kind.to_owned()),
            openapi.clone(),
        ));
    }
    Ok(served)
}

/// `$DATALYPTICA_SHARED_DIR`, else `shared` next to the workspace checkout.
fn shared_root() -> PathBuf {
    match std::env::var_os("DATALYPTICA_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

fn locate(dir: PathBuf) -> Located {
    match dir.canonicalize() {
        Ok(found) if found.is_dir() => Located::Found(found),
        _ => Located::Missing(dir),
    }
}

/// The shared CRD directory: `$DATALYPTICA_SHARED_DIR/crds`, else `shared/crds` next to the
/// workspace checkout.
pub fn crds_dir() -> Located {
    locate(shared_root().join("crds"))
}

/// What the OpenShift catalogs deliver: `$DATALYPTICA_SHARED_DIR/catalog` (`index.yaml` and each
/// channel head's CRDs under `<package>/<bundle version>/`).
pub fn catalog_dir() -> Located {
    locate(shared_root().join("catalog"))
}

/// A located shared directory for a test: `Some` when found; `None` after a loud SKIPPED banner
/// when missing; a panic when missing and `CI=true`.
pub fn shared_for_tests(located: Located) -> Option<PathBuf> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    match decide(located, ci) {
        Decision::Load(dir) => Some(dir),
        Decision::Skip(banner) => {
            eprintln!("{banner}");
            None
        }
        Decision::Fail(message) => panic!("{message}"),
    }
}

/// What [`catalog_for_tests`] does about a located (or not) CRD directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Load(PathBuf),
    /// Skip with this banner: a developer without the shared dir can still run the rest.
    Skip(String),
    /// Panic with this message: in CI a silent skip would hide that nothing was checked.
    Fail(String),
}

pub fn decide(located: Located, ci: bool) -> Decision {
    match located {
        Located::Found(dir) => Decision::Load(dir),
        Located::Missing(dir) if ci => Decision::Fail(format!(
            "CRD schemas not found at {} and CI=true: conformance checks must not be skipped in CI \
             (set DATALYPTICA_SHARED_DIR)",
            dir.display()
        )),
        Located::Missing(dir) => {
            let rule = "=".repeat(78);
            Decision::Skip(format!(
                "{rule}\nSKIPPED: CRD schemas not found at {} (set DATALYPTICA_SHARED_DIR)\n{rule}",
                dir.display()
            ))
        }
    }
}

/// The catalog from [`crds_dir`], loaded once per test binary. `None` (after a loud banner on
/// stderr) when the directory is missing; panics instead when `CI=true`, or if loading fails.
pub fn catalog_for_tests() -> Option<&'static CrdCatalog> {
    static CATALOG: OnceLock<Result<CrdCatalog, String>> = OnceLock::new();
    let loaded = CATALOG.get_or_init(|| {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        match decide(crds_dir(), ci) {
            Decision::Load(dir) => match CrdCatalog::load_dir(&dir) {
                Ok(catalog) => Ok(catalog),
                Err(e) => panic!("loading CRD schemas: {e}"),
            },
            Decision::Skip(banner) => Err(banner),
            Decision::Fail(message) => panic!("{message}"),
        }
    });
    match loaded {
        Ok(catalog) => Some(catalog),
        Err(banner) => {
            // Repeated per caller so each skipped test shows it in its own output.
            eprintln!("{banner}");
            None
        }
    }
}
