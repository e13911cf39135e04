//! Configuration files and command lines of the lab servers, rendered from [`LabSettings`].

use std::fmt::Write as _;
use std::path::Path;

use crate::settings::{EtcdSettings, PatroniSettings, RedisSettings};
use crate::topology::*;

/// etcd command-line flags for member `idx`; `existing` when its data dir already holds a member.
pub fn etcd_args(s: &EtcdSettings, lab: &Path, idx: usize, existing: bool) -> Vec<String> {
    let me = Proc::new(ProcKind::Etcd, idx);
    let peers: Vec<String> = (0..NODES)
        .map(|i| {
            let p = Proc::new(ProcKind::Etcd, i);
            format!("{}=http://{}", p.name(), p.addr(ETCD_PEER_PORT))
        })
        .collect();
    let client = format!("http://{}", me.addr(ETCD_CLIENT_PORT));
    let peer = format!("http://{}", me.addr(ETCD_PEER_PORT));
    let state = if existing { "existing" } else { "new" };
    [
        ("--name", me.name()),
        ("--data-dir", me.dir(lab).join("data").display().to_string()),
        ("--listen-client-urls", client.clone()),
        ("--advertise-client-urls", client),
        ("--listen-peer-urls", peer.clone()),
        ("--initial-advertise-peer-urls", peer),
        ("--initial-cluster", peers.join(",")),
        ("--initial-cluster-token", CLUSTER_NAME.to_string()),
        ("--initial-cluster-state", state.to_string()),
        ("--heartbeat-interval", s.heartbeat_ms.to_string()),
        ("--election-timeout", s.election_timeout_ms.to_string()),
        ("--logger", "zap".to_string()),
        ("--log-level", "warn".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| format!("{k}={v}"))
    .collect()
}

/// Quote a string for YAML (double-quoted style) so paths with spaces or colons stay one scalar.
fn yq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `patroni.yml` for node `idx`. The `bootstrap.dcs` part only applies when the cluster is first
/// initialised; the lab is rebuilt (`down --purge`) to change it.
pub fn patroni_yml(s: &PatroniSettings, lab: &Path, idx: usize) -> String {
    let me = Proc::new(ProcKind::Patroni, idx);
    let dir = me.dir(lab);
    let etcd_hosts: Vec<String> = etcd_client_addrs().iter().map(|a| a.to_string()).collect();
    let mut y = String::new();
    let w = &mut y;
    // Writing into a String cannot fail.
    let _ = writeln!(w, "scope: {CLUSTER_NAME}");
    let _ = writeln!(w, "name: {}", me.name());
    let _ = writeln!(
        w,
        "log:\n  level: INFO\n  format: '%(asctime)s %(levelname)s: %(message)s'"
    );
    let _ = writeln!(w, "restapi:");
    let _ = writeln!(w, "  listen: {}", me.addr(PATRONI_PORT));
    let _ = writeln!(w, "  connect_address: {}", me.addr(PATRONI_PORT));
    let _ = writeln!(w, "etcd3:\n  hosts: {}", etcd_hosts.join(","));
    let _ = writeln!(w, "bootstrap:\n  dcs:");
    let _ = writeln!(w, "    ttl: {}", s.ttl_s);
    let _ = writeln!(w, "    loop_wait: {}", s.loop_wait_s);
    let _ = writeln!(w, "    retry_timeout: {}", s.retry_timeout_s);
    let _ = writeln!(
        w,
        "    maximum_lag_on_failover: {}",
        s.maximum_lag_on_failover_bytes
    );
    let _ = writeln!(w, "    primary_start_timeout: {}", s.master_start_timeout_s);
    let _ = writeln!(w, "    synchronous_mode: {}", s.synchronous_mode);
    let _ = writeln!(
        w,
        "    synchronous_mode_strict: {}",
        s.synchronous_mode_strict
    );
    let _ = writeln!(w, "    postgresql:");
    let _ = writeln!(w, "      use_pg_rewind: true");
    let _ = writeln!(w, "      use_slots: true");
    let _ = writeln!(w, "      parameters:");
    for (k, v) in [
        ("wal_level", "replica"),
        ("hot_standby", "on"),
        ("wal_log_hints", "on"),
        ("max_wal_senders", "10"),
        ("max_replication_slots", "10"),
        ("wal_keep_size", "128MB"),
    ] {
        let _ = writeln!(w, "        {k}: {v}");
    }
    let _ = writeln!(w, "  initdb:\n    - encoding: UTF8\n    - data-checksums");
    let _ = writeln!(w, "postgresql:");
    let _ = writeln!(w, "  listen: {}", me.addr(PG_PORT));
    let _ = writeln!(w, "  connect_address: {}", me.addr(PG_PORT));
    let _ = writeln!(
        w,
        "  data_dir: {}",
        yq(&dir.join("data").display().to_string())
    );
    let _ = writeln!(w, "  bin_dir: {PG_BIN_DIR}");
    let _ = writeln!(
        w,
        "  pgpass: {}",
        yq(&dir.join("pgpass").display().to_string())
    );
    let _ = writeln!(w, "  authentication:");
    let _ = writeln!(
        w,
        "    superuser:\n      username: postgres\n      password: lab-postgres"
    );
    let _ = writeln!(
        w,
        "    replication:\n      username: replicator\n      password: lab-replicator"
    );
    let _ = writeln!(
        w,
        "    rewind:\n      username: rewinder\n      password: lab-rewinder"
    );
    let _ = writeln!(w, "  parameters:");
    // Each node needs its own socket dir: they all use port 5432, which names the socket file.
    let _ = writeln!(
        w,
        "    unix_socket_directories: {}",
        yq(&dir.join("run").display().to_string())
    );
    let _ = writeln!(w, "    shared_buffers: 32MB");
    let _ = writeln!(w, "    max_connections: 50");
    // A lab on loopback: authentication is not what the drill measures.
    let _ = writeln!(w, "  pg_hba:");
    for line in [
        "local all all trust",
        "host all all 127.0.0.0/8 trust",
        "host replication all 127.0.0.0/8 trust",
    ] {
        let _ = writeln!(w, "    - {line}");
    }
    let _ = writeln!(
        w,
        "tags:\n  nofailover: false\n  noloadbalance: false\n  clonefrom: false"
    );
    y
}

/// The DCS part of the settings as a body for Patroni's `PATCH /config`, so a running lab follows
/// the settings without a rebuild (`bootstrap.dcs` only applies at first bootstrap).
pub fn patroni_dcs_patch(s: &PatroniSettings) -> serde_json::Value {
    serde_json::json!({
        "ttl": s.ttl_s,
        "loop_wait": s.loop_wait_s,
        "retry_timeout": s.retry_timeout_s,
        "maximum_lag_on_failover": s.maximum_lag_on_failover_bytes,
        "primary_start_timeout": s.master_start_timeout_s,
        "synchronous_mode": s.synchronous_mode,
        "synchronous_mode_strict": s.synchronous_mode_strict,
    })
}

/// Whether Patroni's current `GET /config` already has every value of the patch.
pub fn dcs_matches(current: &serde_json::Value, patch: &serde_json::Value) -> bool {
    patch
        .as_object()
        .is_some_and(|m| m.iter().all(|(k, v)| &current[k] == v))
}

/// `CONFIG SET` arguments that keep a running Redis in line with the settings.
pub fn redis_live_config(s: &RedisSettings) -> Vec<String> {
    vec![
        "min-replicas-to-write".into(),
        s.min_replicas_to_write.to_string(),
        "min-replicas-max-lag".into(),
        s.min_replicas_max_lag_s.to_string(),
    ]
}

/// `SENTINEL SET <master>` arguments for the same purpose.
pub fn sentinel_live_config(s: &RedisSettings) -> Vec<String> {
    vec![
        "down-after-milliseconds".into(),
        s.down_after_ms.to_string(),
        "failover-timeout".into(),
        s.failover_timeout_ms.to_string(),
        "parallel-syncs".into(),
        s.parallel_syncs.to_string(),
        "quorum".into(),
        s.quorum.to_string(),
    ]
}

/// `redis.conf` for node `idx`; node 0 starts as the primary.
pub fn redis_conf(s: &RedisSettings, lab: &Path, idx: usize) -> String {
    let me = Proc::new(ProcKind::Redis, idx);
    let ip = me.ip();
    let mut c = String::new();
    let w = &mut c;
    let _ = writeln!(w, "bind {ip}");
    let _ = writeln!(w, "port {REDIS_PORT}");
    let _ = writeln!(w, "protected-mode no");
    let _ = writeln!(w, "daemonize no");
    let _ = writeln!(w, "dir {}", me.dir(lab).display());
    let _ = writeln!(w, "logfile \"\"");
    // Durability comes from replication in this setup, like the platform's Redis pods without PVCs.
    let _ = writeln!(w, "save \"\"");
    let _ = writeln!(w, "appendonly no");
    // Without these every replica reports 127.0.0.1 and all connections leave from 127.0.0.1,
    // which breaks Sentinel's view and makes partitions impossible to aim.
    let _ = writeln!(w, "replica-announce-ip {ip}");
    let _ = writeln!(w, "bind-source-addr {ip}");
    let _ = writeln!(w, "repl-diskless-sync yes");
    let _ = writeln!(w, "repl-diskless-sync-delay 0");
    let _ = writeln!(w, "repl-ping-replica-period 1");
    let _ = writeln!(w, "min-replicas-to-write {}", s.min_replicas_to_write);
    let _ = writeln!(w, "min-replicas-max-lag {}", s.min_replicas_max_lag_s);
    if idx != 0 {
        let _ = writeln!(w, "replicaof {} {REDIS_PORT}", node_ip(ProcKind::Redis, 0));
    }
    c
}

/// `sentinel.conf` for Sentinel `idx`; Sentinel rewrites it at run time, so it is rendered once
/// per lab (stale `known-replica` lines would otherwise survive a rebuild).
pub fn sentinel_conf(s: &RedisSettings, lab: &Path, idx: usize) -> String {
    let me = Proc::new(ProcKind::Sentinel, idx);
    let ip = me.ip();
    let master = node_ip(ProcKind::Redis, 0);
    let mut c = String::new();
    let w = &mut c;
    let _ = writeln!(w, "bind {ip}");
    let _ = writeln!(w, "port {SENTINEL_PORT}");
    let _ = writeln!(w, "protected-mode no");
    let _ = writeln!(w, "daemonize no");
    let _ = writeln!(w, "dir {}", me.dir(lab).display());
    let _ = writeln!(w, "logfile \"\"");
    let _ = writeln!(w, "sentinel announce-ip {ip}");
    let _ = writeln!(w, "bind-source-addr {ip}");
    let _ = writeln!(
        w,
        "sentinel monitor {REDIS_MASTER_NAME} {master} {REDIS_PORT} {}",
        s.quorum
    );
    let _ = writeln!(
        w,
        "sentinel down-after-milliseconds {REDIS_MASTER_NAME} {}",
        s.down_after_ms
    );
    let _ = writeln!(
        w,
        "sentinel failover-timeout {REDIS_MASTER_NAME} {}",
        s.failover_timeout_ms
    );
    let _ = writeln!(
        w,
        "sentinel parallel-syncs {REDIS_MASTER_NAME} {}",
        s.parallel_syncs
    );
    c
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::LabSettings;

    #[test]
    fn etcd_flags() {
        let s = LabSettings::default();
        let a = etcd_args(&s.etcd, Path::new("/lab"), 1, false);
        assert!(a.contains(&"--name=etcd2".to_string()));
        assert!(a.contains(&"--listen-client-urls=http://127.0.0.12:2379".to_string()));
        assert!(a.contains(&"--heartbeat-interval=50".to_string()));
        assert!(a.contains(&"--election-timeout=500".to_string()));
        assert!(a.contains(&"--initial-cluster-state=new".to_string()));
        assert!(a.contains(
            &"--initial-cluster=etcd1=http://127.0.0.11:2380,etcd2=http://127.0.0.12:2380,etcd3=http://127.0.0.13:2380"
                .to_string()
        ));
        let a = etcd_args(&s.etcd, Path::new("/lab"), 0, true);
        assert!(a.contains(&"--initial-cluster-state=existing".to_string()));
    }

    #[test]
    fn patroni_yaml_has_settings() {
        let s = LabSettings::default();
        let y = patroni_yml(&s.postgres, Path::new("/tmp/my lab"), 2);
        assert!(y.contains("name: pg3\n"));
        assert!(y.contains("    ttl: 25\n"));
        assert!(y.contains("    loop_wait: 5\n"));
        assert!(y.contains("    retry_timeout: 10\n"));
        assert!(y.contains("    synchronous_mode: true\n"));
        assert!(y.contains("    synchronous_mode_strict: false\n"));
        assert!(y.contains("    primary_start_timeout: 0\n"));
        assert!(y.contains("  hosts: 127.0.0.11:2379,127.0.0.12:2379,127.0.0.13:2379\n"));
        assert!(y.contains("  listen: 127.0.0.23:5432\n"));
        assert!(y.contains("data_dir: \"/tmp/my lab/pg3/data\""));
        assert!(y.contains("unix_socket_directories: \"/tmp/my lab/pg3/run\""));
    }

    #[test]
    fn redis_confs() {
        let s = LabSettings::default();
        let primary = redis_conf(&s.redis, Path::new("/lab"), 0);
        assert!(!primary.contains("replicaof"));
        assert!(primary.contains("min-replicas-to-write 1\n"));
        let replica = redis_conf(&s.redis, Path::new("/lab"), 2);
        assert!(replica.contains("replicaof 127.0.0.31 6379\n"));
        assert!(replica.contains("replica-announce-ip 127.0.0.33\n"));
        let sent = sentinel_conf(&s.redis, Path::new("/lab"), 1);
        assert!(sent.contains("sentinel monitor lab 127.0.0.31 6379 2\n"));
        assert!(sent.contains("sentinel down-after-milliseconds lab 1000\n"));
        assert!(sent.contains("sentinel failover-timeout lab 10000\n"));
        assert!(sent.contains("bind 127.0.0.32\n"));
    }

    #[test]
    fn live_settings() {
        let s = LabSettings::default();
        let patch = patroni_dcs_patch(&s.postgres);
        assert_eq!(patch["ttl"], 25);
        assert_eq!(patch["synchronous_mode"], true);
        let mut cur = patch.clone();
        cur["postgresql"] = serde_json::json!({"use_pg_rewind": true});
        assert!(dcs_matches(&cur, &patch));
        cur["loop_wait"] = serde_json::json!(2);
        assert!(!dcs_matches(&cur, &patch));
        assert_eq!(sentinel_live_config(&s.redis)[1], "1000");
        assert_eq!(
            redis_live_config(&s.redis),
            ["min-replicas-to-write", "1", "min-replicas-max-lag", "10"]
        );
    }

    #[test]
    fn yaml_quoting() {
        assert_eq!(yq(r#"a"b\c"#), r#""a\"b\\c""#);
    }
}
