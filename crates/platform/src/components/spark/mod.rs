//! Spark on Kubernetes: the kubeflow spark-operator runs `SparkApplication`s; we render the
//! application template wired to Nessie and the object store, and a History Server.
//!
//! The operator is not on OperatorHub (the kubeflow project publishes a Helm chart only), so it
//! is a documented prerequisite installed with Helm, not an OLM Subscription.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Container, EmptyDirVolumeSource, EnvVar, ServiceAccount, Volume};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::component::{
    Check, Component, ComponentId, Dep, Exec, File, Gate, Group, HealthCheck, OperatorDefaults,
    PodRef, TlsHop,
};
use crate::components::{spec_pointer, trino};
use crate::crs::{Cr, spark as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const HISTORY: &str = "spark-history-server";
/// Pod group of the drivers and executors (`security::exposure`).
pub const APPLICATIONS_GROUP: &str = "spark-applications";
/// `spark.jars.packages` are resolved by Ivy from Maven Central (`https://repo1.maven.org`,
/// Spark's default `central` resolver) when the driver starts: the one egress out of the
/// cluster Spark applications get, on this port.
pub const MAVEN_PORT: u16 = 443;

/// Where the History Server finds the S3A filesystem: the image (`apache/spark:3.5.6`, built
/// with `-Phadoop-3` but without `hadoop-cloud`) ships the Hadoop 3.3.4 client and no
/// `hadoop-aws`. An init container fetches the matching jars from Maven Central and checks
/// them against these digests (hadoop-aws 3.3.4 depends on aws-java-sdk-bundle 1.12.262,
/// `hadoop-project-3.3.4.pom`); `SPARK_DAEMON_CLASSPATH` puts them first on the daemon's
/// class path (Spark's launcher, `SparkClassCommandBuilder`, reads it for the HistoryServer).
const S3A_JARS_DIR: &str = "/opt/s3a-jars";
pub const S3A_JARS: [(&str, &str); 2] = [
    (
        "org/apache/hadoop/hadoop-aws/3.3.4/hadoop-aws-3.3.4.jar",
        "53f9ae03c681a30a50aa17524bd9790ab596b28481858e54efd989a826ed3a4a",
    ),
    (
        "com/amazonaws/aws-java-sdk-bundle/1.12.262/aws-java-sdk-bundle-1.12.262.jar",
        "873fe7cf495126619997bec21c44de5d992544aea7e632fdc77adb1a0915bae5",
    ),
];
pub const MAVEN_CENTRAL: &str = "https://repo1.maven.org/maven2";

/// The newest `nessie-spark-extensions-3.5_2.12` on Maven Central. Nessie's releases after
/// 0.99.0 did not publish the Spark extensions (the nmcp migration broke it, fixed upstream by
/// projectnessie/nessie#12508 in June 2026), so naming the server's 0.104.5 made every
/// submission fail Ivy resolution (found by the real spark-operator running spark-submit,
/// `crates/cluster/tests/it/spark_operator.rs`). The extensions talk Nessie's REST API v2, which
/// the 0.104.5 server serves.
pub const NESSIE_SPARK_EXTENSIONS: &str = "0.99.0";

fn jar_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Downloads [`S3A_JARS`] into the `s3a-jars` volume, refusing any file whose digest differs
/// (the pod does not start; nothing unchecked reaches the class path).
pub fn s3a_jars_script() -> String {
    let downloads: String = S3A_JARS
        .iter()
        .map(|(path, sha)| format!("get {path} {sha}\n"))
        .collect();
    template::fill(
        include_str!("s3a-jars.sh"),
        &[
            ("dir", &S3A_JARS_DIR),
            ("maven_central", &MAVEN_CENTRAL),
            ("downloads", &downloads),
        ],
    )
}

fn s3a_jars_init(image: &str) -> Container {
    Container {
        name: "s3a-jars".into(),
        image: Some(image.into()),
        command: Some(vec!["sh".into(), "-c".into(), s3a_jars_script()]),
        resources: Some(k8s::resources(&crate::model::Resources {
            cpu_request: "100m".into(),
            memory_request: "128Mi".into(),
            cpu_limit: "500m".into(),
            memory_limit: "256Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![k8s::mount("s3a-jars", S3A_JARS_DIR, false)]),
        ..Default::default()
    }
}
pub const TEMPLATE: &str = "spark-iceberg-example";
const SA: &str = "spark";
/// The History Server's HTTPS port: Spark's own choice for it (the UI port + 400), set
/// explicitly so that the Service, the probes and the policies name the same port.
pub const HISTORY_HTTPS_PORT: i32 = 18480;
/// Serving certificate of the History Server's Service, issued by the OpenShift service CA.
const HISTORY_TLS: &str = "spark-history-server-tls";
/// Platform Secret (key `password`) protecting the keystore built from the certificate.
const HISTORY_KEYSTORE_SECRET: &str = "spark-history-server-keystore";
const KEYSTORE_DIR: &str = "/etc/spark/keystore";
/// The History Server's secrets as files: the keystore password and the S3 keys.
const SECRETS_DIR: &str = "/run/secrets/spark";
const KEYSTORE_PASSWORD_FILE: &str = "keystore-password";
/// Properties file holding what must not be on a command line (keystore password, S3 keys),
/// written by the `history-conf` init container into the in-memory keystore directory and
/// read with `--properties-file`.
const SECRET_PROPERTIES: &str = "secret.properties";
/// JVM truststore (JDK CAs + service CA + the object store's CA) for Nessie and the object store.
const TRUSTSTORE_DIR: &str = "/etc/spark/truststore";
const OPERATOR_CHART_VERSION: &str = "2.5.2";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SparkConfig {
    /// Executors of the application template (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executors: Option<u32>,
    /// Iceberg runtime version for `spark.jars.packages` (default 1.9.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iceberg_version: Option<String>,
    /// Nessie Spark SQL extensions version (default 0.99.0, the last one on Maven Central).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nessie_version: Option<String>,
}

fn cfg<'a>(m: &'a Model) -> &'a SparkConfig {
    &m.platform.spec.components.spark.config
}

pub struct Spark;
pub static SPARK: Spark = Spark;

/// The History Server's UI over HTTPS (namespace `spark.ssl.historyServer` of Spark's SSL
/// configuration), from the keystore the init container builds.
fn history_ssl() -> Vec<(String, String)> {
    let ns = "spark.ssl.historyServer";
    vec![
        (format!("{ns}.enabled"), "true".into()),
        (format!("{ns}.port"), HISTORY_HTTPS_PORT.to_string()),
        // Spark's documentation asks for a protocol whenever SSL is enabled.
        (format!("{ns}.protocol"), "TLSv1.3".into()),
        (
            format!("{ns}.keyStore"),
            format!("{KEYSTORE_DIR}/{}", k8s::PKCS12_FILE),
        ),
        (format!("{ns}.keyStoreType"), "PKCS12".into()),
    ]
}

/// The init container that writes [`SECRET_PROPERTIES`] from the mounted Secret files:
/// `spark.ssl.historyServer.keyStorePassword` and the S3A keys (Hadoop's
/// `SimpleAWSCredentialsProvider` reads `fs.s3a.access.key`/`fs.s3a.secret.key`). Values are
/// escaped for `java.util.Properties` (a backslash starts an escape there).
fn history_conf_init(image: &str) -> Container {
    let out = format!("{KEYSTORE_DIR}/{SECRET_PROPERTIES}");
    let properties: String = [
        (
            "spark.ssl.historyServer.keyStorePassword",
            KEYSTORE_PASSWORD_FILE,
        ),
        ("spark.hadoop.fs.s3a.access.key", "AWS_ACCESS_KEY_ID"),
        ("spark.hadoop.fs.s3a.secret.key", "AWS_SECRET_ACCESS_KEY"),
    ]
    .iter()
    .map(|(key, file)| format!("  printf '%s=%s\\n' {key} \"$(esc {SECRETS_DIR}/{file})\"\n"))
    .collect();
    let script = template::fill(
        include_str!("history-conf.sh"),
        &[("properties", &properties), ("out", &out)],
    );
    Container {
        name: "history-conf".into(),
        image: Some(image.into()),
        command: Some(vec!["/bin/sh".into(), "-c".into(), script]),
        resources: Some(k8s::resources(&crate::model::Resources {
            cpu_request: "10m".into(),
            memory_request: "16Mi".into(),
            cpu_limit: "100m".into(),
            memory_limit: "32Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            k8s::mount("secrets", SECRETS_DIR, true),
            k8s::mount("keystore", KEYSTORE_DIR, false),
        ]),
        ..Default::default()
    }
}

fn s3a(m: &Model) -> Vec<(String, String)> {
    let os = &m.object_store;
    vec![
        ("spark.hadoop.fs.s3a.endpoint".into(), os.endpoint.clone()),
        (
            "spark.hadoop.fs.s3a.endpoint.region".into(),
            os.region.clone(),
        ),
        (
            "spark.hadoop.fs.s3a.path.style.access".into(),
            "true".into(),
        ),
    ]
}

impl Component for Spark {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the history server and Spark write under `/opt/spark/work-dir` and `$HOME`"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, _m: &Model) -> crate::component::Backup {
        crate::component::Backup::None("stateless: event logs and data live in the object store")
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Spark
    }
    fn summary(&self) -> &'static str {
        "Spark (kubeflow spark-operator, Helm): SparkApplication template on the Iceberg Nessie catalog, History Server reading event logs from the object store"
    }
    fn phase(&self) -> u8 {
        5
    }
    fn dir(&self) -> &'static str {
        "09-spark"
    }
    fn group(&self) -> Group {
        Group::Analytics
    }
    fn deps(&self) -> &'static [Dep] {
        &[Dep::On(ComponentId::Nessie), Dep::ObjectStore]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.9, 0, 300);
        let image = "apache/spark:3.5.6";
        match profile {
            Profile::Ha => Defaults {
                replicas: 2,
                storage: "0",
                requests: ("500m", "2Gi"),
                limits: ("1", "2Gi"),
                image,
                version: "3.5.6",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("250m", "1Gi"),
                limits: ("1", "1Gi"),
                image,
                version: "3.5.6",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "spark-rbac.yaml",
            "spark-history-server.yaml",
            "spark-application-template.yaml",
        ]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["spark-events", "warehouse"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        if cfg(m).executors == Some(0) {
            out.push(Issue::new(
                format!("{}/config/executors", spec_pointer(self.id())),
                "0 executors (expected ≥ 1)",
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let os = &m.object_store;
        let events = event_log(m);
        let dir = self.dir();
        vec![
            k8s::objects_file(
                format!("{dir}/spark-rbac.yaml"),
                "ServiceAccount and Role of Spark drivers (they create executor pods, services and config maps).".into(),
                driver_rbac(m),
            ),
            k8s::objects_file(
                format!("{dir}/spark-history-server.yaml"),
                format!("Spark History Server: {} replicas reading {events} (credentials from Secret {}).", r.replicas, os.credentials_secret),
                history_objects(m),
            ),
            k8s::objects_file(
                format!("{dir}/spark-application-template.yaml"),
                format!(
                    "SparkApplication template: Iceberg catalog `nessie` at {}, warehouse s3://{}/, event log {events}.\nNeeds the spark-operator (Helm chart {OPERATOR_CHART_VERSION}, see README.md).",
                    trino::nessie_uri(m),
                    os.bucket("warehouse")
                ),
                vec![k8s::to_value(&application(m))],
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::deployment_available(ns, HISTORY, "Available")]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![
            HealthCheck {
                what: "operator running (Helm release)".into(),
                check: Check::Oc("helm status spark-operator -n spark-operator".into()),
            },
            HealthCheck {
                what: "History Server lists applications".into(),
                // `-k`: the certificate names the Service, not localhost. This checks that the
                // server answers over TLS; clients verify it against the service CA (README).
                check: Check::Exec {
                    exec: Exec::new(
                        ns,
                        PodRef::Name(format!("deploy/{HISTORY}")),
                        None,
                        [
                            "curl".into(),
                            "-sfk".into(),
                            format!("https://localhost:{HISTORY_HTTPS_PORT}/api/v1/applications"),
                        ],
                    ),
                    probe: None,
                },
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "driver ↔ executors",
                true,
                "authenticated and AES-encrypted (`spark.authenticate`, `spark.network.crypto.enabled`)",
            ),
            TlsHop::new(
                format!("{HISTORY_HTTPS_PORT} (History Server UI)"),
                true,
                format!(
                    "HTTPS from a service-CA serving certificate (`{HISTORY_TLS}`, converted to PKCS12 in the pod); the plain port 18080 only redirects and is not exposed; no Route (port-forward only)"
                ),
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        vec![
            "Spark applications are batch jobs: HA means restart, not failover — restartPolicy OnFailure (3 retries) reruns a failed application; Iceberg commits are atomic, so a rerun never sees partial writes".into(),
            "executors are replaceable: the driver re-runs a lost executor's tasks".into(),
            format!("{} History Server replicas (stateless; event logs are in the object store)", r.replicas),
            "run the operator's controller with 2 replicas and leader election (Helm values below) so submissions survive a node loss".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        Redundancy {
            tiers: vec![
                Tier::replicated("history servers", r.replicas, Recovery::Reschedule)
                    .with_max_unavailable(1),
            ],
            journey: None,
        }
    }
}

fn event_log(m: &Model) -> String {
    format!("s3a://{}/", m.object_store.bucket("spark-events"))
}

fn history_env(m: &Model) -> Vec<EnvVar> {
    let os = &m.object_store;
    let mut opts: Vec<String> = vec![
        format!("-Dspark.history.fs.logDirectory={}", event_log(m)),
        "-Dspark.history.fs.update.interval=30s".into(),
    ];
    opts.extend(s3a(m).into_iter().map(|(k, v)| format!("-D{k}={v}")));
    // The keys come from the properties file `history-conf` writes.
    opts.push(
        "-Dspark.hadoop.fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
            .into(),
    );
    opts.extend(history_ssl().into_iter().map(|(k, v)| format!("-D{k}={v}")));
    // Event logs live in the object store over https (MinIO: the CA deploy issues its certificate from).
    opts.push(k8s::jvm_trust_options(TRUSTSTORE_DIR));
    let mut env = vec![
        k8s::env("AWS_REGION", os.region.clone()),
        k8s::env("SPARK_HISTORY_OPTS", opts.join(" ")),
    ];
    env.push(k8s::env("SPARK_NO_DAEMONIZE", "true"));
    env.push(k8s::env(
        "SPARK_DAEMON_CLASSPATH",
        S3A_JARS
            .iter()
            .map(|(p, _)| format!("{S3A_JARS_DIR}/{}", jar_name(p)))
            .collect::<Vec<_>>()
            .join(":"),
    ));
    env
}

fn history_container(m: &Model) -> Container {
    let r = m.get(ComponentId::Spark);
    Container {
        name: "history-server".into(),
        image: Some(r.image.clone()),
        command: Some(vec![
            "/opt/spark/bin/spark-class".into(),
            "org.apache.spark.deploy.history.HistoryServer".into(),
            "--properties-file".into(),
            format!("{KEYSTORE_DIR}/{SECRET_PROPERTIES}"),
        ]),
        env: Some(history_env(m)),
        // The plain UI port (18080) only redirects to HTTPS: left undeclared, so the
        // network policies keep it closed.
        ports: Some(vec![k8s::container_port("https", HISTORY_HTTPS_PORT)]),
        liveness_probe: Some(k8s::http_probe("/", "https", "HTTPS", 15, 5)),
        readiness_probe: Some(k8s::http_probe("/", "https", "HTTPS", 5, 3)),
        resources: Some(k8s::resources(&r.resources)),
        security_context: Some(k8s::container_security(k8s::RootFs::Writable)),
        volume_mounts: Some(vec![
            k8s::mount("tmp", "/tmp", false),
            k8s::mount("keystore", KEYSTORE_DIR, true),
            k8s::mount("truststore", TRUSTSTORE_DIR, true),
            k8s::mount("s3a-jars", S3A_JARS_DIR, true),
        ]),
        ..Default::default()
    }
}

fn history_volumes(m: &Model) -> Vec<Volume> {
    let os = &m.object_store;
    vec![
        k8s::empty_dir_volume("tmp"),
        k8s::secret_volume("serving-cert", HISTORY_TLS),
        k8s::memory_dir_volume("keystore"),
        k8s::secret_files_volume(
            "secrets",
            &[
                (HISTORY_KEYSTORE_SECRET, "password", KEYSTORE_PASSWORD_FILE),
                (
                    &os.credentials_secret,
                    "AWS_ACCESS_KEY_ID",
                    "AWS_ACCESS_KEY_ID",
                ),
                (
                    &os.credentials_secret,
                    "AWS_SECRET_ACCESS_KEY",
                    "AWS_SECRET_ACCESS_KEY",
                ),
            ],
        ),
        k8s::ca_trust_volume(m, "ca"),
        k8s::empty_dir_volume("truststore"),
        // On disk: 282 MB of jars would count against the pod's memory limit.
        Volume {
            name: "s3a-jars".into(),
            empty_dir: Some(EmptyDirVolumeSource {
                medium: None,
                size_limit: Some(Quantity("512Mi".into())),
            }),
            ..Default::default()
        },
    ]
}

fn history_deployment(m: &Model) -> Deployment {
    let r = m.get(ComponentId::Spark);
    k8s::deployment(
        m,
        ComponentId::Spark,
        k8s::Workload {
            app: HISTORY.into(),
            replicas: r.replicas,
            // Spark's Jetty reads a keystore, not the PEM pair the service CA issues.
            init_containers: vec![
                k8s::jvm_truststore_init(&r.image, "ca", "truststore", TRUSTSTORE_DIR),
                k8s::pkcs12_init_container(
                    &r.image,
                    "serving-cert",
                    "keystore",
                    KEYSTORE_DIR,
                    HISTORY,
                    &format!("file:{SECRETS_DIR}/{KEYSTORE_PASSWORD_FILE}"),
                    vec![k8s::mount("secrets", SECRETS_DIR, true)],
                ),
                history_conf_init(&r.image),
                s3a_jars_init(&r.image),
            ],
            containers: vec![history_container(m)],
            volumes: history_volumes(m),
            service_account: Some(HISTORY.into()),
            ..Default::default()
        },
    )
}

/// History Server: stateless, reads the event logs every application writes.
fn history_objects(m: &Model) -> Vec<Value> {
    let (r, id) = (m.get(ComponentId::Spark), ComponentId::Spark);
    let svc = k8s::service(
        m,
        id,
        HISTORY,
        HISTORY,
        vec![k8s::service_port("https", HISTORY_HTTPS_PORT)],
        false,
        k8s::serving_cert_annotation(HISTORY_TLS),
    );
    let mut objs = vec![
        k8s::to_value(&ServiceAccount {
            metadata: k8s::meta(m, id, HISTORY, HISTORY),
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        k8s::to_value(&svc),
        k8s::to_value(&history_deployment(m)),
    ];
    if let Some(p) = k8s::pdb(
        m,
        id,
        HISTORY,
        HISTORY,
        &k8s::selector(HISTORY),
        r.replicas,
        k8s::Budget::AllButOne,
    ) {
        objs.push(k8s::to_value(&p));
    }
    objs
}

/// Driver RBAC: the driver creates executor pods, their service and config maps.
fn driver_rbac(m: &Model) -> Vec<Value> {
    let id = ComponentId::Spark;
    let verbs = [
        "get",
        "list",
        "watch",
        "create",
        "update",
        "patch",
        "delete",
        "deletecollection",
    ];
    let role = Role {
        metadata: k8s::meta(m, id, "spark-driver", SA),
        rules: Some(vec![PolicyRule {
            api_groups: Some(vec!["".into()]),
            resources: Some(
                ["pods", "services", "configmaps", "persistentvolumeclaims"]
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            verbs: verbs.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }]),
    };
    let binding = RoleBinding {
        metadata: k8s::meta(m, id, "spark-driver", SA),
        role_ref: RoleRef {
            api_group: "rbac.authorization.k8s.io".into(),
            kind: "Role".into(),
            name: "spark-driver".into(),
        },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name: SA.into(),
            namespace: Some(m.get(id).namespace.clone()),
            ..Default::default()
        }]),
    };
    let sa = ServiceAccount {
        metadata: k8s::meta(m, id, SA, SA),
        // Stated, not defaulted: drivers create their executors through the API, limited
        // by the `spark-driver` Role.
        automount_service_account_token: Some(true),
        ..Default::default()
    };
    vec![
        k8s::to_value(&sa),
        k8s::to_value(&role),
        k8s::to_value(&binding),
    ]
}

fn spark_conf(m: &Model) -> BTreeMap<String, String> {
    let os = &m.object_store;
    let c = cfg(m);
    let iceberg = c.iceberg_version.clone().unwrap_or_else(|| "1.9.1".into());
    let nessie_v = c
        .nessie_version
        .clone()
        .unwrap_or_else(|| NESSIE_SPARK_EXTENSIONS.into());
    let mut conf: BTreeMap<String, String> = BTreeMap::from([
        (
            "spark.jars.packages".to_string(),
            format!("org.apache.iceberg:iceberg-spark-runtime-3.5_2.12:{iceberg},org.apache.iceberg:iceberg-aws-bundle:{iceberg},org.projectnessie.nessie-integrations:nessie-spark-extensions-3.5_2.12:{nessie_v},org.apache.hadoop:hadoop-aws:3.3.4"),
        ),
        ("spark.jars.ivy".into(), "/tmp/.ivy2".into()),
        // Driver ↔ executor RPC and block transfers authenticated and AES-encrypted: on
        // Kubernetes the driver generates the shared secret and hands it to its executors.
        ("spark.authenticate".into(), "true".into()),
        ("spark.network.crypto.enabled".into(), "true".into()),
        (
            "spark.sql.extensions".into(),
            "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions,org.projectnessie.spark.extensions.NessieSparkSessionExtensions".into(),
        ),
        ("spark.sql.defaultCatalog".into(), "nessie".into()),
        ("spark.sql.catalog.nessie".into(), "org.apache.iceberg.spark.SparkCatalog".into()),
        ("spark.sql.catalog.nessie.catalog-impl".into(), "org.apache.iceberg.nessie.NessieCatalog".into()),
        ("spark.sql.catalog.nessie.uri".into(), trino::nessie_uri(m)),
        ("spark.sql.catalog.nessie.ref".into(), "main".into()),
        ("spark.sql.catalog.nessie.warehouse".into(), format!("s3://{}/", os.bucket("warehouse"))),
        ("spark.sql.catalog.nessie.io-impl".into(), "org.apache.iceberg.aws.s3.S3FileIO".into()),
        ("spark.sql.catalog.nessie.s3.endpoint".into(), os.endpoint.clone()),
        ("spark.sql.catalog.nessie.s3.path-style-access".into(), "true".into()),
        ("spark.eventLog.enabled".into(), "true".into()),
        ("spark.eventLog.dir".into(), event_log(m)),
        ("spark.kubernetes.driver.service.deleteOnTermination".into(), "true".into()),
        // Nessie (service CA) and MinIO (deploy's CA) over https: the JDK knows neither.
        ("spark.driver.extraJavaOptions".into(), k8s::jvm_trust_options(TRUSTSTORE_DIR)),
        ("spark.executor.extraJavaOptions".into(), k8s::jvm_trust_options(TRUSTSTORE_DIR)),
    ]);
    conf.extend(s3a(m));
    // Applications take the keys from AWS_* in the pod environment (the spark-operator
    // sets a driver's and executors' environment, not their files).
    conf.insert(
        "spark.hadoop.fs.s3a.aws.credentials.provider".into(),
        "com.amazonaws.auth.EnvironmentVariableCredentialsProvider".into(),
    );
    conf
}

fn pod(m: &Model, role: &str, instances: Option<u32>, sa: Option<String>) -> cr::PodSpec {
    let r = m.get(ComponentId::Spark);
    let os = &m.object_store;
    // `spark-role` is Spark's own label (driver/executor): spark-submit refuses it among the
    // user's labels ("reserved for Spark bookkeeping", KubernetesConf), so the pods carry
    // it anyway and only the anti-affinity selects on it.
    let labels = BTreeMap::from([(
        "sparkoperator.k8s.io/app-name".to_string(),
        TEMPLATE.to_string(),
    )]);
    let mut selector = labels.clone();
    selector.insert("spark-role".to_string(), role.to_string());
    cr::PodSpec {
        instances,
        cores: 1,
        core_request: r.resources.cpu_request.clone(),
        core_limit: r.resources.cpu_limit.clone(),
        memory: "1g".into(),
        service_account: sa,
        affinity: k8s::anti_affinity(&selector),
        labels,
        env: [
            k8s::s3_credentials(&os.credentials_secret),
            vec![k8s::env("AWS_REGION", os.region.clone())],
        ]
        .concat(),
        pod_security_context: k8s::pod_security(),
        security_context: k8s::container_security(k8s::RootFs::Writable),
        init_containers: vec![k8s::jvm_truststore_init(
            &r.image,
            "ca",
            "truststore",
            TRUSTSTORE_DIR,
        )],
        // The CA volume is mounted in the Spark container too, although only the init container
        // reads it: the operator's pod webhook adds a volume of `spec.volumes` only when the
        // driver's or executor's own `volumeMounts` name it (`addVolumes` in
        // internal/webhook/sparkpod_defaulter.go), and the API server refuses a pod whose init
        // container mounts a volume it lacks. Found by the real webhook on the sandbox
        // (`crates/cluster/tests/it/spark_operator.rs`).
        volume_mounts: vec![
            k8s::mount("ca", k8s::TRUST_CA_DIR, true),
            k8s::mount("truststore", TRUSTSTORE_DIR, true),
        ],
    }
}

fn application(m: &Model) -> Cr<cr::SparkApplicationSpec> {
    let (r, id) = (m.get(ComponentId::Spark), ComponentId::Spark);
    let mut app_meta = k8s::meta(m, id, TEMPLATE, TEMPLATE);
    // Applying it would start a job; it is a starting point for users, not platform state.
    app_meta.annotations = Some(std::collections::BTreeMap::from([(
        k8s::TEMPLATE_ANNOTATION.to_string(),
        "true".to_string(),
    )]));
    Cr {
        api_version: cr::SPARK_APPLICATION.0,
        kind: cr::SPARK_APPLICATION.1,
        metadata: app_meta,
        spec: cr::SparkApplicationSpec {
            type_: "Scala",
            mode: "cluster",
            image: r.image.clone(),
            spark_version: r.version.clone(),
            main_class: "org.apache.spark.examples.SparkPi".into(),
            main_application_file: format!(
                "local:///opt/spark/examples/jars/spark-examples_2.12-{}.jar",
                r.version
            ),
            spark_conf: spark_conf(m),
            // The driver is the application's single point of failure: a lost driver
            // restarts the application (Iceberg commits are atomic, so no partial writes).
            restart_policy: cr::RestartPolicy {
                type_: "OnFailure",
                on_failure_retries: 3,
                on_failure_retry_interval: 30,
                on_submission_failure_retries: 5,
                on_submission_failure_retry_interval: 20,
            },
            driver: pod(m, "driver", None, Some(SA.into())),
            executor: pod(m, "executor", Some(cfg(m).executors.unwrap_or(2)), None),
            volumes: vec![
                k8s::ca_trust_volume(m, "ca"),
                k8s::empty_dir_volume("truststore"),
            ],
        },
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    let ns = &m.get(ComponentId::Spark).namespace;
    template::fill(
        README,
        &[
            ("OPERATOR_CHART_VERSION", &OPERATOR_CHART_VERSION),
            ("ns", &ns),
            ("nessie_uri", &trino::nessie_uri(m)),
            ("warehouse", &m.object_store.bucket("warehouse")),
            ("s3_endpoint", &m.object_store.endpoint),
            ("events_bucket", &m.object_store.bucket("spark-events")),
            ("image", &m.get(ComponentId::Spark).image),
            ("HISTORY_HTTPS_PORT", &HISTORY_HTTPS_PORT),
            ("HISTORY", &HISTORY),
            ("HISTORY_TLS", &HISTORY_TLS),
            ("HISTORY_KEYSTORE_SECRET", &HISTORY_KEYSTORE_SECRET),
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
    fn default_ha_renders_history_server_and_template() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let objs: Vec<Value> = crate::component::rendered_objects(&SPARK, &m);
        let app = objs.iter().find(|o| o["kind"] == "SparkApplication");
        let conf = app
            .map(|a| a["spec"]["sparkConf"].clone())
            .unwrap_or_default();
        assert_eq!(
            conf["spark.sql.catalog.nessie.catalog-impl"],
            "org.apache.iceberg.nessie.NessieCatalog"
        );
        assert_eq!(
            conf["spark.eventLog.dir"],
            "s3a://datalyptica-spark-events/"
        );
        assert!(objs.iter().any(|o| o["kind"] == "PodDisruptionBudget"));
        assert!(SPARK.operator().is_none());
    }

    fn history(objs: &[Value], kind: &str) -> Value {
        objs.iter()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == HISTORY)
            .cloned()
            .unwrap_or_else(|| panic!("{kind} {HISTORY} not rendered"))
    }

    fn mount_path(c: &Value, volume: &str) -> String {
        c["volumeMounts"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == volume)
            .and_then(|v| v["mountPath"].as_str())
            .unwrap_or_else(|| panic!("{} mounts no {volume}", c["name"]))
            .to_string()
    }

    #[test]
    fn history_server_serves_https_from_a_service_ca_keystore() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let objs: Vec<Value> = crate::component::rendered_objects(&SPARK, &m);
        let pod = history(&objs, "Deployment")["spec"]["template"]["spec"].clone();
        let c = &pod["containers"][0];
        let env = c["env"].as_array().cloned().unwrap_or_default();
        let opts = env
            .iter()
            .find(|e| e["name"] == "SPARK_HISTORY_OPTS")
            .and_then(|e| e["value"].as_str())
            .unwrap_or_default()
            .to_string();
        let keystore = format!("{KEYSTORE_DIR}/{}", k8s::PKCS12_FILE);
        for o in [
            "-Dspark.ssl.historyServer.enabled=true".to_string(),
            format!("-Dspark.ssl.historyServer.port={HISTORY_HTTPS_PORT}"),
            format!("-Dspark.ssl.historyServer.keyStore={keystore}"),
            "-Dspark.ssl.historyServer.keyStoreType=PKCS12".to_string(),
            "-Dspark.hadoop.fs.s3a.aws.credentials.provider=org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider".to_string(),
        ] {
            assert!(opts.split(' ').any(|x| x == o), "{o} missing from {opts}");
        }
        // No secret on a command line or in the environment: `ps` and `oc describe` show both.
        assert!(!opts.contains("keyStorePassword"), "{opts}");
        assert!(!pod.to_string().contains("secretKeyRef"), "{pod}");
        let props = format!("{KEYSTORE_DIR}/{SECRET_PROPERTIES}");
        assert_eq!(c["command"][2], "--properties-file");
        assert_eq!(c["command"][3], props.as_str());
        for probe in ["livenessProbe", "readinessProbe"] {
            assert_eq!(c[probe]["httpGet"]["scheme"], "HTTPS", "{probe}");
            assert_eq!(c[probe]["httpGet"]["port"], "https", "{probe}");
        }
        assert_eq!(
            c["ports"],
            serde_json::json!([{"name": "https", "containerPort": HISTORY_HTTPS_PORT}])
        );
        // The keystore and properties Spark reads are the ones the init containers write.
        assert_eq!(mount_path(c, "keystore"), KEYSTORE_DIR);
        let init = |name: &str| {
            pod["initContainers"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["name"] == name))
                .cloned()
                .unwrap_or_else(|| panic!("no {name} init container"))
        };
        let (ks, conf) = (init("keystore"), init("history-conf"));
        let ks_script = ks["command"][2].as_str().unwrap_or_default();
        assert!(
            ks_script.contains(&format!("-out {keystore}")),
            "{ks_script}"
        );
        let vol = |n: &str| {
            pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == n)
                .cloned()
                .unwrap_or_default()
        };
        assert_eq!(vol("serving-cert")["secret"]["secretName"], HISTORY_TLS);
        assert_eq!(vol("keystore")["emptyDir"]["medium"], "Memory");
        let svc = history(&objs, "Service");
        assert_eq!(
            svc["metadata"]["annotations"]["service.beta.openshift.io/serving-cert-secret-name"],
            HISTORY_TLS
        );
        assert_eq!(svc["spec"]["ports"][0]["port"], HISTORY_HTTPS_PORT);
        assert_eq!(svc["spec"]["ports"].as_array().map(Vec::len), Some(1));
        assert!(SPARK.tls(&m).iter().all(|h| h.tls));

        // Run both init scripts as the pod would, on a real certificate with real openssl,
        // then open the keystore with the JDK's keytool using the password Spark will read.
        let secrets: BTreeMap<&str, &str> = [
            (KEYSTORE_PASSWORD_FILE, r"pa\ss=wo:rd"),
            ("AWS_ACCESS_KEY_ID", "AKIATEST"),
            ("AWS_SECRET_ACCESS_KEY", r"s3cr\et"),
        ]
        .into();
        let items: Vec<(String, String)> = vol("secrets")["projected"]["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|s| s["secret"]["items"].as_array().cloned().unwrap_or_default())
            .map(|i| {
                (
                    i["key"].as_str().unwrap_or_default().to_string(),
                    i["path"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(items.len(), secrets.len(), "{items:?}");
        let root = std::env::temp_dir().join(format!("dl-spark-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let dir = |d: &str| {
            let p = root.join(d);
            std::fs::create_dir_all(&p).expect("scratch dir");
            p
        };
        let (cert, store, files) = (dir("cert"), dir("keystore"), dir("secrets"));
        for (_, path) in &items {
            let value = secrets
                .get(path.as_str())
                .unwrap_or_else(|| panic!("unexpected secret file {path}"));
            // No trailing newline: the kubelet projects a Secret key's bytes as they are.
            std::fs::write(files.join(path), value).expect("secret file");
        }
        let run = |program: &str, args: &[&str]| {
            let out = std::process::Command::new(program)
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("{program} is needed by this test: {e}"));
            assert!(
                out.status.success(),
                "{program} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        let (crt, key) = (cert.join("tls.crt"), cert.join("tls.key"));
        run(
            "openssl",
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "1",
                "-subj",
                "/CN=spark-history-server.datalyptica.svc",
                "-keyout",
                &key.to_string_lossy(),
                "-out",
                &crt.to_string_lossy(),
            ],
        );
        let remap = |script: &str| {
            script
                .replace(&mount_path(&ks, "serving-cert"), &cert.to_string_lossy())
                .replace(KEYSTORE_DIR, &store.to_string_lossy())
                .replace(SECRETS_DIR, &files.to_string_lossy())
        };
        assert_eq!(mount_path(&conf, "secrets"), SECRETS_DIR);
        assert_eq!(mount_path(&ks, "secrets"), SECRETS_DIR);
        for script in [ks_script, conf["command"][2].as_str().unwrap_or_default()] {
            run("/bin/sh", &["-c", &remap(script)]);
        }
        let written = std::fs::read_to_string(store.join(SECRET_PROPERTIES)).expect("properties");
        let mode = std::fs::metadata(store.join(SECRET_PROPERTIES))
            .map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
        assert_eq!(mode.ok(), Some(0o600));
        // java.util.Properties: `key=value`, a backslash escapes the next character.
        let parsed: BTreeMap<&str, String> = written
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k, v.replace(r"\\", r"\")))
            .collect();
        let password = secrets[KEYSTORE_PASSWORD_FILE];
        assert_eq!(
            parsed
                .get("spark.ssl.historyServer.keyStorePassword")
                .map(String::as_str),
            Some(password),
            "{written}"
        );
        assert_eq!(
            parsed
                .get("spark.hadoop.fs.s3a.access.key")
                .map(String::as_str),
            Some("AKIATEST")
        );
        assert_eq!(
            parsed
                .get("spark.hadoop.fs.s3a.secret.key")
                .map(String::as_str),
            Some(r"s3cr\et")
        );
        let listing = run(
            "keytool",
            &[
                "-list",
                "-storetype",
                "PKCS12",
                "-storepass",
                password,
                "-keystore",
                &store.join(k8s::PKCS12_FILE).to_string_lossy(),
            ],
        );
        assert!(
            listing.contains(&format!("{HISTORY}, ")) && listing.contains("PrivateKeyEntry"),
            "{listing}"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn zero_executors_and_one_history_server_are_reported() {
        let mut p = Platform::default_ha();
        p.spec.components.spark.config.executors = Some(0);
        p.spec.components.spark.replicas = Some(1);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/spark/config/executors".to_string()));
        assert!(ptrs.contains(&"/spec/components/spark/replicas".to_string()));
    }
}
