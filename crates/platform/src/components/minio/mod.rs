//! MinIO in distributed mode through the MinIO Operator's `Tenant`. The community edition is
//! archived (no fixes) and its images left Docker Hub; quay.io serves the frozen releases, which
//! the tree pins. The operator comes from its upstream manifests ([`operator`]).

pub mod operator;

mod backup;
mod exposure;
mod monitoring;

use k8s_openapi::api::core::v1::{EnvVar, PersistentVolumeClaim};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    CarriedOperator, Check, Component, ComponentId, Content, DeepProbe, Dep, Exec, File, Gate,
    GateKind, Group, HealthCheck, OperatorDefaults, PodRef, TlsHop,
};
use crate::components::{self, spec_pointer};
use crate::crs::{Cr, minio as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::{ObjectStoreBackend, Profile};
use crate::template;
use crate::validate::Issue;

pub const TENANT: &str = "minio";
pub const POOL: &str = "pool-0";
pub const CONFIG_SECRET: &str = "minio-env-configuration";
/// The serving certificate `deploy` issues from [`CA_SECRET`] (keys `tls.crt`, `tls.key`,
/// `ca.crt`): the operator's auto-cert is signed by the cluster's CSR signer, which neither the
/// clients nor OpenShift's bundles trust.
pub const TLS_SECRET: &str = "minio-tls";
pub const CA_SECRET: &str = "minio-ca";
/// The operator trusts the CAs in Secrets of its own namespace whose names start with
/// `operator-ca-tls` (minio/operator `pkg/controller/operator.go`, key `ca.crt`): it calls the
/// tenant's admin API over TLS.
pub const OPERATOR_TRUST_SECRET: &str = "operator-ca-tls-datalyptica";
/// The ClusterIP Service the operator creates for every tenant (fixed name) and the headless
/// one of its StatefulSets (`<tenant>-hl`).
pub const SERVICE: &str = "minio";
pub const HEADLESS: &str = "minio-hl";

/// The certificate deploy issues for the tenant, by Secret name: every name clients and the
/// servers themselves use (the servers reach each other as
/// `<tenant>-<pool>-<i>.<tenant>-hl.<ns>.svc.cluster.local`, operator `MinIOHosts`).
pub fn certificates(m: &Model) -> Vec<(String, crate::security::CertRequest)> {
    let ns = &m.get(ComponentId::Minio).namespace;
    let mut dns = vec![
        SERVICE.to_string(),
        format!("{SERVICE}.{ns}"),
        format!("{SERVICE}.{ns}.svc"),
        format!("{SERVICE}.{ns}.svc.cluster.local"),
        format!("{HEADLESS}.{ns}.svc"),
        format!("{HEADLESS}.{ns}.svc.cluster.local"),
        format!("*.{HEADLESS}.{ns}.svc"),
        format!("*.{HEADLESS}.{ns}.svc.cluster.local"),
    ];
    // Wildcards match one label; the exact server names keep verifiers that skip wildcards happy.
    dns.extend(
        (0..erasure(m).servers)
            .map(|i| format!("{TENANT}-{POOL}-{i}.{HEADLESS}.{ns}.svc.cluster.local")),
    );
    vec![(
        TLS_SECRET.into(),
        crate::security::CertRequest {
            common_name: SERVICE.into(),
            dns_names: dns,
            server: true,
            client: false,
        },
    )]
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MinioConfig {
    /// Drives (PVCs) per server (default 4; `storage` is the size of each drive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_per_server: Option<u32>,
    /// Erasure-coding parity of the STANDARD storage class (default: half the erasure set,
    /// EC:N/2, the seed's choice: reads survive the loss of half the servers, writes one server
    /// fewer; MinIO's own default, EC:4 for 16 drives, loses reads when two of four servers drain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parity: Option<u32>,
}

/// Erasure layout of the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Erasure {
    pub servers: u32,
    pub drives: u32,
    pub set_size: u32,
    pub parity: u32,
}

impl Erasure {
    /// Drives a set may lose and still serve reads.
    pub fn read_tolerance(&self) -> u32 {
        self.parity
    }
    /// Drives a set may lose and still accept writes (write quorum is one more when parity is half).
    pub fn write_tolerance(&self) -> u32 {
        if self.parity * 2 == self.set_size {
            self.parity - 1
        } else {
            self.parity
        }
    }
    /// Drives of one erasure set that one server holds (sets span all servers evenly).
    pub fn drives_per_server_in_set(&self) -> u32 {
        (self.set_size / self.servers.max(1)).max(1)
    }
    /// Servers that may be down at once (a drain, a node loss) while every set still accepts
    /// writes: what the PodDisruptionBudget allows.
    pub fn servers_tolerated(&self) -> u32 {
        self.write_tolerance() / self.drives_per_server_in_set()
    }
    pub fn usable_fraction(&self) -> f64 {
        f64::from(self.set_size - self.parity) / f64::from(self.set_size)
    }
}

/// MinIO picks the largest erasure-set size in 2..=16 that divides the drive count.
pub fn erasure(m: &Model) -> Erasure {
    let r = m.get(ComponentId::Minio);
    let c = &m.platform.spec.components.minio.config;
    let servers = r.replicas;
    let drives = servers * c.volumes_per_server.unwrap_or(4);
    let set_size = (2..=16)
        .rev()
        .find(|s| drives.is_multiple_of(*s))
        .unwrap_or(drives.max(1));
    // N/2 (the seed's "4 nodes with N/2 erasure coding"), at least 1.
    let default_parity = (set_size / 2).max(1);
    Erasure {
        servers,
        drives,
        set_size,
        parity: c.parity.unwrap_or(default_parity),
    }
}

pub struct Minio;
pub static MINIO: Minio = Minio;

impl Component for Minio {
    fn exposure(&self, m: &Model) -> crate::security::Exposure {
        exposure::exposure(m)
    }

    fn writable_root_reason(&self) -> &'static str {
        "the operator-managed container writes under its own directories"
    }

    fn backup_bucket(&self) -> Option<&'static str> {
        None
    }

    fn served_by_operator(&self) -> Option<(serde_json::Value, Vec<u16>)> {
        // The servers fetch new binaries from the operator's upgrade server
        // (`http://operator.<operators namespace>.svc:4221`) when the tenant's image changes.
        Some((
            crate::security::match_labels(&[("name", operator::DEPLOYMENT)]),
            vec![operator::UPGRADE_PORT],
        ))
    }

    fn backup(&self, m: &Model) -> crate::component::Backup {
        backup::backup(m)
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Minio
    }
    fn summary(&self) -> &'static str {
        "MinIO distributed object storage (S3): 4 servers with erasure coding, managed by the MinIO Operator"
    }
    fn phase(&self) -> u8 {
        2
    }
    fn dir(&self) -> &'static str {
        "04-minio-ha"
    }
    fn group(&self) -> Group {
        Group::Storage
    }
    fn deps(&self) -> &'static [Dep] {
        &[]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn carried_operator(&self) -> Option<CarriedOperator> {
        Some(CarriedOperator {
            display: "MinIO Operator",
            version: operator::VERSION,
            deployment: operator::DEPLOYMENT,
            why: "the `minio-operator` package was deleted from certified-operators in October 2025 (its last bundle never served OpenShift 4.16+, and a Subscription OLM cannot resolve blocks every Subscription of its namespace); the successor `minio-object-store-operator` is commercial and serves no `Tenant`",
        })
    }
    fn min_ha_replicas(&self) -> u32 {
        4
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.99, 0, 0);
        let image = "quay.io/minio/minio:RELEASE.2025-04-22T22-12-26Z";
        match profile {
            Profile::Ha => Defaults {
                replicas: 4,
                storage: "50Gi",
                requests: ("1", "4Gi"),
                limits: ("2", "8Gi"),
                image,
                version: "RELEASE.2025-04-22T22-12-26Z",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "10Gi",
                requests: ("250m", "512Mi"),
                limits: ("1", "1Gi"),
                image,
                version: "RELEASE.2025-04-22T22-12-26Z",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &["operator-install.yaml", "minio-tenant.yaml"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = spec_pointer(self.id());
        if m.platform.spec.components.minio.operator.is_some() {
            out.push(Issue::new(
                format!("{base}/operator"),
                format!("the MinIO Operator is installed from its upstream {} manifests carried in the tree, not from an OLM catalog (expected no `operator` block: no package or channel to choose)", operator::VERSION),
            ));
        }
        if m.object_store.backend != ObjectStoreBackend::Minio {
            out.push(Issue::new(
                format!("{base}/enabled"),
                "MinIO is enabled but spec.objectStore.backend is not `minio` (expected `enabled: false` for the odf and external backends)",
            ));
        }
        let e = erasure(m);
        if e.drives < 4 && m.ha() {
            out.push(Issue::new(
                format!("{base}/config/volumesPerServer"),
                format!(
                    "{} drives cannot be erasure coded for HA (expected ≥ 4 drives in total)",
                    e.drives
                ),
            ));
        }
        if e.parity == 0 || e.parity * 2 > e.set_size {
            out.push(Issue::new(
                format!("{base}/config/parity"),
                format!(
                    "parity EC:{} does not fit an erasure set of {} drives (expected 1..={})",
                    e.parity,
                    e.set_size,
                    e.set_size / 2
                ),
            ));
        } else if m.ha() {
            // Losing a server loses all its drives at once; each set must keep its write quorum.
            let per_server_in_set = e.drives_per_server_in_set();
            if e.write_tolerance() < per_server_in_set {
                out.push(Issue::new(
                    format!("{base}/config/parity"),
                    format!("with EC:{} a set of {} drives survives {} lost drives for writes, but one server holds {} of them (expected a parity that survives a server loss)", e.parity, e.set_size, e.write_tolerance(), per_server_in_set),
                ));
            }
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let e = erasure(m);
        let dir = self.dir();
        vec![
            File {
                path: format!("{dir}/operator-install.yaml"),
                content: Content::Objects {
                    header: operator_header(m),
                    objects: operator::objects(m),
                },
            },
            File {
                path: format!("{dir}/minio-tenant.yaml"),
                content: Content::Objects {
                    header: tenant_header(m, e),
                    objects: [k8s::to_value(&tenant(m, e))]
                        .into_iter()
                        .chain(pdb(m, e).map(|p| k8s::to_value(&p)))
                        .collect(),
                },
            },
            docs::component_readme(m, self, &readme_body(m, e)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::new(GateKind::Tenant, ns, TENANT)]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "servers, drives online and erasure health".into(),
            check: Check::Exec {
                exec: Exec::new(
                    ns,
                    PodRef::Name(format!("{TENANT}-{POOL}-0")),
                    Some("minio"),
                    ["mc", "admin", "info", "local"],
                ),
                probe: Some(DeepProbe::Minio),
            },
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![TlsHop::new(
            "9000 (S3 behind `minio` :443)",
            true,
            "certificate `minio-tls` that deploy issues from its CA `minio-ca`; clients trust that CA through copies `object-store-ca`, the operator through `operator-ca-tls-datalyptica`",
        )]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let e = erasure(m);
        vec![
            format!("{} servers × {} drives = {} drives in erasure sets of {}, parity EC:{}", e.servers, e.drives / e.servers.max(1), e.drives, e.set_size, e.parity),
            format!("each set keeps serving reads with {} drives lost and writes with {} lost; {:.0} % of raw capacity is usable", e.read_tolerance(), e.write_tolerance(), e.usable_fraction() * 100.0),
            "no failover: every server serves every request (RTO 0), and erasure coding loses nothing acknowledged (RPO 0)".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let e = erasure(m);
        let servers = e.servers.max(1);
        // MinIO spreads each erasure set evenly over the servers: losing a server loses this
        // many drives of every set.
        let per_server = e.set_size.div_ceil(servers).max(1);
        let lost_servers = (e.write_tolerance() / per_server).min(servers);
        let read_servers = (e.read_tolerance() / per_server).min(servers);
        Redundancy {
            tiers: vec![Tier::new(
                "servers",
                e.servers,
                e.servers - lost_servers,
                Recovery::NodeRepair,
                format!(
                    "EC:{} over sets of {} drives, {} per server: writes survive {} lost drives per set, so {} server(s) (reads {}); the model counts writes",
                    e.parity, e.set_size, per_server, e.write_tolerance(), lost_servers, read_servers
                ),
            )
            // The operator's own PodDisruptionBudget per pool: minAvailable servers/2 + 1.
            .with_min_available(e.servers / 2 + 1)],
            journey: None,
        }
    }
}

fn operator_header(m: &Model) -> String {
    format!(
        "MinIO Operator {v} from its upstream release manifests (minio/operator, tag {v}), carried here because no OpenShift catalog offers it: the two CRDs verbatim, then the ServiceAccount, ClusterRole, binding, Service and Deployment of resources/base/ rendered for restricted-v2 (no fixed UID, read-only root), STS off, images from quay.io.\nInstalled in {ns}; `oc apply -f` on a connected or an offline cluster installs the same thing. Wait: oc rollout status deployment/{d} -n {ns}\nThe community edition is archived and receives no fixes: prefer spec.objectStore.backend odf or external.",
        v = operator::VERSION,
        ns = m.operators_namespace,
        d = operator::DEPLOYMENT,
    )
}

fn tenant_header(m: &Model, e: Erasure) -> String {
    format!(
        "MinIO tenant: {} servers × {} drives, erasure sets of {}, parity EC:{} ({:.0} % usable).\nImage {} (quay.io: the community images left Docker Hub; the edition is archived, without fixes).\nRoot credentials: Secret {CONFIG_SECRET} (key config.env), referenced, never rendered.",
        e.servers,
        e.drives / e.servers.max(1),
        e.set_size,
        e.parity,
        e.usable_fraction() * 100.0,
        m.get(ComponentId::Minio).image
    )
}

/// Components share buckets (`warehouse`): the tenant creates each once.
fn buckets(m: &Model) -> Vec<String> {
    let mut buckets: Vec<String> = components::ALL
        .iter()
        .filter(|c| m.enabled(c.id()))
        .flat_map(|c| c.buckets().iter().map(|b| m.object_store.bucket(b)))
        .collect();
    buckets.sort();
    buckets.dedup();
    buckets
}

fn volume_claim_template(m: &Model) -> PersistentVolumeClaim {
    let r = m.get(ComponentId::Minio);
    PersistentVolumeClaim {
        metadata: ObjectMeta {
            name: Some("data".into()),
            ..Default::default()
        },
        spec: Some(k8s::pvc_spec(&m.rwo_class, &r.storage, "ReadWriteOnce")),
        ..Default::default()
    }
}

fn pool(m: &Model, e: Erasure) -> cr::Pool {
    let r = m.get(ComponentId::Minio);
    let sel =
        std::collections::BTreeMap::from([("v1.min.io/tenant".to_string(), TENANT.to_string())]);
    cr::Pool {
        name: POOL.into(),
        servers: e.servers,
        volumes_per_server: e.drives / e.servers.max(1),
        volume_claim_template: volume_claim_template(m),
        resources: k8s::resources(&r.resources),
        affinity: k8s::anti_affinity(&sel),
        topology_spread_constraints: k8s::zone_spread(&sel),
        security_context: k8s::pod_security(),
        container_security_context: k8s::container_security(k8s::RootFs::Writable),
    }
}

fn tenant_env(e: Erasure) -> Vec<EnvVar> {
    vec![
        EnvVar {
            name: "MINIO_STORAGE_CLASS_STANDARD".into(),
            value: Some(format!("EC:{}", e.parity)),
            ..Default::default()
        },
        EnvVar {
            name: "MINIO_PROMETHEUS_AUTH_TYPE".into(),
            value: Some("public".into()),
            ..Default::default()
        },
    ]
}

fn tenant(m: &Model, e: Erasure) -> Cr<cr::TenantSpec> {
    let id = ComponentId::Minio;
    Cr {
        api_version: cr::TENANT.0,
        kind: cr::TENANT.1,
        metadata: k8s::meta(m, id, TENANT, TENANT),
        spec: cr::TenantSpec {
            image: m.get(id).image.clone(),
            pools: vec![pool(m, e)],
            request_auto_cert: false,
            external_cert_secret: vec![cr::CertSecret {
                name: TLS_SECRET.into(),
                kind: "cert-manager.io/v1".into(),
            }],
            configuration: cr::NameRef {
                name: CONFIG_SECRET.into(),
            },
            env: tenant_env(e),
            buckets: buckets(m)
                .into_iter()
                .map(|name| cr::Bucket {
                    name,
                    object_lock: false,
                    region: m.object_store.region.clone(),
                })
                .collect(),
            prometheus_operator: false,
            pools_metadata: cr::PoolsMetadata {
                labels: k8s::labels(m, id, TENANT),
            },
        },
    }
}

/// The operator renders no PodDisruptionBudget: ours lets drains take only as many servers as
/// every erasure set can lose and still accept writes (at least one, or no node could drain).
fn pdb(m: &Model, e: Erasure) -> Option<PodDisruptionBudget> {
    if e.servers < 2 {
        return None;
    }
    let sel = std::collections::BTreeMap::from([
        ("v1.min.io/tenant".to_string(), TENANT.to_string()),
        ("v1.min.io/pool".to_string(), POOL.to_string()),
    ]);
    Some(PodDisruptionBudget {
        metadata: k8s::meta(m, ComponentId::Minio, TENANT, TENANT),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(e.servers_tolerated().max(1) as i32)),
            selector: Some(LabelSelector {
                match_labels: Some(sel),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

fn readme_body(m: &Model, e: Erasure) -> String {
    let ns = &m.get(ComponentId::Minio).namespace;
    template::fill(
        README,
        &[
            ("image", &m.get(ComponentId::Minio).image),
            ("operator_image", &operator::IMAGE),
            ("operator_version", &operator::VERSION),
            ("operators_ns", &m.operators_namespace),
            ("parity", &e.parity),
            ("set_size", &e.set_size),
            (
                "half",
                &if e.parity * 2 == e.set_size {
                    " (N/2)"
                } else {
                    ""
                },
            ),
            ("read_tolerance", &e.read_tolerance()),
            ("write_tolerance", &e.write_tolerance()),
            ("drives_per_server", &e.drives_per_server_in_set()),
            ("servers_tolerated", &e.servers_tolerated().max(1)),
            ("TENANT", &TENANT),
            ("ns", &ns),
            ("operator_service", &operator::SERVICE),
            ("upgrade_port", &operator::UPGRADE_PORT),
            ("tls_section", &tls_section(m)),
        ],
    )
}

/// Why MinIO's certificate comes from deploy, and who trusts it how.
fn tls_section(m: &Model) -> String {
    let ns = &m.get(ComponentId::Minio).namespace;
    [
        "## TLS
".to_string(),
        format!(
            "The operator's own certificates (`requestAutoCert`) are signed through the CSR API by the cluster's signer, which nothing trusts on OpenShift: not the pods, not `kube-root-ca.crt`, not the service CA. So `requestAutoCert` is off and the tenant serves `{TLS_SECRET}`, which `datalyptica deploy` issues from a private CA it keeps in `{CA_SECRET}` (first deploy only; it stays in the cluster). The certificate names `{SERVICE}`, `{SERVICE}.{ns}.svc` (and `.cluster.local`) for clients and `*.{HEADLESS}.{ns}.svc.cluster.local` plus every server's name, which the servers use to reach each other; the operator mounts its `ca.crt` into their `certs/CAs`, so they trust one another.\n"
        ),
        format!(
            "Trust: every namespace with a client gets `{}`, a copy of `{TLS_SECRET}` holding `ca.crt` only, projected into the JVM truststores (Nessie, Trino, Spark, Flink), ClickHouse's CA bundle, the `mc` jobs and pgBackRest (`repo1-storage-ca-file`); the ServiceMonitor verifies against `{TLS_SECRET}` itself; the operator reads the copy `{OPERATOR_TRUST_SECRET}` in `{}` (it trusts Secrets named `operator-ca-tls*` there).\n",
            k8s::OBJECT_STORE_CA_SECRET,
            m.operators_namespace
        ),
        format!(
            "Renewal: delete `{TLS_SECRET}` and run deploy again (it reissues from `{CA_SECRET}` and refreshes the copies), then restart the tenant's servers one at a time. With `secrets.mode` other than `generated` deploy still issues it.\n"
        ),
    ]
    .join("\n")
        + "\n"
}
