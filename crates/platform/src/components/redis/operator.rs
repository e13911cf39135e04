//! OT-Container-Kit's redis-operator from its upstream release, pinned to v0.26.0 and carried in
//! the tree.
//!
//! OpenShift's catalog offers only 0.15.1 (community-operators `stable`, 2023). Its CRDs refuse
//! `spec.pdb`, `topologySpreadConstraints` and the exporter's security context, and its
//! RedisSentinel has no `redisReplicationPassword`: Sentinels that cannot authenticate to the
//! data nodes never fail over. So `02-redis-ha/operator-install.yaml` carries the release: its
//! four CRDs verbatim (`assets/redis-operator/v0.26.0/`; the manager starts a controller per kind
//! and waits for each informer, so `Redis` and `RedisCluster` must be served too), and the
//! ServiceAccount, ClusterRole, ClusterRoleBinding and Deployment of the release's Helm chart
//! (`charts/redis-operator/templates/` with its default values), typed here, with these
//! deliberate differences:
//!
//! - two replicas with leader election (the chart's `--leader-elect` with one), spread over
//!   nodes and zones, and a PodDisruptionBudget: reconciliation survives a drain;
//! - `WATCH_NAMESPACE` is the Redis namespace: the operator caches Secrets and Pods there only;
//! - restricted-v2: no fixed UID, a read-only root file system, every capability dropped;
//! - `imagePullPolicy: IfNotPresent` (the image is pinned) and the init-container image pinned
//!   to the same release (the chart's default names v0.25.0);
//! - no `aggregate-to-admin` label on the ClusterRole: namespace admins do not inherit the
//!   operator's rights over Secrets and `pods/exec`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, HTTPGetAction, Probe};
use k8s_openapi::api::rbac::v1::PolicyRule;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::Value;

use crate::component::ComponentId;
use crate::components::carried::{Install, rule};
use crate::k8s;
use crate::model::Model;

/// The upstream release the manifests are generated for.
pub const VERSION: &str = "v0.26.0";
pub const IMAGE: &str = "quay.io/opstree/redis-operator:v0.26.0";
pub const DEPLOYMENT: &str = "redis-operator";
pub const REPLICAS: i32 = 2;

const INSTALL: Install = Install {
    deployment: DEPLOYMENT,
    version: VERSION,
    role: DEPLOYMENT,
    binding: DEPLOYMENT,
    replicas: REPLICAS,
};
/// The manager's health endpoints (`--health-probe-bind-address` default) and metrics.
pub const PROBE_PORT: u16 = 8081;
pub const METRICS_PORT: u16 = 8080;

/// The CRD files of the release, verbatim, with their sha256 (checked by a test).
pub const CRD_FILES: [(&str, &str, &str); 4] = [
    (
        "redis.redis.opstreelabs.in_redis.yaml",
        include_str!(
            "../../../assets/redis-operator/v0.26.0/redis.redis.opstreelabs.in_redis.yaml"
        ),
        "aaaaf9291a7de39011f112e41c7909fa1ce121908e98fab0cdb1f11c961bfeb6",
    ),
    (
        "redis.redis.opstreelabs.in_redisclusters.yaml",
        include_str!(
            "../../../assets/redis-operator/v0.26.0/redis.redis.opstreelabs.in_redisclusters.yaml"
        ),
        "2ad9627590c19cff08802aaa5adee68db9aa5987232c2451654216232a55455c",
    ),
    (
        "redis.redis.opstreelabs.in_redisreplications.yaml",
        include_str!(
            "../../../assets/redis-operator/v0.26.0/redis.redis.opstreelabs.in_redisreplications.yaml"
        ),
        "1d62dfc5638de69a71b3610752c455ee3aa16a1db853d5e3f2c9e4e2d8bdbbcd",
    ),
    (
        "redis.redis.opstreelabs.in_redissentinels.yaml",
        include_str!(
            "../../../assets/redis-operator/v0.26.0/redis.redis.opstreelabs.in_redissentinels.yaml"
        ),
        "5b119926c54876486817e54213214516cb96c3e451c159ec2f54f00aafea1754",
    ),
];

/// The CRDs as objects, parsed once per process.
pub fn crds() -> &'static [Value] {
    static CRDS: OnceLock<Vec<Value>> = OnceLock::new();
    CRDS.get_or_init(|| {
        CRD_FILES
            .iter()
            // Embedded at build time and parsed by a test: a failure here is a build defect.
            .map(|(_, text, _)| serde_saphyr::from_str(text).unwrap_or(Value::Null))
            .collect()
    })
}

/// `charts/redis-operator/templates/role.yaml` of v0.26.0 with `rbac.scope: cluster`, rule for
/// rule.
fn cluster_role_rules() -> Vec<PolicyRule> {
    let crud = [
        "create", "delete", "get", "list", "patch", "update", "watch",
    ];
    let group = "redis.redis.opstreelabs.in";
    vec![
        rule(
            &[group],
            &[
                "rediss",
                "redisclusters",
                "redisreplications",
                "redis",
                "rediscluster",
                "redissentinel",
                "redissentinels",
                "redisreplication",
            ],
            &crud,
        ),
        PolicyRule {
            non_resource_urls: Some(vec!["*".into()]),
            verbs: vec!["get".into()],
            ..Default::default()
        },
        rule(
            &["apiextensions.k8s.io"],
            &["customresourcedefinitions"],
            &["get", "list", "watch"],
        ),
        rule(
            &[group],
            &[
                "redis/finalizers",
                "rediscluster/finalizers",
                "redisclusters/finalizers",
                "redissentinel/finalizers",
                "redissentinels/finalizers",
                "redisreplication/finalizers",
                "redisreplications/finalizers",
            ],
            &["update"],
        ),
        rule(
            &[group],
            &[
                "redis/status",
                "rediscluster/status",
                "redisclusters/status",
                "redissentinel/status",
                "redissentinels/status",
                "redisreplication/status",
                "redisreplications/status",
            ],
            &["get", "patch", "update"],
        ),
        rule(
            &[""],
            &[
                "secrets",
                "pods/exec",
                "pods",
                "services",
                "configmaps",
                "events",
                "persistentvolumeclaims",
                "namespaces",
            ],
            &crud,
        ),
        rule(&["apps"], &["statefulsets"], &crud),
        rule(&["coordination.k8s.io"], &["leases"], &crud),
        rule(&["policy"], &["poddisruptionbudgets"], &crud),
    ]
}

fn http_probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("probe".into()),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Every object of the install, in apply order: CRDs, identity and rights, Deployment, PDB.
pub fn objects(m: &Model) -> Vec<Value> {
    let mut out: Vec<Value> = crds().to_vec();
    out.extend([
        k8s::to_value(&INSTALL.service_account(m)),
        k8s::to_value(&INSTALL.cluster_role(m, cluster_role_rules())),
        k8s::to_value(&INSTALL.cluster_role_binding(m)),
        k8s::to_value(&deployment(m)),
        k8s::to_value(&INSTALL.pod_disruption_budget(m)),
    ]);
    out
}

fn deployment(m: &Model) -> Deployment {
    INSTALL.deployment(
        m,
        BTreeMap::from([(
        crate::components::minio::operator::UPSTREAM_ANNOTATION.to_string(),
        format!(
            "OT-CONTAINER-KIT/redis-operator {VERSION} charts/redis-operator/templates/operator-deployment.yaml"
        ),
    )]),
        None,
        container(m),
    )
}

fn container(m: &Model) -> Container {
    Container {
        name: DEPLOYMENT.into(),
        image: Some(IMAGE.into()),
        image_pull_policy: Some("IfNotPresent".into()),
        command: Some(vec!["/operator".into(), "manager".into()]),
        args: Some(vec![
            "--leader-elect".into(),
            format!("--metrics-bind-address=:{METRICS_PORT}"),
            "--kube-client-timeout=60s".into(),
            "--max-concurrent-reconciles=3".into(),
        ]),
        env: Some(vec![
            k8s::env("INIT_CONTAINER_IMAGE", IMAGE),
            k8s::env("ENABLE_WEBHOOKS", "false"),
            k8s::env("WATCH_NAMESPACE", &m.get(ComponentId::Redis).namespace),
            k8s::env("SERVICE_DNS_DOMAIN", "cluster.local"),
            k8s::env("FEATURE_GATES", "GenerateConfigInInitContainer=false"),
        ]),
        ports: Some(vec![
            k8s::container_port("probe", i32::from(PROBE_PORT)),
            k8s::container_port("metrics", i32::from(METRICS_PORT)),
        ]),
        liveness_probe: Some(http_probe("/healthz")),
        readiness_probe: Some(http_probe("/readyz")),
        resources: Some(k8s::resources(&crate::model::Resources {
            cpu_request: "500m".into(),
            memory_request: "500Mi".into(),
            cpu_limit: "500m".into(),
            memory_limit: "500Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![k8s::mount("tmp", "/tmp", false)]),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn the_carried_crds_parse_and_are_the_release_s() {
        let crds = crds();
        let kinds: Vec<&str> = crds
            .iter()
            .map(|c| c["spec"]["names"]["kind"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(
            kinds,
            ["Redis", "RedisCluster", "RedisReplication", "RedisSentinel"]
        );
        for (crd, (file, text, sha)) in crds.iter().zip(CRD_FILES) {
            assert_eq!(crd["spec"]["group"], "redis.redis.opstreelabs.in", "{file}");
            let got: String = Sha256::digest(text.as_bytes())
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            assert_eq!(got, sha, "{file} is not the v0.26.0 release file");
        }
    }
}
