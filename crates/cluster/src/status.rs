//! `status`: every gate's object, its pods, roles and last backup, with the deep checks and
//! open alerts beside; the table and the pass/fail verdict.

use std::collections::BTreeSet;

use std::time::Duration;

use datalyptica_platform::backup;
use datalyptica_platform::component::{ComponentId, GateKind};
use serde::Serialize;
use serde_json::Value;

use crate::alerts::{Alerts, Monitoring};
use crate::api::{ApiError, ClusterApi, TypeRef};
use crate::deep::{self, DeepCheck, DeepResult, ExecError, PodExec, PodRef, Verdict};
use crate::gates::{self, GateState};
use crate::plan::{Plan, name_of};

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
            let target = &g.name;
            let obj = match api
                .get(&gates::type_ref(g.kind), Some(&g.namespace), target)
                .await
            {
                Ok(o) => o,
                Err(ApiError::UnknownKind(_)) => None,
                Err(e) => return Err(e),
            };
            let sel = gates::pod_selector(g.kind, target, obj.as_ref());
            let pods = crate::api::pods_matching(api, &g.namespace, &sel).await;
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
                detail: match &state {
                    GateState::Ready(d) => gates::passed_detail(d.clone(), obj.as_ref()),
                    other => other.detail().to_string(),
                },
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
