//! Flux: a GitRepository and one Kustomization per unit. `dependsOn` follows the dependency
//! graph (every component also depends on the prerequisites unit, which installs the
//! operators); `healthChecks` are the deploy gates' objects, `healthCheckExprs` say when the
//! custom resources among them are ready (the same rules as the Argo CD checks), `timeout` is
//! the sum of the gates' timeouts, `prune` is on. kustomize-controller always applies
//! server-side (field manager `kustomize-controller`), like `deploy`.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::health;
use super::{DIR, Options, Unit, go_duration, labels, object_file};
use crate::component::{Content, File};
use crate::crs::Cr;
use crate::crs::gitops::{
    DependsOn, GIT_REPOSITORY, GitRef, GitRepositorySpec, HealthCheckExpr, HealthCheckRef,
    KUSTOMIZATION, KustomizationSpec, SourceRef,
};
use crate::k8s;
use crate::model::Model;
use crate::render::{GENERATED_BY, to_yaml};

pub const NAMESPACE: &str = "flux-system";

fn name_of(m: &Model, unit: &str) -> String {
    format!("{}-{unit}", m.name)
}

/// A revision that is 40 hex digits is a commit, one starting with `v` and a digit a tag,
/// anything else a branch.
fn git_ref(rev: &str) -> GitRef {
    let commit = rev.len() == 40 && rev.chars().all(|c| c.is_ascii_hexdigit());
    let tag = rev.starts_with('v') && rev[1..].starts_with(|c: char| c.is_ascii_digit());
    GitRef {
        commit: commit.then(|| rev.to_string()),
        tag: (!commit && tag).then(|| rev.to_string()),
        branch: (!commit && !tag).then(|| rev.to_string()),
    }
}

fn kustomization(m: &Model, u: &Unit, units: &[Unit], opts: &Options) -> Value {
    let mut depends_on = Vec::new();
    if u.wave > 0 {
        depends_on.push(DependsOn {
            name: name_of(m, "prerequisites"),
        });
    }
    if u.component.is_some() && units.iter().any(|x| x.name == "object-store") {
        depends_on.push(DependsOn {
            name: name_of(m, "object-store"),
        });
    }
    for d in &u.deps {
        depends_on.push(DependsOn {
            name: name_of(m, d.name()),
        });
    }
    let mut checks: Vec<HealthCheckRef> = u
        .gates
        .iter()
        .map(|g| HealthCheckRef {
            api_version: g.kind.api_version().into(),
            kind: g.kind.to_string(),
            name: g.name.clone(),
            namespace: g.namespace.clone(),
        })
        .collect();
    let mut exprs: Vec<HealthCheckExpr> = Vec::new();
    // Custom resources of the unit with a readiness rule: checked too (the RedisReplication's
    // master, which the gate reads from pod labels), and given their rule.
    for o in &u.objects {
        let (av, kind) = (
            o["apiVersion"].as_str().unwrap_or_default(),
            o["kind"].as_str().unwrap_or_default(),
        );
        let Some(k) = health::of(av, kind) else {
            continue;
        };
        let name = o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        if !checks.iter().any(|c| c.kind == kind && c.name == name) {
            checks.push(HealthCheckRef {
                api_version: av.into(),
                kind: kind.into(),
                name,
                namespace: o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            });
        }
        if !exprs.iter().any(|e| e.kind == kind) {
            exprs.push(HealthCheckExpr {
                api_version: av.into(),
                kind: kind.into(),
                current: k.cel_current.into(),
                failed: k.cel_failed.map(str::to_string),
            });
        }
    }
    // The prerequisites unit waits for every operator's Subscription to have installed a CSV.
    if u.wave == 0 {
        for o in u.objects.iter().filter(|o| o["kind"] == "Subscription") {
            checks.push(HealthCheckRef {
                api_version: o["apiVersion"].as_str().unwrap_or_default().into(),
                kind: "Subscription".into(),
                name: o["metadata"]["name"].as_str().unwrap_or_default().into(),
                namespace: o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .into(),
            });
            if !exprs.iter().any(|e| e.kind == "Subscription") {
                exprs.push(HealthCheckExpr {
                    api_version: o["apiVersion"].as_str().unwrap_or_default().into(),
                    kind: "Subscription".into(),
                    current: SUBSCRIPTION_CURRENT.into(),
                    failed: None,
                });
            }
        }
    }
    let timeout = u.timeout().max(std::time::Duration::from_secs(600));
    k8s::to_value(&Cr {
        api_version: KUSTOMIZATION.0,
        kind: KUSTOMIZATION.1,
        metadata: ObjectMeta {
            name: Some(name_of(m, &u.name)),
            namespace: Some(NAMESPACE.into()),
            labels: Some(labels(m)),
            ..Default::default()
        },
        spec: KustomizationSpec {
            interval: "10m".into(),
            retry_interval: "1m".into(),
            timeout: go_duration(timeout),
            path: format!("./{}", opts.repo_path(&u.dir)),
            prune: true,
            // Health is the gates' objects (healthChecks), not every applied object.
            wait: false,
            source_ref: SourceRef {
                kind: "GitRepository",
                name: m.name.clone(),
            },
            depends_on,
            health_checks: checks,
            health_check_exprs: exprs,
        },
    })
}

/// OLM has installed a CSV for the Subscription (the gate then waits for it to succeed).
pub const SUBSCRIPTION_CURRENT: &str = "has(status.installedCSV) && status.installedCSV != '' && has(status.state) && status.state == 'AtLatestKnown'";

pub fn files(m: &Model, units: &[Unit], opts: &Options) -> (Vec<File>, String) {
    let base = format!("{DIR}/flux");
    let repo = k8s::to_value(&Cr {
        api_version: GIT_REPOSITORY.0,
        kind: GIT_REPOSITORY.1,
        metadata: ObjectMeta {
            name: Some(m.name.clone()),
            namespace: Some(NAMESPACE.into()),
            labels: Some(labels(m)),
            ..Default::default()
        },
        spec: GitRepositorySpec {
            url: opts.repo.clone(),
            interval: "5m".into(),
            reference: git_ref(&opts.revision),
        },
    });
    let ks: Vec<Value> = units
        .iter()
        .map(|u| kustomization(m, u, units, opts))
        .collect();
    let kustomization_yaml = serde_json::json!({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "sortOptions": {"order": "fifo"},
        "resources": ["git-repository.yaml", "kustomizations.yaml"],
    });
    let files = vec![
        object_file(
            format!("{base}/git-repository.yaml"),
            "The repository holding this tree (add spec.secretRef for a private one).".into(),
            vec![repo],
        ),
        object_file(
            format!("{base}/kustomizations.yaml"),
            "One Kustomization per unit: dependsOn from the dependency graph, health from the deploy gates.".into(),
            ks,
        ),
        File {
            path: format!("{base}/kustomization.yaml"),
            content: Content::Markdown(format!(
                "# {GENERATED_BY}\n# Bootstrap: oc apply -k {base}\n{}",
                to_yaml(&kustomization_yaml)
            )),
        },
    ];
    let how = format!(
        "## Flux\n\n1. Create the Secrets below that are yours (never in Git).\n2. `oc apply -k {base}` (or point your cluster's Flux at `{base}`): GitRepository `{}` in `{NAMESPACE}` and one Kustomization per unit below. Each applies its directory's `kustomization.yaml` server-side, prunes, waits for the deploy gates' objects (`healthChecks`, with `healthCheckExprs` for the custom resources) within the gates' total timeout, and starts only after the units it depends on are ready.\n",
        m.name
    );
    (files, how)
}
