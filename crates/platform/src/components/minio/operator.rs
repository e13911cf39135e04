//! The MinIO Operator from its upstream release, pinned to v7.1.1 and carried in the tree.
//!
//! OLM cannot install it any more: `minio-operator` was deleted from certified-operators in
//! October 2025 (its last bundle, 5.0.15, never served OpenShift 4.16+), and a Subscription to
//! it leaves every Subscription of the namespace unresolved. Its commercial successor serves no
//! `Tenant`. So `04-minio-ha/operator-install.yaml` carries the release's install manifests:
//! the two CRDs verbatim (`assets/minio-operator/v7.1.1/`, checked by hash against
//! `../shared/crds/minio/`), and the ServiceAccount, ClusterRole, ClusterRoleBinding, Service and
//! Deployment of `resources/base/` at tag v7.1.1, rendered here as typed objects with three
//! deliberate differences, each for OpenShift:
//!
//! - no `runAsUser`/`runAsGroup: 1000` (restricted-v2 assigns the namespace's UID range), a
//!   read-only root file system with an emptyDir at `/tmp`, where the operator stages MinIO
//!   binaries for tenant upgrades (`updatePath` in `pkg/controller/sts_handlers.go`);
//! - `OPERATOR_STS_ENABLED=off`: the platform uses no STS, and its API server needs a certificate
//!   from a CSR signer (`IsSTSAutocertEnabled`) that OpenShift does not run for it;
//! - images from quay.io (the Docker Hub images were withdrawn), the sidecar pinned through
//!   `OPERATOR_SIDECAR_IMAGE` to the release's own default (`DefaultSidecarImage`).
//!
//! The operator runs in the operators' namespace. Tenant pods download new MinIO binaries from
//! its Service `operator` on [`UPGRADE_PORT`] (`tenant.UpdateURL(…, "http://operator.<ns>.svc…:4221")`
//! in `pkg/controller/main-controller.go`); the network policies admit exactly that.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentStrategy};
use k8s_openapi::api::core::v1::{Container, Service, ServicePort, ServiceSpec};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::components::carried::{Install, rule};
use crate::k8s;
use crate::model::Model;

/// The upstream release the manifests are generated for.
pub const VERSION: &str = "v7.1.1";
pub const IMAGE: &str = "quay.io/minio/operator:v7.1.1";
/// `DefaultSidecarImage` of v7.1.1 (`pkg/resources/statefulsets/minio-sidecar.go`).
pub const SIDECAR_IMAGE: &str = "quay.io/minio/operator-sidecar:v7.0.1";
pub const DEPLOYMENT: &str = "minio-operator";
/// The operator builds the tenants' upgrade URL from this Service name ("Please do not change
/// this value" in `resources/base/service.yaml`).
pub const SERVICE: &str = "operator";
/// `common.UpgradeServerPort`.
pub const UPGRADE_PORT: u16 = 4221;
/// Replicas: one leader (a Lease), one standby.
pub const REPLICAS: i32 = 2;

const INSTALL: Install = Install {
    deployment: DEPLOYMENT,
    version: VERSION,
    role: "minio-operator-role",
    binding: "minio-operator-binding",
    replicas: REPLICAS,
};
/// Marks the objects generated from the upstream release manifests.
pub const UPSTREAM_ANNOTATION: &str = "datalyptica.io/upstream";
/// Why the operator's container has no probes (tests and `lint` read it).
pub const NO_PROBES: &str = "the MinIO Operator serves no health endpoint: its only listener, the upgrade server on 4221, runs on the elected leader alone (`startUpgradeServer` in the leader's callback), so a probe would fail the standby; upstream's manifests have none either";

/// The CRD files of the release, verbatim.
pub const CRD_FILES: [(&str, &str); 2] = [
    (
        "minio.min.io_tenants.yaml",
        include_str!("../../../assets/minio-operator/v7.1.1/minio.min.io_tenants.yaml"),
    ),
    (
        "sts.min.io_policybindings.yaml",
        include_str!("../../../assets/minio-operator/v7.1.1/sts.min.io_policybindings.yaml"),
    ),
];

/// The CRDs as objects, parsed once per process.
pub fn crds() -> &'static [Value] {
    static CRDS: OnceLock<Vec<Value>> = OnceLock::new();
    CRDS.get_or_init(|| {
        CRD_FILES
            .iter()
            // Embedded at build time and parsed by a test: a failure here is a build defect.
            .map(|(_, text)| serde_saphyr::from_str(text).unwrap_or(Value::Null))
            .collect()
    })
}

/// `resources/base/cluster-role.yaml` of v7.1.1, rule for rule.
fn cluster_role_rules() -> Vec<PolicyRule> {
    let rw = [
        "get",
        "watch",
        "create",
        "list",
        "delete",
        "deletecollection",
        "update",
        "patch",
    ];
    let crud = [
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    let workload = [
        "get", "create", "list", "patch", "watch", "update", "delete",
    ];
    let mut signers = rule(&["certificates.k8s.io"], &["signers"], &["approve", "sign"]);
    signers.resource_names = Some(
        [
            "kubernetes.io/legacy-unknown",
            "kubernetes.io/kube-apiserver-client",
            "kubernetes.io/kubelet-serving",
            "beta.eks.amazonaws.com/app-serving",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect(),
    );
    vec![
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["get", "update"],
        ),
        rule(
            &[""],
            &["persistentvolumeclaims"],
            &["get", "update", "list"],
        ),
        rule(&[""], &["namespaces", "nodes"], &["get", "watch", "list"]),
        rule(&[""], &["pods", "services", "events", "configmaps"], &rw),
        rule(
            &[""],
            &["secrets"],
            &[
                "get",
                "watch",
                "create",
                "update",
                "list",
                "delete",
                "deletecollection",
            ],
        ),
        rule(&[""], &["serviceaccounts"], &crud),
        rule(
            &["rbac.authorization.k8s.io"],
            &["roles", "rolebindings"],
            &crud,
        ),
        rule(
            &["apps"],
            &["statefulsets", "deployments", "deployments/finalizers"],
            &workload,
        ),
        rule(&["batch"], &["jobs"], &workload),
        rule(
            &["certificates.k8s.io"],
            &[
                "certificatesigningrequests",
                "certificatesigningrequests/approval",
                "certificatesigningrequests/status",
            ],
            &["update", "create", "get", "delete", "list"],
        ),
        signers,
        rule(&["authentication.k8s.io"], &["tokenreviews"], &["create"]),
        rule(
            &["minio.min.io", "sts.min.io", "job.min.io"],
            &["*"],
            &["*"],
        ),
        rule(&["min.io"], &["*"], &["*"]),
        rule(&["monitoring.coreos.com"], &["prometheuses"], &["*"]),
        rule(
            &["coordination.k8s.io"],
            &["leases"],
            &["get", "update", "create"],
        ),
        rule(
            &["policy"],
            &["poddisruptionbudgets"],
            &[
                "create",
                "delete",
                "get",
                "list",
                "patch",
                "update",
                "deletecollection",
            ],
        ),
    ]
}

/// Every object of the install, in apply order: CRDs, identity and rights, Service, Deployment.
pub fn objects(m: &Model) -> Vec<Value> {
    let mut out: Vec<Value> = crds().to_vec();
    out.extend([
        k8s::to_value(&INSTALL.service_account(m)),
        k8s::to_value(&INSTALL.cluster_role(m, cluster_role_rules())),
        k8s::to_value(&INSTALL.cluster_role_binding(m)),
        k8s::to_value(&service(m)),
        k8s::to_value(&deployment(m)),
        k8s::to_value(&INSTALL.pod_disruption_budget(m)),
    ]);
    out
}

fn service(m: &Model) -> Service {
    let mut leader = INSTALL.selector();
    leader.insert("operator".into(), "leader".into());
    Service {
        metadata: INSTALL.meta(m, SERVICE, true),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".into()),
            ports: Some(vec![ServicePort {
                name: Some("http".into()),
                port: i32::from(UPGRADE_PORT),
                target_port: Some(IntOrString::Int(i32::from(UPGRADE_PORT))),
                ..Default::default()
            }]),
            // Only the elected leader serves the binaries it downloaded.
            selector: Some(leader),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn deployment(m: &Model) -> Deployment {
    INSTALL.deployment(
        m,
        BTreeMap::from([
            (
                UPSTREAM_ANNOTATION.to_string(),
                format!("minio/operator {VERSION} resources/base/deployment.yaml"),
            ),
            (
                crate::render::LINT_WAIVE_ANNOTATION.to_string(),
                format!("DL1008: {NO_PROBES}"),
            ),
        ]),
        Some(DeploymentStrategy {
            type_: Some("Recreate".into()),
            ..Default::default()
        }),
        container(),
    )
}

fn container() -> Container {
    Container {
        name: DEPLOYMENT.into(),
        image: Some(IMAGE.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        args: Some(vec!["controller".into()]),
        env: Some(vec![
            k8s::env("MINIO_CONSOLE_TLS_ENABLE", "off"),
            k8s::env("OPERATOR_STS_ENABLED", "off"),
            k8s::env("OPERATOR_SIDECAR_IMAGE", SIDECAR_IMAGE),
        ]),
        ports: Some(vec![k8s::container_port("http", i32::from(UPGRADE_PORT))]),
        resources: Some(k8s::resources(&crate::model::Resources {
            cpu_request: "200m".into(),
            memory_request: "256Mi".into(),
            cpu_limit: "1".into(),
            memory_limit: "512Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![k8s::mount("tmp", "/tmp", false)]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_carried_crds_parse_and_are_the_release_s() {
        let crds = crds();
        assert_eq!(crds.len(), 2);
        for crd in crds {
            assert_eq!(crd["kind"], "CustomResourceDefinition", "{crd:#}");
            assert_eq!(
                crd["metadata"]["annotations"]["operator.min.io/version"],
                VERSION
            );
        }
        assert_eq!(crds[0]["spec"]["names"]["kind"], "Tenant");
        assert_eq!(crds[1]["spec"]["names"]["kind"], "PolicyBinding");
    }
}
