//! A SIMULATED Kubernetes API server for the tests: real HTTP on 127.0.0.1 that the real kube-rs
//! client talks to, with objects in memory and a scripted "operator" that sets statuses. It is
//! not Kubernetes: server-side apply replaces the applied fields wholesale (no field ownership
//! merge), only equality label selectors exist, and there is no watch.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{Value, json};

pub mod operator;

#[derive(Clone, Debug)]
pub struct Res {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Served only once a CRD `<plural>.<group>` exists (operators install these).
    pub crd: bool,
}

const fn r(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    crd: bool,
) -> Res {
    Res {
        group,
        version,
        kind,
        plural,
        namespaced,
        crd,
    }
}

pub const RESOURCES: &[Res] = &[
    r("", "v1", "Namespace", "namespaces", false, false),
    r("", "v1", "Pod", "pods", true, false),
    r("", "v1", "Event", "events", true, false),
    r("", "v1", "Secret", "secrets", true, false),
    r("", "v1", "ConfigMap", "configmaps", true, false),
    r("", "v1", "Service", "services", true, false),
    r("", "v1", "ServiceAccount", "serviceaccounts", true, false),
    r(
        "",
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        false,
    ),
    r("", "v1", "Node", "nodes", false, false),
    r("apps", "v1", "Deployment", "deployments", true, false),
    r("apps", "v1", "StatefulSet", "statefulsets", true, false),
    r("batch", "v1", "Job", "jobs", true, false),
    r("batch", "v1", "CronJob", "cronjobs", true, false),
    r(
        "policy",
        "v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        false,
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "Role",
        "roles",
        true,
        false,
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
        true,
        false,
    ),
    // The carried MinIO Operator's rights.
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRole",
        "clusterroles",
        false,
        false,
    ),
    r(
        "rbac.authorization.k8s.io",
        "v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        false,
    ),
    r(
        "networking.k8s.io",
        "v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        false,
    ),
    r(
        "storage.k8s.io",
        "v1",
        "StorageClass",
        "storageclasses",
        false,
        false,
    ),
    r(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
        false,
        false,
    ),
    r(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        false,
        false,
    ),
    r("route.openshift.io", "v1", "Route", "routes", true, false),
    r(
        "config.openshift.io",
        "v1",
        "ClusterVersion",
        "clusterversions",
        false,
        false,
    ),
    r(
        "monitoring.coreos.com",
        "v1",
        "PodMonitor",
        "podmonitors",
        true,
        false,
    ),
    r(
        "monitoring.coreos.com",
        "v1",
        "PrometheusRule",
        "prometheusrules",
        true,
        false,
    ),
    r(
        "monitoring.coreos.com",
        "v1",
        "ServiceMonitor",
        "servicemonitors",
        true,
        false,
    ),
    r(
        "monitoring.coreos.com",
        "v1alpha1",
        "AlertmanagerConfig",
        "alertmanagerconfigs",
        true,
        false,
    ),
    r(
        "operators.coreos.com",
        "v1",
        "OperatorGroup",
        "operatorgroups",
        true,
        false,
    ),
    r(
        "operators.coreos.com",
        "v1alpha1",
        "Subscription",
        "subscriptions",
        true,
        false,
    ),
    r(
        "operators.coreos.com",
        "v1alpha1",
        "ClusterServiceVersion",
        "clusterserviceversions",
        true,
        false,
    ),
    r(
        "operators.coreos.com",
        "v1alpha1",
        "InstallPlan",
        "installplans",
        true,
        false,
    ),
    r(
        "operators.coreos.com",
        "v1alpha1",
        "CatalogSource",
        "catalogsources",
        true,
        false,
    ),
    r(
        "packages.operators.coreos.com",
        "v1",
        "PackageManifest",
        "packagemanifests",
        true,
        false,
    ),
    // Spark has no OLM package in the plan; the sim serves its CRD as if installed beforehand.
    r(
        "sparkoperator.k8s.io",
        "v1beta2",
        "SparkApplication",
        "sparkapplications",
        true,
        false,
    ),
    r(
        "objectbucket.io",
        "v1alpha1",
        "ObjectBucketClaim",
        "objectbucketclaims",
        true,
        false,
    ),
    r(
        "external-secrets.io",
        "v1",
        "ExternalSecret",
        "externalsecrets",
        true,
        false,
    ),
    r(
        "postgres-operator.crunchydata.com",
        "v1beta1",
        "PostgresCluster",
        "postgresclusters",
        true,
        true,
    ),
    r(
        "redis.redis.opstreelabs.in",
        "v1beta2",
        "RedisReplication",
        "redisreplications",
        true,
        true,
    ),
    r(
        "redis.redis.opstreelabs.in",
        "v1beta2",
        "RedisSentinel",
        "redissentinels",
        true,
        true,
    ),
    r("minio.min.io", "v2", "Tenant", "tenants", true, true),
    r("kafka.strimzi.io", "v1", "Kafka", "kafkas", true, true),
    r(
        "kafka.strimzi.io",
        "v1",
        "KafkaNodePool",
        "kafkanodepools",
        true,
        true,
    ),
    r(
        "kafka.strimzi.io",
        "v1",
        "KafkaTopic",
        "kafkatopics",
        true,
        true,
    ),
    r(
        "kafka.strimzi.io",
        "v1",
        "KafkaMirrorMaker2",
        "kafkamirrormaker2s",
        true,
        true,
    ),
    r(
        "flink.apache.org",
        "v1beta1",
        "FlinkDeployment",
        "flinkdeployments",
        true,
        true,
    ),
    r(
        "clickhouse.altinity.com",
        "v1",
        "ClickHouseInstallation",
        "clickhouseinstallations",
        true,
        true,
    ),
    r(
        "clickhouse-keeper.altinity.com",
        "v1",
        "ClickHouseKeeperInstallation",
        "clickhousekeeperinstallations",
        true,
        true,
    ),
];

/// CRDs each OLM package owns (what the scripted OLM installs for a Subscription).
pub fn package_crds(pkg: &str) -> Vec<&'static Res> {
    let groups: &[&str] = match pkg {
        "crunchy-postgres-operator" => &["postgres-operator.crunchydata.com"],
        "redis-operator" => &["redis.redis.opstreelabs.in"],
        "strimzi-kafka-operator" => &["kafka.strimzi.io"],
        "flink-kubernetes-operator" => &["flink.apache.org"],
        "clickhouse" => &["clickhouse.altinity.com", "clickhouse-keeper.altinity.com"],
        _ => &[],
    };
    RESOURCES
        .iter()
        .filter(|r| r.crd && groups.contains(&r.group))
        .collect()
}

pub type Key = (String, String, String); // (api version/plural, namespace or "", name)

#[derive(Default)]
pub struct State {
    pub objects: BTreeMap<Key, Value>,
    pub rv: u64,
    /// Every mutating request, in order: (method, path) — for ordering assertions.
    pub writes: Vec<(String, String)>,
    pub tick: u64,
    /// Requests answered so far.
    pub requests: u64,
    /// Tick at which the scripted operator first saw an object.
    pub seen: BTreeMap<Key, u64>,
    /// GETs of each single object so far: lets a script hold an object not-ready until a
    /// client has observed it waiting, independent of timing.
    pub reads: BTreeMap<Key, u64>,
    /// Objects whose fields another field manager owns: an apply without `force=true` gets 409.
    pub foreign: BTreeSet<Key>,
}

pub fn gv(r: &Res) -> String {
    if r.group.is_empty() {
        r.version.to_string()
    } else {
        format!("{}/{}", r.group, r.version)
    }
}

pub fn res_of_kind(api_version: &str, kind: &str) -> Option<&'static Res> {
    RESOURCES
        .iter()
        .find(|r| gv(r) == api_version && r.kind == kind)
}

impl State {
    pub fn key(r: &Res, ns: &str, name: &str) -> Key {
        (
            format!("{}/{}", gv(r), r.plural),
            if r.namespaced {
                ns.to_string()
            } else {
                String::new()
            },
            name.to_string(),
        )
    }

    pub fn served(&self, r: &Res) -> bool {
        !r.crd
            || self.objects.keys().any(|(t, _, n)| {
                t == "apiextensions.k8s.io/v1/customresourcedefinitions"
                    && *n == format!("{}.{}", r.plural, r.group)
            })
    }

    /// Insert or replace, bumping resourceVersion (and generation when the spec changed).
    pub fn put(&mut self, mut o: Value) -> Value {
        let Some(r) = res_of_kind(
            o["apiVersion"].as_str().unwrap_or(""),
            o["kind"].as_str().unwrap_or(""),
        ) else {
            return o;
        };
        let ns = o["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = o["metadata"]["name"].as_str().unwrap_or("").to_string();
        let k = Self::key(r, &ns, &name);
        let old = self.objects.get(&k);
        let generation = old
            .map(|x| x["metadata"]["generation"].as_i64().unwrap_or(1))
            .unwrap_or(1);
        let spec_changed = old.is_some_and(|x| x["spec"] != o["spec"]);
        self.rv += 1;
        o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        o["metadata"]["generation"] = json!(if spec_changed {
            generation + 1
        } else {
            generation
        });
        if o["metadata"]["uid"].is_null() {
            o["metadata"]["uid"] = json!(format!("uid-{}", self.rv));
        }
        self.objects.insert(k, o.clone());
        o
    }

    pub fn get(&self, api_version: &str, kind: &str, ns: &str, name: &str) -> Option<&Value> {
        let r = res_of_kind(api_version, kind)?;
        self.objects.get(&Self::key(r, ns, name))
    }

    pub fn list(&self, api_version: &str, kind: &str) -> Vec<Value> {
        let Some(r) = res_of_kind(api_version, kind) else {
            return vec![];
        };
        let t = format!("{}/{}", gv(r), r.plural);
        self.objects
            .iter()
            .filter(|(k, _)| k.0 == t)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Set `status` without touching resourceVersion-visible spec (like the status subresource).
    pub fn set_status(
        &mut self,
        api_version: &str,
        kind: &str,
        ns: &str,
        name: &str,
        status: Value,
    ) {
        let Some(r) = res_of_kind(api_version, kind) else {
            return;
        };
        let k = Self::key(r, ns, name);
        if let Some(o) = self.objects.get(&k) {
            if o["status"] == status {
                return;
            }
            let mut o = o.clone();
            o["status"] = status;
            self.rv += 1;
            o["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            self.objects.insert(k, o);
        }
    }
}

pub type Shared = Arc<Mutex<State>>;
pub type Script = Arc<dyn Fn(&mut State) + Send + Sync>;

pub struct SimServer {
    pub addr: SocketAddr,
    pub state: Shared,
    task: tokio::task::JoinHandle<()>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for SimServer {
    fn drop(&mut self) {
        self.task.abort();
        self.ticker.abort();
    }
}

impl SimServer {
    /// Start on an ephemeral port; `script` runs every `tick` as the simulated operators.
    pub async fn start(script: Script, tick: Duration) -> SimServer {
        let state: Shared = Arc::new(Mutex::new(State::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let st = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let st = st.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| handle(st.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
        let st = state.clone();
        let ticker = tokio::spawn(async move {
            loop {
                tokio::time::sleep(tick).await;
                if let Ok(mut s) = st.lock() {
                    s.tick += 1;
                    script(&mut s);
                }
            }
        });
        SimServer {
            addr,
            state,
            task,
            ticker,
        }
    }

    /// A real kube-rs client pointed at the simulation over plain http.
    pub fn client(&self) -> kube::Client {
        let url: http::Uri = format!("http://{}", self.addr).parse().expect("uri");
        let config = kube::Config::new(url);
        kube::Client::try_from(config).expect("client")
    }

    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        let mut s = self.state.lock().expect("lock");
        f(&mut s)
    }
}

fn reply(code: StatusCode, body: Value) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(Response::builder()
        .status(code)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()))))
}

fn status(code: u16, reason: &str, message: String) -> Result<Response<Full<Bytes>>, Infallible> {
    reply(
        StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": reason, "code": code, "message": message}),
    )
}

fn resource_list(s: &State, group: &str, version: &str) -> Value {
    let resources: Vec<Value> = RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version && s.served(r))
        .map(|r| json!({"name": r.plural, "singularName": r.kind.to_lowercase(), "namespaced": r.namespaced, "kind": r.kind,
            "verbs": ["create", "delete", "get", "list", "patch", "update"]}))
        .collect();
    let gvs = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gvs, "resources": resources})
}

fn matches(o: &Value, selector: &str) -> bool {
    selector
        .split(',')
        .filter(|p| !p.is_empty())
        .all(|p| match p.split_once('=') {
            Some((k, v)) => o["metadata"]["labels"][k].as_str() == Some(v.trim_start_matches('=')),
            None => !o["metadata"]["labels"][p].is_null(),
        })
}

fn query(q: Option<&str>, key: &str) -> Option<String> {
    q?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == key).then(|| {
            v.replace("%3D", "=")
                .replace("%2C", ",")
                .replace("%2F", "/")
        })
    })
}

async fn handle(
    state: Shared,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let q = req.uri().query().map(str::to_string);
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let Ok(mut s) = state.lock() else {
        return status(500, "InternalError", "lock".into());
    };
    s.requests += 1;
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|x| !x.is_empty())
        .collect();
    match segs.as_slice() {
        ["version"] => {
            return reply(
                StatusCode::OK,
                json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-simulated", "platform": "linux/amd64"}),
            );
        }
        ["api"] => {
            return reply(
                StatusCode::OK,
                json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}),
            );
        }
        ["apis"] => {
            let mut groups: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for r in RESOURCES
                .iter()
                .filter(|r| !r.group.is_empty() && s.served(r))
            {
                groups.entry(r.group).or_default().insert(r.version);
            }
            let gs: Vec<Value> = groups
                .iter()
                .map(|(g, vs)| {
                    let versions: Vec<Value> = vs
                        .iter()
                        .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                        .collect();
                    json!({"name": g, "versions": versions, "preferredVersion": versions[0]})
                })
                .collect();
            return reply(
                StatusCode::OK,
                json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": gs}),
            );
        }
        ["api", v] => return reply(StatusCode::OK, resource_list(&s, "", v)),
        ["apis", g, v] => return reply(StatusCode::OK, resource_list(&s, g, v)),
        _ => {}
    }
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => ("", *v, rest),
        ["apis", g, v, rest @ ..] => (*g, *v, rest),
        _ => return status(404, "NotFound", format!("no route {path}")),
    };
    let (ns, plural, name, sub) = match rest {
        ["namespaces", ns, plural, tail @ ..] => {
            (*ns, *plural, tail.first().copied(), tail.get(1).copied())
        }
        [plural, tail @ ..] => ("", *plural, tail.first().copied(), tail.get(1).copied()),
        [] => return status(404, "NotFound", path),
    };
    let Some(res) = RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.plural == plural)
    else {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource {path}"),
        );
    };
    if !s.served(res) {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource {path}"),
        );
    }
    let api_version = gv(res);
    let not_found = || {
        status(
            404,
            "NotFound",
            format!(
                "{}.{} \"{}\" not found",
                res.plural,
                res.group,
                name.unwrap_or("")
            ),
        )
    };
    match (&method, name, sub) {
        (&Method::GET, Some(n), Some("log")) => {
            let prev = query(q.as_deref(), "previous").as_deref() == Some("true");
            if s.get(&api_version, res.kind, ns, n).is_none() {
                return not_found();
            }
            let text = if prev {
                format!("simulated previous log of {n}\n")
            } else {
                format!("simulated log of {n}\n")
            };
            Ok(Response::new(Full::new(Bytes::from(text))))
        }
        (&Method::GET, Some(n), None) => {
            *s.reads.entry(State::key(res, ns, n)).or_default() += 1;
            match s.get(&api_version, res.kind, ns, n) {
                Some(o) => reply(StatusCode::OK, o.clone()),
                None => not_found(),
            }
        }
        (&Method::GET, None, None) => {
            let sel = query(q.as_deref(), "labelSelector");
            let items: Vec<Value> = s
                .list(&api_version, res.kind)
                .into_iter()
                .filter(|o| !res.namespaced || ns.is_empty() || o["metadata"]["namespace"] == ns)
                .filter(|o| sel.as_deref().is_none_or(|x| matches(o, x)))
                .collect();
            reply(
                StatusCode::OK,
                json!({"apiVersion": api_version, "kind": format!("{}List", res.kind), "metadata": {"resourceVersion": s.rv.to_string()}, "items": items}),
            )
        }
        (&Method::PATCH, Some(n), None) => {
            let key = State::key(res, ns, n);
            if s.foreign.contains(&key) {
                if query(q.as_deref(), "force").as_deref() != Some("true") {
                    return status(
                        409,
                        "Conflict",
                        format!(
                            "Apply failed with 1 conflict: conflict with \"someone-else\": .spec (simulated) on {n}"
                        ),
                    );
                }
                s.foreign.remove(&key);
            }
            let Ok(mut applied) = serde_json::from_slice::<Value>(&body) else {
                return status(
                    400,
                    "BadRequest",
                    "the simulation accepts JSON apply bodies only".into(),
                );
            };
            let dry = query(q.as_deref(), "dryRun").as_deref() == Some("All");
            let existing = s.get(&api_version, res.kind, ns, n).cloned();
            applied["metadata"]["name"] = json!(n);
            if res.namespaced {
                applied["metadata"]["namespace"] = json!(ns);
            }
            if res.kind == "Secret"
                && let Some(sd) = applied.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                let mut data = applied["data"].as_object().cloned().unwrap_or_default();
                for (k, v) in sd.as_object().into_iter().flatten() {
                    data.insert(
                        k.clone(),
                        json!(
                            base64::engine::general_purpose::STANDARD
                                .encode(v.as_str().unwrap_or_default())
                        ),
                    );
                }
                applied["data"] = Value::Object(data);
            }
            let mut merged = applied.clone();
            if let Some(e) = &existing {
                merged["status"] = e["status"].clone();
                for k in ["uid", "resourceVersion", "generation", "creationTimestamp"] {
                    if !e["metadata"][k].is_null() {
                        merged["metadata"][k] = e["metadata"][k].clone();
                    }
                }
                if merged["status"].is_null() {
                    merged.as_object_mut().map(|m| m.remove("status"));
                }
                if merged == *e {
                    return reply(StatusCode::OK, e.clone());
                }
            }
            if dry {
                return reply(StatusCode::OK, merged);
            }
            s.writes.push(("PATCH".into(), path.clone()));
            let stored = s.put(merged);
            reply(StatusCode::OK, stored)
        }
        (&Method::POST, None, None) => {
            let Ok(mut o) = serde_json::from_slice::<Value>(&body) else {
                return status(400, "BadRequest", "json".into());
            };
            if res.kind == "SelfSubjectAccessReview" {
                o["status"] = json!({"allowed": true});
                return reply(StatusCode::CREATED, o);
            }
            if res.namespaced {
                o["metadata"]["namespace"] = json!(ns);
            }
            let n = o["metadata"]["name"].as_str().unwrap_or("").to_string();
            if s.get(&api_version, res.kind, ns, &n).is_some() {
                return status(409, "AlreadyExists", format!("{n} already exists"));
            }
            s.writes.push(("POST".into(), path.clone()));
            let stored = s.put(o);
            reply(StatusCode::CREATED, stored)
        }
        (&Method::DELETE, Some(n), None) => {
            let k = State::key(res, ns, n);
            match s.objects.remove(&k) {
                Some(o) => {
                    s.writes.push(("DELETE".into(), path.clone()));
                    // Deleting a namespace removes what is in it (instantly, unlike Kubernetes).
                    if res.kind == "Namespace" {
                        s.objects.retain(|(_, ons, _), _| ons != n);
                    }
                    reply(StatusCode::OK, o)
                }
                None => not_found(),
            }
        }
        _ => status(405, "MethodNotAllowed", format!("{method} {path}")),
    }
}
