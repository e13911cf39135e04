//! The engine's view of the cluster: a handful of dynamic operations on JSON objects. The real
//! implementation sits on `kube::Client` (current kubeconfig context, like `oc`); the tests point
//! the same implementation at the sandbox's real API server.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use kube::api::{
    Api, ApiResource, AttachParams, DeleteParams, DynamicObject, GroupVersionKind, ListParams,
    LogParams, Patch, PatchParams, PostParams,
};
use kube::discovery::{ApiCapabilities, Scope, pinned_kind};
use serde_json::Value;

/// A kind by API version, e.g. (`apps/v1`, `Deployment`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TypeRef {
    pub api_version: String,
    pub kind: String,
}

impl TypeRef {
    pub fn new(api_version: &str, kind: &str) -> Self {
        TypeRef {
            api_version: api_version.into(),
            kind: kind.into(),
        }
    }
    pub fn of(o: &Value) -> Self {
        TypeRef::new(
            o["apiVersion"].as_str().unwrap_or_default(),
            o["kind"].as_str().unwrap_or_default(),
        )
    }
    fn gvk(&self) -> GroupVersionKind {
        let (g, v) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version.as_str()),
        };
        GroupVersionKind::gvk(g, v, &self.kind)
    }
}

impl std::fmt::Display for TypeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.kind, self.api_version)
    }
}

/// Why the API server at an address could not be talked to at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unreachable {
    /// Nothing listens there (TCP connection refused).
    ConnectionRefused,
    /// The host name does not resolve.
    Dns(String),
    /// The TLS handshake failed (certificate not trusted, wrong name, not TLS at all…).
    Tls(String),
    /// The server answered 401: the kubeconfig's credentials are not accepted.
    Unauthorized(String),
    /// The connection could not be opened in time.
    Timeout,
    /// Any other failure to connect.
    Other(String),
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unreachable::ConnectionRefused => {
                write!(f, "connection refused (nothing listens there)")
            }
            Unreachable::Dns(d) => write!(f, "DNS: the host name does not resolve ({d})"),
            Unreachable::Tls(d) => write!(f, "TLS handshake failed ({d})"),
            Unreachable::Unauthorized(d) => write!(
                f,
                "401 Unauthorized: the kubeconfig's credentials are not accepted (log in again){}",
                if d.is_empty() {
                    String::new()
                } else {
                    format!(": {d}")
                }
            ),
            Unreachable::Timeout => write!(f, "connection timed out"),
            Unreachable::Other(d) => write!(f, "{d}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    /// The API server does not serve the kind (yet): its CRD or operator is missing.
    #[error("the cluster does not serve {0} (is its operator installed?)")]
    UnknownKind(String),
    /// Nothing usable answers at the kubeconfig's server address: fatal, named precisely.
    #[error("cannot reach the API server at {server}: {cause}")]
    Unreachable { server: String, cause: Unreachable },
    /// A failure that retrying may cure: 429/502/503/504, a connection dropped mid-request.
    #[error("the API server at {server} failed transiently: {detail}")]
    Transient { server: String, detail: String },
    #[error("field manager conflict on {0}: {1} (rerun with --force-conflicts to take ownership)")]
    Conflict(String, String),
    /// A write carrying a resourceVersion the object no longer has (someone wrote in between).
    #[error("{0} changed since it was read")]
    Stale(String),
    /// A create of an object that exists.
    #[error("{0} already exists")]
    Exists(String),
    /// A write into a namespace (or of an object) that does not exist.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Other(String),
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    pub dry_run: bool,
    pub force: bool,
}

/// The field manager every datalyptica write uses, so ownership is one name in managedFields.
pub const FIELD_MANAGER: &str = "datalyptica";

// Futures are awaited in place (join_all on one task), never spawned, so no Send bound is needed.
#[allow(async_fn_in_trait)]
pub trait ClusterApi {
    async fn version(&self) -> Result<Value, ApiError>;
    /// Whether discovery lists the kind (its CRD is installed and established).
    async fn served(&self, t: &TypeRef) -> Result<bool, ApiError>;
    async fn get(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError>;
    /// `labels`: an equality selector such as `a=b,c=d`.
    async fn list(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, ApiError>;
    /// Server-side apply with [`FIELD_MANAGER`].
    async fn apply(&self, obj: &Value, opts: ApplyOptions) -> Result<Value, ApiError>;
    async fn create(&self, obj: &Value) -> Result<Value, ApiError>;
    /// Ok(false) when it did not exist.
    async fn delete(&self, t: &TypeRef, ns: Option<&str>, name: &str) -> Result<bool, ApiError>;
    async fn logs(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<String, ApiError>;
}

/// A label selector as list calls take it: `k=v,k=v`.
pub fn label_selector(sel: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// The pods of `ns` that `sel` picks; none for an empty selector (a gate that reads no pods),
/// and none when the list fails (a gate then waits on its object alone).
pub async fn pods_matching<A: ClusterApi>(
    api: &A,
    ns: &str,
    sel: &BTreeMap<String, String>,
) -> Vec<Value> {
    if sel.is_empty() {
        return vec![];
    }
    api.list(
        &TypeRef::new("v1", "Pod"),
        Some(ns),
        Some(&label_selector(sel)),
    )
    .await
    .unwrap_or_default()
}

/// [`ClusterApi`] over kube-rs, with discovery results cached per kind.
pub struct KubeApi {
    client: kube::Client,
    /// The server URL, for error messages ("the API server").
    server: String,
    cache: Mutex<HashMap<TypeRef, (ApiResource, ApiCapabilities)>>,
}

/// Every message of an error's source chain, lower-cased, for classification.
fn chain(e: &(dyn std::error::Error + 'static)) -> (String, Option<std::io::ErrorKind>) {
    let mut text = String::new();
    let mut io = None;
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(c) = cur {
        if let Some(i) = c.downcast_ref::<std::io::Error>() {
            io.get_or_insert(i.kind());
        }
        text.push_str(&c.to_string().to_lowercase());
        text.push_str(" | ");
        cur = c.source();
    }
    (text, io)
}

/// The innermost message of an error chain (the most specific one).
fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(s) = cur.source() {
        cur = s;
    }
    cur.to_string()
}

/// Keeps the kind of a kube-rs error: unreachable (and why), transient, or other.
pub fn classify(e: kube::Error, server: &str) -> ApiError {
    use std::io::ErrorKind as K;
    let server = server.to_string();
    let unreachable = |cause| ApiError::Unreachable {
        server: server.clone(),
        cause,
    };
    if let kube::Error::Api(s) = &e {
        return match s.code {
            401 => unreachable(Unreachable::Unauthorized(s.message.clone())),
            // Not 500: server-side apply answers 500 for an object its schema rejects. The
            // client has already repeated 429/503/504 (kube's default server-aware retry, with
            // backoff and Retry-After); one that reaches here outlasted that.
            429 | 502 | 503 | 504 => ApiError::Transient {
                server,
                detail: format!("{} {} {}", s.code, s.reason, s.message)
                    .trim()
                    .into(),
            },
            _ => ApiError::Other(e.to_string()),
        };
    }
    if matches!(e, kube::Error::Discovery(_) | kube::Error::SerdeError(_)) {
        return ApiError::Other(e.to_string());
    }
    let (text, io) = chain(&e);
    let inner = innermost(&e);
    if io == Some(K::ConnectionRefused) || text.contains("connection refused") {
        return unreachable(Unreachable::ConnectionRefused);
    }
    if text.contains("dns error")
        || text.contains("failed to lookup address")
        || text.contains("name or service not known")
        || text.contains("no address associated")
    {
        return unreachable(Unreachable::Dns(inner));
    }
    // A connection closed midway (also during the TLS handshake: "tls handshake eof") was
    // dropped, not refused by TLS: retrying may cure it.
    if matches!(
        io,
        Some(K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof)
    ) || text.contains("connection closed")
        || text.contains("connection reset")
        || text.contains("incomplete message")
        || text.contains("channel closed")
        || text.contains("sendrequest")
        || text.contains("eof")
    {
        return ApiError::Transient {
            server,
            detail: format!("connection dropped ({inner})"),
        };
    }
    if matches!(e, kube::Error::RustlsTls(_))
        || text.contains("certificate")
        || text.contains("tls")
        || text.contains("handshake")
        || text.contains("corrupt message")
        || text.contains("invalid content type")
    {
        return unreachable(Unreachable::Tls(inner));
    }
    if matches!(io, Some(K::TimedOut)) || text.contains("timed out") || text.contains("elapsed") {
        return unreachable(Unreachable::Timeout);
    }
    if text.contains("connect") {
        return unreachable(Unreachable::Other(inner));
    }
    ApiError::Other(e.to_string())
}

impl ApiError {
    /// Whether retrying (with backoff) may cure it.
    pub fn is_transient(&self) -> bool {
        matches!(self, ApiError::Transient { .. })
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

impl KubeApi {
    pub fn new(client: kube::Client) -> Self {
        Self::with_server(client, "the configured address")
    }

    /// `server` names the API server in error messages (the kubeconfig's cluster URL).
    pub fn with_server(client: kube::Client, server: &str) -> Self {
        KubeApi {
            client,
            server: server.to_string(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The current kubeconfig context (or in-cluster config), like `oc`.
    pub async fn from_env() -> Result<Self, ApiError> {
        let config = kube::Config::infer()
            .await
            .map_err(|e| ApiError::Other(format!("no usable kubeconfig: {e}")))?;
        Self::from_config(config)
    }

    pub fn from_config(mut config: kube::Config) -> Result<Self, ApiError> {
        let server = config.cluster_url.to_string();
        let server = server.trim_end_matches('/').to_string();
        // Fail within seconds when nothing answers (an unroutable address would wait for the
        // OS's TCP timeout otherwise).
        if config
            .connect_timeout
            .is_none_or(|t| t > std::time::Duration::from_secs(10))
        {
            config.connect_timeout = Some(std::time::Duration::from_secs(10));
        }
        let client = kube::Client::try_from(config)
            .map_err(|e| ApiError::Other(format!("no usable kubeconfig: {e}")))?;
        Ok(Self::with_server(client, &server))
    }

    /// The server URL errors name.
    pub fn server(&self) -> &str {
        &self.server
    }

    fn err(&self, e: kube::Error) -> ApiError {
        classify(e, &self.server)
    }

    /// GET of a raw path (e.g. `/readyz`), as text.
    pub async fn raw_get(&self, path: &str) -> Result<String, ApiError> {
        let req = http::Request::get(path)
            .body(Vec::new())
            .map_err(|e| ApiError::Other(e.to_string()))?;
        self.client.request_text(req).await.map_err(|e| self.err(e))
    }

    /// Server-side apply (strict) under another field manager: the sandbox's stand-ins write
    /// as themselves, never as [`FIELD_MANAGER`].
    pub async fn apply_as(&self, obj: &Value, manager: &str) -> Result<Value, ApiError> {
        let t = TypeRef::of(obj);
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let api = self.api(&t, obj["metadata"]["namespace"].as_str()).await?;
        let pp = PatchParams::apply(manager).force().validation_strict();
        api.patch(name, &pp, &Patch::Apply(obj))
            .await
            .map(|o| to_value(o, &t))
            .map_err(|e| self.err(e))
    }

    /// A merge patch of the status subresource (what a controller writes), recorded in
    /// managedFields under `manager` so readers can tell who reported it.
    pub async fn patch_status(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        name: &str,
        status: &Value,
        manager: &str,
    ) -> Result<Value, ApiError> {
        let api = self.api(t, ns).await?;
        let patch = serde_json::json!({ "status": status });
        let pp = PatchParams {
            field_manager: Some(manager.into()),
            ..PatchParams::default()
        };
        api.patch_status(name, &pp, &Patch::Merge(&patch))
            .await
            .map(|o| to_value(o, t))
            .map_err(|e| self.err(e))
    }

    /// A merge patch of the object itself.
    pub async fn patch_merge(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        name: &str,
        patch: &Value,
    ) -> Result<Value, ApiError> {
        let api = self.api(t, ns).await?;
        api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
            .await
            .map(|o| to_value(o, t))
            .map_err(|e| self.err(e))
    }

    /// Forgets the discovery cache (a CRD was just installed or removed).
    pub fn forget(&self) {
        if let Ok(mut c) = self.cache.lock() {
            c.clear();
        }
    }

    async fn resolve(&self, t: &TypeRef) -> Result<(ApiResource, ApiCapabilities), ApiError> {
        if let Ok(c) = self.cache.lock()
            && let Some(hit) = c.get(t)
        {
            return Ok(hit.clone());
        }
        // Only a 404 for the group version or a kind missing from its list means "not served";
        // a connection failure keeps its own kind.
        let r = pinned_kind(&self.client, &t.gvk())
            .await
            .map_err(|e| match (&e, code(&e)) {
                (_, Some(404)) | (kube::Error::Discovery(_), _) => {
                    ApiError::UnknownKind(t.to_string())
                }
                _ => self.err(e),
            })?;
        if let Ok(mut c) = self.cache.lock() {
            c.insert(t.clone(), r.clone());
        }
        Ok(r)
    }

    async fn api(&self, t: &TypeRef, ns: Option<&str>) -> Result<Api<DynamicObject>, ApiError> {
        let (ar, caps) = self.resolve(t).await?;
        Ok(match (caps.scope, ns) {
            (Scope::Namespaced, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        })
    }
}

fn to_value(o: DynamicObject, t: &TypeRef) -> Value {
    let mut v = serde_json::to_value(o).unwrap_or(Value::Null);
    // List items come without type meta; put it back so callers see whole objects.
    if let Some(m) = v.as_object_mut() {
        m.insert("apiVersion".into(), Value::String(t.api_version.clone()));
        m.insert("kind".into(), Value::String(t.kind.clone()));
    }
    v
}

impl ClusterApi for KubeApi {
    async fn version(&self) -> Result<Value, ApiError> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.err(e))?;
        Ok(serde_json::to_value(info).unwrap_or(Value::Null))
    }

    async fn served(&self, t: &TypeRef) -> Result<bool, ApiError> {
        match self.resolve(t).await {
            Ok(_) => Ok(true),
            Err(ApiError::UnknownKind(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn get(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        let api = self.api(t, ns).await?;
        Ok(api
            .get_opt(name)
            .await
            .map_err(|e| self.err(e))?
            .map(|o| to_value(o, t)))
    }

    async fn list(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        let api = self.api(t, ns).await?;
        let mut lp = ListParams::default();
        if let Some(l) = labels {
            lp = lp.labels(l);
        }
        Ok(api
            .list(&lp)
            .await
            .map_err(|e| self.err(e))?
            .items
            .into_iter()
            .map(|o| to_value(o, t))
            .collect())
    }

    async fn apply(&self, obj: &Value, opts: ApplyOptions) -> Result<Value, ApiError> {
        let t = TypeRef::of(obj);
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        let api = self.api(&t, obj["metadata"]["namespace"].as_str()).await?;
        // Strict: a field the server does not know (or a duplicate list-map key) is an error,
        // not a warning with the field silently dropped.
        let mut pp = PatchParams::apply(FIELD_MANAGER).validation_strict();
        if opts.force {
            pp = pp.force();
        }
        pp.dry_run = opts.dry_run;
        match api.patch(name, &pp, &Patch::Apply(obj)).await {
            Ok(o) => Ok(to_value(o, &t)),
            // A resourceVersion precondition that failed, not a field owned by someone else.
            Err(kube::Error::Api(s))
                if s.code == 409 && s.message.contains("has been modified") =>
            {
                Err(ApiError::Stale(format!("{t} {name}")))
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                Err(ApiError::Conflict(format!("{t} {name}"), s.message.clone()))
            }
            Err(kube::Error::Api(s)) if s.code == 404 => {
                Err(ApiError::NotFound(format!("{t} {name}: {}", s.message)))
            }
            Err(e) => Err(self.err(e)),
        }
    }

    async fn create(&self, obj: &Value) -> Result<Value, ApiError> {
        let t = TypeRef::of(obj);
        let api = self.api(&t, obj["metadata"]["namespace"].as_str()).await?;
        let d: DynamicObject = serde_json::from_value(obj.clone())
            .map_err(|e| ApiError::Other(format!("not an object: {e}")))?;
        match api.create(&PostParams::default(), &d).await {
            Ok(o) => Ok(to_value(o, &t)),
            Err(kube::Error::Api(s)) if s.code == 409 => Err(ApiError::Exists(format!(
                "{t} {}",
                obj["metadata"]["name"].as_str().unwrap_or_default()
            ))),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn delete(&self, t: &TypeRef, ns: Option<&str>, name: &str) -> Result<bool, ApiError> {
        let api = self.api(t, ns).await?;
        match api.delete(name, &DeleteParams::background()).await {
            Ok(_) => Ok(true),
            Err(e) if code(&e) == Some(404) => Ok(false),
            Err(e) => Err(self.err(e)),
        }
    }

    async fn logs(
        &self,
        ns: &str,
        pod: &str,
        container: &str,
        previous: bool,
    ) -> Result<String, ApiError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client.clone(), ns);
        let lp = LogParams {
            container: Some(container.to_string()),
            previous,
            tail_lines: Some(2000),
            ..Default::default()
        };
        api.logs(pod, &lp).await.map_err(|e| self.err(e))
    }
}

impl crate::deep::PodExec for KubeApi {
    async fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[String],
        timeout: std::time::Duration,
    ) -> Result<String, crate::deep::ExecError> {
        use crate::deep::ExecError;
        use tokio::io::AsyncReadExt;
        let api: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(self.client.clone(), ns);
        let mut ap = AttachParams::default()
            .stdin(false)
            .stdout(true)
            .stderr(true);
        if let Some(c) = container {
            ap = ap.container(c);
        }
        let run = async {
            let mut p = api
                .exec(pod, argv.to_vec(), &ap)
                .await
                .map_err(|e| match e {
                    kube::Error::Api(s) if s.code == 403 => {
                        ExecError::Unavailable(format!("no rights to exec: {}", s.message))
                    }
                    kube::Error::Api(s) if s.code == 404 => {
                        ExecError::Unavailable(format!("pod {pod} not found"))
                    }
                    kube::Error::Api(s) => ExecError::Unavailable(format!(
                        "exec not possible: the API server answered {} {}",
                        s.code, s.reason
                    )),
                    e => ExecError::Unavailable(format!("exec not possible: {e}")),
                })?;
            let (mut out, mut err) = (String::new(), String::new());
            let (so, se, st) = (p.stdout(), p.stderr(), p.take_status());
            let read_out = async {
                if let Some(mut s) = so {
                    let _ = s.read_to_string(&mut out).await;
                }
            };
            let read_err = async {
                if let Some(mut s) = se {
                    let _ = s.read_to_string(&mut err).await;
                }
            };
            tokio::join!(read_out, read_err);
            let status = match st {
                Some(f) => f.await,
                None => None,
            };
            let _ = p.join().await;
            match status {
                // The command ran and exited non-zero: the check's own verdict.
                Some(s)
                    if s.status.as_deref() == Some("Failure")
                        && s.reason.as_deref() == Some("NonZeroExitCode") =>
                {
                    let first = err.lines().next().unwrap_or_default();
                    let msg = s.message.unwrap_or_default();
                    Err(ExecError::Failed(format!("{msg} {first}").trim().into()))
                }
                // Any other failure (the kubelet unreachable, the container not running): the
                // command never ran, so nothing is known about the service.
                Some(s) if s.status.as_deref() == Some("Failure") => Err(ExecError::Unavailable(
                    format!("exec not possible: {}", s.message.unwrap_or_default()),
                )),
                _ => Ok(out),
            }
        };
        tokio::time::timeout(timeout, run)
            .await
            .map_err(|_| ExecError::Timeout(timeout))?
    }
}

impl crate::alerts::MetricsQuery for KubeApi {
    /// Thanos Querier through the API server's service proxy, with the client's own credentials.
    async fn query(&self, promql: &str) -> Result<Value, String> {
        let uri = format!(
            "{}?query={}",
            crate::alerts::THANOS_QUERY_PATH,
            crate::alerts::encode_query(promql)
        );
        let req = http::Request::get(uri)
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        let call = self.client.request::<Value>(req);
        match tokio::time::timeout(std::time::Duration::from_secs(10), call).await {
            Err(_) => Err("monitoring did not answer within 10s".into()),
            Ok(Ok(v)) => Ok(v),
            Ok(Err(kube::Error::Api(s))) if s.code == 403 => {
                Err(format!("forbidden: {}", s.message))
            }
            Ok(Err(kube::Error::Api(s))) => Err(format!(
                "thanos-querier via the service proxy: {} {} {}",
                s.code, s.reason, s.message
            )
            .trim()
            .to_string()),
            Ok(Err(e)) => Err(format!("thanos-querier via the service proxy: {e}")),
        }
    }
}
