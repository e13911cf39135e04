//! Read-only views of each cluster, from the servers' own APIs.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::http;
use crate::topology::*;

const T: Duration = Duration::from_millis(800);

#[derive(Debug, Clone, Serialize)]
pub struct EtcdMember {
    pub name: String,
    pub addr: SocketAddr,
    pub up: bool,
    pub is_leader: bool,
    pub raft_index: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct EtcdView {
    pub members: Vec<EtcdMember>,
    pub leader: Option<String>,
}

impl EtcdView {
    pub fn healthy(&self) -> bool {
        self.leader.is_some() && self.members.iter().all(|m| m.up)
    }
}

fn json_u64(v: &serde_json::Value) -> Option<u64> {
    // grpc-gateway encodes uint64 as JSON strings.
    v.as_str()
        .and_then(|s| s.parse().ok())
        .or_else(|| v.as_u64())
}

pub async fn etcd_view() -> EtcdView {
    let mut members = Vec::new();
    let mut ids = Vec::new();
    for i in 0..NODES {
        let p = Proc::new(ProcKind::Etcd, i);
        let addr = p.addr(ETCD_CLIENT_PORT);
        let r = http::post_json(addr, "/v3/maintenance/status", &serde_json::json!({}), T).await;
        let (up, me, leader, idx) = match r {
            Ok((200, v)) => (
                true,
                json_u64(&v["header"]["member_id"]),
                json_u64(&v["leader"]),
                json_u64(&v["raftIndex"]).unwrap_or(0),
            ),
            _ => (false, None, None, 0),
        };
        ids.push((me, leader));
        members.push(EtcdMember {
            name: p.name(),
            addr,
            up,
            is_leader: false,
            raft_index: idx,
        });
    }
    for (i, (me, leader)) in ids.iter().enumerate() {
        members[i].is_leader = me.is_some() && me == leader && leader != &Some(0);
    }
    let leader = members.iter().find(|m| m.is_leader).map(|m| m.name.clone());
    EtcdView { members, leader }
}

#[derive(Debug, Clone, Serialize)]
pub struct PgMember {
    pub name: String,
    pub role: String,
    pub state: String,
    pub lag: Option<u64>,
    pub timeline: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PgView {
    pub members: Vec<PgMember>,
    pub leader: Option<String>,
    pub sync_standby: Option<String>,
}

impl PgView {
    /// Leader running and every other node streaming; in synchronous mode one of them must be the
    /// synchronous standby, or a failover could not be lossless.
    pub fn healthy(&self, synchronous_mode: bool) -> bool {
        let leader_ok = self
            .members
            .iter()
            .any(|m| m.role == "leader" && m.state == "running");
        let replicas_ok = self.members.len() == NODES
            && self
                .members
                .iter()
                .filter(|m| m.role != "leader")
                .all(|m| m.state == "streaming");
        leader_ok && replicas_ok && (!synchronous_mode || self.sync_standby.is_some())
    }

    pub fn member(&self, name: &str) -> Option<&PgMember> {
        self.members.iter().find(|m| m.name == name)
    }
}

pub fn parse_patroni_cluster(v: &serde_json::Value) -> PgView {
    let mut members = Vec::new();
    if let Some(arr) = v["members"].as_array() {
        for m in arr {
            members.push(PgMember {
                name: m["name"].as_str().unwrap_or("?").to_string(),
                role: m["role"].as_str().unwrap_or("?").to_string(),
                state: m["state"].as_str().unwrap_or("?").to_string(),
                lag: m["lag"].as_u64(),
                timeline: m["timeline"].as_u64(),
            });
        }
    }
    members.sort_by(|a, b| a.name.cmp(&b.name));
    let leader = members
        .iter()
        .find(|m| m.role == "leader")
        .map(|m| m.name.clone());
    let sync_standby = members
        .iter()
        .find(|m| m.role == "sync_standby")
        .map(|m| m.name.clone());
    PgView {
        members,
        leader,
        sync_standby,
    }
}

/// The cluster as seen by the first Patroni that answers.
pub async fn pg_view() -> Result<PgView> {
    let mut last = None;
    for i in 0..NODES {
        let addr = Proc::new(ProcKind::Patroni, i).addr(PATRONI_PORT);
        match http::get_json(addr, "/cluster", T).await {
            Ok((200, v)) => return Ok(parse_patroni_cluster(&v)),
            Ok((s, _)) => last = Some(anyhow::anyhow!("{addr}: HTTP {s}")),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| anyhow::anyhow!("no Patroni answered")))
}

pub fn redis_client(addr: SocketAddr) -> Result<redis::Client> {
    Ok(redis::Client::open(format!("redis://{addr}/"))?)
}

pub fn redis_config(timeout: Duration) -> redis::AsyncConnectionConfig {
    redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout))
}

pub async fn redis_cmd<T: redis::FromRedisValue>(addr: SocketAddr, cmd: &redis::Cmd) -> Result<T> {
    let client = redis_client(addr)?;
    let mut con = client
        .get_multiplexed_async_connection_with_config(&redis_config(T))
        .await?;
    Ok(cmd.query_async(&mut con).await?)
}

/// `INFO` output as key/value pairs.
pub fn parse_info(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.trim().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisNode {
    pub name: String,
    pub addr: SocketAddr,
    pub up: bool,
    pub role: String,
    /// For a replica: its master's address and whether the link is up.
    pub master: Option<String>,
    pub link_up: bool,
    pub connected_replicas: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct SentinelNode {
    pub name: String,
    pub up: bool,
    pub master: Option<String>,
    pub other_sentinels: u32,
    pub replicas: u32,
    pub flags: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RedisView {
    pub nodes: Vec<RedisNode>,
    pub sentinels: Vec<SentinelNode>,
    pub master: Option<String>,
}

impl RedisView {
    /// All sentinels agree on a master that is up and has every other node attached.
    pub fn healthy(&self) -> bool {
        let Some(m) = &self.master else { return false };
        let agree = self.sentinels.iter().all(|s| {
            s.up && s.master.as_ref() == Some(m)
                && s.other_sentinels as usize == NODES - 1
                && s.replicas as usize == NODES - 1
                && s.flags == "master"
        });
        let master_ok = self.nodes.iter().any(|n| {
            n.up && &n.addr.to_string() == m
                && n.role == "master"
                && n.connected_replicas as usize == NODES - 1
        });
        let replicas_ok = self
            .nodes
            .iter()
            .filter(|n| &n.addr.to_string() != m)
            .all(|n| n.up && n.role == "slave" && n.link_up && n.master.as_ref() == Some(m));
        agree && master_ok && replicas_ok
    }

    pub fn node(&self, name: &str) -> Option<&RedisNode> {
        self.nodes.iter().find(|n| n.name == name)
    }
}

pub fn flat_map(v: Vec<String>) -> HashMap<String, String> {
    v.chunks(2)
        .filter(|c| c.len() == 2)
        .map(|c| (c[0].clone(), c[1].clone()))
        .collect()
}

pub async fn redis_node(p: Proc) -> RedisNode {
    let addr = p.addr(REDIS_PORT);
    let info: Result<String> = redis_cmd(addr, redis::cmd("INFO").arg("replication")).await;
    match info {
        Ok(text) => {
            let i = parse_info(&text);
            let role = i.get("role").cloned().unwrap_or_default();
            let master = match (i.get("master_host"), i.get("master_port")) {
                (Some(h), Some(p)) => Some(format!("{h}:{p}")),
                _ => None,
            };
            RedisNode {
                name: p.name(),
                addr,
                up: true,
                role,
                master,
                link_up: i
                    .get("master_link_status")
                    .map(|s| s == "up")
                    .unwrap_or(false),
                connected_replicas: i
                    .get("connected_slaves")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            }
        }
        Err(_) => RedisNode {
            name: p.name(),
            addr,
            up: false,
            role: String::new(),
            master: None,
            link_up: false,
            connected_replicas: 0,
        },
    }
}

pub async fn sentinel_node(p: Proc) -> SentinelNode {
    let addr = p.addr(SENTINEL_PORT);
    let r: Result<Vec<String>> = redis_cmd(
        addr,
        redis::cmd("SENTINEL").arg("master").arg(REDIS_MASTER_NAME),
    )
    .await;
    match r {
        Ok(v) => {
            let m = flat_map(v);
            let master = match (m.get("ip"), m.get("port")) {
                (Some(ip), Some(port)) => Some(format!("{ip}:{port}")),
                _ => None,
            };
            SentinelNode {
                name: p.name(),
                up: true,
                master,
                other_sentinels: m
                    .get("num-other-sentinels")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                replicas: m
                    .get("num-slaves")
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
                flags: m.get("flags").cloned().unwrap_or_default(),
            }
        }
        Err(_) => SentinelNode {
            name: p.name(),
            up: false,
            master: None,
            other_sentinels: 0,
            replicas: 0,
            flags: String::new(),
        },
    }
}

pub async fn redis_view() -> RedisView {
    let mut nodes = Vec::new();
    let mut sentinels = Vec::new();
    for i in 0..NODES {
        nodes.push(redis_node(Proc::new(ProcKind::Redis, i)).await);
        sentinels.push(sentinel_node(Proc::new(ProcKind::Sentinel, i)).await);
    }
    // Majority view of the sentinels; a lone dissenter does not decide.
    let mut votes: HashMap<&str, usize> = HashMap::new();
    for s in &sentinels {
        if let Some(m) = &s.master {
            *votes.entry(m.as_str()).or_default() += 1;
        }
    }
    let master = votes
        .into_iter()
        .filter(|(_, n)| *n * 2 > NODES)
        .map(|(m, _)| m.to_string())
        .next();
    RedisView {
        nodes,
        sentinels,
        master,
    }
}

pub fn redis_node_name(addr: &str) -> Option<String> {
    (0..NODES)
        .map(|i| Proc::new(ProcKind::Redis, i))
        .find(|p| p.addr(REDIS_PORT).to_string() == addr)
        .map(|p| p.name())
}

pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F) -> Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool>>,
{
    let start = tokio::time::Instant::now();
    let mut last_err = None;
    loop {
        match f().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => last_err = Some(e),
        }
        if start.elapsed() >= timeout {
            match last_err {
                Some(e) => {
                    return Err(e).with_context(|| format!("{what}: not ready after {timeout:?}"));
                }
                None => bail!("{what}: not ready after {timeout:?}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patroni_cluster_json() {
        let v = serde_json::json!({"members": [
            {"name": "pg2", "role": "sync_standby", "state": "streaming", "lag": 0, "timeline": 1},
            {"name": "pg1", "role": "leader", "state": "running", "timeline": 1},
            {"name": "pg3", "role": "replica", "state": "streaming", "lag": 0, "timeline": 1}
        ]});
        let view = parse_patroni_cluster(&v);
        assert_eq!(view.leader.as_deref(), Some("pg1"));
        assert_eq!(view.sync_standby.as_deref(), Some("pg2"));
        assert!(view.healthy(true));
        let v = serde_json::json!({"members": [
            {"name": "pg1", "role": "leader", "state": "running"},
            {"name": "pg3", "role": "replica", "state": "starting"}
        ]});
        assert!(!parse_patroni_cluster(&v).healthy(false));
    }

    #[test]
    fn info_parsing() {
        let i = parse_info(
            "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.31\r\nmaster_link_status:up\r\n",
        );
        assert_eq!(i["role"], "slave");
        assert_eq!(i["master_link_status"], "up");
        let m = flat_map(vec!["ip".into(), "1.2.3.4".into(), "odd".into()]);
        assert_eq!(m.len(), 1);
    }
}
