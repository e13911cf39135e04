//! Deep checks: the parsers on recorded outputs (`tests/fixtures/deep/`) and the assembly of
//! `status --deep` with a fake exec returning those outputs.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use datalyptica_cluster::api::{ApiError, ApplyOptions, ClusterApi, TypeRef};
use datalyptica_cluster::deep::{
    self, DeepCheck, ExecError, PodExec, PodRef, Probe, Verdict, parse_broker_api_versions,
    parse_etcd_status, parse_mc_admin_info, parse_patronictl, parse_sentinel_masters,
};
use datalyptica_cluster::status::{self, StatusRow};
use datalyptica_platform::Platform;
use datalyptica_platform::model::Model;
use serde_json::{Value, json};

fn fixture(name: &str) -> String {
    let p = format!("{}/tests/fixtures/deep/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

#[test]
fn patronictl_healthy_cluster() {
    let p = parse_patronictl(&fixture("patronictl-healthy.txt")).expect("parse");
    assert_eq!(p.cluster.as_deref(), Some("postgresql-ha"));
    assert_eq!(p.members.len(), 3);
    assert_eq!(
        p.leader().map(|l| l.name.as_str()),
        Some("postgresql-pgha1-4x8k-0")
    );
    assert_eq!(p.leader().and_then(|l| l.timeline), Some(3));
    let sync: Vec<_> = p.sync_standbys().map(|m| m.name.as_str()).collect();
    assert_eq!(sync, ["postgresql-pgha1-9wzt-0"]);
    let lags: Vec<_> = p.replicas().map(|m| m.lag_mb).collect();
    assert_eq!(lags, [Some(0.0), Some(1.5)]);
    let d = deep::judge(
        Probe::Patroni,
        "postgresql-pgha1-4x8k-0",
        &fixture("patronictl-healthy.txt"),
        3,
    );
    assert_eq!(d.verdict, Verdict::Ok, "{d:?}");
    assert_eq!(
        d.roles,
        "leader postgresql-pgha1-4x8k-0; sync postgresql-pgha1-9wzt-0 lag 0 MB; replicas postgresql-pgha1-qj2m-0 lag 1.5 MB"
    );
}

#[test]
fn patronictl_failover_in_progress_has_no_leader() {
    let out = fixture("patronictl-failover.txt");
    let p = parse_patronictl(&out).expect("parse");
    assert!(p.leader().is_none());
    assert_eq!(p.members[0].timeline, None);
    assert_eq!(p.members[0].lag_mb, None, "`unknown` lag");
    assert_eq!(p.members[2].lag_mb, Some(16.0));
    let d = deep::judge(Probe::Patroni, "x", &out, 3);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert!(d.summary.contains("no running leader"), "{}", d.summary);
    assert!(d.roles.starts_with("leader none;"), "{}", d.roles);
}

#[test]
fn patronictl_v4_replay_lag_columns() {
    let p = parse_patronictl(&fixture("patronictl-v4.txt")).expect("parse");
    assert_eq!(
        p.members[2].lag_mb,
        Some(2.25),
        "replay lag is the one reported"
    );
    assert_eq!(p.members[1].host, "10.129.2.20");
}

#[test]
fn patronictl_malformed_outputs_are_errors() {
    for bad in [
        "",
        "Error: Can not find suitable configuration of distributed configuration store",
        "| Member | Host |\n| a | b |",
        "| Member | Role | State |\n| a | Leader |",
        "| Member | Role | State | TL |\n| a | Leader | running | x |",
        "| Member | Role | State |\n",
    ] {
        assert!(parse_patronictl(bad).is_err(), "{bad:?}");
        assert_eq!(
            deep::judge(Probe::Patroni, "p", bad, 3).verdict,
            Verdict::Error
        );
    }
}

#[test]
fn sentinel_masters_healthy_and_down() {
    let ok = parse_sentinel_masters(&fixture("sentinel-healthy.txt")).expect("parse");
    assert_eq!(ok.len(), 1);
    let m = &ok[0];
    assert_eq!(
        (
            m.name.as_str(),
            m.ip.as_str(),
            m.port,
            m.num_slaves,
            m.num_other_sentinels,
            m.quorum
        ),
        ("mymaster", "10.130.0.41", 6379, 2, 2, Some(2))
    );
    assert_eq!(m.flags, ["master"]);
    assert!(!m.down());
    let d = deep::judge(
        Probe::Sentinel,
        "redis-sentinel-sentinel-0",
        &fixture("sentinel-healthy.txt"),
        3,
    );
    assert_eq!(d.verdict, Verdict::Ok);
    assert_eq!(
        d.roles,
        "master mymaster 10.130.0.41:6379, 2 replicas, 2 other sentinels"
    );

    let od = parse_sentinel_masters(&fixture("sentinel-odown.txt")).expect("parse");
    assert_eq!(od[0].flags, ["master", "s_down", "o_down"]);
    assert!(od[0].down());
    let d = deep::judge(Probe::Sentinel, "s", &fixture("sentinel-odown.txt"), 3);
    assert_eq!(d.verdict, Verdict::Degraded);
    assert!(d.summary.contains("o_down"), "{}", d.summary);

    // s_down seen by a Sentinel alone (no other Sentinel): down, and below quorum.
    let sd = parse_sentinel_masters(&fixture("sentinel-sdown.txt")).expect("parse");
    assert!(sd[0].down());
    assert_eq!(sd[0].num_other_sentinels, 0);
    assert_eq!(
        deep::judge(Probe::Sentinel, "s", &fixture("sentinel-sdown.txt"), 3).verdict,
        Verdict::Degraded
    );

    // Two masters one after the other.
    let two = format!(
        "{}{}",
        fixture("sentinel-healthy.txt"),
        fixture("sentinel-healthy.txt").replace("mymaster", "other")
    );
    let ms = parse_sentinel_masters(&two).expect("two");
    assert_eq!(
        ms.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["mymaster", "other"]
    );
    // Empty: no master monitored, which is a finding, not a parse error.
    assert_eq!(parse_sentinel_masters("").expect("empty"), []);
    assert_eq!(
        deep::judge(Probe::Sentinel, "s", "", 3).verdict,
        Verdict::Degraded
    );
}

#[test]
fn sentinel_malformed_outputs_are_errors() {
    for bad in [
        "name\nmymaster\nip",
        "ip\n10.0.0.1\nname\nx",
        "name\nx\nip\n1.2.3.4\nport\nnot-a-port\nflags\nmaster\nnum-slaves\n1\nnum-other-sentinels\n1",
        "name\nx\nip\n1.2.3.4\nport\n6379",
        "(error) ERR unknown command 'SENTINEL'",
    ] {
        assert!(parse_sentinel_masters(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn etcd_endpoint_status() {
    let s = parse_etcd_status(&fixture("etcd-status.json")).expect("parse");
    assert_eq!(s.endpoints.len(), 3);
    let l = s.leader().expect("leader");
    assert!(l.endpoint.contains("etcd-0."), "{}", l.endpoint);
    assert_eq!(l.member_id, 10276657743932975437, "u64 ids above i64::MAX");
    assert_eq!(s.endpoints[2].raft_index, 5820);
    let d = deep::judge(Probe::Etcd, "etcd-0", &fixture("etcd-status.json"), 3);
    assert_eq!(d.verdict, Verdict::Ok, "{d:?}");
    assert_eq!(
        d.roles,
        format!("leader etcd-0 ({:x})", 10276657743932975437u64)
    );
    assert!(
        d.summary.contains("raft index 5821 (spread 1)"),
        "{}",
        d.summary
    );
    assert_eq!(
        deep::judge(Probe::Etcd, "etcd-0", &fixture("etcd-status.json"), 5).verdict,
        Verdict::Degraded
    );

    // Members disagreeing on the leader (an election in progress).
    let split = fixture("etcd-status.json").replacen(
        "\"leader\":10276657743932975437",
        "\"leader\":9372538179322589801",
        1,
    );
    assert!(parse_etcd_status(&split).expect("parse").leader().is_none());
    assert_eq!(
        deep::judge(Probe::Etcd, "etcd-0", &split, 3).verdict,
        Verdict::Degraded
    );

    for bad in [
        "",
        "[]",
        "{}",
        "[{\"Endpoint\":\"x\"}]",
        "Error: context deadline exceeded",
    ] {
        assert!(parse_etcd_status(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn mc_admin_info() {
    let i = parse_mc_admin_info(&fixture("mc-admin-info.json")).expect("parse");
    assert_eq!(
        (
            i.servers_online,
            i.servers_offline,
            i.drives_ok,
            i.drives_total
        ),
        (4, 0, 16, 16)
    );
    assert_eq!(
        deep::judge(Probe::Minio, "m", &fixture("mc-admin-info.json"), 4).verdict,
        Verdict::Ok
    );
    let d = parse_mc_admin_info(&fixture("mc-admin-info-degraded.json")).expect("parse");
    assert_eq!(
        (
            d.servers_online,
            d.servers_offline,
            d.drives_ok,
            d.drives_total
        ),
        (3, 1, 12, 16)
    );
    let j = deep::judge(
        Probe::Minio,
        "m",
        &fixture("mc-admin-info-degraded.json"),
        4,
    );
    assert_eq!(j.verdict, Verdict::Degraded);
    assert_eq!(j.summary, "3/4 servers online, 12/16 drives ok");
    for bad in [
        "",
        "mc: <ERROR> Unable to get service status",
        "{\"status\":\"error\"}",
        "{\"status\":\"success\",\"info\":{}}",
    ] {
        assert!(parse_mc_admin_info(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn broker_api_versions() {
    assert_eq!(
        parse_broker_api_versions(&fixture("broker-api-versions.txt")).expect("parse"),
        [0, 1, 2]
    );
    assert!(parse_broker_api_versions("").is_err());
    assert!(parse_broker_api_versions("h:9093 (id: x rack: a) -> (").is_err());
}

#[test]
fn last_backup_from_pgbackrest_and_cronjobs() {
    let pg = json!({"status": {"pgbackrest": {"scheduledBackups": [
        {"cronJobName": "postgresql-repo1-full", "type": "full", "startTime": "2026-11-22T01:00:00Z", "completionTime": "2026-11-22T01:04:10Z", "succeeded": 1},
        {"cronJobName": "postgresql-repo1-diff", "type": "diff", "startTime": "2026-11-27T01:00:00Z", "completionTime": "2026-11-27T01:01:02Z", "succeeded": 1},
        {"cronJobName": "postgresql-repo1-incr", "type": "incr", "startTime": "2026-11-27T13:00:00Z", "failed": 1},
        {"cronJobName": "postgresql-repo1-incr", "type": "incr", "startTime": "2026-11-27T14:00:00Z", "completionTime": "2026-11-27T14:05:00Z", "failed": 1}
    ]}}});
    assert_eq!(
        status::pg_last_backup(&pg).as_deref(),
        Some("2026-11-27T01:01:02Z (diff)")
    );
    assert_eq!(status::pg_last_backup(&json!({"status": {}})), None);
    let cj = json!({"metadata": {"name": "redis-backup"}, "status": {"lastSuccessfulTime": "2026-11-27T03:00:41Z"}});
    assert_eq!(
        status::cronjob_last_backup(&cj),
        "2026-11-27T03:00:41Z (cronjob redis-backup)"
    );
    assert_eq!(
        status::cronjob_last_backup(&json!({"metadata": {"name": "etcd-backup"}})),
        "never (cronjob etcd-backup)"
    );
}

// ---------------------------------------------------------------- assembly with fakes

/// Pods only; everything else is absent.
struct FakeApi {
    pods: Vec<Value>,
}

impl ClusterApi for FakeApi {
    async fn version(&self) -> Result<Value, ApiError> {
        Ok(json!({}))
    }
    async fn served(&self, _: &TypeRef) -> Result<bool, ApiError> {
        Ok(true)
    }
    async fn get(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Option<Value>, ApiError> {
        Ok(self
            .list(t, ns, None)
            .await?
            .into_iter()
            .find(|p| p["metadata"]["name"] == name))
    }
    async fn list(
        &self,
        t: &TypeRef,
        ns: Option<&str>,
        labels: Option<&str>,
    ) -> Result<Vec<Value>, ApiError> {
        if t.kind != "Pod" {
            return Ok(vec![]);
        }
        Ok(self
            .pods
            .iter()
            .filter(|p| ns.is_none_or(|n| p["metadata"]["namespace"] == n))
            .filter(|p| {
                labels.is_none_or(|l| {
                    l.split(',').all(|kv| {
                        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                        p["metadata"]["labels"][k] == v
                    })
                })
            })
            .cloned()
            .collect())
    }
    async fn apply(&self, o: &Value, _: ApplyOptions) -> Result<Value, ApiError> {
        Ok(o.clone())
    }
    async fn create(&self, o: &Value) -> Result<Value, ApiError> {
        Ok(o.clone())
    }
    async fn delete(&self, _: &TypeRef, _: Option<&str>, _: &str) -> Result<bool, ApiError> {
        Ok(false)
    }
    async fn logs(&self, _: &str, _: &str, _: &str, _: bool) -> Result<String, ApiError> {
        Ok(String::new())
    }
}

/// (pod, container, argv) of one exec.
type Call = (String, Option<String>, Vec<String>);

/// Answers by the command's first word; records every call.
struct FakeExec {
    outputs: BTreeMap<&'static str, Result<String, ExecError>>,
    calls: Mutex<Vec<Call>>,
}

impl PodExec for FakeExec {
    async fn exec(
        &self,
        _ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[String],
        _t: Duration,
    ) -> Result<String, ExecError> {
        self.calls.lock().expect("lock").push((
            pod.into(),
            container.map(str::to_string),
            argv.to_vec(),
        ));
        self.outputs
            .get(argv[0].as_str())
            .cloned()
            .unwrap_or_else(|| Err(ExecError::Unavailable("no such tool".into())))
    }
}

fn row(component: &str, object: &str, desired: i64) -> StatusRow {
    StatusRow {
        component: component.into(),
        phase: 1,
        object: object.into(),
        desired,
        ready: desired,
        state: "ready".into(),
        detail: String::new(),
        roles: "from labels".into(),
        last_backup: String::new(),
        deep: None,
        alerts: None,
    }
}

fn pod(ns: &str, name: &str, labels: Value, phase: &str) -> Value {
    json!({"metadata": {"name": name, "namespace": ns, "labels": labels}, "status": {"phase": phase}})
}

#[tokio::test]
async fn deep_status_assembles_roles_and_verdicts_from_the_checks() {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let checks: Vec<DeepCheck> = deep::checks(&m);
    let ns_of = |probe| {
        checks
            .iter()
            .find(|c| c.probe == probe)
            .map(|c| c.target.namespace.clone())
            .expect("check")
    };
    let name_of = |probe| match &checks
        .iter()
        .find(|c| c.probe == probe)
        .expect("check")
        .target
        .pod
    {
        PodRef::Name(n) => n.clone(),
        PodRef::Selector(s) => panic!("selector {s}"),
    };
    let pg_ns = ns_of(Probe::Patroni);
    let api = FakeApi {
        pods: vec![
            // The stopped old leader still carries the label; the running one is chosen.
            pod(
                &pg_ns,
                "postgresql-pgha1-old-0",
                json!({"postgres-operator.crunchydata.com/role": "master"}),
                "Pending",
            ),
            pod(
                &pg_ns,
                "postgresql-pgha1-4x8k-0",
                json!({"postgres-operator.crunchydata.com/role": "master"}),
                "Running",
            ),
            pod(
                &ns_of(Probe::Sentinel),
                &name_of(Probe::Sentinel),
                json!({}),
                "Running",
            ),
            pod(
                &ns_of(Probe::Etcd),
                &name_of(Probe::Etcd),
                json!({}),
                "Running",
            ),
            // No MinIO pod: reported, not an error.
        ],
    };
    let exec = FakeExec {
        outputs: BTreeMap::from([
            ("patronictl", Ok(fixture("patronictl-healthy.txt"))),
            ("redis-cli", Ok(fixture("sentinel-odown.txt"))),
            (
                "etcdctl",
                Err(ExecError::Unavailable(
                    "no rights to exec: pods/exec is forbidden".into(),
                )),
            ),
            ("mc", Ok(fixture("mc-admin-info.json"))),
        ]),
        calls: Mutex::new(vec![]),
    };
    let mut rows = vec![
        row("postgresql", "PostgresCluster/postgresql", 3),
        row("redis", "StatefulSet/redis", 3),
        row("redis", "StatefulSet/redis-sentinel", 3),
        row("etcd", "StatefulSet/etcd", 3),
        row("minio", "Tenant/minio", 4),
        row("kafka", "Kafka/kafka", 3),
    ];
    status::deep_status(&api, &exec, &checks, &mut rows, Duration::from_secs(1)).await;

    let d = |i: usize| rows[i].deep.clone().expect("deep");
    assert_eq!(d(0).verdict, Verdict::Ok);
    assert_eq!(d(0).pod, "postgresql-pgha1-4x8k-0");
    assert!(
        rows[0]
            .roles
            .starts_with("leader postgresql-pgha1-4x8k-0; sync"),
        "{}",
        rows[0].roles
    );
    assert_eq!(d(0).facts["members"][2]["lag_mb"], 1.5);
    assert_eq!(d(1).verdict, Verdict::Degraded, "o_down");
    assert!(
        rows[1]
            .roles
            .starts_with("master mymaster 10.130.0.41:6379")
    );
    assert!(rows[2].deep.is_none(), "one check, one row");
    assert_eq!(d(3).verdict, Verdict::Unavailable);
    assert!(d(3).summary.contains("forbidden"));
    assert_eq!(
        rows[3].roles, "from labels",
        "roles kept when the check did not run"
    );
    assert_eq!(d(4).verdict, Verdict::Unavailable);
    assert!(d(4).summary.contains("not found"), "{}", d(4).summary);
    assert!(rows[5].deep.is_none(), "Kafka: no exec check");

    let calls = exec.calls.lock().expect("lock").clone();
    assert_eq!(
        calls[0],
        (
            "postgresql-pgha1-4x8k-0".into(),
            Some("database".into()),
            vec!["patronictl".into(), "list".into()]
        )
    );
    assert_eq!(calls.len(), 3, "no exec into a missing pod");

    // Table and JSON carry the verdicts.
    let table = status::status_table(&rows);
    assert!(table.lines().next().is_some_and(|h| h.contains("DEEP")));
    assert!(
        table.contains("degraded: master mymaster flags master,s_down,o_down"),
        "{table}"
    );
    let j = serde_json::to_value(&rows).expect("json");
    assert_eq!(j[0]["deep"]["verdict"], "ok");
    assert_eq!(j[3]["deep"]["verdict"], "unavailable");
    assert!(j[5].get("deep").is_none());

    // Exit status: a degraded check fails the status; unavailable ones only with --strict.
    assert!(!status::status_ok(&rows, false));
    rows[1].deep = None;
    assert!(status::status_ok(&rows, false));
    assert!(!status::status_ok(&rows, true));
}
