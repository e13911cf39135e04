//! Helpers of the sandbox tests: start a sandbox (or say SKIPPED loudly; fail when CI=true),
//! the user's own Secrets, and a TCP proxy that injects faults in front of the API server.
#![allow(dead_code, unused_imports)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use datalyptica_cluster::api::KubeApi;
use datalyptica_cluster::plan::{self, Plan};
use datalyptica_cluster::sandbox::{Sandbox, Spec};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use tokio::net::{TcpListener, TcpStream};

// Shared with the CLI crate's sandbox tests, which include the same file.
mod support;
pub use support::{provide_user_secrets, provide_user_secrets_but};
use tokio::sync::watch;

pub fn plan_of(p: &Platform) -> Plan {
    plan::build(&Model::new(p), &render(p)).expect("plan")
}

/// (apiVersion, kind, namespace, name) of an object.
pub fn key(o: &serde_json::Value) -> (String, String, String, String) {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    (
        s(&o["apiVersion"]),
        s(&o["kind"]),
        s(&o["metadata"]["namespace"]),
        s(&o["metadata"]["name"]),
    )
}

/// Every object deploy applies: prerequisites, operator objects, each component's objects.
pub fn applied_objects(plan: &Plan) -> Vec<serde_json::Value> {
    plan.prerequisites
        .iter()
        .chain(&plan.operator_objects)
        .chain(plan.components().flat_map(|c| &c.objects))
        .cloned()
        .collect()
}

/// The live object of `o`'s kind, namespace and name (None: absent).
pub async fn live(api: &KubeApi, o: &serde_json::Value) -> Option<serde_json::Value> {
    use datalyptica_cluster::api::{ClusterApi, TypeRef};
    let (av, kind, ns, name) = key(o);
    api.get(
        &TypeRef::new(&av, &kind),
        (!ns.is_empty()).then_some(ns.as_str()),
        &name,
    )
    .await
    .unwrap_or_else(|e| panic!("get {kind}/{name}: {e}"))
}

/// Child processes killed and a scratch directory removed when the test ends, even by panic.
pub struct Procs(pub Vec<std::process::Child>, pub std::path::PathBuf);

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = std::fs::remove_dir_all(&self.1);
    }
}

/// One sandbox at a time in this test binary: a control plane and ten simulated workers take
/// most of a 2-core machine, and the tests' deadlines assume they have it.
static SANDBOX: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A started sandbox holding the binary's sandbox turn until it is dropped (the sandbox stops
/// first: fields drop in order).
pub struct Held {
    sb: Sandbox,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Held {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl std::ops::DerefMut for Held {
    fn deref_mut(&mut self) -> &mut Sandbox {
        &mut self.sb
    }
}

/// A started sandbox, or None after a loud SKIPPED banner when its binaries or the shared CRDs
/// are absent. Panics instead when CI=true.
pub async fn start(name: &str, nodes: u32, zones: u32) -> Option<Held> {
    start_with(name, |spec| {
        spec.nodes = nodes;
        spec.zones = zones;
    })
    .await
}

/// [`start`] with the sandbox's spec shaped by `shape` (nodes from a file, say).
pub async fn start_with(name: &str, shape: impl FnOnce(&mut Spec)) -> Option<Held> {
    if support::skip_without_sandbox(name) {
        return None;
    }
    let turn = SANDBOX.lock().await;
    // Each run keeps its directory (logs to read after a failure) until the next run of the
    // same test, which removes those of runs no longer alive.
    let tmp = std::env::temp_dir();
    for e in std::fs::read_dir(&tmp).into_iter().flatten().flatten() {
        let file = e.file_name().to_string_lossy().to_string();
        let pid = file
            .strip_prefix("datalyptica-sandbox-test-")
            .and_then(|r| r.strip_suffix(&format!("-{name}")))
            .and_then(|p| p.parse::<i32>().ok());
        // SAFETY: signal 0 only asks whether the process exists.
        if pid.is_some_and(|p| unsafe { libc::kill(p, 0) } != 0) {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
    let dir = tmp.join(format!(
        "datalyptica-sandbox-test-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let mut spec = Spec::new(&dir);
    shape(&mut spec);
    match Sandbox::start(&spec).await {
        Ok(sb) => Some(Held { sb, _turn: turn }),
        Err(e) => panic!("sandbox {name} did not start: {e}"),
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

/// An HTTP proxy in front of the real API server, on the sandbox's address with the API
/// server's own serving certificate (so clients verify it as they would the server), talking
/// to the server as the sandbox's admin. `unavailable(n)` severs the open connections and
/// answers the first request of each of the next `n` connections `503 Service Unavailable`
/// (as an overloaded API server or its load balancer does), recording its request line in
/// `refused`; `slow(n, d)` delays the next `n` connections by `d` before anything is forwarded.
pub struct HttpFaultProxy {
    pub url: String,
    unavailable: Arc<AtomicUsize>,
    slow: Arc<AtomicUsize>,
    delay: Arc<std::sync::Mutex<Duration>>,
    sever: watch::Sender<u64>,
    pub refused: Arc<std::sync::Mutex<Vec<String>>>,
    pub slowed: Arc<AtomicUsize>,
}

impl HttpFaultProxy {
    pub async fn start(sb: &Sandbox) -> HttpFaultProxy {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certs = |f: &str| -> Vec<CertificateDer<'static>> {
            CertificateDer::pem_file_iter(sb.dir.join(f))
                .expect("pem")
                .collect::<Result<_, _>>()
                .expect("certificates")
        };
        let key = |f: &str| PrivateKeyDer::from_pem_file(sb.dir.join(f)).expect("key");
        let mut server = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_no_client_auth()
            .with_single_cert(certs("server.crt"), key("server.key"))
            .expect("server config");
        server.alpn_protocols = vec![b"http/1.1".to_vec()];
        let mut roots = rustls::RootCertStore::empty();
        for c in certs("ca.crt") {
            roots.add(c).expect("root");
        }
        let client = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("versions")
            .with_root_certificates(roots)
            .with_client_auth_cert(certs("admin.crt"), key("admin.key"))
            .expect("client config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let upstream = sb.server.trim_start_matches("https://").to_string();
        let name = ServerName::from(std::net::IpAddr::V4(sb.ip));
        let listener = TcpListener::bind((sb.ip, 0)).await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let p = HttpFaultProxy {
            url: format!("https://{addr}"),
            unavailable: Arc::new(AtomicUsize::new(0)),
            slow: Arc::new(AtomicUsize::new(0)),
            delay: Arc::new(std::sync::Mutex::new(Duration::ZERO)),
            sever: watch::channel(0u64).0,
            refused: Arc::new(std::sync::Mutex::new(Vec::new())),
            slowed: Arc::new(AtomicUsize::new(0)),
        };
        let (unavailable, slow, delay, n503, nslow) = (
            p.unavailable.clone(),
            p.slow.clone(),
            p.delay.clone(),
            p.refused.clone(),
            p.slowed.clone(),
        );
        let rx = p.sever.subscribe();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let take = |c: &AtomicUsize| {
                    c.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                        .is_ok()
                };
                let fail = take(&unavailable);
                let wait = (!fail && take(&slow)).then(|| *delay.lock().expect("lock"));
                let (acceptor, connector, upstream, name) = (
                    acceptor.clone(),
                    connector.clone(),
                    upstream.clone(),
                    name.clone(),
                );
                let (n503, nslow, mut rx) = (n503.clone(), nslow.clone(), rx.clone());
                tokio::spawn(async move {
                    let Ok(mut down) = acceptor.accept(tcp).await else {
                        return;
                    };
                    if fail {
                        if let Ok(line) = answer_503(&mut down).await {
                            n503.lock().expect("lock").push(line);
                        }
                        return;
                    }
                    if let Some(d) = wait {
                        nslow.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(d).await;
                    }
                    let Ok(tcp) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let Ok(mut up) = connector.connect(name, tcp).await else {
                        return;
                    };
                    rx.borrow_and_update();
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut down, &mut up) => {}
                        _ = rx.changed() => {}
                    }
                });
            }
        });
        p
    }

    pub fn unavailable(&self, next_connections: usize) {
        self.unavailable.store(next_connections, Ordering::SeqCst);
        self.sever.send_modify(|n| *n += 1);
    }

    pub fn slow(&self, next_connections: usize, delay: Duration) {
        *self.delay.lock().expect("lock") = delay;
        self.slow.store(next_connections, Ordering::SeqCst);
        self.sever.send_modify(|n| *n += 1);
    }
}

/// Reads one request (head, and the body its Content-Length announces) and answers it with a
/// 503 and a Kubernetes Status, then closes. Returns the request line.
async fn answer_503<S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin>(
    s: &mut S,
) -> std::io::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let raw = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let line = raw.lines().next().unwrap_or_default().to_string();
    let len: usize = raw
        .to_ascii_lowercase()
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body = r#"{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"the server is currently unable to handle the request","reason":"ServiceUnavailable","code":503}"#;
    let answer = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(answer.as_bytes()).await?;
    s.shutdown().await?;
    Ok(line)
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
