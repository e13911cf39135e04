//! Flink session cluster through the Flink Kubernetes Operator: two JobManagers (one leader, one
//! standby) with Kubernetes HA services, checkpoints, savepoints and HA metadata on the object store.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, Service, ServiceAccount, ServiceSpec};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Check, Component, ComponentId, Dep, File, Gate, GateKind, Group, HealthCheck, OperatorDefaults,
    TlsHop,
};
use crate::components::{kafka, spec_pointer};
use crate::crs::{Cr, flink as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resolved, Resources, Slo};
use crate::spec::Profile;
use crate::template;
use crate::units::parse_quantity;
use crate::validate::Issue;

/// `taskmanager.data.port`: fixed so that network policies can admit it.
pub const DATA_PORT: u16 = 6121;
/// The S3 plugin's own directory under Flink's plugins dir (an emptyDir the init container fills).
const S3_PLUGIN_DIR: &str = "/opt/flink/plugins/s3-fs-presto";
/// The ports Flink's own pod decorators add to the main container (flink-kubernetes
/// `InitJobManagerDecorator`: `rest`, `jobmanager-rpc`, `blobserver`; `InitTaskManagerDecorator`:
/// `taskmanager-rpc`), with the numbers of the configuration keys set below. The pod templates
/// must not declare them again: a second `rest` port or a second 6122/TCP is a duplicate key of
/// the container's `ports` list, which server-side apply refuses.
pub const JOBMANAGER_PORTS: [(&str, u16); 3] = [
    ("rest", REST_PORT),
    ("jobmanager-rpc", 6123),
    ("blobserver", 6124),
];
pub const TASKMANAGER_PORTS: [(&str, u16); 1] = [("taskmanager-rpc", 6122)];
pub const REST_PORT: u16 = 8081;
pub const NAME: &str = "flink";
const SA: &str = "flink";
/// A Service that routes nothing: it exists so that the service CA issues the certificate
/// (Secret [`INTERNAL_TLS`]) every JobManager and TaskManager shares for internal TLS. Flink
/// finds its peers through its HA services and never checks the name in the certificate.
const INTERNAL_TLS_SERVICE: &str = "flink-internal";
const INTERNAL_TLS: &str = "flink-internal-tls";
const KEYSTORE_DIR: &str = "/etc/flink/keystore";
/// The JVM truststore (JDK CAs + service CA + the object store's CA) for S3 and the catalog.
const TRUSTSTORE_DIR: &str = "/etc/flink/truststore";
/// Deliberately not a secret. It guards only the in-memory PKCS12 copy of the key that the
/// Secret mounted in the same pod already holds. Flink reads keystore passwords from its
/// configuration alone (the operator's ConfigMap), and a JobManager's `-D` value is copied
/// into the arguments of every TaskManager pod it creates, so a Secret-backed password would
/// end up in plain text in the cluster anyway; a fixed one does not pretend otherwise.
const KEYSTORE_PASSWORD: &str = "not-a-secret";

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HaMode {
    /// Leader election and HA metadata in ConfigMaps (Flink's `KubernetesLeaderElector` locks a
    /// ConfigMap, not a Lease; no extra service).
    #[default]
    Kubernetes,
    /// ZooKeeper HA services (needs `zookeeperQuorum`).
    Zookeeper,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FlinkConfig {
    /// JobManager HA services: `kubernetes` (default) or `zookeeper`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ha_mode: Option<HaMode>,
    /// For `haMode: zookeeper`: `host:port,host:port,…` of the ZooKeeper ensemble.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zookeeper_quorum: Option<String>,
    /// Task slots per TaskManager (default 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_slots: Option<u32>,
    /// Checkpoint interval (Flink duration, default `30 s`): bounds the RPO of exactly-once jobs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint_interval: Option<String>,
}

fn cfg<'a>(m: &'a Model) -> &'a FlinkConfig {
    &m.platform.spec.components.flink.config
}

/// `flinkVersion` values the operator's CRD (release 1.15) accepts.
const SUPPORTED: &[&str] = &[
    "v1_13", "v1_14", "v1_15", "v1_16", "v1_17", "v1_18", "v1_19", "v1_20", "v2_0", "v2_1", "v2_2",
];

pub struct Flink;
pub static FLINK: Flink = Flink;

/// `1.20.1` → `v1_20`, the operator's enum.
fn flink_version(v: &str) -> String {
    let mut it = v.split('.');
    format!(
        "v{}_{}",
        it.next().unwrap_or("1"),
        it.next().unwrap_or("20")
    )
}

/// Internal connections (RPC, blob server, data exchange) over mutual TLS with one certificate
/// every pod holds. The service CA signs every Service's certificate in the cluster, so trusting
/// the CA would admit any of them (Flink checks no host names internally); instead each process
/// pins this certificate's SHA-1 fingerprint, Flink's documented answer for CA-signed internal
/// certificates. The fingerprint exists only once the certificate is issued, so the init
/// container writes it and the start arguments read it (`bash -c` expands `$(…)`); pinning
/// also spares the serverAuth-only service-CA certificate the client key-usage check a CA
/// chain would get. The truststore is then only loaded, never consulted.
fn internal_ssl() -> Vec<(&'static str, String)> {
    let store = format!("{KEYSTORE_DIR}/{}", k8s::PKCS12_FILE);
    let pin = format!(
        "-Dsecurity.ssl.internal.cert.fingerprint=$(cat {KEYSTORE_DIR}/{})",
        k8s::FINGERPRINT_FILE
    );
    vec![
        ("security.ssl.internal.enabled", "true".into()),
        ("security.ssl.internal.keystore", store.clone()),
        (
            "security.ssl.internal.keystore-password",
            KEYSTORE_PASSWORD.into(),
        ),
        (
            "security.ssl.internal.key-password",
            KEYSTORE_PASSWORD.into(),
        ),
        ("security.ssl.internal.truststore", store),
        (
            "security.ssl.internal.truststore-password",
            KEYSTORE_PASSWORD.into(),
        ),
        ("kubernetes.jobmanager.entrypoint.args", pin.clone()),
        ("kubernetes.taskmanager.entrypoint.args", pin),
        // Flink 1.20's default (TLS_RSA_WITH_AES_128_CBC_SHA) has no forward secrecy and newer
        // JDK updates disable it; these are Flink's later defaults and suit the RSA key.
        (
            "security.ssl.algorithms",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384".into(),
        ),
        // The operator calls the REST API and could trust it only through a truststore file
        // in its own pod (see `tls`): stated, so that the choice is visible in the config.
        ("security.ssl.rest.enabled", "false".into()),
    ]
}

fn flink_resource(r: &Resources) -> cr::FlinkResource {
    let cpu = parse_quantity(&r.cpu_limit).map(|q| q.0).unwrap_or(1.0);
    let mib = parse_quantity(&r.memory_limit)
        .map(|q| (q.0 / 1_048_576.0) as u64)
        .unwrap_or(2048);
    cr::FlinkResource {
        cpu,
        memory: format!("{mib}m"),
    }
}

impl Component for Flink {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the image entrypoint rewrites `conf/` at start"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, _m: &Model) -> crate::component::Backup {
        crate::component::Backup::None(
            "its checkpoints, savepoints and HA metadata live in the object store",
        )
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Flink
    }
    fn summary(&self) -> &'static str {
        "Flink session cluster (Flink Kubernetes Operator): 2 JobManagers with Kubernetes HA, checkpoints and savepoints on the object store"
    }
    fn phase(&self) -> u8 {
        4
    }
    fn dir(&self) -> &'static str {
        "07-flink-ha"
    }
    fn group(&self) -> Group {
        Group::Streaming
    }
    fn deps(&self) -> &'static [Dep] {
        &[Dep::On(ComponentId::Kafka), Dep::ObjectStore]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        Some(OperatorDefaults {
            display: "Flink Kubernetes Operator",
            package: "flink-kubernetes-operator",
            channel: "alpha",
            source: "community-operators",
            head: "1.14.0",
        })
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 30, 60);
        let image = "flink:1.20.1";
        match profile {
            Profile::Ha => Defaults {
                replicas: 2,
                storage: "0",
                requests: ("1", "2Gi"),
                limits: ("1", "2Gi"),
                image,
                version: "1.20.1",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("500m", "1Gi"),
                limits: ("500m", "1Gi"),
                image,
                version: "1.20.1",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "operator-install.yaml",
            "flink-rbac.yaml",
            "flink-session-cluster.yaml",
        ]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["flink"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let c = cfg(m);
        let base = format!("{}/config", spec_pointer(self.id()));
        match (c.ha_mode.unwrap_or_default(), &c.zookeeper_quorum) {
            (HaMode::Zookeeper, None) => out.push(Issue::new(
                format!("{base}/zookeeperQuorum"),
                "ZooKeeper HA needs the ensemble's addresses (expected `host:2181,host:2181,…`)",
            )),
            (HaMode::Kubernetes, Some(_)) => out.push(Issue::new(
                format!("{base}/zookeeperQuorum"),
                "zookeeperQuorum is only used with `haMode: zookeeper`",
            )),
            _ => {}
        }
        let v = flink_version(&m.get(self.id()).version);
        if !SUPPORTED.contains(&v.as_str()) {
            out.push(Issue::new(
                format!("{}/version", spec_pointer(self.id())),
                format!(
                    "Flink `{}` is not supported by the operator (expected one of {})",
                    m.get(self.id()).version,
                    SUPPORTED.join(", ").replace('v', "").replace('_', ".")
                ),
            ));
        }
        if c.task_slots == Some(0) {
            out.push(Issue::new(
                format!("{base}/taskSlots"),
                "0 task slots (expected ≥ 1)",
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let os = &m.object_store;
        let bucket = os.bucket("flink");
        let parts = Parts::new(m);
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            k8s::objects_file(
                format!("{dir}/flink-rbac.yaml"),
                "ServiceAccount and Role for Flink's HA services (the leader ConfigMap lock, HA ConfigMaps) and TaskManager pods.".into(),
                vec![
                    k8s::to_value(&parts.service_account()),
                    k8s::to_value(&parts.role()),
                    k8s::to_value(&parts.role_binding()),
                ],
            ),
            k8s::objects_file(
                format!("{dir}/flink-session-cluster.yaml"),
                format!(
                    "Flink {} session cluster: {} JobManagers, {:?} HA, state in s3://{bucket}/ (credentials from Secret {}).",
                    r.version,
                    r.replicas,
                    cfg(m).ha_mode.unwrap_or_default(),
                    os.credentials_secret
                ),
                parts.cluster_objects(),
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::new(GateKind::FlinkDeployment, ns, NAME)]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![
            HealthCheck {
                what: "JobManager leader (holder of the leader ConfigMap's lock)".into(),
                check: Check::Oc(format!(
                    "oc get configmap -n {ns} -l app={NAME},configmap-type=high-availability -o custom-columns='NAME:.metadata.name,LEADER:.metadata.annotations.control-plane\\.alpha\\.kubernetes\\.io/leader'"
                )),
            },
            HealthCheck {
                what: "JobManager deployment status and cluster info".into(),
                check: Check::Oc(format!(
                    "oc get flinkdeployment/{NAME} -n {ns} -o jsonpath='{{.status.jobManagerDeploymentStatus}} {{.status.clusterInfo}}'"
                )),
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "6121 (data exchange), 6122–6124 (RPC, blob server)",
                true,
                format!(
                    "Flink internal TLS, mutually authenticated: every JobManager and TaskManager holds the service-CA certificate `{INTERNAL_TLS}` (PKCS12 built in the pod) and accepts only that certificate, pinned by its SHA-1 fingerprint (`security.ssl.internal.cert.fingerprint`); Flink skips host-name checks on internal connections"
                ),
            ),
            TlsHop::new(
                "8081 (REST)",
                false,
                "plain: the Flink Kubernetes Operator drives the cluster through this API and trusts an HTTPS endpoint only through a JKS/PKCS12 truststore file in its own pod (`OPERATOR_TRUSTSTORE_PATH`, mounted by its Helm chart's `tls.create`); the OLM install cannot build that file from the service CA, so REST stays plain, reachable only from the operator and Flink pods",
            ),
            TlsHop::new(
                "9249 (metrics)",
                false,
                "plain HTTP: the Prometheus reporter, scraped only by the monitoring stack (network policy)",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let c = cfg(m);
        vec![
            format!("{} JobManagers: one leader, the others standby; leadership by {} HA services", r.replicas, match c.ha_mode.unwrap_or_default() { HaMode::Kubernetes => "Kubernetes (a ConfigMap lock for the leader, ConfigMaps for the HA metadata)", HaMode::Zookeeper => "ZooKeeper" }),
            "a JobManager failover recovers running jobs from the last completed checkpoint: RPO ≤ checkpoint interval for exactly-once sinks".into(),
            format!("checkpoints, savepoints and HA metadata live in s3://{}/, so they survive the loss of every Flink pod", m.object_store.bucket("flink")),
            "TaskManagers are allocated on demand; a lost TaskManager restarts the affected jobs from the checkpoint".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Failover, Recovery, Redundancy, Tier};
        use std::time::Duration;
        let r = m.get(self.id());
        let (takeover, how) = match cfg(m).ha_mode.unwrap_or_default() {
            HaMode::Kubernetes => (
                20,
                "Kubernetes HA: lease-duration 15 s + retry-period 5 s (Flink defaults)",
            ),
            HaMode::Zookeeper => (
                60,
                "ZooKeeper HA: client session timeout 60 s (Flink default)",
            ),
        };
        Redundancy {
            tiers: vec![
                Tier::replicated("jobmanagers", r.replicas, Recovery::Reschedule)
                    .with_failover(Failover {
                        active: 1,
                        unplanned: Duration::from_secs(takeover),
                        planned: Duration::from_secs(takeover),
                        source: format!("{how} before a standby JobManager leads and restores the jobs from the last checkpoint"),
                    })
                    .with_max_unavailable(1),
            ],
            journey: Some("streaming"),
        }
    }
}

/// What the builders of the rendered objects share: the model, Flink's resolved settings and
/// its `config`.
struct Parts<'a> {
    m: &'a Model<'a>,
    r: &'a Resolved,
    c: &'a FlinkConfig,
}

impl<'a> Parts<'a> {
    fn new(m: &'a Model<'a>) -> Self {
        Parts {
            m,
            r: m.get(ComponentId::Flink),
            c: cfg(m),
        }
    }

    /// The FlinkDeployment's `flinkConfiguration`.
    fn configuration(&self) -> BTreeMap<String, String> {
        [
            self.ha_settings(),
            self.state_settings(),
            self.runtime_settings(),
            port_settings(),
            internal_ssl(),
        ]
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn ha_settings(&self) -> Vec<(&'static str, String)> {
        let mut s = match self.c.ha_mode.unwrap_or_default() {
            HaMode::Kubernetes => vec![("high-availability.type", "kubernetes".into())],
            HaMode::Zookeeper => vec![
                ("high-availability.type", "zookeeper".into()),
                (
                    "high-availability.zookeeper.quorum",
                    self.c.zookeeper_quorum.clone().unwrap_or_default(),
                ),
            ],
        };
        let bucket = self.m.object_store.bucket("flink");
        s.push(("high-availability.storageDir", format!("s3://{bucket}/ha")));
        s
    }

    /// Checkpoints, savepoints and the operator's upgrades from them.
    fn state_settings(&self) -> Vec<(&'static str, String)> {
        let bucket = self.m.object_store.bucket("flink");
        vec![
            (
                "state.checkpoints.dir",
                format!("s3://{bucket}/checkpoints"),
            ),
            ("state.savepoints.dir", format!("s3://{bucket}/savepoints")),
            ("state.backend.type", "rocksdb".into()),
            ("state.backend.incremental", "true".into()),
            (
                "execution.checkpointing.interval",
                self.c
                    .checkpoint_interval
                    .clone()
                    .unwrap_or_else(|| "30 s".into()),
            ),
            ("execution.checkpointing.mode", "EXACTLY_ONCE".into()),
            (
                "execution.checkpointing.externalized-checkpoint-retention",
                "RETAIN_ON_CANCELLATION".into(),
            ),
            (
                "kubernetes.operator.job.upgrade.last-state-fallback.enabled",
                "true".into(),
            ),
        ]
    }

    /// The S3 filesystem, task slots, restarts and the JVM's truststore.
    fn runtime_settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("s3.endpoint", self.m.object_store.endpoint.clone()),
            ("s3.path.style.access", "true".into()),
            // Presto's S3 client (mirrored from `s3.*` to `presto.s3.*`) asks the EC2 metadata
            // endpoint for credentials unless told otherwise; off, it falls through to the AWS
            // default chain, which reads AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the pod
            // environment.
            ("s3.use-instance-credentials", "false".into()),
            (
                "taskmanager.numberOfTaskSlots",
                self.c.task_slots.unwrap_or(2).to_string(),
            ),
            ("restart-strategy.type", "exponential-delay".into()),
            // `env.java.opts.all` from Flink 1.18, `env.java.opts` before it.
            ("env.java.opts.all", k8s::jvm_trust_options(TRUSTSTORE_DIR)),
            ("env.java.opts", k8s::jvm_trust_options(TRUSTSTORE_DIR)),
        ]
    }

    fn main_container(&self, probe_port: u16) -> Container {
        Container {
            name: "flink-main-container".into(),
            env: Some(k8s::s3_credentials(&self.m.object_store.credentials_secret)),
            // Only the metrics port: Flink adds its own (JOBMANAGER_PORTS, TASKMANAGER_PORTS).
            ports: Some(vec![k8s::container_port(
                crate::monitoring::FLINK_METRICS_PORT.0,
                crate::monitoring::FLINK_METRICS_PORT.1,
            )]),
            // By number: the named port is Flink's, not in this template.
            liveness_probe: Some(k8s::tcp_probe_port(probe_port, 10, 6)),
            readiness_probe: Some(k8s::tcp_probe_port(probe_port, 5, 3)),
            resources: Some(k8s::resources(&self.r.resources)),
            security_context: Some(k8s::container_security(k8s::RootFs::Writable)),
            volume_mounts: Some(vec![
                k8s::mount("keystore", KEYSTORE_DIR, true),
                k8s::mount("truststore", TRUSTSTORE_DIR, true),
                k8s::mount("s3-plugin", S3_PLUGIN_DIR, true),
            ]),
            ..Default::default()
        }
    }

    /// The S3 plugin reads credentials from the environment (AWS default provider chain).
    /// Not ENABLE_BUILT_IN_PLUGINS: the image's entrypoint links the jar into
    /// /opt/flink/plugins, owned by uid 9999, which OpenShift's random UID cannot write (the
    /// failure is silent and s3:// then has no filesystem). This init container copies the jar
    /// into an emptyDir mounted as the plugin's own directory instead.
    fn s3_plugin_init(&self) -> Container {
        let s3_jar = format!("flink-s3-fs-presto-{}.jar", self.r.version);
        Container {
            name: "s3-plugin".into(),
            image: Some(self.r.image.clone()),
            command: Some(vec![
                "cp".into(),
                format!("/opt/flink/opt/{s3_jar}"),
                "/plugin/".into(),
            ]),
            resources: Some(k8s::resources(&Resources {
                cpu_request: "50m".into(),
                memory_request: "32Mi".into(),
                cpu_limit: "200m".into(),
                memory_limit: "64Mi".into(),
            })),
            security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
            volume_mounts: Some(vec![k8s::mount("s3-plugin", "/plugin", false)]),
            ..Default::default()
        }
    }

    /// The pod template of `component` (`jobmanager` or `taskmanager`), probed on `port`.
    /// Per role, not in the shared template: the operator merges container lists by
    /// position, and JobManagers and TaskManagers both need the keystore.
    fn pod_template(&self, component: &str, port: u16) -> cr::PodTemplate {
        let image = &self.r.image;
        cr::PodTemplate {
            metadata: None,
            spec: PodSpec {
                affinity: Some(k8s::anti_affinity(&selector(component))),
                topology_spread_constraints: Some(k8s::zone_spread(&selector(component))),
                security_context: Some(k8s::pod_security()),
                // Flink reads keystores, not the PEM pair the service CA issues.
                init_containers: Some(vec![
                    self.s3_plugin_init(),
                    // Checkpoints and HA metadata go to the object store over https: MinIO's
                    // certificate chains to the object store's CA, which the JDK does not know.
                    k8s::jvm_truststore_init(image, "ca", "truststore", TRUSTSTORE_DIR),
                    k8s::with_sha1_fingerprint(
                        k8s::pkcs12_init_container(
                            image,
                            "serving-cert",
                            "keystore",
                            KEYSTORE_DIR,
                            "flink-internal",
                            &format!("pass:{KEYSTORE_PASSWORD}"),
                            vec![],
                        ),
                        KEYSTORE_DIR,
                    ),
                ]),
                containers: vec![self.main_container(port)],
                volumes: Some(vec![
                    k8s::secret_volume("serving-cert", INTERNAL_TLS),
                    k8s::memory_dir_volume("keystore"),
                    k8s::ca_trust_volume(self.m, "ca"),
                    k8s::empty_dir_volume("truststore"),
                    k8s::empty_dir_volume("s3-plugin"),
                ]),
                ..Default::default()
            },
        }
    }

    fn flink_deployment(&self) -> Cr<cr::FlinkDeploymentSpec> {
        let r = self.r;
        Cr {
            api_version: cr::FLINK_DEPLOYMENT.0,
            kind: cr::FLINK_DEPLOYMENT.1,
            metadata: k8s::meta(self.m, ComponentId::Flink, NAME, NAME),
            spec: cr::FlinkDeploymentSpec {
                image: r.image.clone(),
                flink_version: flink_version(&r.version),
                mode: "native",
                service_account: SA.into(),
                flink_configuration: self.configuration(),
                pod_template: shared_pod_template(),
                job_manager: cr::ManagerSpec {
                    replicas: Some(r.replicas),
                    resource: flink_resource(&r.resources),
                    pod_template: self.pod_template("jobmanager", REST_PORT),
                },
                task_manager: cr::ManagerSpec {
                    replicas: None,
                    resource: flink_resource(&r.resources),
                    pod_template: self.pod_template("taskmanager", TASKMANAGER_PORTS[0].1),
                },
            },
        }
    }

    fn role(&self) -> Role {
        let all = [
            "get", "list", "watch", "create", "update", "patch", "delete",
        ];
        Role {
            metadata: k8s::meta(self.m, ComponentId::Flink, "flink-ha", NAME),
            rules: Some(vec![
                // HA metadata and leader ConfigMaps, TaskManager pods, the REST service.
                rule(&[""], &["configmaps", "pods", "services"], &all),
                rule(&["apps"], &["deployments"], &["get", "list", "watch"]),
                rule(&["apps"], &["deployments/finalizers"], &["update"]),
            ]),
        }
    }

    fn role_binding(&self) -> RoleBinding {
        RoleBinding {
            metadata: k8s::meta(self.m, ComponentId::Flink, "flink-ha", NAME),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: "flink-ha".into(),
            },
            subjects: Some(vec![Subject {
                kind: "ServiceAccount".into(),
                name: SA.into(),
                namespace: Some(self.r.namespace.clone()),
                ..Default::default()
            }]),
        }
    }

    fn service_account(&self) -> ServiceAccount {
        ServiceAccount {
            metadata: k8s::meta(self.m, ComponentId::Flink, SA, NAME),
            // Stated, not defaulted: JobManagers (HA ConfigMaps) and TaskManagers (leader
            // ConfigMaps) call the API, limited by the `flink-ha` Role.
            automount_service_account_token: Some(true),
            ..Default::default()
        }
    }

    /// Headless without selector or ports: a name to issue the certificate under, no traffic.
    fn internal_tls_service(&self) -> Service {
        let mut meta = k8s::meta(self.m, ComponentId::Flink, INTERNAL_TLS_SERVICE, NAME);
        meta.annotations = Some(k8s::serving_cert_annotation(INTERNAL_TLS));
        Service {
            metadata: meta,
            spec: Some(ServiceSpec {
                cluster_ip: Some("None".into()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The certificate's Service, the FlinkDeployment and the JobManagers' PodDisruptionBudget
    /// when there are several.
    fn cluster_objects(&self) -> Vec<serde_json::Value> {
        let mut objects = vec![
            k8s::to_value(&self.internal_tls_service()),
            k8s::to_value(&self.flink_deployment()),
        ];
        if let Some(pdb) = k8s::pdb(
            self.m,
            ComponentId::Flink,
            "flink-jobmanager",
            NAME,
            &selector("jobmanager"),
            self.r.replicas,
            k8s::Budget::AllButOne,
        ) {
            objects.push(k8s::to_value(&pdb));
        }
        objects
    }
}

/// Fixed ports, which the network policies name, and the Prometheus reporter.
fn port_settings() -> Vec<(&'static str, String)> {
    let mut s = vec![
        // TaskManagers exchange shuffle data on this port; Flink's default (0, random) would be
        // blocked by the peer NetworkPolicy, which names ports.
        ("taskmanager.data.port", DATA_PORT.to_string()),
    ];
    // The ports Flink declares on the pods, explicit: the network policies open these very
    // numbers (the network policies read the same constants).
    for (key, port) in [
        ("rest.port", JOBMANAGER_PORTS[0].1),
        ("jobmanager.rpc.port", JOBMANAGER_PORTS[1].1),
        ("blob.server.port", JOBMANAGER_PORTS[2].1),
        ("taskmanager.rpc.port", TASKMANAGER_PORTS[0].1),
    ] {
        s.push((key, port.to_string()));
    }
    // Prometheus reporter for the PodMonitor in monitoring.yaml (port `metrics`).
    s.push((
        "metrics.reporter.prom.factory.class",
        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory".into(),
    ));
    s.push((
        "metrics.reporter.prom.port",
        crate::monitoring::FLINK_METRICS_PORT.1.to_string(),
    ));
    s
}

/// The pod labels of one role: `jobmanager` or `taskmanager`.
fn selector(component: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app".to_string(), NAME.to_string()),
        ("component".to_string(), component.to_string()),
    ])
}

/// The template both roles start from.
fn shared_pod_template() -> cr::PodTemplate {
    cr::PodTemplate {
        metadata: None,
        spec: PodSpec {
            security_context: Some(k8s::pod_security()),
            containers: vec![Container {
                name: "flink-main-container".into(),
                security_context: Some(k8s::container_security(k8s::RootFs::Writable)),
                ..Default::default()
            }],
            ..Default::default()
        },
    }
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> PolicyRule {
    PolicyRule {
        api_groups: Some(groups.iter().map(|s| s.to_string()).collect()),
        resources: Some(resources.iter().map(|s| s.to_string()).collect()),
        verbs: verbs.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    let ns = &m.get(ComponentId::Flink).namespace;
    template::fill(
        README,
        &[
            ("INTERNAL_TLS_SERVICE", &INTERNAL_TLS_SERVICE),
            ("INTERNAL_TLS", &INTERNAL_TLS),
            ("NAME", &NAME),
            ("ns", &ns),
            ("bootstrap", &kafka::bootstrap(m)),
            ("bucket", &m.object_store.bucket("flink")),
            ("s3_endpoint", &m.object_store.endpoint),
            ("s3_secret", &m.object_store.credentials_secret),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;

    #[test]
    fn default_ha_renders_two_jobmanagers_with_kubernetes_ha() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let objs: Vec<_> = crate::component::rendered_objects(&FLINK, &m);
        let fd = objs.iter().find(|o| o["kind"] == "FlinkDeployment");
        let fd = fd.map(|o| o["spec"].clone()).unwrap_or_default();
        assert_eq!(fd["jobManager"]["replicas"], 2);
        assert_eq!(fd["flinkVersion"], "v1_20");
        assert_eq!(
            fd["flinkConfiguration"]["high-availability.type"],
            "kubernetes"
        );
        assert_eq!(
            fd["flinkConfiguration"]["state.checkpoints.dir"],
            "s3://datalyptica-flink/checkpoints"
        );
        assert!(objs.iter().any(|o| o["kind"] == "Role"));
    }

    #[test]
    fn internal_connections_use_mutual_tls_from_the_service_ca() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let objs: Vec<_> = crate::component::rendered_objects(&FLINK, &m);
        let fd = objs
            .iter()
            .find(|o| o["kind"] == "FlinkDeployment")
            .map(|o| o["spec"].clone())
            .unwrap_or_default();
        let conf = &fd["flinkConfiguration"];
        let store = format!("{KEYSTORE_DIR}/{}", k8s::PKCS12_FILE);
        assert_eq!(conf["security.ssl.internal.enabled"], "true");
        assert_eq!(conf["security.ssl.internal.keystore"], store.as_str());
        assert_eq!(conf["security.ssl.internal.truststore"], store.as_str());
        let password = conf["security.ssl.internal.keystore-password"]
            .as_str()
            .unwrap_or_default();
        assert_eq!(conf["security.ssl.internal.truststore-password"], password);
        // Both roles pin the certificate the init container fingerprinted.
        let fingerprint = format!("{KEYSTORE_DIR}/{}", k8s::FINGERPRINT_FILE);
        let pin = format!("-Dsecurity.ssl.internal.cert.fingerprint=$(cat {fingerprint})");
        assert_eq!(conf["kubernetes.jobmanager.entrypoint.args"], pin.as_str());
        assert_eq!(conf["kubernetes.taskmanager.entrypoint.args"], pin.as_str());
        for role in ["jobManager", "taskManager"] {
            let pod = &fd[role]["podTemplate"]["spec"];
            let has = |list: &serde_json::Value, name: &str, path: &str| {
                list.as_array()
                    .into_iter()
                    .flatten()
                    .any(|v| v["name"] == name && v["mountPath"] == path)
            };
            assert!(
                has(
                    &pod["containers"][0]["volumeMounts"],
                    "keystore",
                    KEYSTORE_DIR
                ),
                "{role}: Flink does not see the keystore"
            );
            let Some(init) = pod["initContainers"]
                .as_array()
                .and_then(|a| a.iter().find(|c| c["name"] == "keystore"))
            else {
                panic!("no keystore init container")
            };
            assert!(
                has(&init["volumeMounts"], "keystore", KEYSTORE_DIR),
                "{role}: init container writes elsewhere"
            );
            let script = init["command"][2].as_str().unwrap_or_default();
            assert!(
                script.contains(&format!("-out {store}")),
                "{role}: {script}"
            );
            assert!(
                script.contains(&format!("-passout pass:{password}")),
                "{role}"
            );
            assert!(
                script.contains(&format!("-fingerprint -sha1 | cut -d= -f2 > {fingerprint}")),
                "{role}: {script}"
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
            assert_eq!(vol("serving-cert")["secret"]["secretName"], INTERNAL_TLS);
            assert_eq!(vol("keystore")["emptyDir"]["medium"], "Memory");
        }
        let svc = objs
            .iter()
            .find(|o| o["kind"] == "Service" && o["metadata"]["name"] == INTERNAL_TLS_SERVICE)
            .cloned()
            .unwrap_or_default();
        assert_eq!(
            svc["metadata"]["annotations"]["service.beta.openshift.io/serving-cert-secret-name"],
            INTERNAL_TLS
        );
        // REST stays plain, and the declaration says so and why.
        assert_eq!(conf["security.ssl.rest.enabled"], "false");
        let hops = FLINK.tls(&m);
        assert!(hops.iter().any(|h| h.tls && h.ports.contains("6122")));
        let rest = hops.iter().find(|h| h.ports.contains("8081"));
        assert!(rest.is_some_and(|h| !h.tls && h.how.contains("operator")));
    }

    #[test]
    fn zookeeper_mode_needs_a_quorum_and_jobmanagers_need_two() {
        let mut p = Platform::default_ha();
        p.spec.components.flink.config.ha_mode = Some(HaMode::Zookeeper);
        p.spec.components.flink.replicas = Some(1);
        p.spec.components.flink.version = Some("1.12.7".into());
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/flink/config/zookeeperQuorum".to_string()));
        assert!(ptrs.contains(&"/spec/components/flink/replicas".to_string()));
        assert!(ptrs.contains(&"/spec/components/flink/version".to_string()));
    }
}
