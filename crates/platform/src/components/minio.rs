//! MinIO in distributed mode through the MinIO Operator's `Tenant`. The community edition was
//! archived in 2026 and its public images withdrawn: the image is a spec setting and must point
//! at a registry the cluster can pull from (a mirror or a commercial build).

use std::time::Duration;

use k8s_openapi::api::core::v1::{EnvVar, PersistentVolumeClaim};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Component, ComponentId, Content, Dep, File, Gate, Group, HealthCheck, OperatorDefaults, TlsHop,
};
use crate::components::{self, spec_pointer};
use crate::crs::{Cr, minio as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::{ObjectStoreBackend, Profile};
use crate::validate::Issue;

pub const TENANT: &str = "minio";
pub const POOL: &str = "pool-0";
pub const CONFIG_SECRET: &str = "minio-env-configuration";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MinioConfig {
    /// Drives (PVCs) per server (default 4; `storage` is the size of each drive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volumes_per_server: Option<u32>,
    /// Erasure-coding parity of the STANDARD storage class (default: MinIO's own choice for the
    /// erasure-set size: 2 for 4–5 drives, 3 for 6–7, 4 for 8–16).
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
    let default_parity = match set_size {
        0..=3 => set_size / 2,
        4..=5 => 2,
        6..=7 => 3,
        _ => 4,
    };
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
        Some(OperatorDefaults {
            display: "MinIO Operator",
            package: "minio-operator",
            channel: "stable",
            source: "certified-operators",
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
            let per_server_in_set = (e.set_size / e.servers.max(1)).max(1);
            if e.write_tolerance() < per_server_in_set {
                out.push(Issue::new(
                    format!("{base}/config/parity"),
                    format!("with EC:{} a set of {} drives survives {} lost drives for writes, but one server holds {} of them (expected a parity that survives a server loss)", e.parity, e.set_size, e.write_tolerance(), per_server_in_set),
                ));
            }
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let id = self.id();
        let e = erasure(m);
        let sel = std::collections::BTreeMap::from([(
            "v1.min.io/tenant".to_string(),
            TENANT.to_string(),
        )]);
        let mut buckets: Vec<String> = components::ALL
            .iter()
            .filter(|c| m.enabled(c.id()))
            .flat_map(|c| c.buckets().iter().map(|b| m.object_store.bucket(b)))
            .collect();
        buckets.sort();
        buckets.dedup();
        let tenant = Cr {
            api_version: cr::TENANT.0,
            kind: cr::TENANT.1,
            metadata: k8s::meta(m, id, TENANT, TENANT),
            spec: cr::TenantSpec {
                image: r.image.clone(),
                pools: vec![cr::Pool {
                    name: POOL.into(),
                    servers: e.servers,
                    volumes_per_server: e.drives / e.servers.max(1),
                    volume_claim_template: PersistentVolumeClaim {
                        metadata: ObjectMeta {
                            name: Some("data".into()),
                            ..Default::default()
                        },
                        spec: Some(k8s::pvc_spec(&m.rwo_class, &r.storage, "ReadWriteOnce")),
                        ..Default::default()
                    },
                    resources: k8s::resources(&r.resources),
                    affinity: k8s::anti_affinity(&sel),
                    topology_spread_constraints: k8s::zone_spread(&sel),
                    security_context: k8s::pod_security(),
                    container_security_context: k8s::container_security(false),
                }],
                request_auto_cert: true,
                configuration: cr::NameRef {
                    name: CONFIG_SECRET.into(),
                },
                env: vec![
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
                ],
                buckets: buckets
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
        };
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            File {
                path: format!("{dir}/minio-tenant.yaml"),
                content: Content::Objects {
                    header: format!(
                        "MinIO tenant: {} servers × {} drives, erasure sets of {}, parity EC:{} ({:.0} % usable).\nImage {} — the community images are withdrawn: mirror it or set components.minio.image.\nRoot credentials: Secret {CONFIG_SECRET} (key config.env), referenced, never rendered.",
                        e.servers,
                        e.drives / e.servers.max(1),
                        e.set_size,
                        e.parity,
                        e.usable_fraction() * 100.0,
                        r.image
                    ),
                    objects: vec![k8s::to_value(&tenant)],
                },
            },
            docs::component_readme(m, self, &readme_body(m, e)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate {
            kind: "Tenant".into(),
            namespace: ns.clone(),
            name: TENANT.into(),
            condition: "tenant initialized and health green".into(),
            wait_command: format!(
                "oc wait tenant/{TENANT} -n {ns} --for=jsonpath='{{.status.healthStatus}}'=green --timeout=15m"
            ),
            timeout: Duration::from_secs(900),
        }]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "servers, drives online and erasure health".into(),
            command: format!("oc exec -n {ns} {TENANT}-{POOL}-0 -c minio -- mc admin info local"),
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![TlsHop::new(
            "9000 (S3 behind `minio` :443)",
            true,
            "MinIO operator auto-cert (`requestAutoCert`); clients trust the cluster CA",
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

fn readme_body(m: &Model, e: Erasure) -> String {
    let ns = &m.get(ComponentId::Minio).namespace;
    format!(
        "## Image: read this first\n\nThe MinIO community project was archived in 2026 and its public container images were withdrawn. `components.minio.image` must name an image your cluster can pull — a mirror in your registry or a commercially supported build. Alternatives without MinIO: `spec.objectStore.backend: odf` (OpenShift Data Foundation) or `external`.\n\n## Erasure coding\n\nParity EC:{} over sets of {} drives. Endpoint for consumers: `https://minio.{ns}.svc` (TLS from the operator's auto-cert).\n\n",
        e.parity, e.set_size
    )
}
