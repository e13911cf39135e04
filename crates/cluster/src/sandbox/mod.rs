//! `datalyptica sandbox`: a real Kubernetes control plane on one machine, to rehearse
//! `preflight`, `deploy`, `status`, `troubleshoot` and `destroy` without a cluster.
//!
//! Real processes, built from Go modules by `.ci/install-k8s.sh` (envtest layout, found through
//! `KUBEBUILDER_ASSETS`): etcd, kube-apiserver (TLS on a 127.0.0.x address, client
//! certificates, RBAC, service-account keys), kube-controller-manager, kube-scheduler, and kwok,
//! which plays the kubelets of N Ready worker nodes. The API server serves OLM's and OpenShift's
//! CRDs (Route, SecurityContextConstraints, ClusterVersion reporting 4.x) and, once subscribed,
//! each operator's CRDs ([`crds`]).
//!
//! OLM and the operators do not run: [`standin`] holds the STAND-INS that play them (a
//! Subscription's CSV marked Succeeded, custom resources given the status their operator
//! would write). Everything else — admission, strict server-side apply, field ownership,
//! garbage collection, namespace deletion, scheduling — is the real Kubernetes code.
//!
//! Every process runs in its own process group; [`Sandbox`]'s Drop kills them all (so a
//! failing test leaves nothing behind), as do `sandbox down` and Ctrl-C on `sandbox up`.

pub mod crds;
pub mod nodes;
pub mod standin;

use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::api::{ApplyOptions, ClusterApi, KubeApi, TypeRef};

/// The Kubernetes version `.ci/install-k8s.sh` builds by default.
pub const K8S_VERSION: &str = "v1.37.2";
/// Where `.ci/install-k8s.sh` puts the binaries when `KUBEBUILDER_ASSETS` is not set.
pub const DEFAULT_ASSETS: &str = "/opt/datalyptica/k8s/v1.37.2";
/// What the sandbox's ClusterVersion reports.
pub const OPENSHIFT_VERSION: &str = "4.18.0";

const BINARIES: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

/// The directory with the binaries: `$KUBEBUILDER_ASSETS`, else [`DEFAULT_ASSETS`]. Err names
/// what is missing and how to get it.
pub fn assets() -> Result<PathBuf, String> {
    let dir = match std::env::var_os("KUBEBUILDER_ASSETS") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_ASSETS),
    };
    let missing: Vec<&str> = BINARIES
        .iter()
        .copied()
        .filter(|b| !dir.join(b).is_file())
        .collect();
    if missing.is_empty() {
        Ok(dir)
    } else {
        Err(format!(
            "{} lacks {} (build them with `bash .ci/install-k8s.sh`, or set KUBEBUILDER_ASSETS)",
            dir.display(),
            missing.join(", ")
        ))
    }
}

/// How the sandbox's workers look.
#[derive(Debug, Clone)]
pub struct Spec {
    pub nodes: u32,
    pub zones: u32,
    pub node_cpu: String,
    pub node_memory: String,
    /// `oc get nodes -o json` of a real cluster: clone each node's capacity, labels and taints
    /// instead of `nodes`/`zones`/`node_cpu`/`node_memory`.
    pub nodes_from: Option<Value>,
    /// Where certificates, kubeconfig, etcd data and logs go.
    pub dir: PathBuf,
    /// 127.0.0.x; None: the first free one from 127.0.0.100.
    pub ip: Option<Ipv4Addr>,
    /// Run the stand-ins (OLM and operators) in this process.
    pub standins: bool,
}

impl Spec {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Spec {
            nodes: 10,
            zones: 3,
            node_cpu: "16".into(),
            node_memory: "64Gi".into(),
            nodes_from: None,
            dir: dir.into(),
            ip: None,
            standins: true,
        }
    }
}

/// The file `sandbox up` records its processes in, for `status` and `down`.
pub const STATE_FILE: &str = "sandbox.json";

const ETCD_PORT: u16 = 2379;
const ETCD_PEER_PORT: u16 = 2380;
const API_PORT: u16 = 6443;
const CM_PORT: u16 = 10257;
const SCHED_PORT: u16 = 10259;
const KWOK_PORT: u16 = 10247;

struct Proc {
    name: &'static str,
    child: Child,
}

/// A running sandbox. Dropping it stops every process (SIGTERM to each process group, then
/// SIGKILL after 5 s).
pub struct Sandbox {
    pub dir: PathBuf,
    pub ip: Ipv4Addr,
    pub kubeconfig: PathBuf,
    pub server: String,
    procs: Vec<Proc>,
    standins: Option<tokio::task::JoinHandle<()>>,
}

fn port_free(ip: Ipv4Addr, port: u16) -> bool {
    TcpListener::bind(SocketAddrV4::new(ip, port)).is_ok()
}

/// The first 127.0.0.x (x from 100) where none of the sandbox's ports is taken.
fn pick_ip() -> Result<Ipv4Addr, String> {
    // Spread concurrent test binaries over the range by process id, and the sandboxes of one
    // process by a counter (two starting at once would otherwise find the same address free).
    static STARTED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = STARTED.fetch_add(7, std::sync::atomic::Ordering::SeqCst);
    let start = 100 + ((std::process::id().wrapping_add(n)) % 100) as u8;
    for i in 0..150u16 {
        let x = 100 + ((u16::from(start - 100) + i) % 150) as u8;
        let ip = Ipv4Addr::new(127, 0, 0, x);
        if [
            ETCD_PORT,
            ETCD_PEER_PORT,
            API_PORT,
            CM_PORT,
            SCHED_PORT,
            KWOK_PORT,
        ]
        .iter()
        .all(|p| port_free(ip, *p))
        {
            return Ok(ip);
        }
    }
    Err("no free 127.0.0.x address (100-249) for the sandbox's ports".into())
}

fn run(cmd: &mut Command, what: &str) -> Result<(), String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {} {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// A CA, the API server's serving certificate, an admin client certificate (O=system:masters)
/// and the service-account key pair, with the `openssl` CLI (ECDSA P-256 like envtest).
fn certificates(dir: &Path, ip: Ipv4Addr) -> Result<(), String> {
    let o =
        |args: &[&str], what: &str| run(Command::new("openssl").args(args).current_dir(dir), what);
    for key in ["ca.key", "server.key", "admin.key"] {
        o(
            &[
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-out",
                key,
            ],
            key,
        )?;
    }
    o(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=datalyptica-sandbox-ca",
            "-days",
            "30",
            "-out",
            "ca.crt",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
        "CA certificate",
    )?;
    let ext = format!(
        "subjectAltName=IP:{ip},IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n"
    );
    std::fs::write(dir.join("server.ext"), ext).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("client.ext"), "extendedKeyUsage=clientAuth\n")
        .map_err(|e| e.to_string())?;
    for (name, subj, ext) in [
        ("server", "/CN=kube-apiserver", "server.ext"),
        (
            "admin",
            "/O=system:masters/CN=datalyptica-sandbox-admin",
            "client.ext",
        ),
    ] {
        let (key, csr, crt) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.crt"),
        );
        o(
            &["req", "-new", "-key", &key, "-subj", subj, "-out", &csr],
            &csr,
        )?;
        o(
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.crt",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "30",
                "-extfile",
                ext,
                "-out",
                &crt,
            ],
            &crt,
        )?;
    }
    o(
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            "sa.key",
        ],
        "service-account key",
    )?;
    o(
        &["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"],
        "service-account public key",
    )?;
    Ok(())
}

fn b64file(p: &Path) -> Result<String, String> {
    use base64::Engine as _;
    let bytes = std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// A kubeconfig for `server` with the admin client certificate.
pub fn kubeconfig(dir: &Path, server: &str) -> Result<String, String> {
    Ok(format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: datalyptica-sandbox\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\nusers:\n- name: datalyptica-sandbox-admin\n  user:\n    client-certificate-data: {crt}\n    client-key-data: {key}\ncontexts:\n- name: datalyptica-sandbox\n  context:\n    cluster: datalyptica-sandbox\n    user: datalyptica-sandbox-admin\n    namespace: default\ncurrent-context: datalyptica-sandbox\n",
        ca = b64file(&dir.join("ca.crt"))?,
        crt = b64file(&dir.join("admin.crt"))?,
        key = b64file(&dir.join("admin.key"))?,
    ))
}

impl Sandbox {
    /// Starts every process, waits for the API server, creates the nodes and the platform
    /// CRDs, and (with `spec.standins`) spawns the stand-ins on the current tokio runtime.
    pub async fn start(spec: &Spec) -> Result<Sandbox, String> {
        let assets = assets()?;
        let shared = crds::shared_dir();
        let platform_dirs = crds::platform_crd_dirs(&shared, &assets);
        if let Some(d) = platform_dirs.iter().find(|d| !d.is_dir()) {
            return Err(format!(
                "{} is missing (OLM/OpenShift CRDs: set DATALYPTICA_SHARED_DIR; AlertmanagerConfig: run .ci/install-k8s.sh)",
                d.display()
            ));
        }
        let dir = spec.dir.clone();
        if dir.join("etcd").exists() {
            std::fs::remove_dir_all(dir.join("etcd")).map_err(|e| e.to_string())?;
        }
        std::fs::create_dir_all(dir.join("logs")).map_err(|e| format!("{}: {e}", dir.display()))?;
        let ip = match spec.ip {
            Some(ip) => ip,
            None => pick_ip()?,
        };
        certificates(&dir, ip)?;
        let server = format!("https://{ip}:{API_PORT}");
        let kc = dir.join("kubeconfig");
        std::fs::write(&kc, kubeconfig(&dir, &server)?).map_err(|e| e.to_string())?;
        let mut sb = Sandbox {
            dir: dir.clone(),
            ip,
            kubeconfig: kc.clone(),
            server: server.clone(),
            procs: Vec::new(),
            standins: None,
        };
        let d = |f: &str| dir.join(f).display().to_string();
        let etcd_url = format!("http://{ip}:{ETCD_PORT}");
        let peer_url = format!("http://{ip}:{ETCD_PEER_PORT}");
        sb.spawn(
            &assets,
            "etcd",
            &[
                "--name=sandbox".into(),
                format!("--data-dir={}", d("etcd")),
                format!("--listen-client-urls={etcd_url}"),
                format!("--advertise-client-urls={etcd_url}"),
                format!("--listen-peer-urls={peer_url}"),
                format!("--initial-advertise-peer-urls={peer_url}"),
                format!("--initial-cluster=sandbox={peer_url}"),
                "--unsafe-no-fsync=true".into(),
                "--log-level=warn".into(),
            ],
        )?;
        sb.spawn(
            &assets,
            "kube-apiserver",
            &[
                format!("--etcd-servers={etcd_url}"),
                format!("--bind-address={ip}"),
                format!("--advertise-address={ip}"),
                format!("--secure-port={API_PORT}"),
                format!("--tls-cert-file={}", d("server.crt")),
                format!("--tls-private-key-file={}", d("server.key")),
                format!("--client-ca-file={}", d("ca.crt")),
                "--authorization-mode=RBAC".into(),
                "--service-cluster-ip-range=10.0.0.0/24".into(),
                "--service-account-issuer=https://kubernetes.default.svc".into(),
                format!("--service-account-key-file={}", d("sa.pub")),
                format!("--service-account-signing-key-file={}", d("sa.key")),
                "--allow-privileged=true".into(),
                // The lease reconciler refuses a loopback advertise address; nothing in the
                // sandbox reaches the API server through the `kubernetes` Service anyway.
                "--endpoint-reconciler-type=none".into(),
                "--v=0".into(),
            ],
        )?;
        let api = sb.wait_ready(Duration::from_secs(90)).await?;
        let kcs = kc.display().to_string();
        sb.spawn(
            &assets,
            "kube-controller-manager",
            &[
                format!("--kubeconfig={kcs}"),
                format!("--authentication-kubeconfig={kcs}"),
                format!("--authorization-kubeconfig={kcs}"),
                "--leader-elect=false".into(),
                format!("--bind-address={ip}"),
                format!("--secure-port={CM_PORT}"),
                format!("--service-account-private-key-file={}", d("sa.key")),
                format!("--root-ca-file={}", d("ca.crt")),
                "--use-service-account-credentials=false".into(),
                // Quick namespace deletion and node monitoring, as a test cluster wants.
                "--concurrent-namespace-syncs=20".into(),
            ],
        )?;
        sb.spawn(
            &assets,
            "kube-scheduler",
            &[
                format!("--kubeconfig={kcs}"),
                format!("--authentication-kubeconfig={kcs}"),
                format!("--authorization-kubeconfig={kcs}"),
                "--leader-elect=false".into(),
                format!("--bind-address={ip}"),
                format!("--secure-port={SCHED_PORT}"),
            ],
        )?;
        let stages = assets.join("kwok-stages.yaml");
        let mut kwok = vec![
            format!("--kubeconfig={kcs}"),
            "--manage-all-nodes=true".into(),
            format!("--server-address={ip}:{KWOK_PORT}"),
            "--node-lease-duration-seconds=40".into(),
            "--cidr=10.128.0.0/14".into(),
            format!("--node-ip={ip}"),
        ];
        if stages.is_file() {
            kwok.push(format!("--config={}", stages.display()));
        }
        sb.spawn(&assets, "kwok", &kwok)?;
        sb.bootstrap(&api, spec, &platform_dirs).await?;
        sb.write_state()?;
        if spec.standins {
            let api = KubeApi::from_config(sb.config().await?).map_err(|e| e.to_string())?;
            sb.standins = Some(tokio::spawn(standin::run(api, shared)));
        }
        Ok(sb)
    }

    fn spawn(&mut self, assets: &Path, name: &'static str, args: &[String]) -> Result<(), String> {
        use std::os::unix::process::CommandExt;
        let log = std::fs::File::create(self.dir.join("logs").join(format!("{name}.log")))
            .map_err(|e| e.to_string())?;
        let err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(assets.join(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .process_group(0)
            .spawn()
            .map_err(|e| format!("{name}: {e}"))?;
        self.procs.push(Proc { name, child });
        Ok(())
    }

    /// The kube config of the sandbox's kubeconfig file.
    pub async fn config(&self) -> Result<kube::Config, String> {
        let kc =
            kube::config::Kubeconfig::read_from(&self.kubeconfig).map_err(|e| e.to_string())?;
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .map_err(|e| e.to_string())
    }

    /// A client of the sandbox's API server (admin).
    pub async fn api(&self) -> Result<KubeApi, String> {
        KubeApi::from_config(self.config().await?).map_err(|e| e.to_string())
    }

    /// A process that exited: its name, status and the end of its log.
    fn dead(&mut self) -> Option<String> {
        for p in &mut self.procs {
            if let Ok(Some(st)) = p.child.try_wait() {
                let log =
                    std::fs::read_to_string(self.dir.join("logs").join(format!("{}.log", p.name)))
                        .unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(15).collect();
                let tail: Vec<&str> = tail.into_iter().rev().collect();
                return Some(format!("{} exited ({st}):\n{}", p.name, tail.join("\n")));
            }
        }
        None
    }

    async fn wait_ready(&mut self, limit: Duration) -> Result<KubeApi, String> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(d) = self.dead() {
                return Err(d);
            }
            if let Ok(api) = self.api().await
                && api.raw_get("/readyz").await.is_ok_and(|s| s.trim() == "ok")
            {
                return Ok(api);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "kube-apiserver at {} not ready after {limit:?} (logs in {})",
                    self.server,
                    self.dir.join("logs").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Nodes, platform CRDs (OLM, OpenShift, monitoring) and the ClusterVersion.
    async fn bootstrap(
        &mut self,
        api: &KubeApi,
        spec: &Spec,
        dirs: &[PathBuf],
    ) -> Result<(), String> {
        let mut names = Vec::new();
        for d in dirs {
            for crd in crds::load_dir(d)? {
                names.push(
                    crd["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                );
                api.apply_as(&crds::clean(crd), standin::OLM_MANAGER)
                    .await
                    .map_err(|e| e.to_string())?;
            }
        }
        standin::wait_established(api, &names, Duration::from_secs(60)).await?;
        let nodes = match &spec.nodes_from {
            Some(list) => nodes::cloned(list)?,
            None => nodes::workers(spec.nodes, spec.zones, &spec.node_cpu, &spec.node_memory),
        };
        for n in &nodes {
            api.create(n).await.map_err(|e| format!("node: {e}"))?;
        }
        let cv = json!({"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
            "metadata": {"name": "version"}, "spec": {"clusterID": "00000000-0000-4000-8000-000000000000", "channel": "stable-4.18"}});
        api.apply_as(&cv, standin::OLM_MANAGER)
            .await
            .map_err(|e| e.to_string())?;
        let status = json!({"desired": {"version": OPENSHIFT_VERSION, "image": "sandbox.invalid/release:4.18.0"},
            "history": [{"state": "Completed", "version": OPENSHIFT_VERSION, "image": "sandbox.invalid/release:4.18.0",
                "startedTime": "2026-01-01T00:00:00Z", "completionTime": "2026-01-01T00:00:00Z", "verified": false}],
            "observedGeneration": 1, "versionHash": "sandbox", "availableUpdates": []});
        api.patch_status(
            &TypeRef::new("config.openshift.io/v1", "ClusterVersion"),
            None,
            "version",
            &status,
            standin::OLM_MANAGER,
        )
        .await
        .map_err(|e| format!("ClusterVersion status: {e}"))?;
        // The default StorageClass an OpenShift cluster has (PVCs bind through kwok? no: they
        // stay Pending without a provisioner; the stand-in binds them).
        let sc = json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "sandbox-standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": "sandbox.datalyptica.io/stand-in", "volumeBindingMode": "Immediate", "reclaimPolicy": "Delete"});
        api.apply(&sc, ApplyOptions::default())
            .await
            .map_err(|e| e.to_string())?;
        // Wait for kwok to report the nodes Ready.
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let ready = api
                .list(&TypeRef::new("v1", "Node"), None, None)
                .await
                .map_err(|e| e.to_string())?
                .iter()
                .filter(|n| crate::gates::condition_true(n, "Ready"))
                .count();
            if ready >= nodes.len() {
                return Ok(());
            }
            if let Some(d) = self.dead() {
                return Err(d);
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{ready}/{} nodes Ready after 60s (kwok log: {})",
                    nodes.len(),
                    self.dir.join("logs/kwok.log").display()
                ));
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    fn write_state(&self) -> Result<(), String> {
        let procs: Vec<Value> = self
            .procs
            .iter()
            .map(|p| json!({"name": p.name, "pid": p.child.id()}))
            .collect();
        let st = json!({"server": self.server, "kubeconfig": self.kubeconfig, "supervisor": std::process::id(), "processes": procs});
        std::fs::write(
            self.dir.join(STATE_FILE),
            serde_json::to_string_pretty(&st).unwrap_or_default(),
        )
        .map_err(|e| e.to_string())
    }

    /// The line a shell evaluates to use the sandbox.
    pub fn export_line(&self) -> String {
        format!("export KUBECONFIG={}", self.kubeconfig.display())
    }

    /// Stops every process (process groups: SIGTERM, then SIGKILL after 5 s).
    pub fn stop(&mut self) {
        if let Some(h) = self.standins.take() {
            h.abort();
        }
        // Reverse start order: kwok and the controllers before the API server and etcd.
        let pids: Vec<u32> = self.procs.iter().rev().map(|p| p.child.id()).collect();
        stop_groups(&pids);
        for p in &mut self.procs {
            let _ = p.child.wait();
        }
        self.procs.clear();
        let _ = std::fs::remove_file(self.dir.join(STATE_FILE));
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        self.stop();
    }
}

fn alive(pid: u32) -> bool {
    // SAFETY: kill with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// SIGTERM to each process group (each sandbox process leads its own), SIGKILL to those
/// still there after 5 s.
pub fn stop_groups(pids: &[u32]) {
    for &pid in pids {
        // SAFETY: signalling a process group we created; a stale id yields ESRCH, harmless.
        unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGTERM) };
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while pids.iter().any(|&p| alive(p) && !zombie(p)) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    for &pid in pids {
        if alive(pid) && !zombie(pid) {
            // SAFETY: as above.
            unsafe { libc::kill(-(pid as libc::pid_t), libc::SIGKILL) };
        }
    }
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// `sandbox status`: each recorded process, running or not, and whether the API server answers.
pub async fn status(dir: &Path) -> Result<(bool, String), String> {
    let text = std::fs::read_to_string(dir.join(STATE_FILE)).map_err(|_| {
        format!(
            "no sandbox recorded in {} (run `datalyptica sandbox up`)",
            dir.display()
        )
    })?;
    let st: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: {e}", dir.join(STATE_FILE).display()))?;
    let mut out = String::new();
    let mut ok = true;
    for p in st["processes"].as_array().into_iter().flatten() {
        let pid = p["pid"].as_u64().unwrap_or(0) as u32;
        let up = pid != 0 && alive(pid) && !zombie(pid);
        ok &= up;
        let _ = writeln!(
            out,
            "{:<24} pid {pid:<8} {}",
            p["name"].as_str().unwrap_or("?"),
            if up { "running" } else { "STOPPED" }
        );
    }
    let kc = st["kubeconfig"].as_str().unwrap_or_default();
    let server = st["server"].as_str().unwrap_or_default();
    let reach = match kube::config::Kubeconfig::read_from(kc) {
        Ok(k) => match kube::Config::from_custom_kubeconfig(k, &Default::default()).await {
            Ok(c) => match KubeApi::from_config(c) {
                Ok(api) => match api.list(&TypeRef::new("v1", "Node"), None, None).await {
                    Ok(nodes) => {
                        let ready = nodes
                            .iter()
                            .filter(|n| crate::gates::condition_true(n, "Ready"))
                            .count();
                        format!(
                            "API server {server}: answering, {ready}/{} nodes Ready",
                            nodes.len()
                        )
                    }
                    Err(e) => {
                        ok = false;
                        e.to_string()
                    }
                },
                Err(e) => {
                    ok = false;
                    e.to_string()
                }
            },
            Err(e) => {
                ok = false;
                e.to_string()
            }
        },
        Err(e) => {
            ok = false;
            format!("{kc}: {e}")
        }
    };
    let _ = writeln!(out, "{reach}");
    let _ = writeln!(out, "export KUBECONFIG={kc}");
    Ok((ok, out))
}

/// `sandbox down`: stops the recorded processes (and the `sandbox up` that supervises them).
pub fn down(dir: &Path) -> Result<String, String> {
    let path = dir.join(STATE_FILE);
    let text = std::fs::read_to_string(&path)
        .map_err(|_| format!("no sandbox recorded in {} (nothing to stop)", dir.display()))?;
    let st: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut pids: Vec<u32> = st["processes"]
        .as_array()
        .into_iter()
        .flatten()
        .rev()
        .filter_map(|p| p["pid"].as_u64().map(|p| p as u32))
        .collect();
    if let Some(sup) = st["supervisor"].as_u64().map(|p| p as u32)
        && sup != std::process::id()
        && alive(sup)
    {
        // SAFETY: the recorded `sandbox up` process; it stops its children on SIGTERM.
        unsafe { libc::kill(sup as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(sup) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    pids.retain(|p| alive(*p));
    stop_groups(&pids);
    let _ = std::fs::remove_file(&path);
    Ok(format!("sandbox in {} stopped", dir.display()))
}
