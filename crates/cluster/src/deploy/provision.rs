//! Secrets a step needs before its objects: generated, issued from a private CA, copied from
//! another namespace, or awaited from the user or another controller. Values never leave here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use datalyptica_platform::security::{SecretEntry, SecretSource};
use serde_json::Value;

use super::{DeployError, Deployer, Event, OBJECT_STORE_ROOT_SECRET};
use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use crate::plan::ComponentStep;
use crate::secrets::{self, ObjectStoreKeys, Provision};

impl<'a, A: ClusterApi> Deployer<'a, A> {
    pub(super) async fn object_store_keys(&self, step: &str) -> Result<(), DeployError> {
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
    pub(super) async fn wait_for_secret(
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

    /// Issue the certificate `r` from the private CA in the Secret `ca` of its namespace,
    /// creating that CA on first use.
    pub(super) async fn issue(
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
    pub(super) fn issued_entry(&self, namespace: &str, name: &str) -> Option<&SecretEntry> {
        self.plan.components().flat_map(|c| &c.secrets).find(|e| {
            e.namespace == namespace
                && e.name == name
                && matches!(e.source, SecretSource::Issued { .. })
        })
    }

    /// Writes a Secret deploy made (unless a dry run), counts it as changed and reports it with
    /// `verbs[0]`, or `verbs[1]` on a dry run. The values never enter the event.
    pub(super) async fn write_secret(
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
        (self.emit)(&secret_event(
            step,
            r,
            verbs[usize::from(self.opts.dry_run)],
        ));
        Ok(())
    }

    pub(super) async fn ensure_secrets(&self, c: &ComponentStep) -> Result<(), DeployError> {
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
            let event = |action: &str| secret_event(&step, r, action);
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
                    self.copy(&step, r, live.as_ref(), namespace, name).await?;
                }
            }
        }
        Ok(())
    }

    /// Copy the keys `r` needs from the Secret `namespace/name` (made by an operator, or issued
    /// here first when a later step owns it), waiting for that source to exist.
    pub(super) async fn copy(
        &self,
        step: &str,
        r: &SecretEntry,
        live: Option<&Value>,
        namespace: &str,
        name: &str,
    ) -> Result<(), DeployError> {
        let t = TypeRef::new("v1", "Secret");
        // A source deploy issues in a later step is issued now (once).
        let mut to_issue = self.issued_entry(namespace, name);
        let deadline = Instant::now() + self.timeout(Duration::from_secs(300));
        let source = loop {
            let found = self
                .api
                .get(&t, Some(namespace), name)
                .await
                .map_err(|e| self.api_err(step, e))?;
            if found.is_some() {
                break found;
            }
            if let Some(src) = to_issue.take()
                && let SecretSource::Issued { ca, request } = &src.source
            {
                self.issue(step, src, ca, request).await?;
                continue;
            }
            if self.opts.dry_run {
                break None;
            }
            if Instant::now() >= deadline {
                return Err(self.gate_failed(step, format!("Secret {namespace}/{name}"),
                    format!("PGO has not created {name}: is the PostgresCluster ready (and, for a pguser Secret, the user listed in it)?"), vec![]));
            }
            self.sleep().await;
        };
        let Some(source) = source else {
            (self.emit)(&secret_event(
                step,
                r,
                "will be copied once its source exists",
            ));
            return Ok(());
        };
        let data = secrets::copied_data(&source, &r.keys);
        if live.is_some_and(|l| l["data"] == data) {
            self.unchanged.set(self.unchanged.get() + 1);
            return Ok(());
        }
        if !self.opts.dry_run {
            let s = secrets::copy_object(data, &r.namespace, &r.name, &self.plan.platform);
            self.api
                .apply(
                    &s,
                    ApplyOptions {
                        dry_run: false,
                        force: self.opts.force_conflicts,
                    },
                )
                .await
                .map_err(|e| self.api_err(step, e))?;
        }
        self.changed.set(self.changed.get() + 1);
        let verb = if self.opts.dry_run {
            "would be copied"
        } else {
            "copied"
        };
        (self.emit)(&secret_event(
            step,
            r,
            format!("{verb} from {namespace}/{name}"),
        ));
        Ok(())
    }
}

/// The event for a Secret of the plan: its name and what happened, never a value.
fn secret_event(step: &str, r: &SecretEntry, action: impl Into<String>) -> Event {
    Event::Secret {
        step: step.into(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        action: action.into(),
    }
}
