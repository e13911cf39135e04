//! STAND-INS for what the sandbox does not run: OLM and the operators. They act through the
//! real API server like the real ones do, under field managers of their own, and only write
//! what the engine reads:
//!
//! - OLM stand-in: a Subscription gets its package's CRDs (as the tree's chosen install
//!   delivers them, [`super::crds::operator_crd_dir`]), a ClusterServiceVersion marked
//!   `Succeeded` once they are Established, and `status.installedCSV`. A package the catalog
//!   does not have gets `ResolutionFailed`, as OLM reports it.
//! - Operator stand-ins: each custom resource the tree creates gets the pods its operator
//!   would run (created as plain pods with the CR's labels, resources and affinity, placed by
//!   the real scheduler, made Ready by kwok) and, once they are Ready, the status its operator
//!   writes. Redis' and MinIO's operators create StatefulSets, so their stand-ins do too.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::crds;
use crate::api::{ApiError, ClusterApi, KubeApi, TypeRef};

/// Field manager of the OLM stand-in (and of the ClusterVersion it plays for OpenShift).
pub const OLM_MANAGER: &str = "sandbox-olm-standin";
/// Field manager of the operator stand-ins.
pub const OPERATOR_MANAGER: &str = "sandbox-operator-standin";

/// Runs the stand-ins until the task is aborted. Errors of one round are printed (once per
/// distinct message) and the next round tries again.
pub async fn run(api: KubeApi, shared: PathBuf) {
    let mut last = String::new();
    loop {
        if let Err(e) = round(&api, &shared).await {
            let m = e.to_string();
            if m != last {
                eprintln!("sandbox stand-in: {m}");
                last = m;
            }
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// One pass of every stand-in.
pub async fn round(api: &KubeApi, shared: &Path) -> Result<(), ApiError> {
    olm(api, shared).await?;
    operators(api).await
}

fn s<'a>(v: &'a Value, p: &str) -> &'a str {
    v.pointer(p).and_then(Value::as_str).unwrap_or_default()
}

/// Waits until every named CRD is Established (the API server serves its kind).
pub async fn wait_established(
    api: &KubeApi,
    names: &[String],
    limit: Duration,
) -> Result<(), String> {
    let t = TypeRef::new("apiextensions.k8s.io/v1", "CustomResourceDefinition");
    let deadline = Instant::now() + limit;
    for n in names {
        loop {
            let crd = api.get(&t, None, n).await.map_err(|e| e.to_string())?;
            if crd
                .as_ref()
                .is_some_and(|c| crate::gates::condition_true(c, "Established"))
            {
                break;
            }
            if Instant::now() >= deadline {
                return Err(format!("CRD {n} not Established after {limit:?}"));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    api.forget();
    Ok(())
}

async fn olm(api: &KubeApi, shared: &Path) -> Result<(), ApiError> {
    let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
    let csv_t = TypeRef::new("operators.coreos.com/v1alpha1", "ClusterServiceVersion");
    let now = "2026-01-01T00:00:00Z";
    for sub in api.list(&sub_t, None, None).await? {
        if !sub["status"]["installedCSV"].is_null() {
            continue;
        }
        let (ns, name) = (s(&sub, "/metadata/namespace"), s(&sub, "/metadata/name"));
        let (pkg, channel) = (s(&sub, "/spec/name"), s(&sub, "/spec/channel"));
        let Some(dir) = crds::operator_crd_dir(shared, pkg, channel) else {
            let status = json!({"lastUpdated": now, "state": "",
                "conditions": [{"type": "ResolutionFailed", "status": "True", "reason": "ConstraintsNotSatisfiable",
                    "message": format!("sandbox OLM stand-in: no package {pkg} in the catalog"), "lastTransitionTime": now}]});
            api.patch_status(&sub_t, Some(ns), name, &status, OLM_MANAGER)
                .await?;
            continue;
        };
        let loaded = crds::load_dir(&dir).map_err(ApiError::Other)?;
        let mut owned = Vec::new();
        let mut names = Vec::new();
        for crd in loaded {
            let crd = crds::clean(crd);
            let n = s(&crd, "/metadata/name").to_string();
            let storage = crd["spec"]["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["storage"] == true)
                .and_then(|v| v["name"].as_str())
                .unwrap_or("v1")
                .to_string();
            owned.push(json!({"name": n, "kind": s(&crd, "/spec/names/kind"), "version": storage}));
            api.apply_as(&crd, OLM_MANAGER).await?;
            names.push(n);
        }
        wait_established(api, &names, Duration::from_secs(60))
            .await
            .map_err(ApiError::Other)?;
        let bundle = dir.file_name().and_then(|f| f.to_str()).unwrap_or("0.0.0");
        let csv_name = format!("{pkg}.v{bundle}");
        let csv = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
            "metadata": {"name": csv_name, "namespace": ns, "labels": {"datalyptica.io/sandbox-stand-in": "olm"}},
            "spec": {"displayName": format!("{pkg} (sandbox stand-in)"), "version": bundle,
                "install": {"strategy": "deployment"},
                "customresourcedefinitions": {"owned": owned}}});
        api.apply_as(&csv, OLM_MANAGER).await?;
        api.patch_status(
            &csv_t,
            Some(ns),
            &csv_name,
            &json!({"phase": "Succeeded", "reason": "InstallSucceeded", "message": "sandbox OLM stand-in: CRDs installed, no operator runs",
                "lastUpdateTime": now, "lastTransitionTime": now}),
            OLM_MANAGER,
        )
        .await?;
        api.patch_status(
            &sub_t,
            Some(ns),
            name,
            &json!({"lastUpdated": now, "state": "AtLatestKnown", "installedCSV": csv_name, "currentCSV": csv_name}),
            OLM_MANAGER,
        )
        .await?;
    }
    Ok(())
}

/// A pod the stand-in creates for a custom resource: labels, resources and affinity as its
/// operator would set them; the image is never pulled (kwok runs no containers).
fn pod(
    ns: &str,
    name: &str,
    labels: Value,
    resources: &Value,
    affinity: &Value,
    owner: &Value,
) -> Value {
    let mut p = json!({"apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "labels": labels,
            "annotations": {"datalyptica.io/sandbox-stand-in": "operator"},
            "ownerReferences": [owner]},
        "spec": {"containers": [{"name": "main", "image": "sandbox.invalid/operator-stand-in:1"}]}});
    if resources.is_object() {
        p["spec"]["containers"][0]["resources"] = resources.clone();
    }
    if affinity.is_object() {
        p["spec"]["affinity"] = affinity.clone();
    }
    p
}

fn owner(o: &Value) -> Value {
    json!({"apiVersion": o["apiVersion"], "kind": o["kind"], "name": o["metadata"]["name"],
        "uid": o["metadata"]["uid"], "controller": true, "blockOwnerDeletion": false})
}

/// Creates the pods that do not exist; returns how many of `names` are Ready.
async fn ensure_pods(api: &KubeApi, ns: &str, pods: Vec<Value>) -> Result<usize, ApiError> {
    let pod_t = TypeRef::new("v1", "Pod");
    let mut ready = 0;
    for p in pods {
        let name = s(&p, "/metadata/name").to_string();
        match api.get(&pod_t, Some(ns), &name).await? {
            Some(live) => ready += usize::from(crate::gates::pod_ready(&live)),
            None => {
                api.create(&p).await?;
            }
        }
    }
    Ok(ready)
}

async fn ensure_secret(
    api: &KubeApi,
    ns: &str,
    name: &str,
    data: Value,
    owner_ref: &Value,
) -> Result<(), ApiError> {
    let t = TypeRef::new("v1", "Secret");
    if api.get(&t, Some(ns), name).await?.is_none() {
        api.create(&json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner_ref]}, "data": data}))
            .await?;
    }
    Ok(())
}

fn b64(s: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(s)
}

async fn list_if_served(api: &KubeApi, av: &str, kind: &str) -> Result<Vec<Value>, ApiError> {
    match api.list(&TypeRef::new(av, kind), None, None).await {
        Err(ApiError::UnknownKind(_)) => Ok(vec![]),
        r => r,
    }
}

async fn set_status(api: &KubeApi, o: &Value, status: Value) -> Result<(), ApiError> {
    let t = TypeRef::of(o);
    let (ns, name) = (s(o, "/metadata/namespace"), s(o, "/metadata/name"));
    let ns = (!ns.is_empty()).then_some(ns);
    // Only write when it changes, so a second deploy sees no resourceVersion move.
    let mut want = o["status"].clone();
    merge(&mut want, &status);
    if want == o["status"] {
        return Ok(());
    }
    api.patch_status(&t, ns, name, &status, OPERATOR_MANAGER)
        .await
        .map(|_| ())
}

fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (a, b) => *a = b.clone(),
    }
}

/// (apiVersion, kind, the pod label its gate selects by, the status once its pod is Ready).
type StandIn = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Value) -> Value,
);

async fn operators(api: &KubeApi) -> Result<(), ApiError> {
    postgres(api).await?;
    redis(api).await?;
    minio(api).await?;
    let simple: [StandIn; 4] = [
        ("kafka.strimzi.io/v1", "Kafka", "strimzi.io/cluster", |o| {
            json!({"observedGeneration": o["metadata"]["generation"], "kafkaMetadataState": "KRaft",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]})
        }),
        (
            "flink.apache.org/v1beta1",
            "FlinkDeployment",
            "app",
            |_| json!({"jobManagerDeploymentStatus": "READY"}),
        ),
        (
            "clickhouse.altinity.com/v1",
            "ClickHouseInstallation",
            "clickhouse.altinity.com/chi",
            |_| json!({"status": "Completed"}),
        ),
        (
            "clickhouse-keeper.altinity.com/v1",
            "ClickHouseKeeperInstallation",
            "clickhouse-keeper.altinity.com/chk",
            |_| json!({"status": "Completed"}),
        ),
    ];
    for (av, kind, label, status) in simple {
        for o in list_if_served(api, av, kind).await? {
            if o["metadata"]["deletionTimestamp"].is_string() {
                continue;
            }
            let (ns, name) = (s(&o, "/metadata/namespace"), s(&o, "/metadata/name"));
            let mut labels = json!({label: name});
            if kind == "FlinkDeployment" {
                labels["component"] = json!("jobmanager");
            }
            let p = pod(
                ns,
                &format!("{name}-standin-0"),
                labels,
                &Value::Null,
                &Value::Null,
                &owner(&o),
            );
            if ensure_pods(api, ns, vec![p]).await? == 1 {
                set_status(api, &o, status(&o)).await?;
            }
        }
    }
    Ok(())
}

/// PGO: one pod per instance (role `master` for the first), with the instance set's
/// resources and affinity; the root CA and the users' Secrets; `status.instances`.
async fn postgres(api: &KubeApi) -> Result<(), ApiError> {
    for o in list_if_served(
        api,
        "postgres-operator.crunchydata.com/v1beta1",
        "PostgresCluster",
    )
    .await?
    {
        if o["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let (ns, cluster) = (s(&o, "/metadata/namespace"), s(&o, "/metadata/name"));
        let own = owner(&o);
        let mut pods = Vec::new();
        let mut sets = Vec::new();
        let mut first = true;
        for set in o["spec"]["instances"].as_array().into_iter().flatten() {
            let sname = set["name"].as_str().unwrap_or("pg");
            let n = set["replicas"].as_i64().unwrap_or(1);
            sets.push((sname.to_string(), n));
            for i in 0..n {
                let role = if first { "master" } else { "replica" };
                first = false;
                pods.push(pod(
                    ns,
                    &format!("{cluster}-{sname}-{i}"),
                    json!({"postgres-operator.crunchydata.com/cluster": cluster,
                        "postgres-operator.crunchydata.com/instance-set": sname,
                        "postgres-operator.crunchydata.com/role": role}),
                    &set["resources"],
                    &set["affinity"],
                    &own,
                ));
            }
        }
        let ready = ensure_pods(api, ns, pods).await?;
        ensure_secret(api, ns, "pgo-root-cacert", json!({"root.crt": b64("sandbox stand-in CA"), "root.key": b64("sandbox stand-in key")}), &own).await?;
        for u in o["spec"]["users"].as_array().into_iter().flatten() {
            let user = u["name"].as_str().unwrap_or("postgres");
            // Random, as PGO's are: a fixed value would show up wherever the stand-in's name does.
            let password = crate::secrets::random_token(24).map_err(ApiError::Other)?;
            ensure_secret(api, ns, &format!("{cluster}-pguser-{user}"), json!({"user": b64(user), "password": b64(&password),
                "host": b64(&format!("{cluster}-primary.{ns}.svc")), "port": b64("5432"),
                "uri": b64(&format!("postgresql://{user}:{password}@{cluster}-primary.{ns}.svc:5432/{user}"))}), &own).await?;
        }
        let total: i64 = sets.iter().map(|(_, n)| n).sum();
        if ready as i64 >= total {
            let st: Vec<Value> = sets.iter().map(|(set, n)| json!({"name": set, "replicas": n, "readyReplicas": n, "updatedReplicas": n})).collect();
            set_status(api, &o, json!({"instances": st})).await?;
        }
    }
    Ok(())
}

/// OT-Container-Kit: a StatefulSet `<name>` per RedisReplication and `<name>-sentinel` per
/// RedisSentinel, whose pods the real controllers create and the scheduler places.
async fn redis(api: &KubeApi) -> Result<(), ApiError> {
    let av = "redis.redis.opstreelabs.in/v1beta2";
    for (kind, suffix) in [("RedisReplication", ""), ("RedisSentinel", "-sentinel")] {
        for o in list_if_served(api, av, kind).await? {
            if o["metadata"]["deletionTimestamp"].is_string() {
                continue;
            }
            let name = s(&o, "/metadata/name");
            let sts_name = format!("{name}{suffix}");
            let setup = if suffix.is_empty() {
                "replication"
            } else {
                "sentinel"
            };
            let k = &o["spec"]["kubernetesConfig"];
            ensure_statefulset(
                api,
                &o,
                &sts_name,
                o["spec"]["clusterSize"].as_i64().unwrap_or(3),
                json!({"app": sts_name, "redis_setup_type": setup}),
                &json!({"resources": k["resources"], "affinity": o["spec"]["affinity"]}),
            )
            .await?;
            if suffix.is_empty() {
                label_redis_roles(api, s(&o, "/metadata/namespace"), &sts_name).await?;
            }
        }
    }
    Ok(())
}

/// The operator labels each replication pod `redis-role` (master or slave); the first is the
/// master here, as after a fresh start.
async fn label_redis_roles(api: &KubeApi, ns: &str, sts: &str) -> Result<(), ApiError> {
    let pod_t = TypeRef::new("v1", "Pod");
    for p in api
        .list(&pod_t, Some(ns), Some(&format!("app={sts}")))
        .await?
    {
        let name = s(&p, "/metadata/name");
        let role = if name == format!("{sts}-0") {
            "master"
        } else {
            "slave"
        };
        if p["metadata"]["labels"]["redis-role"] != role {
            let patch = json!({"metadata": {"labels": {"redis-role": role}}});
            api.patch_merge(&pod_t, Some(ns), name, &patch).await?;
        }
    }
    Ok(())
}

/// MinIO operator: a StatefulSet `<tenant>-<pool>` per pool (pods labelled with the tenant and
/// the pool, started in parallel, with the pool's resources, affinity and zone spread); the
/// Tenant's status once every server of every pool is Ready.
async fn minio(api: &KubeApi) -> Result<(), ApiError> {
    let sts_t = TypeRef::new("apps/v1", "StatefulSet");
    for o in list_if_served(api, "minio.min.io/v2", "Tenant").await? {
        if o["metadata"]["deletionTimestamp"].is_string() {
            continue;
        }
        let (ns, tenant) = (s(&o, "/metadata/namespace"), s(&o, "/metadata/name"));
        let (mut servers, mut ready) = (0, 0);
        let mut pools = Vec::new();
        for p in o["spec"]["pools"].as_array().into_iter().flatten() {
            let pool = p["name"].as_str().unwrap_or("pool-0");
            let n = p["servers"].as_i64().unwrap_or(4);
            let sts_name = format!("{tenant}-{pool}");
            ensure_statefulset(
                api,
                &o,
                &sts_name,
                n,
                json!({"v1.min.io/tenant": tenant, "v1.min.io/pool": pool}),
                p,
            )
            .await?;
            servers += n;
            ready += api
                .get(&sts_t, Some(ns), &sts_name)
                .await?
                .and_then(|x| x["status"]["readyReplicas"].as_i64())
                .unwrap_or(0);
            pools.push(json!({"ssName": sts_name, "state": "PoolInitialized"}));
        }
        if servers > 0 && ready >= servers {
            // The Tenant CRD requires certificates, pools, revision and syncVersion in status.
            let status = json!({"currentState": "Initialized", "healthStatus": "green",
                "availableReplicas": ready, "pools": pools, "revision": 0,
                "syncVersion": "v5.0.0", "certificates": {}});
            set_status(api, &o, status).await?;
        }
    }
    Ok(())
}

/// Creates the StatefulSet an operator would (once; the real controllers take it from there),
/// its pods labelled `labels`, with `resources`, `affinity` and `topologySpreadConstraints`
/// taken from `pod` where set.
async fn ensure_statefulset(
    api: &KubeApi,
    owner_cr: &Value,
    name: &str,
    replicas: i64,
    labels: Value,
    pod: &Value,
) -> Result<(), ApiError> {
    let ns = s(owner_cr, "/metadata/namespace");
    let t = TypeRef::new("apps/v1", "StatefulSet");
    if api.get(&t, Some(ns), name).await?.is_some() {
        return Ok(());
    }
    let mut tpl = json!({"metadata": {"labels": labels},
        "spec": {"containers": [{"name": "main", "image": "sandbox.invalid/operator-stand-in:1"}]}});
    if pod["resources"].is_object() {
        tpl["spec"]["containers"][0]["resources"] = pod["resources"].clone();
    }
    for k in ["affinity", "topologySpreadConstraints"] {
        if pod[k].is_object() || pod[k].is_array() {
            tpl["spec"][k] = pod[k].clone();
        }
    }
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
        "metadata": {"name": name, "namespace": ns, "ownerReferences": [owner(owner_cr)],
            "annotations": {"datalyptica.io/sandbox-stand-in": "operator"}},
        "spec": {"replicas": replicas, "serviceName": format!("{name}-hl"),
            "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": labels}, "template": tpl}});
    api.create(&sts).await.map(|_| ())
}
