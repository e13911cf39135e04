//! `destroy`: removes what deploy applied, in reverse order, keeping data unless asked.

use serde::Serialize;
use serde_json::{Value, json};

use crate::api::{ApiError, ClusterApi, TypeRef};
use crate::deploy::{OBJECT_STORE_ROOT_SECRET, PROGRESS_CONFIGMAP};
use crate::gates::{self};
use crate::plan::{Plan, kind_of, name_of, namespace_of};

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum DestroyEvent {
    Deleted { step: String, object: String },
    Absent { step: String, object: String },
    Kept { object: String, reason: String },
    Finished { deleted: usize, kept: usize },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DestroyOptions {
    pub delete_data: bool,
}

fn label(o: &Value) -> String {
    match namespace_of(o) {
        Some(ns) => format!("{}/{} -n {ns}", kind_of(o), name_of(o)),
        None => format!("{}/{}", kind_of(o), name_of(o)),
    }
}

/// Tear down in reverse dependency order. Claims (and the namespaces holding them, and the
/// credentials needed to read backups) stay unless `delete_data`. CRDs always stay: deleting one
/// deletes every object of its kind cluster-wide, other tenants' too.
pub async fn destroy<A: ClusterApi>(
    api: &A,
    plan: &Plan,
    opts: DestroyOptions,
    emit: &dyn Fn(&DestroyEvent),
) -> Result<(usize, usize), ApiError> {
    let mut deleted = 0;
    let mut kept = 0;
    let mut del = async |step: &str, o: &Value| -> Result<(), ApiError> {
        let t = TypeRef::of(o);
        let existed = match api.delete(&t, namespace_of(o), name_of(o)).await {
            Ok(b) => b,
            Err(ApiError::UnknownKind(_)) => false,
            Err(e) => return Err(e),
        };
        let object = label(o);
        if existed {
            deleted += 1;
            emit(&DestroyEvent::Deleted {
                step: step.into(),
                object,
            });
        } else {
            emit(&DestroyEvent::Absent {
                step: step.into(),
                object,
            });
        }
        Ok(())
    };
    for c in plan.teardown_order() {
        let step = c.key();
        for o in c.objects.iter().rev() {
            del(&step, o).await?;
        }
    }
    // Carried operators go like OLM ones: the operator, not its CRDs (deleting a CRD deletes
    // every custom resource of its kind, in any namespace).
    for c in plan.carried.iter().rev() {
        for o in c
            .objects
            .iter()
            .rev()
            .filter(|o| kind_of(o) != "CustomResourceDefinition")
        {
            del("operators", o).await?;
        }
    }
    let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
    for o in plan.operator_objects.iter().rev() {
        // OLM leaves the operator running when only the Subscription goes: remove its CSV too.
        if kind_of(o) == "Subscription"
            && let Some(sub) = api.get(&sub_t, namespace_of(o), name_of(o)).await?
            && let Ok(csv) = gates::subscription_csv(&sub)
        {
            let c = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion", "metadata": {"name": csv, "namespace": namespace_of(o)}});
            del("operators", &c).await?;
        }
        del("operators", o).await?;
    }
    let progress = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": PROGRESS_CONFIGMAP, "namespace": plan.operators_namespace}});
    del("progress", &progress).await?;
    let pvc_t = TypeRef::new("v1", "PersistentVolumeClaim");
    let mut pvcs = Vec::new();
    for ns in &plan.namespaces {
        for p in api.list(&pvc_t, Some(ns), None).await.unwrap_or_default() {
            pvcs.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name_of(&p), "namespace": ns}}));
        }
    }
    if opts.delete_data {
        for p in &pvcs {
            del("data", p).await?;
        }
        for o in plan
            .prerequisites
            .iter()
            .rev()
            .filter(|o| kind_of(o) == "Namespace")
        {
            del("namespaces", o).await?;
        }
    } else {
        for p in &pvcs {
            kept += 1;
            emit(&DestroyEvent::Kept {
                object: label(p),
                reason: "data is kept without --delete-data".into(),
            });
        }
        let root = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": OBJECT_STORE_ROOT_SECRET, "namespace": plan.operators_namespace}});
        kept += 1;
        emit(&DestroyEvent::Kept {
            object: label(&root),
            reason: "namespaces, generated credentials and network policies stay with the data"
                .into(),
        });
    }
    emit(&DestroyEvent::Finished { deleted, kept });
    Ok((deleted, kept))
}

// ---------------------------------------------------------------- preflight snapshot
