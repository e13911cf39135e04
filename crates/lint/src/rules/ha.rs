//! HA rules for plain workloads and PodDisruptionBudgets.

use std::borrow::Cow;
use std::collections::HashMap;

use serde_json::{Map, Value};

use super::{Ctx, Hit};
use crate::model::{
    Container, Obj, REPLICATED_KINDS, as_int, container_name, get, pod_spec, scaled,
    selector_is_empty, selector_matches,
};

const HOSTNAME: &str = "kubernetes.io/hostname";
const ZONE: &str = "topology.kubernetes.io/zone";
/// Topology keys whose domains each hold whole nodes: pods kept apart on one of them are on
/// different nodes.
const SEPARATES_NODES: &[&str] = &[
    HOSTNAME,
    ZONE,
    "topology.kubernetes.io/region",
    "failure-domain.beta.kubernetes.io/zone",
    "failure-domain.beta.kubernetes.io/region",
];

/// Effective replica count of a replicated workload (an HPA's minReplicas wins).
pub(crate) fn workload_replicas(ctx: &Ctx, o: &Obj) -> Option<(i64, String)> {
    if !REPLICATED_KINDS.contains(&o.kind) {
        return None;
    }
    if let Some(min) = ctx.index.hpa_min(o) {
        return Some((min, "/spec/replicas".into()));
    }
    let n = o.get(&["spec", "replicas"]).and_then(as_int).unwrap_or(1);
    Some((n, "/spec/replicas".into()))
}

/// Consensus-based sets, detected by name, common labels or image (any tree, not only ours).
pub(crate) fn quorum_component(o: &Obj) -> Option<&'static str> {
    if o.kind != "StatefulSet" {
        return None;
    }
    let mut words: Vec<&str> = vec![o.name];
    if let Some(l) = o.labels() {
        for k in [
            "app",
            "app.kubernetes.io/name",
            "app.kubernetes.io/component",
        ] {
            if let Some(v) = l.get(k).and_then(Value::as_str) {
                words.push(v);
            }
        }
    }
    if pod_spec(o).is_some() {
        for (_, c, _) in o.containers.iter().map(Container::tuple) {
            if let Some(img) = c.get("image").and_then(Value::as_str) {
                // Only the repository name, not registry or tag.
                let repo = img.split(['@', ':']).next().unwrap_or(img);
                words.push(repo.rsplit('/').next().unwrap_or(repo));
            }
        }
    }
    for w in words {
        let w = w.to_ascii_lowercase();
        for (needle, what) in [
            ("etcd", "etcd"),
            ("zookeeper", "ZooKeeper"),
            ("clickhouse-keeper", "ClickHouse Keeper"),
            ("sentinel", "Redis Sentinel"),
        ] {
            if w.contains(needle) {
                return Some(what);
            }
        }
    }
    None
}

pub(crate) fn replicas(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if quorum_component(o).is_some() {
        return;
    }
    if let Some((n, p)) = workload_replicas(ctx, o)
        && (1..2).contains(&n)
    {
        out.push(Hit {
            obj: i,
            pointer: p,
            message: format!("{} runs {n} replica; HA needs at least 2", o.kind),
        });
    }
    if o.kind == "RedisReplication" {
        let n = o
            .get(&["spec", "clusterSize"])
            .and_then(as_int)
            .unwrap_or(1);
        if n < 2 {
            out.push(Hit {
                obj: i,
                pointer: "/spec/clusterSize".into(),
                message: format!("RedisReplication has clusterSize {n}; a replica to fail over to needs at least 2"),
            });
        }
    }
}

fn quorum_msg(what: &str, n: i64) -> String {
    if n < 3 {
        format!("{what} quorum set has {n} member(s); it tolerates no failure: use 3 or 5")
    } else {
        format!(
            "{what} quorum set has an even size {n}; it tolerates no more failures than {}: use {} or {}",
            n - 1,
            n - 1,
            n + 1
        )
    }
}

fn bad_quorum(n: i64) -> bool {
    n != 0 && (n < 3 || n % 2 == 0)
}

pub(crate) fn quorum_size(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let mut push = |pointer: String, what: &str, n: i64| {
        if bad_quorum(n) {
            out.push(Hit {
                obj: i,
                pointer,
                message: quorum_msg(what, n),
            });
        }
    };
    if let Some(what) = quorum_component(o) {
        if let Some((n, p)) = workload_replicas(ctx, o) {
            push(p, what, n);
        }
        return;
    }
    match o.kind {
        "RedisSentinel" => {
            let n = o
                .get(&["spec", "clusterSize"])
                .and_then(as_int)
                .unwrap_or(3);
            push("/spec/clusterSize".into(), "Redis Sentinel", n);
        }
        "EtcdCluster" => {
            let n = o.get(&["spec", "size"]).and_then(as_int).unwrap_or(1);
            push("/spec/size".into(), "etcd", n);
        }
        "ClickHouseKeeperInstallation" => {
            let clusters = o
                .get(&["spec", "configuration", "clusters"])
                .and_then(Value::as_array);
            for (ci, c) in clusters.into_iter().flatten().enumerate() {
                let n = get(c, &["layout", "replicasCount"])
                    .and_then(as_int)
                    .or_else(|| {
                        get(c, &["layout", "replicas"])
                            .and_then(Value::as_array)
                            .map(|a| a.len() as i64)
                    })
                    .unwrap_or(1);
                push(
                    format!("/spec/configuration/clusters/{ci}/layout/replicasCount"),
                    "ClickHouse Keeper",
                    n,
                );
            }
        }
        _ => {}
    }
}

/// A group of identical pods: a workload's template or one pool/instance set of an operator CR.
pub(crate) struct PodGroup<'a> {
    pub replicas: i64,
    /// Pointer to the object holding `affinity` and `topologySpreadConstraints`.
    pub at: String,
    pub holder: Option<&'a Value>,
    /// Pod labels when the tree defines them (plain workloads); operators choose their own.
    pub labels: Option<&'a Map<String, Value>>,
    pub what: String,
}

pub(crate) fn pod_groups<'a>(ctx: &Ctx, o: &Obj<'a>) -> Vec<PodGroup<'a>> {
    let mut v = Vec::new();
    if let Some((n, _)) = workload_replicas(ctx, o)
        && let Some(ps) = pod_spec(o)
    {
        v.push(PodGroup {
            replicas: n,
            at: ps.ptr.to_string(),
            holder: Some(ps.spec),
            labels: ps.labels,
            what: o.kind.to_string(),
        });
        return v;
    }
    let arr = |path: &[&str]| o.get(path).and_then(Value::as_array);
    match o.kind {
        "PostgresCluster" => {
            for (i, inst) in arr(&["spec", "instances"])
                .into_iter()
                .flatten()
                .enumerate()
            {
                v.push(PodGroup {
                    replicas: inst.get("replicas").and_then(as_int).unwrap_or(1),
                    at: format!("/spec/instances/{i}"),
                    holder: Some(inst),
                    labels: None,
                    what: format!(
                        "instance set `{}`",
                        inst.get("name").and_then(Value::as_str).unwrap_or("?")
                    ),
                });
            }
        }
        "KafkaNodePool" => v.push(PodGroup {
            replicas: o.get(&["spec", "replicas"]).and_then(as_int).unwrap_or(0),
            at: "/spec/template/pod".into(),
            holder: o.get(&["spec", "template", "pod"]),
            labels: None,
            what: "KafkaNodePool".into(),
        }),
        "RedisReplication" | "RedisSentinel" => v.push(PodGroup {
            replicas: o
                .get(&["spec", "clusterSize"])
                .and_then(as_int)
                .unwrap_or(if o.kind == "RedisSentinel" { 3 } else { 1 }),
            at: "/spec".into(),
            holder: o.get(&["spec"]),
            labels: None,
            what: o.kind.to_string(),
        }),
        "Tenant" => {
            for (i, p) in arr(&["spec", "pools"]).into_iter().flatten().enumerate() {
                v.push(PodGroup {
                    replicas: p.get("servers").and_then(as_int).unwrap_or(0),
                    at: format!("/spec/pools/{i}"),
                    holder: Some(p),
                    labels: None,
                    what: format!(
                        "pool `{}`",
                        p.get("name").and_then(Value::as_str).unwrap_or("?")
                    ),
                });
            }
        }
        _ => {}
    }
    v
}

fn anti_affinity_terms<'a>(holder: Option<&'a Value>, kind: &str) -> Vec<&'a Value> {
    holder
        .and_then(|h| get(h, &["affinity", "podAntiAffinity", kind]))
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default()
}

pub(crate) fn anti_affinity(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    for g in pod_groups(ctx, o) {
        if g.replicas < 2 {
            continue;
        }
        let terms = anti_affinity_terms(g.holder, "requiredDuringSchedulingIgnoredDuringExecution");
        // Required anti-affinity on a zone (or region) key separates the pods at least as
        // far as the hostname key does: a zone never spans less than one node.
        let host_terms: Vec<&Value> = terms
            .iter()
            .copied()
            .filter(|t| {
                t.get("topologyKey")
                    .and_then(Value::as_str)
                    .is_some_and(|k| SEPARATES_NODES.contains(&k))
            })
            .collect();
        let pointer = format!(
            "{}/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution",
            g.at
        );
        if host_terms.is_empty() {
            out.push(Hit {
                obj: i,
                pointer,
                message: format!(
                    "{} has {} replicas but no required pod anti-affinity on {HOSTNAME} (or a zone); they may all land on one node",
                    g.what, g.replicas
                ),
            });
            continue;
        }
        if let Some(labels) = g.labels
            && !host_terms.iter().any(|t| {
                t.get("labelSelector")
                    .is_some_and(|s| selector_matches(s, Some(labels)))
            })
        {
            out.push(Hit {
                obj: i,
                pointer,
                message: format!(
                    "{}'s anti-affinity labelSelector does not match its own pod labels, so it spreads nothing",
                    g.what
                ),
            });
        }
    }
}

pub(crate) fn zone_spread(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    for g in pod_groups(ctx, o) {
        if g.replicas < 2 {
            continue;
        }
        let tsc = g
            .holder
            .and_then(|h| h.get("topologySpreadConstraints"))
            .and_then(Value::as_array);
        let by_tsc = tsc
            .into_iter()
            .flatten()
            .any(|t| t.get("topologyKey").and_then(Value::as_str) == Some(ZONE));
        let by_aff = ["requiredDuringSchedulingIgnoredDuringExecution"]
            .iter()
            .flat_map(|k| anti_affinity_terms(g.holder, k))
            .chain(
                anti_affinity_terms(g.holder, "preferredDuringSchedulingIgnoredDuringExecution")
                    .into_iter()
                    .filter_map(|w| w.get("podAffinityTerm")),
            )
            .any(|t| t.get("topologyKey").and_then(Value::as_str) == Some(ZONE));
        if !by_tsc && !by_aff {
            out.push(Hit {
                obj: i,
                pointer: format!("{}/topologySpreadConstraints", g.at),
                message: format!(
                    "{} has {} replicas but no topology spread on {ZONE}",
                    g.what, g.replicas
                ),
            });
        }
    }
}

pub(crate) fn pdb_exists(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    // The OT redis-operator creates a PDB only when asked to.
    if matches!(o.kind, "RedisReplication" | "RedisSentinel") {
        let n = o
            .get(&["spec", "clusterSize"])
            .and_then(as_int)
            .unwrap_or(if o.kind == "RedisSentinel" { 3 } else { 1 });
        let on = o.get(&["spec", "pdb", "enabled"]).and_then(Value::as_bool) == Some(true);
        if n >= 2 && !on && !redis_pods_budgeted(ctx, o) {
            out.push(Hit {
                obj: i,
                pointer: "/spec/pdb/enabled".into(),
                message: format!(
                    "{} has {n} pods but spec.pdb is not enabled: the operator creates no PodDisruptionBudget",
                    o.kind
                ),
            });
        }
        return;
    }
    let Some((n, _)) = workload_replicas(ctx, o) else {
        return;
    };
    if pod_spec(o).is_some() && n >= 2 && !ctx.pdb_covered.contains(&i) {
        out.push(Hit {
            obj: i,
            pointer: "/metadata/name".into(),
            message: format!(
                "{} has {n} replicas but no PodDisruptionBudget selects its pods",
                o.kind
            ),
        });
    }
}

/// Pods an operator creates from a custom resource: their labels (what the operator puts on
/// them, plus the labels the CR asks for), how many, and whether they form a quorum.
pub(crate) struct OperatorPods<'a> {
    pub ns: &'a str,
    pub labels: Map<String, Value>,
    pub replicas: i64,
    pub what: String,
    pub quorum: Option<&'static str>,
}

fn labels_of(pairs: &[(&str, &str)], extra: &[Option<&Value>]) -> Map<String, Value> {
    let mut m: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_string(), Value::String((*v).to_string())))
        .collect();
    for e in extra.iter().flatten() {
        if let Some(o) = e.as_object() {
            for (k, v) in o {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m
}

/// The pods of known operators' custom resources: Prometheus, Alertmanager and ThanosRuler
/// (prometheus-operator), PostgresCluster instance sets (Crunchy PGO), KafkaNodePools
/// (Strimzi) and MinIO Tenant pools, with the labels each operator sets on its pods.
pub(crate) fn operator_pods<'a>(objs: &[Obj<'a>]) -> Vec<OperatorPods<'a>> {
    let mut v = Vec::new();
    for o in objs {
        let n = o.name;
        let mut push = |labels: Map<String, Value>, replicas: i64, what: String, quorum| {
            v.push(OperatorPods {
                ns: o.ns(),
                labels,
                replicas,
                what,
                quorum,
            })
        };
        let api = o.get(&["apiVersion"]).and_then(Value::as_str).unwrap_or("");
        let int = |path: &[&str], d: i64| o.get(path).and_then(as_int).unwrap_or(d);
        match o.kind {
            "Prometheus" | "Alertmanager" | "ThanosRuler"
                if api.starts_with("monitoring.coreos.com/") =>
            {
                let (app, key) = match o.kind {
                    "Prometheus" => ("prometheus", "prometheus"),
                    "Alertmanager" => ("alertmanager", "alertmanager"),
                    _ => ("thanos-ruler", "thanos-ruler"),
                };
                let mut pairs = vec![
                    ("app.kubernetes.io/name", app),
                    ("app.kubernetes.io/instance", n),
                    ("app.kubernetes.io/managed-by", "prometheus-operator"),
                    (key, n),
                ];
                if o.kind == "Prometheus" {
                    pairs.push(("operator.prometheus.io/name", n));
                }
                // Shards are separate StatefulSets of `replicas` pods each, with the same
                // labels but the shard number; a budget over the name covers them all.
                let shards = if o.kind == "Prometheus" {
                    int(&["spec", "shards"], 1).max(1)
                } else {
                    1
                };
                push(
                    labels_of(&pairs, &[o.get(&["spec", "podMetadata", "labels"])]),
                    int(&["spec", "replicas"], 1).saturating_mul(shards),
                    format!("pods of {}/{n}", o.kind),
                    None,
                );
            }
            "PostgresCluster" => {
                let inst = o.get(&["spec", "instances"]).and_then(Value::as_array);
                for x in inst.into_iter().flatten() {
                    let set = x.get("name").and_then(Value::as_str).unwrap_or("");
                    push(
                        labels_of(
                            &[
                                ("postgres-operator.crunchydata.com/cluster", n),
                                ("postgres-operator.crunchydata.com/instance-set", set),
                                ("postgres-operator.crunchydata.com/data", "postgres"),
                            ],
                            &[
                                o.get(&["spec", "metadata", "labels"]),
                                get(x, &["metadata", "labels"]),
                            ],
                        ),
                        x.get("replicas").and_then(as_int).unwrap_or(1),
                        format!("instance set `{set}` of PostgresCluster/{n}"),
                        None,
                    );
                }
            }
            "KafkaNodePool" => {
                let Some(cluster) = o
                    .get(&["metadata", "labels", "strimzi.io/cluster"])
                    .and_then(Value::as_str)
                else {
                    continue;
                };
                let controller = o
                    .get(&["spec", "roles"])
                    .and_then(Value::as_array)
                    .is_some_and(|r| r.iter().any(|x| x.as_str() == Some("controller")));
                push(
                    labels_of(
                        &[
                            ("strimzi.io/cluster", cluster),
                            ("strimzi.io/pool-name", n),
                            ("strimzi.io/kind", "Kafka"),
                            ("app.kubernetes.io/name", "kafka"),
                            ("app.kubernetes.io/instance", cluster),
                        ],
                        &[o.get(&["spec", "template", "pod", "metadata", "labels"])],
                    ),
                    int(&["spec", "replicas"], 0),
                    format!("pods of KafkaNodePool/{n}"),
                    controller.then_some("KRaft controller"),
                );
            }
            "Tenant" if api.starts_with("minio.min.io/") => {
                let pools = o.get(&["spec", "pools"]).and_then(Value::as_array);
                for p in pools.into_iter().flatten() {
                    let pool = p.get("name").and_then(Value::as_str).unwrap_or("");
                    push(
                        labels_of(
                            &[("v1.min.io/tenant", n), ("v1.min.io/pool", pool)],
                            &[o.get(&["spec", "poolsMetadata", "labels"])],
                        ),
                        p.get("servers").and_then(as_int).unwrap_or(0),
                        format!("pool `{pool}` of Tenant/{n}"),
                        None,
                    );
                }
            }
            _ => {}
        }
    }
    v
}

/// The items (by index) whose labels a selector can match: the smallest set that surely
/// holds every match, taken from one `matchLabels` pair or one `In` expression, else `all`.
/// Matching against this set instead of a whole namespace keeps matching linear when
/// thousands of selectors and pods share a namespace.
pub(crate) fn candidates<'s>(
    sel: &'s Value,
    bucket: &dyn Fn(&'s str, &'s str) -> &'s [usize],
    all: &'s [usize],
) -> Cow<'s, [usize]> {
    let mut best: Cow<'s, [usize]> = Cow::Borrowed(all);
    if let Some(ml) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in ml {
            let Some(v) = v.as_str() else {
                // A label value that is not a string matches no pod.
                return Cow::Borrowed(&[]);
            };
            let b = bucket(k, v);
            if b.len() < best.len() {
                best = Cow::Borrowed(b);
            }
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if e.get("operator").and_then(Value::as_str) != Some("In") {
            continue;
        }
        let Some(k) = e.get("key").and_then(Value::as_str) else {
            continue;
        };
        let values = e.get("values").and_then(Value::as_array);
        let buckets: Vec<&[usize]> = values
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(|v| bucket(k, v))
            .collect();
        if buckets.iter().map(|b| b.len()).sum::<usize>() < best.len() {
            let mut u: Vec<usize> = buckets.concat();
            u.sort_unstable();
            u.dedup();
            best = Cow::Owned(u);
        }
    }
    best
}

/// Objects with a pod template, by (namespace, label key, label value) of their pods and by
/// namespace (in tree order).
pub(crate) struct PodLabels<'a> {
    pub by_pair: HashMap<(&'a str, &'a str, &'a str), Vec<usize>>,
    pub by_ns: HashMap<&'a str, Vec<usize>>,
}

pub(crate) fn pod_label_index<'a>(objs: &[Obj<'a>]) -> PodLabels<'a> {
    let mut by_pair: HashMap<(&str, &str, &str), Vec<usize>> = HashMap::new();
    let mut by_ns: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, o) in objs.iter().enumerate() {
        let Some(ps) = o.pod else { continue };
        by_ns.entry(o.ns()).or_default().push(i);
        for (k, v) in ps.labels.into_iter().flatten() {
            if let Some(v) = v.as_str() {
                by_pair.entry((o.ns(), k.as_str(), v)).or_default().push(i);
            }
        }
    }
    PodLabels { by_pair, by_ns }
}

impl<'a> PodLabels<'a> {
    pub fn candidates<'s>(&'s self, ns: &'a str, sel: &'s Value) -> Cow<'s, [usize]> {
        let all = self.by_ns.get(ns).map(Vec::as_slice).unwrap_or(&[]);
        candidates(sel, &|k, v| lookup(&self.by_pair, (ns, k, v)), all)
    }
}

fn lookup<'s, 'k>(
    m: &'s HashMap<(&'k str, &'k str, &'k str), Vec<usize>>,
    key: (&'k str, &'k str, &'k str),
) -> &'s [usize] {
    m.get(&key).map(Vec::as_slice).unwrap_or(&[])
}

/// A PodDisruptionBudget of our own selects the pods redis-operator makes from `o` (its
/// RedisReplication CRD before v0.16 has no `spec.pdb`). The operator labels them with the CR's
/// labels plus `app`, `redis_setup_type` and `role` (`getRedisLabels` in `k8sutils/labels.go`):
/// `app: <name>` and role `replication` for a RedisReplication, `app: <name>-sentinel` and role
/// `sentinel` for a RedisSentinel.
fn redis_pods_budgeted(ctx: &Ctx, o: &Obj) -> bool {
    let mut labels = o.labels().cloned().unwrap_or_default();
    let (app, setup, role) = if o.kind == "RedisSentinel" {
        (format!("{}-sentinel", o.name), "sentinel", "sentinel")
    } else {
        (o.name.to_string(), "replication", "replication")
    };
    labels.insert("app".into(), Value::String(app));
    labels.insert("redis_setup_type".into(), setup.into());
    labels.insert("role".into(), role.into());
    ctx.of_kind(o.ns(), "PodDisruptionBudget").any(|p| {
        let sel = p.get(&["spec", "selector"]);
        !selector_is_empty(sel) && sel.is_some_and(|s| selector_matches(s, Some(&labels)))
    })
}

/// Replicated workloads (index, replicas) a PDB selects; computed once per run.
pub(crate) fn compute_pdb_targets(ctx: &Ctx, index: &PodLabels, pdb: &Obj) -> Vec<(usize, i64)> {
    let Some(sel) = pdb.get(&["spec", "selector"]) else {
        return Vec::new();
    };
    let mut v = Vec::new();
    for &k in index.candidates(pdb.ns(), sel).iter() {
        let w = &ctx.objs[k];
        if let (Some(ps), Some((n, _))) = (pod_spec(w), workload_replicas(ctx, w))
            && n > 0
            && selector_matches(sel, ps.labels)
        {
            v.push((k, n));
        }
    }
    v
}

/// Operator pod groups (indexes into `ctx.operator_pods`) a PDB selects.
pub(crate) fn compute_pdb_operator_targets(ctx: &Ctx, pdb: &Obj) -> Vec<usize> {
    let Some(sel) = pdb.get(&["spec", "selector"]) else {
        return Vec::new();
    };
    // An empty selector selects every pod of the namespace; only a selector that names
    // labels stands for an operator's pods.
    if selector_is_empty(Some(sel)) {
        return Vec::new();
    }
    ctx.operator_pods
        .iter()
        .enumerate()
        .filter(|(_, g)| {
            g.ns == pdb.ns() && g.replicas > 0 && selector_matches(sel, Some(&g.labels))
        })
        .map(|(k, _)| k)
        .collect()
}

fn pdb_targets<'c, 'a>(ctx: &'c Ctx<'a>, i: usize) -> impl Iterator<Item = (&'c Obj<'a>, i64)> {
    ctx.pdb_targets
        .get(&i)
        .into_iter()
        .flatten()
        .map(|&(k, n)| (&ctx.objs[k], n))
}

/// Disruptions a budget allows for `n` pods, and the field that decides it.
fn allowed(pdb: &Obj, n: i64) -> Option<(i64, &'static str)> {
    if let Some(v) = pdb.get(&["spec", "maxUnavailable"]) {
        return scaled(v, n).map(|u| (u, "/spec/maxUnavailable"));
    }
    // policy/v1 defaults to minAvailable 1 when neither field is set.
    let m = match pdb.get(&["spec", "minAvailable"]) {
        Some(v) => scaled(v, n)?,
        None => 1,
    };
    Some((n.saturating_sub(m), "/spec/minAvailable"))
}

/// One disruption budget over a set of `n` pods: a PodDisruptionBudget and each workload it
/// selects, or a budget an operator CR asks its operator to create.
struct Budget {
    n: i64,
    /// Disruptions allowed.
    d: i64,
    pointer: String,
    target: String,
    quorum: Option<&'static str>,
}

/// Disruptions allowed by minAvailable/maxUnavailable fields under `at` (None if neither).
fn allowed_at(holder: &Value, min: &str, max: &str, n: i64, at: &str) -> Option<(i64, String)> {
    if let Some(v) = holder.get(max).filter(|v| !v.is_null()) {
        return scaled(v, n).map(|u| (u, format!("{at}/{max}")));
    }
    let m = scaled(holder.get(min).filter(|v| !v.is_null())?, n)?;
    Some((n.saturating_sub(m), format!("{at}/{min}")))
}

fn budgets(ctx: &Ctx, i: usize, o: &Obj) -> Vec<Budget> {
    let mut v = Vec::new();
    match o.kind {
        "PodDisruptionBudget" => {
            for (w, n) in pdb_targets(ctx, i) {
                if let Some((d, field)) = allowed(o, n) {
                    v.push(Budget {
                        n,
                        d,
                        pointer: field.into(),
                        target: format!("{}/{}", w.kind, w.name),
                        quorum: quorum_component(w),
                    });
                }
            }
            for &g in ctx.pdb_operator_targets.get(&i).into_iter().flatten() {
                let g = &ctx.operator_pods[g];
                if let Some((d, field)) = allowed(o, g.replicas) {
                    v.push(Budget {
                        n: g.replicas,
                        d,
                        pointer: field.into(),
                        target: g.what.clone(),
                        quorum: g.quorum,
                    });
                }
            }
        }
        "RedisSentinel" | "RedisReplication" => {
            let sentinel = o.kind == "RedisSentinel";
            let n = o
                .get(&["spec", "clusterSize"])
                .and_then(as_int)
                .unwrap_or(if sentinel { 3 } else { 1 });
            if let Some(pdb) = o.get(&["spec", "pdb"])
                && pdb.get("enabled").and_then(Value::as_bool) == Some(true)
                && let Some((d, pointer)) =
                    allowed_at(pdb, "minAvailable", "maxUnavailable", n, "/spec/pdb")
            {
                v.push(Budget {
                    n,
                    d,
                    pointer,
                    target: format!("{}/{}", o.kind, o.name),
                    quorum: sentinel.then_some("Redis Sentinel"),
                });
            }
        }
        "PostgresCluster" => {
            let inst = o.get(&["spec", "instances"]).and_then(Value::as_array);
            for (k, x) in inst.into_iter().flatten().enumerate() {
                let n = x.get("replicas").and_then(as_int).unwrap_or(1);
                let at = format!("/spec/instances/{k}");
                if let Some((d, pointer)) = allowed_at(x, "minAvailable", "-", n, &at) {
                    v.push(Budget {
                        n,
                        d,
                        pointer,
                        target: format!("instance set {k} of PostgresCluster/{}", o.name),
                        quorum: None,
                    });
                }
            }
        }
        "ClickHouseKeeperInstallation" | "ClickHouseInstallation" => {
            let keeper = o.kind == "ClickHouseKeeperInstallation";
            let cl = o
                .get(&["spec", "configuration", "clusters"])
                .and_then(Value::as_array);
            for (k, c) in cl.into_iter().flatten().enumerate() {
                let n = get(c, &["layout", "replicasCount"])
                    .and_then(as_int)
                    .unwrap_or(1);
                let at = format!("/spec/configuration/clusters/{k}");
                if let Some((d, pointer)) = allowed_at(c, "-", "pdbMaxUnavailable", n, &at) {
                    v.push(Budget {
                        n,
                        d,
                        pointer,
                        target: format!("cluster {k} of {}/{}", o.kind, o.name),
                        quorum: keeper.then_some("ClickHouse Keeper"),
                    });
                }
            }
        }
        _ => {}
    }
    v
}

pub(crate) fn pdb_quorum(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    for b in budgets(ctx, i, o) {
        let (n, d) = (b.n, b.d);
        if let Some(what) = b.quorum {
            // Below 3 members no budget can protect the quorum; DL1002 reports the size.
            if n < 3 {
                continue;
            }
            let q = n / 2 + 1;
            if d > n - q {
                out.push(Hit {
                    obj: i,
                    pointer: b.pointer,
                    message: format!(
                        "budget lets {d} of {n} {what} members ({}) be evicted; the majority of {q} needs at most {} down",
                        b.target,
                        n - q
                    ),
                });
            }
        } else if n >= 2 && d >= n {
            out.push(Hit {
                obj: i,
                pointer: b.pointer,
                message: format!(
                    "budget lets all {n} pods of {} be evicted at once",
                    b.target
                ),
            });
        }
    }
}

pub(crate) fn pdb_blocks(ctx: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    let mut reported = false;
    for b in budgets(ctx, i, o) {
        if b.d <= 0 && b.n > 0 {
            out.push(Hit {
                obj: i,
                pointer: b.pointer,
                message: format!(
                    "budget allows no eviction of {} ({} replicas): node drains will hang",
                    b.target, b.n
                ),
            });
            reported = true;
        }
    }
    // Without a known target a zero budget still blocks whatever it selects.
    if o.kind == "PodDisruptionBudget"
        && !reported
        && let Some(v) = o.get(&["spec", "maxUnavailable"])
        && scaled(v, 100) == Some(0)
        && pdb_targets(ctx, i).next().is_none()
        && !ctx.pdb_operator_targets.contains_key(&i)
    {
        out.push(Hit {
            obj: i,
            pointer: "/spec/maxUnavailable".into(),
            message: "maxUnavailable 0 allows no eviction: node drains will hang".into(),
        });
    }
}

const LONG_RUNNING: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "DeploymentConfig",
    "Pod",
];

pub(crate) fn probes(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if !LONG_RUNNING.contains(&o.kind) {
        return;
    }
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, regular) in o.containers.iter().map(Container::tuple) {
        if !regular {
            continue;
        }
        let missing: Vec<&str> = ["readinessProbe", "livenessProbe"]
            .into_iter()
            .filter(|k| c.get(*k).is_none_or(Value::is_null))
            .collect();
        if !missing.is_empty() {
            out.push(Hit {
                obj: i,
                pointer: format!("{p}/{}", missing[0]),
                message: format!(
                    "container `{}` has no {}",
                    container_name(c),
                    missing.join(" and ")
                ),
            });
        }
    }
}

pub(crate) fn probe_ports(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if pod_spec(o).is_none() {
        return;
    }
    for (p, c, _) in o.containers.iter().map(Container::tuple) {
        let names: Vec<&str> = c
            .get("ports")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|x| x.get("name").and_then(Value::as_str))
            .collect();
        for probe in ["readinessProbe", "livenessProbe", "startupProbe"] {
            for handler in ["httpGet", "tcpSocket", "grpc"] {
                // Only a named port must be declared: the kubelet resolves a name against
                // the container's ports, while a number is dialled as it is (a process may
                // well listen on a port it does not declare, e.g. a metrics or health port).
                let Some(Value::String(s)) = c
                    .get(probe)
                    .and_then(|x| x.get(handler))
                    .and_then(|h| h.get("port"))
                else {
                    continue;
                };
                if s.trim().parse::<i64>().is_ok() || names.contains(&s.as_str()) {
                    continue;
                }
                out.push(Hit {
                    obj: i,
                    pointer: format!("{p}/{probe}/{handler}/port"),
                    message: format!(
                        "{probe} of container `{}` targets named port `{s}`, which the container does not declare",
                        container_name(c)
                    ),
                });
            }
        }
    }
}

pub(crate) fn bare_pod(_: &Ctx, i: usize, o: &Obj, out: &mut Vec<Hit>) {
    if o.kind == "Pod"
        && o.get(&["metadata", "ownerReferences"])
            .and_then(Value::as_array)
            .is_none_or(Vec::is_empty)
    {
        out.push(Hit {
            obj: i,
            pointer: "/kind".into(),
            message: "bare Pod is not recreated when its node fails".into(),
        });
    }
}
