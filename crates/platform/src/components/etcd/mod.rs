//! etcd as a StatefulSet we render ourselves: the CoreOS etcd operator is archived and no
//! maintained etcd operator is on OperatorHub, while a static 3-member StatefulSet is what the
//! etcd project documents. TLS comes from a private CA that `datalyptica deploy` creates and
//! keeps in a Secret: with `--trusted-ca-file` etcd requires and verifies client certificates on
//! both listeners, which OpenShift's service CA (server-auth serving certificates only) cannot
//! give, and no extra operator is needed.

mod backup;
mod exposure;
mod monitoring;

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvVar, EnvVarSource, ObjectFieldSelector, PersistentVolumeClaim,
    PersistentVolumeClaimSpec, PersistentVolumeClaimStatus, PodSpec, PodTemplateSpec, Service,
    ServiceAccount, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Check, Component, ComponentId, Content, DeepProbe, Dep, Exec, File, Gate, Group, HealthCheck,
    OperatorDefaults, PodRef, TlsHop,
};
use crate::components::spec_pointer;
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::Profile;
use crate::template;
use crate::validate::Issue;

pub const NAME: &str = "etcd";
pub const HEADLESS: &str = "etcd-headless";
/// The private CA (`tls.crt`, `tls.key`) deploy issues the certificates below from.
pub const CA_SECRET: &str = "etcd-ca";
/// The members' certificate (`tls.crt`, `tls.key`, `ca.crt`): server and client auth, for every
/// member name, used on the client and the peer listener and when members dial each other.
pub const MEMBER_TLS: &str = "etcd-member-tls";
/// The clients' certificate (client auth only): the backup CronJob and any other etcd client.
pub const CLIENT_TLS: &str = "etcd-client-tls";
/// Where the member certificate is mounted in the etcd pods.
pub const MEMBER_DIR: &str = "/etc/etcd/tls";
/// Where clients mount [`CLIENT_TLS`].
pub const CLIENT_DIR: &str = "/etc/etcd/client";

/// The certificates deploy issues from [`CA_SECRET`], by Secret name.
pub fn certificates(m: &Model) -> Vec<(String, crate::security::CertRequest)> {
    let ns = &m.get(ComponentId::Etcd).namespace;
    let replicas = m.get(ComponentId::Etcd).replicas;
    let mut dns = vec![
        format!("{HEADLESS}.{ns}.svc"),
        format!("*.{HEADLESS}.{ns}.svc"),
        format!("{HEADLESS}.{ns}.svc.cluster.local"),
        format!("*.{HEADLESS}.{ns}.svc.cluster.local"),
    ];
    // Wildcards match one label; the exact member names keep verifiers that skip wildcards happy.
    dns.extend((0..replicas).map(|i| format!("{NAME}-{i}.{HEADLESS}.{ns}.svc")));
    dns.push("localhost".into());
    vec![
        (
            MEMBER_TLS.into(),
            crate::security::CertRequest {
                common_name: format!("{NAME}-member"),
                dns_names: dns,
                server: true,
                client: true,
            },
        ),
        (
            CLIENT_TLS.into(),
            crate::security::CertRequest {
                common_name: format!("{NAME}-client"),
                dns_names: vec![],
                server: false,
                client: true,
            },
        ),
    ]
}

/// etcdctl's TLS flags for a certificate Secret mounted at `dir` (keys `ca.crt`, `tls.crt`, `tls.key`).
pub fn etcdctl_tls_flags(dir: &str) -> [String; 3] {
    [
        format!("--cacert={dir}/ca.crt"),
        format!("--cert={dir}/tls.crt"),
        format!("--key={dir}/tls.key"),
    ]
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EtcdConfig {
    /// `--heartbeat-interval` in ms (default 50; about the round-trip time between nodes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_milliseconds: Option<u32>,
    /// `--election-timeout` in ms (default 500; at least 10 × heartbeat).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_timeout_milliseconds: Option<u32>,
    /// `--quota-backend-bytes` (default 2 GiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quota_backend_bytes: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EtcdTiming {
    pub heartbeat_ms: u32,
    pub election_ms: u32,
}

pub fn timing(m: &Model) -> EtcdTiming {
    let c = &m.platform.spec.components.etcd.config;
    EtcdTiming {
        // 50/500 keeps etcd's ratios (heartbeat ≈ RTT, election = 10 × heartbeat) for an
        // in-datacenter network and measured leader-kill RTO p95 1.44 s in the lab (100/1000:
        // up to 2 s). Raise both on high-latency or stretched clusters.
        heartbeat_ms: c.heartbeat_milliseconds.unwrap_or(50),
        election_ms: c.election_timeout_milliseconds.unwrap_or(500),
    }
}

/// What the lab measured for the default timing (crates/lab: `cargo run --release -p datalyptica-lab --example bench 10`).
pub const LAB_MEASURED: &str = "lab-measured with heartbeat 50 ms / election 500 ms (`datalyptica drill etcd`, 3 members, 10 trials): leader kill RTO p50 0.88 s / p95 1.44 s, 0 acknowledged writes lost";

pub struct Etcd;
pub static ETCD: Etcd = Etcd;

impl Component for Etcd {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the image writes outside its volumes"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        Some("etcd-backups")
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        None
    }

    fn backup(&self, m: &Model) -> crate::component::Backup {
        backup::backup(m)
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Etcd
    }
    fn summary(&self) -> &'static str {
        "etcd key-value store: a 3-member Raft cluster with peer and client TLS, rendered as a StatefulSet"
    }
    fn phase(&self) -> u8 {
        1
    }
    fn dir(&self) -> &'static str {
        "03-etcd-ha"
    }
    fn group(&self) -> Group {
        Group::Core
    }
    fn deps(&self) -> &'static [Dep] {
        &[]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn quorum(&self) -> bool {
        true
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 0, 5);
        let image = "quay.io/coreos/etcd:v3.5.21";
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "10Gi",
                requests: ("500m", "1Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "3.5",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "2Gi",
                requests: ("100m", "256Mi"),
                limits: ("500m", "512Mi"),
                image,
                version: "3.5",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &["etcd-cluster.yaml"]
    }
    fn buckets(&self) -> &'static [&'static str] {
        // Snapshots of the `etcd-backup` CronJob (crate::backup).
        &["etcd-backups"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let t = timing(m);
        let base = format!("{}/config", spec_pointer(self.id()));
        if t.heartbeat_ms == 0 || t.election_ms < 5 * t.heartbeat_ms {
            out.push(Issue::new(
                format!("{base}/electionTimeoutMilliseconds"),
                format!("election timeout {} ms is too close to the heartbeat {} ms (expected ≥ 5 × heartbeat, etcd recommends 10 ×)", t.election_ms, t.heartbeat_ms),
            ));
        }
        if t.election_ms > 50_000 {
            out.push(Issue::new(
                format!("{base}/electionTimeoutMilliseconds"),
                "etcd refuses election timeouts above 50000 ms",
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let t = timing(m);
        let dir = self.dir();
        vec![
            File {
                path: format!("{dir}/etcd-cluster.yaml"),
                content: Content::Objects {
                    header: format!(
                        "etcd: {} members, heartbeat {} ms, election timeout {} ms, peer and client TLS with client certificates from deploy's etcd CA.",
                        r.replicas, t.heartbeat_ms, t.election_ms
                    ),
                    objects: objects(m),
                },
            },
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::statefulset_rolled_out(
            ns,
            NAME,
            format!(
                "{} members ready and a leader elected",
                m.get(self.id()).replicas
            ),
        )]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "members, leader and raft index of every endpoint".into(),
            check: Check::Exec {
                exec: Exec::new(
                    ns,
                    PodRef::Name(format!("{NAME}-0")),
                    None,
                    std::iter::once("etcdctl".to_string())
                        .chain(etcdctl_tls_flags(MEMBER_DIR))
                        .chain([format!(
                            "--endpoints=https://{NAME}-0.{HEADLESS}.{ns}.svc:2379"
                        )])
                        .chain(
                            ["endpoint", "status", "--cluster", "-w", "table"].map(str::to_string),
                        ),
                ),
                probe: Some(DeepProbe::Etcd),
            },
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "2379, 2380 (client, peer)",
                true,
                "certificates from deploy's etcd CA (`etcd-ca`): members verify each other and every client presents a client certificate (`etcd-client-tls`)",
            ),
            TlsHop::new(
                "2381 (metrics, health)",
                false,
                "plain HTTP listener (`--listen-metrics-urls`) for probes and scrapes, admitted only from the monitoring namespaces",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let t = timing(m);
        let mut notes = vec![
            format!(
                "{} members tolerate {} failure(s) (majority {})",
                r.replicas,
                r.replicas.saturating_sub(k8s::majority(r.replicas)),
                k8s::majority(r.replicas)
            ),
            format!(
                "a lost leader is replaced after the election timeout ({} ms) plus one election round",
                t.election_ms
            ),
            format!(
                "PodDisruptionBudget minAvailable {}: a drain never breaks the quorum",
                k8s::majority(r.replicas)
            ),
        ];
        if (t.heartbeat_ms, t.election_ms) == (50, 500) {
            notes.push(LAB_MEASURED.into());
        }
        notes
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Failover, Redundancy, Tier};
        use std::time::Duration;
        let r = m.get(self.id());
        let t = timing(m);
        Redundancy {
            tiers: vec![
                Tier::quorum("members", r.replicas)
                    .with_failover(Failover {
                        active: 1,
                        // Followers wait a randomized timeout in [election, 2 × election).
                        unplanned: Duration::from_millis(
                            u64::from(2 * t.election_ms + t.heartbeat_ms),
                        ),
                        // A stopping leader hands leadership over first.
                        planned: Duration::from_millis(u64::from(t.election_ms)),
                        source: format!(
                            "spec timing: 2 × election timeout {} ms + heartbeat {} ms after a leader loss; a stopping leader transfers leadership within one election timeout",
                            t.election_ms, t.heartbeat_ms
                        ),
                    })
                    .with_min_available(k8s::majority(r.replicas)),
            ],
            journey: None,
        }
    }
}

/// The ServiceAccount, the Services and the StatefulSet, then the budget when there are
/// several members.
fn objects(m: &Model) -> Vec<serde_json::Value> {
    let r = m.get(ComponentId::Etcd);
    let mut objects = vec![
        k8s::to_value(&service_account(m)),
        k8s::to_value(&headless_service(m)),
        k8s::to_value(&client_service(m)),
        k8s::to_value(&statefulset(m)),
    ];
    if let Some(pdb) = k8s::pdb(
        m,
        ComponentId::Etcd,
        NAME,
        NAME,
        &k8s::selector(NAME),
        r.replicas,
        k8s::Budget::KeepQuorum,
    ) {
        objects.push(k8s::to_value(&pdb));
    }
    objects
}

fn service_account(m: &Model) -> ServiceAccount {
    ServiceAccount {
        metadata: k8s::meta(m, ComponentId::Etcd, NAME, NAME),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// The member certificate covers *.etcd-headless.<ns>.svc: every member.
fn headless_service(m: &Model) -> Service {
    let ports = vec![
        k8s::service_port("client", 2379),
        k8s::service_port("peer", 2380),
        k8s::service_port("metrics", 2381),
    ];
    k8s::service(
        m,
        ComponentId::Etcd,
        HEADLESS,
        NAME,
        ports,
        true,
        BTreeMap::new(),
    )
}

fn client_service(m: &Model) -> Service {
    k8s::service(
        m,
        ComponentId::Etcd,
        NAME,
        NAME,
        vec![k8s::service_port("metrics", 2381)],
        false,
        BTreeMap::new(),
    )
}

/// `--initial-cluster`: every member by its name under the headless Service.
fn initial_cluster(m: &Model) -> String {
    let r = m.get(ComponentId::Etcd);
    let ns = &r.namespace;
    let peers: Vec<String> = (0..r.replicas)
        .map(|i| format!("{NAME}-{i}=https://{NAME}-{i}.{HEADLESS}.{ns}.svc:2380"))
        .collect();
    peers.join(",")
}

fn args(m: &Model) -> Vec<String> {
    let ns = &m.get(ComponentId::Etcd).namespace;
    let t = timing(m);
    let c = &m.platform.spec.components.etcd.config;
    vec![
        "--name=$(POD_NAME)".to_string(),
        "--data-dir=/var/lib/etcd/data".into(),
        "--listen-peer-urls=https://0.0.0.0:2380".into(),
        "--listen-client-urls=https://0.0.0.0:2379".into(),
        "--listen-metrics-urls=http://0.0.0.0:2381".into(),
        format!("--advertise-client-urls=https://$(POD_NAME).{HEADLESS}.{ns}.svc:2379"),
        format!("--initial-advertise-peer-urls=https://$(POD_NAME).{HEADLESS}.{ns}.svc:2380"),
        format!("--initial-cluster={}", initial_cluster(m)),
        "--initial-cluster-state=new".into(),
        format!("--initial-cluster-token={}-etcd", m.name),
        format!("--heartbeat-interval={}", t.heartbeat_ms),
        format!("--election-timeout={}", t.election_ms),
        format!(
            "--quota-backend-bytes={}",
            c.quota_backend_bytes.unwrap_or(2 * 1024 * 1024 * 1024)
        ),
        "--auto-compaction-mode=periodic".into(),
        "--auto-compaction-retention=1h".into(),
        // One certificate (server and client auth) serves peers and clients: it names every
        // member under the headless Service, which is also what clients connect to. With a
        // trusted CA etcd requires and verifies client certificates on both listeners;
        // the explicit flags say so.
        format!("--cert-file={MEMBER_DIR}/tls.crt"),
        format!("--key-file={MEMBER_DIR}/tls.key"),
        format!("--trusted-ca-file={MEMBER_DIR}/ca.crt"),
        "--client-cert-auth=true".into(),
        format!("--peer-cert-file={MEMBER_DIR}/tls.crt"),
        format!("--peer-key-file={MEMBER_DIR}/tls.key"),
        format!("--peer-trusted-ca-file={MEMBER_DIR}/ca.crt"),
        "--peer-client-cert-auth=true".into(),
    ]
}

fn mount(name: &str, path: &str) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        // `false` is the zero value the server drops; writing it would differ from the
        // stored object and conflict with another applier.
        read_only: (name != "data").then_some(true),
        ..Default::default()
    }
}

/// `POD_NAME`, the member's name in its flags.
fn pod_name_env() -> EnvVar {
    EnvVar {
        name: "POD_NAME".into(),
        value_from: Some(EnvVarSource {
            // Atomic to server-side apply: with the version the server defaults.
            field_ref: Some(ObjectFieldSelector {
                api_version: Some("v1".into()),
                field_path: "metadata.name".into(),
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn container(m: &Model) -> Container {
    let r = m.get(ComponentId::Etcd);
    Container {
        name: NAME.into(),
        image: Some(r.image.clone()),
        command: Some(vec!["etcd".into()]),
        args: Some(args(m)),
        env: Some(vec![pod_name_env()]),
        ports: Some(vec![
            k8s::container_port("client", 2379),
            k8s::container_port("peer", 2380),
            k8s::container_port("metrics", 2381),
        ]),
        // /livez and /readyz answer on the metrics listener without client certificates.
        liveness_probe: Some(k8s::http_probe("/livez", "metrics", "HTTP", 10, 6)),
        readiness_probe: Some(k8s::http_probe("/readyz", "metrics", "HTTP", 5, 3)),
        resources: Some(k8s::resources(&r.resources)),
        security_context: Some(k8s::container_security(k8s::RootFs::ReadOnly)),
        volume_mounts: Some(vec![
            mount("data", "/var/lib/etcd"),
            mount("tls", MEMBER_DIR),
        ]),
        ..Default::default()
    }
}

fn pod_template(m: &Model) -> PodTemplateSpec {
    let sel = k8s::selector(NAME);
    let mut pod_labels = k8s::labels(m, ComponentId::Etcd, NAME);
    pod_labels.retain(|k, _| k.starts_with("app"));
    PodTemplateSpec {
        metadata: Some(ObjectMeta {
            labels: Some(pod_labels),
            ..Default::default()
        }),
        spec: Some(PodSpec {
            service_account_name: Some(NAME.into()),
            automount_service_account_token: Some(false),
            affinity: Some(k8s::anti_affinity(&sel)),
            topology_spread_constraints: Some(k8s::zone_spread(&sel)),
            security_context: Some(k8s::pod_security()),
            termination_grace_period_seconds: Some(30),
            containers: vec![container(m)],
            volumes: Some(vec![k8s::private_secret_volume("tls", MEMBER_TLS)]),
            ..Default::default()
        }),
    }
}

fn data_claim_template(m: &Model) -> PersistentVolumeClaim {
    let r = m.get(ComponentId::Etcd);
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            ..Default::default()
        },
        spec: Some(PersistentVolumeClaimSpec {
            volume_mode: Some("Filesystem".into()),
            ..k8s::pvc_spec(&m.rwo_class, &r.storage, "ReadWriteOnce")
        }),
        status: Some(PersistentVolumeClaimStatus {
            phase: Some("Pending".into()),
            ..Default::default()
        }),
    }
}

fn statefulset(m: &Model) -> StatefulSet {
    StatefulSet {
        metadata: k8s::meta(m, ComponentId::Etcd, NAME, NAME),
        spec: Some(StatefulSetSpec {
            replicas: Some(i32::try_from(m.get(ComponentId::Etcd).replicas).unwrap_or(3)),
            service_name: Some(HEADLESS.into()),
            // Members must start together to form the initial quorum.
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector {
                match_labels: Some(k8s::selector(NAME)),
                ..Default::default()
            },
            template: pod_template(m),
            // The claim templates are one atomic list to server-side apply: written as the
            // server stores them (its defaults filled in), so a second applier (deploy
            // after an Argo CD sync) sets the same value instead of conflicting.
            volume_claim_templates: Some(vec![data_claim_template(m)]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model) -> String {
    let ns = &m.get(ComponentId::Etcd).namespace;
    template::fill(
        README,
        &[
            ("CA_SECRET", &CA_SECRET),
            ("MEMBER_TLS", &MEMBER_TLS),
            ("HEADLESS", &HEADLESS),
            ("ns", &ns),
            ("CLIENT_TLS", &CLIENT_TLS),
            ("NAME", &NAME),
            ("etcdctl_tls", &etcdctl_tls_flags(MEMBER_DIR).join(" ")),
        ],
    )
}
