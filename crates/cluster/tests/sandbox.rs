//! The cluster engine against a REAL Kubernetes control plane (`datalyptica sandbox`: etcd,
//! kube-apiserver, controller manager, scheduler, kwok workers). Only OLM and the operators
//! are stand-ins (src/sandbox/standin.rs). Needs the binaries of `.ci/install-k8s.sh`; says
//! SKIPPED when they are absent (fails when CI=true).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use datalyptica_cluster::api::{ApiError, ClusterApi, KubeApi, TypeRef, Unreachable};
use datalyptica_cluster::deploy::{DeployOptions, Event, deploy};
use datalyptica_cluster::ops::{self, DestroyEvent, DestroyOptions};
use datalyptica_cluster::plan::Plan;
use datalyptica_platform::{Platform, render};
use serde_json::Value;

fn opts() -> DeployOptions {
    DeployOptions {
        poll: Duration::from_millis(200),
        timeout: Some(Duration::from_secs(120)),
        ..Default::default()
    }
}

async fn run(
    api: &KubeApi,
    plan: &Plan,
    o: &DeployOptions,
    on: &(dyn Fn(&Event) + Sync),
) -> (Result<(), String>, Vec<Event>) {
    let events = Mutex::new(Vec::new());
    let r = deploy(api, plan, o, &|e: &Event| {
        on(e);
        events.lock().expect("lock").push(e.clone())
    })
    .await;
    (
        r.result.map_err(|e| e.to_string()),
        events.into_inner().expect("lock"),
    )
}

fn key(o: &Value) -> (String, String, String, String) {
    (
        o["apiVersion"].as_str().unwrap_or_default().into(),
        o["kind"].as_str().unwrap_or_default().into(),
        o["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .into(),
        o["metadata"]["name"].as_str().unwrap_or_default().into(),
    )
}

/// Every object deploy applies: prerequisites, operator objects, each component's objects.
fn applied_objects(plan: &Plan) -> Vec<Value> {
    plan.prerequisites
        .iter()
        .chain(&plan.operator_objects)
        .chain(plan.components().flat_map(|c| &c.objects))
        .cloned()
        .collect()
}

async fn live(api: &KubeApi, o: &Value) -> Option<Value> {
    let (av, kind, ns, name) = key(o);
    api.get(
        &TypeRef::new(&av, &kind),
        (!ns.is_empty()).then_some(ns.as_str()),
        &name,
    )
    .await
    .unwrap_or_else(|e| panic!("get {kind}/{name}: {e}"))
}

fn labels_match(pod: &Value, sel: &serde_json::Map<String, Value>) -> bool {
    sel.iter().all(|(k, v)| pod["metadata"]["labels"][k] == *v)
}

/// Required anti-affinity (hostname) and zone spread of the tree's Deployments and
/// StatefulSets, checked on the pods the real scheduler placed.
async fn assert_placement(api: &KubeApi, plan: &Plan) -> usize {
    let nodes = api
        .list(&TypeRef::new("v1", "Node"), None, None)
        .await
        .expect("nodes");
    let zone: BTreeMap<String, String> = nodes
        .iter()
        .map(|n| {
            (
                n["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            )
        })
        .collect();
    let mut checked = 0;
    for o in plan.components().flat_map(|c| &c.objects) {
        let kind = o["kind"].as_str().unwrap_or_default();
        if kind != "Deployment" && kind != "StatefulSet" {
            continue;
        }
        let (_, _, ns, name) = key(o);
        let Some(sel) = o["spec"]["selector"]["matchLabels"].as_object() else {
            continue;
        };
        if live(api, o).await.is_none() {
            continue; // not deployed (a partial deploy)
        }
        let pods: Vec<Value> = api
            .list(&TypeRef::new("v1", "Pod"), Some(&ns), None)
            .await
            .expect("pods")
            .into_iter()
            .filter(|p| labels_match(p, sel))
            .collect();
        let want = o["spec"]["replicas"].as_u64().unwrap_or(1) as usize;
        let placed: Vec<String> = pods
            .iter()
            .filter_map(|p| p["spec"]["nodeName"].as_str().map(str::to_string))
            .collect();
        assert_eq!(
            placed.len(),
            want,
            "{kind}/{name}: {want} pods placed by the scheduler, got {placed:?}"
        );
        let tpl = &o["spec"]["template"]["spec"];
        let hard_host =
            tpl["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["topologyKey"] == "kubernetes.io/hostname");
        if hard_host {
            let distinct: BTreeSet<&String> = placed.iter().collect();
            assert_eq!(
                distinct.len(),
                placed.len(),
                "{kind}/{name}: required anti-affinity, pods share a node: {placed:?}"
            );
        }
        for c in tpl["topologySpreadConstraints"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if c["topologyKey"] != "topology.kubernetes.io/zone"
                || c["whenUnsatisfiable"] != "DoNotSchedule"
            {
                continue;
            }
            let skew = c["maxSkew"].as_u64().unwrap_or(1) as usize;
            let mut per: BTreeMap<&str, usize> = zone.values().map(|z| (z.as_str(), 0)).collect();
            for n in &placed {
                *per.entry(zone[n].as_str()).or_default() += 1;
            }
            let (min, max) = (
                per.values().min().copied().unwrap_or(0),
                per.values().max().copied().unwrap_or(0),
            );
            assert!(
                max - min <= skew,
                "{kind}/{name}: zone spread {per:?} exceeds maxSkew {skew}"
            );
        }
        checked += 1;
    }
    checked
}

async fn resource_versions(
    api: &KubeApi,
    objs: &[Value],
) -> BTreeMap<(String, String, String, String), String> {
    let mut out = BTreeMap::new();
    for o in objs {
        if let Some(l) = live(api, o).await {
            out.insert(
                key(o),
                l["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            );
        }
    }
    out
}

/// The HA default on the real API server, through a proxy that severs connections just before
/// PostgreSQL's gate: the gate retries the dropped connections with backoff and PostgreSQL's
/// step completes; what it deployed is placed by the real scheduler as the tree requires.
/// (This test asserted the catalog's redis-operator 0.15.1 rejecting the RedisReplication until
/// the tree rendered for 0.15.1; the full run past Redis is the test below.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_connections_during_a_gate_are_retried_on_the_real_server() {
    let Some(sb) = common::start("catalog-defect", 10, 3).await else {
        return;
    };
    let api = sb.api().await.expect("api");
    let p = Platform::default_ha();
    let plan = common::plan_of(&p);
    common::provide_user_secrets(&api, &plan).await;
    // Through a proxy that severs every connection and closes the next three just before
    // postgresql's gate: a dropped connection during a gate is retried with backoff.
    let proxy = common::FaultProxy::start(&sb).await;
    let via = common::api_via(&sb, &proxy.url).await;
    let pg = plan
        .components()
        .find(|c| c.id.to_string() == "postgresql")
        .map(|c| c.objects.len())
        .expect("postgresql");
    let applied_pg = std::sync::atomic::AtomicUsize::new(0);
    let on = |e: &Event| {
        if let Event::Applied { step, .. } = e
            && step == "component.postgresql"
            && applied_pg.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == pg
        {
            proxy.fault(3);
        }
    };
    let (r, events) = run(&via, &plan, &opts(), &on).await;
    let retried: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::GateWaiting { step, detail, .. }
                if step == "component.postgresql" && detail.contains("retry") =>
            {
                Some(detail)
            }
            _ => None,
        })
        .collect();
    assert!(
        !retried.is_empty(),
        "no retry reported; {} connections dropped; {r:?}; {:?}",
        proxy.dropped.load(std::sync::atomic::Ordering::SeqCst),
        events
            .iter()
            .filter(|e| matches!(e, Event::GateWaiting { .. } | Event::GatePassed { .. }))
            .collect::<Vec<_>>()
    );
    assert!(
        retried.iter().all(|d| d.contains("failed transiently")),
        "{retried:?}"
    );
    // Later steps may stop on what the stand-ins cannot give (or on a leftover severed
    // connection during an apply): this test is about the gate, so the outcome is only shown.
    eprintln!("deploy outcome: {r:?}");
    let passed: BTreeSet<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::StepDone { step, .. } => Some(step.as_str()),
            _ => None,
        })
        .collect();
    assert!(
        passed.contains("prerequisites")
            && passed.contains("operators")
            && passed.contains("component.postgresql"),
        "{passed:?}; {r:?}"
    );
    // What was deployed before it is placed by the real scheduler as the tree requires.
    let checked = assert_placement(&api, &plan).await;
    eprintln!("placement checked on {checked} Deployments/StatefulSets");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ha_default_on_ten_workers_in_three_zones() {
    let Some(sb) = common::start("ha-default", 10, 3).await else {
        return;
    };
    let api = sb.api().await.expect("api");
    let p = Platform::default_ha();
    let plan = common::plan_of(&p);
    common::provide_user_secrets(&api, &plan).await;

    // Deploy: every object by strict server-side apply; none rejected.
    let (r, events) = run(&api, &plan, &opts(), &|_| {}).await;
    let failed: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::GateFailed { .. }))
        .collect();
    assert!(
        r.is_ok(),
        "deploy on the sandbox failed: {r:?}\n{failed:#?}\nlast: {:?}",
        events.last()
    );

    // Each applied object exists in the cluster.
    let objs = applied_objects(&plan);
    let mut missing = Vec::new();
    for o in &objs {
        if live(&api, o).await.is_none() {
            missing.push(key(o));
        }
    }
    assert!(missing.is_empty(), "applied but absent: {missing:?}");
    // Templates aside, the tree holds nothing deploy did not apply.
    let tree = render(&p);
    let applied: BTreeSet<_> = objs.iter().map(key).collect();
    let not_applied: Vec<_> = tree
        .objects()
        .map(|(_, o)| key(o))
        .filter(|k| !applied.contains(k) && k.1 != "Subscription")
        .collect();
    eprintln!("rendered objects deploy does not apply (templates): {not_applied:?}");

    // The real scheduler honoured required anti-affinity and zone spread.
    let checked = assert_placement(&api, &plan).await;
    assert!(
        checked >= 5,
        "only {checked} Deployments/StatefulSets checked"
    );

    // A second deploy moves no resourceVersion, and says nothing changed.
    let before = resource_versions(&api, &objs).await;
    let (r, events) = run(&api, &plan, &opts(), &|_| {}).await;
    assert!(r.is_ok(), "{r:?}");
    match events.last() {
        Some(Event::Finished {
            changed, message, ..
        }) => assert_eq!(*changed, 0, "{message}"),
        other => panic!("{other:?}"),
    }
    let after = resource_versions(&api, &objs).await;
    let moved: Vec<_> = before
        .iter()
        .filter(|(k, v)| after.get(*k) != Some(*v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        moved.is_empty(),
        "resourceVersion moved on an idempotent deploy: {moved:?}"
    );

    // A dropped connection during a gate is retried with backoff, not fatal: through a proxy
    // that severs every connection and closes the next three just before nessie's gate.
    let proxy = common::FaultProxy::start(&sb).await;
    let via = common::api_via(&sb, &proxy.url).await;
    let nessie = plan
        .components()
        .find(|c| c.id.to_string() == "nessie")
        .map(|c| c.objects.len())
        .expect("nessie");
    let applied_nessie = std::sync::atomic::AtomicUsize::new(0);
    let on = |e: &Event| {
        if let Event::Applied { step, .. } = e
            && step == "component.nessie"
            && applied_nessie.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == nessie
        {
            proxy.fault(3);
        }
    };
    let (r, events) = run(&via, &plan, &opts(), &on).await;
    assert!(r.is_ok(), "a transient fault was fatal: {r:?}");
    let retried: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::GateWaiting { step, detail, .. }
                if step == "component.nessie" && detail.contains("retry") =>
            {
                Some(detail)
            }
            _ => None,
        })
        .collect();
    assert!(
        !retried.is_empty(),
        "no retry reported; dropped {}",
        proxy.dropped.load(std::sync::atomic::Ordering::SeqCst)
    );
    assert!(
        retried.iter().all(|d| d.contains("failed transiently")),
        "{retried:?}"
    );

    // Status: every gate ready.
    let rows = ops::status(&api, &plan).await.expect("status");
    let not_ready: Vec<_> = rows.iter().filter(|r| r.state != "ready").collect();
    assert!(not_ready.is_empty(), "{not_ready:#?}");

    // 401 and TLS failures are named as such.
    let mut c = sb.config().await.expect("config");
    c.auth_info.client_certificate_data = None;
    c.auth_info.client_key_data = None;
    c.auth_info.token = Some("not-a-token".to_string().into());
    let anon = KubeApi::from_config(c).expect("client");
    match anon.version().await {
        Err(ApiError::Unreachable {
            cause: Unreachable::Unauthorized(_),
            ..
        }) => {}
        other => panic!("expected 401: {other:?}"),
    }
    let mut c = sb.config().await.expect("config");
    c.tls_server_name = Some("not-the-api-server.example".into());
    let untrusted = KubeApi::from_config(c).expect("client");
    match untrusted.version().await {
        Err(ApiError::Unreachable {
            cause: Unreachable::Tls(d),
            server,
        }) => {
            assert_eq!(server, sb.server);
            assert!(!d.is_empty());
        }
        other => panic!("expected a TLS failure: {other:?}"),
    }

    // Destroy without --delete-data: reverse order, PVCs kept (and their namespaces).
    let events = Mutex::new(Vec::new());
    ops::destroy(
        &api,
        &plan,
        DestroyOptions::default(),
        &|e: &DestroyEvent| events.lock().expect("lock").push(e.clone()),
    )
    .await
    .expect("destroy");
    let events = events.into_inner().expect("lock");
    let deleted: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            DestroyEvent::Deleted { object, .. } => Some(object.clone()),
            _ => None,
        })
        .collect();
    let pos = |p: &str| {
        deleted
            .iter()
            .position(|o| o.starts_with(p))
            .unwrap_or_else(|| panic!("{p} not deleted: {deleted:?}"))
    };
    assert!(pos("Deployment/superset") < pos("Deployment/nessie"));
    assert!(pos("Deployment/nessie") < pos("PostgresCluster/postgresql"));
    assert!(pos("PostgresCluster/postgresql") < pos("Subscription/crunchy-postgres-operator"));
    let pvcs = api
        .list(&TypeRef::new("v1", "PersistentVolumeClaim"), None, None)
        .await
        .expect("pvcs");
    assert!(!pvcs.is_empty(), "PVCs kept without --delete-data");
    // The workloads are really gone (garbage collector and namespace controller are real).
    let gone = common::eventually(Duration::from_secs(90), async || {
        let left: Vec<String> = api
            .list(&TypeRef::new("apps/v1", "StatefulSet"), None, None)
            .await
            .ok()?
            .iter()
            .filter(|s| {
                plan.namespaces
                    .iter()
                    .any(|n| s["metadata"]["namespace"] == n.as_str())
            })
            .map(|s| {
                s["metadata"]["name"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        left.is_empty().then_some(())
    })
    .await;
    assert!(gone.is_some(), "StatefulSets left after destroy");

    // With --delete-data the namespaces are really gone.
    ops::destroy(&api, &plan, DestroyOptions { delete_data: true }, &|_| {})
        .await
        .expect("destroy data");
    let ns_t = TypeRef::new("v1", "Namespace");
    let left = common::eventually(Duration::from_secs(120), async || {
        let mut left = Vec::new();
        for n in &plan.namespaces {
            if api.get(&ns_t, None, n).await.ok()?.is_some() {
                left.push(n.clone());
            }
        }
        left.is_empty().then_some(())
    })
    .await;
    assert!(
        left.is_some(),
        "namespaces still present after destroy --delete-data"
    );
}

/// Six workers for the HA default: preflight fails on workers with the numbers; after deploy
/// the pods the real scheduler leaves Pending are those preflight predicted, and status and
/// troubleshoot explain them from the scheduler's FailedScheduling events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "premise wrong for today's tree: its widest required anti-affinity set is 4 (MinIO pool-0), so 6 workers pass the workers check; rework with 3 workers"]
async fn six_workers_preflight_predicts_the_pending_pods() {
    use datalyptica_cluster::preflight::{self, Outcome};
    let Some(sb) = common::start("six-workers", 6, 3).await else {
        return;
    };
    let api = sb.api().await.expect("api");
    let p = Platform::default_ha();
    let plan = common::plan_of(&p);
    let m = datalyptica_platform::model::Model::new(&p);
    let req = preflight::requirements(&m, &render(&p), &plan);
    let snap = ops::snapshot(&api, &req).await;
    assert_eq!(snap.api_error, None);
    let checks = preflight::analyze(&req, &snap);
    let workers = checks
        .iter()
        .find(|c| c.id == "workers")
        .expect("workers check");
    assert_eq!(workers.outcome, Outcome::Fail, "{workers:?}");
    assert!(
        workers.message.starts_with("6 schedulable workers; "),
        "{}",
        workers.message
    );

    // The prediction: per component, how many pods fit on no node.
    let nodes = preflight::schedulable_workers(&snap.nodes);
    assert_eq!(nodes.len(), 6);
    let unplaced = preflight::bin_pack(&req.pod_sets, &nodes);
    let mut predicted: BTreeMap<String, usize> = BTreeMap::new();
    for u in &unplaced {
        let set = u.rsplit_once(" #").map_or(u.as_str(), |x| x.0);
        let c = req
            .pod_sets
            .iter()
            .find(|s| s.name == set)
            .expect("set")
            .component
            .clone();
        *predicted.entry(c).or_default() += 1;
    }
    assert!(
        !predicted.is_empty(),
        "bin packing predicted nothing Pending: {unplaced:?}"
    );

    common::provide_user_secrets(&api, &plan).await;
    let o = DeployOptions {
        poll: Duration::from_millis(250),
        timeout: Some(Duration::from_secs(40)),
        ..Default::default()
    };
    let (r, events) = run(&api, &plan, &o, &|_| {}).await;
    let failed = events.iter().find_map(|e| match e {
        Event::GateFailed { step, findings, .. } => Some((step.clone(), findings.clone())),
        _ => None,
    });
    assert!(r.is_err(), "deploy on 6 workers passed every gate");
    let (step, findings) = failed.expect("a gate failed");
    let component = step.trim_start_matches("component.").to_string();
    assert!(
        predicted.contains_key(&component),
        "deploy stopped at {step}, preflight predicted {predicted:?}"
    );
    let cause = format!("{findings:?}");
    assert!(
        cause.contains("anti-affinity") || cause.contains("Insufficient"),
        "{cause}"
    );

    // The Pending pods of that component are exactly as many as predicted.
    let ns = plan
        .components()
        .find(|c| c.id.to_string() == component)
        .expect("c")
        .namespace
        .clone();
    let pending: Vec<String> = api
        .list(&TypeRef::new("v1", "Pod"), Some(&ns), None)
        .await
        .expect("pods")
        .iter()
        .filter(|p| p["spec"]["nodeName"].is_null())
        .map(|p| {
            p["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    assert_eq!(
        pending.len(),
        predicted[&component],
        "Pending {pending:?} vs predicted {unplaced:?}"
    );

    // status and troubleshoot explain them from the real FailedScheduling events.
    let rows = ops::status(&api, &plan).await.expect("status");
    assert!(
        rows.iter()
            .any(|r| r.component == component && r.state != "ready"),
        "{rows:#?}"
    );
    let bundle = ops::collect_bundle(&api, &plan).await.expect("bundle");
    let analysis = String::from_utf8_lossy(&bundle.files["analysis.md"]).to_string();
    assert!(analysis.contains(&pending[0]), "{analysis}");
    assert!(
        analysis.contains("anti-affinity") || analysis.contains("Insufficient"),
        "{analysis}"
    );
}
