//! `status`, `destroy`, `troubleshoot` and preflight's snapshot gathering: the I/O around the
//! pure analyzers, over any [`ClusterApi`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use std::time::Duration;

use datalyptica_platform::backup;
use datalyptica_platform::component::{ComponentId, GateKind};
use serde::Serialize;
use serde_json::{Value, json};

use crate::api::{ApiError, ClusterApi, TypeRef};
use crate::deep::{self, DeepCheck, DeepResult, ExecError, PodExec, PodRef, Verdict};
use crate::deploy::{OBJECT_STORE_ROOT_SECRET, PROGRESS_CONFIGMAP};
use crate::diagnose::{Finding, diagnose};
use crate::gates::{self, GateState};
use crate::monitoring::{Alerts, Monitoring};
use crate::plan::{Plan, kind_of, name_of, namespace_of};
use crate::preflight::{Access, NEEDED_ACCESS, Requirements, Snapshot};
use crate::secrets;

// ---------------------------------------------------------------- status

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatusRow {
    pub component: String,
    pub phase: u8,
    pub object: String,
    pub desired: i64,
    pub ready: i64,
    pub state: String,
    pub detail: String,
    /// Leader/master where object status or pod labels reveal it (or the deep check, with
    /// `--deep`).
    pub roles: String,
    /// Latest successful backup (PostgresCluster scheduled backups, the Redis/etcd CronJobs).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub last_backup: String,
    /// The deep check's verdict and parsed facts (`status --deep`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deep: Option<DeepResult>,
    /// Firing alerts of the component (on its first row), or why monitoring was unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alerts: Option<Alerts>,
}

/// Completion time of the latest successful scheduled pgBackRest backup, with its type.
pub fn pg_last_backup(obj: &Value) -> Option<String> {
    obj["status"]["pgbackrest"]["scheduledBackups"]
        .as_array()?
        .iter()
        .filter(|b| b["succeeded"].as_i64().unwrap_or(0) > 0)
        .filter_map(|b| {
            let t = b["completionTime"].as_str()?;
            Some((t, b["type"].as_str().unwrap_or("backup")))
        })
        // RFC 3339 UTC timestamps order as strings.
        .max_by(|a, b| a.0.cmp(b.0))
        .map(|(t, kind)| format!("{t} ({kind})"))
}

/// `lastSuccessfulTime` of a backup CronJob; "never" when it has not succeeded yet.
pub fn cronjob_last_backup(cj: &Value) -> String {
    cj["status"]["lastSuccessfulTime"]
        .as_str()
        .map(|t| format!("{t} (cronjob {})", name_of(cj)))
        .unwrap_or_else(|| format!("never (cronjob {})", name_of(cj)))
}

async fn pods_for<A: ClusterApi>(api: &A, ns: &str, sel: &BTreeMap<String, String>) -> Vec<Value> {
    if sel.is_empty() {
        return vec![];
    }
    let s: Vec<String> = sel.iter().map(|(k, v)| format!("{k}={v}")).collect();
    api.list(&TypeRef::new("v1", "Pod"), Some(ns), Some(&s.join(",")))
        .await
        .unwrap_or_default()
}

/// One row per gate of every component, plus one per operator.
pub async fn status<A: ClusterApi>(api: &A, plan: &Plan) -> Result<Vec<StatusRow>, ApiError> {
    let mut rows = Vec::new();
    let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
    let csv_t = TypeRef::new("operators.coreos.com/v1alpha1", "ClusterServiceVersion");
    for op in &plan.operators {
        let sub = api.get(&sub_t, Some(&op.namespace), &op.package).await?;
        let (state, detail) = match sub.as_ref().map(gates::subscription_csv) {
            None => ("missing".to_string(), "no Subscription".to_string()),
            Some(Err(why)) => ("waiting".into(), why),
            Some(Ok(csv)) => match api.get(&csv_t, Some(&op.namespace), &csv).await? {
                None => ("waiting".into(), format!("CSV {csv} not found")),
                Some(c) => {
                    let g = gates::csv(&c);
                    (state_name(&g).into(), format!("{csv}: {}", g.detail()))
                }
            },
        };
        rows.push(StatusRow {
            component: op.component.to_string(),
            phase: 0,
            object: format!("Subscription/{}", op.package),
            desired: 1,
            ready: i64::from(state == "ready"),
            state,
            detail,
            roles: String::new(),
            last_backup: String::new(),
            deep: None,
            alerts: None,
        });
    }
    for c in plan.components() {
        for g in &c.gates {
            let (api_version, target) = gates::target(g, &c.objects);
            let obj = match api
                .get(
                    &TypeRef::new(&api_version, g.kind.kind()),
                    Some(&g.namespace),
                    &target,
                )
                .await
            {
                Ok(o) => o,
                Err(ApiError::UnknownKind(_)) => None,
                Err(e) => return Err(e),
            };
            let sel = gates::pod_selector(g.kind, &target, obj.as_ref());
            let pods = pods_for(api, &g.namespace, &sel).await;
            let state = gates::evaluate(g, obj.as_ref(), &pods);
            let (desired, ready) = obj
                .as_ref()
                .map(|o| gates::counts(g.kind, o))
                .unwrap_or((0, 0));
            rows.push(StatusRow {
                component: c.id.to_string(),
                phase: c.phase,
                object: format!("{}/{target}", g.kind),
                desired,
                ready,
                state: if obj.is_none() {
                    "missing".into()
                } else {
                    state_name(&state).into()
                },
                detail: state.detail().to_string(),
                roles: gates::roles(g.kind, obj.as_ref(), &pods),
                last_backup: match (g.kind, obj.as_ref()) {
                    (GateKind::PostgresCluster, Some(o)) => {
                        pg_last_backup(o).unwrap_or_else(|| "none yet".into())
                    }
                    _ => String::new(),
                },
                deep: None,
                alerts: None,
            });
        }
        let cronjob = match c.id {
            ComponentId::Redis => Some(backup::REDIS_CRONJOB),
            ComponentId::Etcd => Some(backup::ETCD_CRONJOB),
            _ => None,
        };
        let ns = c.gates.first().map(|g| g.namespace.clone());
        if let (Some(cj), Some(ns)) = (cronjob, ns)
            && let Ok(Some(o)) = api
                .get(&TypeRef::new("batch/v1", "CronJob"), Some(&ns), cj)
                .await
            && let Some(row) = rows.iter_mut().find(|r| r.component == c.id.name())
        {
            row.last_backup = cronjob_last_backup(&o);
        }
    }
    Ok(rows)
}

/// Run the deep checks and attach each result (and the role map it found) to its component's
/// row. Exec that is not possible is reported on the row, never an error.
pub async fn deep_status<A: ClusterApi, E: PodExec>(
    api: &A,
    exec: &E,
    checks: &[DeepCheck],
    rows: &mut [StatusRow],
    timeout: Duration,
) {
    for ch in checks {
        let idx = rows
            .iter()
            .position(|r| {
                r.phase != 0
                    && r.component == ch.component
                    && r.object.starts_with(&format!("{}/", ch.row_kind))
            })
            .or_else(|| {
                rows.iter()
                    .position(|r| r.phase != 0 && r.component == ch.component)
            });
        let Some(idx) = idx else { continue };
        let t = &ch.target;
        let pod_t = TypeRef::new("v1", "Pod");
        let pod = match &t.pod {
            PodRef::Name(n) => match api.get(&pod_t, Some(&t.namespace), n).await {
                Ok(Some(_)) => Ok(n.clone()),
                Ok(None) => Err(format!("pod {n} not found")),
                Err(e) => Err(format!("cannot read pod {n}: {e}")),
            },
            PodRef::Selector(sel) => match api.list(&pod_t, Some(&t.namespace), Some(sel)).await {
                Ok(pods) => pods
                    .iter()
                    .find(|p| p["status"]["phase"] == "Running")
                    .map(|p| name_of(p).to_string())
                    .ok_or_else(|| format!("no running pod matches {sel}")),
                Err(e) => Err(format!("cannot list pods {sel}: {e}")),
            },
        };
        let result = match pod {
            Err(why) => DeepResult::unavailable(ch.probe, "", why),
            Ok(pod) => match exec
                .exec(&t.namespace, &pod, t.container.as_deref(), &t.argv, timeout)
                .await
            {
                Ok(out) => deep::judge(ch.probe, &pod, &out, rows[idx].desired),
                Err(e @ (ExecError::Unavailable(_) | ExecError::Timeout(_))) => {
                    DeepResult::unavailable(ch.probe, &pod, e.to_string())
                }
                Err(e @ ExecError::Failed(_)) => DeepResult {
                    verdict: Verdict::Error,
                    ..DeepResult::unavailable(ch.probe, &pod, e.to_string())
                },
            },
        };
        let row = &mut rows[idx];
        if !result.roles.is_empty() {
            row.roles = result.roles.clone();
        }
        row.deep = Some(result);
    }
}

/// The state of the rows that only carry alerts of a namespace no component owns.
pub const ALERTING: &str = "alerting";

/// Attach the monitoring results: each component's first row gets its firing alerts (or why
/// monitoring was unavailable); alerts of namespaces no row covers get a row of their own; the
/// Kafka row's roles gain the active controller.
pub fn attach_monitoring(rows: &mut Vec<StatusRow>, m: &Monitoring) {
    let mut seen = BTreeSet::new();
    for r in rows.iter_mut().filter(|r| r.phase != 0) {
        if !seen.insert(r.component.clone()) {
            continue;
        }
        r.alerts = Some(match &m.alerts {
            Err(why) => Alerts::Unavailable {
                unavailable: why.clone(),
            },
            Ok(by) => by.get(&r.component).cloned().unwrap_or(Alerts::Firing {
                count: 0,
                names: vec![],
            }),
        });
    }
    if let Ok(by) = &m.alerts {
        for (k, a) in by.iter().filter(|(k, _)| !seen.contains(*k)) {
            rows.push(StatusRow {
                component: k.clone(),
                phase: 0,
                object: format!("Namespace/{k}"),
                desired: 0,
                ready: 0,
                state: ALERTING.into(),
                detail: "firing alerts outside the platform's components".into(),
                roles: String::new(),
                last_backup: String::new(),
                deep: None,
                alerts: Some(a.clone()),
            });
        }
    }
    if let Some(c) = &m.kafka_controller
        && let Some(r) = rows.iter_mut().find(|r| r.object.starts_with("Kafka/"))
    {
        r.roles = if r.roles.is_empty() {
            format!("controller {c}")
        } else {
            format!("{}, controller {c}", r.roles)
        };
    }
}

/// Exit status of `status`: every gate ready and no deep check finding a problem; with `strict`,
/// also every deep check ran and parsed.
pub fn status_ok(rows: &[StatusRow], strict: bool) -> bool {
    rows.iter().filter(|r| r.state != ALERTING).all(|r| {
        r.state == "ready"
            && match r.deep.as_ref().map(|d| d.verdict) {
                None | Some(Verdict::Ok) => true,
                Some(Verdict::Degraded) => false,
                Some(Verdict::Unavailable | Verdict::Error) => !strict,
            }
    })
}

fn state_name(g: &GateState) -> &'static str {
    match g {
        GateState::Ready(_) => "ready",
        GateState::Waiting(_) => "waiting",
        GateState::Failed(_) => "failed",
    }
}

/// The status table; the DEEP column appears when a row carries a deep result.
pub fn status_table(rows: &[StatusRow]) -> String {
    let deep = rows.iter().any(|r| r.deep.is_some());
    let mut headers = vec![
        "COMPONENT",
        "PHASE",
        "OBJECT",
        "READY",
        "STATE",
        "ROLES",
        "BACKUP",
        "DETAIL",
    ];
    if deep {
        headers.push("DEEP");
    }
    let alerts = rows
        .iter()
        .any(|r| matches!(r.alerts, Some(Alerts::Firing { .. })));
    if alerts {
        headers.push("ALERTS");
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                r.component.clone(),
                if r.phase == 0 {
                    "op".into()
                } else {
                    r.phase.to_string()
                },
                r.object.clone(),
                format!("{}/{}", r.ready, r.desired),
                r.state.clone(),
                r.roles.clone(),
                r.last_backup.clone(),
                r.detail.clone(),
            ];
            if deep {
                c.push(match &r.deep {
                    None => String::new(),
                    Some(d) => {
                        let v = serde_json::to_value(d.verdict).unwrap_or_default();
                        format!("{}: {}", v.as_str().unwrap_or("?"), d.summary)
                    }
                });
            }
            if alerts {
                c.push(match &r.alerts {
                    Some(Alerts::Firing { count: 0, .. }) => "0".into(),
                    Some(Alerts::Firing { count, names }) => {
                        format!("{count}: {}", names.join(", "))
                    }
                    _ => String::new(),
                });
            }
            c
        })
        .collect();
    let mut w: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for c in &cells {
        for (i, x) in c.iter().enumerate() {
            w[i] = w[i].max(x.chars().count());
        }
    }
    let line = |c: &[String]| {
        let mut s = String::new();
        for (i, x) in c.iter().enumerate() {
            if i + 1 == c.len() {
                s.push_str(x);
            } else {
                s.push_str(&format!("{x:<width$}  ", width = w[i]));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(&headers.iter().map(|h| h.to_string()).collect::<Vec<_>>());
    for c in &cells {
        out.push_str(&line(c));
    }
    if let Some(Alerts::Unavailable { unavailable }) = rows.iter().find_map(|r| {
        r.alerts
            .as_ref()
            .filter(|a| matches!(a, Alerts::Unavailable { .. }))
    }) {
        out.push_str(&format!("alerts: unavailable ({unavailable})\n"));
    }
    out
}

// ---------------------------------------------------------------- destroy

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum DestroyEvent {
    Deleted { step: String, object: String },
    Absent { step: String, object: String },
    Kept { object: String, reason: String },
    Finished { deleted: usize, kept: usize },
}

#[derive(Debug, Clone, Copy, Default)]
pub struct DestroyOptions {
    pub delete_data: bool,
}

fn label(o: &Value) -> String {
    match namespace_of(o) {
        Some(ns) => format!("{}/{} -n {ns}", kind_of(o), name_of(o)),
        None => format!("{}/{}", kind_of(o), name_of(o)),
    }
}

/// Tear down in reverse dependency order. Claims (and the namespaces holding them, and the
/// credentials needed to read backups) stay unless `delete_data`. CRDs always stay: deleting one
/// deletes every object of its kind cluster-wide, other tenants' too.
pub async fn destroy<A: ClusterApi>(
    api: &A,
    plan: &Plan,
    opts: DestroyOptions,
    emit: &dyn Fn(&DestroyEvent),
) -> Result<(usize, usize), ApiError> {
    let mut deleted = 0;
    let mut kept = 0;
    let mut del = async |step: &str, o: &Value| -> Result<(), ApiError> {
        let t = TypeRef::of(o);
        let existed = match api.delete(&t, namespace_of(o), name_of(o)).await {
            Ok(b) => b,
            Err(ApiError::UnknownKind(_)) => false,
            Err(e) => return Err(e),
        };
        let object = label(o);
        if existed {
            deleted += 1;
            emit(&DestroyEvent::Deleted {
                step: step.into(),
                object,
            });
        } else {
            emit(&DestroyEvent::Absent {
                step: step.into(),
                object,
            });
        }
        Ok(())
    };
    for c in plan.teardown_order() {
        let step = c.key();
        for o in c.objects.iter().rev() {
            del(&step, o).await?;
        }
    }
    // Carried operators go like OLM ones: the operator, not its CRDs (deleting a CRD deletes
    // every custom resource of its kind, in any namespace).
    for c in plan.carried.iter().rev() {
        for o in c
            .objects
            .iter()
            .rev()
            .filter(|o| kind_of(o) != "CustomResourceDefinition")
        {
            del("operators", o).await?;
        }
    }
    let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
    for o in plan.operator_objects.iter().rev() {
        // OLM leaves the operator running when only the Subscription goes: remove its CSV too.
        if kind_of(o) == "Subscription"
            && let Some(sub) = api.get(&sub_t, namespace_of(o), name_of(o)).await?
            && let Ok(csv) = gates::subscription_csv(&sub)
        {
            let c = json!({"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion", "metadata": {"name": csv, "namespace": namespace_of(o)}});
            del("operators", &c).await?;
        }
        del("operators", o).await?;
    }
    let progress = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": PROGRESS_CONFIGMAP, "namespace": plan.operators_namespace}});
    del("progress", &progress).await?;
    let pvc_t = TypeRef::new("v1", "PersistentVolumeClaim");
    let mut pvcs = Vec::new();
    for ns in &plan.namespaces {
        for p in api.list(&pvc_t, Some(ns), None).await.unwrap_or_default() {
            pvcs.push(json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name_of(&p), "namespace": ns}}));
        }
    }
    if opts.delete_data {
        for p in &pvcs {
            del("data", p).await?;
        }
        for o in plan
            .prerequisites
            .iter()
            .rev()
            .filter(|o| kind_of(o) == "Namespace")
        {
            del("namespaces", o).await?;
        }
    } else {
        for p in &pvcs {
            kept += 1;
            emit(&DestroyEvent::Kept {
                object: label(p),
                reason: "data is kept without --delete-data".into(),
            });
        }
        let root = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": OBJECT_STORE_ROOT_SECRET, "namespace": plan.operators_namespace}});
        kept += 1;
        emit(&DestroyEvent::Kept {
            object: label(&root),
            reason: "namespaces, generated credentials and network policies stay with the data"
                .into(),
        });
    }
    emit(&DestroyEvent::Finished { deleted, kept });
    Ok((deleted, kept))
}

// ---------------------------------------------------------------- preflight snapshot

/// Read what preflight needs. Errors other than "unreachable" become empty sections, so one
/// missing permission does not hide every other check.
pub async fn snapshot<A: ClusterApi>(api: &A, r: &Requirements) -> Snapshot {
    let mut s = Snapshot::default();
    match api.version().await {
        Ok(v) => s.version = Some(v),
        Err(e) => {
            s.api_error = Some(e.to_string());
            return s;
        }
    }
    s.cluster_version = api
        .get(
            &TypeRef::new("config.openshift.io/v1", "ClusterVersion"),
            None,
            "version",
        )
        .await
        .ok()
        .flatten();
    for (verb, group, resource) in NEEDED_ACCESS {
        let review = json!({"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview", "metadata": {},
            "spec": {"resourceAttributes": {"verb": verb, "group": group, "resource": resource}}});
        let allowed = match api.create(&review).await {
            Ok(v) => v["status"]["allowed"] == true,
            Err(e) => {
                s.api_error
                    .get_or_insert(format!("SelfSubjectAccessReview failed: {e}"));
                return s;
            }
        };
        s.access.push(Access {
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            allowed,
        });
    }
    let list = async |av: &str, kind: &str, ns: Option<&str>| {
        api.list(&TypeRef::new(av, kind), ns, None)
            .await
            .unwrap_or_default()
    };
    s.nodes = list("v1", "Node", None).await;
    s.storage_classes = list("storage.k8s.io/v1", "StorageClass", None).await;
    s.catalog_sources = list("operators.coreos.com/v1alpha1", "CatalogSource", None).await;
    let sources: BTreeSet<&str> = r.operators.iter().map(|o| o.3.as_str()).collect();
    for ns in sources {
        s.package_manifests.extend(
            list(
                "packages.operators.coreos.com/v1",
                "PackageManifest",
                Some(ns),
            )
            .await,
        );
    }
    s.subscriptions = list("operators.coreos.com/v1alpha1", "Subscription", None).await;
    let mut served = Vec::new();
    for (k, _) in &r.preinstalled_kinds {
        let Some((av, kind)) = k.rsplit_once('/') else {
            continue;
        };
        if let Ok(true) = api.served(&TypeRef::new(av, kind)).await {
            served.push(k.clone());
        }
    }
    s.served_kinds = Some(served);
    let secret_t = TypeRef::new("v1", "Secret");
    let mut present = Vec::new();
    for (k, _) in &r.user_secrets {
        let Some((ns, name)) = k.split_once('/') else {
            continue;
        };
        // Existence only: the value is dropped here and never enters the snapshot.
        if let Ok(Some(_)) = api.get(&secret_t, Some(ns), name).await {
            present.push(k.clone());
        }
    }
    s.user_secrets_present = Some(present);
    let ns_t = TypeRef::new("v1", "Namespace");
    for n in &r.namespaces {
        if let Ok(Some(o)) = api.get(&ns_t, None, n).await {
            s.namespaces.push(o);
        }
    }
    s
}

// ---------------------------------------------------------------- troubleshoot

pub struct Bundle {
    /// Path inside the archive → content.
    pub files: BTreeMap<String, Vec<u8>>,
    pub summary: String,
    pub findings: Vec<Finding>,
}

/// Collect the support bundle: every platform object and its events, pod logs (previous too),
/// operator CSVs, Subscriptions and InstallPlans. Secrets are redacted before they are stored.
pub async fn collect_bundle<A: ClusterApi>(api: &A, plan: &Plan) -> Result<Bundle, ApiError> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut kinds: BTreeMap<String, BTreeSet<TypeRef>> = BTreeMap::new();
    let common = [
        ("v1", "Pod"),
        ("v1", "Event"),
        ("v1", "PersistentVolumeClaim"),
        ("v1", "Service"),
        ("v1", "ConfigMap"),
        ("v1", "Secret"),
        ("apps/v1", "StatefulSet"),
        ("apps/v1", "Deployment"),
        ("batch/v1", "Job"),
        ("policy/v1", "PodDisruptionBudget"),
    ];
    for ns in &plan.namespaces {
        let e = kinds.entry(ns.clone()).or_default();
        e.extend(common.iter().map(|(a, k)| TypeRef::new(a, k)));
    }
    for c in plan.components() {
        for o in &c.objects {
            if let Some(ns) = namespace_of(o) {
                kinds
                    .entry(ns.to_string())
                    .or_default()
                    .insert(TypeRef::of(o));
            }
        }
    }
    let olm = kinds.entry(plan.operators_namespace.clone()).or_default();
    for k in ["Subscription", "ClusterServiceVersion", "InstallPlan"] {
        olm.insert(TypeRef::new("operators.coreos.com/v1alpha1", k));
    }
    let mut findings = Vec::new();
    for (ns, types) in &kinds {
        let mut pods = Vec::new();
        let mut events = Vec::new();
        for t in types {
            let items = match api.list(t, Some(ns), None).await {
                Ok(i) => i,
                Err(ApiError::UnknownKind(_)) => continue,
                Err(e) => return Err(e),
            };
            for o in &items {
                let o = if t.kind == "Secret" {
                    secrets::redact(o)
                } else {
                    strip(o)
                };
                let text = serde_json::to_vec_pretty(&o).unwrap_or_default();
                files.insert(
                    format!("{ns}/{}/{}.json", t.kind.to_lowercase(), name_of(&o)),
                    text,
                );
            }
            match t.kind.as_str() {
                "Pod" => pods = items,
                "Event" => events = items,
                _ => {}
            }
        }
        for p in &pods {
            let pod = name_of(p);
            for c in p["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(p["spec"]["initContainers"].as_array().into_iter().flatten())
            {
                let cname = c["name"].as_str().unwrap_or("main");
                for previous in [false, true] {
                    if let Ok(log) = api.logs(ns, pod, cname, previous).await {
                        let suffix = if previous { ".previous" } else { "" };
                        files.insert(
                            format!("{ns}/logs/{pod}/{cname}{suffix}.log"),
                            log.into_bytes(),
                        );
                    }
                }
            }
        }
        findings.extend(diagnose(ns, &pods, &events));
    }
    // Placement problems are read against the nodes (labels, taints, allocatable) and classes.
    for (av, kind) in [("v1", "Node"), ("storage.k8s.io/v1", "StorageClass")] {
        for o in api
            .list(&TypeRef::new(av, kind), None, None)
            .await
            .unwrap_or_default()
        {
            let text = serde_json::to_vec_pretty(&strip(&o)).unwrap_or_default();
            files.insert(
                format!("cluster/{}/{}.json", kind.to_lowercase(), name_of(&o)),
                text,
            );
        }
    }
    let rows = status(api, plan).await?;
    let mut summary = String::from("# datalyptica support bundle — analysis\n\n## Status\n\n```\n");
    summary.push_str(&status_table(&rows));
    summary.push_str("```\n\n## Findings\n\n");
    if findings.is_empty() {
        summary.push_str("No pending, crashing or unready pod and no warning event.\n");
    }
    for f in &findings {
        summary.push_str(&format!(
            "- `{}` ({:?}): {}\n  - fix: {}\n",
            f.subject, f.cause, f.message, f.fix
        ));
    }
    summary.push_str("\nSecrets in this bundle are redacted: keys are listed, values are not.\n");
    files.insert("analysis.md".into(), summary.clone().into_bytes());
    files.insert(
        "status.json".into(),
        serde_json::to_vec_pretty(&rows).unwrap_or_default(),
    );
    Ok(Bundle {
        files,
        summary,
        findings,
    })
}

fn strip(o: &Value) -> Value {
    let mut o = o.clone();
    if let Some(m) = o["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    o
}

/// Write the bundle as a tar.gz under a top directory `datalyptica-support/`.
pub fn write_tar_gz(bundle: &Bundle, out: impl Write) -> std::io::Result<()> {
    let gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    for (path, data) in &bundle.files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(0);
        h.set_cksum();
        tar.append_data(
            &mut h,
            format!("datalyptica-support/{path}"),
            data.as_slice(),
        )?;
    }
    tar.into_inner()?.finish()?.flush()
}
