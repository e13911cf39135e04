//! Helpers of the sandbox tests: start a sandbox (or say SKIPPED loudly; fail when CI=true),
//! the user's own Secrets, and a TCP proxy that injects faults in front of the API server.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use datalyptica_cluster::api::{ClusterApi, KubeApi};
use datalyptica_cluster::plan::{self, Plan};
use datalyptica_cluster::sandbox::{self, Sandbox, Spec};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

pub fn plan_of(p: &Platform) -> Plan {
    plan::build(&Model::new(p), &render(p)).expect("plan")
}

/// A started sandbox, or None after a loud SKIPPED banner when its binaries or the shared CRDs
/// are absent. Panics instead when CI=true.
pub async fn start(name: &str, nodes: u32, zones: u32) -> Option<Sandbox> {
    start_with(name, |spec| {
        spec.nodes = nodes;
        spec.zones = zones;
    })
    .await
}

/// [`start`] with the sandbox's spec shaped by `shape` (nodes from a file, say).
pub async fn start_with(name: &str, shape: impl FnOnce(&mut Spec)) -> Option<Sandbox> {
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
    if let Some(why) = missing {
        assert!(!ci, "sandbox test {name} cannot run and CI=true: {why}");
        let rule = "=".repeat(78);
        eprintln!("{rule}\nSKIPPED {name}: {why}\n{rule}");
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "datalyptica-sandbox-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut spec = Spec::new(&dir);
    shape(&mut spec);
    match Sandbox::start(&spec).await {
        Ok(sb) => Some(sb),
        Err(e) => panic!("sandbox {name} did not start: {e}"),
    }
}

/// What the user creates before deploying: every Secret only they can provide.
pub async fn provide_user_secrets(api: &KubeApi, plan: &Plan) {
    provide_user_secrets_but(api, plan, &[]).await
}

/// [`provide_user_secrets`], except those named in `but` (the user forgot them).
pub async fn provide_user_secrets_but(api: &KubeApi, plan: &Plan, but: &[&str]) {
    use datalyptica_platform::security::SecretSource;
    let ns_t = datalyptica_cluster::api::TypeRef::new("v1", "Namespace");
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
        let t = datalyptica_cluster::api::TypeRef::of(&s);
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

/// A TCP proxy on the sandbox's address (another port, so the serving certificate still
/// matches) in front of the real API server. `fault(n)` severs every open connection and
/// closes the next `n` connections as soon as they are accepted: the client sees dropped
/// connections, as from a load balancer that restarts.
pub struct FaultProxy {
    pub url: String,
    refuse: Arc<AtomicUsize>,
    sever: watch::Sender<u64>,
    pub dropped: Arc<AtomicUsize>,
}

impl FaultProxy {
    pub async fn start(sb: &Sandbox) -> FaultProxy {
        let upstream = sb.server.trim_start_matches("https://").to_string();
        let listener = TcpListener::bind((sb.ip, 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let refuse = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let (sever, rx) = watch::channel(0u64);
        let (r, d) = (refuse.clone(), dropped.clone());
        tokio::spawn(async move {
            while let Ok((mut down, _)) = listener.accept().await {
                if r.load(Ordering::SeqCst) > 0 {
                    r.fetch_sub(1, Ordering::SeqCst);
                    d.fetch_add(1, Ordering::SeqCst);
                    drop(down);
                    continue;
                }
                let upstream = upstream.clone();
                let mut rx = rx.clone();
                let d = d.clone();
                tokio::spawn(async move {
                    let Ok(mut up) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    rx.borrow_and_update();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = rx.changed() => { d.fetch_add(1, Ordering::SeqCst); }
                    }
                });
            }
        });
        FaultProxy {
            url: format!("https://{addr}"),
            refuse,
            sever,
            dropped,
        }
    }

    pub fn fault(&self, next_connections: usize) {
        self.refuse.store(next_connections, Ordering::SeqCst);
        self.sever.send_modify(|n| *n += 1);
    }
}

/// A client of the sandbox through another server URL (the proxy), same credentials.
pub async fn api_via(sb: &Sandbox, server: &str) -> KubeApi {
    let mut c = sb.config().await.expect("config");
    c.cluster_url = server.parse().expect("url");
    KubeApi::from_config(c).expect("client")
}

/// Polls `f` until it returns Some, at most `limit`.
pub async fn eventually<T, F: AsyncFnMut() -> Option<T>>(limit: Duration, mut f: F) -> Option<T> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}
