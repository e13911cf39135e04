//! The deploy plan: what to apply and what to wait for, in which order. Pure: built from the
//! resolved model and the rendered tree, so it can be tested without a cluster.

use datalyptica_platform::Tree;
use datalyptica_platform::component::{ComponentId, Gate};
use datalyptica_platform::components::ALL;
use datalyptica_platform::model::Model;
use datalyptica_platform::order;
use datalyptica_platform::security::{self, SecretEntry};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// An operator the platform subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorStep {
    pub component: ComponentId,
    pub package: String,
    pub channel: String,
    pub source: String,
    pub source_namespace: String,
    pub namespace: String,
}

/// An operator installed from manifests carried in the tree (its component's
/// `operator-install.yaml`): applied in the operators step, before any component, and waited
/// for like a Subscription's CSV, so its CRDs are served before the first custom resource.
#[derive(Debug, Clone)]
pub struct CarriedStep {
    pub component: ComponentId,
    pub objects: Vec<Value>,
    pub gate: Gate,
}

#[derive(Debug, Clone)]
pub struct ComponentStep {
    pub id: ComponentId,
    /// The seed's phase, raised to its latest dependency's phase if a spec override inverted them.
    pub phase: u8,
    pub namespace: String,
    pub deps: Vec<ComponentId>,
    /// Objects in apply order (the component's manifest order), without its Subscription: the
    /// operators step owns those.
    pub objects: Vec<Value>,
    pub gates: Vec<Gate>,
    /// The Secrets `objects` reference, with their source and keys taken from the inventory of
    /// the whole tree: a Secret created by another component's object (a KafkaUser, a serving
    /// certificate) is known as such, and a Secret several components read is generated once
    /// with every key any of them reads.
    pub secrets: Vec<SecretEntry>,
}

impl ComponentStep {
    pub fn key(&self) -> String {
        format!("component.{}", self.id)
    }
}

/// Components that may proceed together: same phase, same dependency wave.
#[derive(Debug, Clone)]
pub struct Stage {
    pub phase: u8,
    pub components: Vec<ComponentStep>,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub platform: String,
    pub operators_namespace: String,
    /// Namespaces, network policies, storage classes.
    pub prerequisites: Vec<Value>,
    /// OperatorGroup and Subscriptions.
    pub operator_objects: Vec<Value>,
    pub operators: Vec<OperatorStep>,
    /// Operators from carried upstream manifests (the MinIO Operator).
    pub carried: Vec<CarriedStep>,
    /// Object-store claims of the non-MinIO backends.
    pub object_store: Vec<Value>,
    pub stages: Vec<Stage>,
    /// Every namespace the platform owns, sorted.
    pub namespaces: Vec<String>,
    /// The Secret name consumers read object-store credentials from.
    pub object_store_secret: String,
    /// Deploy generates the object-store credentials only when it deploys MinIO itself.
    pub object_store_generated: bool,
    /// `secrets.mode: generated`: deploy creates the platform's Secrets. Otherwise they come
    /// from ExternalSecrets or SealedSecrets and deploy only waits for them.
    pub secrets_generated: bool,
    /// After a selection: components the selected ones depend on but that are not selected.
    /// Deploy checks their gates once, without waiting, before touching the selection.
    pub required: Vec<ComponentStep>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Cycle(String),
    #[error("unknown component `{0}` (known: {1})")]
    UnknownComponent(String, String),
    #[error("phase {0} has no enabled component (phases present: {1})")]
    EmptyPhase(u8, String),
}

/// Which part of the plan a command works on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    pub phase: Option<u8>,
    pub component: Option<String>,
}

pub fn kind_of(o: &Value) -> &str {
    o["kind"].as_str().unwrap_or_default()
}

pub fn name_of(o: &Value) -> &str {
    o["metadata"]["name"].as_str().unwrap_or_default()
}

pub fn namespace_of(o: &Value) -> Option<&str> {
    o["metadata"]["namespace"].as_str()
}

pub fn api_version_of(o: &Value) -> &str {
    o["apiVersion"].as_str().unwrap_or_default()
}

/// A stable digest of a set of objects: the progress record stores it so a resumed deploy can
/// tell a finished step from a step whose spec changed since.
pub fn digest(objects: &[Value]) -> String {
    let mut h = Sha256::new();
    for o in objects {
        h.update(o.to_string().as_bytes());
        h.update(b"\n");
    }
    h.finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The entries of `inventory` that `objects` reference.
fn secrets_of(m: &Model, inventory: &[SecretEntry], objects: &[Value]) -> Vec<SecretEntry> {
    let objs: Vec<&Value> = objects.iter().collect();
    security::secret_inventory(m, &objs)
        .into_iter()
        .map(|local| {
            inventory
                .iter()
                .find(|e| e.namespace == local.namespace && e.name == local.name)
                .cloned()
                .unwrap_or(local)
        })
        .collect()
}

pub fn build(m: &Model, tree: &Tree) -> Result<Plan, PlanError> {
    let order = order::stages(m).map_err(|c| PlanError::Cycle(c.to_string()))?;
    // Over every object, templates included, as the rendered secrets.md and external-secrets.yaml
    // are: deploy and the documents the user follows must agree on where each Secret comes from.
    let all: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let inventory = security::secret_inventory(m, &all);
    let (operator_objects, prerequisites): (Vec<Value>, Vec<Value>) =
        order::prerequisite_objects(tree)
            .into_iter()
            .map(|(_, o)| o.clone())
            .partition(order::is_operator_object);
    let object_store = order::object_store_objects(tree)
        .into_iter()
        .map(|(_, o)| o.clone())
        .collect();
    let operators = m
        .enabled_components()
        .filter_map(|c| {
            m.get(c.id()).operator.as_ref().map(|o| OperatorStep {
                component: c.id(),
                package: o.package.clone(),
                channel: o.channel.clone(),
                source: o.source.clone(),
                source_namespace: o.source_namespace.clone(),
                namespace: m.operators_namespace.clone(),
            })
        })
        .collect();

    let mut carried = Vec::new();
    let mut stages = Vec::new();
    for stage in order {
        let mut components = Vec::new();
        for id in &stage.components {
            let Some(c) = ALL.iter().find(|c| c.id() == *id) else {
                continue;
            };
            let objects: Vec<Value> = order::component_objects(m, tree, *c)
                .into_iter()
                .map(|(_, o)| o.clone())
                .collect();
            if let Some(op) = c.carried_operator() {
                carried.push(CarriedStep {
                    component: *id,
                    objects: order::carried_operator_objects(tree, *c)
                        .into_iter()
                        .cloned()
                        .collect(),
                    gate: Gate::deployment_available(
                        &m.operators_namespace,
                        op.deployment,
                        format!("{} {} available", op.display, op.version),
                    ),
                });
            }
            components.push(ComponentStep {
                id: *id,
                phase: stage.phase,
                namespace: m.get(*id).namespace.clone(),
                deps: m.deps_of(*c),
                secrets: secrets_of(m, &inventory, &objects),
                objects,
                gates: c.gates(m),
            });
        }
        stages.push(Stage {
            phase: stage.phase,
            components,
        });
    }
    let mut namespaces = m.namespaces();
    if !namespaces.contains(&m.operators_namespace) {
        namespaces.push(m.operators_namespace.clone());
    }
    namespaces.sort();
    Ok(Plan {
        platform: m.name.clone(),
        operators_namespace: m.operators_namespace.clone(),
        prerequisites,
        operator_objects,
        operators,
        carried,
        object_store,
        stages,
        namespaces,
        object_store_secret: m.object_store.credentials_secret.clone(),
        object_store_generated: m.object_store.backend
            == datalyptica_platform::spec::ObjectStoreBackend::Minio,
        secrets_generated: m.platform.spec.secrets.mode
            == datalyptica_platform::spec::SecretsMode::Generated,
        required: Vec::new(),
    })
}

impl Plan {
    pub fn components(&self) -> impl Iterator<Item = &ComponentStep> {
        self.stages.iter().flat_map(|s| s.components.iter())
    }

    pub fn component(&self, id: ComponentId) -> Option<&ComponentStep> {
        self.components().find(|c| c.id == id)
    }

    /// Keep only the selected stages (and the operators they need). Prerequisites stay: they are
    /// idempotent and every component needs its namespace.
    pub fn select(mut self, sel: &Selection) -> Result<Plan, PlanError> {
        let all: Vec<ComponentStep> = self.components().cloned().collect();
        if let Some(name) = &sel.component {
            let known: Vec<String> = self.components().map(|c| c.id.to_string()).collect();
            if !known.iter().any(|k| k == name) {
                return Err(PlanError::UnknownComponent(name.clone(), known.join(", ")));
            }
            for s in &mut self.stages {
                s.components.retain(|c| c.id.name() == name);
            }
        }
        if let Some(p) = sel.phase {
            let phases: Vec<String> = self.stages.iter().map(|s| s.phase.to_string()).collect();
            if !self.stages.iter().any(|s| s.phase == p) {
                let mut phases = phases;
                phases.dedup();
                return Err(PlanError::EmptyPhase(p, phases.join(", ")));
            }
            self.stages.retain(|s| s.phase == p);
        }
        self.stages.retain(|s| !s.components.is_empty());
        if sel.phase.is_some() || sel.component.is_some() {
            let kept: Vec<ComponentId> = self.components().map(|c| c.id).collect();
            self.operators.retain(|o| kept.contains(&o.component));
            let packages: Vec<&str> = self.operators.iter().map(|o| o.package.as_str()).collect();
            self.operator_objects
                .retain(|o| kind_of(o) != "Subscription" || packages.contains(&name_of(o)));
            self.carried.retain(|c| kept.contains(&c.component));
            // Transitive dependencies outside the selection, in plan order.
            let mut need: Vec<ComponentId> =
                self.components().flat_map(|c| c.deps.clone()).collect();
            let mut i = 0;
            while i < need.len() {
                if let Some(c) = all.iter().find(|c| c.id == need[i]) {
                    for d in &c.deps {
                        if !need.contains(d) {
                            need.push(*d);
                        }
                    }
                }
                i += 1;
            }
            self.required = all
                .into_iter()
                .filter(|c| need.contains(&c.id) && !kept.contains(&c.id))
                .collect();
        }
        Ok(self)
    }

    /// Components in reverse dependency order, for teardown.
    pub fn teardown_order(&self) -> Vec<&ComponentStep> {
        let mut v: Vec<&ComponentStep> = self.components().collect();
        v.reverse();
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalyptica_platform::Platform;
    use datalyptica_platform::render;

    fn plan() -> Plan {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        build(&m, &render(&p)).expect("plan")
    }

    #[test]
    fn stages_respect_phases_and_dependencies() {
        let plan = plan();
        let mut seen: Vec<ComponentId> = Vec::new();
        let mut last_phase = 0;
        for s in &plan.stages {
            assert!(s.phase >= last_phase, "phases go up");
            last_phase = s.phase;
            for c in &s.components {
                for d in &c.deps {
                    assert!(seen.contains(d), "{} before its dependency {d}", c.id);
                }
            }
            seen.extend(s.components.iter().map(|c| c.id));
        }
        assert_eq!(plan.stages[0].phase, 1);
        let first: Vec<ComponentId> = plan.stages[0].components.iter().map(|c| c.id).collect();
        assert!(first.contains(&ComponentId::Postgresql) && first.contains(&ComponentId::Redis));
    }

    #[test]
    fn component_objects_follow_manifest_order_without_subscriptions() {
        let plan = plan();
        let kafka = plan.component(ComponentId::Kafka).expect("kafka");
        let kinds: Vec<&str> = kafka.objects.iter().map(kind_of).collect();
        assert!(!kinds.contains(&"Subscription"));
        let k = kinds.iter().position(|k| *k == "Kafka").expect("Kafka");
        let t = kinds
            .iter()
            .position(|k| *k == "KafkaTopic")
            .expect("topic");
        assert!(k < t, "cluster before topics: {kinds:?}");
        assert!(!kafka.gates.is_empty());
        let pg = plan.component(ComponentId::Postgresql).expect("pg");
        let kinds: Vec<&str> = pg.objects.iter().map(kind_of).collect();
        assert!(
            kinds.contains(&"PodMonitor"),
            "operations files are applied: {kinds:?}"
        );
        let tree = render(&Platform::default_ha());
        let in_tree = tree
            .objects()
            .filter(|(f, o)| f.starts_with("01-postgresql-ha/") && kind_of(o) != "Subscription")
            .count();
        assert_eq!(
            pg.objects.len(),
            in_tree,
            "every rendered object is in the plan"
        );
        assert!(
            plan.operator_objects
                .iter()
                .any(|o| kind_of(o) == "OperatorGroup")
        );
        assert!(plan.prerequisites.iter().any(|o| kind_of(o) == "Namespace"));
    }

    #[test]
    fn selection_by_phase_and_component() {
        let p1 = plan()
            .select(&Selection {
                phase: Some(1),
                component: None,
            })
            .expect("phase 1");
        assert!(p1.components().all(|c| c.phase == 1));
        assert!(
            p1.operators
                .iter()
                .all(|o| o.component != ComponentId::Kafka)
        );
        let k = plan()
            .select(&Selection {
                phase: None,
                component: Some("kafka".into()),
            })
            .expect("kafka");
        assert_eq!(k.components().count(), 1);
        assert!(k.required.is_empty(), "kafka depends on nothing");
        let trino = plan()
            .select(&Selection {
                phase: None,
                component: Some("trino".into()),
            })
            .expect("trino");
        let req: Vec<ComponentId> = trino.required.iter().map(|c| c.id).collect();
        assert!(
            req.contains(&ComponentId::Nessie) && req.contains(&ComponentId::Postgresql),
            "{req:?}"
        );
        assert_eq!(k.operators.len(), 1);
        let subs = k
            .operator_objects
            .iter()
            .filter(|o| kind_of(o) == "Subscription")
            .count();
        assert_eq!(subs, 1);
        assert!(matches!(
            plan().select(&Selection {
                phase: None,
                component: Some("kafak".into())
            }),
            Err(PlanError::UnknownComponent(..))
        ));
        assert!(matches!(
            plan().select(&Selection {
                phase: Some(9),
                component: None
            }),
            Err(PlanError::EmptyPhase(9, _))
        ));
    }

    /// Carried manifests (the Redis and MinIO operators) go to the operators step, before any
    /// component, with a gate on the operator's Deployment; the component's own step keeps
    /// only its custom resources and files.
    #[test]
    fn carried_operators_are_installed_in_the_operators_step() {
        let plan = plan();
        let carried: Vec<(ComponentId, &str, usize)> = plan
            .carried
            .iter()
            .map(|c| {
                let kinds: Vec<&str> = c.objects.iter().map(kind_of).collect();
                let crds = kinds
                    .iter()
                    .take_while(|k| **k == "CustomResourceDefinition")
                    .count();
                assert!(kinds.contains(&"Deployment") && kinds.contains(&"ClusterRole"));
                assert_eq!(
                    c.gate.kind,
                    datalyptica_platform::component::GateKind::Deployment
                );
                (c.component, c.gate.name.as_str(), crds)
            })
            .collect();
        assert_eq!(
            carried,
            [
                (ComponentId::Redis, "redis-operator", 4),
                (ComponentId::Minio, "minio-operator", 2)
            ]
        );
        for (id, cr) in [
            (ComponentId::Redis, "RedisReplication"),
            (ComponentId::Minio, "Tenant"),
        ] {
            assert!(!plan.operators.iter().any(|o| o.component == id));
            let step = plan.component(id).expect("step");
            let kinds: Vec<&str> = step.objects.iter().map(kind_of).collect();
            assert!(kinds.contains(&cr));
            assert!(
                !kinds.contains(&"CustomResourceDefinition") && !kinds.contains(&"ClusterRole")
            );
        }
        // Selecting another component drops them; selecting MinIO keeps its own.
        let kafka = plan.clone().select(&Selection {
            phase: None,
            component: Some("kafka".into()),
        });
        assert!(kafka.expect("kafka").carried.is_empty());
        let minio = plan.select(&Selection {
            phase: None,
            component: Some("minio".into()),
        });
        let minio = minio.expect("minio");
        assert_eq!(minio.carried.len(), 1);
        assert_eq!(minio.carried[0].component, ComponentId::Minio);
    }

    #[test]
    fn teardown_is_reverse() {
        let plan = plan();
        let order = plan.teardown_order();
        let pg = order.iter().position(|c| c.id == ComponentId::Postgresql);
        let ns = order.iter().position(|c| c.id == ComponentId::Nessie);
        assert!(ns < pg, "nessie torn down before postgresql");
    }
}
