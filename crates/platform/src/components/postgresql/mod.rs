//! PostgreSQL through Crunchy PGO: a Patroni cluster whose failover timing is derived from the
//! RTO target and whose replication is synchronous, so acknowledged commits survive failover.

mod exposure;
mod monitoring;

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::component::{
    Check, Component, ComponentId, Content, DeepProbe, Dep, Exec, File, Gate, Group, HealthCheck,
    OperatorDefaults, PodRef, TlsHop,
};
use crate::components::spec_pointer;
use crate::crs::{Cr, pgo};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::{ObjectStoreBackend, Profile};
use crate::template;
use crate::validate::Issue;

/// Patroni floors ttl at 20 s since 4.0 (it silently raises lower values).
/// Where PGO mounts `backups.pgbackrest.configuration` (postgres-operator
/// `internal/pgbackrest/config.go`, `configDirectory`); pgBackRest reads only its `*.conf` files
/// as configuration.
const PGBACKREST_CONFIG_DIR: &str = "/etc/pgbackrest/conf.d";
pub const PATRONI_MIN_TTL: u32 = 20;
pub const CLUSTER: &str = "postgresql";
/// PGO's annotation asking for a schema per user, named and owned by the user.
pub const AUTO_CREATE_USER_SCHEMA: &str = "postgres-operator.crunchydata.com/autoCreateUserSchema";
pub const INSTANCE_SET: &str = "pgha1";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PostgresConfig {
    /// Patroni `synchronous_mode`: fail over only to a synchronous standby, so no acknowledged
    /// commit is lost (default true in `ha`, false in `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous_mode: Option<bool>,
    /// Patroni `synchronous_mode_strict`: refuse writes when no synchronous standby is left
    /// (zero loss even after a second failure, at the cost of availability). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synchronous_mode_strict: Option<bool>,
    /// Patroni ttl (PGO `leaderLeaseDurationSeconds`). Derived from `slo.rto` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leader_lease_seconds: Option<u32>,
    /// Patroni loop_wait (PGO `syncPeriodSeconds`). Derived from `slo.rto` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_period_seconds: Option<u32>,
    /// Patroni retry_timeout. Derived when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_timeout_seconds: Option<u32>,
    /// Bytes a replica may lag and still be promoted (default 1 MiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maximum_lag_on_failover: Option<u64>,
    /// PgBouncer pods in front of the cluster (default 2 in `ha`, 1 in `dev`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pgbouncer_replicas: Option<u32>,
    /// Moved to `spec.backup.postgresql.fullSchedule`: still parsed so validation can point there,
    /// hidden from the schema and `init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub full_backup_schedule: Option<String>,
    /// Moved to `spec.backup.postgresql.differentialSchedule`: still parsed so validation can point there,
    /// hidden from the schema and `init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub differential_backup_schedule: Option<String>,
    /// Moved to `spec.backup.postgresql.retentionDays`: still parsed so validation can point there,
    /// hidden from the schema and `init`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(skip)]
    pub backup_retention_days: Option<u32>,
}

/// The Patroni timing the cluster runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PatroniTiming {
    pub ttl: u32,
    pub loop_wait: u32,
    pub retry_timeout: u32,
}

impl PatroniTiming {
    /// Worst-case time from primary loss to a promoted replica: the leader key lives up to ttl
    /// after the last renewal, and replicas look at it every loop_wait.
    pub fn worst_case_failover(&self) -> Duration {
        Duration::from_secs(u64::from(self.ttl + self.loop_wait))
    }
}

/// Timing from the RTO target unless set explicitly, split so that `ttl + loop_wait` (the worst
/// failover) fits the RTO and retry_timeout gets what Patroni's rule `loop_wait + 2 ×
/// retry_timeout ≤ ttl` leaves: with PGO the DCS is the Kubernetes API, and a primary that cannot
/// update its leader object for retry_timeout demotes itself, so a short retry_timeout turns an
/// API-server blip into a failover. loop_wait = RTO/6 (2–10 s), ttl = RTO − loop_wait (at least
/// 20 s, Patroni 4's floor), retry_timeout = (ttl − loop_wait)/2: RTO 30 s gives 25/5/10, riding
/// out a 10 s blip where the former 20/10/5 demoted after 5 s. The lab measured 20/10/5 at RTO
/// p95 15.9 s on node kills and loop_wait 5 at 16–20 s with ttl 20 (crates/lab README): a longer
/// lease costs failover time that the RTO still covers.
pub fn patroni_timing(cfg: &PostgresConfig, rto: Duration) -> PatroniTiming {
    let rto_s = u32::try_from(rto.as_secs()).unwrap_or(u32::MAX);
    let loop_wait = cfg
        .sync_period_seconds
        .unwrap_or_else(|| (rto_s / 6).clamp(2, 10));
    let ttl = cfg
        .leader_lease_seconds
        .unwrap_or_else(|| rto_s.saturating_sub(loop_wait).max(PATRONI_MIN_TTL));
    let retry_timeout = cfg
        .retry_timeout_seconds
        .unwrap_or_else(|| (ttl.saturating_sub(loop_wait) / 2).max(1));
    PatroniTiming {
        ttl,
        loop_wait,
        retry_timeout,
    }
}

pub fn synchronous(m: &Model) -> bool {
    cfg(m).synchronous_mode.unwrap_or(m.profile == Profile::Ha)
}

fn cfg<'a>(m: &'a Model) -> &'a PostgresConfig {
    &m.platform.spec.components.postgresql.config
}

/// Components that keep their state in this cluster get a database and user each.
pub fn consumers(m: &Model) -> Vec<ComponentId> {
    m.enabled_components()
        .filter(|c| m.deps_of(*c).contains(&ComponentId::Postgresql))
        .map(|c| c.id())
        .collect()
}

/// PGO writes each user's credentials to `<cluster>-pguser-<user>` in its own namespace;
/// `deploy` copies them as this Secret into the consumer's namespace.
pub fn consumer_secret(consumer: ComponentId) -> String {
    format!("{consumer}-postgresql")
}

/// PGO's root CA (key `root.crt`) in the cluster's namespace; it signs every server
/// certificate, whose names include `<cluster>-primary.<ns>.svc`.
pub const PGO_ROOT_CA: &str = "pgo-root-cacert";
/// `deploy` copies [`PGO_ROOT_CA`] as this Secret into each consumer's namespace.
pub const CA_SECRET: &str = "postgresql-ca";
const CA_DIR: &str = "/etc/pki/postgresql";

/// libpq settings (psycopg in Airflow and Superset) that verify the server: the certificate
/// chains to PGO's CA and names the host in the connection URI.
pub fn libpq_verify_env() -> Vec<k8s_openapi::api::core::v1::EnvVar> {
    vec![
        crate::k8s::env("PGSSLMODE", "verify-full"),
        crate::k8s::env("PGSSLROOTCERT", ca_file()),
    ]
}

/// Path of PGO's CA in consumer pods.
pub fn ca_file() -> String {
    format!("{CA_DIR}/root.crt")
}

/// The copied CA as a volume, and its mount.
pub fn ca_volume(name: &str) -> k8s_openapi::api::core::v1::Volume {
    let mut v = crate::k8s::secret_volume(name, CA_SECRET);
    // Only the certificate: the copy carries nothing else (see the secret inventory).
    if let Some(s) = v.secret.as_mut() {
        s.items = Some(vec![k8s_openapi::api::core::v1::KeyToPath {
            key: "root.crt".into(),
            path: "root.crt".into(),
            ..Default::default()
        }]);
    }
    v
}
pub fn ca_mount(name: &str) -> k8s_openapi::api::core::v1::VolumeMount {
    crate::k8s::mount(name, CA_DIR, true)
}

pub fn primary_host(m: &Model) -> String {
    format!(
        "{CLUSTER}-primary.{}.svc",
        m.get(ComponentId::Postgresql).namespace
    )
}

/// What the lab measured for the default timing (crates/lab: `cargo run --release -p datalyptica-lab --example bench 10`).
pub const LAB_MEASURED: &str = "lab-measured with this timing (`datalyptica drill postgresql`, Patroni 4 + PostgreSQL 15, synchronous mode, 10 trials each): node kill RTO p50 13.9 s / p95 15.9 s, graceful stop p95 2.7 s, 0 acknowledged writes lost";
/// The timing the lab measured (what the default RTO of 30 s derived before retry_timeout got
/// the longest value Patroni's rule allows).
pub const LAB_TIMING: PatroniTiming = PatroniTiming {
    ttl: 20,
    loop_wait: 10,
    retry_timeout: 5,
};

pub struct Postgresql;
pub static POSTGRESQL: Postgresql = Postgresql;

impl Component for Postgresql {
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
            "pgBackRest inside the PostgresCluster backs it up (PGO runs the repository and its schedules)",
        )
    }

    fn monitoring(&self, m: &Model) -> Vec<serde_json::Value> {
        monitoring::objects(m)
    }

    fn id(&self) -> ComponentId {
        ComponentId::Postgresql
    }
    fn summary(&self) -> &'static str {
        "PostgreSQL cluster managed by Crunchy PGO (Patroni): 1 primary + replicas with automatic failover, synchronous replication, pgBackRest backups, PgBouncer"
    }
    fn phase(&self) -> u8 {
        1
    }
    fn dir(&self) -> &'static str {
        "01-postgresql-ha"
    }
    fn group(&self) -> Group {
        Group::Core
    }
    fn deps(&self) -> &'static [Dep] {
        // pgBackRest writes to the object store, but the cluster runs without it: backups
        // wait for phase 2, the database does not.
        &[]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        Some(OperatorDefaults {
            display: "Crunchy Postgres for Kubernetes (PGO)",
            package: "crunchy-postgres-operator",
            channel: "v5",
            source: "certified-operators",
            head: "5.8.8",
        })
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 10, 30);
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "100Gi",
                requests: ("1", "4Gi"),
                limits: ("2", "8Gi"),
                image: "",
                version: "16",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "10Gi",
                requests: ("250m", "512Mi"),
                limits: ("1", "1Gi"),
                image: "",
                version: "16",
                slo,
            },
        }
    }

    fn manifests(&self) -> &'static [&'static str] {
        &["operator-install.yaml", "postgres-cluster.yaml"]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["pgbackrest"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = format!("{}/config", spec_pointer(self.id()));
        let c = cfg(m);
        let r = m.get(self.id());
        let t = patroni_timing(c, r.slo.rto);
        if t.ttl < PATRONI_MIN_TTL {
            out.push(Issue::new(
                format!("{base}/leaderLeaseSeconds"),
                format!("ttl {} s is below Patroni 4's floor (expected ≥ {PATRONI_MIN_TTL}; Patroni would silently raise it and the RTO budget would be wrong)", t.ttl),
            ));
        }
        if t.loop_wait >= t.ttl {
            out.push(Issue::new(
                format!("{base}/syncPeriodSeconds"),
                format!(
                    "loop_wait {} s must be shorter than the leader lease {} s",
                    t.loop_wait, t.ttl
                ),
            ));
        }
        if t.loop_wait + 2 * t.retry_timeout > t.ttl {
            out.push(Issue::new(
                format!("{base}/retryTimeoutSeconds"),
                format!(
                    "Patroni needs ttl ≥ loop_wait + 2 × retry_timeout, but {} < {} + 2 × {} (expected a smaller retry timeout or a longer lease)",
                    t.ttl, t.loop_wait, t.retry_timeout
                ),
            ));
        }
        if t.worst_case_failover() > r.slo.rto {
            out.push(Issue::new(
                format!("{}/slo/rto", spec_pointer(self.id())),
                format!(
                    "RTO {} s cannot be met: Patroni fails over within ttl + loop_wait = {} s (ttl ≥ {PATRONI_MIN_TTL} s in Patroni 4; expected an RTO ≥ {} s)",
                    r.slo.rto.as_secs(),
                    t.worst_case_failover().as_secs(),
                    t.worst_case_failover().as_secs()
                ),
            ));
        }
        if let Ok(v) = r.version.parse::<u32>() {
            if !(13..=18).contains(&v) {
                out.push(Issue::new(
                    format!("{}/version", spec_pointer(self.id())),
                    format!(
                        "PostgreSQL {v} is not supported by PGO (expected a major version 13–18)"
                    ),
                ));
            }
        } else {
            out.push(Issue::new(
                format!("{}/version", spec_pointer(self.id())),
                format!(
                    "`{}` is not a PostgreSQL major version (expected e.g. \"16\")",
                    r.version
                ),
            ));
        }
        // Backup schedules are checked with spec.backup (crate::backup::validate).
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let t = patroni_timing(cfg(m), r.slo.rto);
        let os = &m.object_store;
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            File {
                path: format!("{dir}/postgres-cluster.yaml"),
                content: Content::Objects {
                    header: format!(
                        "PostgreSQL HA: {} instances, Patroni ttl {} s / loop_wait {} s / retry_timeout {} s, synchronous_mode {}.\npgBackRest to {} (bucket {}), credentials from Secret postgresql-pgbackrest-s3.",
                        r.replicas,
                        t.ttl,
                        t.loop_wait,
                        t.retry_timeout,
                        synchronous(m),
                        os.endpoint,
                        os.bucket("pgbackrest")
                    ),
                    objects: vec![k8s::to_value(&cluster(m))],
                },
            },
            docs::component_readme(m, self, &self.readme_body(m, t)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::postgres(ns, CLUSTER, m.get(self.id()).replicas)]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![
            HealthCheck {
                what: "Patroni members, roles and lag (one Leader, Sync Standby present)".into(),
                check: Check::Exec {
                    exec: Exec::new(
                        ns,
                        PodRef::Selector("postgres-operator.crunchydata.com/role=master".into()),
                        Some("database"),
                        ["patronictl", "list"],
                    ),
                    probe: Some(DeepProbe::Patroni),
                },
            },
            HealthCheck {
                what: "last successful backup".into(),
                check: Check::Oc(format!(
                    "oc get postgrescluster/{CLUSTER} -n {ns} -o jsonpath='{{.status.pgbackrest.scheduledBackups}}'"
                )),
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "5432 (PgBouncer, instances, replication)",
                true,
                "PGO issues the certificates and its default pg_hba has only `hostssl` rules; replication authenticates with certificates; Airflow and Superset (libpq `PGSSLMODE=verify-full`) and Nessie (JDBC `sslmode=verify-full`) verify the server against PGO's CA, which `deploy` copies to them as `postgresql-ca`",
            ),
            TlsHop::new(
                "8008 (Patroni REST API)",
                true,
                "PGO serves Patroni's API with the cluster's certificates (`restapi.certfile`); PGO and the Patroni peers verify them",
            ),
            TlsHop::new(
                "8432 (pgBackRest TLS server)",
                true,
                "pgBackRest's TLS server with mutual certificates PGO issues (repository host ↔ instances)",
            ),
            TlsHop::new(
                "9187 (exporter metrics)",
                false,
                "plain HTTP: PGO's exporter serves TLS only with a custom certificate Secret (`exporter.customTLSSecret`), not rendered; admitted only from the monitoring namespaces",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let t = patroni_timing(cfg(m), r.slo.rto);
        let mut notes = vec![
            format!(
                "{} instances, one primary; Patroni promotes a replica when the leader lease ({} s) expires",
                r.replicas, t.ttl
            ),
            format!(
                "worst-case failover ttl + loop_wait = {} s against an RTO target of {} s",
                t.worst_case_failover().as_secs(),
                r.slo.rto.as_secs()
            ),
            if synchronous(m) {
                "synchronous_mode: failover only to a synchronous standby, so acknowledged commits are never lost (RPO 0)".into()
            } else {
                "asynchronous replication: up to maximum_lag_on_failover bytes may be lost on failover".into()
            },
        ];
        if t == LAB_TIMING {
            notes.push(LAB_MEASURED.into());
        }
        notes
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Failover, Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        let c = cfg(m);
        let t = patroni_timing(c, r.slo.rto);
        let strict = synchronous(m) && c.synchronous_mode_strict.unwrap_or(false);
        let bouncers = bouncers(m);
        let (needed, rule) = if strict && r.replicas > 1 {
            (
                2,
                "synchronous_mode_strict: the primary refuses writes without a synchronous standby",
            )
        } else {
            (1, "any instance can be promoted")
        };
        Redundancy {
            tiers: vec![
                Tier::new("instances", r.replicas, needed, Recovery::NodeRepair, rule)
                    .with_failover(Failover {
                        active: 1,
                        unplanned: t.worst_case_failover(),
                        planned: std::time::Duration::from_secs(u64::from(t.loop_wait)),
                        source: format!(
                            "spec timing: Patroni ttl {} s + loop_wait {} s after a primary loss; a drained primary releases the leader key and a replica takes it within loop_wait",
                            t.ttl, t.loop_wait
                        ),
                    })
                    .with_min_available(r.replicas.saturating_sub(1)),
                Tier::replicated("pgbouncer", bouncers, Recovery::Reschedule).with_min_available(1),
            ],
            journey: None,
        }
    }
}

/// The cluster's pods that carry PGO's label `key` = `value`.
fn pgo_selector(key: &str, value: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            "postgres-operator.crunchydata.com/cluster".to_string(),
            CLUSTER.to_string(),
        ),
        (key.to_string(), value.to_string()),
    ])
}

/// PgBouncer replicas: the render and the availability arithmetic count the same pods.
fn bouncers(m: &Model) -> u32 {
    cfg(m)
        .pgbouncer_replicas
        .unwrap_or(if m.ha() { 2 } else { 1 })
}

/// Patroni's `dynamic_configuration` (kept in the DCS, shared by every member).
fn dynamic_configuration(m: &Model, t: PatroniTiming) -> serde_json::Value {
    let c = cfg(m);
    let sync = synchronous(m);
    json!({
        "synchronous_mode": sync,
        "synchronous_mode_strict": c.synchronous_mode_strict.unwrap_or(false),
        "synchronous_node_count": 1,
        "retry_timeout": t.retry_timeout,
        "maximum_lag_on_failover": c.maximum_lag_on_failover.unwrap_or(1_048_576),
        // Fail over at once when PostgreSQL itself crashes under a live Patroni, instead of
        // retrying locally for 5 minutes (Patroni's default would blow the RTO).
        // `primary_start_timeout` since Patroni 3.0 (`master_start_timeout` is the old name).
        "primary_start_timeout": 0,
        "postgresql": {
            "parameters": {
                "synchronous_commit": if sync { "on" } else { "local" },
                "wal_keep_size": "1GB",
                "password_encryption": "scram-sha-256",
            }
        }
    })
}

fn cluster_meta(m: &Model) -> ObjectMeta {
    let mut meta = k8s::meta(m, ComponentId::Postgresql, CLUSTER, CLUSTER);
    // From PostgreSQL 15 ordinary users may not create in schema `public`, and PGO
    // grants only on the database. With this annotation (and PGO's
    // AutoCreateUserSchema feature gate, Beta and on by default) PGO runs `CREATE
    // SCHEMA IF NOT EXISTS "<user>" AUTHORIZATION "<user>"` in each of the user's
    // databases, which the default search_path `"$user", public` picks first.
    meta.annotations = Some(BTreeMap::from([(
        AUTO_CREATE_USER_SCHEMA.to_string(),
        "true".to_string(),
    )]));
    meta
}

fn instance_set(m: &Model) -> pgo::InstanceSet {
    let r = m.get(ComponentId::Postgresql);
    let sel = pgo_selector(
        "postgres-operator.crunchydata.com/instance-set",
        INSTANCE_SET,
    );
    pgo::InstanceSet {
        name: INSTANCE_SET.into(),
        replicas: r.replicas,
        // Keep a synchronous standby through voluntary disruptions.
        min_available: (r.replicas > 1)
            .then(|| IntOrString::Int(i32::try_from(r.replicas - 1).unwrap_or(1))),
        data_volume_claim_spec: k8s::pvc_spec(&m.rwo_class, &r.storage, "ReadWriteOnce"),
        resources: k8s::resources(&r.resources),
        affinity: k8s::anti_affinity(&sel),
        topology_spread_constraints: k8s::zone_spread(&sel),
    }
}

/// The object store's CA as a projection into PGO's configuration directory, and the file
/// it lands in; `None` for an external store.
fn store_ca(m: &Model) -> Option<(pgo::Projection, String)> {
    // The CA pgBackRest verifies the object store with (`repo1-storage-ca-file`), projected
    // into PGO's configuration directory: MinIO's issued CA, or for ODF the service CA that
    // signs its S3 endpoint. An external store's public CA is in the image's system trust.
    let ca_item = |key: &str| {
        vec![pgo::KeyPath {
            key: key.into(),
            path: k8s::TRUST_OBJECT_STORE_CA.into(),
        }]
    };
    match m.object_store.backend {
        ObjectStoreBackend::Minio => Some(pgo::Projection {
            secret: Some(pgo::SourceRef {
                name: k8s::OBJECT_STORE_CA_SECRET.into(),
                items: ca_item("ca.crt"),
            }),
            config_map: None,
        }),
        ObjectStoreBackend::Odf => Some(pgo::Projection {
            secret: None,
            config_map: Some(pgo::SourceRef {
                name: k8s::SERVICE_CA_CONFIGMAP.into(),
                items: ca_item("service-ca.crt"),
            }),
        }),
        ObjectStoreBackend::External => None,
    }
    .map(|p| {
        (
            p,
            format!("{PGBACKREST_CONFIG_DIR}/{}", k8s::TRUST_OBJECT_STORE_CA),
        )
    })
}

fn pgbackrest(m: &Model) -> pgo::PgBackRest {
    let os = &m.object_store;
    let store_ca = store_ca(m);
    // One source for schedules and retention: spec.backup.postgresql.
    let pgbr = crate::backup::postgresql(m);
    let retention = pgbr.retention_days;
    pgo::PgBackRest {
        configuration: std::iter::once(pgo::Projection {
            secret: Some(pgo::SourceRef {
                name: "postgresql-pgbackrest-s3".into(),
                items: vec![],
            }),
            config_map: None,
        })
        .chain(store_ca.clone().map(|(p, _)| p))
        .collect(),
        global: BTreeMap::from_iter(
            [
                (
                    "repo1-path".to_string(),
                    format!("/pgbackrest/{}/repo1", m.name),
                ),
                ("repo1-retention-full".to_string(), retention.to_string()),
                ("repo1-retention-full-type".to_string(), "time".to_string()),
                ("repo1-s3-uri-style".to_string(), "path".to_string()),
            ]
            .into_iter()
            .chain(store_ca.map(|(_, file)| ("repo1-storage-ca-file".to_string(), file))),
        ),
        repos: vec![pgo::Repo {
            name: "repo1".into(),
            schedules: pgo::Schedules {
                full: pgbr.full.clone(),
                differential: pgbr.differential.clone(),
            },
            s3: pgo::S3 {
                bucket: os.bucket("pgbackrest"),
                endpoint: os.host.clone(),
                region: os.region.clone(),
            },
        }],
    }
}

fn pgbouncer(m: &Model) -> pgo::PgBouncer {
    let n = bouncers(m);
    let sel = pgo_selector("postgres-operator.crunchydata.com/role", "pgbouncer");
    pgo::PgBouncer {
        replicas: n,
        min_available: (n > 1).then_some(IntOrString::Int(1)),
        resources: k8s::resources(&crate::model::Resources {
            cpu_request: "100m".into(),
            memory_request: "128Mi".into(),
            cpu_limit: "500m".into(),
            memory_limit: "256Mi".into(),
        }),
        affinity: k8s::anti_affinity(&sel),
        topology_spread_constraints: k8s::zone_spread(&sel),
    }
}

fn users(m: &Model) -> Vec<pgo::User> {
    consumers(m)
        .into_iter()
        .map(|id| pgo::User {
            name: id.name().into(),
            databases: vec![id.name().into()],
        })
        .collect()
}

fn cluster(m: &Model) -> Cr<pgo::PostgresClusterSpec> {
    let r = m.get(ComponentId::Postgresql);
    let t = patroni_timing(cfg(m), r.slo.rto);
    Cr {
        api_version: pgo::POSTGRES_CLUSTER.0,
        kind: pgo::POSTGRES_CLUSTER.1,
        metadata: cluster_meta(m),
        spec: pgo::PostgresClusterSpec {
            postgres_version: r.version.parse().unwrap_or(16),
            image: (!r.image.is_empty()).then(|| r.image.clone()),
            openshift: true,
            instances: vec![instance_set(m)],
            patroni: pgo::Patroni {
                leader_lease_duration_seconds: t.ttl,
                sync_period_seconds: t.loop_wait,
                dynamic_configuration: dynamic_configuration(m, t),
            },
            backups: pgo::Backups {
                pgbackrest: pgbackrest(m),
            },
            monitoring: pgo::Monitoring {
                pgmonitor: pgo::PgMonitor {
                    exporter: BTreeMap::new(),
                },
            },
            proxy: pgo::Proxy {
                pg_bouncer: pgbouncer(m),
            },
            users: users(m),
        },
    }
}

/// The README body; `template::fill` puts in the values.
const README: &str = include_str!("README.tmpl.md");

impl Postgresql {
    fn readme_body(&self, m: &Model, t: PatroniTiming) -> String {
        let ns = &m.get(self.id()).namespace;
        let mut copy_commands = String::new();
        for u in consumers(m) {
            let target = &m.get(u).namespace;
            copy_commands.push_str(&format!(
                "```bash\noc get secret postgresql-pguser-{u} -n {ns} -o json \\\n  | jq '{{apiVersion, kind, type, data, metadata: {{name: \"{}\", namespace: \"{target}\"}}}}' | oc apply -f -\n```\n\n",
                consumer_secret(u)
            ));
        }
        template::fill(
            README,
            &[
                ("ttl", &t.ttl),
                ("loop_wait", &t.loop_wait),
                ("retry_timeout", &t.retry_timeout),
                ("copy_commands", &copy_commands),
                ("CLUSTER", &CLUSTER),
                ("ns", ns),
            ],
        )
    }
}
