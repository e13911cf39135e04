//! Test helpers shared by the sandbox tests of the cluster crate and of the CLI crate (which
//! includes this file with `#[path]`): whether a sandbox can run here, and the Secrets only the
//! user provides.

use datalyptica_cluster::api::{ClusterApi, KubeApi, TypeRef};
use datalyptica_cluster::plan::Plan;
use datalyptica_cluster::sandbox;

/// True (after a loud SKIPPED banner) when the sandbox's binaries or the shared CRDs are absent;
/// panics instead when CI=true.
pub fn skip_without_sandbox(name: &str) -> bool {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let shared = sandbox::crds::shared_dir();
    let missing = match sandbox::assets() {
        Err(e) => Some(e),
        Ok(_) if !shared.join("crds/olm").is_dir() => Some(format!(
            "{} has no crds/olm (set DATALYPTICA_SHARED_DIR)",
            shared.display()
        )),
        Ok(_) => None,
    };
    let Some(why) = missing else {
        return false;
    };
    assert!(!ci, "sandbox test {name} cannot run and CI=true: {why}");
    let rule = "=".repeat(78);
    eprintln!("{rule}\nSKIPPED {name}: {why}\n{rule}");
    true
}

/// What the user creates before deploying: every Secret only they can provide.
pub async fn provide_user_secrets(api: &KubeApi, plan: &Plan) {
    provide_user_secrets_but(api, plan, &[]).await
}

/// [`provide_user_secrets`], except those named in `but` (the user forgot them).
pub async fn provide_user_secrets_but(api: &KubeApi, plan: &Plan, but: &[&str]) {
    use datalyptica_platform::security::SecretSource;
    let ns_t = TypeRef::new("v1", "Namespace");
    for e in plan.components().flat_map(|c| &c.secrets) {
        if !matches!(e.source, SecretSource::User(_)) || but.contains(&e.name.as_str()) {
            continue;
        }
        if api
            .get(&ns_t, None, &e.namespace)
            .await
            .expect("get ns")
            .is_none()
        {
            api.create(&serde_json::json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": e.namespace}}))
                .await
                .expect("namespace");
        }
        let data: serde_json::Map<String, serde_json::Value> = e
            .keys
            .iter()
            .map(|k| (k.clone(), serde_json::json!("dGVzdA==")))
            .collect();
        let s = serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": e.name, "namespace": e.namespace}, "data": data});
        let t = TypeRef::of(&s);
        if api
            .get(&t, Some(&e.namespace), &e.name)
            .await
            .expect("get")
            .is_none()
        {
            api.create(&s).await.expect("user secret");
        }
    }
}
