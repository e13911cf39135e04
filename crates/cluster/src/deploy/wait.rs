//! Gates: poll an object until its readiness holds, with backoff over transient API failures,
//! and the findings (pods, events) that explain a gate that did not pass.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use datalyptica_platform::component::Gate;
use serde_json::Value;

use super::{DeployError, Deployer, Event};
use crate::api::{ApiError, ClusterApi, TypeRef, label_selector, pods_matching};
use crate::diagnose::{Finding, diagnose};
use crate::gates::{self, GateState};

/// The longest sleep between gate polls after transient API failures.
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Transient failures in a row one read or write survives; server-side apply is idempotent, so
/// repeating one is safe.
const MAX_CALL_RETRIES: u32 = 5;

impl<'a, A: ClusterApi> Deployer<'a, A> {
    /// `call`, repeated with the gates' backoff while it fails transiently (at most
    /// [`MAX_CALL_RETRIES`] times in a row), each repetition reported.
    pub(super) async fn retrying<T, F>(
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

    pub(super) fn timeout(&self, own: Duration) -> Duration {
        self.opts.timeout.unwrap_or(own)
    }

    pub(super) async fn sleep(&self) {
        tokio::time::sleep(self.backoff()).await;
    }

    /// The poll interval, doubled for each transient API failure in a row (at most
    /// [`MAX_BACKOFF`], never below the poll interval).
    pub(super) fn backoff(&self) -> Duration {
        let n = self.retries.get().min(10);
        (self.opts.poll * 2u32.pow(n)).min(MAX_BACKOFF.max(self.opts.poll))
    }

    /// A gate poll's API result: a transient failure (503, dropped connection) becomes a
    /// waiting state that says it is retried; anything else resets the backoff.
    pub(super) fn retry_transient<T>(
        &self,
        r: Result<T, ApiError>,
    ) -> Result<Result<T, String>, ApiError> {
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

    pub(super) async fn findings(
        &self,
        ns: &str,
        selector: &BTreeMap<String, String>,
    ) -> Vec<Finding> {
        let pod_t = TypeRef::new("v1", "Pod");
        // An empty selector: every pod of the namespace (what failed is not known).
        let sel = (!selector.is_empty()).then(|| label_selector(selector));
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

    pub(super) fn gate_failed(
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

    pub(super) async fn wait_gate(&self, step: &str, gate: &Gate) -> Result<(), DeployError> {
        self.gate(step, gate, self.timeout(gate.timeout), "").await
    }

    pub(super) async fn gate(
        &self,
        step: &str,
        gate: &Gate,
        timeout: Duration,
        hint: &str,
    ) -> Result<(), DeployError> {
        let t = gates::type_ref(gate.kind);
        let target = &gate.name;
        let label = format!(
            "{}/{target} -n {} ({})",
            gate.kind, gate.namespace, gate.condition
        );
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            // A kind not served yet is an object not created yet: its operator may still be
            // registering the CRD.
            let obj = match self.api.get(&t, Some(&gate.namespace), target).await {
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
            let sel = gates::pod_selector(gate.kind, target, obj.as_ref());
            let pods = pods_matching(self.api, &gate.namespace, &sel).await;
            let state = gates::evaluate(gate, obj.as_ref(), &pods);
            match state {
                GateState::Ready(d) => {
                    (self.emit)(&Event::GatePassed {
                        step: step.into(),
                        gate: label,
                        detail: gates::passed_detail(d, obj.as_ref()),
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
