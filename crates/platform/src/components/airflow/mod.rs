//! Airflow as plain Deployments (the Helm chart is the upstream packaging; no operator on
//! OperatorHub): active-active schedulers, API servers, triggerers and DAG processors, Celery
//! workers on the Redis Sentinel set, metadata on the PostgreSQL cluster, DAGs by git-sync.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMapEnvSource, Container, EnvFromSource, EnvVar, PodSpec, Probe, Service, ServiceAccount,
    Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::{
    Check, Component, ComponentId, Dep, Exec, File, Gate, GateKind, Group, HealthCheck,
    OperatorDefaults, PodRef, TlsHop,
};
use crate::components::{postgresql, redis, spec_pointer};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resolved, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const NAME: &str = "airflow";
pub const SECRETS: &str = "airflow-secrets";
const SA: &str = "airflow";
/// ConfigMap with the Celery settings module (Sentinel over TLS).
const CELERY_CONFIG: &str = "airflow-celery";
const CELERY_MODULE: &str = "datalyptica_celery";
/// Airflow puts `$AIRFLOW_HOME/config` on `sys.path`; PYTHONPATH says it again for Celery.
const CELERY_MODULE_DIR: &str = "/opt/airflow/config";
/// Serving certificate of the API server (OpenShift service CA).
/// Where every Airflow container reads its secrets: files of one projected volume. Airflow runs
/// `AIRFLOW__{SECTION}__{KEY}_CMD` for the options its config.yml marks sensitive (all four of
/// [`secret_options`]: `sensitive_config_values` in airflow/configuration.py, 3.0.2), and the
/// image's entrypoint evaluates the database one to wait for PostgreSQL, so the values stay out
/// of the environment that every task process inherits.
const SECRETS_DIR: &str = "/run/secrets/airflow";
const REDIS_PASSWORD_FILE: &str = "redis-password";
const S3_ACCESS_KEY_FILE: &str = "s3-access-key";
const S3_SECRET_KEY_FILE: &str = "s3-secret-key";

/// Task logs go to the object store (Airflow's S3 remote logging), so they outlive the pods'
/// emptyDirs and every API server reads them. The connection is defined in a file that the
/// `airflow-conn` init container writes from the mounted credentials into a memory volume,
/// read by `LocalFilesystemBackend`: the keys never enter the environment that every task
/// process inherits, and an `AIRFLOW_CONN_*` variable or a database entry (which Airflow 3.0
/// workers fail to resolve, apache/airflow#50583) is not needed.
pub const LOG_CONN_ID: &str = "airflow_logs";
pub const LOG_BUCKET: &str = "airflow-logs";
const CONN_DIR: &str = "/run/airflow-conn";
const CONN_FILE: &str = "connections.json";
const OBJECT_STORE_CA_DIR: &str = "/etc/pki/object-store";

fn secret_file(file: &str) -> String {
    format!("{SECRETS_DIR}/{file}")
}

/// (option, Secret, key, file) of each sensitive option.
fn secret_options(db: &str) -> [(&'static str, &str, &'static str, &'static str); 4] {
    [
        (
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
            db,
            "uri",
            "sql-alchemy-conn",
        ),
        (
            "AIRFLOW__CORE__FERNET_KEY",
            SECRETS,
            "fernet-key",
            "fernet-key",
        ),
        (
            "AIRFLOW__API__SECRET_KEY",
            SECRETS,
            "api-secret-key",
            "api-secret-key",
        ),
        (
            "AIRFLOW__API_AUTH__JWT_SECRET",
            SECRETS,
            "jwt-secret",
            "jwt-secret",
        ),
    ]
}

fn secrets_volume(db: &str, celery: bool, credentials: &str) -> k8s_openapi::api::core::v1::Volume {
    let mut files: Vec<(&str, &str, &str)> = secret_options(db)
        .iter()
        .map(|(_, secret, key, file)| (*secret, *key, *file))
        .collect();
    if celery {
        files.push((redis::AUTH_SECRET, redis::AUTH_KEY, REDIS_PASSWORD_FILE));
        files.push(redis::CLIENT_CA_ITEM);
    }
    files.push((credentials, "AWS_ACCESS_KEY_ID", S3_ACCESS_KEY_FILE));
    files.push((credentials, "AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY_FILE));
    k8s::secret_files_volume("secrets", &files)
}

/// The connection [`LOG_CONN_ID`] as `LocalFilesystemBackend` reads it (extras of the Amazon
/// provider's `AwsConnectionWrapper`: `endpoint_url`, `region_name`, `verify`, `config_kwargs`),
/// without its keys, which the init script adds from the mounted files.
pub fn log_connection(m: &Model) -> Value {
    let os = &m.object_store;
    let mut extra = serde_json::json!({
        "endpoint_url": os.endpoint,
        "region_name": os.region,
        "config_kwargs": {"s3": {"addressing_style": "path"}},
    });
    // An external store's certificate is in the image's public trust; MinIO's and ODF's CA is
    // in the projected bundle.
    if os.backend != crate::spec::ObjectStoreBackend::External {
        extra["verify"] = Value::String(format!(
            "{OBJECT_STORE_CA_DIR}/{}",
            k8s::TRUST_OBJECT_STORE_CA
        ));
    }
    serde_json::json!({LOG_CONN_ID: {"conn_type": "aws", "extra": extra}})
}

/// Writes [`CONN_FILE`] (mode 0600) from the connection and the mounted keys.
fn conn_init_script(m: &Model) -> String {
    format!(
        "import json, os\nconns = json.loads({conn:?})\nc = conns[{id:?}]\nwith open({ak:?}) as f:\n    c[\"login\"] = f.read().strip()\nwith open({sk:?}) as f:\n    c[\"password\"] = f.read().strip()\npath = {out:?}\nfd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)\nwith os.fdopen(fd, \"w\") as f:\n    json.dump(conns, f)\n",
        conn = log_connection(m).to_string(),
        id = LOG_CONN_ID,
        ak = secret_file(S3_ACCESS_KEY_FILE),
        sk = secret_file(S3_SECRET_KEY_FILE),
        out = format!("{CONN_DIR}/{CONN_FILE}"),
    )
}

const API_TLS_SECRET: &str = "airflow-api-server-tls";
const API_TLS_DIR: &str = "/etc/airflow/tls";

/// Celery settings of the CeleryExecutor: Airflow's defaults, plus TLS to Sentinel and to the
/// master it names. Airflow's own `[celery] ssl_active` refuses `sentinel://` URLs.
pub fn celery_module() -> String {
    format!(
        r#"# Rendered by datalyptica: Celery through Redis Sentinel over TLS.
from urllib.parse import quote

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

# Verified against the Redis CA; Sentinel names the master by pod IP, which the certificate
# does not carry, so the chain is checked and the host name is not.
_TLS = {tls}
_SSL = {{k: v for k, v in _TLS.items() if k != "ssl"}}

# The data nodes require a password; Sentinel does not (its kwargs carry none). kombu gives the
# URL's password to the master connections only. Read from the mounted Secret, not the
# environment that every task process inherits.
with open("{pw}") as f:
    _PASSWORD = f.read()
_BROKER = DEFAULT_CELERY_CONFIG["broker_url"].replace(
    "sentinel://", "sentinel://:" + quote(_PASSWORD, safe="") + "@", 1
)

CELERY_CONFIG = {{
    **DEFAULT_CELERY_CONFIG,
    "broker_url": _BROKER,
    "broker_use_ssl": _SSL,
    "broker_transport_options": {{
        **DEFAULT_CELERY_CONFIG.get("broker_transport_options", {{}}),
        "master_name": "{master}",
        "sentinel_kwargs": _TLS,
    }},
}}
"#,
        tls = redis::python_tls_kwargs(&secret_file(redis::CLIENT_CA_ITEM.2)),
        master = redis::MASTER_GROUP,
        pw = secret_file(REDIS_PASSWORD_FILE),
    )
}

/// The FAB auth manager of the `apache-airflow-providers-fab` package (in the upstream image).
const FAB_AUTH_MANAGER: &str = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager";
/// Timeout of exec probes that run Airflow's Python CLIs (the upstream chart's 20 s).
const PYTHON_PROBE_TIMEOUT: i32 = 20;

const GIT_SYNC_IMAGE: &str = "registry.k8s.io/git-sync/git-sync:v4.4.2";

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Executor {
    /// Celery workers with the Redis Sentinel set as broker (default).
    #[default]
    Celery,
    /// One pod per task, created by the schedulers.
    Kubernetes,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct AirflowConfig {
    /// `celery` (default) or `kubernetes`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executor: Option<Executor>,
    /// Git repository of the DAGs (https). Synced by a git-sync sidecar; without it the DAG
    /// folder is empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dags_repo: Option<String>,
    /// Branch or tag of `dagsRepo` (default `main`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dags_ref: Option<String>,
    /// Sub-directory of the repository holding the DAGs (default: the repository root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dags_path: Option<String>,
    /// Secret with `username`/`password` (or a token) for a private `dagsRepo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dags_repo_secret: Option<String>,
    /// Schedulers (default 2 in `ha`): active-active, coordinated by row locks in PostgreSQL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedulers: Option<u32>,
    /// Triggerers (default 2 in `ha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub triggerers: Option<u32>,
    /// Standalone DAG processors (default 2 in `ha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dag_processors: Option<u32>,
    /// Celery workers (default 3 in `ha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
}

fn cfg<'a>(m: &'a Model) -> &'a AirflowConfig {
    &m.platform.spec.components.airflow.config
}

/// Role counts: (knob, deployment suffix, replicas).
fn roles(m: &Model) -> Vec<(&'static str, &'static str, u32)> {
    let c = cfg(m);
    let two = if m.ha() { 2 } else { 1 };
    let mut v = vec![
        ("schedulers", "scheduler", c.schedulers.unwrap_or(two)),
        ("triggerers", "triggerer", c.triggerers.unwrap_or(two)),
        (
            "dagProcessors",
            "dag-processor",
            c.dag_processors.unwrap_or(two),
        ),
    ];
    if c.executor.unwrap_or_default() == Executor::Celery {
        v.push((
            "workers",
            "worker",
            c.workers.unwrap_or(if m.ha() { 3 } else { 1 }),
        ));
    }
    v
}

/// Sentinel endpoint of the Redis set (clients must go through Sentinel, never a fixed pod).
pub fn redis_sentinel(m: &Model) -> String {
    format!(
        "{}-sentinel.{}.svc:26379",
        redis::SENTINEL,
        m.get(ComponentId::Redis).namespace
    )
}

pub struct Airflow;
pub static AIRFLOW: Airflow = Airflow;

impl Component for Airflow {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the image writes outside its volumes"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, _m: &Model) -> crate::component::Backup {
        crate::component::Backup::None(
            "its metadata lives in PostgreSQL and its logs in the object store",
        )
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Airflow
    }
    fn summary(&self) -> &'static str {
        "Airflow: ≥ 2 API servers, active-active schedulers, triggerers and DAG processors, Celery workers on Redis Sentinel, metadata on PostgreSQL, DAGs by git-sync"
    }
    fn phase(&self) -> u8 {
        6
    }
    fn dir(&self) -> &'static str {
        "11-airflow"
    }
    fn group(&self) -> Group {
        Group::Orchestration
    }
    fn deps(&self) -> &'static [Dep] {
        &[
            Dep::On(ComponentId::Postgresql),
            Dep::On(ComponentId::Redis),
            Dep::ObjectStore,
        ]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.9, 0, 60);
        let image = "apache/airflow:3.0.2";
        match profile {
            Profile::Ha => Defaults {
                replicas: 2,
                storage: "0",
                requests: ("500m", "1Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "3.0.2",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("250m", "512Mi"),
                limits: ("1", "1Gi"),
                image,
                version: "3.0.2",
                slo,
            },
        }
    }
    fn buckets(&self) -> &'static [&'static str] {
        &[LOG_BUCKET]
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "airflow-config.yaml",
            "airflow-db-migrate.yaml",
            "airflow-deployments.yaml",
        ]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = format!("{}/config", spec_pointer(self.id()));
        for (knob, _, n) in roles(m) {
            if m.ha() && n < 2 {
                out.push(Issue::new(
                    format!("{base}/{knob}"),
                    format!("{n} {knob} are not highly available (expected ≥ 2 in the ha profile)"),
                ));
            } else if n == 0 {
                out.push(Issue::new(
                    format!("{base}/{knob}"),
                    format!("0 {knob} (expected ≥ 1)"),
                ));
            }
        }
        if let Some(repo) = &cfg(m).dags_repo
            && !(repo.starts_with("https://")
                || repo.starts_with("ssh://")
                || repo.starts_with("git@"))
        {
            out.push(Issue::new(
                format!("{base}/dagsRepo"),
                format!("`{repo}` is not a git URL (expected https://… or ssh://…)"),
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let pods = Pods::new(m);
        let executor = pods.executor;
        let db = &pods.db;
        let mut objs = vec![k8s::to_value(&api_service(m))];
        objs.extend(pods.workloads());
        let dir = self.dir();
        vec![
            k8s::objects_file(
                format!("{dir}/airflow-config.yaml"),
                format!("Airflow settings ({executor:?} executor). Secrets referenced: {db} (metadata DB), {SECRETS} (fernet-key, api-secret-key, jwt-secret)."),
                config_objects(m, executor),
            ),
            k8s::objects_file(
                format!("{dir}/airflow-db-migrate.yaml"),
                "Schema migration of the metadata database; run before (and on every upgrade of) the Deployments.".into(),
                vec![k8s::to_value(&pods.migrate_job())],
            ),
            k8s::objects_file(
                format!("{dir}/airflow-deployments.yaml"),
                format!("Airflow {}: API server, schedulers, triggerers, DAG processors{} with PodDisruptionBudgets.", r.version, if executor == Executor::Celery { ", Celery workers" } else { "" }),
                objs,
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        let mut g = vec![Gate::new(GateKind::Job, ns, "airflow-db-migrate")];
        let mut names = vec![format!("{NAME}-api-server")];
        names.extend(
            roles(m)
                .into_iter()
                .map(|(_, role, _)| format!("{NAME}-{role}")),
        );
        for d in names {
            g.push(Gate::deployment_available(ns, &d, "Available"));
        }
        g
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "metadatabase, schedulers, triggerers and DAG processors healthy".into(),
            check: Check::Exec {
                exec: Exec::new(
                    ns,
                    PodRef::Name(format!("deploy/{NAME}-api-server")),
                    None,
                    [
                        "curl".into(),
                        "-sf".into(),
                        "--cacert".into(),
                        format!("{API_TLS_DIR}/tls.crt"),
                        format!("https://{NAME}-api-server.{ns}.svc:8080/api/v2/monitor/health"),
                    ],
                ),
                probe: None,
            },
        }]
    }

    fn tls(&self, m: &Model) -> Vec<TlsHop> {
        let mut v = vec![TlsHop::new(
            "8080 (API server, execution API)",
            true,
            format!(
                "the API server serves the service-CA certificate `{API_TLS_SECRET}`; schedulers, workers and triggerers call the execution API over https and trust the service CA (`[api] ssl_cert`); no Route: `oc port-forward` only"
            ),
        )];
        if cfg(m).executor.unwrap_or_default() == Executor::Celery {
            v.push(TlsHop::new(
                "Redis (Celery broker)",
                true,
                format!("client: `{CELERY_MODULE}.CELERY_CONFIG` speaks TLS to Sentinel and the master, chain verified against the service CA (host name not: Sentinel names pod IPs)"),
            ));
        }
        v.push(TlsHop::new(
            "8793, 8794 (worker and triggerer log servers)",
            false,
            "plain HTTP: Airflow's log servers have no TLS setting; the API server fetches logs with a signed JWT, and NetworkPolicies admit only Airflow's own pods",
        ));
        v.push(TlsHop::new(
            "9102 (statsd-exporter metrics)",
            false,
            "plain HTTP Prometheus endpoint of the schedulers' sidecar, admitted only from the monitoring namespaces",
        ));
        v
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let mut v = vec![format!("{} API servers behind one Service", r.replicas)];
        for (knob, role, n) in roles(m) {
            v.push(format!("{n} {knob} ({role}) on different nodes"));
        }
        v.push("schedulers run active-active with row-level locks in PostgreSQL: a lost scheduler costs nothing but its in-flight loop".into());
        v.push("state (runs, task instances) is in PostgreSQL: Airflow's RPO is the PostgreSQL cluster's; the Celery broker's loss only re-queues tasks".into());
        v
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        let mut tiers = vec![
            Tier::replicated("api servers", r.replicas, Recovery::Reschedule)
                .with_max_unavailable(1),
        ];
        for (knob, _, n) in roles(m) {
            // Schedulers run active-active: any one keeps scheduling.
            tiers.push(Tier::replicated(knob, n, Recovery::Reschedule).with_max_unavailable(1));
        }
        Redundancy {
            tiers,
            journey: Some("orchestration"),
        }
    }
}

fn settings(m: &Model, executor: Executor) -> BTreeMap<String, String> {
    let c = cfg(m);
    let ns = &m.get(ComponentId::Airflow).namespace;
    let dags_folder = match (&c.dags_path, c.dags_repo.is_some()) {
        (Some(p), true) => format!("/opt/airflow/dags/repo/{}", p.trim_matches('/')),
        (None, true) => "/opt/airflow/dags/repo".to_string(),
        _ => "/opt/airflow/dags".to_string(),
    };
    let mut settings = BTreeMap::from([
        (
            "AIRFLOW__CORE__EXECUTOR".to_string(),
            match executor {
                Executor::Celery => "CeleryExecutor",
                Executor::Kubernetes => "KubernetesExecutor",
            }
            .to_string(),
        ),
        ("AIRFLOW__CORE__DAGS_FOLDER".into(), dags_folder),
        ("AIRFLOW__CORE__LOAD_EXAMPLES".into(), "False".into()),
        // Airflow 3's default SimpleAuthManager writes generated passwords into a file per
        // pod (an emptyDir here): every API server would have other users. FAB keeps users
        // and roles in the metadata database, and `airflow db migrate` runs its migrations
        // when it is the configured auth manager.
        (
            "AIRFLOW__CORE__AUTH_MANAGER".into(),
            FAB_AUTH_MANAGER.into(),
        ),
        // The root filesystem is read-only: do not try to write bytecode next to the code.
        ("PYTHONDONTWRITEBYTECODE".into(), "1".into()),
        // No `[scheduler] standalone_dag_processor`: Airflow 3 removed it (`airflow config
        // lint` flags it); the DAG processor always runs on its own, here as its Deployment.
        (
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL".into(),
            format!("https://{NAME}-api-server.{ns}.svc:8080/execution/"),
        ),
        // Task logs in the object store (see LOG_CONN_ID); the local copy goes once uploaded.
        ("AIRFLOW__LOGGING__REMOTE_LOGGING".into(), "True".into()),
        (
            "AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER".into(),
            format!("s3://{}/logs", m.object_store.bucket(LOG_BUCKET)),
        ),
        (
            "AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID".into(),
            LOG_CONN_ID.into(),
        ),
        ("AIRFLOW__LOGGING__DELETE_LOCAL_LOGS".into(), "True".into()),
        (
            "AIRFLOW__SECRETS__BACKEND".into(),
            "airflow.secrets.local_filesystem.LocalFilesystemBackend".into(),
        ),
        (
            "AIRFLOW__SECRETS__BACKEND_KWARGS".into(),
            serde_json::json!({"connections_file_path": format!("{CONN_DIR}/{CONN_FILE}")})
                .to_string(),
        ),
        // Logs of running tasks come from the worker's log server: by pod IP, because a
        // Deployment's pod host name resolves nowhere.
        (
            "AIRFLOW__CORE__HOSTNAME_CALLABLE".into(),
            "airflow.utils.net.get_host_ip_address".into(),
        ),
        // Row-level locks let several schedulers run active-active on PostgreSQL.
        (
            "AIRFLOW__SCHEDULER__USE_ROW_LEVEL_LOCKING".into(),
            "True".into(),
        ),
    ]);
    settings.extend(executor_settings(m, executor));
    settings.extend(statsd_settings());
    settings
}

fn executor_settings(m: &Model, executor: Executor) -> Vec<(String, String)> {
    match executor {
        Executor::Celery => vec![
            (
                "AIRFLOW__CELERY__BROKER_URL".into(),
                format!("sentinel://{}/0", redis_sentinel(m)),
            ),
            (
                "AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__MASTER_NAME".into(),
                redis::MASTER_GROUP.into(),
            ),
            (
                "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS".into(),
                format!("{CELERY_MODULE}.CELERY_CONFIG"),
            ),
            ("PYTHONPATH".into(), CELERY_MODULE_DIR.into()),
        ],
        Executor::Kubernetes => vec![(
            "AIRFLOW__KUBERNETES_EXECUTOR__NAMESPACE".into(),
            m.get(ComponentId::Airflow).namespace.clone(),
        )],
    }
}

/// StatsD to the schedulers' statsd-exporter sidecar (other components' UDP packets to
/// localhost are dropped: the scheduler heartbeat is what the alerts need).
fn statsd_settings() -> [(String, String); 4] {
    [
        ("AIRFLOW__METRICS__STATSD_ON".into(), "True".into()),
        ("AIRFLOW__METRICS__STATSD_HOST".into(), "localhost".into()),
        (
            "AIRFLOW__METRICS__STATSD_PORT".into(),
            crate::monitoring::AIRFLOW_STATSD_PORT.to_string(),
        ),
        ("AIRFLOW__METRICS__STATSD_PREFIX".into(), "airflow".into()),
    ]
}

fn config_objects(m: &Model, executor: Executor) -> Vec<Value> {
    let id = ComponentId::Airflow;
    let sa = ServiceAccount {
        metadata: k8s::meta(m, id, SA, NAME),
        automount_service_account_token: Some(executor == Executor::Kubernetes),
        ..Default::default()
    };
    let cm = k8s::config_map(m, id, "airflow-config", NAME, settings(m, executor));
    let mut objs = vec![k8s::to_value(&sa), k8s::to_value(&cm)];
    if executor == Executor::Celery {
        objs.push(k8s::to_value(&k8s::config_map(
            m,
            id,
            CELERY_CONFIG,
            NAME,
            BTreeMap::from([(format!("{CELERY_MODULE}.py"), celery_module())]),
        )));
    }
    if executor == Executor::Kubernetes {
        objs.extend(pod_launcher(m));
    }
    objs
}

/// The KubernetesExecutor's schedulers create and watch one pod per task.
fn pod_launcher(m: &Model) -> [Value; 2] {
    let id = ComponentId::Airflow;
    let verbs = [
        "get", "list", "watch", "create", "update", "patch", "delete",
    ];
    let role = Role {
        metadata: k8s::meta(m, id, "airflow-pod-launcher", NAME),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(vec!["pods".into(), "pods/log".into()]),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: k8s::meta(m, id, "airflow-pod-launcher", NAME),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "airflow-pod-launcher".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SA.into(),
            namespace: Some(m.get(id).namespace.clone()),
            ..Default::default()
        }]),
    };
    [k8s::to_value(&role), k8s::to_value(&binding)]
}

fn api_service(m: &Model) -> Service {
    let api = format!("{NAME}-api-server");
    k8s::service(
        m,
        ComponentId::Airflow,
        &api,
        &api,
        vec![k8s::service_port("https", 8080)],
        false,
        k8s::serving_cert_annotation(API_TLS_SECRET),
    )
}

/// Python CLIs: interpreter start and Airflow's imports take seconds on a busy node; the
/// upstream chart gives these checks 20 s.
fn job_check(job: &str) -> Probe {
    k8s::exec_probe_timeout(
        &[
            "sh",
            "-c",
            &format!("airflow jobs check --job-type {job} --local"),
        ],
        30,
        5,
        PYTHON_PROBE_TIMEOUT,
    )
}

/// StatsD → Prometheus for the scheduler metrics (PodMonitor in monitoring.yaml).
fn statsd_exporter() -> Container {
    Container {
        name: "statsd-exporter".into(),
        image: Some(crate::monitoring::STATSD_EXPORTER_IMAGE.into()),
        args: Some(vec![
            format!(
                "--statsd.listen-udp=:{}",
                crate::monitoring::AIRFLOW_STATSD_PORT
            ),
            "--statsd.listen-tcp=".into(),
            format!(
                "--web.listen-address=:{}",
                crate::monitoring::AIRFLOW_METRICS_PORT.1
            ),
        ]),
        ports: Some(vec![k8s::container_port(
            crate::monitoring::AIRFLOW_METRICS_PORT.0,
            crate::monitoring::AIRFLOW_METRICS_PORT.1,
        )]),
        readiness_probe: Some(k8s::http_probe(
            "/metrics",
            crate::monitoring::AIRFLOW_METRICS_PORT.0,
            "HTTP",
            10,
            3,
        )),
        liveness_probe: Some(k8s::http_probe(
            "/metrics",
            crate::monitoring::AIRFLOW_METRICS_PORT.0,
            "HTTP",
            20,
            6,
        )),
        resources: Some(k8s::resources(&crate::model::Resources {
            cpu_request: "20m".into(),
            memory_request: "32Mi".into(),
            cpu_limit: "100m".into(),
            memory_limit: "64Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        ..Default::default()
    }
}

/// What every Airflow pod shares: image, executor, secrets and DAGs.
struct Pods<'a> {
    m: &'a Model<'a>,
    r: &'a Resolved,
    c: &'a AirflowConfig,
    executor: Executor,
    db: String,
}

impl<'a> Pods<'a> {
    fn new(m: &'a Model<'a>) -> Self {
        let c = cfg(m);
        Pods {
            m,
            r: m.get(ComponentId::Airflow),
            c,
            executor: c.executor.unwrap_or_default(),
            db: postgresql::consumer_secret(ComponentId::Airflow),
        }
    }

    /// Every Deployment first, then the budgets: the file's order.
    fn workloads(&self) -> Vec<Value> {
        let mut deployments: Vec<Value> = Vec::new();
        let mut pdbs: Vec<Value> = Vec::new();
        let mut push = |(d, pdb): (Value, Option<Value>)| {
            deployments.push(d);
            pdbs.extend(pdb);
        };
        let api = format!("{NAME}-api-server");
        push(self.deployment(&api, self.r.replicas, self.api_server(), false));
        for (_, role, n) in roles(self.m) {
            push(self.deployment(
                &format!("{NAME}-{role}"),
                n,
                self.role_container(role),
                role != "api-server",
            ));
        }
        deployments.extend(pdbs);
        deployments
    }

    fn deployment(
        &self,
        app: &str,
        replicas: u32,
        main: Container,
        with_git: bool,
    ) -> (Value, Option<Value>) {
        let (m, id) = (self.m, ComponentId::Airflow);
        let mut containers = vec![main];
        if with_git && self.c.dags_repo.is_some() {
            containers.push(self.git_sync());
        }
        if app.ends_with("-scheduler") {
            containers.push(statsd_exporter());
        }
        let mut volumes = self.volumes();
        if app.ends_with("-api-server") {
            volumes.push(k8s::secret_volume("tls", API_TLS_SECRET));
        }
        let mut d = k8s::deployment(
            m,
            id,
            k8s::Workload {
                app: app.to_string(),
                replicas,
                containers,
                volumes,
                service_account: Some(SA.into()),
                termination_grace_seconds: Some(60),
                init_containers: vec![self.conn_init()],
                ..Default::default()
            },
        );
        // The KubernetesExecutor's schedulers call the API to launch task pods.
        if self.executor == Executor::Kubernetes
            && app.ends_with("-scheduler")
            && let Some(pod) = d.spec.as_mut().and_then(|s| s.template.spec.as_mut())
        {
            pod.automount_service_account_token = Some(true);
        }
        let pdb = k8s::pdb(
            m,
            id,
            app,
            app,
            &k8s::selector(app),
            replicas,
            k8s::Budget::AllButOne,
        );
        (k8s::to_value(&d), pdb.map(|p| k8s::to_value(&p)))
    }

    fn env(&self) -> Vec<EnvVar> {
        secret_options(&self.db)
            .iter()
            .map(|(option, _, _, file)| {
                k8s::env(
                    &format!("{option}_CMD"),
                    format!("cat {}", secret_file(file)),
                )
            })
            // The task SDK trusts this file for the execution API (https, service CA).
            .chain([k8s::env("AIRFLOW__API__SSL_CERT", k8s::SERVICE_CA_FILE)])
            // psycopg verifies PostgreSQL's certificate against PGO's CA.
            .chain(postgresql::libpq_verify_env())
            .collect()
    }

    fn mounts(&self) -> Vec<VolumeMount> {
        let mut v = vec![
            k8s::mount("airflow-home", "/opt/airflow", false),
            k8s::mount("tmp", "/tmp", false),
            k8s::mount("dags", "/opt/airflow/dags", true),
            k8s::mount("logs", "/opt/airflow/logs", false),
            k8s::mount("service-ca", k8s::SERVICE_CA_DIR, true),
            postgresql::ca_mount("postgresql-ca"),
            k8s::mount("secrets", SECRETS_DIR, true),
            k8s::mount("airflow-conn", CONN_DIR, true),
            k8s::mount("object-store-ca", OBJECT_STORE_CA_DIR, true),
        ];
        if self.executor == Executor::Celery {
            let mut mt = k8s::mount(
                "celery-config",
                &format!("{CELERY_MODULE_DIR}/{CELERY_MODULE}.py"),
                true,
            );
            mt.sub_path = Some(format!("{CELERY_MODULE}.py"));
            v.push(mt);
        }
        v
    }

    fn container(&self, name: &str, args: &[&str], live: Probe, ready: Probe) -> Container {
        Container {
            name: name.into(),
            image: Some(self.r.image.clone()),
            args: Some(args.iter().map(|s| s.to_string()).collect()),
            env: Some(self.env()),
            env_from: Some(vec![EnvFromSource {
                config_map_ref: Some(ConfigMapEnvSource {
                    name: "airflow-config".into(),
                    ..Default::default()
                }),
                ..Default::default()
            }]),
            liveness_probe: Some(live),
            readiness_probe: Some(ready),
            resources: Some(k8s::resources(&self.r.resources)),
            // Read-only root: AIRFLOW_HOME (where Airflow writes airflow.cfg and
            // webserver_config.py on first start) and /tmp are emptyDirs; the packages live in
            // /home/airflow/.local, precompiled, and stay untouched.
            security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
            volume_mounts: Some(self.mounts()),
            ..Default::default()
        }
    }

    fn api_server(&self) -> Container {
        let mut c = self.container(
            "api-server",
            &["api-server"],
            k8s::http_probe("/api/v2/monitor/health", "https", "HTTPS", 15, 5),
            k8s::http_probe("/api/v2/monitor/health", "https", "HTTPS", 5, 3),
        );
        c.ports = Some(vec![k8s::container_port("https", 8080)]);
        // The server presents its own certificate (which carries the service CA for its
        // own client calls): it replaces the shared CA setting in place, because a second
        // entry of one name is a duplicate list-map key that server-side apply refuses.
        if let Some(env) = c.env.as_mut() {
            env.retain(|e| e.name != "AIRFLOW__API__SSL_CERT");
            env.push(k8s::env(
                "AIRFLOW__API__SSL_CERT",
                format!("{API_TLS_DIR}/tls.crt"),
            ));
            env.push(k8s::env(
                "AIRFLOW__API__SSL_KEY",
                format!("{API_TLS_DIR}/tls.key"),
            ));
        }
        if let Some(v) = c.volume_mounts.as_mut() {
            v.push(k8s::mount("tls", API_TLS_DIR, true));
        }
        c
    }

    fn role_container(&self, role: &str) -> Container {
        let checked = |job: &str| self.container(role, &[role], job_check(job), job_check(job));
        match role {
            "scheduler" => checked("SchedulerJob"),
            "triggerer" => checked("TriggererJob"),
            "dag-processor" => checked("DagProcessorJob"),
            _ => {
                let ping = k8s::exec_probe_timeout(
                    &[
                        "sh",
                        "-c",
                        "celery --app airflow.providers.celery.executors.celery_executor.app inspect ping -d celery@$HOSTNAME",
                    ],
                    60,
                    5,
                    PYTHON_PROBE_TIMEOUT,
                );
                self.container(role, &["celery", "worker"], ping.clone(), ping)
            }
        }
    }

    fn git_sync(&self) -> Container {
        let c = self.c;
        let mut e = vec![
            k8s::env("GITSYNC_REPO", c.dags_repo.clone().unwrap_or_default()),
            k8s::env(
                "GITSYNC_REF",
                c.dags_ref.clone().unwrap_or_else(|| "main".into()),
            ),
            k8s::env("GITSYNC_ROOT", "/git"),
            k8s::env("HOME", "/tmp"),
            k8s::env("GITSYNC_LINK", "repo"),
            k8s::env("GITSYNC_PERIOD", "60s"),
            k8s::env("GITSYNC_HTTP_BIND", ":8081"),
        ];
        if let Some(s) = &c.dags_repo_secret {
            e.push(k8s::env_secret("GITSYNC_USERNAME", s, "username"));
            e.push(k8s::env_secret("GITSYNC_PASSWORD", s, "password"));
        }
        Container {
            name: "git-sync".into(),
            image: Some(GIT_SYNC_IMAGE.into()),
            env: Some(e),
            ports: Some(vec![k8s::container_port("git-sync", 8081)]),
            liveness_probe: Some(k8s::http_probe("/", "git-sync", "HTTP", 30, 6)),
            readiness_probe: Some(k8s::tcp_probe("git-sync", 10, 3)),
            resources: Some(k8s::resources(&crate::model::Resources {
                cpu_request: "50m".into(),
                memory_request: "64Mi".into(),
                cpu_limit: "200m".into(),
                memory_limit: "256Mi".into(),
            })),
            // git writes its config and temp files under $HOME: /tmp, an emptyDir.
            security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
            volume_mounts: Some(vec![
                k8s::mount("dags", "/git", false),
                k8s::mount("tmp", "/tmp", false),
            ]),
            ..Default::default()
        }
    }

    fn volumes(&self) -> Vec<Volume> {
        let celery = self.executor == Executor::Celery;
        let mut v = vec![
            k8s::empty_dir_volume("airflow-home"),
            k8s::empty_dir_volume("tmp"),
            k8s::empty_dir_volume("dags"),
            k8s::empty_dir_volume("logs"),
            k8s::service_ca_volume("service-ca"),
            postgresql::ca_volume("postgresql-ca"),
            secrets_volume(&self.db, celery, &self.m.object_store.credentials_secret),
            k8s::memory_dir_volume("airflow-conn"),
            k8s::ca_trust_volume(self.m, "object-store-ca"),
        ];
        if celery {
            v.push(k8s::config_map_volume("celery-config", CELERY_CONFIG));
        }
        v
    }

    fn conn_init(&self) -> Container {
        Container {
            name: "airflow-conn".into(),
            image: Some(self.r.image.clone()),
            command: Some(vec![
                "python3".into(),
                "-c".into(),
                conn_init_script(self.m),
            ]),
            resources: Some(k8s::resources(&crate::model::Resources {
                cpu_request: "50m".into(),
                memory_request: "64Mi".into(),
                cpu_limit: "200m".into(),
                memory_limit: "128Mi".into(),
            })),
            security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
            volume_mounts: Some(vec![
                k8s::mount("secrets", SECRETS_DIR, true),
                k8s::mount("airflow-conn", CONN_DIR, false),
            ]),
            ..Default::default()
        }
    }

    fn migrate_job(&self) -> Job {
        let m = self.m;
        k8s::setup_job(
            m,
            ComponentId::Airflow,
            "airflow-db-migrate",
            SA,
            PodSpec {
                volumes: Some(vec![
                    k8s::empty_dir_volume("airflow-home"),
                    k8s::empty_dir_volume("tmp"),
                    postgresql::ca_volume("postgresql-ca"),
                    secrets_volume(&self.db, false, &m.object_store.credentials_secret),
                    // The configured secrets backend reads its file on any lookup.
                    k8s::memory_dir_volume("airflow-conn"),
                ]),
                init_containers: Some(vec![self.conn_init()]),
                containers: vec![Container {
                    volume_mounts: Some(vec![
                        k8s::mount("airflow-home", "/opt/airflow", false),
                        k8s::mount("tmp", "/tmp", false),
                        postgresql::ca_mount("postgresql-ca"),
                        k8s::mount("secrets", SECRETS_DIR, true),
                        k8s::mount("airflow-conn", CONN_DIR, true),
                    ]),
                    liveness_probe: None,
                    readiness_probe: None,
                    ..self.container(
                        "migrate",
                        &["db", "migrate"],
                        Probe::default(),
                        Probe::default(),
                    )
                }],
                ..Default::default()
            },
        )
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    let c = cfg(m);
    let executor = match c.executor.unwrap_or_default() {
        Executor::Celery => format!(
            "CeleryExecutor with the broker `sentinel://{}` (master group `{}`): the broker \
             follows Redis failovers through Sentinel. The result backend is the metadata database.",
            redis_sentinel(m),
            redis::MASTER_GROUP
        ),
        Executor::Kubernetes => "KubernetesExecutor: the schedulers launch one pod per task \
             (Role `airflow-pod-launcher`). No Celery workers are rendered."
            .into(),
    };
    let dags = match &c.dags_repo {
        Some(repo) => format!(
            "A git-sync sidecar in every scheduler, triggerer, DAG processor and worker pulls \
             `{repo}` (ref `{}`) every 60 s.",
            c.dags_ref.as_deref().unwrap_or("main")
        ),
        None => "`components.airflow.config.dagsRepo` is not set: the DAG folder is empty. Set it \
             to add a git-sync sidecar."
            .into(),
    };
    template::fill(
        README,
        &[
            (
                "db_secret",
                &postgresql::consumer_secret(ComponentId::Airflow),
            ),
            ("SECRETS", &SECRETS),
            ("executor", &executor),
            ("log_bucket", &m.object_store.bucket(LOG_BUCKET)),
            ("LOG_CONN_ID", &LOG_CONN_ID),
            ("dags", &dags),
            ("ns", &m.get(ComponentId::Airflow).namespace),
            ("NAME", &NAME),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;

    fn objects(p: &Platform) -> Vec<Value> {
        let m = Model::new(p);
        crate::component::rendered_objects(&AIRFLOW, &m)
    }

    #[test]
    fn default_ha_renders_every_role_twice_or_more() {
        let mut p = Platform::default_ha();
        p.spec.components.airflow.config.dags_repo = Some("https://example.com/dags.git".into());
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let objs = objects(&p);
        let deps: Vec<_> = objs.iter().filter(|o| o["kind"] == "Deployment").collect();
        assert_eq!(deps.len(), 5);
        assert!(
            deps.iter()
                .all(|d| d["spec"]["replicas"].as_u64() >= Some(2))
        );
        assert_eq!(
            objs.iter()
                .filter(|o| o["kind"] == "PodDisruptionBudget")
                .count(),
            5
        );
        let sched = deps
            .iter()
            .find(|d| d["metadata"]["name"] == "airflow-scheduler");
        assert_eq!(
            sched.map(|d| d["spec"]["template"]["spec"]["containers"][1]["name"].clone()),
            Some("git-sync".into())
        );
    }

    #[test]
    fn single_scheduler_is_reported_and_kubernetes_executor_has_no_workers() {
        let mut p = Platform::default_ha();
        p.spec.components.airflow.config.schedulers = Some(1);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/airflow/config/schedulers".to_string()));
        let mut p = Platform::default_ha();
        p.spec.components.airflow.config.executor = Some(Executor::Kubernetes);
        let objs = objects(&p);
        assert!(
            !objs
                .iter()
                .any(|o| o["metadata"]["name"] == "airflow-worker")
        );
        assert!(objs.iter().any(|o| o["kind"] == "Role"));
        let sched = objs
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "airflow-scheduler");
        assert_eq!(
            sched.map(|d| d["spec"]["template"]["spec"]["automountServiceAccountToken"].clone()),
            Some(true.into())
        );
    }
}
