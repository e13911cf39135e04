//! What every operator install the tree carries (the MinIO Operator, the redis-operator) has
//! alike: labels, identity and cluster-wide rights, the HA pod template around its one
//! container, and the disruption budget. Each install names its own parts in an [`Install`].

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ServiceAccount};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding, PolicyRule, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::k8s;
use crate::model::Model;

/// The names of one carried install, as its upstream manifests spell them.
pub(crate) struct Install {
    /// The Deployment, its ServiceAccount and the value of its `name` selector label.
    pub deployment: &'static str,
    pub version: &'static str,
    pub role: &'static str,
    pub binding: &'static str,
    pub replicas: i32,
}

impl Install {
    fn labels(&self, m: &Model) -> BTreeMap<String, String> {
        let mut l = crate::prereqs::platform_labels(m);
        l.insert("app.kubernetes.io/name".into(), self.deployment.into());
        l.insert("app.kubernetes.io/version".into(), self.version.into());
        l
    }

    /// The pods' selector (`name: <deployment>`, as both upstreams label them).
    pub fn selector(&self) -> BTreeMap<String, String> {
        BTreeMap::from([("name".to_string(), self.deployment.to_string())])
    }

    /// Metadata of an object of the install: in the operators' namespace unless cluster-wide.
    pub fn meta(&self, m: &Model, name: &str, namespaced: bool) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.into()),
            namespace: namespaced.then(|| m.operators_namespace.clone()),
            labels: Some(self.labels(m)),
            ..Default::default()
        }
    }

    pub fn service_account(&self, m: &Model) -> ServiceAccount {
        ServiceAccount {
            metadata: self.meta(m, self.deployment, true),
            ..Default::default()
        }
    }

    pub fn cluster_role(&self, m: &Model, rules: Vec<PolicyRule>) -> ClusterRole {
        ClusterRole {
            metadata: self.meta(m, self.role, false),
            rules: Some(rules),
            ..Default::default()
        }
    }

    pub fn cluster_role_binding(&self, m: &Model) -> ClusterRoleBinding {
        ClusterRoleBinding {
            metadata: self.meta(m, self.binding, false),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: self.role.into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: self.deployment.into(),
                namespace: Some(m.operators_namespace.clone()),
                ..Default::default()
            }]),
        }
    }

    /// The operator's Deployment: `replicas` pods spread over nodes and zones, running
    /// `container` with a writable `/tmp` (emptyDir `tmp`) under the platform's pod security.
    pub fn deployment(
        &self,
        m: &Model,
        annotations: BTreeMap<String, String>,
        strategy: Option<DeploymentStrategy>,
        container: Container,
    ) -> Deployment {
        let mut pod_labels = self.labels(m);
        pod_labels.extend(self.selector());
        let mut dmeta = self.meta(m, self.deployment, true);
        dmeta.annotations = Some(annotations);
        Deployment {
            metadata: dmeta,
            spec: Some(DeploymentSpec {
                replicas: Some(self.replicas),
                selector: LabelSelector {
                    match_labels: Some(self.selector()),
                    ..Default::default()
                },
                strategy,
                template: PodTemplateSpec {
                    metadata: Some(ObjectMeta {
                        labels: Some(pod_labels),
                        ..Default::default()
                    }),
                    spec: Some(PodSpec {
                        service_account_name: Some(self.deployment.into()),
                        // An operator: it works through the API (its ClusterRole).
                        automount_service_account_token: Some(true),
                        affinity: Some(k8s::anti_affinity(&self.selector())),
                        topology_spread_constraints: Some(k8s::zone_spread(&self.selector())),
                        security_context: Some(k8s::pod_security()),
                        containers: vec![container],
                        volumes: Some(vec![k8s::empty_dir_volume("tmp")]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Drains take one operator pod at a time: the other keeps (or takes over) the leadership.
    pub fn pod_disruption_budget(&self, m: &Model) -> PodDisruptionBudget {
        PodDisruptionBudget {
            metadata: self.meta(m, self.deployment, true),
            spec: Some(PodDisruptionBudgetSpec {
                max_unavailable: Some(IntOrString::Int(1)),
                selector: Some(LabelSelector {
                    match_labels: Some(self.selector()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// One rule of a ClusterRole, as the upstream manifests list them.
pub(crate) fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    let v = |xs: &[&str]| xs.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    PolicyRule {
        api_groups: Some(v(groups)),
        resources: Some(v(resources)),
        verbs: v(verbs),
        ..Default::default()
    }
}
