//! The operators step: each Subscription's CSV Succeeded and its owned CRDs established.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::json;

use super::{DeployError, Deployer, Event};
use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use crate::gates::{self, GateState};

impl<'a, A: ClusterApi> Deployer<'a, A> {
    pub(super) async fn operators(&self) -> Result<(), DeployError> {
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

    pub(super) async fn operator_state(
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
        Ok(GateState::Ready(gates::passed_detail(
            format!("{csv_name} Succeeded, {} CRDs established", owned.len()),
            Some(&csv),
        )))
    }
}
