//! Superset as plain Deployments: stateless web replicas and Celery workers over the Redis
//! Sentinel set (cache and broker), metadata on PostgreSQL, Trino registered as a database.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, PodSpec, Probe, Service, ServiceAccount, Volume,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::{
    Check, Component, ComponentId, Dep, Exec, File, Gate, GateKind, Group, HealthCheck,
    OperatorDefaults, PodRef, TlsHop,
};
use crate::components::{airflow, postgresql, redis, spec_pointer, trino};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resolved, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const NAME: &str = "superset";
pub const SECRETS: &str = "superset-secrets";
const CONFIG: &str = "superset-config";
const PORT: i32 = 8088;
/// The web and Celery worker Deployments (their `app`).
const WEB: &str = "superset-web";
const WORKER: &str = "superset-worker";
/// Serving certificate of the `superset` Service (OpenShift service CA).
const TLS_SECRET: &str = "superset-tls";
const TLS_DIR: &str = "/etc/superset/tls";
/// Where every Superset container reads its secrets (superset_config.py opens them).
const SECRETS_DIR: &str = "/run/secrets/superset";
const DB_URI_FILE: &str = "db-uri";
const SECRET_KEY_FILE: &str = "secret-key";
const REDIS_PASSWORD_FILE: &str = "redis-password";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SupersetConfig {
    /// Celery workers for SQL Lab async queries and reports (default 2 in `ha`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<u32>,
    /// Register Trino as a Superset database at bootstrap (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub register_trino: Option<bool>,
    /// Trino user Superset connects as (default `superset`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trino_user: Option<String>,
}

fn cfg<'a>(m: &'a Model) -> &'a SupersetConfig {
    &m.platform.spec.components.superset.config
}

fn workers(m: &Model) -> u32 {
    cfg(m).workers.unwrap_or(if m.ha() { 2 } else { 1 })
}

/// SQLAlchemy URI of the Trino datasource; no password: in-cluster Trino authenticates by user.
/// HTTPS comes from `connect_args` (see `DB_CONNECTION_MUTATOR` in `superset_config.py`): the
/// URI cannot carry the scheme.
pub fn trino_uri(m: &Model) -> String {
    format!(
        "trino://{}@{}:{}/iceberg",
        cfg(m).trino_user.as_deref().unwrap_or("superset"),
        trino::host(m),
        trino::HTTPS_PORT
    )
}

/// Where the pods mount the service CA that signs Trino's certificate.
const SERVICE_CA: &str = k8s::SERVICE_CA_FILE;

fn superset_config(m: &Model) -> String {
    let sentinel = airflow::redis_sentinel(m);
    let (host, port) = sentinel.rsplit_once(':').unwrap_or((&sentinel, "26379"));
    let master = redis::MASTER_GROUP;
    format!(
        r#"# Rendered by datalyptica. Secrets come from the files of mounted Secrets, never from this
# file, and not from the environment, which every child process inherits.
from urllib.parse import quote


def _secret(name):
    with open("{secrets_dir}/" + name) as f:
        return f.read()


SQLALCHEMY_DATABASE_URI = _secret("{db_file}")
SECRET_KEY = _secret("{key_file}")

# Through Sentinel: the cache and the broker follow Redis failovers. Redis and Sentinel speak
# TLS only; the chain is verified against the OpenShift service CA, the host name is not
# (Sentinel names the master by pod IP, which no serving certificate carries).
_SENTINELS = [("{host}", {port})]
# The data nodes require this password; Sentinel asks none (the `sentinel_` options carry none).
_REDIS_PASSWORD = _secret("{pw_file}")
_AUTH = ":" + quote(_REDIS_PASSWORD, safe="") + "@"
_TLS = {tls}
_SSL = {{k: v for k, v in _TLS.items() if k != "ssl"}}
CACHE_CONFIG = {{
    "CACHE_TYPE": "RedisSentinelCache",
    "CACHE_REDIS_SENTINELS": _SENTINELS,
    "CACHE_REDIS_SENTINEL_MASTER": "{master}",
    "CACHE_REDIS_DB": 1,
    "CACHE_REDIS_PASSWORD": _secret("{pw_file}"),
    "CACHE_KEY_PREFIX": "superset_",
    "CACHE_DEFAULT_TIMEOUT": 300,
    # Flask-Caching passes these to redis-py: plain keys to the master, `sentinel_` ones to
    # the Sentinels.
    "CACHE_OPTIONS": {{**_TLS, **{{"sentinel_" + k: v for k, v in _TLS.items()}}}},
}}
DATA_CACHE_CONFIG = {{**CACHE_CONFIG, "CACHE_KEY_PREFIX": "superset_data_"}}
FILTER_STATE_CACHE_CONFIG = {{**CACHE_CONFIG, "CACHE_KEY_PREFIX": "superset_filter_"}}
EXPLORE_FORM_DATA_CACHE_CONFIG = {{**CACHE_CONFIG, "CACHE_KEY_PREFIX": "superset_explore_"}}


class CeleryConfig:
    broker_url = "sentinel://" + _AUTH + "{host}:{port}/2"
    broker_use_ssl = _SSL
    broker_transport_options = {{"master_name": "{master}", "sentinel_kwargs": _TLS}}
    result_backend = "sentinel://" + _AUTH + "{host}:{port}/3"
    redis_backend_use_ssl = _SSL
    result_backend_transport_options = {{"master_name": "{master}", "sentinel_kwargs": _TLS}}
    imports = ("superset.sql_lab", "superset.tasks.scheduler")
    worker_prefetch_multiplier = 1
    task_acks_late = True


CELERY_CONFIG = CeleryConfig


# The platform's Trino serves HTTPS only, with a certificate from the OpenShift service CA. The
# trino driver speaks plain HTTP unless `http_scheme` says otherwise, and neither the scheme nor
# the CA fits in the SQLAlchemy URI, so they are added to every engine for that host.
_TRINO_HOST = "{trino_host}"
_SERVICE_CA = "{SERVICE_CA}"


def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):
    if uri.drivername == "trino" and uri.host == _TRINO_HOST:
        connect_args = params.setdefault("connect_args", {{}})
        connect_args["http_scheme"] = "https"
        connect_args.setdefault("verify", _SERVICE_CA)
    return uri, params
"#,
        tls = redis::python_tls_kwargs(&format!("{SECRETS_DIR}/{}", redis::CLIENT_CA_ITEM.2)),
        trino_host = trino::host(m),
        secrets_dir = SECRETS_DIR,
        db_file = DB_URI_FILE,
        key_file = SECRET_KEY_FILE,
        pw_file = REDIS_PASSWORD_FILE,
    )
}

pub struct Superset;
pub static SUPERSET: Superset = Superset;

impl Component for Superset {
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
        crate::component::Backup::None("its metadata lives in PostgreSQL")
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Superset
    }
    fn summary(&self) -> &'static str {
        "Superset: ≥ 2 web replicas and Celery workers, cache and broker on Redis Sentinel, metadata on PostgreSQL, Trino as a datasource"
    }
    fn phase(&self) -> u8 {
        6
    }
    fn dir(&self) -> &'static str {
        "12-superset"
    }
    fn group(&self) -> Group {
        Group::Orchestration
    }
    fn deps(&self) -> &'static [Dep] {
        &[
            Dep::On(ComponentId::Postgresql),
            Dep::On(ComponentId::Redis),
            Dep::On(ComponentId::Trino),
        ]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.9, 0, 60);
        let image = "apache/superset:5.0.0";
        match profile {
            Profile::Ha => Defaults {
                replicas: 2,
                storage: "0",
                requests: ("500m", "1Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "5.0.0",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("250m", "512Mi"),
                limits: ("1", "1Gi"),
                image,
                version: "5.0.0",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "superset-config.yaml",
            "superset-bootstrap.yaml",
            "superset-deployments.yaml",
        ]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let n = workers(m);
        let ptr = format!("{}/config/workers", spec_pointer(self.id()));
        if m.ha() && n < 2 {
            out.push(Issue::new(
                ptr,
                format!(
                    "{n} Celery workers are not highly available (expected ≥ 2 in the ha profile)"
                ),
            ));
        } else if n == 0 {
            out.push(Issue::new(ptr, "0 Celery workers (expected ≥ 1)"));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let pods = Pods::new(m);
        let db = &pods.db;
        let dir = self.dir();
        vec![
            k8s::objects_file(
                format!("{dir}/superset-config.yaml"),
                format!("superset_config.py (cache and Celery through Sentinel {}), Trino datasource {}. Secrets referenced: {db}, {SECRETS}.", airflow::redis_sentinel(m), trino_uri(m)),
                vec![
                    k8s::to_value(&service_account(m)),
                    k8s::to_value(&config_map(m)),
                ],
            ),
            k8s::objects_file(
                format!("{dir}/superset-bootstrap.yaml"),
                "Migrates the metadata database, creates roles and registers Trino; idempotent, run on every upgrade.".into(),
                vec![k8s::to_value(&pods.bootstrap_job())],
            ),
            k8s::objects_file(
                format!("{dir}/superset-deployments.yaml"),
                format!("Superset {}: {} web replicas, {} Celery workers, PodDisruptionBudgets.", r.version, r.replicas, workers(m)),
                pods.deployment_objects(),
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        let mut g = vec![Gate::new(GateKind::Job, ns, "superset-bootstrap")];
        for d in [format!("{NAME}-web"), format!("{NAME}-worker")] {
            g.push(Gate::deployment_available(ns, &d, "Available"));
        }
        g
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![
            HealthCheck {
                what: "web health".into(),
                // gunicorn serves TLS only, with the service-CA certificate of the Service.
                check: Check::Exec {
                    exec: Exec::new(
                        ns,
                        PodRef::Name(format!("deploy/{NAME}-web")),
                        None,
                        [
                            "curl".into(),
                            "-sf".into(),
                            "--cacert".into(),
                            SERVICE_CA.to_string(),
                            format!("https://{NAME}.{ns}.svc:{PORT}/health"),
                        ],
                    ),
                    probe: None,
                },
            },
            HealthCheck {
                what: "Trino datasource reachable".into(),
                check: Check::Oc(format!(
                    "oc exec -n {ns} deploy/{NAME}-web -- sh -c 'superset test-db \"$TRINO_SQLALCHEMY_URI\" --connect-args \"{{connect_args: {{http_scheme: https, verify: {SERVICE_CA}}}}}\"'"
                )),
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "8088 (web)",
                true,
                format!(
                    "gunicorn serves the service-CA certificate `{TLS_SECRET}` (HTTPS only); no Route: `oc port-forward svc/superset 8088` and trust the service CA"
                ),
            ),
            TlsHop::new(
                "Redis (cache, Celery broker and results)",
                true,
                "client: TLS to Sentinel and the master, chain verified against the service CA (host name not: Sentinel names pod IPs)",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        vec![
            format!("{} stateless web replicas and {} Celery workers on different nodes", r.replicas, workers(m)),
            "sessions are signed cookies and the cache is Redis (through Sentinel): any web replica serves any user".into(),
            "dashboards and charts live in PostgreSQL: RPO is the PostgreSQL cluster's".into(),
            "queries run on Trino: a Trino coordinator restart interrupts dashboards (Trino's single point of failure)".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        Redundancy {
            tiers: vec![
                Tier::replicated("web", r.replicas, Recovery::Reschedule).with_max_unavailable(1),
                Tier::replicated("workers", workers(m), Recovery::Reschedule)
                    .with_max_unavailable(1),
            ],
            journey: Some("dashboards"),
        }
    }
}

fn config_map(m: &Model) -> ConfigMap {
    k8s::config_map(
        m,
        ComponentId::Superset,
        CONFIG,
        NAME,
        BTreeMap::from([
            ("superset_config.py".to_string(), superset_config(m)),
            ("TRINO_SQLALCHEMY_URI".to_string(), trino_uri(m)),
        ]),
    )
}

fn service_account(m: &Model) -> ServiceAccount {
    ServiceAccount {
        metadata: k8s::meta(m, ComponentId::Superset, NAME, NAME),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

fn service(m: &Model) -> Service {
    k8s::service(
        m,
        ComponentId::Superset,
        NAME,
        WEB,
        vec![k8s::service_port("https", PORT)],
        false,
        k8s::serving_cert_annotation(TLS_SECRET),
    )
}

fn worker_ping() -> Probe {
    // A Python CLI that imports Superset before it pings: the upstream chart gives the
    // worker's probe 60 s.
    k8s::exec_probe_timeout(
        &[
            "sh",
            "-c",
            "celery -A superset.tasks.celery_app:app inspect ping -d celery@$HOSTNAME",
        ],
        60,
        5,
        30,
    )
}

fn bootstrap_script(m: &Model) -> String {
    let mut script = "superset db upgrade && superset init".to_string();
    if cfg(m).register_trino.unwrap_or(true) {
        script.push_str(
            " && superset set-database-uri --database_name trino --uri \"$TRINO_SQLALCHEMY_URI\"",
        );
    }
    script
}

/// What every Superset pod shares: image, resources, config and secrets.
struct Pods<'a> {
    m: &'a Model<'a>,
    r: &'a Resolved,
    db: String,
}

impl<'a> Pods<'a> {
    fn new(m: &'a Model<'a>) -> Self {
        Pods {
            m,
            r: m.get(ComponentId::Superset),
            db: postgresql::consumer_secret(ComponentId::Superset),
        }
    }

    fn container(
        &self,
        name: &str,
        cmd: &[&str],
        live: Option<Probe>,
        ready: Option<Probe>,
    ) -> Container {
        let mut mt = k8s::mount("config", "/app/pythonpath/superset_config.py", true);
        mt.sub_path = Some("superset_config.py".into());
        Container {
            name: name.into(),
            image: Some(self.r.image.clone()),
            command: Some(cmd.iter().map(|s| s.to_string()).collect()),
            env: Some(
                vec![
                    // Explicit variables, not envFrom: the ConfigMap also holds the Python file,
                    // whose key is not a portable variable name.
                    k8s::env("SUPERSET_CONFIG_PATH", "/app/pythonpath/superset_config.py"),
                    k8s::env("PYTHONDONTWRITEBYTECODE", "1"),
                    k8s::env("TRINO_SQLALCHEMY_URI", trino_uri(self.m)),
                ]
                .into_iter()
                // psycopg verifies PostgreSQL's certificate against PGO's CA.
                .chain(postgresql::libpq_verify_env())
                .collect(),
            ),
            liveness_probe: live,
            readiness_probe: ready,
            resources: Some(k8s::resources(&self.r.resources)),
            // Read-only root: the superset user's home (SUPERSET_HOME) and /tmp are
            // emptyDirs; Python skips bytecode it cannot write.
            security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
            volume_mounts: Some(vec![
                mt,
                k8s::mount("tmp", "/tmp", false),
                k8s::mount("home", "/app/superset_home", false),
                k8s::mount("service-ca", k8s::SERVICE_CA_DIR, true),
                postgresql::ca_mount("postgresql-ca"),
                k8s::mount("secrets", SECRETS_DIR, true),
            ]),
            ..Default::default()
        }
    }

    fn volumes(&self) -> Vec<Volume> {
        vec![
            k8s::config_map_volume("config", CONFIG),
            k8s::empty_dir_volume("tmp"),
            k8s::empty_dir_volume("home"),
            k8s::service_ca_volume("service-ca"),
            postgresql::ca_volume("postgresql-ca"),
            k8s::secret_files_volume(
                "secrets",
                &[
                    (&self.db, "uri", DB_URI_FILE),
                    (SECRETS, "secret-key", SECRET_KEY_FILE),
                    (redis::AUTH_SECRET, redis::AUTH_KEY, REDIS_PASSWORD_FILE),
                    redis::CLIENT_CA_ITEM,
                ],
            ),
        ]
    }

    fn web_container(&self) -> Container {
        let mut c = self.container(
            "web",
            &["/usr/bin/run-server.sh"],
            Some(k8s::http_probe("/health", "https", "HTTPS", 15, 5)),
            Some(k8s::http_probe("/health", "https", "HTTPS", 5, 3)),
        );
        c.ports = Some(vec![k8s::container_port("https", PORT)]);
        // The image's run-server.sh starts gunicorn, which also reads GUNICORN_CMD_ARGS: the
        // serving certificate of the `superset` Service (OpenShift service CA).
        if let Some(env) = c.env.as_mut() {
            env.push(k8s::env(
                "GUNICORN_CMD_ARGS",
                format!("--certfile={TLS_DIR}/tls.crt --keyfile={TLS_DIR}/tls.key"),
            ));
        }
        if let Some(v) = c.volume_mounts.as_mut() {
            v.push(k8s::mount("tls", TLS_DIR, true));
        }
        c
    }

    fn worker_container(&self) -> Container {
        self.container(
            "worker",
            &[
                "celery",
                "--app=superset.tasks.celery_app:app",
                "worker",
                "--pool=prefork",
                "-O",
                "fair",
            ],
            Some(worker_ping()),
            Some(worker_ping()),
        )
    }

    fn web(&self) -> Deployment {
        let mut volumes = self.volumes();
        volumes.push(k8s::secret_volume("tls", TLS_SECRET));
        k8s::deployment(
            self.m,
            ComponentId::Superset,
            k8s::Workload {
                app: WEB.into(),
                replicas: self.r.replicas,
                containers: vec![self.web_container()],
                volumes,
                service_account: Some(NAME.into()),
                termination_grace_seconds: Some(60),
                ..Default::default()
            },
        )
    }

    fn worker(&self) -> Deployment {
        k8s::deployment(
            self.m,
            ComponentId::Superset,
            k8s::Workload {
                app: WORKER.into(),
                replicas: workers(self.m),
                containers: vec![self.worker_container()],
                volumes: self.volumes(),
                service_account: Some(NAME.into()),
                // Long SQL Lab queries finish before the worker stops (acks_late re-queues the rest).
                termination_grace_seconds: Some(300),
                ..Default::default()
            },
        )
    }

    /// The Service, both Deployments, then their PodDisruptionBudgets: the file's order.
    fn deployment_objects(&self) -> Vec<Value> {
        let (m, id) = (self.m, ComponentId::Superset);
        let mut objs = vec![
            k8s::to_value(&service(m)),
            k8s::to_value(&self.web()),
            k8s::to_value(&self.worker()),
        ];
        for (app, n) in [(WEB, self.r.replicas), (WORKER, workers(m))] {
            if let Some(p) = k8s::pdb(
                m,
                id,
                app,
                app,
                &k8s::selector(app),
                n,
                k8s::Budget::AllButOne,
            ) {
                objs.push(k8s::to_value(&p));
            }
        }
        objs
    }

    fn bootstrap_job(&self) -> Job {
        let m = self.m;
        let script = bootstrap_script(m);
        k8s::setup_job(
            m,
            ComponentId::Superset,
            "superset-bootstrap",
            NAME,
            PodSpec {
                containers: vec![self.container(
                    "bootstrap",
                    &["/bin/sh", "-c", &script],
                    None,
                    None,
                )],
                volumes: Some(self.volumes()),
                ..Default::default()
            },
        )
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    template::fill(
        README,
        &[
            (
                "db_secret",
                &postgresql::consumer_secret(ComponentId::Superset),
            ),
            ("SECRETS", &SECRETS),
            ("trino_uri", &trino_uri(m)),
            ("CONFIG", &CONFIG),
            ("SERVICE_CA", &SERVICE_CA),
            ("image", &m.get(ComponentId::Superset).image),
            ("ns", &m.get(ComponentId::Superset).namespace),
            ("NAME", &NAME),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;
    use serde_json::Value;

    #[test]
    fn default_ha_renders_web_workers_and_trino_uri() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let objs: Vec<Value> = crate::component::rendered_objects(&SUPERSET, &m);
        assert_eq!(objs.iter().filter(|o| o["kind"] == "Deployment").count(), 2);
        assert_eq!(
            objs.iter()
                .filter(|o| o["kind"] == "PodDisruptionBudget")
                .count(),
            2
        );
        let cm = objs.iter().find(|o| o["kind"] == "ConfigMap");
        assert_eq!(
            cm.map(|c| c["data"]["TRINO_SQLALCHEMY_URI"].clone()),
            Some("trino://superset@trino.datalyptica-analytics.svc:8443/iceberg".into())
        );
    }

    /// The Trino engine gets HTTPS and the service CA; without the mutator the driver would
    /// speak plain HTTP to the HTTPS port.
    #[test]
    fn trino_engines_use_https_with_the_service_ca() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let objs: Vec<Value> = crate::component::rendered_objects(&SUPERSET, &m);
        let cm = objs.iter().find(|o| o["kind"] == "ConfigMap");
        let py = cm
            .and_then(|c| c["data"]["superset_config.py"].as_str())
            .unwrap_or_default();
        assert!(py.contains(
            "def DB_CONNECTION_MUTATOR(uri, params, username, security_manager, source):"
        ));
        assert!(py.contains(r#"connect_args["http_scheme"] = "https""#));
        assert!(py.contains(r#"_TRINO_HOST = "trino.datalyptica-analytics.svc""#));
        assert!(py.contains(&format!(r#"_SERVICE_CA = "{SERVICE_CA}""#)));
        for d in objs.iter().filter(|o| o["kind"] == "Deployment") {
            let pod = &d["spec"]["template"]["spec"];
            assert!(
                pod["volumes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["configMap"]["name"] == "openshift-service-ca.crt"),
                "{}: no service CA volume",
                d["metadata"]["name"]
            );
            assert!(
                pod["containers"][0]["volumeMounts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["mountPath"] == k8s::SERVICE_CA_DIR)
            );
        }
    }

    #[test]
    fn one_worker_is_reported() {
        let mut p = Platform::default_ha();
        p.spec.components.superset.config.workers = Some(1);
        p.spec.components.superset.replicas = Some(1);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/superset/config/workers".to_string()));
        assert!(ptrs.contains(&"/spec/components/superset/replicas".to_string()));
    }
}
