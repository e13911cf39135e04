//! GitOps engines' resources: Argo CD `argoproj.io/v1alpha1` Application and AppProject, the
//! argocd-operator's `argoproj.io/v1beta1` ArgoCD (OpenShift GitOps), Flux
//! `source.toolkit.fluxcd.io/v1` GitRepository and `kustomize.toolkit.fluxcd.io/v1`
//! Kustomization. Only the fields we set are modelled; the conformance tests check them against
//! the upstream CRDs in `$DATALYPTICA_SHARED_DIR/crds/gitops`.

use serde::Serialize;

pub const APPLICATION: (&str, &str) = ("argoproj.io/v1alpha1", "Application");
pub const APP_PROJECT: (&str, &str) = ("argoproj.io/v1alpha1", "AppProject");
pub const ARGOCD: (&str, &str) = ("argoproj.io/v1beta1", "ArgoCD");
pub const GIT_REPOSITORY: (&str, &str) = ("source.toolkit.fluxcd.io/v1", "GitRepository");
pub const KUSTOMIZATION: (&str, &str) = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization");

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSpec {
    pub project: String,
    pub source: ApplicationSource,
    pub destination: Destination,
    pub sync_policy: SyncPolicy,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignore_differences: Vec<IgnoreDifference>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ApplicationSource {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    pub target_revision: String,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Destination {
    pub server: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SyncPolicy {
    pub automated: Automated,
    pub sync_options: Vec<String>,
    pub retry: Retry,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Automated {
    pub prune: bool,
    pub self_heal: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Retry {
    pub limit: i64,
    pub backoff: Backoff,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backoff {
    pub duration: String,
    pub factor: i64,
    pub max_duration: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IgnoreDifference {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
    pub kind: String,
    pub jq_path_expressions: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppProjectSpec {
    pub description: String,
    pub source_repos: Vec<String>,
    pub destinations: Vec<Destination>,
    /// Always present: an absent list means "no cluster-scoped kind", an empty one too, but the
    /// explicit form says so to the reader.
    pub cluster_resource_whitelist: Vec<GroupKind>,
    pub namespace_resource_whitelist: Vec<GroupKind>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GroupKind {
    pub group: String,
    pub kind: String,
}

/// The part of the ArgoCD resource we set: custom health checks.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArgoCdSpec {
    pub resource_health_checks: Vec<ResourceHealthCheck>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceHealthCheck {
    pub group: String,
    pub kind: String,
    pub check: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositorySpec {
    pub url: String,
    pub interval: String,
    #[serde(rename = "ref")]
    pub reference: GitRef,
}

#[derive(Debug, Clone, Serialize)]
pub struct GitRef {
    /// A branch name, a tag or a commit: which field depends on the revision's form.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KustomizationSpec {
    pub interval: String,
    pub retry_interval: String,
    pub timeout: String,
    pub path: String,
    pub prune: bool,
    pub wait: bool,
    pub source_ref: SourceRef,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<DependsOn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<HealthCheckRef>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub health_check_exprs: Vec<HealthCheckExpr>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRef {
    pub kind: &'static str,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DependsOn {
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckRef {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheckExpr {
    pub api_version: String,
    pub kind: String,
    pub current: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}
