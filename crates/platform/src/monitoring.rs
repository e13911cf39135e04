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

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::components::postgresql::{self, PatroniTiming};
use crate::components::{
    airflow, clickhouse, etcd, flink, kafka, minio, nessie, redis, spark, superset, trino,
};
use crate::k8s;
use crate::model::Model;

/// Scrape interval of every monitor: short enough that a `for:` derived from a failover window
/// of tens of seconds sees several samples.
const SCRAPE_INTERVAL: &str = "15s";

/// Slack added to a backup schedule's longest gap before "backup too old" fires: a backup is
/// not instantaneous, and one slow run must not page.
const BACKUP_MARGIN: Duration = Duration::from_secs(3600);

/// etcd's `--quota-backend-bytes` when the spec leaves it unset (etcd's own default, 2 GiB, which
/// the etcd component renders explicitly; a test checks the two agree).
const ETCD_DEFAULT_QUOTA_BYTES: u64 = 2 * 1024 * 1024 * 1024;

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
/// checking that a monitor's selector matches pods no manifest of ours describes.
pub fn operator_pod_labels(kind: &str, name: &str) -> Option<Vec<(String, String)>> {
    let l =
        |v: &[(&str, String)]| Some(v.iter().map(|(k, v)| (k.to_string(), v.clone())).collect());
    match kind {
        "PostgresCluster" => l(&[
            (PGO_CLUSTER_LABEL, name.to_string()),
            (PGO_EXPORTER_LABEL, "true".to_string()),
        ]),
        "RedisReplication" => l(&[
            ("app", name.to_string()),
            ("redis_setup_type", "replication".to_string()),
            ("role", "replication".to_string()),
        ]),
        "RedisSentinel" => l(&[
            ("app", format!("{name}-sentinel")),
            ("redis_setup_type", "sentinel".to_string()),
            ("role", "sentinel".to_string()),
        ]),
        "Kafka" => l(&[
            ("strimzi.io/cluster", name.to_string()),
            ("strimzi.io/kind", "Kafka".to_string()),
            ("strimzi.io/name", format!("{name}-kafka")),
        ]),
        "FlinkDeployment" => l(&[
            ("app", name.to_string()),
            ("type", FLINK_NATIVE_TYPE.to_string()),
        ]),
        "Tenant" => l(&[(MINIO_TENANT_LABEL, name.to_string())]),
        "ClickHouseInstallation" => l(&[(CHI_LABEL, name.to_string())]),
        "ClickHouseKeeperInstallation" => l(&[(CHK_LABEL, name.to_string())]),
        _ => None,
    }
}

// ---- builders ------------------------------------------------------------------------------

fn secs(d: Duration) -> String {
    // Whole seconds, rounded up: a `for:` shorter than the window it stands for fires early.
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    format!("{s}s")
}

fn rule(
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

fn prometheus_rule(m: &Model, id: ComponentId, name: &str, rules: Vec<Value>) -> Value {
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": k8s::to_value(&k8s::meta(m, id, name, id.name())),
        "spec": {"groups": [{"name": format!("{}.{}", m.name, name), "rules": rules}]},
    })
}

/// A PodMonitor for pods matching `labels`, scraping the named container port.
fn pod_monitor(
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

fn endpoint(port: &str, path: Option<&str>) -> Value {
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
fn snapshot_gap(schedule: &str) -> Duration {
    crate::units::cron_max_gap(schedule).unwrap_or(Duration::from_secs(86_400))
}

fn cronjob_backup_rule(
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

// ---- per component -------------------------------------------------------------------------

/// The monitoring objects of a component (empty when it has none), followed by the
/// namespace-wide objects when it is the first enabled component of its namespace.
pub fn objects(m: &Model, id: ComponentId) -> Vec<Value> {
    let mut out = match id {
        ComponentId::Postgresql => {
            let t = postgresql::patroni_timing(
                &m.platform.spec.components.postgresql.config,
                m.get(id).slo.rto,
            );
            postgresql(m, t)
        }
        ComponentId::Redis => redis_objects(m),
        ComponentId::Etcd => etcd_objects(m),
        ComponentId::Minio => minio_objects(m),
        ComponentId::Nessie => nessie_objects(m),
        ComponentId::Kafka => kafka_objects(m),
        ComponentId::Flink => flink_objects(m),
        ComponentId::Trino => trino_objects(m),
        ComponentId::Spark => spark_objects(m),
        ComponentId::Clickhouse => clickhouse_objects(m),
        ComponentId::Airflow => airflow_objects(m),
        ComponentId::Superset => superset_objects(m),
    };
    out.extend(namespace_objects(m, id));
    out
}

fn postgresql(m: &Model, t: PatroniTiming) -> Vec<Value> {
    let id = ComponentId::Postgresql;
    let ns = &m.get(id).namespace;
    let cluster = postgresql::CLUSTER;
    let sel = format!("namespace=\"{ns}\",pod=~\"{cluster}-.*\"");
    let c = &m.platform.spec.components.postgresql.config;
    let max_lag = c.maximum_lag_on_failover.unwrap_or(1_048_576);
    let monitor = pod_monitor(
        m,
        id,
        cluster,
        &[(PGO_CLUSTER_LABEL, cluster), (PGO_EXPORTER_LABEL, "true")],
        endpoint(PGO_EXPORTER_PORT, None),
    );
    // The newest of the full and differential backups bounds the restore point; the
    // differential schedule is the denser one, so its longest gap is the expected age.
    let diff = crate::backup::postgresql(m).differential;
    let backup_max_age = crate::units::cron_max_gap(&diff)
        .unwrap_or(Duration::from_secs(7 * 86_400))
        + BACKUP_MARGIN;
    // pgMonitor: ccp_is_in_recovery_status is 1 on a replica and 2 on the primary.
    let mut rules = vec![
        rule(
            "PostgreSQLPrimaryMissing",
            format!("absent(ccp_is_in_recovery_status{{{sel}}} == 2)"),
            &format!("{}s", t.ttl + t.loop_wait),
            "critical",
            "No PostgreSQL primary",
            format!(
                "No instance of {ns}/{cluster} reports itself primary for longer than Patroni's failover window: writes are failing."
            ),
        ),
        rule(
            "PostgreSQLFailoverHappened",
            format!(
                "changes(ccp_is_in_recovery_status{{{sel}}}[10m]) > 0 and ccp_is_in_recovery_status{{{sel}}} == 2"
            ),
            "0m",
            "warning",
            "PostgreSQL failover",
            "{{ $labels.pod }} was promoted to primary in the last 10 minutes.".into(),
        ),
        rule(
            "PostgreSQLReplicationLag",
            format!(
                "max by (namespace, pod) (ccp_replication_lag_size_bytes{{{sel}}}) > {max_lag}"
            ),
            "2m",
            "warning",
            "PostgreSQL replica lags",
            format!(
                "A replica lags by more than maximum_lag_on_failover ({max_lag} bytes) and is no failover candidate."
            ),
        ),
        rule(
            "PostgreSQLBackupTooOld",
            format!(
                "min by (namespace, stanza) ({{__name__=~\"ccp_backrest_last_(full|diff)_backup_time_since_completion_seconds\",{sel}}}) > {}",
                backup_max_age.as_secs()
            ),
            "10m",
            "warning",
            "PostgreSQL backup too old",
            format!(
                "The newest full or differential pgBackRest backup is older than {} s (differential schedule `{diff}` plus {} s margin).",
                backup_max_age.as_secs(),
                BACKUP_MARGIN.as_secs()
            ),
        ),
        rule(
            "PostgreSQLExporterDown",
            format!("up{{{sel}}} == 0"),
            "5m",
            "warning",
            "PostgreSQL metrics missing",
            "The exporter of {{ $labels.pod }} cannot be scraped; the alerts above are blind."
                .into(),
        ),
    ];
    // A single-instance cluster (dev) has no standby by design: the alert would always fire.
    if m.get(id).replicas > 1 {
        rules.push(rule(
            "PostgreSQLSyncStandbyMissing",
            format!("absent(ccp_is_in_recovery_status{{{sel}}} == 1)"),
            "1m",
            "critical",
            "No PostgreSQL standby",
            "No replica is running: there is no synchronous standby and no failover target.".into(),
        ));
    }
    vec![monitor, prometheus_rule(m, id, cluster, rules)]
}

fn redis_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Redis;
    let r = m.get(id);
    let ns = &r.namespace;
    let t = redis::timing(m);
    let name = redis::REPLICATION;
    let sentinel_sts = format!("{}-sentinel", redis::SENTINEL);
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-[0-9]+\"");
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[
            ("app", name),
            ("redis_setup_type", "replication"),
            ("role", "replication"),
        ],
        endpoint(OT_REDIS_EXPORTER_PORT, None),
    );
    let failover = t.expected_failover();
    // A failover needs a majority of Sentinels, ODOWN needs `quorum` of them: whichever is larger.
    let sentinels_needed = t.quorum.max(k8s::majority(t.sentinels));
    let rpo = r.slo.rpo.as_secs().max(1);
    let mut rules = vec![
        rule(
            "RedisMasterDown",
            format!("absent(redis_instance_info{{{sel},role=\"master\"}})"),
            &secs(failover),
            "critical",
            "No Redis master",
            format!(
                "No Redis node of {ns}/{name} is master for longer than Sentinel's failover window (down-after {} ms + election): writes are failing.",
                t.down_after_ms
            ),
        ),
        rule(
            "RedisMultipleMasters",
            format!("count(redis_instance_info{{{sel},role=\"master\"}}) > 1"),
            &secs(Duration::from_millis(u64::from(t.failover_timeout_ms))),
            "critical",
            "More than one Redis master",
            "Several Redis nodes report role master for longer than Sentinel's failover-timeout: writes may split between them.".into(),
        ),
        rule(
            "RedisSentinelQuorumLost",
            format!(
                "(sum(kube_pod_status_ready{{namespace=\"{ns}\",pod=~\"{sentinel_sts}-[0-9]+\",condition=\"true\"}}) or vector(0)) < {sentinels_needed}"
            ),
            "1m",
            "critical",
            "Redis Sentinel cannot fail over",
            format!(
                "Fewer than {sentinels_needed} of {} Sentinels are ready: a master failure would not be detected or no failover leader could be elected.",
                t.sentinels
            ),
        ),
        rule(
            "RedisReplicationLag",
            format!("max by (namespace, pod, slave_ip) (redis_connected_slave_lag_seconds{{{sel}}}) > {rpo}"),
            "1m",
            "warning",
            "Redis replica lags",
            format!(
                "A replica has not acknowledged the master's stream for more than the RPO ({rpo} s): a failover now would lose more than the RPO allows."
            ),
        ),
        rule(
            "RedisInstanceDown",
            format!("redis_up{{{sel}}} == 0 or up{{{sel}}} == 0"),
            "2m",
            "warning",
            "Redis node down",
            "{{ $labels.pod }} does not answer its exporter (or the exporter cannot be scraped).".into(),
        ),
        cronjob_backup_rule("RedisBackupTooOld", ns, "redis-backup", snapshot_gap(&crate::backup::redis_snapshot(m).schedule), "Redis"),
    ];
    if t.min_replicas_to_write > 0 {
        rules.push(rule(
            "RedisWritesRefused",
            format!(
                "redis_connected_slaves{{{sel}}} < {} and on (pod) redis_instance_info{{{sel},role=\"master\"}}",
                t.min_replicas_to_write
            ),
            &secs(Duration::from_secs(u64::from(t.min_replicas_max_lag_s))),
            "critical",
            "Redis master refuses writes",
            format!(
                "The master has fewer than min-replicas-to-write ({}) replicas within {} s: it refuses every write.",
                t.min_replicas_to_write, t.min_replicas_max_lag_s
            ),
        ));
    }
    vec![monitor, prometheus_rule(m, id, name, rules)]
}

fn etcd_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Etcd;
    let r = m.get(id);
    let ns = &r.namespace;
    let t = etcd::timing(m);
    let name = etcd::NAME;
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-[0-9]+\"");
    let quota = m
        .platform
        .spec
        .components
        .etcd
        .config
        .quota_backend_bytes
        .unwrap_or(ETCD_DEFAULT_QUOTA_BYTES);
    let majority = k8s::majority(r.replicas);
    let monitor = pod_monitor(m, id, name, &[("app", name)], endpoint("metrics", None));
    // Leaderless for longer than the RTO breaches the SLO; an election normally takes about two
    // election timeouts, so never alert below that.
    let no_leader_for = r
        .slo
        .rto
        .max(Duration::from_millis(2 * u64::from(t.election_ms)));
    let rules = vec![
        rule(
            "EtcdNoLeader",
            format!("etcd_server_has_leader{{{sel}}} == 0"),
            &secs(no_leader_for),
            "critical",
            "etcd member without leader",
            "{{ $labels.pod }} has no leader: the cluster lost its quorum or the member is partitioned.".into(),
        ),
        rule(
            "EtcdInsufficientMembers",
            format!("(sum(up{{{sel}}}) or vector(0)) < {majority}"),
            "1m",
            "critical",
            "etcd quorum at risk",
            format!("Fewer than {majority} of {} etcd members are up: the cluster has no quorum.", r.replicas),
        ),
        rule(
            "EtcdFrequentLeaderChanges",
            format!("max by (namespace) (increase(etcd_server_leader_changes_seen_total{{{sel}}}[1h])) > 3"),
            "5m",
            "warning",
            "etcd leader changes often",
            format!(
                "More than 3 leader elections in an hour: heartbeat {} ms / election timeout {} ms may be too tight for the network or disks are slow.",
                t.heartbeat_ms, t.election_ms
            ),
        ),
        rule(
            "EtcdDatabaseNearQuota",
            format!("max by (namespace) (etcd_mvcc_db_total_size_in_bytes{{{sel}}}) > {}", quota / 10 * 8),
            "10m",
            "warning",
            "etcd database near its quota",
            format!("The etcd database uses more than 80 % of --quota-backend-bytes ({quota}); at 100 % etcd raises NOSPACE and refuses writes."),
        ),
        rule(
            "EtcdDatabaseNearQuota",
            format!("max by (namespace) (etcd_mvcc_db_total_size_in_bytes{{{sel}}}) > {}", quota / 100 * 95),
            "2m",
            "critical",
            "etcd database almost at its quota",
            format!("The etcd database uses more than 95 % of --quota-backend-bytes ({quota}): compact and defragment now."),
        ),
        cronjob_backup_rule("EtcdBackupTooOld", ns, "etcd-backup", snapshot_gap(&crate::backup::etcd_snapshot(m).schedule), "etcd"),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}

/// Fewer available replicas of a Deployment than `min` (kube-state-metrics; also fires when the
/// Deployment is gone).
fn deployment_available(ns: &str, deployment: &str, min: u32) -> String {
    let sel = format!("namespace=\"{ns}\",deployment=\"{deployment}\"");
    format!(
        "kube_deployment_status_replicas_available{{{sel}}} < {min} or absent(kube_deployment_status_replicas_available{{{sel}}})"
    )
}

fn minio_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Minio;
    let ns = &m.get(id).namespace;
    let tenant = minio::TENANT;
    let e = minio::erasure(m);
    // The cluster endpoint answers for the whole tenant, so it is scraped through the operator's
    // ClusterIP Service (one server per scrape), not per pod, verified against the CA of the
    // certificate deploy issues for the tenant (`ca.crt` of that very Secret).
    let monitor = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": k8s::to_value(&k8s::meta(m, id, tenant, id.name())),
        "spec": {
            "selector": {"matchLabels": {MINIO_TENANT_LABEL: tenant}},
            "endpoints": [{
                "port": MINIO_HTTPS_PORT,
                "scheme": "https",
                "path": "/minio/v2/metrics/cluster",
                "interval": SCRAPE_INTERVAL,
                "tlsConfig": {
                    "ca": {"secret": {"name": minio::TLS_SECRET, "key": "ca.crt"}},
                    "serverName": format!("{tenant}.{ns}.svc"),
                },
            }],
        },
    });
    let sel = format!("namespace=\"{ns}\",service=\"{tenant}\"");
    let drives_per_server = e.drives / e.servers.max(1);
    let rules = vec![
        rule(
            "MinIODriveOffline",
            format!(
                "max by (namespace) ({{__name__=~\"minio_cluster_(drive|disk)_offline_total\",{sel}}}) > 0"
            ),
            "5m",
            "warning",
            "MinIO drive offline",
            format!(
                "{{{{ $value }}}} drive(s) offline. Each erasure set of {} drives (EC:{}) accepts writes with up to {} and serves reads with up to {} drives lost.",
                e.set_size,
                e.parity,
                e.write_tolerance(),
                e.read_tolerance()
            ),
        ),
        rule(
            "MinIONodeOffline",
            format!("max by (namespace) (minio_cluster_nodes_offline_total{{{sel}}}) > 0"),
            "5m",
            // A node carries `drives_per_server` drives of the set: losing one already uses
            // up (or exceeds) the write tolerance in the default layouts.
            if drives_per_server >= e.write_tolerance() {
                "critical"
            } else {
                "warning"
            },
            "MinIO node offline",
            format!(
                "{{{{ $value }}}} of {} MinIO servers offline ({drives_per_server} drive(s) each; writes survive {} lost drive(s) per set).",
                e.servers,
                e.write_tolerance()
            ),
        ),
        rule(
            "MinIOWriteQuorumAtRisk",
            format!(
                "min by (namespace, pool, set) (minio_cluster_health_erasure_set_online_drives{{{sel}}} - minio_cluster_health_erasure_set_write_quorum{{{sel}}}) < 1"
            ),
            "1m",
            "critical",
            "MinIO erasure set at write quorum",
            "An erasure set has no drive to spare above its write quorum: one more loss stops writes.".into(),
        ),
        rule(
            "MinIOMetricsDown",
            format!("absent(up{{{sel}}} == 1)"),
            "5m",
            "warning",
            "MinIO metrics missing",
            format!("{ns}/{tenant} cannot be scraped: the MinIO alerts are blind."),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, tenant, rules)]
}

fn nessie_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Nessie;
    let r = m.get(id);
    let ns = &r.namespace;
    let name = nessie::NAME;
    // Quarkus serves Micrometer's Prometheus registry on the management port.
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[("app", name)],
        endpoint("management", Some("/q/metrics")),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-.*\"");
    let rules = vec![
        rule(
            "NessieUnavailable",
            deployment_available(ns, name, 1),
            &secs(r.slo.rto),
            "critical",
            "Nessie catalog down",
            format!(
                "No Nessie pod is available for longer than the RTO ({} s): table commits and catalog reads fail.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "NessieServerErrors",
            format!(
                "sum by (namespace) (rate(http_server_requests_seconds_count{{{sel},status=~\"5..\"}}[5m])) / sum by (namespace) (rate(http_server_requests_seconds_count{{{sel}}}[5m])) > 0.05"
            ),
            "10m",
            "warning",
            "Nessie answers with server errors",
            "More than 5 % of Nessie requests fail with 5xx (backend store unreachable?).".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}

fn kafka_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Kafka;
    let r = m.get(id);
    let ns = &r.namespace;
    let cluster = kafka::CLUSTER;
    let monitor = pod_monitor(
        m,
        id,
        cluster,
        &[
            ("strimzi.io/cluster", cluster),
            ("strimzi.io/kind", "Kafka"),
        ],
        endpoint(STRIMZI_METRICS_PORT, Some("/metrics")),
    );
    let sel = format!(
        "namespace=\"{ns}\",pod=~\"{cluster}-({}|{})-[0-9]+\"",
        kafka::CONTROLLERS,
        kafka::BROKERS
    );
    // `sum(…) or vector(0)`: both sides without labels, so the fallback only applies when no
    // series exists (a `by` clause would make it a second, always-present element).
    let rules = vec![
        rule(
            "KafkaUnderReplicatedPartitions",
            format!(
                "sum by (namespace) (kafka_server_replicamanager_underreplicatedpartitions{{{sel}}}) > 0"
            ),
            "5m",
            "warning",
            "Kafka partitions under-replicated",
            "{{ $value }} partition(s) have fewer in-sync replicas than replicas for 5 minutes (a broker is down or lagging); one more failure may stop writes.".into(),
        ),
        rule(
            "KafkaUnderMinIsrPartitions",
            format!(
                "sum by (namespace) (kafka_server_replicamanager_underminisrpartitioncount{{{sel}}}) > 0"
            ),
            "1m",
            "critical",
            "Kafka partitions below min.insync.replicas",
            "{{ $value }} partition(s) are below min.insync.replicas: producers with acks=all are refused.".into(),
        ),
        rule(
            "KafkaOfflinePartitions",
            format!(
                "sum by (namespace) (kafka_controller_kafkacontroller_offlinepartitionscount{{{sel}}}) > 0"
            ),
            "1m",
            "critical",
            "Kafka partitions offline",
            "{{ $value }} partition(s) have no leader: reads and writes to them fail.".into(),
        ),
        rule(
            "KafkaActiveControllerMissing",
            format!(
                "(sum(kafka_controller_kafkacontroller_activecontrollercount{{{sel}}}) or vector(0)) != 1"
            ),
            &secs(r.slo.rto),
            "critical",
            "Kafka has no single active controller",
            format!(
                "The KRaft quorum reports {{{{ $value }}}} active controllers for longer than the RTO ({} s): metadata changes and leader elections stall.",
                r.slo.rto.as_secs()
            ),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, cluster, rules)]
}

fn flink_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Flink;
    let r = m.get(id);
    let ns = &r.namespace;
    let name = flink::NAME;
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[("app", name), ("type", FLINK_NATIVE_TYPE)],
        endpoint(FLINK_METRICS_PORT.0, None),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-.*\"");
    // Flink writes the interval as e.g. "30 s"; an unreadable value was reported by validation.
    let interval = m
        .platform
        .spec
        .components
        .flink
        .config
        .checkpoint_interval
        .as_deref()
        .map(|s| s.replace(' ', ""))
        .and_then(|s| crate::units::parse_duration(&s).ok())
        .unwrap_or(Duration::from_secs(30));
    // Three missed checkpoints in a row, but never a window shorter than 10 minutes.
    let window = (interval * 3).max(Duration::from_secs(600));
    let w = window.as_secs();
    let rules = vec![
        rule(
            "FlinkJobManagerUnavailable",
            deployment_available(ns, name, 1),
            &secs(r.slo.rto),
            "critical",
            "No Flink JobManager",
            format!(
                "No JobManager of {ns}/{name} is available for longer than the RTO ({} s): jobs cannot be submitted or recovered.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "FlinkJobRestarting",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numRestarts{{{sel}}}[10m])) > 2"
            ),
            "0m",
            "warning",
            "Flink job restarting",
            "Job {{ $labels.job_name }} restarted more than twice in 10 minutes.".into(),
        ),
        rule(
            "FlinkCheckpointsFailing",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numberOfFailedCheckpoints{{{sel}}}[{w}s])) > 0"
            ),
            "0m",
            "warning",
            "Flink checkpoints failing",
            format!("Job {{{{ $labels.job_name }}}} had failed checkpoints in the last {w} s."),
        ),
        rule(
            "FlinkNoCompletedCheckpoint",
            format!(
                "max by (namespace, job_name) (increase(flink_jobmanager_job_numberOfCompletedCheckpoints{{{sel}}}[{w}s])) == 0 and on (namespace, job_name) max by (namespace, job_name) (flink_jobmanager_job_uptime{{{sel}}}) > {}",
                window.as_millis()
            ),
            "0m",
            "critical",
            "Flink job without checkpoints",
            format!(
                "Job {{{{ $labels.job_name }}}} completed no checkpoint in {w} s (3 × the {} s interval): a restart would reprocess all of it.",
                interval.as_secs()
            ),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}

fn trino_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Trino;
    let r = m.get(id);
    let ns = &r.namespace;
    // Trino's own `/metrics` (OpenMetrics of every JMX bean) needs no agent jar or exporter
    // image, so it works with the upstream image as is; a JMX exporter would need both. It is
    // served on the HTTPS port only; coordinator and workers carry certificates for different
    // Service names, hence one monitor per role.
    let monitor = |app: &str, server_name: String| {
        let mut mon = pod_monitor(
            m,
            id,
            app,
            &[("app", app), ("app.kubernetes.io/instance", &m.name)],
            endpoint("https", Some("/metrics")),
        );
        let ep = &mut mon["spec"]["podMetricsEndpoints"][0];
        ep["scheme"] = json!("https");
        ep["tlsConfig"] = json!({
            "ca": {"configMap": {"name": k8s::SERVICE_CA_CONFIGMAP, "key": "service-ca.crt"}},
            "serverName": server_name,
        });
        // No password: Trino would refuse it (see TRINO_METRICS_SECRET).
        ep["basicAuth"] = json!({
            "username": {"name": TRINO_METRICS_SECRET, "key": "username"},
        });
        mon
    };
    let sel = format!("namespace=\"{ns}\",pod=~\"trino-.*\"");
    let rules = vec![
        rule(
            "TrinoCoordinatorDown",
            deployment_available(ns, trino::COORDINATOR, 1),
            &secs(r.slo.rto),
            "critical",
            "Trino coordinator down",
            format!(
                "The single Trino coordinator is unavailable for longer than the RTO ({} s): every query fails.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "TrinoWorkersMissing",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{}\"}}",
                trino::WORKER,
                trino::WORKER
            ),
            "15m",
            "warning",
            "Trino workers missing",
            "Fewer Trino workers are available than configured for 15 minutes: queries run slower and memory-heavy ones may fail.".into(),
        ),
        rule(
            "TrinoMetricsDown",
            format!("up{{{sel}}} == 0"),
            "10m",
            "warning",
            "Trino metrics missing",
            format!(
                "{{{{ $labels.pod }}}} cannot be scraped (Secret {TRINO_METRICS_SECRET} missing or not accepted?)."
            ),
        ),
    ];
    vec![
        monitor(trino::COORDINATOR, trino::host(m)),
        monitor(trino::WORKER, trino::worker_host(m)),
        prometheus_rule(m, id, "trino", rules),
    ]
}

fn spark_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Spark;
    let ns = &m.get(id).namespace;
    // The history server has no metrics sink of its own (Spark's metrics system covers
    // drivers and executors), so it is watched through kube-state-metrics only.
    let rules = vec![rule(
        "SparkHistoryServerDown",
        deployment_available(ns, spark::HISTORY, 1),
        "10m",
        "warning",
        "Spark history server down",
        "The Spark history server is unavailable: finished applications cannot be inspected (jobs still run).".into(),
    )];
    vec![prometheus_rule(m, id, "spark", rules)]
}

fn superset_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Superset;
    let r = m.get(id);
    let ns = &r.namespace;
    let web = format!("{}-web", superset::NAME);
    // Superset has no metrics endpoint (only a StatsD logger hook): availability comes from
    // kube-state-metrics.
    let rules = vec![
        rule(
            "SupersetWebDown",
            deployment_available(ns, &web, 1),
            &secs(r.slo.rto),
            "critical",
            "Superset down",
            format!(
                "No Superset web pod is available for longer than the RTO ({} s).",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "SupersetWebDegraded",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{web}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{web}\"}}"
            ),
            "15m",
            "warning",
            "Superset running with fewer pods",
            "Fewer Superset web pods are available than configured: one more failure is an outage."
                .into(),
        ),
    ];
    vec![prometheus_rule(m, id, superset::NAME, rules)]
}

fn clickhouse_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Clickhouse;
    let r = m.get(id);
    let ns = &r.namespace;
    let chi = clickhouse::CHI;
    let monitor = pod_monitor(
        m,
        id,
        chi,
        &[(CHI_LABEL, chi)],
        endpoint(CLICKHOUSE_METRICS_PORT.0, Some("/metrics")),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"chi-{chi}-.*\"");
    let keepers = clickhouse::keepers(m);
    let majority = k8s::majority(keepers);
    let delay = r.slo.rpo.as_secs().max(30);
    let rules = vec![
        rule(
            "ClickHouseReadonlyReplica",
            format!("ClickHouseMetrics_ReadonlyReplica{{{sel}}} > 0"),
            "2m",
            "critical",
            "ClickHouse replica read-only",
            "{{ $labels.pod }} has read-only replicated tables (Keeper unreachable or metadata lost): inserts fail there.".into(),
        ),
        rule(
            "ClickHouseReplicationDelay",
            format!("ClickHouseAsyncMetrics_ReplicasMaxAbsoluteDelay{{{sel}}} > {delay}"),
            "5m",
            "warning",
            "ClickHouse replica behind",
            format!(
                "{{{{ $labels.pod }}}} is more than {delay} s behind its replicas (RPO {} s): losing the others now loses data.",
                r.slo.rpo.as_secs()
            ),
        ),
        rule(
            "ClickHouseKeeperQuorumLost",
            format!(
                "(sum(kube_pod_status_ready{{namespace=\"{ns}\",pod=~\"chk-{}-.*\",condition=\"true\"}}) or vector(0)) < {majority}",
                clickhouse::CHK
            ),
            "1m",
            "critical",
            "ClickHouse Keeper without quorum",
            format!(
                "Fewer than {majority} of {keepers} Keeper pods are ready: replicated tables turn read-only."
            ),
        ),
        rule(
            "ClickHouseMetricsDown",
            format!("up{{{sel}}} == 0"),
            "5m",
            "warning",
            "ClickHouse metrics missing",
            "{{ $labels.pod }} cannot be scraped on its Prometheus port.".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, chi, rules)]
}

fn airflow_objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Airflow;
    let r = m.get(id);
    let ns = &r.namespace;
    let scheduler = format!("{}-scheduler", airflow::NAME);
    let api = format!("{}-api-server", airflow::NAME);
    let monitor = pod_monitor(
        m,
        id,
        &scheduler,
        &[("app", &scheduler)],
        endpoint(AIRFLOW_METRICS_PORT.0, None),
    );
    let sel = format!("namespace=\"{ns}\",pod=~\"{scheduler}-.*\"");
    let rules = vec![
        rule(
            "AirflowSchedulerHeartbeatMissing",
            format!(
                "sum by (namespace) (rate(airflow_scheduler_heartbeat{{{sel}}}[2m])) == 0 or absent(airflow_scheduler_heartbeat{{{sel}}})"
            ),
            "5m",
            "critical",
            "Airflow schedulers not heartbeating",
            "No Airflow scheduler has sent a heartbeat for 5 minutes: no task is being scheduled.".into(),
        ),
        rule(
            "AirflowApiServerDown",
            deployment_available(ns, &api, 1),
            &secs(r.slo.rto),
            "critical",
            "Airflow API server down",
            format!(
                "No Airflow API server is available for longer than the RTO ({} s): UI, REST API and task execution API fail.",
                r.slo.rto.as_secs()
            ),
        ),
        rule(
            "AirflowSchedulersDegraded",
            format!(
                "kube_deployment_status_replicas_available{{namespace=\"{ns}\",deployment=\"{scheduler}\"}} < kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{scheduler}\"}}"
            ),
            "15m",
            "warning",
            "Airflow running with fewer schedulers",
            "Fewer schedulers are available than configured: scheduling continues but without a spare.".into(),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, airflow::NAME, rules)]
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

/// `monitoring.coreos.com/v1alpha1` AlertmanagerConfig (no CRD among the shared schemas, hence
/// typed here).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertmanagerConfig {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub metadata: ObjectMeta,
    pub spec: AmSpec,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmSpec {
    pub route: AmRoute,
    pub receivers: Vec<AmReceiver>,
    pub inhibit_rules: Vec<AmInhibitRule>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmRoute {
    pub receiver: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_by: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_wait: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub matchers: Vec<AmMatcher>,
    #[serde(rename = "continue", skip_serializing_if = "std::ops::Not::not")]
    pub continue_: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<AmRoute>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmMatcher {
    pub name: String,
    pub value: String,
    pub match_type: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmReceiver {
    pub name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<AmPagerDuty>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<AmEmail>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmSecretRef {
    pub name: String,
    pub key: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmPagerDuty {
    pub routing_key: AmSecretRef,
    pub send_resolved: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmEmail {
    pub to: String,
    pub from: String,
    pub smarthost: String,
    pub auth_username: String,
    pub auth_password: AmSecretRef,
    /// The operator's field is `requireTLS`, not the camelCase `requireTls`.
    #[serde(rename = "requireTLS")]
    pub require_tls: bool,
    pub send_resolved: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AmInhibitRule {
    pub source_match: Vec<AmMatcher>,
    pub target_match: Vec<AmMatcher>,
    pub equal: Vec<String>,
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
                                operator_pod_labels(
                                    o["kind"].as_str().unwrap_or(""),
                                    o["metadata"]["name"].as_str().unwrap_or(""),
                                )
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
                        _ => operator_pod_labels(
                            o["kind"].as_str().unwrap_or(""),
                            o["metadata"]["name"].as_str().unwrap_or(""),
                        )
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
                && o["metadata"]["name"] == etcd::NAME
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
