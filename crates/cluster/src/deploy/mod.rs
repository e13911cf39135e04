//! `deploy`: prerequisites, operators (Subscription → CSV Succeeded → CRDs established), then the
//! plan's stages, each component applied in manifest order and held until its gates pass.
//! Progress is recorded in a ConfigMap so an interrupted deploy resumes; every write is a
//! server-side apply with one field manager, so a second run changes nothing and says so.

mod apply;
mod events;
mod operators;
mod provision;
mod wait;

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::Duration;

use futures::future::join_all;
use serde_json::{Value, json};

use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use crate::plan::{ComponentStep, Plan, digest};
use crate::secrets::ObjectStoreKeys;

pub use apply::diff;
pub use events::{ApplyOutcome, Event, render_event};

pub const PROGRESS_CONFIGMAP: &str = "datalyptica-progress";
/// Where deploy keeps the generated object-store root credentials every copy derives from.
pub const OBJECT_STORE_ROOT_SECRET: &str = "datalyptica-object-store-root";

#[derive(Debug, Clone)]
pub struct DeployOptions {
    pub dry_run: bool,
    pub force_conflicts: bool,
    /// Overrides every gate's own timeout.
    pub timeout: Option<Duration>,
    pub poll: Duration,
    /// Approve pending OLM install plans of our subscriptions (installPlanApproval Manual).
    pub approve_install_plans: bool,
}

impl Default for DeployOptions {
    fn default() -> Self {
        DeployOptions {
            dry_run: false,
            force_conflicts: false,
            timeout: None,
            poll: Duration::from_secs(5),
            approve_install_plans: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeployError {
    #[error("{step}: gate {gate} not passed: {detail}")]
    Gate {
        step: String,
        gate: String,
        detail: String,
    },
    #[error("{step}: {error}")]
    Api { step: String, error: ApiError },
}

pub struct Report {
    pub changed: usize,
    pub unchanged: usize,
    pub result: Result<(), DeployError>,
}

struct Deployer<'a, A: ClusterApi> {
    api: &'a A,
    plan: &'a Plan,
    opts: &'a DeployOptions,
    emit: &'a dyn Fn(&Event),
    changed: Cell<usize>,
    unchanged: Cell<usize>,
    keys: RefCell<Option<ObjectStoreKeys>>,
    done: RefCell<BTreeMap<String, String>>,
    /// Transient API failures in a row while waiting on a gate: each doubles the next sleep.
    retries: Cell<u32>,
    /// Dry run: whether each namespace exists in the cluster (asked once).
    namespaces: RefCell<BTreeMap<String, bool>>,
}

impl<'a, A: ClusterApi> Deployer<'a, A> {
    fn api_err(&self, step: &str, error: ApiError) -> DeployError {
        DeployError::Api {
            step: step.into(),
            error,
        }
    }

    async fn component(&self, c: &ComponentStep) -> Result<(), DeployError> {
        let step = c.key();
        (self.emit)(&Event::StepStarted {
            step: step.clone(),
            phase: c.phase,
        });
        self.ensure_secrets(c).await?;
        let changed = self.apply_all(&step, &c.objects).await?;
        if !self.opts.dry_run {
            for g in &c.gates {
                self.wait_gate(&step, g).await?;
            }
        }
        self.finish_step(&step, digest(&c.objects), changed).await
    }

    async fn finish_step(
        &self,
        step: &str,
        digest: String,
        changed: usize,
    ) -> Result<(), DeployError> {
        (self.emit)(&Event::StepDone {
            step: step.into(),
            changed,
        });
        if self.opts.dry_run {
            return Ok(());
        }
        self.done.borrow_mut().insert(step.into(), digest);
        let data = self.done.borrow().clone();
        let cm = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": PROGRESS_CONFIGMAP, "namespace": self.plan.operators_namespace,
                "labels": {"app.kubernetes.io/managed-by": "datalyptica", "app.kubernetes.io/instance": self.plan.platform}},
            "data": data,
        });
        self.api
            .apply(
                &cm,
                ApplyOptions {
                    dry_run: false,
                    force: true,
                },
            )
            .await
            .map_err(|e| self.api_err(step, e))?;
        Ok(())
    }

    async fn run(&self) -> Result<(), DeployError> {
        let progress = self
            .api
            .get(
                &TypeRef::new("v1", "ConfigMap"),
                Some(&self.plan.operators_namespace),
                PROGRESS_CONFIGMAP,
            )
            .await
            .unwrap_or(None);
        if let Some(data) = progress.as_ref().and_then(|p| p["data"].as_object()) {
            let recorded: BTreeMap<String, String> = data
                .iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
                .collect();
            if !recorded.is_empty() {
                (self.emit)(&Event::Resume {
                    done: recorded.keys().cloned().collect(),
                });
            }
            *self.done.borrow_mut() = recorded;
        }
        (self.emit)(&Event::StepStarted {
            step: "prerequisites".into(),
            phase: 0,
        });
        let n = self
            .apply_all("prerequisites", &self.plan.prerequisites)
            .await?;
        self.finish_step("prerequisites", digest(&self.plan.prerequisites), n)
            .await?;

        (self.emit)(&Event::StepStarted {
            step: "operators".into(),
            phase: 0,
        });
        let carried: Vec<Value> = self
            .plan
            .carried
            .iter()
            .flat_map(|c| c.objects.iter().cloned())
            .collect();
        let mut n = self
            .apply_all("operators", &self.plan.operator_objects)
            .await?;
        n += self.apply_all("operators", &carried).await?;
        if !self.opts.dry_run {
            self.operators().await?;
            for c in &self.plan.carried {
                self.wait_gate("operators", &c.gate).await?;
            }
        }
        let all: Vec<Value> = self
            .plan
            .operator_objects
            .iter()
            .cloned()
            .chain(carried)
            .collect();
        self.finish_step("operators", digest(&all), n).await?;

        if !self.plan.object_store.is_empty() {
            let n = self
                .apply_all("object-store", &self.plan.object_store)
                .await?;
            self.finish_step("object-store", digest(&self.plan.object_store), n)
                .await?;
        }
        // A partial deploy (--phase, --component) builds on what earlier runs deployed: check
        // those dependencies are healthy now instead of waiting for something nobody deploys.
        if !self.opts.dry_run {
            for c in &self.plan.required {
                let step = format!("requires.{}", c.id);
                let hint = format!(" — deploy {} (phase {}) first", c.id, c.phase);
                for g in &c.gates {
                    self.gate(&step, g, Duration::ZERO, &hint).await?;
                }
            }
        }
        for stage in &self.plan.stages {
            // Independent components of one stage proceed together; the first failure stops the
            // deploy after its siblings finish (their progress is recorded).
            let results = join_all(stage.components.iter().map(|c| self.component(c))).await;
            if let Some(e) = results.into_iter().find_map(Result::err) {
                return Err(e);
            }
        }
        Ok(())
    }
}

/// Run a deploy of `plan`, reporting through `emit`.
pub async fn deploy<A: ClusterApi>(
    api: &A,
    plan: &Plan,
    opts: &DeployOptions,
    emit: &dyn Fn(&Event),
) -> Report {
    let d = Deployer {
        api,
        plan,
        opts,
        emit,
        changed: Cell::new(0),
        unchanged: Cell::new(0),
        keys: RefCell::new(None),
        done: RefCell::new(BTreeMap::new()),
        retries: Cell::new(0),
        namespaces: RefCell::new(BTreeMap::new()),
    };
    let result = d.run().await;
    let changed = d.changed.get();
    let unchanged = d.unchanged.get();
    let message = match (&result, opts.dry_run, changed) {
        (Err(e), _, _) => format!("stopped: {e}"),
        (Ok(()), true, 0) => "dry run: the cluster already matches the spec".into(),
        (Ok(()), true, n) => format!("dry run: {n} object(s) would change"),
        (Ok(()), false, 0) => "nothing changed: the cluster already matches the spec".into(),
        (Ok(()), false, n) => {
            format!("deployed: {n} object(s) created or changed, {unchanged} unchanged")
        }
    };
    emit(&Event::Finished {
        ok: result.is_ok(),
        changed,
        unchanged,
        message,
    });
    Report {
        changed,
        unchanged,
        result,
    }
}
