//! Server-side apply of the tree's objects, and the diff a dry run shows.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{ApplyOutcome, DeployError, Deployer, Event};
use crate::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use crate::plan::{kind_of, name_of, namespace_of};
use crate::secrets;

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
    pub(super) async fn apply_one(&self, step: &str, obj: &Value) -> Result<bool, DeployError> {
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

    pub(super) async fn namespace_exists(&self, step: &str, ns: &str) -> Result<bool, DeployError> {
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

    pub(super) async fn apply_all(
        &self,
        step: &str,
        objects: &[Value],
    ) -> Result<usize, DeployError> {
        let mut n = 0;
        for o in objects {
            n += usize::from(self.apply_one(step, o).await?);
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
}
