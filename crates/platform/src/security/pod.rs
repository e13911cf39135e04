//! Pod security beyond restricted-v2's defaults: which containers keep a writable root
//! filesystem, and why.

use std::fmt::Write;

use serde_json::Value;

use super::*;
use crate::component::{ComponentId, File};

/// Containers of `files` whose root filesystem stays writable (`object/container`, or the
/// object for an operator CR's one context), sorted. `render` asks it of every component's own
/// files, so a component that becomes read-only drops out of the docs by itself.
pub fn writable_containers(files: &[File]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for o in files.iter().flat_map(File::objects) {
        let obj = o["metadata"]["name"].as_str().unwrap_or_default();
        visit_maps(o, &mut |map| {
            // A container (has an image) or an operator CR's container context (Redis, MinIO:
            // one context for the pods the operator makes).
            for key in ["securityContext", "containerSecurityContext"] {
                if map
                    .get(key)
                    .is_some_and(|sc| sc["readOnlyRootFilesystem"] == Value::Bool(false))
                {
                    names.push(match map.get("name").and_then(Value::as_str) {
                        Some(n) if map.contains_key("image") => format!("{obj}/{n}"),
                        _ => obj.to_string(),
                    });
                }
            }
        });
    }
    names.sort();
    names.dedup();
    names
}

/// Markdown of the pod-security guarantees and the writable-root exceptions (per component,
/// from [`writable_containers`]).
pub fn pod_security_section(writable: &[(ComponentId, Vec<String>)]) -> String {
    let mut s = String::from(
        "## Pod security\n\nEvery container we render runs with `runAsNonRoot`, `allowPrivilegeEscalation: false`, all capabilities dropped, seccomp `RuntimeDefault` and no fixed UID, so `restricted-v2` admits it; pods mount an API token only where a Role grants them something (Flink, Spark drivers, Airflow with the Kubernetes executor). Root filesystems are read-only, with emptyDirs for scratch, except where the image writes into itself:\n\n| Component | Containers | Why |\n|---|---|---|\n",
    );
    for (id, names) in writable.iter().filter(|(_, n)| !n.is_empty()) {
        let _ = writeln!(
            s,
            "| {id} | {} | {} |",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            crate::components::get(*id).writable_root_reason()
        );
    }
    s
}
