//! HA knobs of the operator custom resources (PGO, OT redis-operator, Strimzi, MinIO, Flink,
//! Altinity ClickHouse). Defaults follow each CRD / upstream documentation.

use std::collections::HashMap;

use serde_json::Value;

use super::{Ctx, Hit};
use crate::model::{Obj, as_bool, as_int, get, ptr};

pub(crate) fn pgo_instances(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "PostgresCluster" {
        return;
    }
    let inst = o.get(&["spec", "instances"]).and_then(Value::as_array);
    let total: i64 = inst
        .into_iter()
        .flatten()
        .map(|x| x.get("replicas").and_then(as_int).unwrap_or(1))
        .fold(0i64, i64::saturating_add);
    if total < 2 {
        let pointer = match inst.map(Vec::len) {
            Some(1) => "/spec/instances/0/replicas",
            _ => "/spec/instances",
        };
        out.push(Hit {
            obj: i,
            pointer: pointer.into(),
            message: format!(
                "PostgresCluster runs {total} PostgreSQL instance(s); failover needs at least 2"
            ),
        });
    }
}

pub(crate) fn pgo_sync(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "PostgresCluster" {
        return;
    }
    let dc = o.get(&["spec", "patroni", "dynamicConfiguration"]);
    let on = dc
        .and_then(|d| d.get("synchronous_mode"))
        .and_then(as_bool)
        .unwrap_or(false)
        || dc
            .and_then(|d| d.get("synchronous_mode_strict"))
            .and_then(as_bool)
            .unwrap_or(false);
    if !on {
        out.push(Hit {
            obj: i,
            pointer: "/spec/patroni/dynamicConfiguration/synchronous_mode".into(),
            message: "PostgresCluster replicates asynchronously: a failover can lose acknowledged commits".into(),
        });
    }
}

fn timing_violation(ttl: i64, loop_wait: i64, retry: i64) -> Option<String> {
    let need = loop_wait.saturating_add(retry.saturating_mul(2));
    (need > ttl).then(|| {
        format!(
            "Patroni ttl {ttl} < loop_wait {loop_wait} + 2 × retry_timeout {retry} = {}: a healthy leader can lose its lock",
            need
        )
    })
}

pub(crate) fn patroni_timing(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    match o.kind {
        "PostgresCluster" => {
            let p = o.get(&["spec", "patroni"]);
            let f = |k: &str| p.and_then(|p| p.get(k)).and_then(as_int);
            let ttl = f("leaderLeaseDurationSeconds");
            let loop_wait = f("syncPeriodSeconds");
            let dc = p.and_then(|p| p.get("dynamicConfiguration"));
            let retry = dc.and_then(|d| d.get("retry_timeout")).and_then(as_int);
            if let Some(m) = timing_violation(
                ttl.unwrap_or(30),
                loop_wait.unwrap_or(10),
                retry.unwrap_or(10),
            ) {
                let pointer = if ttl.is_some() {
                    "/spec/patroni/leaderLeaseDurationSeconds"
                } else if retry.is_some() {
                    "/spec/patroni/dynamicConfiguration/retry_timeout"
                } else {
                    "/spec/patroni/syncPeriodSeconds"
                };
                out.push(Hit {
                    obj: i,
                    pointer: pointer.into(),
                    message: m,
                });
            }
        }
        "ConfigMap" => {
            let Some(Value::Object(data)) = o.get(&["data"]) else {
                return;
            };
            for (k, v) in data {
                let kl = k.to_ascii_lowercase();
                if !kl.contains("patroni") {
                    continue;
                }
                let Some(text) = v.as_str() else { continue };
                let Ok(docs) = datalyptica_yaml::parse(text) else {
                    continue;
                };
                for d in docs {
                    let dcs = get(&d.value, &["bootstrap", "dcs"]).unwrap_or(&d.value);
                    let f = |k: &str| dcs.get(k).and_then(as_int);
                    if f("ttl").is_none()
                        && f("loop_wait").is_none()
                        && f("retry_timeout").is_none()
                    {
                        continue;
                    }
                    if let Some(m) = timing_violation(
                        f("ttl").unwrap_or(30),
                        f("loop_wait").unwrap_or(10),
                        f("retry_timeout").unwrap_or(10),
                    ) {
                        out.push(Hit {
                            obj: i,
                            pointer: ptr("", &["data", k]),
                            message: format!("`{k}`: {m}"),
                        });
                    }
                }
            }
        }
        _ => {}
    }
}

pub(crate) fn sentinel_quorum(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "RedisSentinel" {
        return;
    }
    let n = o
        .get(&["spec", "clusterSize"])
        .and_then(as_int)
        .unwrap_or(3);
    let q_val = o.get(&["spec", "redisSentinelConfig", "quorum"]);
    let q = q_val.and_then(as_int).unwrap_or(2);
    let majority = n / 2 + 1;
    let pointer = if q_val.is_some() {
        "/spec/redisSentinelConfig/quorum"
    } else {
        "/spec/clusterSize"
    };
    let message = if q > n {
        format!("Sentinel quorum {q} exceeds the {n} sentinels: no failover can ever start")
    } else if q < majority {
        format!(
            "Sentinel quorum {q} is below the majority {majority} of {n} sentinels: a minority partition can declare the master down"
        )
    } else {
        return;
    };
    out.push(Hit {
        obj: i,
        pointer: pointer.into(),
        message,
    });
}

fn kafka_cfg<'a>(o: &Obj<'a>) -> Option<&'a serde_json::Map<String, Value>> {
    o.get(&["spec", "kafka", "config"])
        .and_then(Value::as_object)
}

/// The node pools of one Strimzi cluster: replicas per role (None: no pool has the role).
#[derive(Default)]
pub(crate) struct Pools {
    brokers: Option<i64>,
    controllers: Option<i64>,
    first_controller: Option<usize>,
}

pub(crate) fn pools<'a>(objs: &[Obj<'a>]) -> HashMap<(&'a str, &'a str), Pools> {
    let mut m: HashMap<(&str, &str), Pools> = HashMap::new();
    for (i, p) in objs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.kind == "KafkaNodePool")
    {
        let Some(c) = p
            .get(&["metadata", "labels", "strimzi.io/cluster"])
            .and_then(Value::as_str)
        else {
            continue;
        };
        let n = p.get(&["spec", "replicas"]).and_then(as_int).unwrap_or(0);
        let roles = p.get(&["spec", "roles"]).and_then(Value::as_array);
        let has = |role: &str| roles.is_some_and(|r| r.iter().any(|x| x.as_str() == Some(role)));
        let e = m.entry((p.ns(), c)).or_default();
        if has("broker") {
            let b = e.brokers.get_or_insert(0);
            *b = b.saturating_add(n);
        }
        if has("controller") {
            let c = e.controllers.get_or_insert(0);
            *c = c.saturating_add(n);
            e.first_controller.get_or_insert(i);
        }
    }
    m
}

fn brokers(ctx: &Ctx, ns: &str, cluster: &str) -> Option<i64> {
    ctx.kafka_pools.get(&(ns, cluster)).and_then(|p| p.brokers)
}

fn topic_cluster<'c, 'a>(ctx: &'c Ctx<'a>, o: &Obj<'a>) -> Option<&'c Obj<'a>> {
    let c = o
        .get(&["metadata", "labels", "strimzi.io/cluster"])
        .and_then(Value::as_str)?;
    ctx.of_kind(o.ns(), "Kafka").find(|k| k.name == c)
}

pub(crate) fn kafka_min_isr(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let mut check = |rf: i64, isr: i64, isr_ptr: String, what: &str| {
        let message = if isr >= rf {
            format!(
                "{what} {isr} ≥ replication factor {rf}: losing one replica blocks acks=all producers"
            )
        } else if isr < 2 {
            format!("{what} {isr}: an acknowledged write may live on a single broker")
        } else {
            return;
        };
        out.push(Hit {
            obj: i,
            pointer: isr_ptr,
            message,
        });
    };
    match o.kind {
        "Kafka" => {
            let cfg = kafka_cfg(o);
            let f = |k: &str, d: i64| cfg.and_then(|c| c.get(k)).and_then(as_int).unwrap_or(d);
            let at = |k: &str| ptr("", &["spec", "kafka", "config", k]);
            check(
                f("default.replication.factor", 1),
                f("min.insync.replicas", 1),
                at("min.insync.replicas"),
                "min.insync.replicas",
            );
            check(
                f("transaction.state.log.replication.factor", 3),
                f("transaction.state.log.min.isr", 2),
                at("transaction.state.log.min.isr"),
                "transaction.state.log.min.isr",
            );
        }
        "KafkaTopic" => {
            let own = o
                .get(&["spec", "config", "min.insync.replicas"])
                .and_then(as_int);
            let isr = own.or_else(|| {
                topic_cluster(ctx, o)
                    .and_then(kafka_cfg)
                    .and_then(|c| c.get("min.insync.replicas"))
                    .and_then(as_int)
            });
            let rf = o.get(&["spec", "replicas"]).and_then(as_int);
            if let (Some(rf), Some(isr)) = (rf, isr) {
                let p = if own.is_some() {
                    ptr("", &["spec", "config", "min.insync.replicas"])
                } else {
                    "/spec/replicas".into()
                };
                check(rf, isr, p, "min.insync.replicas");
            }
        }
        _ => {}
    }
}

pub(crate) fn kafka_rf(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    // `isr` is the min.insync.replicas that applies to the topic(s), with its name: the
    // message says what it really is, not what it should be.
    let mut check = |rf: i64,
                     brokers: Option<i64>,
                     (isr_name, isr): (&str, i64),
                     pointer: String,
                     what: &str| {
        let message = if rf < 3 && isr >= rf {
            format!(
                "{what} {rf} < 3: with {isr_name} {isr}, one broker loss blocks acks=all producers"
            )
        } else if rf < 3 {
            format!(
                "{what} {rf} < 3: with {isr_name} {isr}, an acknowledged write may live on {isr} broker(s) only, and one broker loss leaves no room to raise it"
            )
        } else if let Some(b) = brokers.filter(|b| rf > *b) {
            format!("{what} {rf} exceeds the {b} brokers: topic creation fails")
        } else {
            return;
        };
        out.push(Hit {
            obj: i,
            pointer,
            message,
        });
    };
    const MIN_ISR: &str = "min.insync.replicas";
    const TX_MIN_ISR: &str = "transaction.state.log.min.isr";
    match o.kind {
        "Kafka" => {
            let cfg = kafka_cfg(o);
            let f = |k: &str, d: i64| cfg.and_then(|c| c.get(k)).and_then(as_int).unwrap_or(d);
            let brokers = brokers(ctx, o.ns(), o.name);
            // Broker defaults: min.insync.replicas 1, transaction.state.log.min.isr 2.
            for (k, d, isr) in [
                ("default.replication.factor", 1, (MIN_ISR, f(MIN_ISR, 1))),
                (
                    "offsets.topic.replication.factor",
                    3,
                    (MIN_ISR, f(MIN_ISR, 1)),
                ),
                (
                    "transaction.state.log.replication.factor",
                    3,
                    (TX_MIN_ISR, f(TX_MIN_ISR, 2)),
                ),
            ] {
                check(
                    f(k, d),
                    brokers,
                    isr,
                    ptr("", &["spec", "kafka", "config", k]),
                    k,
                );
            }
        }
        "KafkaTopic" => {
            if let Some(rf) = o.get(&["spec", "replicas"]).and_then(as_int) {
                let cluster = topic_cluster(ctx, o);
                let isr = o
                    .get(&["spec", "config", MIN_ISR])
                    .and_then(as_int)
                    .or_else(|| {
                        cluster
                            .and_then(kafka_cfg)
                            .and_then(|c| c.get(MIN_ISR))
                            .and_then(as_int)
                    })
                    .unwrap_or(1);
                let brokers = cluster.and_then(|k| brokers(ctx, k.ns(), k.name));
                check(
                    rf,
                    brokers,
                    (MIN_ISR, isr),
                    "/spec/replicas".into(),
                    "topic replicas",
                );
            }
        }
        _ => {}
    }
}

pub(crate) fn kraft_controllers(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "KafkaNodePool" {
        return;
    }
    let Some(cluster) = o
        .get(&["metadata", "labels", "strimzi.io/cluster"])
        .and_then(Value::as_str)
    else {
        return;
    };
    let Some(p) = ctx.kafka_pools.get(&(o.ns(), cluster)) else {
        return;
    };
    // Report once per cluster: on its first controller pool in the tree.
    if p.first_controller != Some(i) {
        return;
    }
    let n = p.controllers.unwrap_or(0);
    if n != 0 && (n < 3 || n % 2 == 0) {
        out.push(Hit {
            obj: i,
            pointer: "/spec/replicas".into(),
            message: format!(
                "Kafka cluster `{cluster}` has {n} KRaft controller(s); the Raft quorum needs an odd count of at least 3"
            ),
        });
    }
}

pub(crate) fn kafka_rack(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "Kafka" {
        return;
    }
    let key = o
        .get(&["spec", "kafka", "rack", "topologyKey"])
        .and_then(Value::as_str);
    if key.is_none_or(str::is_empty) {
        out.push(Hit {
            obj: i,
            pointer: "/spec/kafka/rack".into(),
            message: "Kafka has no rack awareness: replicas of a partition may share a zone".into(),
        });
    }
}

/// Default parity MinIO picks for an erasure set of `s` drives.
fn default_parity(s: i64) -> i64 {
    match s {
        ..=3 => 1,
        4..=5 => 2,
        6..=7 => 3,
        _ => 4,
    }
}

pub(crate) fn minio_parity(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "Tenant" {
        return;
    }
    let env_parity = o
        .get(&["spec", "env"])
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|e| e.get("name").and_then(Value::as_str) == Some("MINIO_STORAGE_CLASS_STANDARD"))
        .and_then(|e| e.get("value").and_then(Value::as_str))
        .and_then(|v| v.trim().strip_prefix("EC:"))
        .and_then(|n| n.parse::<i64>().ok());
    let pools = o.get(&["spec", "pools"]).and_then(Value::as_array);
    for (pi, p) in pools.into_iter().flatten().enumerate() {
        let servers = p.get("servers").and_then(as_int).unwrap_or(0);
        let vps = p.get("volumesPerServer").and_then(as_int).unwrap_or(1);
        if servers <= 0 || vps <= 0 {
            continue;
        }
        let Some(drives) = servers.checked_mul(vps) else {
            continue;
        };
        let at = format!("/spec/pools/{pi}/servers");
        // MinIO picks the largest set size in 2..=16 dividing the drive count that spreads
        // evenly over the servers.
        let set = (2..=16)
            .rev()
            .find(|s| drives % s == 0 && (s % servers == 0 || servers % s == 0));
        let Some(set) = set else {
            out.push(Hit {
                obj: i,
                pointer: at,
                message: format!(
                    "{servers} servers × {vps} volumes = {drives} drives cannot form MinIO erasure sets of 2–16 drives"
                ),
            });
            continue;
        };
        let parity = env_parity.unwrap_or_else(|| default_parity(set));
        if parity > set / 2 {
            out.push(Hit {
                obj: i,
                pointer: "/spec/env".into(),
                message: format!("parity EC:{parity} exceeds half of the {set}-drive erasure set"),
            });
            continue;
        }
        let write_quorum = set - parity + i64::from(parity * 2 == set);
        let per_server = if set >= servers { set / servers } else { 1 };
        if set - per_server < write_quorum {
            out.push(Hit {
                obj: i,
                pointer: at,
                message: format!(
                    "{servers} servers × {vps} volumes with EC:{parity} (sets of {set}): losing one server leaves {} of {set} drives, below write quorum {write_quorum}",
                    set - per_server
                ),
            });
        }
    }
}

pub(crate) fn flink_ha(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "FlinkDeployment" {
        return;
    }
    let cfg = o.get(&["spec", "flinkConfiguration"]);
    let f = |k: &str| {
        cfg.and_then(|c| {
            c.get(k)
                .or_else(|| get(c, &k.split('.').collect::<Vec<_>>()))
        })
        .and_then(Value::as_str)
    };
    let ha = f("high-availability.type").or_else(|| f("high-availability"));
    let enabled = ha.is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        t != "none" && !t.is_empty()
    });
    if !enabled {
        out.push(Hit {
            obj: i,
            pointer: "/spec/flinkConfiguration/high-availability.type".into(),
            message: "FlinkDeployment has no JobManager HA (high-availability.type)".into(),
        });
    } else if f("high-availability.storageDir").is_none_or(str::is_empty) {
        out.push(Hit {
            obj: i,
            pointer: "/spec/flinkConfiguration/high-availability.storageDir".into(),
            message: "FlinkDeployment HA has no high-availability.storageDir for its metadata"
                .into(),
        });
    }
}

pub(crate) fn clickhouse(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind != "ClickHouseInstallation" {
        return;
    }
    let global_zk = o.get(&["spec", "configuration", "zookeeper", "nodes"]);
    let clusters = o
        .get(&["spec", "configuration", "clusters"])
        .and_then(Value::as_array);
    for (ci, c) in clusters.into_iter().flatten().enumerate() {
        let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
        let replicas = get(c, &["layout", "replicasCount"])
            .and_then(as_int)
            .or_else(|| {
                get(c, &["layout", "replicas"])
                    .and_then(Value::as_array)
                    .map(|a| a.len() as i64)
            })
            .unwrap_or(1);
        let base = format!("/spec/configuration/clusters/{ci}");
        if replicas < 2 {
            out.push(Hit {
                obj: i,
                pointer: format!("{base}/layout/replicasCount"),
                message: format!("ClickHouse cluster `{name}` has {replicas} replica(s) per shard; a node loss loses data"),
            });
            continue;
        }
        let (zk, zk_ptr) = match get(c, &["zookeeper", "nodes"]) {
            Some(n) => (Some(n), format!("{base}/zookeeper/nodes")),
            None if global_zk.is_some() => {
                (global_zk, "/spec/configuration/zookeeper/nodes".to_string())
            }
            None => (None, format!("{base}/zookeeper")),
        };
        let n = zk.and_then(Value::as_array).map_or(0, Vec::len) as i64;
        if n == 0 {
            out.push(Hit {
                obj: i,
                pointer: zk_ptr,
                message: format!(
                    "ClickHouse cluster `{name}` replicates but has no ZooKeeper/Keeper nodes"
                ),
            });
        } else if n > 1 && (n < 3 || n % 2 == 0) {
            out.push(Hit {
                obj: i,
                pointer: zk_ptr,
                message: format!("ClickHouse cluster `{name}` lists {n} keeper nodes; a keeper quorum needs an odd count ≥ 3"),
            });
        }
    }
}
