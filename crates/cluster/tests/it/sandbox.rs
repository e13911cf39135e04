//! The cluster engine against a REAL Kubernetes control plane (`datalyptica sandbox`: etcd,
//! kube-apiserver, controller manager, scheduler, kwok workers). Only OLM and the operators
//! are stand-ins (src/sandbox/standin.rs). Needs the binaries of `.ci/install-k8s.sh`; says
//! SKIPPED when they are absent (fails when CI=true).

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::time::Duration;

use common::{applied_objects, key, live};
use datalyptica_cluster::api::{ApiError, ClusterApi, KubeApi, TypeRef, Unreachable};
use datalyptica_cluster::deploy::{DeployError, DeployOptions, Event, PROGRESS_CONFIGMAP, deploy};
use datalyptica_cluster::destroy::{self, DestroyEvent, DestroyOptions};
use datalyptica_cluster::diagnose::{Cause, Finding};
use datalyptica_cluster::plan::Plan;
use datalyptica_cluster::{snapshot, status, troubleshoot};
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

    // Prerequisites, then operators, then components with non-decreasing phases.
    let s = steps(&events);
    assert_eq!(s[0].0, "prerequisites");
    assert_eq!(s[1].0, "operators");
    let phases: Vec<u8> = s[2..].iter().map(|x| x.1).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
    // PostgreSQL's gate waited, then passed; nessie (which needs it) started only after.
    let at = |f: &dyn Fn(&Event) -> bool| events.iter().position(f);
    let pg_wait =
        at(&|e| matches!(e, Event::GateWaiting { step, .. } if step == "component.postgresql"));
    let pg_pass =
        at(&|e| matches!(e, Event::GatePassed { step, .. } if step == "component.postgresql"));
    let nessie_start =
        at(&|e| matches!(e, Event::StepStarted { step, .. } if step == "component.nessie"));
    assert!(
        pg_wait.is_some() && pg_pass > pg_wait,
        "postgresql's gate waits, then passes"
    );
    assert!(nessie_start > pg_pass);

    // Gates say which readiness came from a stand-in: PGO's status and the OLM installs were
    // written by stand-ins, Redis' StatefulSets made by one; Deployments (Nessie's, and those of
    // the operators the tree carries) were rolled out by the real controller manager.
    let passed = |step: &str| -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::GatePassed {
                    step: s, detail, ..
                } if s == step => Some(detail.as_str()),
                _ => None,
            })
            .collect()
    };
    let (olm, carried): (Vec<&str>, Vec<&str>) = passed("operators")
        .into_iter()
        .partition(|d| d.contains(" Succeeded, "));
    assert!(
        !olm.is_empty() && olm.iter().all(|d| d.contains("`sandbox-olm-standin`")),
        "{olm:?}"
    );
    assert!(
        carried.len() == 2 && carried.iter().all(|d| !d.contains("stand-in")),
        "the carried operators' Deployments: {carried:?}"
    );
    for (step, who) in [
        ("component.postgresql", "`sandbox-operator-standin`"),
        ("component.redis", "sandbox operator stand-in"),
    ] {
        let details = passed(step);
        assert!(
            !details.is_empty() && details.iter().all(|d| d.contains(who)),
            "{step}: {details:?}"
        );
    }
    let nessie = passed("component.nessie");
    assert!(
        !nessie.is_empty() && nessie.iter().all(|d| !d.contains("stand-in")),
        "{nessie:?}"
    );

    // PGO's root CA reaches Airflow's namespace without its private key.
    let secret_t = TypeRef::new("v1", "Secret");
    let ca = api
        .get(
            &secret_t,
            Some("datalyptica-orchestration"),
            "postgresql-ca",
        )
        .await
        .expect("get")
        .expect("postgresql-ca copied");
    let keys: Vec<&String> = ca["data"]
        .as_object()
        .map(|d| d.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["root.crt"]);
    // Generated and copied Secrets exist; no value appears in any event.
    let events_text = serde_json::to_string(&events).expect("json");
    for (ns, name) in [
        ("datalyptica-core", "postgresql-pgbackrest-s3"),
        ("datalyptica-catalog", "nessie-postgresql"),
        (
            plan.operators_namespace.as_str(),
            "datalyptica-object-store-root",
        ),
    ] {
        let s = api
            .get(&secret_t, Some(ns), name)
            .await
            .expect("get")
            .unwrap_or_else(|| panic!("Secret {ns}/{name}"));
        for (k, v) in s["data"].as_object().into_iter().flatten() {
            let v = v.as_str().unwrap_or_default();
            assert!(!events_text.contains(v), "{ns}/{name} {k} in an event");
        }
    }

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

    // A 503 during a gate is retried (inside the client: kube's server-aware policy repeats
    // 429/503/504 with backoff, honouring Retry-After), and slow answers only slow it: through
    // an HTTP proxy that answers the next three connections 503 just before airflow's gate and
    // delays the next three by two seconds just before superset's.
    let http = common::HttpFaultProxy::start(&sb).await;
    let via = common::api_via(&sb, &http.url).await;
    let objects_of = |id: &str| {
        plan.components()
            .find(|c| c.id.to_string() == id)
            .map(|c| c.objects.len())
            .expect("component")
    };
    let (airflow, superset) = (objects_of("airflow"), objects_of("superset"));
    let applied = Mutex::new(BTreeMap::<String, usize>::new());
    let on = |e: &Event| {
        if let Event::Applied { step, .. } = e {
            let mut a = applied.lock().expect("lock");
            let n = a.entry(step.clone()).or_default();
            *n += 1;
            if step == "component.airflow" && *n == airflow {
                http.unavailable(3);
            }
            if step == "component.superset" && *n == superset {
                http.slow(3, Duration::from_secs(2));
            }
        }
    };
    let (r, events) = run(&via, &plan, &opts(), &on).await;
    assert!(r.is_ok(), "a 503 or a slow answer was fatal: {r:?}");
    let refused = http.refused.lock().expect("lock").clone();
    assert_eq!(refused.len(), 3, "{refused:?}");
    // The same request three times: each 503 was answered by asking again, not by giving up.
    assert!(
        refused.iter().all(|l| *l == refused[0]) && refused[0].starts_with("GET /apis/batch/v1/"),
        "{refused:?}"
    );
    let failed: Vec<_> = events
        .iter()
        .filter(|e| matches!(e, Event::GateFailed { .. }))
        .collect();
    assert!(failed.is_empty(), "{failed:?}");
    for step in ["component.airflow", "component.superset"] {
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::StepDone { step: s, .. } if s == step)),
            "{step} not done"
        );
    }
    assert!(
        http.slowed.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "nothing slowed"
    );

    // A connection dropped mid-apply is retried too (server-side apply is idempotent): the
    // TCP proxy severs everything and refuses three connections after kafka's first object.
    let via = common::api_via(&sb, &proxy.url).await;
    let applied_kafka = std::sync::atomic::AtomicUsize::new(0);
    let on = |e: &Event| {
        if let Event::Applied { step, .. } = e
            && step == "component.kafka"
            && applied_kafka.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0
        {
            proxy.fault(3);
        }
    };
    let (r, events) = run(&via, &plan, &opts(), &on).await;
    assert!(r.is_ok(), "a connection dropped mid-apply was fatal: {r:?}");
    let retried: Vec<&String> = events
        .iter()
        .filter_map(|e| match e {
            Event::Retrying { step, detail, .. } if step == "component.kafka" => Some(detail),
            _ => None,
        })
        .collect();
    assert!(!retried.is_empty(), "no apply retried");
    assert!(
        retried
            .iter()
            .all(|d| d.contains("failed transiently") && d.contains("retry")),
        "{retried:?}"
    );
    assert_eq!(
        applied_kafka.load(std::sync::atomic::Ordering::SeqCst),
        objects_of("kafka"),
        "every kafka object applied once"
    );

    // Status: every gate ready; roles from the pods' labels.
    let rows = status::status(&api, &plan).await.expect("status");
    let not_ready: Vec<_> = rows.iter().filter(|r| r.state != "ready").collect();
    assert!(not_ready.is_empty(), "{not_ready:#?}");
    let pg = rows
        .iter()
        .find(|r| r.object.starts_with("PostgresCluster/"))
        .expect("pg row");
    assert_eq!((pg.desired, pg.ready), (3, 3));
    assert!(pg.roles.starts_with("leader postgresql-"), "{}", pg.roles);
    assert_eq!(pg.last_backup, "none yet", "no scheduled backup has run");
    let redis = rows
        .iter()
        .find(|r| r.object == "StatefulSet/redis")
        .expect("redis row");
    assert_eq!(redis.roles, "master redis-0");
    assert_eq!(status::status_table(&rows).lines().count(), rows.len() + 1);

    // status --deep: kwok runs no containers, so the real API server's exec reaches nothing;
    // every check is reported unavailable on its row and the status passes unless --strict.
    let checks = datalyptica_cluster::deep::checks(&datalyptica_platform::model::Model::new(&p));
    let mut deep_rows = rows.clone();
    status::deep_status(&api, &api, &checks, &mut deep_rows, Duration::from_secs(5)).await;
    let deep: Vec<_> = deep_rows.iter().filter_map(|r| r.deep.as_ref()).collect();
    assert_eq!(deep.len(), checks.len(), "one result per check");
    assert!(
        deep.iter()
            .all(|d| d.verdict == datalyptica_cluster::deep::Verdict::Unavailable),
        "{deep:#?}"
    );
    assert!(status::status_ok(&deep_rows, false));
    assert!(!status::status_ok(&deep_rows, true));
    assert!(status::status_table(&deep_rows).contains("unavailable: "));

    // Monitoring: no openshift-monitoring here, so alerts are unavailable, with the reason.
    let mon = datalyptica_cluster::alerts::gather(&api, &plan).await;
    let why = mon
        .alerts
        .clone()
        .expect_err("no thanos-querier in the sandbox");
    assert!(why.contains("thanos-querier"), "{why}");
    let mut mon_rows = rows.clone();
    status::attach_monitoring(&mut mon_rows, &mon);
    assert!(status::status_ok(&mon_rows, false));
    assert!(
        status::status_table(&mon_rows).ends_with(&format!("alerts: unavailable ({why})\n")),
        "{}",
        status::status_table(&mon_rows)
    );

    // Troubleshoot: objects, nodes, CSVs and analysis; Secrets redacted; a gzip archive.
    let bundle = troubleshoot::collect_bundle(&api, &plan)
        .await
        .expect("bundle");
    assert!(bundle.files.contains_key("analysis.md"));
    let has = |f: &dyn Fn(&String) -> bool| bundle.files.keys().any(f);
    assert!(
        has(&|k| k.starts_with("cluster/node/")),
        "nodes for placement"
    );
    assert!(has(&|k| k.contains("/clusterserviceversion/")), "CSVs");
    let (_, secret) = bundle
        .files
        .iter()
        .find(|(k, _)| k.ends_with("/secret/postgresql-pgbackrest-s3.json"))
        .expect("secret listed");
    let text = String::from_utf8_lossy(secret);
    assert!(
        text.contains("<redacted>") && !text.contains("repo1-s3-key="),
        "{text}"
    );
    let mut tgz = Vec::new();
    troubleshoot::write_tar_gz(&bundle, &mut tgz).expect("tar.gz");
    assert!(tgz.len() > 100 && tgz[..2] == [0x1f, 0x8b], "gzip magic");

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
    destroy::destroy(
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
    destroy::destroy(&api, &plan, DestroyOptions { delete_data: true }, &|_| {})
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

fn steps(events: &[Event]) -> Vec<(String, u8)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::StepStarted { step, phase } => Some((step.clone(), *phase)),
            _ => None,
        })
        .collect()
}

fn failed_on(events: &[Event]) -> Option<(String, String, String, Vec<Finding>)> {
    events.iter().find_map(|e| match e {
        Event::GateFailed {
            step,
            gate,
            detail,
            findings,
            ..
        } => Some((step.clone(), gate.clone(), detail.clone(), findings.clone())),
        _ => None,
    })
}

fn secret_json(ns: &str, name: &str, data: Value) -> Value {
    serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": ns}, "data": data})
}

/// A rehearsal of a user's own cluster, cloned from its `oc get nodes -o json`: three control
/// plane nodes (tainted) and three workers in three zones, large enough that only the required
/// anti-affinity binds. The HA default needs four distinct workers for MinIO's pool, so:
/// - a dry run writes nothing and names what it would change, the CRs whose operator is not
///   installed yet, and the Secrets only the user can provide;
/// - preflight fails on workers with the numbers, and bin packing predicts the Pending pods;
/// - a partial deploy of nessie first requires postgresql;
/// - in external-secrets mode deploy invents no Secret and stops, saying why;
/// - deploy stops at MinIO; the pods the real scheduler leaves Pending are the predicted ones,
///   and the gate, `status` and `troubleshoot` explain them from the real FailedScheduling
///   events; progress is kept in the cluster;
/// - with seven more workers the deploy resumes, stops at Airflow for the DAG repository's
///   credentials only the user has, and finishes once they exist, leaving the user's values;
/// - another field manager's change needs `--force-conflicts`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_workers_cloned_from_a_users_cluster() {
    use datalyptica_cluster::preflight::{self, Outcome};
    use datalyptica_platform::spec::ReplicationTarget;
    let nodes: Value = serde_json::from_str(include_str!("../fixtures/nodes-three-workers.json"))
        .expect("fixture");
    let Some(sb) = common::start_with("three-workers", |s| s.nodes_from = Some(nodes)).await else {
        return;
    };
    let api = sb.api().await.expect("api");
    let mut p = Platform::default_ha();
    p.spec.backup.minio.replication_target = Some(ReplicationTarget {
        endpoint: "https://s3.dr.example.com:9000".into(),
        credentials_secret: "minio-dr-keys".into(),
    });
    p.spec.components.airflow.config.dags_repo = Some("https://git.example.com/dags.git".into());
    p.spec.components.airflow.config.dags_repo_secret = Some("dags-git".into());
    assert!(datalyptica_platform::validate::validate(&p).is_empty());
    let plan = common::plan_of(&p);
    let ns_t = TypeRef::new("v1", "Namespace");
    let namespace_of = |name: &str| {
        plan.components()
            .flat_map(|c| &c.secrets)
            .find(|e| e.name == name)
            .map(|e| e.namespace.clone())
            .unwrap_or_else(|| panic!("{name} is referenced"))
    };
    let (dr_ns, git_ns) = (namespace_of("minio-dr-keys"), namespace_of("dags-git"));
    let generated = |events: &[Event], name: &str| {
        events.iter().any(|e| {
            matches!(e, Event::Secret { name: n, action, .. }
                if n == name && action.contains("generated"))
        })
    };

    // A dry run on the empty cluster writes nothing and prints diffs.
    let dry = DeployOptions {
        dry_run: true,
        ..opts()
    };
    let (r, events) = run(&api, &plan, &dry, &|_| {}).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(
        api.get(&ns_t, None, "datalyptica-core")
            .await
            .expect("get")
            .is_none(),
        "the dry run created a namespace"
    );
    let ns_diff = events.iter().find_map(|e| match e {
        Event::DryRun { object, diff, .. } if object == "Namespace/datalyptica-core" => {
            Some(diff.clone())
        }
        _ => None,
    });
    assert!(
        ns_diff
            .expect("namespace diff")
            .iter()
            .any(|l| l.starts_with("+ .metadata.name"))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::DryRun { object, diff, .. }
            if object.starts_with("PostgresCluster/") && diff[0].contains("not served"))),
        "CRs of operators not installed yet are reported"
    );
    for name in ["minio-dr-keys", "dags-git"] {
        assert!(
            events
                .iter()
                .any(|e| matches!(e, Event::Secret { name: n, action, .. }
                if n == name && action.starts_with("must be provided by you: "))),
            "{name}"
        );
        assert!(!generated(&events, name), "{name}");
    }
    assert!(
        matches!(events.last(), Some(Event::Finished { ok: true, message, .. })
            if message.contains("would change")),
        "{:?}",
        events.last()
    );

    // Preflight: the API and our rights pass; the workers check fails with the numbers.
    let m = datalyptica_platform::model::Model::new(&p);
    let req = preflight::requirements(&m, &render(&p), &plan);
    let snap = snapshot::snapshot(&api, &req).await;
    assert_eq!(snap.api_error, None);
    assert!(snap.version.is_some());
    assert!(snap.access.iter().all(|a| a.allowed), "{:?}", snap.access);
    let checks = preflight::analyze(&req, &snap);
    let get = |id: &str| checks.iter().find(|c| c.id == id).map(|c| c.outcome);
    assert_eq!(get("api"), Some(Outcome::Pass));
    assert_eq!(get("cluster-admin"), Some(Outcome::Pass));
    assert_eq!(get("zones"), Some(Outcome::Pass));
    let workers = checks
        .iter()
        .find(|c| c.id == "workers")
        .expect("workers check");
    assert_eq!(workers.outcome, Outcome::Fail, "{workers:?}");
    assert!(
        workers
            .message
            .starts_with("3 schedulable workers; Tenant/minio/pool-0 needs 4 distinct nodes"),
        "{}",
        workers.message
    );
    // The prediction: per component, how many pods fit on no node (masters are tainted).
    let schedulable = preflight::schedulable_workers(&snap.nodes);
    assert_eq!((snap.nodes.len(), schedulable.len()), (6, 3));
    let unplaced = preflight::bin_pack(&req.pod_sets, &schedulable);
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
    assert_eq!(predicted.get("minio"), Some(&1), "{unplaced:?}");

    // A partial deploy needs its dependencies healthy first.
    let nessie = plan
        .clone()
        .select(&datalyptica_cluster::plan::Selection {
            phase: None,
            component: Some("nessie".into()),
        })
        .expect("select");
    let (r, events) = run(&api, &nessie, &opts(), &|_| {}).await;
    assert!(r.is_err());
    let (step, _, detail, _) = failed_on(&events).expect("a gate failed");
    assert_eq!(step, "requires.postgresql");
    assert!(
        detail.contains("deploy postgresql (phase 1) first"),
        "{detail}"
    );
    assert!(!steps(&events).iter().any(|(s, _)| s == "component.nessie"));

    // With `secrets.mode: external-secrets` deploy never invents a platform Secret: it waits
    // for the one the ExternalSecret is to create and stops, saying why.
    let mut es = p.clone();
    es.spec.secrets.mode = datalyptica_platform::spec::SecretsMode::ExternalSecrets;
    es.spec.secrets.store_ref = Some(datalyptica_platform::spec::SecretStoreRef {
        name: "vault".into(),
        kind: None,
    });
    assert!(datalyptica_platform::validate::validate(&es).is_empty());
    let es_plan = common::plan_of(&es);
    assert!(!es_plan.secrets_generated);
    // PostgreSQL alone (with its operator): the first component that reads a platform Secret.
    let es_plan = es_plan
        .select(&datalyptica_cluster::plan::Selection {
            phase: None,
            component: Some("postgresql".into()),
        })
        .expect("select");
    let short = DeployOptions {
        timeout: Some(Duration::from_secs(15)),
        ..opts()
    };
    // Without the external-secrets operator, the real server refuses its kind: said so.
    let (r, _) = run(&api, &es_plan, &short, &|_| {}).await;
    let e = r.expect_err("ExternalSecret is not served");
    assert!(
        e.contains(
            "does not serve ExternalSecret.external-secrets.io/v1 (is its operator installed?)"
        ),
        "{e}"
    );
    // A STAND-IN for the operator's CRD (its schema is not in ../shared): any spec accepted.
    let crd = serde_json::json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "externalsecrets.external-secrets.io",
            "annotations": {"datalyptica.io/sandbox-stand-in": "external-secrets operator CRD"}},
        "spec": {"group": "external-secrets.io", "scope": "Namespaced",
            "names": {"kind": "ExternalSecret", "plural": "externalsecrets", "singular": "externalsecret", "listKind": "ExternalSecretList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}});
    api.create(&crd).await.expect("stand-in CRD");
    datalyptica_cluster::sandbox::standin::wait_established(
        &api,
        &["externalsecrets.external-secrets.io".to_string()],
        Duration::from_secs(60),
    )
    .await
    .expect("established");
    let (r, events) = run(&api, &es_plan, &short, &|_| {}).await;
    assert!(r.is_err(), "no Secret can appear without its operator");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Secret { action, .. } if action == "generated")),
        "nothing generated"
    );
    let (_, _, detail, _) = failed_on(&events).expect("a gate failed");
    assert!(
        detail.contains("secrets.mode is not `generated`"),
        "{detail}"
    );

    // The full deploy, with every user Secret but the DAG repository's: it stops at MinIO,
    // whose fourth server fits on no worker.
    common::provide_user_secrets_but(&api, &plan, &["dags-git"]).await;
    let dr = api
        .get(&TypeRef::new("v1", "Secret"), Some(&dr_ns), "minio-dr-keys")
        .await
        .expect("get")
        .expect("the user's DR keys");
    let o = DeployOptions {
        timeout: Some(Duration::from_secs(30)),
        ..opts()
    };
    let (r, events) = run(&api, &plan, &o, &|_| {}).await;
    assert!(r.is_err(), "deploy on 3 workers passed every gate");
    let (step, gate, detail, findings) = failed_on(&events).expect("a gate failed");
    assert_eq!(step, "component.minio", "{gate}: {detail}");
    assert!(gate.starts_with("Tenant/"), "{gate}");
    let f = findings
        .iter()
        .find(|f| f.cause == Cause::AntiAffinity)
        .unwrap_or_else(|| panic!("no anti-affinity finding: {findings:#?}"));
    assert!(f.fix.contains("add worker nodes"), "{f:?}");
    assert!(!steps(&events).iter().any(|(s, _)| s == "component.airflow"));
    // The Pending pods are exactly those predicted.
    let minio_ns = plan
        .components()
        .find(|c| c.id.to_string() == "minio")
        .expect("minio")
        .namespace
        .clone();
    let pending: Vec<String> = api
        .list(
            &TypeRef::new("v1", "Pod"),
            Some(&minio_ns),
            Some("v1.min.io/tenant"),
        )
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
    assert_eq!(pending.len(), predicted["minio"], "Pending {pending:?}");
    assert!(f.subject.contains(&pending[0]), "{f:?} vs {pending:?}");
    // Progress is in the cluster: earlier steps done, minio not.
    let progress = api
        .get(
            &TypeRef::new("v1", "ConfigMap"),
            Some(&plan.operators_namespace),
            PROGRESS_CONFIGMAP,
        )
        .await
        .expect("get")
        .expect("progress");
    assert!(!progress["data"]["component.postgresql"].is_null());
    assert!(progress["data"]["component.minio"].is_null());
    // status and troubleshoot explain it from the real FailedScheduling events.
    let rows = status::status(&api, &plan).await.expect("status");
    assert!(
        rows.iter()
            .any(|r| r.component == "minio" && r.state != "ready"),
        "{rows:#?}"
    );
    let bundle = troubleshoot::collect_bundle(&api, &plan)
        .await
        .expect("bundle");
    let analysis = String::from_utf8_lossy(&bundle.files["analysis.md"]).to_string();
    assert!(analysis.contains(&pending[0]), "{analysis}");
    assert!(analysis.contains("anti-affinity"), "{analysis}");

    // Seven more workers in the same zones: the deploy resumes where it stopped, and stops at
    // the first component that reads a Secret only the user has.
    let zones: Vec<String> = snap
        .nodes
        .iter()
        .filter_map(|n| n["metadata"]["labels"]["topology.kubernetes.io/zone"].as_str())
        .map(str::to_string)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    for (i, mut n) in datalyptica_cluster::sandbox::nodes::workers(7, 3, "16", "64Gi")
        .into_iter()
        .enumerate()
    {
        n["metadata"]["labels"]["topology.kubernetes.io/zone"] =
            zones[i % zones.len()].clone().into();
        api.create(&n).await.expect("node");
    }
    let (r, events) = run(&api, &plan, &o, &|_| {}).await;
    assert!(r.is_err());
    match events.first() {
        Some(Event::Resume { done }) => {
            assert!(
                done.contains(&"component.postgresql".to_string()),
                "{done:?}"
            )
        }
        other => panic!("expected a resume, got {other:?}"),
    }
    let (step, gate, detail, _) = failed_on(&events).expect("a gate failed");
    assert_eq!(step, "component.airflow", "{gate}: {detail}");
    assert_eq!(gate, format!("Secret {git_ns}/dags-git"));
    assert!(
        detail.contains(&format!(
            "Secret {git_ns}/dags-git must be provided by you: credentials of the DAG repository"
        )),
        "{detail}"
    );
    assert!(!generated(&events, "dags-git"));
    assert!(
        api.get(&TypeRef::new("v1", "Secret"), Some(&git_ns), "dags-git")
            .await
            .expect("get")
            .is_none(),
        "nothing invented"
    );

    // The user creates it: the deploy finishes and leaves the user's values as they are.
    let git_data = serde_json::json!({"username": "dQ==", "password": "cA=="});
    api.create(&secret_json(&git_ns, "dags-git", git_data.clone()))
        .await
        .expect("dags-git");
    let (r, events) = run(&api, &plan, &o, &|_| {}).await;
    assert!(r.is_ok(), "{r:?}; {:?}", failed_on(&events));
    for (ns, name, data) in [
        (&dr_ns, "minio-dr-keys", dr["data"].clone()),
        (&git_ns, "dags-git", git_data),
    ] {
        let live = api
            .get(&TypeRef::new("v1", "Secret"), Some(ns), name)
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(live["data"], data, "{name} changed");
    }
    let checked = assert_placement(&api, &plan).await;
    assert!(checked >= 5, "only {checked} checked");
    // The same partial deploy now passes without changing anything.
    let (r, events) = run(&api, &nessie, &opts(), &|_| {}).await;
    assert!(r.is_ok(), "{r:?}");
    assert!(matches!(
        events.last(),
        Some(Event::Finished { changed: 0, .. })
    ));

    // Another field manager changes a field deploy owns: deploy stops on the conflict, and
    // `--force-conflicts` takes the field back.
    let prereqs_only = {
        let mut p = plan.clone();
        p.stages.clear();
        p.operators.clear();
        p.operator_objects.clear();
        p
    };
    let core = prereqs_only
        .prerequisites
        .iter()
        .find(|o| o["kind"] == "Namespace" && o["metadata"]["name"] == "datalyptica-core")
        .expect("namespace datalyptica-core");
    let (label, _) = core["metadata"]["labels"]
        .as_object()
        .and_then(|l| l.iter().next())
        .expect("a label");
    let theirs = serde_json::json!({"apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": "datalyptica-core", "labels": {label.as_str(): "someone-else"}}});
    api.apply_as(&theirs, "another-team").await.expect("theirs");
    let r = deploy(&api, &prereqs_only, &opts(), &|_| {}).await;
    match &r.result {
        Err(DeployError::Api {
            error: ApiError::Conflict(what, _),
            ..
        }) => assert!(what.contains("datalyptica-core"), "{what}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    let forced = DeployOptions {
        force_conflicts: true,
        ..opts()
    };
    let (r, _) = run(&api, &prereqs_only, &forced, &|_| {}).await;
    assert!(r.is_ok(), "--force-conflicts takes ownership: {r:?}");
    let ns = api
        .get(&ns_t, None, "datalyptica-core")
        .await
        .expect("get")
        .expect("ns");
    assert_eq!(
        ns["metadata"]["labels"][label.as_str()],
        core["metadata"]["labels"][label.as_str()]
    );
}
