//! Deep health checks: the seed's `oc exec` commands (`patronictl list`, `SENTINEL masters`,
//! `etcdctl endpoint status`, `mc admin info`) run through pod exec, and pure parsers of their
//! output. Parsers return typed facts or a [`ParseError`], never panic.

use std::time::Duration;

use datalyptica_platform::component::{Check, Exec, GateKind};
use datalyptica_platform::model::Model;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unexpected output: {0}")]
pub struct ParseError(pub String);

fn perr(s: impl Into<String>) -> ParseError {
    ParseError(s.into())
}

// ---------------------------------------------------------------- patronictl list

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatroniMember {
    pub name: String,
    pub host: String,
    pub role: String,
    pub state: String,
    pub timeline: Option<u64>,
    /// Replay lag in MB; `None` for the leader or when Patroni prints `unknown`.
    pub lag_mb: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Patroni {
    pub cluster: Option<String>,
    pub members: Vec<PatroniMember>,
}

impl Patroni {
    /// The running leader (`Leader` or `Standby Leader`), if exactly one.
    pub fn leader(&self) -> Option<&PatroniMember> {
        let mut l = self
            .members
            .iter()
            .filter(|m| m.role.ends_with("Leader") && m.state == "running");
        match (l.next(), l.next()) {
            (Some(x), None) => Some(x),
            _ => None,
        }
    }
    pub fn sync_standbys(&self) -> impl Iterator<Item = &PatroniMember> {
        self.members.iter().filter(|m| m.role == "Sync Standby")
    }
    pub fn replicas(&self) -> impl Iterator<Item = &PatroniMember> {
        self.members.iter().filter(|m| !m.role.ends_with("Leader"))
    }
}

fn cells(line: &str) -> Option<Vec<String>> {
    let t = line.trim();
    let inner = t.strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(|c| c.trim().to_string()).collect())
}

/// `patronictl list` (Patroni 2–4 table layouts: `Lag in MB`, or `Receive/Replay Lag in MB`).
pub fn parse_patronictl(out: &str) -> Result<Patroni, ParseError> {
    let cluster = out.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("+ Cluster:")?;
        Some(rest.split_whitespace().next()?.to_string())
    });
    let mut rows = out.lines().filter_map(cells);
    let header = rows
        .next()
        .ok_or_else(|| perr("patronictl list: no table"))?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (Some(m), Some(r), Some(s)) = (col("Member"), col("Role"), col("State")) else {
        return Err(perr(format!(
            "patronictl list: header without Member/Role/State: {header:?}"
        )));
    };
    let h = col("Host");
    let tl = col("TL");
    let lag = col("Lag in MB").or(col("Replay Lag in MB"));
    let mut members = Vec::new();
    for c in rows {
        if c.len() != header.len() {
            return Err(perr(format!(
                "patronictl list: row {c:?} does not fit the header"
            )));
        }
        let lag_mb = match lag.map(|i| c[i].as_str()) {
            None | Some("") | Some("unknown") => None,
            Some(x) => Some(
                x.parse::<f64>()
                    .map_err(|_| perr(format!("patronictl list: lag `{x}`")))?,
            ),
        };
        let timeline = match tl.map(|i| c[i].as_str()) {
            None | Some("") => None,
            Some(x) => Some(
                x.parse::<u64>()
                    .map_err(|_| perr(format!("patronictl list: timeline `{x}`")))?,
            ),
        };
        members.push(PatroniMember {
            name: c[m].clone(),
            host: h.map(|i| c[i].clone()).unwrap_or_default(),
            role: c[r].clone(),
            state: c[s].clone(),
            timeline,
            lag_mb,
        });
    }
    if members.is_empty() {
        return Err(perr("patronictl list: no member"));
    }
    Ok(Patroni { cluster, members })
}

// ---------------------------------------------------------------- SENTINEL masters

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentinelMaster {
    pub name: String,
    pub ip: String,
    pub port: u16,
    pub flags: Vec<String>,
    pub num_slaves: u32,
    pub num_other_sentinels: u32,
    pub quorum: Option<u32>,
}

impl SentinelMaster {
    /// Subjectively or objectively down, or failing over.
    pub fn down(&self) -> bool {
        self.flags
            .iter()
            .any(|f| matches!(f.as_str(), "s_down" | "o_down" | "disconnected"))
    }
    pub fn failing_over(&self) -> bool {
        self.flags.iter().any(|f| f.starts_with("failover"))
    }
}

/// `redis-cli -p 26379 SENTINEL masters` without a TTY: one key or value per line, masters one
/// after the other, each starting with `name`.
pub fn parse_sentinel_masters(out: &str) -> Result<Vec<SentinelMaster>, ParseError> {
    let lines: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    if !lines.len().is_multiple_of(2) {
        return Err(perr(
            "SENTINEL masters: odd number of lines (not key/value pairs)",
        ));
    }
    let mut groups: Vec<Vec<(&str, &str)>> = Vec::new();
    for kv in lines.chunks(2) {
        let (k, v) = (kv[0], kv[1]);
        if k == "name" {
            groups.push(Vec::new());
        }
        groups
            .last_mut()
            .ok_or_else(|| perr(format!("SENTINEL masters: `{k}` before `name`")))?
            .push((k, v));
    }
    groups
        .iter()
        .map(|g| {
            let get = |k: &str| g.iter().find(|(a, _)| *a == k).map(|(_, v)| *v);
            let need = |k: &str| get(k).ok_or_else(|| perr(format!("SENTINEL masters: no `{k}`")));
            let num = |k: &str| -> Result<u32, ParseError> {
                need(k)?
                    .parse()
                    .map_err(|_| perr(format!("SENTINEL masters: `{k}` is not a number")))
            };
            Ok(SentinelMaster {
                name: need("name")?.to_string(),
                ip: need("ip")?.to_string(),
                port: need("port")?
                    .parse()
                    .map_err(|_| perr("SENTINEL masters: `port` is not a port"))?,
                flags: need("flags")?.split(',').map(str::to_string).collect(),
                num_slaves: num("num-slaves")?,
                num_other_sentinels: num("num-other-sentinels")?,
                quorum: get("quorum").and_then(|q| q.parse().ok()),
            })
        })
        .collect()
}

// ---------------------------------------------------------------- etcdctl endpoint status

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EtcdEndpoint {
    pub endpoint: String,
    pub member_id: u64,
    pub leader: u64,
    pub raft_index: u64,
    pub raft_term: u64,
    pub db_size: u64,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EtcdStatus {
    pub endpoints: Vec<EtcdEndpoint>,
}

impl EtcdStatus {
    /// The endpoint every member names as leader, when they agree and it is one of them.
    pub fn leader(&self) -> Option<&EtcdEndpoint> {
        let first = self.endpoints.first()?.leader;
        if first == 0 || self.endpoints.iter().any(|e| e.leader != first) {
            return None;
        }
        self.endpoints.iter().find(|e| e.member_id == first)
    }
}

/// `etcdctl endpoint status --cluster -w json`.
pub fn parse_etcd_status(out: &str) -> Result<EtcdStatus, ParseError> {
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|e| perr(format!("etcdctl endpoint status: not JSON: {e}")))?;
    let arr = v
        .as_array()
        .ok_or_else(|| perr("etcdctl endpoint status: not a JSON array"))?;
    let endpoints = arr
        .iter()
        .map(|e| {
            let st = &e["Status"];
            let n = |x: &Value, what: &str| {
                x.as_u64()
                    .ok_or_else(|| perr(format!("etcdctl endpoint status: no {what}")))
            };
            Ok(EtcdEndpoint {
                endpoint: e["Endpoint"]
                    .as_str()
                    .ok_or_else(|| perr("etcdctl endpoint status: no Endpoint"))?
                    .to_string(),
                member_id: n(&st["header"]["member_id"], "member_id")?,
                leader: n(&st["leader"], "leader")?,
                raft_index: n(&st["raftIndex"], "raftIndex")?,
                raft_term: st["raftTerm"].as_u64().unwrap_or(0),
                db_size: st["dbSize"].as_u64().unwrap_or(0),
                version: st["version"].as_str().unwrap_or_default().to_string(),
            })
        })
        .collect::<Result<Vec<_>, ParseError>>()?;
    if endpoints.is_empty() {
        return Err(perr("etcdctl endpoint status: no endpoint"));
    }
    Ok(EtcdStatus { endpoints })
}

// ---------------------------------------------------------------- mc admin info --json

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MinioInfo {
    pub mode: String,
    pub servers_online: u32,
    pub servers_offline: u32,
    pub drives_ok: u32,
    pub drives_total: u32,
}

/// `mc admin info local --json`.
pub fn parse_mc_admin_info(out: &str) -> Result<MinioInfo, ParseError> {
    let v: Value = serde_json::from_str(out.trim())
        .map_err(|e| perr(format!("mc admin info: not JSON: {e}")))?;
    if v["status"].as_str() != Some("success") {
        return Err(perr(format!(
            "mc admin info: status {}",
            v["status"].as_str().unwrap_or("missing")
        )));
    }
    let servers = v["info"]["servers"]
        .as_array()
        .ok_or_else(|| perr("mc admin info: no info.servers"))?;
    let mut i = MinioInfo {
        mode: v["info"]["mode"].as_str().unwrap_or_default().to_string(),
        servers_online: 0,
        servers_offline: 0,
        drives_ok: 0,
        drives_total: 0,
    };
    for s in servers {
        if s["state"].as_str() == Some("online") {
            i.servers_online += 1;
        } else {
            i.servers_offline += 1;
        }
        for d in s["drives"].as_array().into_iter().flatten() {
            i.drives_total += 1;
            if d["state"].as_str() == Some("ok") {
                i.drives_ok += 1;
            }
        }
    }
    Ok(i)
}

// ---------------------------------------------------------------- kafka-broker-api-versions.sh

/// Broker ids answering `kafka-broker-api-versions.sh` (`host:port (id: N rack: R) -> (`).
/// Not run by `status --deep`: every listener needs mutual TLS (see the Kafka health checks).
pub fn parse_broker_api_versions(out: &str) -> Result<Vec<i64>, ParseError> {
    let mut ids = Vec::new();
    for l in out.lines().filter(|l| l.contains("(id: ")) {
        let rest = l.split("(id: ").nth(1).unwrap_or_default();
        let id = rest.split_whitespace().next().unwrap_or_default();
        ids.push(
            id.parse()
                .map_err(|_| perr(format!("broker api versions: id `{id}`")))?,
        );
    }
    if ids.is_empty() {
        return Err(perr("broker api versions: no broker answered"));
    }
    Ok(ids)
}

// ---------------------------------------------------------------- checks from the platform

// The platform declares each health check as a typed exec with the tool it runs; the names
// stay `deep::PodRef` and `deep::Probe` for this module's readers.
pub use datalyptica_platform::component::DeepProbe as Probe;
pub use datalyptica_platform::component::PodRef;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeepCheck {
    /// `ComponentId::name`, as in status rows.
    pub component: &'static str,
    /// The status row (gate kind) the result is attached to.
    pub row_kind: GateKind,
    pub probe: Probe,
    pub target: Exec,
}

/// The deep checks of the enabled components: the health checks that exec a tool this module
/// reads (`Component::health_checks`, typed, never parsed back from their text); only the output
/// format is switched to JSON where the tool has one.
pub fn checks(m: &Model) -> Vec<DeepCheck> {
    let mut out = Vec::new();
    for c in m.enabled_components() {
        for h in c.health_checks(m) {
            let Check::Exec {
                exec: mut target,
                probe: Some(probe),
            } = h.check
            else {
                continue;
            };
            let row_kind = match probe {
                Probe::Patroni => GateKind::PostgresCluster,
                Probe::Sentinel => GateKind::StatefulSet,
                Probe::Etcd => {
                    if let Some(i) = target.argv.iter().position(|x| x == "-w") {
                        target.argv.truncate(i);
                    }
                    target.argv.extend(["-w".into(), "json".into()]);
                    GateKind::StatefulSet
                }
                Probe::Minio => {
                    if !target.argv.iter().any(|x| x == "--json") {
                        target.argv.push("--json".into());
                    }
                    GateKind::Tenant
                }
            };
            out.push(DeepCheck {
                component: c.id().name(),
                row_kind,
                probe,
                target,
            });
        }
    }
    out
}

// ---------------------------------------------------------------- exec and verdicts

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Exec is not possible: no rights, pod missing, API server without exec.
    #[error("{0}")]
    Unavailable(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The command ran and failed.
    #[error("command failed: {0}")]
    Failed(String),
}

/// Running a command in a pod; [`crate::api::KubeApi`] implements it with the exec subresource.
#[allow(async_fn_in_trait)]
pub trait PodExec {
    /// Stdout of `argv` in the pod (container `container` or the default one).
    async fn exec(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        argv: &[String],
        timeout: Duration,
    ) -> Result<String, ExecError>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Ok,
    /// Parsed, and the facts show a problem.
    Degraded,
    /// The check could not run (reported, not a failure unless `--strict`).
    Unavailable,
    /// It ran but failed or its output did not parse.
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeepResult {
    pub probe: Probe,
    pub pod: String,
    pub verdict: Verdict,
    pub summary: String,
    /// The role map the check found (empty when it found none).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub roles: String,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub facts: Value,
}

impl DeepResult {
    pub fn unavailable(probe: Probe, pod: &str, why: impl Into<String>) -> Self {
        DeepResult {
            probe,
            pod: pod.into(),
            verdict: Verdict::Unavailable,
            summary: why.into(),
            roles: String::new(),
            facts: Value::Null,
        }
    }
}

fn short(pod: &str) -> &str {
    pod.rsplit('/').next().unwrap_or(pod)
}

/// Verdict, summary and roles from a check's output. `expected` is the desired member count.
pub fn judge(probe: Probe, pod: &str, out: &str, expected: i64) -> DeepResult {
    let r = |verdict, summary: String, roles: String, facts: Value| DeepResult {
        probe,
        pod: pod.into(),
        verdict,
        summary,
        roles,
        facts,
    };
    let bad = |e: ParseError| r(Verdict::Error, e.to_string(), String::new(), Value::Null);
    let expected = u64::try_from(expected).unwrap_or(0);
    match probe {
        Probe::Patroni => match parse_patronictl(out) {
            Err(e) => bad(e),
            Ok(p) => {
                let facts = serde_json::to_value(&p).unwrap_or(Value::Null);
                let lag = |m: &PatroniMember| match m.lag_mb {
                    Some(l) => format!("{} lag {l} MB", m.name),
                    None => format!("{} lag unknown", m.name),
                };
                let sync: Vec<String> = p.sync_standbys().map(lag).collect();
                let reps: Vec<String> = p
                    .replicas()
                    .filter(|m| m.role != "Sync Standby")
                    .map(lag)
                    .collect();
                let leader = p.leader();
                let roles = format!(
                    "leader {}; sync {}; replicas {}",
                    leader.map(|l| l.name.as_str()).unwrap_or("none"),
                    if sync.is_empty() {
                        "none".into()
                    } else {
                        sync.join(", ")
                    },
                    if reps.is_empty() {
                        "none".into()
                    } else {
                        reps.join(", ")
                    },
                );
                let not_streaming: Vec<&str> = p
                    .replicas()
                    .filter(|m| m.state != "streaming")
                    .map(|m| m.name.as_str())
                    .collect();
                let problem = if leader.is_none() {
                    Some("no running leader (failover in progress?)".to_string())
                } else if !not_streaming.is_empty() {
                    Some(format!("not streaming: {}", not_streaming.join(", ")))
                } else if (p.members.len() as u64) < expected {
                    Some(format!("{} of {expected} members", p.members.len()))
                } else {
                    None
                };
                match problem {
                    Some(s) => r(Verdict::Degraded, s, roles, facts),
                    None => r(
                        Verdict::Ok,
                        format!(
                            "{} members, timeline {}",
                            p.members.len(),
                            leader.and_then(|l| l.timeline).unwrap_or(0)
                        ),
                        roles,
                        facts,
                    ),
                }
            }
        },
        Probe::Sentinel => match parse_sentinel_masters(out) {
            Err(e) => bad(e),
            Ok(ms) => {
                let facts = serde_json::to_value(&ms).unwrap_or(Value::Null);
                let roles = ms
                    .iter()
                    .map(|m| {
                        format!(
                            "master {} {}:{}, {} replicas, {} other sentinels",
                            m.name, m.ip, m.port, m.num_slaves, m.num_other_sentinels
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("; ");
                let problem = if ms.is_empty() {
                    Some("Sentinel monitors no master".to_string())
                } else if let Some(m) = ms.iter().find(|m| m.down() || m.failing_over()) {
                    Some(format!("master {} flags {}", m.name, m.flags.join(",")))
                } else {
                    ms.iter()
                        .find(|m| m.quorum.is_some_and(|q| m.num_other_sentinels + 1 < q))
                        .map(|m| {
                            format!(
                                "{} sentinels see {}, below quorum",
                                m.num_other_sentinels + 1,
                                m.name
                            )
                        })
                };
                match problem {
                    Some(s) => r(Verdict::Degraded, s, roles, facts),
                    None => r(
                        Verdict::Ok,
                        format!("{} master(s) monitored", ms.len()),
                        roles,
                        facts,
                    ),
                }
            }
        },
        Probe::Etcd => match parse_etcd_status(out) {
            Err(e) => bad(e),
            Ok(s) => {
                let facts = serde_json::to_value(&s).unwrap_or(Value::Null);
                let host = |e: &EtcdEndpoint| {
                    let h = e.endpoint.split("://").nth(1).unwrap_or(&e.endpoint);
                    h.split(['.', ':']).next().unwrap_or(h).to_string()
                };
                let n = s.endpoints.len() as u64;
                match s.leader() {
                    None => r(
                        Verdict::Degraded,
                        "members disagree on the leader or have none".into(),
                        "leader none".into(),
                        facts,
                    ),
                    Some(l) => {
                        let roles = format!("leader {} ({:x})", host(l), l.member_id);
                        let max = s.endpoints.iter().map(|e| e.raft_index).max().unwrap_or(0);
                        let min = s.endpoints.iter().map(|e| e.raft_index).min().unwrap_or(0);
                        let summary = format!(
                            "{n} members, raft index {max} (spread {}), db {} MiB",
                            max - min,
                            l.db_size / (1024 * 1024)
                        );
                        if n < expected {
                            r(
                                Verdict::Degraded,
                                format!("{n} of {expected} members answer; {summary}"),
                                roles,
                                facts,
                            )
                        } else {
                            r(Verdict::Ok, summary, roles, facts)
                        }
                    }
                }
            }
        },
        Probe::Minio => match parse_mc_admin_info(out) {
            Err(e) => bad(e),
            Ok(i) => {
                let facts = serde_json::to_value(&i).unwrap_or(Value::Null);
                let summary = format!(
                    "{}/{} servers online, {}/{} drives ok",
                    i.servers_online,
                    i.servers_online + i.servers_offline,
                    i.drives_ok,
                    i.drives_total
                );
                if i.servers_offline > 0 || i.drives_ok < i.drives_total {
                    r(Verdict::Degraded, summary, String::new(), facts)
                } else {
                    r(Verdict::Ok, summary, String::new(), facts)
                }
            }
        },
    }
    .with_pod(short(pod))
}

impl DeepResult {
    fn with_pod(mut self, pod: &str) -> Self {
        self.pod = pod.into();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datalyptica_platform::Platform;

    #[test]
    fn checks_come_from_the_platform_health_checks() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let cs = checks(&m);
        let probes: Vec<Probe> = cs.iter().map(|c| c.probe).collect();
        assert_eq!(
            probes,
            [Probe::Patroni, Probe::Sentinel, Probe::Etcd, Probe::Minio]
        );
        let pg = &cs[0];
        assert!(
            matches!(&pg.target.pod, PodRef::Selector(s) if s == "postgres-operator.crunchydata.com/role=master"),
            "{pg:?}"
        );
        assert_eq!(pg.target.container.as_deref(), Some("database"));
        assert_eq!(pg.target.argv, ["patronictl", "list"]);
        assert!(
            cs[2]
                .target
                .argv
                .ends_with(&["-w".to_string(), "json".to_string()])
        );
        assert_eq!(cs[3].target.argv.last().map(String::as_str), Some("--json"));
    }
}
