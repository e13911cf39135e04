//! The Argo CD health checks `render --gitops argocd` writes, run by Argo CD's own Lua runtime
//! (gopher-lua with Argo CD's libraries: `.ci/install-go-runner.sh argocd-lua`, `$DATALYPTICA_ARGOCD_LUA`),
//! and the Flux `healthCheckExprs` of `render --gitops flux`, run by cel-go in kustomize-
//! controller's environment (`.ci/install-go-runner.sh flux-cel`, `$DATALYPTICA_FLUX_CEL`), against status
//! objects shaped as the operators write them, and compared with the deploy gate of the same
//! object: Ready ⇔ Healthy / Current, Waiting ⇔ Progressing / InProgress, Failed ⇔ Degraded /
//! Failed.
//!
//! Status shapes, from the operators' own types:
//! - PGO `PostgresClusterStatus` (pkg/apis/postgres-operator.crunchydata.com/v1beta1):
//!   `instances[] {name, readyReplicas, replicas, updatedReplicas}`, `patroni.systemIdentifier`,
//!   `observedGeneration`, `conditions`.
//! - MinIO `TenantStatus` (pkg/apis/minio.min.io/v2/types.go, pkg/controller/main-controller.go):
//!   `currentState` ("Initialized", "Waiting for Tenant to be healthy", "Tenant credentials are
//!   not set properly"), `healthStatus` green/yellow/red, `availableReplicas`.
//! - Strimzi (operator-common StatusUtils): `conditions[]` `Ready`/`NotReady` `True` with the
//!   exception's reason, `observedGeneration`, `kafkaMetadataState`.
//! - Flink operator `FlinkDeploymentStatus`: `jobManagerDeploymentStatus` READY, DEPLOYING,
//!   DEPLOYED_NOT_READY, MISSING, ERROR; `error`.
//! - Altinity `Status` (type_status.go): `status` InProgress, Completed, Aborted, Terminating.
//! - OT redis-operator `RedisReplicationStatus`: `masterNode`; `RedisSentinelStatus` is empty.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use datalyptica_cluster::gates::{self, GateState};
use datalyptica_platform::component::{Gate, GateKind};
use datalyptica_platform::gitops::health::{self, APPLICATION_LUA};
use serde_json::{Value, json};

/// Some(the tool named by `var`) or None after announcing the skip; panics in CI.
fn tool(var: &str, runner: &str) -> Option<String> {
    if let Ok(bin) = std::env::var(var)
        && std::path::Path::new(&bin).is_file()
    {
        return Some(bin);
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!(
            "${var} is missing in CI (eval \"$(bash .ci/install-go-runner.sh {runner} {var})\")"
        );
    }
    let _ = writeln!(
        std::io::stderr(),
        "\n**************************************************************************\n\
         SKIPPED: ${var} not set (eval \"$(bash .ci/install-go-runner.sh {runner} {var})\")\n\
         **************************************************************************"
    );
    None
}

fn runner() -> Option<String> {
    tool("DATALYPTICA_ARGOCD_LUA", "argocd-lua")
}

/// (status, message) of each (script, object), run in one process.
fn run(bin: &str, jobs: &[(&str, &Value)]) -> Vec<(String, String)> {
    let input: Vec<Value> = jobs
        .iter()
        .map(|(s, o)| json!({"script": s, "obj": o}))
        .collect();
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the Lua runner");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(input).to_string().as_bytes())
        .expect("write jobs");
    let out = child.wait_with_output().expect("runner output");
    assert!(out.status.success(), "runner failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("runner JSON");
    results
        .iter()
        .zip(jobs)
        .map(|(r, (_, o))| {
            assert!(
                r["error"].is_null(),
                "Lua error on {o}: {}",
                r["error"].as_str().unwrap_or_default()
            );
            (
                r["status"].as_str().unwrap_or_default().to_string(),
                r["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn gate(kind: &str) -> Gate {
    let kind = GateKind::parse(kind).unwrap_or_else(|| panic!("{kind} is not a gate kind"));
    let mut g = Gate::new(kind, "ns", "x");
    g.timeout = Duration::from_secs(1);
    g
}

fn expected(g: &GateState) -> &'static str {
    match g {
        GateState::Ready(_) => "Healthy",
        GateState::Waiting(_) => "Progressing",
        GateState::Failed(_) => "Degraded",
    }
}

fn pod(name: &str, role: &str) -> Value {
    json!({"metadata": {"name": name, "labels": {"postgres-operator.crunchydata.com/role": role}},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
}

/// (kind, case, object, pods the gate sees, the state both must agree on).
fn cases() -> Vec<(&'static str, &'static str, Value, Vec<Value>, &'static str)> {
    let pg_spec = json!({"instances": [{"name": "pgha1", "replicas": 3}]});
    let leader = vec![
        pod("pg-0", "master"),
        pod("pg-1", "replica"),
        pod("pg-2", "replica"),
    ];
    let cond = |t: &str, s: &str, reason: &str, msg: &str| json!({"type": t, "status": s, "reason": reason, "message": msg, "lastTransitionTime": "2026-12-04T10:00:00Z"});
    vec![
        (
            "PostgresCluster",
            "healthy",
            json!({"metadata": {"generation": 1}, "spec": pg_spec,
            "status": {"instances": [{"name": "pgha1", "readyReplicas": 3, "replicas": 3, "updatedReplicas": 3}],
                       "patroni": {"systemIdentifier": "7412345678901234567"}, "observedGeneration": 1,
                       "postgresVersion": 17, "conditions": [cond("ProxyAvailable", "True", "ServiceAvailable", "")]}}),
            leader.clone(),
            "Healthy",
        ),
        (
            "PostgresCluster",
            "progressing",
            json!({"spec": pg_spec,
            "status": {"instances": [{"name": "pgha1", "readyReplicas": 2, "replicas": 3, "updatedReplicas": 3}],
                       "patroni": {"systemIdentifier": "7412345678901234567"}}}),
            leader.clone(),
            "Progressing",
        ),
        (
            "PostgresCluster",
            "first start (no status yet)",
            json!({"spec": pg_spec}),
            vec![],
            "Progressing",
        ),
        // PGO reports no terminal failure; a lost instance is waited for, as deploy does.
        (
            "PostgresCluster",
            "degraded: a member down",
            json!({"spec": pg_spec,
            "status": {"instances": [{"name": "pgha1", "readyReplicas": 1, "replicas": 3, "updatedReplicas": 3}],
                       "patroni": {"systemIdentifier": "7412345678901234567"}}}),
            vec![pod("pg-0", "master")],
            "Progressing",
        ),
        (
            "Tenant",
            "healthy",
            json!({"status": {"currentState": "Initialized", "healthStatus": "green",
            "availableReplicas": 4, "pools": [{"ssName": "minio-pool-0", "state": "PoolInitialized"}]}}),
            vec![],
            "Healthy",
        ),
        (
            "Tenant",
            "progressing",
            json!({"status": {"currentState": "Waiting for Tenant to be healthy", "healthStatus": "yellow"}}),
            vec![],
            "Progressing",
        ),
        (
            "Tenant",
            "progressing: decreased resilience",
            json!({"status": {"currentState": "Initialized", "healthStatus": "yellow"}}),
            vec![],
            "Progressing",
        ),
        (
            "Tenant",
            "degraded: drives offline",
            json!({"status": {"currentState": "Initialized", "healthStatus": "red"}}),
            vec![],
            "Progressing",
        ),
        (
            "Tenant",
            "degraded: credentials",
            json!({"status": {"currentState": "Tenant credentials are not set properly"}}),
            vec![],
            "Progressing",
        ),
        (
            "Kafka",
            "healthy",
            json!({"metadata": {"generation": 3}, "status": {"observedGeneration": 3,
            "conditions": [cond("Ready", "True", "", "")], "kafkaMetadataState": "KRaft", "clusterId": "abc"}}),
            vec![],
            "Healthy",
        ),
        (
            "Kafka",
            "progressing: stale generation",
            json!({"metadata": {"generation": 4}, "status": {"observedGeneration": 3,
            "conditions": [cond("Ready", "True", "", "")]}}),
            vec![],
            "Progressing",
        ),
        (
            "Kafka",
            "degraded: reconcile failed",
            json!({"metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "conditions": [cond("NotReady", "True", "TimeoutException", "Exceeded timeout of 300000ms while waiting for Pods resource kafka-broker-0 to be ready")]}}),
            vec![],
            "Progressing",
        ),
        (
            "FlinkDeployment",
            "healthy",
            json!({"status": {"jobManagerDeploymentStatus": "READY", "lifecycleState": "STABLE"}}),
            vec![],
            "Healthy",
        ),
        (
            "FlinkDeployment",
            "progressing",
            json!({"status": {"jobManagerDeploymentStatus": "DEPLOYED_NOT_READY"}}),
            vec![],
            "Progressing",
        ),
        (
            "FlinkDeployment",
            "degraded",
            json!({"status": {"jobManagerDeploymentStatus": "ERROR",
            "error": "{\"type\":\"org.apache.flink.kubernetes.operator.exception.ReconciliationException\",\"message\":\"bad config\"}"}}),
            vec![],
            "Degraded",
        ),
        (
            "ClickHouseInstallation",
            "healthy",
            json!({"status": {"status": "Completed", "hostsCount": 6}}),
            vec![],
            "Healthy",
        ),
        (
            "ClickHouseInstallation",
            "progressing",
            json!({"status": {"status": "InProgress"}}),
            vec![],
            "Progressing",
        ),
        (
            "ClickHouseInstallation",
            "degraded",
            json!({"status": {"status": "Aborted"}}),
            vec![],
            "Degraded",
        ),
        (
            "ClickHouseKeeperInstallation",
            "healthy",
            json!({"status": {"status": "Completed"}}),
            vec![],
            "Healthy",
        ),
        (
            "ClickHouseKeeperInstallation",
            "progressing",
            json!({"status": {"status": "Terminating"}}),
            vec![],
            "Progressing",
        ),
        (
            "ClickHouseKeeperInstallation",
            "degraded",
            json!({"status": {"status": "Aborted"}}),
            vec![],
            "Degraded",
        ),
    ]
}

#[test]
fn lua_health_checks_agree_with_the_deploy_gates() {
    let Some(bin) = runner() else {
        return;
    };
    let cases = cases();
    let scripts: Vec<&'static str> = cases
        .iter()
        .map(|(kind, ..)| {
            health::kinds()
                .into_iter()
                .find(|k| k.kind() == *kind)
                .map(|k| k.lua)
                .unwrap_or_else(|| panic!("no health check for {kind}"))
        })
        .collect();
    let jobs: Vec<(&str, &Value)> = scripts
        .iter()
        .zip(&cases)
        .map(|(s, (_, _, o, _, _))| (*s, o))
        .collect();
    let got = run(&bin, &jobs);
    let mut states = std::collections::BTreeSet::new();
    for ((kind, case, obj, pods, want), (status, message)) in cases.iter().zip(&got) {
        let g = gates::evaluate(&gate(kind), Some(obj), pods);
        assert_eq!(
            expected(&g),
            *want,
            "{kind} {case}: the fixture's expectation disagrees with the gate ({g:?})"
        );
        assert_eq!(
            status, want,
            "{kind} {case}: Lua says {status} ({message}), the gate {g:?}"
        );
        assert!(!message.is_empty(), "{kind} {case}: no message");
        states.insert((*kind, status.clone()));
    }
    for k in ["PostgresCluster", "Tenant", "Kafka"] {
        assert!(
            states.contains(&(k, "Healthy".into())) && states.contains(&(k, "Progressing".into()))
        );
    }
    for k in [
        "FlinkDeployment",
        "ClickHouseInstallation",
        "ClickHouseKeeperInstallation",
    ] {
        for s in ["Healthy", "Progressing", "Degraded"] {
            assert!(states.contains(&(k, s.into())), "{k} {s} not exercised");
        }
    }
}

#[test]
fn redis_replication_and_application_checks() {
    let Some(bin) = runner() else {
        return;
    };
    let rr = health::kinds()
        .into_iter()
        .find(|k| k.kind() == "RedisReplication")
        .expect("redis check")
        .lua;
    let master = json!({"status": {"masterNode": "redis-0", "connectionInfo": {"host": "redis-0.redis-headless", "port": 6379}}});
    let none = json!({"spec": {"clusterSize": 3}});
    let app = |health: &str, sync: &str| json!({"status": {"health": {"status": health}, "sync": {"status": sync}}});
    let (h, p, d, o) = (
        app("Healthy", "Synced"),
        app("Progressing", "Synced"),
        app("Degraded", "Synced"),
        app("Healthy", "OutOfSync"),
    );
    let empty = json!({});
    let got = run(
        &bin,
        &[
            (rr, &master),
            (rr, &none),
            (APPLICATION_LUA, &h),
            (APPLICATION_LUA, &p),
            (APPLICATION_LUA, &d),
            (APPLICATION_LUA, &o),
            (APPLICATION_LUA, &empty),
        ],
    );
    let statuses: Vec<&str> = got.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        statuses,
        [
            "Healthy",
            "Progressing",
            "Healthy",
            "Progressing",
            "Degraded",
            "Progressing",
            "Progressing"
        ]
    );
    assert_eq!(got[0].1, "master redis-0");
}

/// The Flux status of each job ({current, failed, obj}): Ok(status) or Err(evaluation error).
fn run_cel(bin: &str, jobs: &[Value]) -> Vec<Result<String, String>> {
    let mut child = Command::new(bin)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the CEL runner");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(Value::Array(jobs.to_vec()).to_string().as_bytes())
        .expect("write jobs");
    let out = child.wait_with_output().expect("runner output");
    assert!(out.status.success(), "runner failed");
    let results: Vec<Value> = serde_json::from_slice(&out.stdout).expect("runner JSON");
    results
        .iter()
        .map(|r| match r["error"].as_str() {
            Some(e) => Err(e.to_string()),
            None => Ok(r["status"].as_str().unwrap_or_default().to_string()),
        })
        .collect()
}

#[test]
fn flux_health_expressions_agree_with_the_deploy_gates() {
    let Some(bin) = tool("DATALYPTICA_FLUX_CEL", "flux-cel") else {
        return;
    };
    let cases = cases();
    let jobs: Vec<Value> = cases
        .iter()
        .map(|(kind, _, o, _, _)| {
            let k = health::kinds()
                .into_iter()
                .find(|k| k.kind() == *kind)
                .unwrap_or_else(|| panic!("no rule for {kind}"));
            json!({"current": k.cel_current, "failed": k.cel_failed.unwrap_or(""), "obj": o})
        })
        .collect();
    let got = run_cel(&bin, &jobs);
    for ((kind, case, obj, pods, want), r) in cases.iter().zip(&got) {
        let g = gates::evaluate(&gate(kind), Some(obj), pods);
        assert_eq!(
            expected(&g),
            *want,
            "{kind} {case}: fixture vs gate ({g:?})"
        );
        if obj.get("status").is_none() {
            // Before the operator writes any status the top-level `status` is absent and CEL
            // cannot guard it: evaluation fails, which kstatus reports as Unknown, and Flux
            // keeps waiting, as deploy does.
            assert!(
                r.as_ref().is_err_and(|e| e.contains("no such attribute")),
                "{kind} {case}: {r:?}"
            );
            continue;
        }
        let flux = match *want {
            "Healthy" => "Current",
            "Degraded" => "Failed",
            _ => "InProgress",
        };
        assert_eq!(r.as_deref(), Ok(flux), "{kind} {case}: the gate says {g:?}");
    }
    // RedisReplication, and the prerequisites' Subscriptions against gates::subscription_csv.
    let rr = health::kinds()
        .into_iter()
        .find(|k| k.kind() == "RedisReplication")
        .expect("redis rule");
    let installed = json!({"spec": {"name": "postgresql"}, "status": {"installedCSV": "postgresoperator.v5.8.2", "currentCSV": "postgresoperator.v5.8.2", "state": "AtLatestKnown",
        "conditions": [{"type": "CatalogSourcesUnhealthy", "status": "False", "reason": "AllCatalogSourcesHealthy"}]}});
    let pending = json!({"spec": {"name": "postgresql"}, "status": {"state": "UpgradePending", "currentCSV": "postgresoperator.v5.8.2",
        "installPlanRef": {"name": "install-abcde", "namespace": "datalyptica-operators"}}});
    let sub = datalyptica_platform::gitops::flux::SUBSCRIPTION_CURRENT;
    let got = run_cel(
        &bin,
        &[
            json!({"current": rr.cel_current, "obj": {"status": {"masterNode": "redis-0"}}}),
            json!({"current": rr.cel_current, "obj": {"status": {"masterNode": ""}}}),
            json!({"current": sub, "obj": installed}),
            json!({"current": sub, "obj": pending}),
        ],
    );
    assert_eq!(
        got,
        [
            Ok("Current".to_string()),
            Ok("InProgress".to_string()),
            Ok("Current".to_string()),
            Ok("InProgress".to_string())
        ]
    );
    assert!(gates::subscription_csv(&installed).is_ok());
    assert!(gates::subscription_csv(&pending).is_err());
}
