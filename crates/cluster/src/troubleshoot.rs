//! `troubleshoot`: a support bundle (objects without Secret data, events, logs, findings)
//! written as tar.gz.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use serde_json::Value;

use crate::api::{ApiError, ClusterApi, TypeRef};
use crate::diagnose::{Finding, diagnose};
use crate::plan::{Plan, name_of, namespace_of};
use crate::secrets;
use crate::status::{status, status_table};

pub struct Bundle {
    /// Path inside the archive → content.
    pub files: BTreeMap<String, Vec<u8>>,
    pub summary: String,
    pub findings: Vec<Finding>,
}

/// Collect the support bundle: every platform object and its events, pod logs (previous too),
/// operator CSVs, Subscriptions and InstallPlans. Secrets are redacted before they are stored.
pub async fn collect_bundle<A: ClusterApi>(api: &A, plan: &Plan) -> Result<Bundle, ApiError> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut kinds: BTreeMap<String, BTreeSet<TypeRef>> = BTreeMap::new();
    let common = [
        ("v1", "Pod"),
        ("v1", "Event"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("policy/v1", "PodDisruptionBudget"),
    ];
    for ns in &plan.namespaces {
        let e = kinds.entry(ns.clone()).or_default();
        e.extend(common.iter().map(|(a, k)| TypeRef::new(a, k)));
    }
    for c in plan.components() {
        for o in &c.objects {
            if let Some(ns) = namespace_of(o) {
                kinds
                    .entry(ns.to_string())
                    .or_default()
                    .insert(TypeRef::of(o));
            }
        }
    }
    let olm = kinds.entry(plan.operators_namespace.clone()).or_default();
    for k in ["Subscription", "ClusterServiceVersion", "InstallPlan"] {
        olm.insert(TypeRef::new("operators.coreos.com/v1alpha1", k));
    }
    let mut findings = Vec::new();
    for (ns, types) in &kinds {
        let mut pods = Vec::new();
        let mut events = Vec::new();
        for t in types {
            let items = match api.list(t, Some(ns), None).await {
                Ok(i) => i,
                Err(ApiError::UnknownKind(_)) => continue,
                Err(e) => return Err(e),
            };
            for o in &items {
                let o = if t.kind == "Secret" {
                    secrets::redact(o)
                } else {
                    strip(o)
                };
                let text = serde_json::to_vec_pretty(&o).unwrap_or_default();
                files.insert(
                    format!("{ns}/{}/{}.json", t.kind.to_lowercase(), name_of(&o)),
                    text,
                );
            }
            match t.kind.as_str() {
                "Pod" => pods = items,
                "Event" => events = items,
                _ => {}
            }
        }
        for p in &pods {
            let pod = name_of(p);
            for c in p["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(p["spec"]["initContainers"].as_array().into_iter().flatten())
            {
                let cname = c["name"].as_str().unwrap_or("main");
                for previous in [false, true] {
                    if let Ok(log) = api.logs(ns, pod, cname, previous).await {
                        let suffix = if previous { ".previous" } else { "" };
                        files.insert(
                            format!("{ns}/logs/{pod}/{cname}{suffix}.log"),
                            log.into_bytes(),
                        );
                    }
                }
            }
        }
        findings.extend(diagnose(ns, &pods, &events));
    }
    // Placement problems are read against the nodes (labels, taints, allocatable) and classes.
    for (av, kind) in [("v1", "Node"), ("storage.k8s.io/v1", "StorageClass")] {
        for o in api
            .list(&TypeRef::new(av, kind), None, None)
            .await
            .unwrap_or_default()
        {
            let text = serde_json::to_vec_pretty(&strip(&o)).unwrap_or_default();
            files.insert(
                format!("cluster/{}/{}.json", kind.to_lowercase(), name_of(&o)),
                text,
            );
        }
    }
    let rows = status(api, plan).await?;
    let mut summary = String::from("# datalyptica support bundle — analysis\n\n## Status\n\n```\n");
    summary.push_str(&status_table(&rows));
    summary.push_str("```\n\n## Findings\n\n");
    if findings.is_empty() {
        summary.push_str("No pending, crashing or unready pod and no warning event.\n");
    }
    for f in &findings {
        summary.push_str(&format!(
            "- `{}` ({:?}): {}\n  - fix: {}\n",
            f.subject, f.cause, f.message, f.fix
        ));
    }
    summary.push_str("\nSecrets in this bundle are redacted: keys are listed, values are not.\n");
    files.insert("analysis.md".into(), summary.clone().into_bytes());
    files.insert(
        "status.json".into(),
        serde_json::to_vec_pretty(&rows).unwrap_or_default(),
    );
    Ok(Bundle {
        files,
        summary,
        findings,
    })
}

fn strip(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    o
}

/// Write the bundle as a tar.gz under a top directory `datalyptica-support/`.
pub fn write_tar_gz(bundle: &Bundle, out: impl Write) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in &bundle.files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(
            &mut h,
            format!("datalyptica-support/{path}"),
            data.as_slice(),
        )?;
    }
    tar.into_inner()?.finish()?.flush()
}
