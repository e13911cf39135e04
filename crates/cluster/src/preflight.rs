//! Preflight: typed checks over a [`Snapshot`] of cluster objects. Gathering the snapshot is the
//! only I/O (see `engine::snapshot`); every analyzer here is pure, so recorded fixtures test it.

use std::collections::{BTreeMap, BTreeSet};

use datalyptica_platform::Tree;
use datalyptica_platform::crs::PodOwner;
use datalyptica_platform::model::Model;
use datalyptica_platform::units::parse_quantity;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plan::{Plan, kind_of, name_of};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    Pass,
    Warn,
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Check {
    pub id: &'static str,
    pub outcome: Outcome,
    pub message: String,
    /// What to do about a warn or a fail; empty on pass.
    pub fix: String,
}

/// One SelfSubjectAccessReview's question and the API server's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub allowed: bool,
}

/// What preflight reads from the cluster. Serializable, so a cluster's state can be recorded
/// once and the analyzers replayed on it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Snapshot {
    /// Set when the API could not be reached or refused the credentials.
    pub api_error: Option<String>,
    /// `/version`.
    pub version: Option<Value>,
    /// `clusterversions.config.openshift.io/version`; absent on plain Kubernetes.
    pub cluster_version: Option<Value>,
    pub access: Vec<Access>,
    pub nodes: Vec<Value>,
    pub storage_classes: Vec<Value>,
    pub catalog_sources: Vec<Value>,
    pub package_manifests: Vec<Value>,
    /// Subscriptions anywhere in the cluster (to find a second install of one of our packages).
    pub subscriptions: Vec<Value>,
    /// Existing Namespaces the platform would own.
    pub namespaces: Vec<Value>,
    /// Of the kinds the platform needs before any of its operators runs (`apiVersion/Kind`), those
    /// discovery lists. None: not checked.
    pub served_kinds: Option<Vec<String>>,
    /// Of the user-provided Secrets (`namespace/name`), those that exist. Names only: their
    /// values are never read into the snapshot. None: not checked.
    pub user_secrets_present: Option<Vec<String>>,
}

/// The verbs deploy, destroy and troubleshoot use, as SelfSubjectAccessReview questions.
pub const NEEDED_ACCESS: &[(&str, &str, &str)] = &[
    ("*", "*", "*"),
    ("create", "", "namespaces"),
    ("patch", "", "secrets"),
    ("delete", "", "persistentvolumeclaims"),
    ("patch", "storage.k8s.io", "storageclasses"),
    ("patch", "operators.coreos.com", "subscriptions"),
    ("patch", "operators.coreos.com", "operatorgroups"),
    ("get", "apiextensions.k8s.io", "customresourcedefinitions"),
    ("patch", "networking.k8s.io", "networkpolicies"),
];

/// A set of identical pods the spec asks for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PodSet {
    pub component: String,
    pub name: String,
    pub replicas: u32,
    /// Per pod, in cores and bytes.
    pub cpu: f64,
    pub memory: f64,
    /// Required hostname anti-affinity: each replica on its own node.
    pub distinct_nodes: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Requirements {
    pub platform: String,
    pub ha: bool,
    pub pod_sets: Vec<PodSet>,
    pub rwo_class: String,
    pub rwx_class: String,
    pub classes_rendered: bool,
    /// (package, channel, source, source namespace).
    pub operators: Vec<(String, String, String, String)>,
    pub operators_namespace: String,
    pub namespaces: Vec<String>,
    /// Kinds no subscribed operator brings (`apiVersion/Kind`, component or step): OLM's own,
    /// OpenShift's, monitoring's and those of Helm-installed operators.
    pub preinstalled_kinds: Vec<(String, String)>,
    /// Secrets only the user can provide: (`namespace/name`, what it holds).
    pub user_secrets: Vec<(String, String)>,
}

fn q(s: Option<&str>) -> f64 {
    s.and_then(|s| parse_quantity(s).ok())
        .map(|q| q.0)
        .unwrap_or(0.0)
}

fn requests(res: &Value) -> (f64, f64) {
    let r = &res["requests"];
    (q(r["cpu"].as_str()), q(r["memory"].as_str()))
}

fn template_set(component: &str, o: &Value) -> Option<PodSet> {
    let spec = &o["spec"]["template"]["spec"];
    let containers = spec["containers"].as_array()?;
    let (cpu, memory) = containers.iter().fold((0.0, 0.0), |acc, c| {
        let (c1, m1) = requests(&c["resources"]);
        (acc.0 + c1, acc.1 + m1)
    });
    let replicas = match kind_of(o) {
        "Job" => 1,
        _ => o["spec"]["replicas"].as_u64().unwrap_or(1) as u32,
    };
    Some(PodSet {
        component: component.into(),
        name: format!("{}/{}", kind_of(o), name_of(o)),
        replicas,
        cpu,
        memory,
        distinct_nodes:
            !spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                .is_null(),
    })
}

/// Pod sets of operator-managed kinds, read from the rendered custom resources.
fn cr_sets(component: &str, o: &Value, ha: bool) -> Vec<PodSet> {
    let set = |name: String, replicas: u64, res: &Value| {
        let (cpu, memory) = requests(res);
        PodSet {
            component: component.into(),
            name,
            replicas: replicas as u32,
            cpu,
            memory,
            distinct_nodes: ha && replicas > 1,
        }
    };
    let s = &o["spec"];
    let n = name_of(o);
    let Some(owner) = PodOwner::of(o) else {
        return vec![];
    };
    match owner {
        PodOwner::PostgresCluster => s["instances"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| {
                set(
                    format!("PostgresCluster/{n}/{}", i["name"].as_str().unwrap_or("")),
                    i["replicas"].as_u64().unwrap_or(1),
                    &i["resources"],
                )
            })
            .collect(),
        PodOwner::KafkaNodePool => vec![set(
            format!("KafkaNodePool/{n}"),
            s["replicas"].as_u64().unwrap_or(1),
            &s["resources"],
        )],
        PodOwner::Tenant => s["pools"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                set(
                    format!("Tenant/{n}/{}", p["name"].as_str().unwrap_or("")),
                    p["servers"].as_u64().unwrap_or(1),
                    &p["resources"],
                )
            })
            .collect(),
        PodOwner::RedisReplication | PodOwner::RedisSentinel => vec![set(
            format!("{}/{n}", owner.type_ref().1),
            s["clusterSize"].as_u64().unwrap_or(1),
            &s["kubernetesConfig"]["resources"],
        )],
        PodOwner::FlinkDeployment => {
            let jm = &s["jobManager"];
            let res = |r: &Value| serde_json::json!({"requests": {"cpu": r["cpu"].as_f64().map(|c| c.to_string()), "memory": r["memory"]}});
            vec![set(
                format!("FlinkDeployment/{n}/jobmanager"),
                jm["replicas"].as_u64().unwrap_or(1),
                &res(&jm["resource"]),
            )]
        }
        // The brokers are the node pools' pods; ClickHouse's pod shape is not read (sized from
        // the spec by the caller).
        PodOwner::Kafka
        | PodOwner::ClickHouseInstallation
        | PodOwner::ClickHouseKeeperInstallation => vec![],
    }
}

pub fn requirements(m: &Model, tree: &Tree, plan: &Plan) -> Requirements {
    let ha = m.ha();
    let mut pod_sets = Vec::new();
    for c in plan.components() {
        let mut sets: Vec<PodSet> = Vec::new();
        for o in &c.objects {
            match kind_of(o) {
                "Deployment" | "StatefulSet" | "Job" => {
                    sets.extend(template_set(c.id.name(), o));
                }
                _ => sets.extend(cr_sets(c.id.name(), o, ha)),
            }
        }
        // Kinds whose pod shape we do not read (ClickHouse) are sized from the spec.
        if sets.iter().all(|s| s.cpu == 0.0 && s.memory == 0.0) {
            let r = m.get(c.id);
            sets = vec![PodSet {
                component: c.id.name().into(),
                name: format!("{} (from the spec)", c.id),
                replicas: r.replicas,
                cpu: q(Some(&r.resources.cpu_request)),
                memory: q(Some(&r.resources.memory_request)),
                distinct_nodes: ha && r.replicas > 1,
            }];
        }
        pod_sets.extend(sets.into_iter().filter(|s| s.replicas > 0));
    }
    let _ = tree;
    let mut preinstalled_kinds: Vec<(String, String)> = Vec::new();
    let mut need = |o: &Value, by: &str| {
        let k = format!(
            "{}/{}",
            o["apiVersion"].as_str().unwrap_or_default(),
            kind_of(o)
        );
        if !preinstalled_kinds.iter().any(|(x, _)| *x == k) {
            preinstalled_kinds.push((k, by.to_string()));
        }
    };
    for o in plan
        .prerequisites
        .iter()
        .chain(&plan.operator_objects)
        .chain(plan.carried.iter().flat_map(|c| &c.objects))
        .chain(&plan.object_store)
    {
        need(o, "prerequisites");
    }
    for c in plan.components() {
        let has_operator = plan.operators.iter().any(|op| op.component == c.id)
            || plan.carried.iter().any(|op| op.component == c.id);
        for o in &c.objects {
            // An operator's own kinds share its API group suffix; everything else (core, apps,
            // monitoring, routes, other operators' kinds) must be served before deploy.
            let av = o["apiVersion"].as_str().unwrap_or_default();
            let builtin = !av.contains('.') || av.ends_with(".k8s.io/v1");
            if !has_operator
                || builtin
                || av.starts_with("monitoring.coreos.com/")
                || av.starts_with("route.openshift.io/")
            {
                need(o, c.id.name());
            }
        }
    }
    Requirements {
        platform: m.name.clone(),
        ha,
        pod_sets,
        rwo_class: m.rwo_class.clone(),
        rwx_class: m.rwx_class.clone(),
        classes_rendered: m.create_odf_classes,
        operators: plan
            .operators
            .iter()
            .map(|o| {
                (
                    o.package.clone(),
                    o.channel.clone(),
                    o.source.clone(),
                    o.source_namespace.clone(),
                )
            })
            .collect(),
        operators_namespace: m.operators_namespace.clone(),
        namespaces: plan.namespaces.clone(),
        preinstalled_kinds,
        user_secrets: {
            let mut v: Vec<(String, String)> = plan
                .components()
                .flat_map(|c| &c.secrets)
                .filter_map(|e| match &e.source {
                    datalyptica_platform::security::SecretSource::User(why) => {
                        Some((format!("{}/{}", e.namespace, e.name), why.to_string()))
                    }
                    _ => None,
                })
                .collect();
            v.sort();
            v.dedup();
            v
        },
    }
}

fn check(id: &'static str, outcome: Outcome, message: String, fix: &str) -> Check {
    Check {
        id,
        outcome,
        message,
        fix: if outcome == Outcome::Pass {
            String::new()
        } else {
            fix.to_string()
        },
    }
}

/// Run every analyzer. The API check gates the rest: without an API nothing else is known.
pub fn analyze(r: &Requirements, s: &Snapshot) -> Vec<Check> {
    if let Some(e) = &s.api_error {
        return vec![check(
            "api",
            Outcome::Fail,
            format!("the API server is not usable: {e}"),
            "check the current kubeconfig context (`oc whoami --show-server`, `oc login …`)",
        )];
    }
    let mut out = vec![check(
        "api",
        Outcome::Pass,
        "API server reachable and authenticated".into(),
        "",
    )];
    out.push(distribution(s));
    out.push(access(s));
    let workers = schedulable_workers(&s.nodes);
    out.push(nodes(r, &workers));
    out.push(zones(r, &workers));
    out.push(capacity(r, &workers));
    out.extend(storage(r, s));
    out.extend(operators(r, s));
    out.push(apis(r, s));
    out.push(conflicts(r, s));
    out.push(user_secrets(r, s));
    out
}

/// Secrets deploy will not invent. Missing ones fail: deploy would stop at the first component
/// that reads one. Namespaces deploy has not created yet only warn, because the Secrets can be
/// created right after `deploy --phase 0` (or a first run) makes them.
fn user_secrets(r: &Requirements, s: &Snapshot) -> Check {
    let Some(present) = &s.user_secrets_present else {
        return check(
            "user-secrets",
            Outcome::Warn,
            "user-provided Secrets not checked".into(),
            "see `00-prerequisites/secrets.md` of the rendered tree",
        );
    };
    let existing_ns: BTreeSet<&str> = s
        .namespaces
        .iter()
        .filter_map(|n| n["metadata"]["name"].as_str())
        .collect();
    let missing: Vec<&(String, String)> = r
        .user_secrets
        .iter()
        .filter(|(k, _)| !present.contains(k))
        .collect();
    if missing.is_empty() {
        return check(
            "user-secrets",
            Outcome::Pass,
            format!("{} user-provided Secrets present", r.user_secrets.len()),
            "",
        );
    }
    let list = missing
        .iter()
        .map(|(k, why)| format!("{k} ({why})"))
        .collect::<Vec<_>>()
        .join(", ");
    let ns_missing = missing.iter().any(|(k, _)| {
        k.split_once('/')
            .is_some_and(|(ns, _)| !existing_ns.contains(ns))
    });
    check(
        "user-secrets",
        if ns_missing {
            Outcome::Warn
        } else {
            Outcome::Fail
        },
        format!(
            "{} Secrets only you can provide are missing: {list}",
            missing.len()
        ),
        "create them (`oc create secret generic <name> -n <namespace> --from-literal=<key>=…`; keys in `00-prerequisites/secrets.md`), or switch the alert receivers off in `spec.alerting`; where the namespace does not exist yet, create them after deploy made it (deploy resumes)",
    )
}

fn apis(r: &Requirements, s: &Snapshot) -> Check {
    let Some(served) = &s.served_kinds else {
        return check(
            "apis",
            Outcome::Warn,
            "served kinds not checked".into(),
            "`oc api-resources`",
        );
    };
    let missing: Vec<String> = r
        .preinstalled_kinds
        .iter()
        .filter(|(k, _)| !served.contains(k))
        .map(|(k, by)| format!("{k} ({by})"))
        .collect();
    if missing.is_empty() {
        check(
            "apis",
            Outcome::Pass,
            format!(
                "{} kinds the platform needs up front are served",
                r.preinstalled_kinds.len()
            ),
            "",
        )
    } else {
        check(
            "apis",
            Outcome::Fail,
            format!("not served: {}", missing.join(", ")),
            "install what provides them first: OLM and Routes come with OpenShift, monitoring.coreos.com with cluster monitoring; SparkApplication needs the spark-operator Helm chart (09-spark/README.md)",
        )
    }
}

pub fn overall(checks: &[Check]) -> Outcome {
    checks
        .iter()
        .map(|c| c.outcome)
        .max()
        .unwrap_or(Outcome::Pass)
}

fn version_tuple(v: &str) -> Option<(u32, u32)> {
    let mut it = v.trim_start_matches('v').split('.');
    let major = it.next()?.parse().ok()?;
    let minor: String = it
        .next()?
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    Some((major, minor.parse().ok()?))
}

fn distribution(s: &Snapshot) -> Check {
    if let Some(cv) = &s.cluster_version {
        let v = cv["status"]["desired"]["version"]
            .as_str()
            .or(cv["status"]["history"][0]["version"].as_str())
            .unwrap_or("unknown");
        return match version_tuple(v) {
            Some(t) if t >= (4, 10) => {
                check("distribution", Outcome::Pass, format!("OpenShift {v}"), "")
            }
            Some(_) => check(
                "distribution",
                Outcome::Fail,
                format!("OpenShift {v} is older than 4.10"),
                "upgrade the cluster to OpenShift 4.10 or later",
            ),
            None => check(
                "distribution",
                Outcome::Warn,
                format!("OpenShift, version unreadable ({v})"),
                "`oc get clusterversion`",
            ),
        };
    }
    let v = s
        .version
        .as_ref()
        .and_then(|v| v["gitVersion"].as_str())
        .unwrap_or("unknown");
    check(
        "distribution",
        Outcome::Warn,
        format!(
            "Kubernetes {v}, not OpenShift: Routes, SCCs and OperatorHub are assumed by the rendered tree"
        ),
        "deploy to OpenShift ≥ 4.10, or install OLM and the Route CRD first",
    )
}

fn access(s: &Snapshot) -> Check {
    let denied: Vec<String> = s
        .access
        .iter()
        .filter(|a| !a.allowed)
        .map(|a| {
            let g = if a.group.is_empty() { "core" } else { &a.group };
            format!("{} {}.{g}", a.verb, a.resource)
        })
        .collect();
    if s.access.is_empty() {
        check(
            "cluster-admin",
            Outcome::Warn,
            "access not reviewed".into(),
            "`oc auth can-i '*' '*' --all-namespaces`",
        )
    } else if denied.is_empty() {
        check(
            "cluster-admin",
            Outcome::Pass,
            "cluster-admin: every verb deploy needs is allowed".into(),
            "",
        )
    } else {
        check(
            "cluster-admin",
            Outcome::Fail,
            format!("denied: {}", denied.join(", ")),
            "log in as a cluster-admin (`oc adm policy add-cluster-role-to-user cluster-admin <user>`)",
        )
    }
}

#[derive(Debug, Clone)]
pub struct Worker {
    pub name: String,
    pub zone: Option<String>,
    pub cpu: f64,
    pub memory: f64,
}

/// Nodes ordinary pods can land on: not cordoned, no NoSchedule/NoExecute taint (control-plane
/// nodes of a compact cluster carry none and count).
pub fn schedulable_workers(nodes: &[Value]) -> Vec<Worker> {
    nodes
        .iter()
        .filter(|n| n["spec"]["unschedulable"] != true)
        .filter(|n| {
            !n["spec"]["taints"].as_array().is_some_and(|ts| {
                ts.iter()
                    .any(|t| t["effect"] == "NoSchedule" || t["effect"] == "NoExecute")
            })
        })
        .filter(|n| {
            n["status"]["conditions"].as_array().is_none_or(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")
            })
        })
        .map(|n| Worker {
            name: name_of(n).to_string(),
            zone: n["metadata"]["labels"]["topology.kubernetes.io/zone"]
                .as_str()
                .map(str::to_string),
            cpu: q(n["status"]["allocatable"]["cpu"].as_str()),
            memory: q(n["status"]["allocatable"]["memory"].as_str()),
        })
        .collect()
}

fn nodes(r: &Requirements, workers: &[Worker]) -> Check {
    let widest = r
        .pod_sets
        .iter()
        .filter(|s| s.distinct_nodes)
        .max_by_key(|s| s.replicas);
    match widest {
        Some(set) if (workers.len() as u32) < set.replicas => check(
            "workers",
            Outcome::Fail,
            format!(
                "{} schedulable workers; {} needs {} distinct nodes (required anti-affinity)",
                workers.len(),
                set.name,
                set.replicas
            ),
            "add worker nodes, or lower that component's replicas in the spec (profile dev for a small cluster)",
        ),
        Some(set) => check(
            "workers",
            Outcome::Pass,
            format!(
                "{} schedulable workers ≥ {} distinct nodes the widest set ({}) needs",
                workers.len(),
                set.replicas,
                set.name
            ),
            "",
        ),
        None => check(
            "workers",
            Outcome::Pass,
            format!(
                "{} schedulable workers; no set requires distinct nodes",
                workers.len()
            ),
            "",
        ),
    }
}

fn zones(r: &Requirements, workers: &[Worker]) -> Check {
    let zs: BTreeSet<&str> = workers.iter().filter_map(|w| w.zone.as_deref()).collect();
    if !r.ha {
        return check(
            "zones",
            Outcome::Pass,
            format!("{} zones (profile dev)", zs.len()),
            "",
        );
    }
    if zs.len() >= 3 {
        check(
            "zones",
            Outcome::Pass,
            format!("workers spread over {} zones", zs.len()),
            "",
        )
    } else {
        check(
            "zones",
            Outcome::Warn,
            format!(
                "workers in {} zone(s){}: the zone spread is soft, so pods schedule, but a zone outage can take a quorum down",
                zs.len(),
                if zs.is_empty() {
                    " (no topology.kubernetes.io/zone labels)"
                } else {
                    ""
                }
            ),
            "spread worker nodes over 3 zones for zone-level HA",
        )
    }
}

/// Place every pod: largest first, each set's pods on distinct nodes when anti-affinity requires
/// it, each on the node with the most free CPU. Returns the pods that did not fit.
pub fn bin_pack(sets: &[PodSet], workers: &[Worker]) -> Vec<String> {
    let mut free: Vec<(f64, f64)> = workers.iter().map(|w| (w.cpu, w.memory)).collect();
    let mut order: Vec<&PodSet> = sets.iter().collect();
    order.sort_by(|a, b| {
        (b.replicas, b.cpu)
            .partial_cmp(&(a.replicas, a.cpu))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut unplaced = Vec::new();
    for set in order {
        let mut used: BTreeSet<usize> = BTreeSet::new();
        for i in 0..set.replicas {
            let best = free
                .iter()
                .enumerate()
                .filter(|(n, f)| {
                    !(set.distinct_nodes && used.contains(n)) && f.0 >= set.cpu && f.1 >= set.memory
                })
                .max_by(|a, b| {
                    a.1.0
                        .partial_cmp(&b.1.0)
                        .unwrap_or(std::cmp::Ordering::Equal)
                })
                .map(|(n, _)| n);
            match best {
                Some(n) => {
                    free[n].0 -= set.cpu;
                    free[n].1 -= set.memory;
                    used.insert(n);
                }
                None => unplaced.push(format!("{} #{i}", set.name)),
            }
        }
    }
    unplaced
}

fn gib(b: f64) -> String {
    format!("{:.1} GiB", b / 1_073_741_824.0)
}

fn capacity(r: &Requirements, workers: &[Worker]) -> Check {
    let cpu: f64 = r
        .pod_sets
        .iter()
        .map(|s| s.cpu * f64::from(s.replicas))
        .sum();
    let mem: f64 = r
        .pod_sets
        .iter()
        .map(|s| s.memory * f64::from(s.replicas))
        .sum();
    let acpu: f64 = workers.iter().map(|w| w.cpu).sum();
    let amem: f64 = workers.iter().map(|w| w.memory).sum();
    let summary = format!(
        "requests {cpu:.1} CPU / {} vs allocatable {acpu:.1} CPU / {}",
        gib(mem),
        gib(amem)
    );
    let unplaced = bin_pack(&r.pod_sets, workers);
    if !unplaced.is_empty() {
        let shown: Vec<&str> = unplaced.iter().take(5).map(String::as_str).collect();
        return check(
            "capacity",
            Outcome::Fail,
            format!(
                "{summary}; {} pod(s) fit on no node: {}{}",
                unplaced.len(),
                shown.join(", "),
                if unplaced.len() > 5 { ", …" } else { "" }
            ),
            "add or enlarge worker nodes, or lower requests/replicas in the spec",
        );
    }
    // Other tenants, daemonsets and upgrades (one node drained) need room too.
    if cpu > 0.8 * acpu || mem > 0.8 * amem {
        return check(
            "capacity",
            Outcome::Warn,
            format!("{summary}: over 80 % of the cluster"),
            "leave room for a node drain during upgrades: add capacity",
        );
    }
    check("capacity", Outcome::Pass, summary, "")
}

fn is_default(sc: &Value) -> bool {
    let a = &sc["metadata"]["annotations"];
    a["storageclass.kubernetes.io/is-default-class"] == "true"
        || a["storageclass.beta.kubernetes.io/is-default-class"] == "true"
}

fn rwx_capable(provisioner: &str) -> bool {
    [
        "cephfs",
        "nfs",
        "efs",
        "file.csi",
        "azurefile",
        "filestore",
        "nutanix.com",
        "spectrumscale",
        "netapp",
    ]
    .iter()
    .any(|p| provisioner.contains(p))
}

fn storage(r: &Requirements, s: &Snapshot) -> Vec<Check> {
    let find = |n: &str| s.storage_classes.iter().find(|c| name_of(c) == n);
    let mut out = Vec::new();
    for (id, class, rwx) in [
        ("storage-rwo", &r.rwo_class, false),
        ("storage-rwx", &r.rwx_class, true),
    ] {
        let c = match find(class) {
            Some(c) => c,
            None if r.classes_rendered => {
                out.push(check(
                    id,
                    Outcome::Pass,
                    format!("{class} is rendered by the platform (createOdfClasses)"),
                    "",
                ));
                continue;
            }
            None => {
                let names: Vec<&str> = s.storage_classes.iter().map(name_of).collect();
                out.push(check(
                    id,
                    Outcome::Fail,
                    format!(
                        "storage class {class} not found (have: {})",
                        if names.is_empty() { "none".into() } else { names.join(", ") }
                    ),
                    "set spec.storage.rwoClass/rwxClass to an existing class, or createOdfClasses: true with ODF installed",
                ));
                continue;
            }
        };
        let prov = c["provisioner"].as_str().unwrap_or_default();
        if rwx && !rwx_capable(prov) {
            out.push(check(
                id,
                Outcome::Warn,
                format!("{class} ({prov}) may not support ReadWriteMany"),
                "use a CephFS/NFS-backed class for spec.storage.rwxClass",
            ));
        } else {
            out.push(check(id, Outcome::Pass, format!("{class} ({prov})"), ""));
        }
    }
    let defaults: Vec<&str> = s
        .storage_classes
        .iter()
        .filter(|c| is_default(c))
        .map(name_of)
        .collect();
    out.push(match defaults.len() {
        1 => check("storage-default", Outcome::Pass, format!("default class {}", defaults[0]), ""),
        0 => check(
            "storage-default",
            Outcome::Warn,
            "no default storage class: claims the operators create without a class stay Pending".into(),
            "`oc patch storageclass <name> -p '{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'`",
        ),
        _ => check(
            "storage-default",
            Outcome::Warn,
            format!("several default classes: {}", defaults.join(", ")),
            "keep exactly one class annotated as default",
        ),
    });
    out
}

fn operators(r: &Requirements, s: &Snapshot) -> Vec<Check> {
    let mut out = Vec::new();
    let sources: BTreeSet<(&str, &str)> = r
        .operators
        .iter()
        .map(|(_, _, src, ns)| (src.as_str(), ns.as_str()))
        .collect();
    for (src, ns) in &sources {
        let cs = s
            .catalog_sources
            .iter()
            .find(|c| name_of(c) == *src && c["metadata"]["namespace"] == *ns);
        out.push(match cs {
            None => check(
                "catalog",
                Outcome::Fail,
                format!("CatalogSource {ns}/{src} not found"),
                "enable the catalog in OperatorHub (`oc get catalogsource -n openshift-marketplace`), or mirror it for disconnected clusters",
            ),
            Some(c) => {
                let st = c["status"]["connectionState"]["lastObservedState"]
                    .as_str()
                    .unwrap_or("unknown");
                if st == "READY" {
                    check("catalog", Outcome::Pass, format!("CatalogSource {ns}/{src} READY"), "")
                } else {
                    check(
                        "catalog",
                        Outcome::Warn,
                        format!("CatalogSource {ns}/{src} is {st}"),
                        "check the catalog pod in openshift-marketplace",
                    )
                }
            }
        });
    }
    for (pkg, channel, src, _) in &r.operators {
        let pm = s
            .package_manifests
            .iter()
            .find(|p| name_of(p) == pkg && p["status"]["catalogSource"] == src.as_str());
        out.push(match pm {
            None => check(
                "package",
                Outcome::Fail,
                format!("package {pkg} not offered by catalog {src}"),
                "`oc get packagemanifests -n openshift-marketplace | grep <name>`; set components.<c>.operator.package/source in the spec",
            ),
            Some(p) => {
                let channels: Vec<&str> = p["status"]["channels"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                if channels.contains(&channel.as_str()) {
                    check("package", Outcome::Pass, format!("{pkg} channel {channel} in {src}"), "")
                } else {
                    check(
                        "package",
                        Outcome::Fail,
                        format!("{pkg} has no channel {channel} (has: {})", channels.join(", ")),
                        "set components.<c>.operator.channel in the spec to one of the offered channels",
                    )
                }
            }
        });
    }
    out
}

fn conflicts(r: &Requirements, s: &Snapshot) -> Check {
    let mut found = Vec::new();
    let packages: BTreeMap<&str, ()> = r.operators.iter().map(|(p, ..)| (p.as_str(), ())).collect();
    for sub in &s.subscriptions {
        let pkg = sub["spec"]["name"].as_str().unwrap_or_default();
        let ns = sub["metadata"]["namespace"].as_str().unwrap_or_default();
        if packages.contains_key(pkg) && ns != r.operators_namespace {
            found.push(format!("{pkg} is already subscribed in {ns}"));
        }
    }
    for n in &s.namespaces {
        let name = name_of(n);
        if !r.namespaces.iter().any(|x| x == name) {
            continue;
        }
        let labels = &n["metadata"]["labels"];
        let instance = labels["app.kubernetes.io/instance"].as_str();
        if labels["app.kubernetes.io/managed-by"] != "datalyptica" {
            found.push(format!(
                "namespace {name} exists and is not managed by datalyptica"
            ));
        } else if instance.is_some_and(|i| i != r.platform) {
            found.push(format!(
                "namespace {name} belongs to platform {}",
                instance.unwrap_or_default()
            ));
        }
    }
    if found.is_empty() {
        check(
            "conflicts",
            Outcome::Pass,
            "no conflicting install".into(),
            "",
        )
    } else {
        check(
            "conflicts",
            Outcome::Fail,
            found.join("; "),
            "OLM installs a package once per cluster scope: remove the other subscription, or point spec.operators.namespace at it; pick another namespaces.prefix for a second platform",
        )
    }
}

pub fn table(checks: &[Check]) -> String {
    let w = checks.iter().map(|c| c.id.len()).max().unwrap_or(5).max(5);
    let mut s = format!("{:<w$}  {:<4}  MESSAGE\n", "CHECK", "");
    for c in checks {
        let o = match c.outcome {
            Outcome::Pass => "pass",
            Outcome::Warn => "WARN",
            Outcome::Fail => "FAIL",
        };
        s.push_str(&format!("{:<w$}  {o}  {}\n", c.id, c.message));
        if !c.fix.is_empty() {
            s.push_str(&format!("{:<w$}        fix: {}\n", "", c.fix));
        }
    }
    s
}
