//! Argo CD (OpenShift GitOps): an app-of-apps. `bootstrap.yaml` (two AppProjects and the root
//! Application, applied once by hand) points at `apps/`, which holds one Application per unit
//! with `argocd.argoproj.io/sync-wave` = its place in the deploy order. Health checks for the
//! custom resources (and for Application itself, so the root waits wave by wave) come in two
//! forms: `health-checks-openshift-gitops.yaml` (the `ArgoCD` resource's
//! `spec.resourceHealthChecks`, since the operator owns `argocd-cm`) and
//! `health-checks-argocd-cm.yaml` (the `argocd-cm` keys of a plain Argo CD install).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::Value;

use super::health::{self, APPLICATION_LUA};
use super::{DIR, Options, Unit, labels, object_file};
use crate::component::File;
use crate::crs::Cr;
use crate::crs::gitops::{
    APP_PROJECT, APPLICATION, ARGOCD, AppProjectSpec, ApplicationSource, ApplicationSpec,
    ArgoCdSpec, Automated, Backoff, Destination, GroupKind, IgnoreDifference, ResourceHealthCheck,
    Retry, SyncPolicy,
};
use crate::k8s;
use crate::model::Model;

/// Namespace of OpenShift GitOps' default instance (and of its `ArgoCD` resource).
pub const NAMESPACE: &str = "openshift-gitops";
pub const INSTANCE: &str = "openshift-gitops";
const SERVER: &str = "https://kubernetes.default.svc";

pub fn app_name(m: &Model, unit: &str) -> String {
    format!("{}-{unit}", m.name)
}

pub fn project_name(m: &Model) -> String {
    m.name.clone()
}

fn root_project_name(m: &Model) -> String {
    format!("{}-root", m.name)
}

fn meta(m: &Model, name: String, wave: Option<usize>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name),
        namespace: Some(NAMESPACE.into()),
        labels: Some(labels(m)),
        annotations: wave
            .map(|w| BTreeMap::from([("argocd.argoproj.io/sync-wave".to_string(), w.to_string())])),
        ..Default::default()
    }
}

fn sync_policy() -> SyncPolicy {
    SyncPolicy {
        automated: Automated {
            prune: true,
            self_heal: true,
        },
        sync_options: vec![
            // The same apply as `deploy`: server-side, so fields other managers own (operators,
            // OpenShift) are left to them.
            "ServerSideApply=true".into(),
            // Fields listed in ignoreDifferences are not overwritten on sync either.
            "RespectIgnoreDifferences=true".into(),
            // Namespaces come from the prerequisites unit.
            "CreateNamespace=false".into(),
            "PruneLast=true".into(),
        ],
        retry: Retry {
            limit: 10,
            backoff: Backoff {
                duration: "30s".into(),
                factor: 2,
                max_duration: "10m".into(),
            },
        },
    }
}

/// Fields written by someone else than the tree, for the kinds a unit applies.
fn ignore_differences(u: &Unit) -> Vec<IgnoreDifference> {
    let mut out = Vec::new();
    let has = |f: &dyn Fn(&Value) -> bool| u.objects.iter().any(f);
    if has(&|o| {
        o["kind"] == "ConfigMap"
            && o["metadata"]["annotations"]["service.beta.openshift.io/inject-cabundle"] == "true"
    }) {
        // The service CA operator writes the CA bundle into annotated ConfigMaps.
        out.push(IgnoreDifference {
            group: String::new(),
            kind: "ConfigMap".into(),
            jq_path_expressions: vec![".data[\"service-ca.crt\"]".into()],
        });
    }
    if has(&|o| o["kind"] == "Namespace") {
        // OpenShift's label syncer and SCC admission own these on every project.
        out.push(IgnoreDifference {
            group: String::new(),
            kind: "Namespace".into(),
            jq_path_expressions: vec![
                ".metadata.labels[\"pod-security.kubernetes.io/enforce\"]".into(),
                ".metadata.labels[\"pod-security.kubernetes.io/enforce-version\"]".into(),
                ".metadata.annotations[\"openshift.io/sa.scc.mcs\"]".into(),
                ".metadata.annotations[\"openshift.io/sa.scc.supplemental-groups\"]".into(),
                ".metadata.annotations[\"openshift.io/sa.scc.uid-range\"]".into(),
            ],
        });
    }
    out
}

fn application(m: &Model, u: &Unit, opts: &Options) -> Value {
    k8s::to_value(&Cr {
        api_version: APPLICATION.0,
        kind: APPLICATION.1,
        metadata: meta(m, app_name(m, &u.name), Some(u.wave)),
        spec: ApplicationSpec {
            project: project_name(m),
            source: ApplicationSource {
                repo_url: opts.repo.clone(),
                target_revision: opts.revision.clone(),
                path: opts.repo_path(&u.dir),
            },
            destination: Destination {
                server: SERVER.into(),
                // Objects carry their own namespaces; units without one (prerequisites,
                // object store) name the operators' namespace, which the project admits.
                namespace: Some(
                    u.namespace
                        .clone()
                        .unwrap_or_else(|| m.operators_namespace.clone()),
                ),
            },
            sync_policy: sync_policy(),
            ignore_differences: ignore_differences(u),
        },
    })
}

fn group_of(o: &Value) -> String {
    let av = o["apiVersion"].as_str().unwrap_or_default();
    match av.split_once('/') {
        Some((g, _)) => g.to_string(),
        None => String::new(),
    }
}

/// The platform's project: its repository, its namespaces, the kinds it applies.
fn project(m: &Model, units: &[Unit], opts: &Options) -> Value {
    let mut cluster: BTreeSet<GroupKind> = BTreeSet::new();
    let mut namespaced: BTreeSet<GroupKind> = BTreeSet::new();
    let mut namespaces: BTreeSet<String> =
        crate::prereqs::owned_namespaces(m).into_iter().collect();
    namespaces.insert(m.operators_namespace.clone());
    for o in units.iter().flat_map(|u| u.objects.iter()) {
        let gk = GroupKind {
            group: group_of(o),
            kind: o["kind"].as_str().unwrap_or_default().to_string(),
        };
        match o["metadata"]["namespace"].as_str() {
            Some(ns) => {
                namespaces.insert(ns.to_string());
                namespaced.insert(gk);
            }
            None => {
                cluster.insert(gk);
            }
        }
    }
    let mut destinations: Vec<Destination> = namespaces
        .into_iter()
        .map(|ns| Destination {
            server: SERVER.into(),
            namespace: Some(ns),
        })
        .collect();
    destinations.sort();
    k8s::to_value(&Cr {
        api_version: APP_PROJECT.0,
        kind: APP_PROJECT.1,
        metadata: meta(m, project_name(m), None),
        spec: AppProjectSpec {
            description: format!(
                "Datalyptica platform `{}`: its namespaces and the kinds its tree applies",
                m.name
            ),
            source_repos: vec![opts.repo.clone()],
            destinations,
            cluster_resource_whitelist: cluster.into_iter().collect(),
            namespace_resource_whitelist: namespaced.into_iter().collect(),
        },
    })
}

/// The root's project: Applications in the Argo CD namespace, nothing else.
fn root_project(m: &Model, opts: &Options) -> Value {
    k8s::to_value(&Cr {
        api_version: APP_PROJECT.0,
        kind: APP_PROJECT.1,
        metadata: meta(m, root_project_name(m), None),
        spec: AppProjectSpec {
            description: format!(
                "Datalyptica platform `{}`: the app-of-apps root (Applications only)",
                m.name
            ),
            source_repos: vec![opts.repo.clone()],
            destinations: vec![Destination {
                server: SERVER.into(),
                namespace: Some(NAMESPACE.into()),
            }],
            cluster_resource_whitelist: vec![],
            namespace_resource_whitelist: vec![GroupKind {
                group: "argoproj.io".into(),
                kind: "Application".into(),
            }],
        },
    })
}

fn root_application(m: &Model, opts: &Options) -> Value {
    k8s::to_value(&Cr {
        api_version: APPLICATION.0,
        kind: APPLICATION.1,
        metadata: meta(m, m.name.clone(), None),
        spec: ApplicationSpec {
            project: root_project_name(m),
            source: ApplicationSource {
                repo_url: opts.repo.clone(),
                target_revision: opts.revision.clone(),
                path: opts.repo_path(&format!("{DIR}/argocd/apps")),
            },
            destination: Destination {
                server: SERVER.into(),
                namespace: Some(NAMESPACE.into()),
            },
            sync_policy: SyncPolicy {
                sync_options: vec!["ServerSideApply=true".into()],
                ..sync_policy()
            },
            ignore_differences: vec![],
        },
    })
}

/// (group, kind, script) of every health check the synced objects need, Application first.
pub fn health_checks(units: &[Unit]) -> Vec<(String, String, String)> {
    let mut out = vec![(
        "argoproj.io".to_string(),
        "Application".to_string(),
        APPLICATION_LUA.to_string(),
    )];
    for k in health::kinds() {
        let used = units.iter().flat_map(|u| u.objects.iter()).any(|o| {
            o["kind"] == k.kind()
                && o["apiVersion"].as_str().is_some_and(|a| {
                    a.starts_with(k.group()) && a[k.group().len()..].starts_with('/')
                })
        });
        if used {
            out.push((
                k.group().to_string(),
                k.kind().to_string(),
                k.lua.to_string(),
            ));
        }
    }
    out
}

pub fn files(m: &Model, units: &[Unit], opts: &Options) -> (Vec<File>, String) {
    let base = format!("{DIR}/argocd");
    let checks = health_checks(units);
    let argocd = k8s::to_value(&Cr {
        api_version: ARGOCD.0,
        kind: ARGOCD.1,
        metadata: ObjectMeta {
            name: Some(INSTANCE.into()),
            namespace: Some(NAMESPACE.into()),
            ..Default::default()
        },
        spec: ArgoCdSpec {
            resource_health_checks: checks
                .iter()
                .map(|(g, k, s)| ResourceHealthCheck {
                    group: g.clone(),
                    kind: k.clone(),
                    check: s.clone(),
                })
                .collect(),
        },
    });
    let cm = k8s::to_value(&ConfigMap {
        metadata: ObjectMeta {
            name: Some("argocd-cm".into()),
            namespace: Some("argocd".into()),
            labels: Some(BTreeMap::from([(
                "app.kubernetes.io/part-of".to_string(),
                "argocd".to_string(),
            )])),
            ..Default::default()
        },
        data: Some(
            checks
                .iter()
                .map(|(g, k, s)| (format!("resource.customizations.health.{g}_{k}"), s.clone()))
                .collect(),
        ),
        ..Default::default()
    });
    let apps: Vec<Value> = units.iter().map(|u| application(m, u, opts)).collect();
    let files = vec![
        object_file(
            format!("{base}/bootstrap.yaml"),
            format!(
                "Apply once: oc apply --server-side -f {base}/bootstrap.yaml\nThe platform's AppProject (its namespaces and kinds), the root's AppProject (Applications only) and the root Application, which syncs {base}/apps/."
            ),
            vec![project(m, units, opts), root_project(m, opts), root_application(m, opts)],
        ),
        object_file(
            format!("{base}/apps/applications.yaml"),
            "One Application per unit; sync-wave = the deploy order (prerequisites and operators, object store, then phase by phase and dependency wave by dependency wave).".into(),
            apps,
        ),
        object_file(
            format!("{base}/health-checks-openshift-gitops.yaml"),
            format!(
                "OpenShift GitOps: custom health checks in the ArgoCD resource (the operator owns argocd-cm).\nApply before the root: oc apply --server-side --field-manager datalyptica -f {base}/health-checks-openshift-gitops.yaml\nspec.resourceHealthChecks is one list: merge it with checks you already have."
            ),
            vec![argocd],
        ),
        object_file(
            format!("{base}/health-checks-argocd-cm.yaml"),
            "Plain Argo CD: the same checks as argocd-cm keys (resource.customizations.health.<group>_<kind>).\nMerge into your argocd-cm (namespace of your install): oc patch cm argocd-cm -n argocd --type merge --patch-file …".into(),
            vec![cm],
        ),
    ];
    let how = format!(
        "## Argo CD / OpenShift GitOps\n\n1. Health checks: `oc apply --server-side --field-manager datalyptica -f {base}/health-checks-openshift-gitops.yaml` (OpenShift GitOps; a plain Argo CD takes `health-checks-argocd-cm.yaml` into its `argocd-cm`). Without the `argoproj.io/Application` check the root does not wait between waves.\n2. Create the Secrets below that are yours (never in Git).\n3. `oc apply --server-side -f {base}/bootstrap.yaml`: AppProject `{}` (sources `{}`, the platform's namespaces, only the kinds of this tree), AppProject `{}` and the root Application `{}` in `{NAMESPACE}`.\n4. The root syncs `{base}/apps/`: one Application per unit below, in sync waves; each waits for the previous wave to be Synced and Healthy. Every Application applies server-side (`ServerSideApply=true`), prunes, self-heals and retries.\n\nThe Argo CD instance must be allowed to manage the platform's namespaces (OpenShift GitOps: label each with `argocd.argoproj.io/managed-by={NAMESPACE}`, or use the cluster-scoped instance).\n",
        project_name(m),
        opts.repo,
        root_project_name(m),
        m.name
    );
    (files, how)
}
