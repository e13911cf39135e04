//! `deploy`: prerequisites, operators (Subscription → CSV Succeeded → CRDs established), then the
//! plan's stages, each component applied in manifest order and held until its gates pass.
//! Progress is recorded in a ConfigMap so an interrupted deploy resumes; every write is a
//! server-side apply with one field manager, so a second run changes nothing and says so.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use datalyptica_platform::component::Gate;
use datalyptica_platform::security::{SecretEntry, SecretSource};
use futures::future::join_all;
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use crate::diagnose::{Finding, diagnose};
use crate::gates::{self, GateState};
use crate::plan::{ComponentStep, Plan, digest, kind_of, name_of, namespace_of};
use crate::secrets::{self, ObjectStoreKeys, Provision};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ApplyOutcome {
    Created,
    Configured,
    Unchanged,
}

/// Progress events; `--json` prints one per line.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Resume {
        done: Vec<String>,
    },
    StepStarted {
        step: String,
        phase: u8,
    },
    Applied {
        step: String,
        object: String,
        outcome: ApplyOutcome,
    },
    DryRun {
        step: String,
        object: String,
        diff: Vec<String>,
    },
    /// The Secret's name only: values are never reported.
    Secret {
        step: String,
        namespace: String,
        name: String,
        action: String,
    },
    /// A read or write of `object` failed transiently (dropped connection, 503 outlasting the
    /// client's own retries) and is tried again.
    Retrying {
        step: String,
        object: String,
        detail: String,
    },
    GateWaiting {
        step: String,
        gate: String,
        detail: String,
    },
    GatePassed {
        step: String,
        gate: String,
        detail: String,
    },
    GateFailed {
        step: String,
        gate: String,
        detail: String,
        findings: Vec<Finding>,
        resume: String,
    },
    StepDone {
        step: String,
        changed: usize,
    },
    Finished {
        ok: bool,
        changed: usize,
        unchanged: usize,
        message: String,
    },
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

/// The longest sleep between gate polls after transient API failures.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Transient failures in a row one read or write survives; server-side apply is idempotent, so
/// repeating one is safe.
const MAX_CALL_RETRIES: u32 = 5;

fn obj_label(o: &Value) -> String {
    match namespace_of(o) {
        Some(ns) => format!("{}/{} -n {ns}", kind_of(o), name_of(o)),
        None => format!("{}/{}", kind_of(o), name_of(o)),
    }
}

fn rv(o: &Value) -> &str {
    o["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
}

/// Drop what the server owns so a diff shows only what the tree changes.
fn normalize(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("status");
    }
    if let Some(m) = o["metadata"].as_object_mut() {
        for k in [
            "managedFields",
            "resourceVersion",
            "generation",
            "uid",
            "creationTimestamp",
        ] {
            m.remove(k);
        }
    }
    if kind_of(&o) == "Secret" {
        o = secrets::redact(&o);
    }
    o
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                flatten(&format!("{prefix}.{k}"), x, out);
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for (i, x) in a.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// Line diff of two objects by JSON path: `+` added, `-` removed, `~` changed.
pub fn diff(live: Option<&Value>, new: &Value) -> Vec<String> {
    let mut a = BTreeMap::new();
    let mut b = BTreeMap::new();
    if let Some(l) = live {
        flatten("", &normalize(l), &mut a);
    }
    flatten("", &normalize(new), &mut b);
    let mut out = Vec::new();
    for (k, v) in &b {
        match a.get(k) {
            None => out.push(format!("+ {k}: {v}")),
            Some(old) if old != v => out.push(format!("~ {k}: {old} → {v}")),
            _ => {}
        }
    }
    for (k, v) in &a {
        if !b.contains_key(k) {
            out.push(format!("- {k}: {v}"));
        }
    }
    out
}

impl<'a, A: ClusterApi> Deployer<'a, A> {
    fn api_err(&self, step: &str, error: ApiError) -> DeployError {
        DeployError::Api {
            step: step.into(),
            error,
        }
    }

    /// `call`, repeated with the gates' backoff while it fails transiently (at most
    /// [`MAX_CALL_RETRIES`] times in a row), each repetition reported.
    async fn retrying<T, F>(
        &self,
        step: &str,
        object: &str,
        call: impl Fn() -> F,
    ) -> Result<T, ApiError>
    where
        F: std::future::Future<Output = Result<T, ApiError>>,
    {
        for _ in 0..MAX_CALL_RETRIES {
            match self.retry_transient(call().await)? {
                Ok(v) => return Ok(v),
                Err(detail) => {
                    (self.emit)(&Event::Retrying {
                        step: step.into(),
                        object: object.into(),
                        detail,
                    });
                    self.sleep().await;
                }
            }
        }
        let last = call().await;
        if last.is_ok() {
            self.retries.set(0);
        }
        last
    }

    async fn apply_one(&self, step: &str, obj: &Value) -> Result<bool, DeployError> {
        let t = TypeRef::of(obj);
        let label = obj_label(obj);
        let live = match self
            .retrying(step, &label, || {
                self.api.get(&t, namespace_of(obj), name_of(obj))
            })
            .await
        {
            Ok(l) => l,
            Err(ApiError::UnknownKind(k)) if self.opts.dry_run => {
                (self.emit)(&Event::DryRun {
                    step: step.into(),
                    object: obj_label(obj),
                    diff: vec![format!(
                        "+ (whole object; {k} is not served until its operator is installed)"
                    )],
                });
                self.changed.set(self.changed.get() + 1);
                return Ok(true);
            }
            Err(e) => return Err(self.api_err(step, e)),
        };
        if self.opts.dry_run
            && let Some(ns) = namespace_of(obj)
            && !self.namespace_exists(step, ns).await?
        {
            // The API server refuses even a dry-run apply into a namespace that does not exist
            // yet (404), so the diff is the whole object, checked locally only.
            let mut d = diff(None, obj);
            d.insert(
                0,
                format!("+ (whole object; namespace {ns} does not exist yet, so the server cannot check it)"),
            );
            (self.emit)(&Event::DryRun {
                step: step.into(),
                object: obj_label(obj),
                diff: d,
            });
            self.changed.set(self.changed.get() + 1);
            return Ok(true);
        }
        let opts = ApplyOptions {
            dry_run: self.opts.dry_run,
            force: self.opts.force_conflicts,
        };
        let new = self
            .retrying(step, &label, || self.api.apply(obj, opts))
            .await
            .map_err(|e| self.api_err(step, e))?;
        let changed = if self.opts.dry_run {
            let d = diff(live.as_ref(), &new);
            let changed = !d.is_empty();
            (self.emit)(&Event::DryRun {
                step: step.into(),
                object: obj_label(obj),
                diff: d,
            });
            changed
        } else {
            let outcome = match &live {
                None => ApplyOutcome::Created,
                Some(l) if rv(l) != rv(&new) => ApplyOutcome::Configured,
                Some(_) => ApplyOutcome::Unchanged,
            };
            (self.emit)(&Event::Applied {
                step: step.into(),
                object: obj_label(obj),
                outcome,
            });
            outcome != ApplyOutcome::Unchanged
        };
        let c = if changed {
            &self.changed
        } else {
            &self.unchanged
        };
        c.set(c.get() + 1);
        Ok(changed)
    }

    async fn namespace_exists(&self, step: &str, ns: &str) -> Result<bool, DeployError> {
        if let Some(e) = self.namespaces.borrow().get(ns) {
            return Ok(*e);
        }
        let e = self
            .api
            .get(&TypeRef::new("v1", "Namespace"), None, ns)
            .await
            .map_err(|e| self.api_err(step, e))?
            .is_some();
        self.namespaces.borrow_mut().insert(ns.to_string(), e);
        Ok(e)
    }

    async fn apply_all(&self, step: &str, objects: &[Value]) -> Result<usize, DeployError> {
        let mut n = 0;
        for o in objects {
            n += usize::from(self.apply_one(step, o).await?);
        }
        Ok(n)
    }

    fn timeout(&self, own: Duration) -> Duration {
        self.opts.timeout.unwrap_or(own)
    }

    async fn sleep(&self) {
        tokio::time::sleep(self.backoff()).await;
    }

    /// The poll interval, doubled for each transient API failure in a row (at most
    /// [`MAX_BACKOFF`], never below the poll interval).
    fn backoff(&self) -> Duration {
        let n = self.retries.get().min(10);
        (self.opts.poll * 2u32.pow(n)).min(MAX_BACKOFF.max(self.opts.poll))
    }

    /// A gate poll's API result: a transient failure (503, dropped connection) becomes a
    /// waiting state that says it is retried; anything else resets the backoff.
    fn retry_transient<T>(&self, r: Result<T, ApiError>) -> Result<Result<T, String>, ApiError> {
        match r {
            Ok(v) => {
                self.retries.set(0);
                Ok(Ok(v))
            }
            Err(e) if e.is_transient() => {
                self.retries.set(self.retries.get() + 1);
                Ok(Err(format!(
                    "{e}; retry {} in {:?}",
                    self.retries.get(),
                    self.backoff()
                )))
            }
            Err(e) => Err(e),
        }
    }

    async fn findings(&self, ns: &str, selector: &BTreeMap<String, String>) -> Vec<Finding> {
        let pod_t = TypeRef::new("v1", "Pod");
        let sel = (!selector.is_empty()).then(|| {
            selector
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        });
        let pods = self
            .api
            .list(&pod_t, Some(ns), sel.as_deref())
            .await
            .unwrap_or_default();
        let events = self
            .api
            .list(&TypeRef::new("v1", "Event"), Some(ns), None)
            .await
            .unwrap_or_default();
        diagnose(ns, &pods, &events)
    }

    fn gate_failed(
        &self,
        step: &str,
        gate: String,
        detail: String,
        findings: Vec<Finding>,
    ) -> DeployError {
        (self.emit)(&Event::GateFailed {
            step: step.into(),
            gate: gate.clone(),
            detail: detail.clone(),
            findings,
            resume: "fix the cause, then run `datalyptica deploy` again: finished steps are recorded and re-checked without waiting".into(),
        });
        DeployError::Gate {
            step: step.into(),
            gate,
            detail,
        }
    }

    async fn wait_gate(
        &self,
        step: &str,
        gate: &Gate,
        objects: &[Value],
    ) -> Result<(), DeployError> {
        self.gate(step, gate, objects, self.timeout(gate.timeout), "")
            .await
    }

    async fn gate(
        &self,
        step: &str,
        gate: &Gate,
        objects: &[Value],
        timeout: Duration,
        hint: &str,
    ) -> Result<(), DeployError> {
        let (api_version, target) = gates::target(gate, objects);
        let t = TypeRef::new(&api_version, gate.kind.kind());
        let label = format!(
            "{}/{target} -n {} ({})",
            gate.kind, gate.namespace, gate.condition
        );
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            // A kind not served yet is an object not created yet: its operator may still be
            // registering the CRD.
            let obj = match self.api.get(&t, Some(&gate.namespace), &target).await {
                Err(ApiError::UnknownKind(_)) => None,
                r => match self.retry_transient(r) {
                    Ok(Ok(o)) => o,
                    Ok(Err(why)) => {
                        if Instant::now() >= deadline {
                            return Err(self.gate_failed(step, label, why, vec![]));
                        }
                        (self.emit)(&Event::GateWaiting {
                            step: step.into(),
                            gate: label.clone(),
                            detail: why,
                        });
                        self.sleep().await;
                        continue;
                    }
                    Err(e) => return Err(self.api_err(step, e)),
                },
            };
            let sel = gates::pod_selector(gate.kind, &target, obj.as_ref());
            let pods = if sel.is_empty() {
                vec![]
            } else {
                let s: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
                self.api
                    .list(
                        &TypeRef::new("v1", "Pod"),
                        Some(&gate.namespace),
                        Some(&s.join(",")),
                    )
                    .await
                    .unwrap_or_default()
            };
            let state = gates::evaluate(gate, obj.as_ref(), &pods);
            match state {
                GateState::Ready(d) => {
                    (self.emit)(&Event::GatePassed {
                        step: step.into(),
                        gate: label,
                        detail: d,
                    });
                    return Ok(());
                }
                GateState::Failed(d) => {
                    let f = self.findings(&gate.namespace, &sel).await;
                    return Err(self.gate_failed(step, label, d, f));
                }
                GateState::Waiting(d) => {
                    if Instant::now() >= deadline {
                        let f = self.findings(&gate.namespace, &sel).await;
                        let when = if timeout.is_zero() {
                            "not ready".to_string()
                        } else {
                            format!("timed out after {timeout:?}")
                        };
                        let detail = format!(
                            "{when}: {d}{}{hint}",
                            obj.as_ref().map(conditions_summary).unwrap_or_default()
                        );
                        return Err(self.gate_failed(step, label, detail, f));
                    }
                    if d != last {
                        (self.emit)(&Event::GateWaiting {
                            step: step.into(),
                            gate: label.clone(),
                            detail: d.clone(),
                        });
                        last = d;
                    }
                }
            }
            self.sleep().await;
        }
    }

    async fn operators(&self) -> Result<(), DeployError> {
        let step = "operators";
        let ns = &self.plan.operators_namespace;
        let deadline = Instant::now() + self.timeout(Duration::from_secs(900));
        let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
        let csv_t = TypeRef::new("operators.coreos.com/v1alpha1", "ClusterServiceVersion");
        let crd_t = TypeRef::new("apiextensions.k8s.io/v1", "CustomResourceDefinition");
        let mut waiting: Vec<&str> = self
            .plan
            .operators
            .iter()
            .map(|o| o.package.as_str())
            .collect();
        let mut last: BTreeMap<String, String> = BTreeMap::new();
        while !waiting.is_empty() {
            let mut still = Vec::new();
            for pkg in waiting {
                let gate = format!("operator {pkg} (CSV Succeeded, CRDs established)");
                let state = match self
                    .retry_transient(self.operator_state(pkg, ns, &sub_t, &csv_t, &crd_t).await)
                    .map_err(|e| self.api_err(step, e))?
                {
                    Ok(s) => s,
                    Err(why) => GateState::Waiting(why),
                };
                match state {
                    GateState::Ready(d) => (self.emit)(&Event::GatePassed {
                        step: step.into(),
                        gate,
                        detail: d,
                    }),
                    GateState::Failed(d) => return Err(self.gate_failed(step, gate, d, vec![])),
                    GateState::Waiting(d) => {
                        if Instant::now() >= deadline {
                            let f = self.findings(ns, &BTreeMap::new()).await;
                            return Err(self.gate_failed(step, gate, format!("timed out: {d}"), f));
                        }
                        if last.get(pkg) != Some(&d) {
                            (self.emit)(&Event::GateWaiting {
                                step: step.into(),
                                gate,
                                detail: d.clone(),
                            });
                            last.insert(pkg.to_string(), d);
                        }
                        still.push(pkg);
                    }
                }
            }
            waiting = still;
            if !waiting.is_empty() {
                self.sleep().await;
            }
        }
        Ok(())
    }

    async fn operator_state(
        &self,
        pkg: &str,
        ns: &str,
        sub_t: &TypeRef,
        csv_t: &TypeRef,
        crd_t: &TypeRef,
    ) -> Result<GateState, ApiError> {
        let Some(sub) = self.api.get(sub_t, Some(ns), pkg).await? else {
            return Ok(GateState::Waiting("Subscription not found".into()));
        };
        let csv_name = match gates::subscription_csv(&sub) {
            Ok(c) => c,
            Err(why) => {
                if let (true, Some(ip)) = (
                    self.opts.approve_install_plans,
                    sub["status"]["installPlanRef"]["name"].as_str(),
                ) {
                    let patch = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "InstallPlan",
                        "metadata": {"name": ip, "namespace": ns}, "spec": {"approved": true}});
                    // OLM owns spec.approved; taking it over is the approval itself.
                    self.api
                        .apply(
                            &patch,
                            ApplyOptions {
                                dry_run: false,
                                force: true,
                            },
                        )
                        .await?;
                    return Ok(GateState::Waiting(format!("approved install plan {ip}")));
                }
                let hint = match sub["status"]["installPlanRef"]["name"].as_str() {
                    Some(ip) if why.contains("approval") => format!(
                        "{why}; approve: oc patch installplan {ip} -n {ns} --type merge -p '{{\"spec\":{{\"approved\":true}}}}' (or deploy --approve-install-plans)"
                    ),
                    _ => why,
                };
                return Ok(GateState::Waiting(hint));
            }
        };
        let Some(csv) = self.api.get(csv_t, Some(ns), &csv_name).await? else {
            return Ok(GateState::Waiting(format!(
                "CSV {csv_name} not created yet"
            )));
        };
        match gates::csv(&csv) {
            GateState::Ready(_) => {}
            other => return Ok(other),
        }
        let owned: Vec<&str> = csv["spec"]["customresourcedefinitions"]["owned"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        for crd in &owned {
            match self.api.get(crd_t, None, crd).await? {
                None => return Ok(GateState::Waiting(format!("CRD {crd} not created yet"))),
                Some(o) => {
                    if let GateState::Waiting(d) = gates::crd_established(&o) {
                        return Ok(GateState::Waiting(format!("CRD {crd}: {d}")));
                    }
                }
            }
        }
        Ok(GateState::Ready(format!(
            "{csv_name} Succeeded, {} CRDs established",
            owned.len()
        )))
    }

    async fn object_store_keys(&self, step: &str) -> Result<(), DeployError> {
        if self.keys.borrow().is_some() {
            return Ok(());
        }
        let ns = &self.plan.operators_namespace;
        let t = TypeRef::new("v1", "Secret");
        let existing = self
            .api
            .get(&t, Some(ns), OBJECT_STORE_ROOT_SECRET)
            .await
            .map_err(|e| self.api_err(step, e))?;
        let decode = |s: &Value, k: &str| {
            s["data"][k]
                .as_str()
                .and_then(|v| base64::engine::general_purpose::STANDARD.decode(v).ok())
                .and_then(|b| String::from_utf8(b).ok())
        };
        let keys = match existing.as_ref().and_then(|s| {
            Some((
                decode(s, "AWS_ACCESS_KEY_ID")?,
                decode(s, "AWS_SECRET_ACCESS_KEY")?,
            ))
        }) {
            Some((a, s)) => ObjectStoreKeys {
                access_key: a,
                secret_key: s,
            },
            None => {
                let k = ObjectStoreKeys::generate()
                    .map_err(|e| self.api_err(step, ApiError::Other(e)))?;
                if !self.opts.dry_run {
                    let data = BTreeMap::from([
                        ("AWS_ACCESS_KEY_ID".to_string(), k.access_key.clone()),
                        ("AWS_SECRET_ACCESS_KEY".to_string(), k.secret_key.clone()),
                    ]);
                    let s = secrets::secret_object(
                        ns,
                        OBJECT_STORE_ROOT_SECRET,
                        &self.plan.platform,
                        data,
                    );
                    self.api
                        .apply(&s, ApplyOptions::default())
                        .await
                        .map_err(|e| self.api_err(step, e))?;
                    self.changed.set(self.changed.get() + 1);
                }
                (self.emit)(&Event::Secret {
                    step: step.into(),
                    namespace: ns.clone(),
                    name: OBJECT_STORE_ROOT_SECRET.into(),
                    action: if self.opts.dry_run {
                        "would be generated".into()
                    } else {
                        "generated".into()
                    },
                });
                k
            }
        };
        *self.keys.borrow_mut() = Some(keys);
        Ok(())
    }

    /// Wait for a Secret another controller makes from `spec.secrets.mode` (the external-secrets
    /// operator, the sealed-secrets controller). Whether it exists; a dry run only looks once.
    async fn wait_for_secret(
        &self,
        step: &str,
        r: &SecretEntry,
        present: bool,
        user: Option<&str>,
    ) -> Result<bool, DeployError> {
        let t = TypeRef::new("v1", "Secret");
        let deadline = Instant::now() + self.timeout(Duration::from_secs(300));
        let mut present = present;
        while !present && !self.opts.dry_run {
            if Instant::now() >= deadline {
                let whose = user
                    .map(|why| format!("; its values must be provided by you: {why}"))
                    .unwrap_or_default();
                return Err(self.gate_failed(step, format!("Secret {}/{}", r.namespace, r.name),
                    format!("secrets.mode is not `generated`: the Secret must come from its ExternalSecret (check `oc get externalsecret -n {}`) or from an applied SealedSecret{whose}", r.namespace), vec![]));
            }
            self.sleep().await;
            present = self
                .api
                .get(&t, Some(&r.namespace), &r.name)
                .await
                .map_err(|e| self.api_err(step, e))?
                .is_some();
        }
        Ok(present)
    }

    /// Writes a Secret deploy made (unless a dry run), counts it as changed and reports it with
    /// `verbs[0]`, or `verbs[1]` on a dry run. The values never enter the event.
    /// Issue the certificate `r` from the private CA in the Secret `ca` of its namespace,
    /// creating that CA on first use.
    async fn issue(
        &self,
        step: &str,
        r: &SecretEntry,
        ca: &str,
        request: &datalyptica_platform::security::CertRequest,
    ) -> Result<(), DeployError> {
        let step = step.to_string();
        let t = TypeRef::new("v1", "Secret");
        let now = time::OffsetDateTime::now_utc();
        let cn = crate::certs::ca_common_name(&r.namespace, ca);
        let stored = self
            .api
            .get(&t, Some(&r.namespace), ca)
            .await
            .map_err(|e| self.api_err(&step, e))?;
        let authority = match stored {
            Some(s) => {
                let field = |k: &str| {
                    use base64::Engine;
                    s["data"][k]
                        .as_str()
                        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                        .and_then(|b| String::from_utf8(b).ok())
                        // A server that has not converted stringData yet.
                        .or_else(|| s["stringData"][k].as_str().map(String::from))
                        .ok_or_else(|| format!("Secret {}/{ca} has no usable {k}", r.namespace))
                };
                field("tls.crt")
                    .and_then(|c| field("tls.key").map(|k| (c, k)))
                    .and_then(|(c, k)| crate::certs::Ca::from_pem(&cn, &c, &k))
                    .map_err(|e| self.api_err(&step, ApiError::Other(e)))?
            }
            None => {
                let fresh = crate::certs::Ca::new(&cn, now)
                    .map_err(|e| self.api_err(&step, ApiError::Other(e)))?;
                if !self.opts.dry_run {
                    let s = secrets::secret_object(
                        &r.namespace,
                        ca,
                        &self.plan.platform,
                        fresh.secret_data(),
                    );
                    self.api
                        .apply(&s, ApplyOptions::default())
                        .await
                        .map_err(|e| self.api_err(&step, e))?;
                }
                (self.emit)(&Event::Secret {
                    step: step.clone(),
                    namespace: r.namespace.clone(),
                    name: ca.to_string(),
                    action: if self.opts.dry_run {
                        "would be created (private CA)".into()
                    } else {
                        "created (private CA)".into()
                    },
                });
                fresh
            }
        };
        let data = authority
            .leaf_data(request, now)
            .map_err(|e| self.api_err(&step, ApiError::Other(e)))?;
        self.write_secret(&step, r, data, ["issued", "would be issued"])
            .await?;
        Ok(())
    }

    /// The entry of the plan that deploy issues as `namespace/name`, if any: a copy whose
    /// source is issued in a later step issues it first (MinIO's certificate, whose CA
    /// PostgreSQL's pgBackRest trusts before MinIO's own step).
    fn issued_entry(&self, namespace: &str, name: &str) -> Option<&SecretEntry> {
        self.plan.components().flat_map(|c| &c.secrets).find(|e| {
            e.namespace == namespace
                && e.name == name
                && matches!(e.source, SecretSource::Issued { .. })
        })
    }

    async fn write_secret(
        &self,
        step: &str,
        r: &SecretEntry,
        data: BTreeMap<String, String>,
        verbs: [&str; 2],
    ) -> Result<(), DeployError> {
        if !self.opts.dry_run {
            let s = secrets::secret_object(&r.namespace, &r.name, &self.plan.platform, data);
            self.api
                .apply(&s, ApplyOptions::default())
                .await
                .map_err(|e| self.api_err(step, e))?;
        }
        self.changed.set(self.changed.get() + 1);
        (self.emit)(&Event::Secret {
            step: step.into(),
            namespace: r.namespace.clone(),
            name: r.name.clone(),
            action: verbs[usize::from(self.opts.dry_run)].into(),
        });
        Ok(())
    }

    async fn ensure_secrets(&self, c: &ComponentStep) -> Result<(), DeployError> {
        let step = c.key();
        let t = TypeRef::new("v1", "Secret");
        // Copies last: a copy's source may be made in this very step (MinIO's certificate,
        // whose CA the consumers and the operator trust).
        let mut ordered: Vec<&SecretEntry> = c.secrets.iter().collect();
        ordered.sort_by_key(|r| matches!(r.source, SecretSource::Copy { .. }));
        for r in ordered {
            let p = secrets::provision(self.plan, r);
            // An operator or OpenShift makes it once the tree is applied: nothing to check yet.
            if p == Provision::Nothing {
                continue;
            }
            let live = self
                .api
                .get(&t, Some(&r.namespace), &r.name)
                .await
                .map_err(|e| self.api_err(&step, e))?;
            let event = |action: &str| Event::Secret {
                step: step.clone(),
                namespace: r.namespace.clone(),
                name: r.name.clone(),
                action: action.into(),
            };
            match p {
                Provision::Nothing => {}
                Provision::User(why) => {
                    let mut present = live.is_some();
                    if !self.plan.secrets_generated {
                        present = self.wait_for_secret(&step, r, present, Some(why)).await?;
                    }
                    if present {
                        self.unchanged.set(self.unchanged.get() + 1);
                    } else if self.opts.dry_run {
                        (self.emit)(&event(&format!("must be provided by you: {why}")));
                    } else {
                        return Err(self.gate_failed(
                            &step,
                            format!("Secret {}/{}", r.namespace, r.name),
                            secrets::missing_user_secret(r, why),
                            vec![],
                        ));
                    }
                }
                Provision::Wait => {
                    if self.wait_for_secret(&step, r, live.is_some(), None).await? {
                        self.unchanged.set(self.unchanged.get() + 1);
                    } else {
                        (self.emit)(&event("must be provided (secrets.mode is not generated)"));
                    }
                }
                Provision::Generate => {
                    if live.is_some() {
                        self.unchanged.set(self.unchanged.get() + 1);
                        continue;
                    }
                    self.object_store_keys(&step).await?;
                    let data = {
                        let keys = self.keys.borrow();
                        let Some(k) = keys.as_ref() else { continue };
                        secrets::generated_data(r, &self.plan.object_store_secret, k)
                            .map_err(|e| self.api_err(&step, ApiError::Other(e)))?
                    };
                    self.write_secret(&step, r, data, ["generated", "would be generated"])
                        .await?;
                }
                Provision::Issue { ca, request } => {
                    if live.is_some() {
                        self.unchanged.set(self.unchanged.get() + 1);
                        continue;
                    }
                    self.issue(&step, r, ca, request).await?;
                }
                Provision::Copy { namespace, name } => {
                    // A source deploy issues in a later step is issued now (once).
                    let mut to_issue = self.issued_entry(namespace, name);
                    let deadline = Instant::now() + self.timeout(Duration::from_secs(300));
                    let source = loop {
                        let found = self
                            .api
                            .get(&t, Some(namespace), name)
                            .await
                            .map_err(|e| self.api_err(&step, e))?;
                        if found.is_some() {
                            break found;
                        }
                        if let Some(src) = to_issue.take()
                            && let SecretSource::Issued { ca, request } = &src.source
                        {
                            self.issue(&step, src, ca, request).await?;
                            continue;
                        }
                        if self.opts.dry_run {
                            break None;
                        }
                        if Instant::now() >= deadline {
                            return Err(self.gate_failed(&step, format!("Secret {namespace}/{name}"),
                                format!("PGO has not created {name}: is the PostgresCluster ready (and, for a pguser Secret, the user listed in it)?"), vec![]));
                        }
                        self.sleep().await;
                    };
                    let Some(source) = source else {
                        (self.emit)(&event("will be copied once its source exists"));
                        continue;
                    };
                    let data = secrets::copied_data(&source, &r.keys);
                    if live.as_ref().is_some_and(|l| l["data"] == data) {
                        self.unchanged.set(self.unchanged.get() + 1);
                        continue;
                    }
                    if !self.opts.dry_run {
                        let s =
                            secrets::copy_object(data, &r.namespace, &r.name, &self.plan.platform);
                        self.api
                            .apply(
                                &s,
                                ApplyOptions {
                                    dry_run: false,
                                    force: self.opts.force_conflicts,
                                },
                            )
                            .await
                            .map_err(|e| self.api_err(&step, e))?;
                    }
                    self.changed.set(self.changed.get() + 1);
                    let verb = if self.opts.dry_run {
                        "would be copied"
                    } else {
                        "copied"
                    };
                    (self.emit)(&event(&format!("{verb} from {namespace}/{name}")));
                }
            }
        }
        Ok(())
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
                self.wait_gate(&step, g, &c.objects).await?;
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
                self.wait_gate("operators", &c.gate, &c.objects).await?;
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
                    self.gate(&step, g, &c.objects, Duration::ZERO, &hint)
                        .await?;
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

fn conditions_summary(o: &Value) -> String {
    let cs: Vec<String> = o["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "True" || c["type"] == "NotReady")
        .map(crate::gates::describe_condition)
        .collect();
    if cs.is_empty() {
        String::new()
    } else {
        format!("; conditions: {}", cs.join("; "))
    }
}

/// Human rendering of one event (the table-ish default output).
pub fn render_event(e: &Event) -> String {
    match e {
        Event::Resume { done } => format!(
            "resuming: {} step(s) recorded as done ({})",
            done.len(),
            done.join(", ")
        ),
        Event::StepStarted { step, phase } => format!("== {step} (phase {phase})"),
        Event::Applied {
            object, outcome, ..
        } => format!(
            "   {object}: {}",
            serde_json::to_value(outcome)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default()
        ),
        Event::DryRun { object, diff, .. } => {
            if diff.is_empty() {
                format!("   {object}: no change")
            } else {
                format!(
                    "   {object}:\n{}",
                    diff.iter()
                        .map(|l| format!("      {l}"))
                        .collect::<Vec<_>>()
                        .join("\n")
                )
            }
        }
        Event::Secret {
            namespace,
            name,
            action,
            ..
        } => format!("   Secret/{name} -n {namespace}: {action} (value not shown)"),
        Event::GateWaiting { gate, detail, .. } => format!("   waiting: {gate}: {detail}"),
        Event::Retrying { object, detail, .. } => format!("   retrying {object}: {detail}"),
        Event::GatePassed { gate, detail, .. } => format!("   ready:   {gate}: {detail}"),
        Event::GateFailed {
            gate,
            detail,
            findings,
            resume,
            ..
        } => {
            let mut s = format!("   FAILED:  {gate}: {detail}");
            for f in findings {
                s.push_str(&format!(
                    "\n      {} — {}\n        fix: {}",
                    f.subject, f.message, f.fix
                ));
            }
            s.push_str(&format!("\n   {resume}"));
            s
        }
        Event::StepDone { step, changed } => format!("   {step} done ({changed} changed)"),
        Event::Finished { message, .. } => message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_ignores_server_fields_and_never_shows_secret_values() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "7", "uid": "u", "managedFields": []},
            "data": {"x": "1", "gone": "y"}, "status": {"s": 1}});
        let new = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "resourceVersion": "8"}, "data": {"x": "2", "new": "z"}});
        assert_eq!(
            diff(Some(&live), &new),
            vec![
                "+ .data.new: \"z\"".to_string(),
                "~ .data.x: \"1\" → \"2\"".to_string(),
                "- .data.gone: \"y\"".to_string()
            ]
        );
        assert!(diff(Some(&new), &new).is_empty());
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"password": "c2VjcmV0"}});
        let d = diff(None, &secret).join("\n");
        assert!(d.contains("<redacted>") && !d.contains("c2VjcmV0"), "{d}");
    }

    #[test]
    fn events_render_for_humans_and_json() {
        let e = Event::GateFailed {
            step: "component.kafka".into(),
            gate: "Kafka/k".into(),
            detail: "timed out".into(),
            findings: vec![],
            resume: "run again".into(),
        };
        assert!(render_event(&e).contains("FAILED:  Kafka/k: timed out"));
        let j = serde_json::to_value(&e).expect("json");
        assert_eq!(j["event"], "gate-failed");
        let a = Event::Applied {
            step: "s".into(),
            object: "Namespace/x".into(),
            outcome: ApplyOutcome::Unchanged,
        };
        assert_eq!(render_event(&a), "   Namespace/x: unchanged");
    }
}
