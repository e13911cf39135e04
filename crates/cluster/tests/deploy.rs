//! Deploy end to end against the SIMULATED API server (tests/sim): real HTTP, real kube-rs
//! client, scripted operators. Not a Kubernetes conformance test: see tests/sim/mod.rs.

mod sim;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use datalyptica_cluster::api::KubeApi;
use datalyptica_cluster::deploy::{DeployOptions, Event, PROGRESS_CONFIGMAP, deploy};
use datalyptica_cluster::diagnose::Cause;
use datalyptica_cluster::plan::{self, Plan};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use sim::SimServer;
use sim::operator::{Behaviour, script};

fn plan() -> Plan {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    plan::build(&m, &render(&p)).expect("plan")
}

/// What the user creates before deploying: every Secret only they can provide (alert receiver
/// keys, DR credentials…), except `but`. Deploy never generates these.
fn provide_user_secrets(sim: &SimServer, plan: &Plan, but: &[&str]) {
    use datalyptica_platform::security::SecretSource;
    for e in plan.components().flat_map(|c| &c.secrets) {
        if matches!(e.source, SecretSource::User(_)) && !but.contains(&e.name.as_str()) {
            let data: serde_json::Map<String, serde_json::Value> = e
                .keys
                .iter()
                .map(|k| (k.clone(), serde_json::json!("dGVzdA==")))
                .collect();
            sim.with(|s| {
                s.put(
                    serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                    "metadata": {"name": e.name, "namespace": e.namespace}, "data": data}),
                )
            });
        }
    }
}

fn opts() -> DeployOptions {
    DeployOptions {
        poll: Duration::from_millis(20),
        timeout: Some(Duration::from_secs(20)),
        ..Default::default()
    }
}

async fn run(api: &KubeApi, plan: &Plan, o: &DeployOptions) -> (bool, Vec<Event>) {
    let events = Mutex::new(Vec::new());
    let r = deploy(api, plan, o, &|e: &Event| {
        events.lock().expect("lock").push(e.clone())
    })
    .await;
    (r.result.is_ok(), events.into_inner().expect("lock"))
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

async fn server(b: Behaviour) -> (SimServer, Arc<Mutex<Behaviour>>) {
    let b = Arc::new(Mutex::new(b));
    (
        SimServer::start(script(b.clone()), Duration::from_millis(10)).await,
        b,
    )
}

/// The simulation must know every kind the renderer emits; a new kind fails here, by name.
#[test]
fn the_simulation_serves_every_rendered_kind() {
    let tree = render(&Platform::default_ha());
    let missing: std::collections::BTreeSet<String> = tree
        .objects()
        .filter(|(_, o)| {
            sim::res_of_kind(
                o["apiVersion"].as_str().unwrap_or(""),
                o["kind"].as_str().unwrap_or(""),
            )
            .is_none()
        })
        .map(|(_, o)| format!("{} {}", o["apiVersion"], o["kind"]))
        .collect();
    assert!(
        missing.is_empty(),
        "add to tests/sim RESOURCES: {missing:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deploys_in_phase_order_waits_on_gates_and_is_idempotent() {
    let (sim, _) = server(Behaviour {
        delay: 5,
        reads: 3,
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    let plan = plan();
    provide_user_secrets(&sim, &plan, &[]);
    let (ok, events) = run(&api, &plan, &opts()).await;
    let last = events.last().cloned();
    assert!(ok, "deploy failed: {last:?}");

    // PGO's root CA reaches the consumers without its private key.
    let ca = sim
        .with(|s| {
            s.get("v1", "Secret", "datalyptica-orchestration", "postgresql-ca")
                .cloned()
        })
        .expect("postgresql-ca copied to Airflow's namespace");
    let keys: Vec<&String> = ca["data"]
        .as_object()
        .map(|d| d.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["root.crt"]);

    // Prerequisites, then operators, then components with non-decreasing phases.
    let s = steps(&events);
    assert_eq!(s[0].0, "prerequisites");
    assert_eq!(s[1].0, "operators");
    let phases: Vec<u8> = s[2..].iter().map(|x| x.1).collect();
    assert!(phases.windows(2).all(|w| w[0] <= w[1]), "{s:?}");
    assert_eq!(s.len() - 2, plan.components().count());

    // A gate waited, then passed.
    let pg_wait = events.iter().position(
        |e| matches!(e, Event::GateWaiting { step, .. } if step == "component.postgresql"),
    );
    let pg_pass = events.iter().position(
        |e| matches!(e, Event::GatePassed { step, .. } if step == "component.postgresql"),
    );
    assert!(
        pg_wait.is_some() && pg_pass > pg_wait,
        "postgres gate should wait then pass"
    );
    // Nessie (phase 2+, depends on postgresql) starts only after postgresql's gate passed.
    let nessie = events
        .iter()
        .position(|e| matches!(e, Event::StepStarted { step, .. } if step == "component.nessie"));
    assert!(nessie > pg_pass);

    // Writes: namespaces first, the PostgresCluster only after its Subscription.
    let writes = sim.with(|s| s.writes.clone());
    let idx = |needle: &str| writes.iter().position(|(_, p)| p.contains(needle));
    assert!(idx("/namespaces/datalyptica-core").is_some());
    assert!(idx("/subscriptions/crunchy-postgres-operator") < idx("/postgresclusters/"));

    // Generated and copied secrets exist; no value appears in any event.
    let (pgbr, copy, root) = sim.with(|s| {
        let core = "datalyptica-core";
        (
            s.get("v1", "Secret", core, "postgresql-pgbackrest-s3")
                .cloned(),
            s.get("v1", "Secret", "datalyptica-catalog", "nessie-postgresql")
                .cloned(),
            s.get(
                "v1",
                "Secret",
                &plan.operators_namespace,
                "datalyptica-object-store-root",
            )
            .cloned(),
        )
    });
    let pgbr = pgbr.expect("pgbackrest secret generated");
    assert!(copy.is_some(), "nessie's database secret copied");
    let root = root.expect("root credentials");
    let events_text = serde_json::to_string(&events).expect("json");
    for v in root["data"]
        .as_object()
        .into_iter()
        .flatten()
        .chain(pgbr["data"].as_object().into_iter().flatten())
    {
        let b64 = v.1.as_str().unwrap_or_default();
        assert!(!events_text.contains(b64));
    }

    // Second run: nothing changes, and it says so.
    let writes_before = sim.with(|s| s.writes.len());
    let (ok, events) = run(&api, &plan, &opts()).await;
    assert!(ok);
    assert!(matches!(events.first(), Some(Event::Resume { .. })));
    match events.last() {
        Some(Event::Finished {
            changed, message, ..
        }) => {
            assert_eq!(*changed, 0, "{message}");
            assert!(message.contains("nothing changed"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        sim.with(|s| s.writes.len()),
        writes_before,
        "no write on the second run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gate_timeout_is_diagnosed_and_the_deploy_resumes() {
    let (sim, behaviour) = server(Behaviour {
        delay: 1,
        broken: ["Kafka"].into(),
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    let plan = plan();
    provide_user_secrets(&sim, &plan, &[]);
    let o = DeployOptions {
        timeout: Some(Duration::from_millis(1500)),
        ..opts()
    };
    let (ok, events) = run(&api, &plan, &o).await;
    assert!(!ok);
    let failed = events.iter().find_map(|e| match e {
        Event::GateFailed {
            step,
            gate,
            detail,
            findings,
            ..
        } => Some((step.clone(), gate.clone(), detail.clone(), findings.clone())),
        _ => None,
    });
    let (step, gate, detail, findings) = failed.expect("a gate failed");
    assert_eq!(step, "component.kafka");
    assert!(gate.starts_with("Kafka/"), "{gate}");
    assert!(
        detail.contains("timed out") && detail.contains("NotReady"),
        "{detail}"
    );
    let f = findings
        .iter()
        .find(|f| f.cause == Cause::AntiAffinity)
        .expect("anti-affinity finding");
    assert!(f.subject.ends_with("-broker-2"), "{f:?}");
    assert!(f.fix.contains("add worker nodes"), "{f:?}");
    // Nothing after the failed stage started.
    assert!(!steps(&events).iter().any(|(s, _)| s == "component.trino"));

    // Progress is in the cluster: earlier steps done, kafka not.
    let progress = sim
        .with(|s| {
            s.get(
                "v1",
                "ConfigMap",
                &plan.operators_namespace,
                PROGRESS_CONFIGMAP,
            )
            .cloned()
        })
        .expect("progress");
    assert!(!progress["data"]["component.postgresql"].is_null());
    assert!(progress["data"]["component.kafka"].is_null());

    // The cause is fixed (nodes added); the next run resumes and finishes.
    behaviour.lock().expect("lock").broken.clear();
    let (ok, events) = run(&api, &plan, &opts()).await;
    assert!(ok, "{:?}", events.last());
    match events.first() {
        Some(Event::Resume { done }) => assert!(done.contains(&"component.postgresql".to_string())),
        other => panic!("expected resume, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_writes_nothing_and_prints_diffs() {
    let (sim, _) = server(Behaviour::default()).await;
    let api = KubeApi::new(sim.client());
    let o = DeployOptions {
        dry_run: true,
        ..opts()
    };
    let (ok, events) = run(&api, &plan(), &o).await;
    assert!(ok, "{:?}", events.last());
    assert!(sim.with(|s| s.writes.is_empty()), "dry run wrote");
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
    // Custom resources of operators not yet installed are reported, not failed.
    assert!(events.iter().any(|e| matches!(e, Event::DryRun { object, diff, .. } if object.starts_with("PostgresCluster/") && diff[0].contains("not served"))));
    assert!(
        matches!(events.last(), Some(Event::Finished { ok: true, message, .. }) if message.contains("would change"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_troubleshoot_and_destroy_after_a_deploy() {
    use datalyptica_cluster::ops::{self, DestroyEvent, DestroyOptions};
    let (sim, _) = server(Behaviour {
        delay: 1,
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    let plan = plan();
    provide_user_secrets(&sim, &plan, &[]);
    let (ok, _) = run(&api, &plan, &opts()).await;
    assert!(ok);

    // Status: every gate ready, roles read from pod labels.
    let rows = ops::status(&api, &plan).await.expect("status");
    let not_ready: Vec<_> = rows.iter().filter(|r| r.state != "ready").collect();
    assert!(not_ready.is_empty(), "{not_ready:#?}");
    let pg = rows
        .iter()
        .find(|r| r.object.starts_with("PostgresCluster/"))
        .expect("pg row");
    assert_eq!((pg.desired, pg.ready), (3, 3));
    assert!(pg.roles.starts_with("leader postgresql-"), "{}", pg.roles);
    let redis = rows
        .iter()
        .find(|r| r.object == "StatefulSet/redis")
        .expect("redis row");
    assert_eq!(redis.roles, "master redis-0");
    assert!(ops::status_table(&rows).lines().count() == rows.len() + 1);
    assert_eq!(pg.last_backup, "none yet", "no scheduled backup has run");

    // status --deep: the simulation has no exec subresource, so every check is reported
    // unavailable on its row and the status still passes (unless --strict).
    let checks = datalyptica_cluster::deep::checks(&Model::new(&Platform::default_ha()));
    let mut deep_rows = rows.clone();
    ops::deep_status(&api, &api, &checks, &mut deep_rows, Duration::from_secs(5)).await;
    let deep: Vec<_> = deep_rows.iter().filter_map(|r| r.deep.as_ref()).collect();
    assert_eq!(deep.len(), checks.len(), "one result per check");
    for d in &deep {
        assert_eq!(
            d.verdict,
            datalyptica_cluster::deep::Verdict::Unavailable,
            "{d:?}"
        );
    }
    assert!(
        deep.iter()
            .any(|d| d.summary.starts_with("exec not possible")),
        "the exec request reached the API server: {deep:#?}"
    );
    assert!(ops::status_ok(&deep_rows, false));
    assert!(!ops::status_ok(&deep_rows, true));
    assert!(
        ops::status_table(&deep_rows).contains("unavailable: "),
        "{}",
        ops::status_table(&deep_rows)
    );

    // Monitoring: the simulation does not serve the service proxy, so alerts are reported
    // unavailable (with the reason), no controller is shown, and the status still passes.
    let m = datalyptica_cluster::monitoring::gather(&api, &plan).await;
    let why = m.alerts.clone().expect_err("no proxy in the simulation");
    assert!(why.contains("thanos-querier"), "{why}");
    assert_eq!(m.kafka_controller, None);
    let mut mon_rows = rows.clone();
    ops::attach_monitoring(&mut mon_rows, &m);
    assert_eq!(mon_rows.len(), rows.len());
    assert!(ops::status_ok(&mon_rows, false));
    let table = ops::status_table(&mon_rows);
    assert!(!table.contains("ALERTS"), "{table}");
    assert!(
        table.ends_with(&format!("alerts: unavailable ({why})\n")),
        "{table}"
    );
    let json = serde_json::to_value(&mon_rows).unwrap();
    assert_eq!(
        json[mon_rows.iter().position(|r| r.phase != 0).unwrap()]["alerts"]["unavailable"],
        why.as_str()
    );

    // Troubleshoot: a tar.gz with objects, logs (previous too), analysis; Secrets redacted.
    let bundle = ops::collect_bundle(&api, &plan).await.expect("bundle");
    assert!(bundle.files.contains_key("analysis.md"));
    assert!(
        bundle.files.keys().any(|k| k.starts_with("cluster/node/")),
        "nodes for placement"
    );
    assert!(
        bundle
            .files
            .keys()
            .any(|k| k.ends_with("/logs/redis-0/main.previous.log")),
        "previous logs"
    );
    assert!(
        bundle
            .files
            .keys()
            .any(|k| k.contains("/clusterserviceversion/")),
        "CSVs"
    );
    let secret = bundle
        .files
        .iter()
        .find(|(k, _)| k.ends_with("/secret/postgresql-pgbackrest-s3.json"))
        .expect("secret listed");
    let text = String::from_utf8_lossy(secret.1);
    assert!(
        text.contains("<redacted>") && !text.contains("repo1-s3-key"),
        "{text}"
    );
    let mut tgz = Vec::new();
    ops::write_tar_gz(&bundle, &mut tgz).expect("tar.gz");
    assert!(
        tgz.len() > 100 && tgz[0] == 0x1f && tgz[1] == 0x8b,
        "gzip magic"
    );

    // Destroy without --delete-data: reverse order, claims and namespaces kept.
    let events = Mutex::new(Vec::new());
    let writes_before = sim.with(|s| s.writes.len());
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
            .unwrap_or_else(|| panic!("{p} not deleted"))
    };
    assert!(pos("Deployment/superset") < pos("Deployment/nessie"));
    assert!(pos("Deployment/nessie") < pos("PostgresCluster/postgresql"));
    assert!(pos("PostgresCluster/postgresql") < pos("Subscription/crunchy-postgres-operator"));
    assert!(
        pos("ClusterServiceVersion/crunchy-postgres-operator")
            < pos("Subscription/crunchy-postgres-operator")
    );
    let kept = events.iter().filter(|e| matches!(e, DestroyEvent::Kept { object, .. } if object.starts_with("PersistentVolumeClaim/"))).count();
    assert!(kept > 0);
    let (pvcs, namespaces) = sim.with(|s| {
        (
            s.list("v1", "PersistentVolumeClaim").len(),
            s.list("v1", "Namespace").len(),
        )
    });
    assert_eq!(pvcs, kept, "claims kept");
    assert!(namespaces > 0, "namespaces kept with the data");
    assert!(sim.with(|s| s.writes.len()) > writes_before);

    // With --delete-data: claims and namespaces go too.
    ops::destroy(&api, &plan, DestroyOptions { delete_data: true }, &|_| {})
        .await
        .expect("destroy data");
    let (pvcs, namespaces) = sim.with(|s| {
        (
            s.list("v1", "PersistentVolumeClaim").len(),
            s.list("v1", "Namespace").len(),
        )
    });
    assert_eq!((pvcs, namespaces), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preflight_snapshot_through_kube() {
    use datalyptica_cluster::preflight::{Outcome, analyze, requirements};
    let (sim, _) = server(Behaviour::default()).await;
    let api = KubeApi::new(sim.client());
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let t = render(&p);
    let plan = plan::build(&m, &t).expect("plan");
    let req = requirements(&m, &t, &plan);
    // The scripted world registers its three workers on the first tick.
    while sim.with(|s| s.tick) < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let snap = datalyptica_cluster::ops::snapshot(&api, &req).await;
    assert!(snap.api_error.is_none(), "{:?}", snap.api_error);
    assert!(snap.version.is_some());
    assert!(snap.access.iter().all(|a| a.allowed));
    let checks = analyze(&req, &snap);
    let get = |id: &str| checks.iter().find(|c| c.id == id).map(|c| c.outcome);
    assert_eq!(get("api"), Some(Outcome::Pass));
    assert_eq!(get("cluster-admin"), Some(Outcome::Pass));
    // The simulation is plain Kubernetes with three workers and no catalogs: the checks say so.
    assert_eq!(get("distribution"), Some(Outcome::Warn));
    let workers = checks.iter().find(|c| c.id == "workers").expect("workers");
    assert!(
        workers.message.starts_with("3 schedulable workers"),
        "{}",
        workers.message
    );
    assert_eq!(get("zones"), Some(Outcome::Pass));
    assert_eq!(get("catalog"), Some(Outcome::Fail));
    assert_eq!(get("apis"), Some(Outcome::Pass));

    // An unreachable API server is one failing check, not an error.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url: http::Uri = format!("http://{}", closed.local_addr().expect("addr"))
        .parse()
        .expect("uri");
    drop(closed);
    let gone = KubeApi::new(kube::Client::try_from(kube::Config::new(url)).expect("client"));
    let snap = datalyptica_cluster::ops::snapshot(&gone, &req).await;
    assert!(snap.api_error.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_deploy_requires_its_dependencies_healthy() {
    let (sim, _) = server(Behaviour {
        delay: 1,
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    provide_user_secrets(&sim, &plan(), &[]);
    let sel = plan::Selection {
        phase: None,
        component: Some("nessie".into()),
    };
    let nessie = plan().select(&sel).expect("select");
    let (ok, events) = run(&api, &nessie, &opts()).await;
    assert!(!ok);
    let detail = events.iter().find_map(|e| match e {
        Event::GateFailed { step, detail, .. } if step == "requires.postgresql" => {
            Some(detail.clone())
        }
        _ => None,
    });
    assert!(
        detail
            .expect("postgresql required")
            .contains("deploy postgresql (phase 1) first")
    );
    assert!(!steps(&events).iter().any(|(s, _)| s == "component.nessie"));

    // After the full platform is up, the same partial deploy passes without changing anything.
    let (ok, _) = run(&api, &plan(), &opts()).await;
    assert!(ok);
    let (ok, events) = run(&api, &nessie, &opts()).await;
    assert!(ok, "{:?}", events.last());
    assert!(matches!(
        events.last(),
        Some(Event::Finished { changed: 0, .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn field_manager_conflicts_need_force() {
    use datalyptica_cluster::api::ApiError;
    use datalyptica_cluster::deploy::DeployError;
    let (sim, _) = server(Behaviour::default()).await;
    let api = KubeApi::new(sim.client());
    let prereqs_only = |mut p: Plan| {
        p.stages.clear();
        p.operators.clear();
        p.operator_objects.clear();
        p
    };
    let plan = prereqs_only(plan());
    let (ok, _) = run(&api, &plan, &opts()).await;
    assert!(ok);
    // Someone else's field manager now owns a namespace's fields.
    let key = sim::State::key(
        sim::res_of_kind("v1", "Namespace").expect("ns"),
        "",
        "datalyptica-core",
    );
    sim.with(|s| {
        s.foreign.insert(key.clone());
        if let Some(o) = s.objects.get_mut(&key) {
            o["metadata"]["labels"]["team"] = serde_json::json!("other");
        }
    });
    let events = Mutex::new(Vec::new());
    let r = deploy(&api, &plan, &opts(), &|e: &Event| {
        events.lock().expect("lock").push(e.clone())
    })
    .await;
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
    let (ok, _) = run(&api, &plan, &forced).await;
    assert!(ok, "--force-conflicts takes ownership");
}

/// With `secrets.mode: external-secrets` deploy never invents a platform Secret: it waits for
/// the one the ExternalSecret is to create, and stops with a diagnosis when it does not come.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_secrets_mode_waits_instead_of_generating() {
    let (sim, _) = server(Behaviour {
        delay: 1,
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    let mut p = Platform::default_ha();
    p.spec.secrets.mode = datalyptica_platform::spec::SecretsMode::ExternalSecrets;
    p.spec.secrets.store_ref = Some(datalyptica_platform::spec::SecretStoreRef {
        name: "vault".into(),
        kind: None,
    });
    assert!(datalyptica_platform::validate::validate(&p).is_empty());
    let m = Model::new(&p);
    let plan = plan::build(&m, &render(&p)).expect("plan");
    assert!(!plan.secrets_generated);
    let o = DeployOptions {
        timeout: Some(Duration::from_secs(2)),
        ..opts()
    };
    let (ok, events) = run(&api, &plan, &o).await;
    assert!(
        !ok,
        "no Secret can appear without the external-secrets operator"
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::Secret { action, .. } if action == "generated")),
        "nothing generated: {events:?}"
    );
    let detail = events.iter().find_map(|e| match e {
        Event::GateFailed { detail, .. } => Some(detail.clone()),
        _ => None,
    });
    assert!(
        detail
            .as_deref()
            .is_some_and(|d| d.contains("secrets.mode is not `generated`")),
        "{detail:?} {:?}",
        &events[events.len().saturating_sub(3)..]
    );
}

/// Secrets only the user has (the MinIO DR site's keys, the DAG repository's credentials) are
/// never invented: a dry run says so, a deploy stops at the first component that reads one,
/// naming it and what it is for, and proceeds once the user has created it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_secrets_are_never_generated_and_stop_the_deploy_until_created() {
    use datalyptica_platform::spec::ReplicationTarget;
    let (sim, _) = server(Behaviour {
        delay: 1,
        ..Default::default()
    })
    .await;
    let api = KubeApi::new(sim.client());
    let mut p = Platform::default_ha();
    p.spec.backup.minio.replication_target = Some(ReplicationTarget {
        endpoint: "https://s3.dr.example.com:9000".into(),
        credentials_secret: "minio-dr-keys".into(),
    });
    p.spec.components.airflow.config.dags_repo = Some("https://git.example.com/dags.git".into());
    p.spec.components.airflow.config.dags_repo_secret = Some("dags-git".into());
    assert!(datalyptica_platform::validate::validate(&p).is_empty());
    let m = Model::new(&p);
    let plan = plan::build(&m, &render(&p)).expect("plan");
    provide_user_secrets(&sim, &plan, &["minio-dr-keys", "dags-git"]);
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
    let failed_on = |events: &[Event]| {
        events.iter().find_map(|e| match e {
            Event::GateFailed {
                step, gate, detail, ..
            } => Some((step.clone(), gate.clone(), detail.clone())),
            _ => None,
        })
    };

    // A dry run reports both as the user's to provide, and does not fail on them.
    let dry = DeployOptions {
        dry_run: true,
        ..opts()
    };
    let (ok, events) = run(&api, &plan, &dry).await;
    assert!(ok, "{:?}", events.last());
    let secret_events: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e, Event::Secret { .. }))
        .collect();
    for name in ["minio-dr-keys", "dags-git"] {
        assert!(
            secret_events
                .iter()
                .any(|e| matches!(e, Event::Secret { name: n, action, .. }
                if n == name && action.starts_with("must be provided by you: "))),
            "{name}: {secret_events:?}"
        );
        assert!(!generated(&events, name), "{name}");
    }

    // The first component reading one stops the deploy, naming the Secret and its purpose.
    let (ok, events) = run(&api, &plan, &opts()).await;
    assert!(!ok);
    let (step, gate, detail) = failed_on(&events).expect("a step failed");
    assert_eq!(step, "component.minio");
    assert_eq!(gate, format!("Secret {dr_ns}/minio-dr-keys"));
    assert!(
        detail.contains(&format!(
            "Secret {dr_ns}/minio-dr-keys must be provided by you: S3 keys of the replication target"
        )),
        "{detail}"
    );
    assert!(!generated(&events, "minio-dr-keys"));
    assert!(
        sim.with(|s| s.get("v1", "Secret", &dr_ns, "minio-dr-keys").is_none()),
        "nothing invented"
    );

    // The user creates it; the deploy goes on to the next one.
    let user_secret = |ns: &str, name: &str, data: serde_json::Value| {
        serde_json::json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": ns}, "data": data})
    };
    let dr_data = serde_json::json!({"AWS_ACCESS_KEY_ID": "ZHI=", "AWS_SECRET_ACCESS_KEY": "ZHI="});
    sim.with(|s| s.put(user_secret(&dr_ns, "minio-dr-keys", dr_data.clone())));
    let (ok, events) = run(&api, &plan, &opts()).await;
    assert!(!ok);
    let (step, gate, detail) = failed_on(&events).expect("a step failed");
    assert_eq!(step, "component.airflow");
    assert_eq!(gate, format!("Secret {git_ns}/dags-git"));
    assert!(
        detail.contains("must be provided by you: credentials of the DAG repository"),
        "{detail}"
    );
    assert!(!generated(&events, "dags-git"));

    // Both exist: the deploy finishes and leaves the user's values as they are.
    let git_data = serde_json::json!({"username": "dQ==", "password": "cA=="});
    sim.with(|s| s.put(user_secret(&git_ns, "dags-git", git_data.clone())));
    let (ok, events) = run(&api, &plan, &opts()).await;
    assert!(ok, "{:?}", events.last());
    let (dr, git) = sim.with(|s| {
        (
            s.get("v1", "Secret", &dr_ns, "minio-dr-keys").cloned(),
            s.get("v1", "Secret", &git_ns, "dags-git").cloned(),
        )
    });
    assert_eq!(dr.expect("dr")["data"], dr_data);
    assert_eq!(git.expect("git")["data"], git_data);
}
