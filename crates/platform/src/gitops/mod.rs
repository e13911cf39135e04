//! `render --gitops argocd|flux`: the deploy order, gates and object selection of
//! `datalyptica deploy`, given to a GitOps engine. Pure: model + rendered tree → more files.
//!
//! Both engines sync the same units: `00-prerequisites/` (namespaces, network policies,
//! storage classes, the OperatorGroup and Subscriptions, ExternalSecrets), `04-object-store/`
//! when the backend is not MinIO, then each component directory. Each unit directory gets a
//! `kustomization.yaml` listing exactly the files `deploy` applies from it (templates and the
//! per-component copy of the Subscription, `operator-install.yaml`, stay out), in apply order.
//! A carried operator's `operator-install.yaml` (MinIO's: no catalog offers it) is the one
//! install that is synced, first in its component's unit.

pub mod argocd;
pub mod flux;
pub mod health;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Value, json};

use crate::component::{ComponentId, Content, File, Gate};
use crate::components::ALL;
use crate::model::Model;
use crate::order;
use crate::prereqs;
use crate::render::{GENERATED_BY, Tree, to_yaml};
use crate::security::{self, SecretSource};
use crate::spec::SecretsMode;

/// Directory of the GitOps files in the tree.
pub const DIR: &str = "gitops";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    ArgoCd,
    Flux,
}

impl Engine {
    pub fn name(self) -> &'static str {
        match self {
            Engine::ArgoCd => "argocd",
            Engine::Flux => "flux",
        }
    }
}

/// Where the rendered tree lives in Git.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    pub engine: Engine,
    pub repo: String,
    pub revision: String,
    /// The tree's directory inside the repository (`.` for its root).
    pub path: String,
}

impl Options {
    /// `path/dir`, with `.` and surrounding slashes handled.
    pub fn repo_path(&self, dir: &str) -> String {
        let base = self.path.trim_matches('/');
        if base.is_empty() || base == "." {
            dir.to_string()
        } else {
            format!("{base}/{dir}")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GitopsError {
    #[error(
        "--gitops needs Secrets that live outside the tree, but spec.secrets.mode is `generated` \
         (deploy creates them at apply time; generated secrets do not belong in Git). Set \
         spec.secrets.mode to `sealed-secrets` or `external-secrets` (with spec.secrets.storeRef) \
         and render again"
    )]
    GeneratedSecrets,
    #[error("{0}")]
    Cycle(String),
    #[error(
        "{0} mixes objects deploy applies with objects it does not (templates, Subscriptions); it cannot be listed in a kustomization.yaml"
    )]
    MixedFile(String),
    #[error("--repo must not be empty")]
    NoRepo,
}

/// One synced unit: a directory of the tree and its place in the deploy order.
#[derive(Debug, Clone)]
pub struct Unit {
    /// Short name (`prerequisites`, `object-store`, or the component's name).
    pub name: String,
    pub dir: String,
    /// Files listed in its kustomization.yaml, in apply order.
    pub files: Vec<String>,
    /// The synced objects, in apply order.
    pub objects: Vec<Value>,
    /// Position in the deploy order (0: prerequisites and operators, 1: object store, 2…:
    /// the stages, phase by phase and dependency wave by dependency wave).
    pub wave: usize,
    pub component: Option<ComponentId>,
    pub namespace: Option<String>,
    pub deps: Vec<ComponentId>,
    pub gates: Vec<Gate>,
}

impl Unit {
    /// Worst-case time deploy waits for this unit: its gates one after the other.
    pub fn timeout(&self) -> Duration {
        self.gates.iter().map(|g| g.timeout).sum()
    }
}

/// The ordered files of a directory's synced objects; an error if a file mixes synced and
/// unsynced objects.
fn files_of(tree: &Tree, dir: &str, synced: &[(&str, &Value)]) -> Result<Vec<String>, GitopsError> {
    let mut files: Vec<String> = Vec::new();
    for (f, _) in synced {
        if !files.iter().any(|x| x == f) {
            files.push(f.to_string());
        }
    }
    for f in &files {
        let all = tree.files.get(f).map(|x| x.objects().len()).unwrap_or(0);
        let mine = synced.iter().filter(|(p, _)| p == f).count();
        if all != mine {
            return Err(GitopsError::MixedFile(f.clone()));
        }
    }
    let prefix = format!("{dir}/");
    Ok(files
        .into_iter()
        .map(|f| f.trim_start_matches(&prefix).to_string())
        .collect())
}

/// The units of the tree in deploy order.
pub fn units(m: &Model, tree: &Tree) -> Result<Vec<Unit>, GitopsError> {
    let mut out = Vec::new();
    let pre = order::prerequisite_objects(tree);
    out.push(Unit {
        name: "prerequisites".into(),
        dir: prereqs::DIR.into(),
        files: files_of(tree, prereqs::DIR, &pre)?,
        objects: pre.iter().map(|(_, o)| (*o).clone()).collect(),
        wave: 0,
        component: None,
        namespace: None,
        deps: vec![],
        gates: vec![],
    });
    let os = order::object_store_objects(tree);
    if !os.is_empty() {
        out.push(Unit {
            name: "object-store".into(),
            dir: prereqs::OBJECT_STORE_DIR.into(),
            files: files_of(tree, prereqs::OBJECT_STORE_DIR, &os)?,
            objects: os.iter().map(|(_, o)| (*o).clone()).collect(),
            wave: 1,
            component: None,
            namespace: None,
            deps: vec![],
            gates: vec![],
        });
    }
    let stages = order::stages(m).map_err(|c| GitopsError::Cycle(c.to_string()))?;
    for (i, stage) in stages.iter().enumerate() {
        for id in &stage.components {
            let Some(c) = ALL.iter().find(|c| c.id() == *id) else {
                continue;
            };
            // A carried operator has no Subscription for the prerequisites unit to sync: its
            // component's unit installs it, first. Both engines apply CustomResourceDefinitions
            // before the custom resources of the same sync (Argo CD skips their dry run; Flux
            // applies CRDs in a stage of their own), and the unit's gates wait for the rest.
            let mut objs = order::carried_install(tree, *c);
            objs.extend(order::component_objects(m, tree, *c));
            // Files of the directory holding only the Subscription copy or templates are not
            // synced at all; the rest must be wholly synced.
            let synced_files = files_of(tree, c.dir(), &objs)?;
            out.push(Unit {
                name: id.name().into(),
                dir: c.dir().into(),
                files: synced_files,
                objects: objs.iter().map(|(_, o)| (*o).clone()).collect(),
                wave: 2 + i,
                component: Some(*id),
                namespace: Some(m.get(*id).namespace.clone()),
                deps: m.deps_of(*c),
                gates: c.gates(m),
            });
        }
    }
    Ok(out)
}

/// `kustomization.yaml` of a unit: its files in apply order (`sortOptions: fifo` keeps that
/// order in `kustomize build`).
fn kustomization_file(u: &Unit) -> File {
    let doc = json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "sortOptions": {"order": "fifo"},
        "resources": u.files,
    });
    File {
        path: format!("{}/kustomization.yaml", u.dir),
        content: Content::Markdown(format!(
            "# {GENERATED_BY}\n# The files `datalyptica deploy` applies from this directory, in its order (GitOps unit `{}`).\n{}",
            u.name,
            to_yaml(&doc)
        )),
    }
}

fn objects_file(path: String, header: String, objects: Vec<Value>) -> File {
    File {
        path,
        content: Content::Objects { header, objects },
    }
}

/// Secrets the user provides (never in Git) and the copies deploy makes that a GitOps engine
/// does not: both must exist before the components that read them sync.
fn secrets_section(m: &Model, tree: &Tree) -> String {
    let all: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let inv = security::secret_inventory(m, &all);
    let mode = m.platform.spec.secrets.mode;
    let mut s = String::from("## Secrets (prerequisites, never in Git)\n\n");
    s.push_str(match mode {
        SecretsMode::ExternalSecrets => "The prerequisites unit applies `00-prerequisites/external-secrets.yaml`; store every value below first, and make the copies by hand.\n\n",
        _ => "Seal every *platform* and *user* Secret below with `kubeseal` and have them applied before the components sync (your own Application or Kustomization over the directory holding them, or `oc apply`); this tree never contains them, and re-rendering does not touch them.\n\n",
    });
    s.push_str("| Namespace | Secret | Keys | Source | Provided by |\n|---|---|---|---|---|\n");
    for e in &inv {
        let keys = e.keys_cell();
        let (src, by) = match &e.source {
            SecretSource::Platform | SecretSource::User(_) => {
                let src = match &e.source {
                    SecretSource::User(why) => format!("user: {why}"),
                    _ => "platform".to_string(),
                };
                let by = match mode {
                    SecretsMode::ExternalSecrets => {
                        "ExternalSecret in `00-prerequisites/external-secrets.yaml` (store the value first)"
                    }
                    _ => "a SealedSecret you commit (see `00-prerequisites/secrets.md`)",
                };
                (src, by.to_string())
            }
            SecretSource::Copy { namespace, name } => (
                format!("copy of `{namespace}/{name}`"),
                format!(
                    "you: `oc extract secret/{name} -n {namespace} --to=- | …` into `{}/{}` (or a secret-sync tool); the GitOps engine does not copy it",
                    e.namespace, e.name
                ),
            ),
            SecretSource::Created(by) => (format!("created by {by}"), "the cluster".into()),
            SecretSource::Issued { ca, .. } => (
                format!("certificate from the CA in `{ca}`"),
                "you: `datalyptica deploy` issues it, a GitOps engine does not; create it (and the CA) before the unit syncs".into(),
            ),
        };
        s.push_str(&format!(
            "| `{}` | `{}` | {keys} | {src} | {by} |\n",
            e.namespace, e.name
        ));
    }
    s
}

/// The GitOps files for `opts.engine`, plus a kustomization.yaml in every synced directory.
pub fn files(m: &Model, tree: &Tree, opts: &Options) -> Result<Vec<File>, GitopsError> {
    if m.platform.spec.secrets.mode == SecretsMode::Generated {
        return Err(GitopsError::GeneratedSecrets);
    }
    if opts.repo.trim().is_empty() {
        return Err(GitopsError::NoRepo);
    }
    let units = units(m, tree)?;
    let mut out: Vec<File> = units.iter().map(kustomization_file).collect();
    let (engine_files, how) = match opts.engine {
        Engine::ArgoCd => argocd::files(m, &units, opts),
        Engine::Flux => flux::files(m, &units, opts),
    };
    out.extend(engine_files);
    let mut readme = format!(
        "# GitOps ({}) — platform `{}`\n\nGenerated by `datalyptica render --gitops {}` from the platform spec. Commit the whole tree to `{}` (revision `{}`, path `{}`).\n\n{how}\n## Units in deploy order\n\n| Wave | Unit | Directory | Depends on | Waits for |\n|---|---|---|---|---|\n",
        opts.engine.name(),
        m.name,
        opts.engine.name(),
        opts.repo,
        opts.revision,
        opts.path,
    );
    for u in &units {
        let deps: Vec<String> = u.deps.iter().map(|d| d.to_string()).collect();
        let gates: Vec<String> = u
            .gates
            .iter()
            .map(|g| format!("{} {}/{}", g.kind, g.namespace, g.name))
            .collect();
        readme.push_str(&format!(
            "| {} | {} | `{}/` | {} | {} |\n",
            u.wave,
            u.name,
            u.dir,
            if deps.is_empty() {
                "—".into()
            } else {
                deps.join(", ")
            },
            if gates.is_empty() {
                "Subscriptions installed".into()
            } else {
                gates.join(", ")
            }
        ));
    }
    readme.push_str("\nNot synced: templates (`spark-application-template.yaml`), the per-component copy of each Subscription (`operator-install.yaml`; the prerequisites unit applies them all), Markdown. A carried operator's `operator-install.yaml` (upstream manifests, no Subscription) is synced first in its component's unit.\n\n");
    readme.push_str(&secrets_section(m, tree));
    out.push(File {
        path: format!("{DIR}/README.md"),
        content: Content::Markdown(readme),
    });
    Ok(out)
}

/// The platform tree plus the GitOps files of `opts`.
pub fn render(p: &crate::Platform, opts: &Options) -> Result<Tree, GitopsError> {
    let mut tree = crate::render(p);
    let m = Model::new(p);
    for f in files(&m, &tree, opts)? {
        tree.files.insert(f.path.clone(), f);
    }
    Ok(tree)
}

/// Labels every GitOps object carries.
pub(crate) fn labels(m: &Model) -> BTreeMap<String, String> {
    prereqs::platform_labels(m)
}

pub(crate) fn object_file(path: String, header: String, objects: Vec<Value>) -> File {
    objects_file(path, header, objects)
}

/// Format a duration for Flux and Argo CD (Go `time.ParseDuration`).
pub(crate) fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}
