//! ClickHouse through the Altinity operator: one shard of replicated tables (ReplicatedMergeTree)
//! coordinated by a ClickHouse Keeper ensemble, both rendered as the operator's CRs.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, PodSpec, Probe, Volume};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Check, Component, ComponentId, Dep, File, Gate, GateKind, Group, HealthCheck, OperatorDefaults,
    TlsHop,
};
use crate::components::spec_pointer;
use crate::crs::{Cr, clickhouse as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resources, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const CHI: &str = "clickhouse";
pub const CHK: &str = "clickhouse-keeper";
pub const CLUSTER: &str = "main";
/// Client ports: HTTPS and the native protocol over TLS.
pub const HTTPS_PORT: u16 = 8443;
pub const NATIVE_TLS_PORT: u16 = 9440;
/// Replication fetches, HTTPS on the port the operator declares as `interserver`.
pub const INTERSERVER_PORT: u16 = 9009;
/// Keeper's client port over TLS; the plain 2181 is removed.
pub const KEEPER_TLS_PORT: u16 = 9281;
/// Keeper's Raft port, set explicitly through the host template [`KEEPER_HOST_TEMPLATE`] (the
/// operator's own default is 9444) and opened between Keeper peers by the network policies.
pub const KEEPER_RAFT_PORT: u16 = 9234;
pub const KEEPER_HOST_TEMPLATE: &str = "keeper-host";
/// Serving certificates of the installation's Service and of the Keeper's client Service.
const TLS_SECRET: &str = "clickhouse-tls";
const KEEPER_TLS_SECRET: &str = "clickhouse-keeper-tls";
/// The operator's value for "remove this element from the merged configuration".
const REMOVED: &str = "_removed_";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ClickhouseConfig {
    /// Shards (default 1); `replicas` is the replica count of each shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<u32>,
    /// ClickHouse Keeper members (default 3 in `ha`, 1 in `dev`): a Raft quorum, odd and ≥ 3 in `ha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keepers: Option<u32>,
    /// Keeper image (default `clickhouse/clickhouse-keeper:25.3`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeper_image: Option<String>,
    /// Storage per Keeper member (default 10Gi).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keeper_storage: Option<String>,
}

fn cfg<'a>(m: &'a Model) -> &'a ClickhouseConfig {
    &m.platform.spec.components.clickhouse.config
}

pub fn keepers(m: &Model) -> u32 {
    cfg(m).keepers.unwrap_or(if m.ha() { 3 } else { 1 })
}

/// The installation's client Service (named by the service template, as the operator would).
pub fn service_host(m: &Model) -> String {
    format!(
        "clickhouse-{CHI}.{}.svc",
        m.get(ComponentId::Clickhouse).namespace
    )
}

fn keeper_host(m: &Model) -> String {
    format!(
        "keeper-{CHK}.{}.svc",
        m.get(ComponentId::Clickhouse).namespace
    )
}

/// A Service template carrying the serving-certificate annotation: the operator creates the
/// Service from it and OpenShift's service CA issues the certificate for its name.
fn cert_service(name: &str, secret: &str, ports: &[(&str, u16)]) -> cr::ServiceTemplate {
    use k8s_openapi::api::core::v1::{ServicePort, ServiceSpec};
    cr::ServiceTemplate {
        name: "service".into(),
        generate_name: name.into(),
        metadata: cr::ServiceTemplateMeta {
            annotations: k8s::serving_cert_annotation(secret),
        },
        spec: ServiceSpec {
            type_: Some("ClusterIP".into()),
            ports: Some(
                ports
                    .iter()
                    .map(|(n, p)| ServicePort {
                        name: Some((*n).into()),
                        port: i32::from(*p),
                        protocol: Some("TCP".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        },
    }
}

/// Joins the service CA (serving certificates: replicas, Keeper, ODF's S3) and the object
/// store's CA (MinIO's certificate, issued by deploy) into the one file `openSSL.client.caConfig`
/// takes.
fn ca_bundle_container(image: &str, dir: &str) -> Container {
    Container {
        name: "ca-bundle".into(),
        image: Some(image.into()),
        command: Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            format!(
                "cat {dir}/ca-src/{} {dir}/ca-src/{} > {dir}/ca/ca-bundle.crt",
                k8s::TRUST_SERVICE_CA,
                k8s::TRUST_OBJECT_STORE_CA
            ),
        ]),
        resources: Some(k8s::resources(&Resources {
            cpu_request: "10m".into(),
            memory_request: "16Mi".into(),
            cpu_limit: "100m".into(),
            memory_limit: "64Mi".into(),
        })),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            k8s::mount("ca-src", &format!("{dir}/ca-src"), true),
            k8s::mount("ca", &format!("{dir}/ca"), false),
        ]),
        ..Default::default()
    }
}

pub struct Clickhouse;
pub static CLICKHOUSE: Clickhouse = Clickhouse;

impl Component for Clickhouse {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the server writes preprocessed configuration and `/var/log` beside its data"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, _m: &Model) -> crate::component::Backup {
        crate::component::Backup::None(
            "its tables are replicated by ClickHouse Keeper; the operator has no backup CR",
        )
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Clickhouse
    }
    fn summary(&self) -> &'static str {
        "ClickHouse (Altinity operator): 1 shard × 3 replicas on a 3-member ClickHouse Keeper ensemble, backups to the object store"
    }
    fn phase(&self) -> u8 {
        5
    }
    fn dir(&self) -> &'static str {
        "10-clickhouse"
    }
    fn group(&self) -> Group {
        Group::Analytics
    }
    fn deps(&self) -> &'static [Dep] {
        &[Dep::ObjectStore]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        Some(OperatorDefaults {
            display: "Altinity ClickHouse Operator",
            package: "clickhouse",
            channel: "latest",
            source: "community-operators",
            head: "0.27.2",
        })
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 0, 30);
        let image = "clickhouse/clickhouse-server:25.3";
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "100Gi",
                requests: ("2", "8Gi"),
                limits: ("4", "8Gi"),
                image,
                version: "25.3",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "10Gi",
                requests: ("500m", "2Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "25.3",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "operator-install.yaml",
            "clickhouse-keeper.yaml",
            "clickhouse-installation.yaml",
        ]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["clickhouse-backups"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = format!("{}/config", spec_pointer(self.id()));
        let k = keepers(m);
        if m.ha() && (k < 3 || k.is_multiple_of(2)) {
            out.push(Issue::new(
                format!("{base}/keepers"),
                format!("{k} Keeper members cannot keep a majority quorum through a failure (expected an odd count ≥ 3 in the ha profile)"),
            ));
        } else if k == 0 {
            out.push(Issue::new(
                format!("{base}/keepers"),
                "0 Keeper members (expected ≥ 1)",
            ));
        }
        if let Some(q) = &cfg(m).keeper_storage
            && let Err(e) = crate::units::parse_quantity(q)
        {
            out.push(Issue::new(format!("{base}/keeperStorage"), e));
        }
        if cfg(m).shards == Some(0) {
            out.push(Issue::new(
                format!("{base}/shards"),
                "0 shards (expected ≥ 1)",
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let c = cfg(m);
        let os = &m.object_store;
        let k = keepers(m);
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            k8s::objects_file(
                format!("{dir}/clickhouse-keeper.yaml"),
                format!(
                    "ClickHouse Keeper: {k} members (Raft), PDB maxUnavailable 1; clients on TLS port {KEEPER_TLS_PORT} of {} (service-CA certificate in Secret {KEEPER_TLS_SECRET}).",
                    keeper_host(m)
                ),
                vec![k8s::to_value(&keeper_installation(m))],
            ),
            k8s::objects_file(
                format!("{dir}/clickhouse-installation.yaml"),
                format!(
                    "ClickHouse: {} shard(s) × {} replicas on Keeper {}:{KEEPER_TLS_PORT} (TLS); clients on {} HTTPS {HTTPS_PORT} and native TLS {NATIVE_TLS_PORT} (service-CA certificate in Secret {TLS_SECRET}); backups to s3://{}/ (credentials from Secret {}).",
                    c.shards.unwrap_or(1),
                    r.replicas,
                    keeper_host(m),
                    service_host(m),
                    os.bucket("clickhouse-backups"),
                    os.credentials_secret
                ),
                vec![k8s::to_value(&installation(m))],
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![
            Gate::new(GateKind::ClickHouseKeeperInstallation, ns, CHK),
            Gate::new(GateKind::ClickHouseInstallation, ns, CHI),
        ]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "replication queue and read-only replicas (expect none read-only)".into(),
            check: Check::Oc(format!(
                "oc exec -n {ns} chi-{CHI}-{CLUSTER}-0-0-0 -- clickhouse-client --secure --port {NATIVE_TLS_PORT} --accept-invalid-certificate -q \"SELECT database, table, is_readonly, absolute_delay, queue_size FROM system.replicas\""
            )),
        }]
    }

    fn tls(&self, m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                format!("{HTTPS_PORT} (HTTPS), {NATIVE_TLS_PORT} (native TLS)"),
                true,
                format!(
                    "service-CA certificate for `{}` (Secret `{TLS_SECRET}`, annotated on the operator's Service template); `http_port`/`tcp_port` removed and the cluster `insecure: \"no\"`, so no plain listener; the operator's own queries use HTTPS {HTTPS_PORT} (its `auto` scheme) but skip certificate verification unless its configuration sets `clickhouse.access.rootCA`",
                    service_host(m)
                ),
            ),
            TlsHop::new(
                format!(
                    "{NATIVE_TLS_PORT} (distributed queries), {INTERSERVER_PORT} (replication)"
                ),
                true,
                "cluster `secure: \"yes\"` (remote servers on the TLS port) and `interserver_https_port` with `interserver_http_port` removed; the peer's chain is verified against the service CA but not its host name: the operator addresses replicas by per-replica Service names that one service-CA certificate cannot cover",
            ),
            TlsHop::new(
                format!("{KEEPER_TLS_PORT} (Keeper clients)"),
                true,
                format!(
                    "Keeper `tcp_port_secure` with the service-CA certificate of `{}` (Secret `{KEEPER_TLS_SECRET}`), plain `tcp_port` removed; servers connect with `secure` and verify the chain against the service CA (host names are not checked, as above)",
                    keeper_host(m)
                ),
            ),
            TlsHop::new(
                format!("{KEEPER_RAFT_PORT} (Keeper Raft)"),
                false,
                "plain: the Altinity operator renders the Raft configuration without `secure`, and Raft TLS would need certificates for every member's per-host Service; admitted only between ClickHouse pods",
            ),
            TlsHop::new(
                format!("{} (metrics)", crate::monitoring::CLICKHOUSE_METRICS_PORT.1),
                false,
                "plain HTTP Prometheus endpoint (`prometheus/port`), admitted only from the monitoring namespaces; it serves metrics, no data",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let k = keepers(m);
        vec![
            format!("{} replicas per shard on different nodes: ReplicatedMergeTree tables stay readable and writable with {} replica(s) lost", r.replicas, r.replicas.saturating_sub(1)),
            format!("{k} Keeper members tolerate {} failure(s); without a Keeper majority replicated tables turn read-only (reads continue)", k.saturating_sub(k8s::majority(k))),
            "replication is asynchronous: use insert_quorum=2 (or insert_quorum='auto') for RPO 0 on acknowledged inserts".into(),
            "PodDisruptionBudgets (maxUnavailable 1) are created by the operator for both installations".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        let shards = cfg(m).shards.unwrap_or(1);
        let mut tiers: Vec<Tier> = (0..shards)
            .map(|s| {
                Tier::replicated(
                    format!("shard {s} replicas"),
                    r.replicas,
                    Recovery::NodeRepair,
                )
                .with_max_unavailable(1)
            })
            .collect();
        // Without a Keeper majority replicated tables turn read-only: writes are down.
        tiers.push(Tier::quorum("keeper", keepers(m)).with_max_unavailable(1));
        Redundancy {
            tiers,
            journey: None,
        }
    }
}

/// Where the Keeper image reads its configuration.
const KEEPER_DIR: &str = "/etc/clickhouse-keeper";
/// Where the server image reads its configuration.
const SERVER_DIR: &str = "/etc/clickhouse-server";

/// What differs between the two pod templates, the server's and the Keeper's.
struct Pod<'a> {
    /// The container's name; the server's (`clickhouse`) alone gets the CA bundle and the
    /// object store's credentials.
    name: &'a str,
    image: String,
    resources: Resources,
    selector: BTreeMap<String, String>,
    /// The first port is the one liveness probes.
    ports: Vec<(&'a str, u16)>,
    readiness: Probe,
    /// Where the image reads its configuration: certificates and CA go beside it.
    dir: &'a str,
    /// Secret of the serving certificate.
    cert: &'a str,
}

impl Pod<'_> {
    fn is_server(&self) -> bool {
        self.name == "clickhouse"
    }

    fn container(&self, m: &Model) -> Container {
        let probe_port = self.ports[0].0.to_string();
        let mut mounts = vec![k8s::mount("tls", &format!("{}/tls", self.dir), true)];
        if self.is_server() {
            mounts.push(k8s::mount("ca", &format!("{}/ca", self.dir), true));
        }
        Container {
            name: self.name.into(),
            image: Some(self.image.clone()),
            resources: Some(k8s::resources(&self.resources)),
            security_context: Some(k8s::container_security(k8s::RootFs::Writable)),
            ports: Some(
                self.ports
                    .iter()
                    .map(|(n, p)| k8s::container_port(n, i32::from(*p)))
                    .collect(),
            ),
            liveness_probe: Some(k8s::tcp_probe(&probe_port, 10, 6)),
            readiness_probe: Some(self.readiness.clone()),
            env: self
                .is_server()
                .then(|| k8s::s3_credentials(&m.object_store.credentials_secret)),
            volume_mounts: Some(mounts),
            ..Default::default()
        }
    }

    fn volumes(&self, m: &Model) -> Vec<Volume> {
        let mut v = vec![k8s::secret_volume("tls", self.cert)];
        if self.is_server() {
            v.push(k8s::ca_trust_volume(m, "ca-src"));
            v.push(k8s::empty_dir_volume("ca"));
        }
        v
    }

    fn template(&self, m: &Model) -> cr::PodTemplate {
        cr::PodTemplate {
            name: "pod".into(),
            spec: PodSpec {
                affinity: Some(k8s::anti_affinity(&self.selector)),
                topology_spread_constraints: Some(k8s::zone_spread(&self.selector)),
                security_context: Some(k8s::pod_security()),
                init_containers: self
                    .is_server()
                    .then(|| vec![ca_bundle_container(&self.image, self.dir)]),
                containers: vec![self.container(m)],
                volumes: Some(self.volumes(m)),
                ..Default::default()
            },
        }
    }
}

fn volume_claim(m: &Model, size: &str) -> cr::VolumeClaimTemplate {
    cr::VolumeClaimTemplate {
        name: "data".into(),
        spec: k8s::pvc_spec(&m.rwo_class, size, "ReadWriteOnce"),
    }
}

fn template_refs(host_template: Option<&str>) -> cr::Defaults {
    cr::Defaults {
        templates: cr::TemplateRefs {
            pod_template: "pod".into(),
            data_volume_claim_template: "data".into(),
            service_template: Some("service".into()),
            host_template: host_template.map(str::to_string),
        },
    }
}

/// The serving certificate and key, mounted under `dir`.
fn server_tls(dir: &str) -> [(String, serde_json::Value); 2] {
    [
        (
            "openSSL/server/certificateFile".to_string(),
            format!("{dir}/tls/tls.crt").into(),
        ),
        (
            "openSSL/server/privateKeyFile".to_string(),
            format!("{dir}/tls/tls.key").into(),
        ),
    ]
}

fn keeper_settings() -> BTreeMap<String, serde_json::Value> {
    let mut settings = BTreeMap::from([
        (
            "keeper_server/tcp_port_secure".to_string(),
            KEEPER_TLS_PORT.into(),
        ),
        ("keeper_server/tcp_port".to_string(), REMOVED.into()),
    ]);
    settings.extend(server_tls(KEEPER_DIR));
    settings
}

fn keeper_pod(m: &Model) -> cr::PodTemplate {
    Pod {
        name: "clickhouse-keeper",
        image: cfg(m)
            .keeper_image
            .clone()
            .unwrap_or_else(|| "clickhouse/clickhouse-keeper:25.3".into()),
        resources: Resources {
            cpu_request: "250m".into(),
            memory_request: "512Mi".into(),
            cpu_limit: "1".into(),
            memory_limit: "1Gi".into(),
        },
        selector: BTreeMap::from([(
            "clickhouse-keeper.altinity.com/chk".to_string(),
            CHK.to_string(),
        )]),
        // The operator adds its own `zk` and `raft` ports.
        ports: vec![("zk-secure", KEEPER_TLS_PORT)],
        readiness: k8s::tcp_probe("zk-secure", 5, 3),
        dir: KEEPER_DIR,
        cert: KEEPER_TLS_SECRET,
    }
    .template(m)
}

/// The Raft port, explicit: the operator's default (9444) is not the one the peer policies
/// open; both read KEEPER_RAFT_PORT.
fn keeper_host_template() -> cr::HostTemplate {
    cr::HostTemplate {
        name: KEEPER_HOST_TEMPLATE.into(),
        port_distribution: vec![cr::PortDistribution {
            type_: "Unspecified",
        }],
        spec: cr::HostSpec {
            raft_port: KEEPER_RAFT_PORT,
        },
    }
}

fn keeper_installation(m: &Model) -> Cr<cr::InstallationSpec> {
    Cr {
        api_version: cr::CHK.0,
        kind: cr::CHK.1,
        metadata: k8s::meta(m, ComponentId::Clickhouse, CHK, CHK),
        spec: cr::InstallationSpec {
            defaults: template_refs(Some(KEEPER_HOST_TEMPLATE)),
            configuration: cr::Configuration {
                zookeeper: None,
                settings: keeper_settings(),
                files: BTreeMap::new(),
                clusters: vec![cr::Cluster {
                    name: "keeper".into(),
                    // Keeps the Raft majority through a drain.
                    pdb_max_unavailable: 1,
                    secure: None,
                    insecure: None,
                    layout: cr::Layout {
                        shards_count: None,
                        replicas_count: keepers(m),
                    },
                }],
            },
            templates: cr::Templates {
                pod_templates: vec![keeper_pod(m)],
                volume_claim_templates: vec![volume_claim(
                    m,
                    cfg(m).keeper_storage.as_deref().unwrap_or("10Gi"),
                )],
                service_templates: vec![cert_service(
                    &format!("keeper-{CHK}"),
                    KEEPER_TLS_SECRET,
                    &[("zk-secure", KEEPER_TLS_PORT)],
                )],
                host_templates: vec![keeper_host_template()],
            },
        },
    }
}

/// `config.d/backups.xml`: the object store's backup bucket, keys from the environment.
fn backups_xml(m: &Model) -> String {
    let os = &m.object_store;
    format!(
        "<clickhouse>\n  <s3>\n    <backups>\n      <endpoint>{}/{}/</endpoint>\n      <access_key_id from_env=\"AWS_ACCESS_KEY_ID\"/>\n      <secret_access_key from_env=\"AWS_SECRET_ACCESS_KEY\"/>\n      <region>{}</region>\n    </backups>\n  </s3>\n</clickhouse>\n",
        os.endpoint.trim_end_matches('/'),
        os.bucket("clickhouse-backups"),
        os.region
    )
}

fn server_settings() -> BTreeMap<String, serde_json::Value> {
    let metrics = crate::monitoring::CLICKHOUSE_METRICS_PORT;
    // ClickHouse's own Prometheus endpoint, scraped by monitoring.yaml's PodMonitor.
    let mut settings = BTreeMap::from([
        ("prometheus/endpoint".to_string(), "/metrics".into()),
        ("prometheus/port".to_string(), metrics.1.into()),
        ("prometheus/metrics".to_string(), true.into()),
        ("prometheus/events".to_string(), true.into()),
        ("prometheus/asynchronous_metrics".to_string(), true.into()),
        ("https_port".to_string(), HTTPS_PORT.into()),
        ("tcp_port_secure".to_string(), NATIVE_TLS_PORT.into()),
        // The image's config.xml opens the plain listeners; `insecure: "no"` only stops
        // the operator from declaring them.
        ("http_port".to_string(), REMOVED.into()),
        ("tcp_port".to_string(), REMOVED.into()),
        ("interserver_http_port".to_string(), REMOVED.into()),
        (
            "interserver_https_port".to_string(),
            INTERSERVER_PORT.into(),
        ),
        // Outgoing TLS (replicas, Keeper, S3) verifies the peer's chain; stated here so a
        // change of the image's defaults cannot turn verification off.
        (
            "openSSL/client/caConfig".to_string(),
            format!("{SERVER_DIR}/ca/ca-bundle.crt").into(),
        ),
        (
            "openSSL/client/verificationMode".to_string(),
            "relaxed".into(),
        ),
        (
            "openSSL/client/invalidCertificateHandler/name".to_string(),
            "RejectCertificateHandler".into(),
        ),
    ]);
    settings.extend(server_tls(SERVER_DIR));
    settings
}

fn server_pod(m: &Model) -> cr::PodTemplate {
    let r = m.get(ComponentId::Clickhouse);
    let metrics = crate::monitoring::CLICKHOUSE_METRICS_PORT;
    Pod {
        name: "clickhouse",
        image: r.image.clone(),
        resources: r.resources.clone(),
        selector: BTreeMap::from([("clickhouse.altinity.com/chi".to_string(), CHI.to_string())]),
        ports: vec![
            ("https", HTTPS_PORT),
            ("secureclient", NATIVE_TLS_PORT),
            ("interserver", INTERSERVER_PORT),
            (metrics.0, metrics.1 as u16),
        ],
        readiness: k8s::http_probe("/ping", "https", "HTTPS", 5, 3),
        dir: SERVER_DIR,
        cert: TLS_SECRET,
    }
    .template(m)
}

fn installation(m: &Model) -> Cr<cr::InstallationSpec> {
    let r = m.get(ComponentId::Clickhouse);
    Cr {
        api_version: cr::CHI.0,
        kind: cr::CHI.1,
        metadata: k8s::meta(m, ComponentId::Clickhouse, CHI, CHI),
        spec: cr::InstallationSpec {
            defaults: template_refs(None),
            configuration: cr::Configuration {
                zookeeper: Some(cr::Zookeeper {
                    nodes: vec![cr::ZkNode {
                        host: keeper_host(m),
                        port: KEEPER_TLS_PORT,
                        secure: Some("yes".into()),
                    }],
                }),
                settings: server_settings(),
                files: BTreeMap::from([("config.d/backups.xml".to_string(), backups_xml(m))]),
                clusters: vec![cr::Cluster {
                    name: CLUSTER.into(),
                    pdb_max_unavailable: 1,
                    secure: Some("yes".into()),
                    insecure: Some("no".into()),
                    layout: cr::Layout {
                        shards_count: Some(cfg(m).shards.unwrap_or(1)),
                        replicas_count: r.replicas,
                    },
                }],
            },
            templates: cr::Templates {
                pod_templates: vec![server_pod(m)],
                volume_claim_templates: vec![volume_claim(m, &r.storage)],
                service_templates: vec![cert_service(
                    &format!("clickhouse-{CHI}"),
                    TLS_SECRET,
                    &[("https", HTTPS_PORT), ("secureclient", NATIVE_TLS_PORT)],
                )],
                host_templates: vec![],
            },
        },
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    template::fill(
        README,
        &[
            ("CLUSTER", &CLUSTER),
            (
                "s3_endpoint",
                &m.object_store.endpoint.trim_end_matches('/'),
            ),
            (
                "backup_bucket",
                &m.object_store.bucket("clickhouse-backups"),
            ),
            ("s3_secret", &m.object_store.credentials_secret),
            ("host", &service_host(m)),
            ("HTTPS_PORT", &HTTPS_PORT),
            ("NATIVE_TLS_PORT", &NATIVE_TLS_PORT),
            ("INTERSERVER_PORT", &INTERSERVER_PORT),
            ("KEEPER_TLS_PORT", &KEEPER_TLS_PORT),
            ("KEEPER_RAFT_PORT", &KEEPER_RAFT_PORT),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;

    #[test]
    fn default_ha_renders_keeper_and_installation() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let objs: Vec<_> = crate::component::rendered_objects(&CLICKHOUSE, &m);
        let chk = objs
            .iter()
            .find(|o| o["kind"] == "ClickHouseKeeperInstallation");
        let chi = objs.iter().find(|o| o["kind"] == "ClickHouseInstallation");
        assert_eq!(
            chk.map(
                |o| o["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"].clone()
            ),
            Some(3.into())
        );
        assert_eq!(
            chi.map(
                |o| o["spec"]["configuration"]["clusters"][0]["layout"]["replicasCount"].clone()
            ),
            Some(3.into())
        );
    }

    fn installation(kind: &str) -> serde_json::Value {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        crate::component::rendered_objects(&CLICKHOUSE, &m)
            .into_iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind}"))
    }

    /// The servers listen on the TLS ports only and present the service-CA certificate; taking
    /// out any of these settings (or the cluster flags) must fail here.
    #[test]
    fn servers_listen_on_tls_ports_only() {
        let chi = installation("ClickHouseInstallation");
        let conf = &chi["spec"]["configuration"];
        let settings = &conf["settings"];
        assert_eq!(settings["https_port"], 8443);
        assert_eq!(settings["tcp_port_secure"], 9440);
        assert_eq!(settings["interserver_https_port"], 9009);
        for plain in ["http_port", "tcp_port", "interserver_http_port"] {
            assert_eq!(settings[plain], "_removed_", "{plain}");
        }
        assert_eq!(
            settings["openSSL/server/certificateFile"],
            "/etc/clickhouse-server/tls/tls.crt"
        );
        assert_eq!(
            settings["openSSL/server/privateKeyFile"],
            "/etc/clickhouse-server/tls/tls.key"
        );
        assert_eq!(settings["openSSL/client/verificationMode"], "relaxed");
        assert_eq!(
            settings["openSSL/client/caConfig"],
            "/etc/clickhouse-server/ca/ca-bundle.crt"
        );
        let cluster = &conf["clusters"][0];
        assert_eq!(cluster["secure"], "yes");
        assert_eq!(cluster["insecure"], "no");
        let svc = &chi["spec"]["templates"]["serviceTemplates"][0];
        assert_eq!(
            chi["spec"]["defaults"]["templates"]["serviceTemplate"],
            svc["name"]
        );
        assert_eq!(
            svc["metadata"]["annotations"][k8s::SERVING_CERT_ANNOTATION],
            TLS_SECRET
        );
        let ports: Vec<_> = svc["spec"]["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["port"].as_u64().unwrap_or(0))
            .collect();
        assert_eq!(ports, [8443, 9440]);
        let pod = &chi["spec"]["templates"]["podTemplates"][0]["spec"];
        let c = &pod["containers"][0];
        assert_eq!(c["readinessProbe"]["httpGet"]["scheme"], "HTTPS");
        let declared: Vec<_> = c["ports"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| p["containerPort"].as_u64().unwrap_or(0))
            .collect();
        assert!(
            !declared.contains(&8123) && !declared.contains(&9000),
            "{declared:?}"
        );
        assert!(
            pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v["secret"]["secretName"] == TLS_SECRET)
        );
    }

    /// Servers reach Keeper over TLS, and Keeper serves only its TLS client port.
    #[test]
    fn keeper_clients_use_tls() {
        let chi = installation("ClickHouseInstallation");
        let node = &chi["spec"]["configuration"]["zookeeper"]["nodes"][0];
        assert_eq!(node["port"], 9281);
        assert_eq!(node["secure"], "yes");
        let chk = installation("ClickHouseKeeperInstallation");
        let settings = &chk["spec"]["configuration"]["settings"];
        assert_eq!(settings["keeper_server/tcp_port_secure"], 9281);
        assert_eq!(settings["keeper_server/tcp_port"], "_removed_");
        assert_eq!(
            settings["openSSL/server/certificateFile"],
            "/etc/clickhouse-keeper/tls/tls.crt"
        );
        let svc = &chk["spec"]["templates"]["serviceTemplates"][0];
        assert_eq!(
            svc["metadata"]["annotations"][k8s::SERVING_CERT_ANNOTATION],
            KEEPER_TLS_SECRET
        );
        assert_eq!(svc["generateName"], format!("keeper-{CHK}"));
        assert!(
            node["host"]
                .as_str()
                .is_some_and(|h| h.starts_with(&format!("keeper-{CHK}.")))
        );
    }

    #[test]
    fn only_raft_and_metrics_are_declared_plain() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let plain: Vec<_> = CLICKHOUSE
            .tls(&m)
            .into_iter()
            .filter(|h| !h.tls)
            .map(|h| h.ports)
            .collect();
        assert_eq!(plain, ["9234 (Keeper Raft)", "9363 (metrics)"]);
    }

    /// The operator's default Raft port (9444) is not what the peer policies open: the CHK
    /// names its Raft port through a host template every host uses.
    #[test]
    fn keeper_raft_port_is_explicit_on_every_host() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let chk = CLICKHOUSE
            .render(&m)
            .iter()
            .flat_map(|f| f.objects().to_vec())
            .find(|o| o["kind"] == cr::CHK.1)
            .expect("rendered");
        assert_eq!(
            chk["spec"]["defaults"]["templates"]["hostTemplate"],
            KEEPER_HOST_TEMPLATE
        );
        let t = &chk["spec"]["templates"]["hostTemplates"][0];
        assert_eq!(t["name"], KEEPER_HOST_TEMPLATE);
        assert_eq!(t["portDistribution"][0]["type"], "Unspecified");
        assert_eq!(t["spec"]["raftPort"], KEEPER_RAFT_PORT);
    }

    #[test]
    fn even_keeper_count_is_reported() {
        let mut p = Platform::default_ha();
        p.spec.components.clickhouse.config.keepers = Some(4);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/clickhouse/config/keepers".to_string()));
    }
}
