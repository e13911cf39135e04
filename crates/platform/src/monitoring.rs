//! Prometheus Operator objects (PodMonitor, ServiceMonitor, PrometheusRule, AlertmanagerConfig)
//! per component. Thresholds come from the spec so an alert fires before an SLO is breached, not
//! after: `for:` of "no primary/master/leader" alerts from the failover timing the component was
//! rendered with (itself derived from the RTO), lag thresholds from the RPO, backup ages from the
//! backup schedules.
//!
//! On OpenShift these objects are picked up by user-workload monitoring. Rules without the
//! `openshift.io/prometheus-rule-evaluation-scope: leaf-prometheus` label are evaluated by Thanos
//! Ruler, which sees the platform's kube-state-metrics and kubelet series of the rule's
//! namespace: that is what the backup-age, PVC and crash-loop alerts query.

use std::time::Duration;

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::crs::PodOwner;
use crate::crs::monitoring::*;
use crate::k8s;
use crate::model::Model;

/// Scrape interval of every monitor: short enough that a `for:` derived from a failover window
/// of tens of seconds sees several samples.
pub(crate) const SCRAPE_INTERVAL: &str = "15s";

/// Slack added to a backup schedule's longest gap before "backup too old" fires: a backup is
/// not instantaneous, and one slow run must not page.
pub(crate) const BACKUP_MARGIN: Duration = Duration::from_secs(3600);

/// etcd's `--quota-backend-bytes` when the spec leaves it unset (etcd's own default, 2 GiB, which
/// the etcd component renders explicitly; a test checks the two agree).
pub(crate) const ETCD_DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

// ---- alert routing -------------------------------------------------------------------------
// Receivers come from `spec.alerting`. Every value rendered is a reference, never a credential:
// the PagerDuty routing key and the SMTP password live in Secrets the operator team creates in
// each platform namespace (AlertmanagerConfig may only reference Secrets of its own namespace).

/// Name of the AlertmanagerConfig rendered into every platform namespace.
pub const ALERTMANAGER_CONFIG: &str = "datalyptica-alerts";

/// `spec.alerting` with its defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Alerting {
    pub pagerduty: Option<PagerDuty>,
    pub email: Option<Email>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PagerDuty {
    pub severities: Vec<String>,
    /// (Secret, key) of the Events API v2 routing key.
    pub routing_key: (String, String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Email {
    pub to: Vec<String>,
    pub from: String,
    /// `host:port`, STARTTLS.
    pub smarthost: String,
    pub username: String,
    /// (Secret, key) of the SMTP password.
    pub password: (String, String),
}

impl Alerting {
    pub fn resolve(p: &crate::Platform) -> Self {
        let a = &p.spec.alerting;
        let key = |k: &Option<crate::spec::SecretKeySpec>, name: &str, key: &str| {
            k.as_ref().map_or((name.to_string(), key.to_string()), |k| {
                (k.name.clone(), k.key.clone())
            })
        };
        let pd = a.pagerduty.clone().unwrap_or_default();
        let em = a.email.clone().unwrap_or_default();
        let from = em
            .from
            .clone()
            .unwrap_or_else(|| "alertmanager@example.com".into());
        Alerting {
            pagerduty: (pd.enabled != Some(false)).then(|| PagerDuty {
                severities: pd
                    .severities
                    .clone()
                    .unwrap_or_else(|| vec!["critical".into()]),
                routing_key: key(&pd.routing_key, "alertmanager-pagerduty", "routing-key"),
            }),
            email: (em.enabled != Some(false)).then(|| Email {
                to: em
                    .to
                    .clone()
                    .unwrap_or_else(|| vec!["datalyptica-oncall@example.com".into()]),
                smarthost: em
                    .smarthost
                    .clone()
                    .unwrap_or_else(|| "smtp.example.com:587".into()),
                username: em.username.clone().unwrap_or_else(|| from.clone()),
                password: key(&em.password, "alertmanager-smtp", "password"),
                from,
            }),
        }
    }

    /// The Secrets the receivers read, with what each holds.
    pub fn secrets(&self) -> Vec<(String, &'static str)> {
        let mut v = Vec::new();
        if let Some(p) = &self.pagerduty {
            v.push((
                p.routing_key.0.clone(),
                "PagerDuty Events API v2 routing key",
            ));
        }
        if let Some(e) = &self.email {
            v.push((e.password.0.clone(), "password of the SMTP relay user"));
        }
        v
    }
}

/// Checks of `spec.alerting`.
pub fn validate(p: &crate::Platform, out: &mut Vec<crate::validate::Issue>) {
    use crate::validate::Issue;
    let a = &p.spec.alerting;
    let known = ["critical", "warning", "info"];
    if let Some(sev) = a.pagerduty.as_ref().and_then(|p| p.severities.as_ref()) {
        if sev.is_empty() {
            out.push(Issue::new(
                "/spec/alerting/pagerduty/severities",
                "empty list (expected severities that page, e.g. [critical]; set enabled: false to not page)",
            ));
        }
        for (i, s) in sev.iter().enumerate() {
            if !known.contains(&s.as_str()) {
                out.push(Issue::new(
                    format!("/spec/alerting/pagerduty/severities/{i}"),
                    format!("`{s}` is not a severity our alerts carry (expected one of critical, warning, info)"),
                ));
            }
        }
    }
    let Some(e) = &a.email else { return };
    let mailbox = |s: &str| {
        s.split_once('@').is_some_and(|(l, d)| {
            !l.is_empty() && d.contains('.') && !s.contains(char::is_whitespace)
        })
    };
    if let Some(to) = &e.to {
        if to.is_empty() {
            out.push(Issue::new(
                "/spec/alerting/email/to",
                "empty list (expected at least one address; set enabled: false to not mail)",
            ));
        }
        for (i, t) in to.iter().enumerate() {
            if !mailbox(t) {
                out.push(Issue::new(
                    format!("/spec/alerting/email/to/{i}"),
                    format!("`{t}` is not an e-mail address (expected name@domain)"),
                ));
            }
        }
    }
    if let Some(f) = &e.from
        && !mailbox(f)
    {
        out.push(Issue::new(
            "/spec/alerting/email/from",
            format!("`{f}` is not an e-mail address (expected name@domain)"),
        ));
    }
    if let Some(h) = &e.smarthost
        && !h.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        })
    {
        out.push(Issue::new(
            "/spec/alerting/email/smarthost",
            format!("`{h}` is not host:port (expected e.g. smtp.example.com:587)"),
        ));
    }
}

// ---- labels operators put on the pods they create ------------------------------------------

/// Crunchy PGO labels every instance pod with its cluster and, when `spec.monitoring.pgmonitor`
/// is set, marks it as carrying the exporter sidecar (container port `exporter`, 9187).
pub const PGO_CLUSTER_LABEL: &str = "postgres-operator.crunchydata.com/cluster";
pub const PGO_EXPORTER_LABEL: &str = "postgres-operator.crunchydata.com/crunchy-postgres-exporter";
pub const PGO_EXPORTER_PORT: &str = "exporter";
/// OT-Container-Kit redis-operator labels the pods of a RedisReplication `<name>` with
/// `app=<name>, redis_setup_type=replication, role=replication` and those of a RedisSentinel
/// `<name>` with `app=<name>-sentinel, redis_setup_type=sentinel, role=sentinel` (its e2e tests
/// assert exactly these). The exporter sidecar's port is named `redis-exporter` (9121).
pub const OT_REDIS_EXPORTER_PORT: &str = "redis-exporter";
/// Strimzi labels every pod of a Kafka cluster `<name>` (all node pools) with
/// `strimzi.io/cluster=<name>, strimzi.io/kind=Kafka, strimzi.io/name=<name>-kafka`; with a
/// `metricsConfig` the broker/controller container exposes `tcp-prometheus` (9404).
pub const STRIMZI_METRICS_PORT: &str = "tcp-prometheus";
/// The Flink Kubernetes Operator (native mode) labels JobManager and TaskManager pods of a
/// FlinkDeployment `<name>` with `app=<name>, type=flink-native-kubernetes` (plus
/// `component=jobmanager|taskmanager`).
pub const FLINK_NATIVE_TYPE: &str = "flink-native-kubernetes";
/// The MinIO operator labels a Tenant's pods and its Services (`minio`, `<tenant>-hl`) with
/// `v1.min.io/tenant=<tenant>`; with TLS the `minio` Service port is `https-minio` (443).
pub const MINIO_TENANT_LABEL: &str = "v1.min.io/tenant";
pub const MINIO_HTTPS_PORT: &str = "https-minio";
/// Altinity's operator labels the pods of a ClickHouseInstallation `<name>` with
/// `clickhouse.altinity.com/chi=<name>` and those of a ClickHouseKeeperInstallation with
/// `clickhouse-keeper.altinity.com/chk=<name>`.
pub const CHI_LABEL: &str = "clickhouse.altinity.com/chi";
pub const CHK_LABEL: &str = "clickhouse-keeper.altinity.com/chk";
/// ClickHouse's built-in Prometheus endpoint (`<prometheus>` server setting), named `metrics`
/// in the pod template the clickhouse component renders.
pub const CLICKHOUSE_METRICS_PORT: (&str, i32) = ("metrics", 9363);
/// Flink's Prometheus reporter port, named `metrics` in the flink component's pod templates.
pub const FLINK_METRICS_PORT: (&str, i32) = ("metrics", 9249);
/// The statsd-exporter sidecar of the Airflow schedulers: StatsD in on UDP 9125, Prometheus out.
pub const AIRFLOW_STATSD_PORT: i32 = 9125;
pub const AIRFLOW_METRICS_PORT: (&str, i32) = ("metrics", 9102);
/// Image of that sidecar (Prometheus project's statsd_exporter; the spec has no knob for it yet).
pub const STATSD_EXPORTER_IMAGE: &str = "quay.io/prometheus/statsd-exporter:v0.28.0";
/// Trino serves OpenMetrics at `/metrics` behind its client authentication. Without an
/// authenticator (this platform's Trino: insecure authentication on HTTPS) it still wants a
/// user name, which Prometheus can only send as HTTP basic auth. Trino's insecure authenticator
/// refuses any password ("Password not allowed for insecure authentication") but reads an empty
/// one as none (`emptyToNull` in `BasicAuthCredentials`), so the monitors send a user name only:
/// Secret `trino-metrics`, key `username` (any name: access control is Trino's default, allow
/// all), generated by `deploy` with the other platform Secrets and listed in `secrets.md`.
pub const TRINO_METRICS_SECRET: &str = "trino-metrics";

/// The labels an operator documents for the pods it creates from the CR `kind`/`name`, for
/// checking that a monitor's selector matches pods no manifest of ours describes (none for a
/// node pool: the Kafka CR's labels name the brokers).
pub fn operator_pod_labels(kind: PodOwner, name: &str) -> Vec<(String, String)> {
    let l = |v: &[(&str, String)]| v.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
    match kind {
        PodOwner::PostgresCluster => l(&[
            (PGO_CLUSTER_LABEL, name.to_string()),
            (PGO_EXPORTER_LABEL, "true".to_string()),
        ]),
        PodOwner::RedisReplication => l(&[
            ("app", name.to_string()),
            ("redis_setup_type", "replication".to_string()),
            ("role", "replication".to_string()),
        ]),
        PodOwner::RedisSentinel => l(&[
            ("app", format!("{name}-sentinel")),
            ("redis_setup_type", "sentinel".to_string()),
            ("role", "sentinel".to_string()),
        ]),
        PodOwner::Kafka => l(&[
            ("strimzi.io/cluster", name.to_string()),
            ("strimzi.io/kind", "Kafka".to_string()),
            ("strimzi.io/name", format!("{name}-kafka")),
        ]),
        PodOwner::FlinkDeployment => l(&[
            ("app", name.to_string()),
            ("type", FLINK_NATIVE_TYPE.to_string()),
        ]),
        PodOwner::Tenant => l(&[(MINIO_TENANT_LABEL, name.to_string())]),
        PodOwner::ClickHouseInstallation => l(&[(CHI_LABEL, name.to_string())]),
        PodOwner::ClickHouseKeeperInstallation => l(&[(CHK_LABEL, name.to_string())]),
        PodOwner::KafkaNodePool => vec![],
    }
}

// ---- builders ------------------------------------------------------------------------------

pub(crate) fn secs(d: Duration) -> String {
    // Whole seconds, rounded up: a `for:` shorter than the window it stands for fires early.
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{s}s")
}

pub(crate) fn rule(
    alert: &str,
    expr: String,
    for_: &str,
    severity: &str,
    summary: &str,
    description: String,
) -> Value {
    json!({
        "alert": alert,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity},
        "annotations": {"summary": summary, "description": description},
    })
}

pub(crate) fn prometheus_rule(m: &Model, id: ComponentId, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {"groups": [{"name": format!("{}.{}", m.name, name), "rules": rules}]},
    })
}

/// A PodMonitor for pods matching `labels`, scraping the named container port.
pub(crate) fn pod_monitor(
    m: &Model,
    id: ComponentId,
    name: &str,
    labels: &[(&str, &str)],
    endpoint: Value,
) -> Value {
    let sel: serde_json::Map<String, Value> = labels
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {
            "selector": {"matchLabels": sel},
            "podMetricsEndpoints": [endpoint],
        },
    })
}

pub(crate) fn endpoint(port: &str, path: Option<&str>) -> Value {
    let mut e = json!({"port": port, "interval": SCRAPE_INTERVAL});
    if let Some(p) = path {
        e["path"] = json!(p);
    }
    e
}

/// "Backup too old" for a snapshot CronJob: the last success is older than the schedule's gap
/// plus margin, or the CronJob exists that long without ever succeeding.
/// Longest gap of a snapshot schedule; a schedule too irregular to read gets a day, so the
/// alert stays meaningful rather than silent.
pub(crate) fn snapshot_gap(schedule: &str) -> Duration {
    crate::units::cron_max_gap(schedule).unwrap_or(Duration::from_secs(86_400))
}

pub(crate) fn cronjob_backup_rule(
    alert: &str,
    ns: &str,
    cronjob: &str,
    interval: Duration,
    component: &str,
) -> Value {
    let max_age = interval + BACKUP_MARGIN;
    let sel = format!("namespace=\"{ns}\",cronjob=\"{cronjob}\"");
    let s = max_age.as_secs();
    rule(
        alert,
        format!(
            "time() - kube_cronjob_status_last_successful_time{{{sel}}} > {s} or (time() - kube_cronjob_created{{{sel}}} > {s} unless on (namespace, cronjob) kube_cronjob_status_last_successful_time{{{sel}}})"
        ),
        "10m",
        "warning",
        &format!("{component} backup too old"),
        format!(
            "CronJob {ns}/{cronjob} has not succeeded for more than {s} s (schedule every {} s plus {} s margin): a restore would lose more than the backup plan promises.",
            interval.as_secs(),
            BACKUP_MARGIN.as_secs()
        ),
    )
}

// ---- assembly ------------------------------------------------------------------------------

/// The monitoring objects a component declares (each component's `monitoring.rs`), followed
/// by the namespace-wide objects when it is the first enabled component of its namespace.
pub fn objects(m: &Model, id: ComponentId) -> Vec<Value> {
    let mut out = crate::components::get(id).monitoring(m);
    out.extend(namespace_objects(m, id));
    out
}

/// Fewer available replicas of a Deployment than `min` (kube-state-metrics; also fires when the
/// Deployment is gone).
pub(crate) fn deployment_available(ns: &str, deployment: &str, min: u32) -> String {
    let sel = format!("namespace=\"{ns}\",deployment=\"{deployment}\"");
    format!(
        "kube_deployment_status_replicas_available{{{sel}}} < {min} or absent(kube_deployment_status_replicas_available{{{sel}}})"
    )
}

// ---- namespace-wide objects ----------------------------------------------------------------

/// The first enabled component of each namespace carries the namespace's PVC and crash-loop
/// alerts and its AlertmanagerConfig: the Prometheus Operator scopes an AlertmanagerConfig to
/// alerts of its own namespace, so every platform namespace needs one.
fn namespace_objects(m: &Model, id: ComponentId) -> Vec<Value> {
    let ns = &m.get(id).namespace;
    let first = m
        .enabled_components()
        .find(|c| &m.get(c.id()).namespace == ns)
        .map(|c| c.id());
    if first != Some(id) {
        return vec![];
    }
    let sel = format!("namespace=\"{ns}\"");
    let rules = vec![
        rule(
            "PersistentVolumeFillingUp",
            format!(
                "kubelet_volume_stats_available_bytes{{{sel}}} / kubelet_volume_stats_capacity_bytes{{{sel}}} < 0.15"
            ),
            "5m",
            "warning",
            "Volume almost full",
            "PVC {{ $labels.persistentvolumeclaim }} has less than 15 % free space.".into(),
        ),
        rule(
            "PersistentVolumeFillingUp",
            format!(
                "kubelet_volume_stats_available_bytes{{{sel}}} / kubelet_volume_stats_capacity_bytes{{{sel}}} < 0.05"
            ),
            "2m",
            "critical",
            "Volume full",
            "PVC {{ $labels.persistentvolumeclaim }} has less than 5 % free space: the service writing to it is about to fail.".into(),
        ),
        rule(
            "PodCrashLooping",
            format!(
                "max_over_time(kube_pod_container_status_waiting_reason{{{sel},reason=\"CrashLoopBackOff\"}}[5m]) >= 1"
            ),
            "15m",
            "warning",
            "Pod crash-looping",
            "Container {{ $labels.container }} of {{ $labels.pod }} has been restarting in CrashLoopBackOff for 15 minutes.".into(),
        ),
    ];
    let name = format!("{}-namespace", m.name);
    let mut v = vec![prometheus_rule(m, id, &name, rules)];
    v.extend(alertmanager_config(m, id).map(|c| k8s::to_value(&c)));
    v
}

fn eq(name: &str, value: &str) -> AmMatcher {
    AmMatcher {
        name: name.into(),
        value: value.into(),
        match_type: "=",
    }
}

/// Alerts of the paging severities page (PagerDuty) and every alert is mailed; `None` when
/// both receivers are off (the cluster's own Alertmanager routing then applies).
pub fn alertmanager_config(m: &Model, id: ComponentId) -> Option<AlertmanagerConfig> {
    const PAGERDUTY: &str = "pagerduty";
    const EMAIL: &str = "email";
    const NOWHERE: &str = "none";
    let a = Alerting::resolve(m.platform);
    if a.pagerduty.is_none() && a.email.is_none() {
        return None;
    }
    let child = |receiver: &str, matchers: Vec<AmMatcher>, continue_: bool| AmRoute {
        receiver: receiver.into(),
        group_by: vec![],
        group_wait: None,
        group_interval: None,
        repeat_interval: None,
        matchers,
        continue_,
        routes: vec![],
    };
    let secret = |(name, key): &(String, String)| AmSecretRef {
        name: name.clone(),
        key: key.clone(),
    };
    let mut routes = Vec::new();
    let mut receivers = Vec::new();
    if let Some(p) = &a.pagerduty {
        let matcher = match p.severities.as_slice() {
            [one] => eq("severity", one),
            many => AmMatcher {
                name: "severity".into(),
                value: many.join("|"),
                match_type: "=~",
            },
        };
        // `continue` lets a paging alert reach the e-mail route too.
        routes.push(child(PAGERDUTY, vec![matcher], a.email.is_some()));
        receivers.push(AmReceiver {
            name: PAGERDUTY.into(),
            pagerduty_configs: vec![AmPagerDuty {
                routing_key: secret(&p.routing_key),
                send_resolved: true,
            }],
            email_configs: vec![],
        });
    }
    let root = if let Some(e) = &a.email {
        routes.push(child(EMAIL, vec![], false));
        receivers.push(AmReceiver {
            name: EMAIL.into(),
            pagerduty_configs: vec![],
            email_configs: vec![AmEmail {
                to: e.to.join(", "),
                from: e.from.clone(),
                smarthost: e.smarthost.clone(),
                auth_username: e.username.clone(),
                auth_password: secret(&e.password),
                require_tls: true,
                send_resolved: true,
            }],
        });
        EMAIL
    } else {
        // The root route needs a receiver; alerts that do not page go nowhere by choice.
        receivers.push(AmReceiver {
            name: NOWHERE.into(),
            pagerduty_configs: vec![],
            email_configs: vec![],
        });
        NOWHERE
    };
    Some(AlertmanagerConfig {
        api_version: "monitoring.coreos.com/v1alpha1",
        kind: "AlertmanagerConfig",
        metadata: k8s::meta(m, id, ALERTMANAGER_CONFIG, ALERTMANAGER_CONFIG),
        spec: AmSpec {
            route: AmRoute {
                receiver: root.into(),
                group_by: vec!["alertname".into(), "namespace".into()],
                group_wait: Some("30s".into()),
                group_interval: Some("5m".into()),
                repeat_interval: Some("4h".into()),
                matchers: vec![],
                continue_: false,
                routes,
            },
            receivers,
            // A firing critical alert already says it: do not also mail its warning twin
            // (same alert name, lower threshold) for the same object.
            inhibit_rules: vec![AmInhibitRule {
                source_match: vec![eq("severity", "critical")],
                target_match: vec![eq("severity", "warning")],
                equal: ["namespace", "alertname", "pod", "persistentvolumeclaim"]
                    .map(String::from)
                    .to_vec(),
            }],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Platform, Profile};

    fn tree(p: &Platform) -> Vec<Value> {
        crate::render(p).objects().map(|(_, o)| o.clone()).collect()
    }

    fn pod_labels(o: &Value) -> Option<&serde_json::Map<String, Value>> {
        o["spec"]["template"]["metadata"]["labels"].as_object()
    }

    fn container_ports(o: &Value) -> Vec<String> {
        o["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|c| c["ports"].as_array().into_iter().flatten())
            .filter_map(|p| p["name"].as_str().map(String::from))
            .collect()
    }

    fn subset(sel: &serde_json::Map<String, Value>, labels: &[(String, String)]) -> bool {
        sel.iter().all(|(k, v)| {
            labels
                .iter()
                .any(|(lk, lv)| lk == k && Some(lv.as_str()) == v.as_str())
        })
    }

    /// Every PodMonitor/ServiceMonitor selects something that exists: a rendered workload (with
    /// the scraped port), a rendered Service (for ServiceMonitors), or the pods an operator makes
    /// from a rendered CR, by the labels the operator documents.
    #[test]
    fn every_monitor_selects_rendered_or_operator_pods() {
        let mut dev = Platform::default_ha();
        dev.spec.profile = Profile::Dev;
        for p in [Platform::default_ha(), dev] {
            let objs = tree(&p);
            let monitors: Vec<&Value> = objs
                .iter()
                .filter(|o| o["kind"] == "PodMonitor" || o["kind"] == "ServiceMonitor")
                .collect();
            assert!(
                monitors.len() >= 3,
                "expected monitors, got {}",
                monitors.len()
            );
            for mon in monitors {
                let ns = &mon["metadata"]["namespace"];
                let sel = mon["spec"]["selector"]["matchLabels"]
                    .as_object()
                    .unwrap_or_else(|| panic!("{} has no matchLabels", mon["metadata"]["name"]));
                let same_ns = objs.iter().filter(|o| &o["metadata"]["namespace"] == ns);
                let found = same_ns.clone().any(|o| {
                    let labels: Vec<(String, String)> = match mon["kind"].as_str() {
                        Some("PodMonitor") => pod_labels(o)
                            .map(|l| {
                                l.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                                    .collect()
                            })
                            .or_else(|| {
                                PodOwner::of(o).map(|k| {
                                    operator_pod_labels(
                                        k,
                                        o["metadata"]["name"].as_str().unwrap_or(""),
                                    )
                                })
                            })
                            .unwrap_or_default(),
                        _ if o["kind"] == "Service" => o["metadata"]["labels"]
                            .as_object()
                            .map(|l| {
                                l.iter()
                                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        // Operators that label their Services like their pods (MinIO).
                        _ => PodOwner::of(o)
                            .map(|k| {
                                operator_pod_labels(k, o["metadata"]["name"].as_str().unwrap_or(""))
                            })
                            .unwrap_or_default(),
                    };
                    !labels.is_empty() && subset(sel, &labels)
                });
                assert!(
                    found,
                    "{} {}/{} selects nothing rendered: {sel:?}",
                    mon["kind"], ns, mon["metadata"]["name"]
                );
                // Where we render the pods ourselves, the scraped port must exist on them.
                if mon["kind"] == "PodMonitor" {
                    for o in same_ns.filter(|o| pod_labels(o).is_some()) {
                        let labels: Vec<(String, String)> = pod_labels(o)
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                            .collect();
                        if subset(sel, &labels) {
                            for ep in mon["spec"]["podMetricsEndpoints"]
                                .as_array()
                                .into_iter()
                                .flatten()
                            {
                                if let Some(port) = ep["port"].as_str() {
                                    assert!(
                                        container_ports(o).iter().any(|p| p == port),
                                        "{}: port {port} not on {}",
                                        mon["metadata"]["name"],
                                        o["metadata"]["name"]
                                    );
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn etcd_default_quota_matches_the_rendered_flag() {
        let objs = tree(&Platform::default_ha());
        let flag = format!("--quota-backend-bytes={ETCD_DEFAULT_QUOTA_BYTES}");
        assert!(objs.iter().any(|o| {
            o["kind"] == "StatefulSet"
                && o["metadata"]["name"] == crate::components::etcd::NAME
                && o.to_string().contains(&flag)
        }));
    }

    #[test]
    fn cron_gaps() {
        let h = |x: u64| Some(Duration::from_secs(x * 3600));
        assert_eq!(crate::units::cron_max_gap("0 */6 * * *"), h(6));
        assert_eq!(crate::units::cron_max_gap("0 1 * * *"), h(24));
        assert_eq!(crate::units::cron_max_gap("30 * * * *"), h(1));
        assert_eq!(crate::units::cron_max_gap("0 1,7,19 * * *"), h(12));
        assert_eq!(
            crate::units::cron_max_gap("*/30 * * * *"),
            Some(Duration::from_secs(1800))
        );
        assert_eq!(crate::units::cron_max_gap("0 1 * * 0"), None);
        assert_eq!(crate::units::cron_max_gap("garbage"), None);
        assert_eq!(crate::units::cron_max_gap("0 25 * * *"), None);
    }

    #[test]
    fn alertmanager_config_pages_critical_and_mails_everything() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Postgresql) else {
            panic!("the default spec routes alerts")
        };
        let v = k8s::to_value(&c);
        assert_eq!(v["apiVersion"], "monitoring.coreos.com/v1alpha1");
        assert_eq!(v["kind"], "AlertmanagerConfig");
        assert_eq!(
            v["metadata"]["namespace"],
            m.get(ComponentId::Postgresql).namespace.as_str()
        );
        let route = &v["spec"]["route"];
        assert_eq!(route["receiver"], "email");
        let routes = route["routes"].as_array().cloned().unwrap_or_default();
        assert_eq!(routes.len(), 2);
        assert_eq!(routes[0]["receiver"], "pagerduty");
        assert_eq!(
            routes[0]["matchers"],
            json!([{"name": "severity", "value": "critical", "matchType": "="}])
        );
        assert_eq!(routes[0]["continue"], true);
        assert_eq!(routes[1]["receiver"], "email");
        assert!(
            routes[1].get("matchers").is_none(),
            "the e-mail route takes everything"
        );
        let recv = &v["spec"]["receivers"];
        assert_eq!(
            recv[0]["pagerdutyConfigs"][0]["routingKey"],
            json!({"name": "alertmanager-pagerduty", "key": "routing-key"})
        );
        assert_eq!(
            recv[1]["emailConfigs"][0]["authPassword"],
            json!({"name": "alertmanager-smtp", "key": "password"})
        );
        assert_eq!(recv[1]["emailConfigs"][0]["requireTLS"], true);
        assert_eq!(
            v["spec"]["inhibitRules"][0]["sourceMatch"][0]["matchType"],
            "="
        );
        // References only: no literal key or password anywhere.
        let text = v.to_string();
        assert!(!text.contains("serviceKey") && !text.contains("authSecret\":\""));
    }

    #[test]
    fn every_namespace_gets_one_alertmanager_config() {
        let objs = tree(&Platform::default_ha());
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let mut nss: Vec<String> = objs
            .iter()
            .filter(|o| o["kind"] == "AlertmanagerConfig")
            .filter_map(|o| o["metadata"]["namespace"].as_str().map(String::from))
            .collect();
        nss.sort();
        assert_eq!(nss, m.namespaces());
    }

    fn with_alerting(yaml: &str) -> Platform {
        let mut p = Platform::default_ha();
        let doc = match datalyptica_yaml::parse(yaml).map(|mut d| d.remove(0)) {
            Ok(d) => d,
            Err(e) => panic!("test spec: {e}"),
        };
        p.spec.alerting = match serde_json::from_value(doc.value) {
            Ok(a) => a,
            Err(e) => panic!("test spec: {e}"),
        };
        p
    }

    #[test]
    fn alert_receivers_follow_the_spec() {
        let p = with_alerting(
            "pagerduty: {severities: [critical, warning], routingKey: {name: pd, key: k}}\nemail: {to: [a@corp.example, b@corp.example], from: am@corp.example, smarthost: 'relay.corp.example:2525', password: {name: smtp, key: pw}}",
        );
        assert!(crate::validate::validate(&p).is_empty());
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Redis) else {
            panic!("receivers are on")
        };
        let v = k8s::to_value(&c);
        let routes = &v["spec"]["route"]["routes"];
        assert_eq!(
            routes[0]["matchers"],
            json!([{"name": "severity", "value": "critical|warning", "matchType": "=~"}])
        );
        let recv = &v["spec"]["receivers"];
        assert_eq!(
            recv[0]["pagerdutyConfigs"][0]["routingKey"],
            json!({"name": "pd", "key": "k"})
        );
        let mail = &recv[1]["emailConfigs"][0];
        assert_eq!(mail["to"], "a@corp.example, b@corp.example");
        assert_eq!(mail["smarthost"], "relay.corp.example:2525");
        assert_eq!(
            mail["authUsername"], "am@corp.example",
            "the user defaults to the sender"
        );
        assert_eq!(mail["authPassword"], json!({"name": "smtp", "key": "pw"}));
        assert_eq!(
            Alerting::resolve(&p)
                .secrets()
                .into_iter()
                .map(|(n, _)| n)
                .collect::<Vec<_>>(),
            ["pd", "smtp"]
        );
    }

    #[test]
    fn paging_only_mail_only_and_no_receivers() {
        let p = with_alerting("email: {enabled: false}");
        let m = Model::new(&p);
        let v = alertmanager_config(&m, ComponentId::Etcd).map(|c| k8s::to_value(&c));
        let Some(v) = v else {
            panic!("PagerDuty is still on")
        };
        assert_eq!(v["spec"]["route"]["receiver"], "none");
        assert_eq!(v["spec"]["route"]["routes"][0]["receiver"], "pagerduty");
        assert!(v["spec"]["route"]["routes"][0].get("continue").is_none());
        assert_eq!(v["spec"]["receivers"][1], json!({"name": "none"}));

        let p = with_alerting("pagerduty: {enabled: false}");
        let m = Model::new(&p);
        let Some(c) = alertmanager_config(&m, ComponentId::Etcd) else {
            panic!("e-mail is still on")
        };
        let v = k8s::to_value(&c);
        assert_eq!(v["spec"]["receivers"].as_array().map(Vec::len), Some(1));
        assert!(!v.to_string().contains("pagerduty"));

        let p = with_alerting("pagerduty: {enabled: false}\nemail: {enabled: false}");
        assert!(!tree(&p).iter().any(|o| o["kind"] == "AlertmanagerConfig"));
    }

    #[test]
    fn bad_receivers_are_spec_errors() {
        let p = with_alerting(
            "pagerduty: {severities: [page]}\nemail: {to: [oncall], smarthost: smtp.example.com}",
        );
        let paths: Vec<String> = crate::validate::validate(&p)
            .into_iter()
            .map(|i| i.pointer)
            .collect();
        assert_eq!(
            paths,
            [
                "/spec/alerting/pagerduty/severities/0",
                "/spec/alerting/email/to/0",
                "/spec/alerting/email/smarthost"
            ]
        );
    }
}
