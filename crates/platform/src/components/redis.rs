//! Redis with Sentinel through OT-Container-Kit's redis-operator: chosen over Redis Enterprise
//! because it is open source, on OperatorHub, and runs plain Redis with Sentinel as the seed's
//! table asks (RedisReplication for the data nodes, RedisSentinel for the monitors).

use std::time::Duration;

use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Component, ComponentId, Content, Dep, File, Gate, Group, HealthCheck, OperatorDefaults, TlsHop,
};
use crate::components::spec_pointer;
use crate::crs::{Cr, redis as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::Profile;
use crate::validate::Issue;

pub const REPLICATION: &str = "redis";
pub const SENTINEL: &str = "redis-sentinel";
pub const MASTER_GROUP: &str = "datalyptica";
/// Service that exists for its serving certificate: OpenShift's service CA signs `redis-tls`
/// for it, and every Redis and Sentinel pod serves that certificate.
pub const TLS_SERVICE: &str = "redis-tls";
pub const TLS_SECRET: &str = "redis-tls";
/// ConfigMaps the operator includes at the end of redis.conf and sentinel.conf.
pub const REDIS_CONFIG: &str = "redis-additional-config";
pub const SENTINEL_CONFIG: &str = "redis-sentinel-additional-config";

/// Additional redis.conf. TLS-only on 6379 with replication over TLS: both the operator's
/// agent and its older image entrypoint set part of this, and only this file is ours.
/// `tls-auth-clients optional`: clients verify the servers (service CA); servers do not ask
/// clients for certificates, NetworkPolicies decide who connects.
pub fn server_config(m: &Model) -> String {
    let t = timing(m);
    format!(
        "min-replicas-to-write {}\nmin-replicas-max-lag {}\nappendonly yes\nappendfsync everysec\n{}",
        t.min_replicas_to_write,
        t.min_replicas_max_lag_s,
        tls_config("6379")
    )
}

/// Additional sentinel.conf: the operator's older Sentinel entrypoint ignores TLS entirely.
pub fn sentinel_config() -> String {
    tls_config("26379")
}

fn tls_config(port: &str) -> String {
    format!(
        "port 0\ntls-port {port}\ntls-cert-file /tls/tls.crt\ntls-key-file /tls/tls.key\ntls-ca-cert-file /tls/ca.crt\ntls-replication yes\ntls-auth-clients optional\n"
    )
}

/// The serving certificate Secret as the operator mounts it at `/tls`. OpenShift's `tls.crt`
/// carries the service CA after the leaf, so it doubles as `ca.crt`: peers verify each other
/// against the service CA without a second Secret.
fn tls_spec() -> cr::Tls {
    use k8s_openapi::api::core::v1::{KeyToPath, SecretVolumeSource};
    let item = |key: &str, path: &str| KeyToPath {
        key: key.into(),
        path: path.into(),
        ..Default::default()
    };
    cr::Tls {
        ca: "ca.crt".into(),
        cert: "tls.crt".into(),
        key: "tls.key".into(),
        secret: SecretVolumeSource {
            secret_name: Some(TLS_SECRET.into()),
            items: Some(vec![
                item("tls.crt", "tls.crt"),
                item("tls.key", "tls.key"),
                item("tls.crt", "ca.crt"),
            ]),
            ..Default::default()
        },
    }
}

/// Python (redis-py) keyword arguments every Redis client of the platform passes: TLS,
/// verified against the service CA. Sentinel hands out the master's pod IP, which no serving
/// certificate names, so the chain is checked and the host name is not.
pub fn python_tls_kwargs() -> String {
    format!(
        "{{\"ssl\": True, \"ssl_ca_certs\": \"{}\", \"ssl_cert_reqs\": \"required\", \"ssl_check_hostname\": False}}",
        k8s::SERVICE_CA_FILE
    )
}

/// `redis-cli` flags for the platform's Redis: TLS, verified against the service CA.
pub fn cli_tls_flags() -> String {
    format!("--tls --cacert {}", k8s::SERVICE_CA_FILE)
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RedisConfig {
    /// Sentinel monitors (default 3 in `ha`, 1 in `dev`). Must be odd: a failover needs a
    /// majority of Sentinels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinels: Option<u32>,
    /// Sentinels that must agree the master is down (default: a majority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quorum: Option<u32>,
    /// `down-after-milliseconds`. Derived from `slo.rto` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_after_milliseconds: Option<u32>,
    /// `failover-timeout`. Derived when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failover_timeout_milliseconds: Option<u32>,
    /// `min-replicas-to-write`: the master refuses writes unless this many replicas are
    /// connected (bounds loss when a partitioned master keeps accepting writes). Default 1 in `ha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas_to_write: Option<u32>,
    /// `min-replicas-max-lag` in seconds (default 10).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_replicas_max_lag_seconds: Option<u32>,
    /// Redis image of the Sentinels (default: the Sentinel image of the operator's release).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sentinel_image: Option<String>,
    /// redis_exporter image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exporter_image: Option<String>,
}

/// Sentinel timing the set runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SentinelTiming {
    pub sentinels: u32,
    pub quorum: u32,
    pub down_after_ms: u32,
    pub failover_timeout_ms: u32,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag_s: u32,
}

impl SentinelTiming {
    /// down-after plus the Sentinel election and promotion (≈ 2 s measured in the lab).
    pub fn expected_failover(&self) -> Duration {
        Duration::from_millis(u64::from(self.down_after_ms) + 2000)
    }
}

pub fn timing(m: &Model) -> SentinelTiming {
    let c = cfg(m);
    let r = m.get(ComponentId::Redis);
    let sentinels = c.sentinels.unwrap_or(if m.ha() { 3 } else { 1 });
    let rto_ms = u32::try_from(r.slo.rto.as_millis()).unwrap_or(u32::MAX);
    // A twentieth of the RTO, at least 1 s: the lab measured 1000 ms at RTO p95 2.4 s on master
    // kills (5000 ms gave 6.3 s), well inside the seed's 20 s, while 1 s still rides out
    // sub-second stalls. Raise it (or the RTO) where nodes pause longer.
    let down_after_ms = c
        .down_after_milliseconds
        .unwrap_or_else(|| (rto_ms / 20).clamp(1000, 30_000));
    SentinelTiming {
        sentinels,
        quorum: c.quorum.unwrap_or(k8s::majority(sentinels)),
        down_after_ms,
        failover_timeout_ms: c
            .failover_timeout_milliseconds
            .unwrap_or_else(|| (down_after_ms * 4).max(10_000)),
        min_replicas_to_write: c.min_replicas_to_write.unwrap_or(u32::from(m.ha())),
        min_replicas_max_lag_s: c.min_replicas_max_lag_seconds.unwrap_or(10),
    }
}

fn cfg<'a>(m: &'a Model) -> &'a RedisConfig {
    &m.platform.spec.components.redis.config
}

/// What the lab measured for the default timing (crates/lab: `cargo run --release -p datalyptica-lab --example bench 10`).
pub const LAB_MEASURED: &str = "lab-measured with down-after 1000 ms (`datalyptica drill redis`, Redis 7, 10 trials each): master kill RTO p50 2.3 s / p95 2.4 s, freeze p95 3.2 s, 0 acknowledged writes lost; an 8 s partition of the master loses 0 writes with WAIT 1 and ≈ 690 without it";

/// A Service over the data pods whose only job is its serving certificate (the operator's own
/// Services cannot carry one annotation without three of them claiming the same Secret).
fn tls_service(m: &Model) -> k8s_openapi::api::core::v1::Service {
    k8s::service(
        m,
        ComponentId::Redis,
        TLS_SERVICE,
        REPLICATION,
        vec![k8s::service_port("redis", 6379)],
        false,
        k8s::serving_cert_annotation(TLS_SECRET),
    )
}

pub struct Redis;
pub static REDIS: Redis = Redis;

impl Component for Redis {
    fn id(&self) -> ComponentId {
        ComponentId::Redis
    }
    fn summary(&self) -> &'static str {
        "Redis primary with replicas, watched by Redis Sentinel which promotes a replica on failure (OT-Container-Kit redis-operator)"
    }
    fn phase(&self) -> u8 {
        1
    }
    fn dir(&self) -> &'static str {
        "02-redis-ha"
    }
    fn group(&self) -> Group {
        Group::Core
    }
    fn deps(&self) -> &'static [Dep] {
        &[]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        Some(OperatorDefaults {
            display: "Redis Operator (OT-Container-Kit)",
            package: "redis-operator",
            channel: "stable",
            source: "community-operators",
            head: "0.15.1",
        })
    }
    fn quorum(&self) -> bool {
        // 1 master + replicas: an odd count keeps the Sentinel-side majority arithmetic simple
        // and matches the seed's "3 Redis nodes".
        true
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.9, 5, 20);
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "10Gi",
                requests: ("250m", "1Gi"),
                limits: ("1", "2Gi"),
                image: "quay.io/opstree/redis:v7.0.15",
                version: "7.0",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "2Gi",
                requests: ("100m", "256Mi"),
                limits: ("500m", "512Mi"),
                image: "quay.io/opstree/redis:v7.0.15",
                version: "7.0",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "operator-install.yaml",
            "redis-cluster.yaml",
            "redis-sentinel.yaml",
        ]
    }
    fn buckets(&self) -> &'static [&'static str] {
        // RDB snapshots of the `redis-backup` CronJob (crate::backup).
        &["redis-backups"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let base = format!("{}/config", spec_pointer(self.id()));
        let t = timing(m);
        if m.ha() && (t.sentinels < 3 || t.sentinels.is_multiple_of(2)) {
            out.push(Issue::new(
                format!("{base}/sentinels"),
                format!("{} Sentinels cannot elect a failover leader after losing one (expected an odd count ≥ 3 in the ha profile)", t.sentinels),
            ));
        }
        if t.quorum == 0 || t.quorum > t.sentinels {
            out.push(Issue::new(
                format!("{base}/quorum"),
                format!(
                    "quorum {} is impossible with {} Sentinels (expected 1..={})",
                    t.quorum, t.sentinels, t.sentinels
                ),
            ));
        }
        if t.min_replicas_to_write >= m.get(self.id()).replicas.max(1) {
            out.push(Issue::new(
                format!("{base}/minReplicasToWrite"),
                format!("min-replicas-to-write {} needs more replicas than exist ({} nodes = 1 master + {} replicas): every write would be refused", t.min_replicas_to_write, m.get(self.id()).replicas, m.get(self.id()).replicas.saturating_sub(1)),
            ));
        }
        if t.expected_failover() > m.get(self.id()).slo.rto {
            out.push(Issue::new(
                format!("{}/slo/rto", spec_pointer(self.id())),
                format!("RTO {} ms cannot be met with down-after-milliseconds {} (expected failover ≈ {} ms)", m.get(self.id()).slo.rto.as_millis(), t.down_after_ms, t.expected_failover().as_millis()),
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let c = cfg(m);
        let t = timing(m);
        let id = self.id();
        let data_sel = k8s::selector(REPLICATION);
        let sentinel_sel = k8s::selector(SENTINEL);
        let sc = k8s::container_security(false);
        let exporter = cr::Exporter {
            enabled: true,
            image: c
                .exporter_image
                .clone()
                .unwrap_or_else(|| "quay.io/opstree/redis-exporter:v1.48.0".into()),
        };
        let replication = Cr {
            api_version: cr::REDIS_REPLICATION.0,
            kind: cr::REDIS_REPLICATION.1,
            metadata: k8s::meta(m, id, REPLICATION, REPLICATION),
            spec: cr::RedisReplicationSpec {
                cluster_size: r.replicas,
                tls: tls_spec(),
                kubernetes_config: cr::KubernetesConfig {
                    image: r.image.clone(),
                    image_pull_policy: "IfNotPresent",
                    resources: k8s::resources(&r.resources),
                },
                redis_exporter: exporter,
                redis_config: cr::RedisConfig {
                    additional_redis_config: REDIS_CONFIG.into(),
                },
                storage: cr::Storage {
                    volume_claim_template: PersistentVolumeClaim {
                        metadata: ObjectMeta::default(),
                        spec: Some(k8s::pvc_spec(&m.rwo_class, &r.storage, "ReadWriteOnce")),
                        ..Default::default()
                    },
                },
                affinity: k8s::anti_affinity_zone_preferred(&data_sel),
                pod_security_context: k8s::pod_security(),
                security_context: sc.clone(),
            },
        };
        let sentinel = Cr {
            api_version: cr::REDIS_SENTINEL.0,
            kind: cr::REDIS_SENTINEL.1,
            metadata: k8s::meta(m, id, SENTINEL, SENTINEL),
            spec: cr::RedisSentinelSpec {
                cluster_size: t.sentinels,
                tls: tls_spec(),
                kubernetes_config: cr::KubernetesConfig {
                    image: c
                        .sentinel_image
                        .clone()
                        .unwrap_or_else(|| "quay.io/opstree/redis-sentinel:v7.0.15".into()),
                    image_pull_policy: "IfNotPresent",
                    resources: k8s::resources(&crate::model::Resources {
                        cpu_request: "100m".into(),
                        memory_request: "128Mi".into(),
                        cpu_limit: "250m".into(),
                        memory_limit: "256Mi".into(),
                    }),
                },
                redis_sentinel_config: cr::SentinelConfig {
                    redis_replication_name: REPLICATION.into(),
                    master_group_name: MASTER_GROUP.into(),
                    quorum: t.quorum.to_string(),
                    down_after_milliseconds: t.down_after_ms.to_string(),
                    failover_timeout: t.failover_timeout_ms.to_string(),
                    parallel_syncs: "1".into(),
                    additional_sentinel_config: SENTINEL_CONFIG.into(),
                },
                affinity: k8s::anti_affinity_zone_preferred(&sentinel_sel),
                pod_security_context: k8s::pod_security(),
                security_context: sc,
                pdb: cr::Pdb {
                    enabled: t.sentinels > 1,
                    min_available: k8s::majority(t.sentinels),
                },
            },
        };
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            File {
                path: format!("{dir}/redis-cluster.yaml"),
                content: Content::Objects {
                    header: format!(
                        "Redis data nodes: 1 master + {} replicas, min-replicas-to-write {}, AOF on.",
                        r.replicas.saturating_sub(1),
                        t.min_replicas_to_write
                    ),
                    objects: vec![
                        k8s::to_value(&tls_service(m)),
                        k8s::to_value(&k8s::config_map(
                            m,
                            id,
                            REDIS_CONFIG,
                            REPLICATION,
                            [("redis-additional.conf".to_string(), server_config(m))].into(),
                        )),
                        k8s::to_value(&replication),
                    ]
                    .into_iter()
                    .chain(replication_pdb(m).map(|p| k8s::to_value(&p)))
                    .collect(),
                },
            },
            File {
                path: format!("{dir}/redis-sentinel.yaml"),
                content: Content::Objects {
                    header: format!(
                        "{} Sentinels, quorum {}, down-after {} ms, failover-timeout {} ms (from RTO {} s).",
                        t.sentinels,
                        t.quorum,
                        t.down_after_ms,
                        t.failover_timeout_ms,
                        r.slo.rto.as_secs()
                    ),
                    objects: vec![
                        k8s::to_value(&k8s::config_map(
                            m,
                            id,
                            SENTINEL_CONFIG,
                            SENTINEL,
                            [(
                                "redis-sentinel-additional.conf".to_string(),
                                sentinel_config(),
                            )]
                            .into(),
                        )),
                        k8s::to_value(&sentinel),
                    ],
                },
            },
            docs::component_readme(m, self, &readme_body(m, t)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        let r = m.get(self.id());
        let t = timing(m);
        vec![
            Gate::statefulset_rolled_out(
                ns,
                REPLICATION,
                format!("{} Redis pods ready, one master", r.replicas),
            ),
            // The operator names the Sentinel StatefulSet `<cr name>-sentinel`.
            Gate::statefulset_rolled_out(
                ns,
                &format!("{SENTINEL}-sentinel"),
                format!("{} Sentinels ready and agreeing on the master", t.sentinels),
            ),
        ]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![
            HealthCheck {
                what: "Sentinel's view: master address, number of replicas and other Sentinels"
                    .into(),
                command: format!(
                    "oc exec -n {ns} {SENTINEL}-sentinel-0 -- redis-cli --tls --cacert /tls/ca.crt -p 26379 SENTINEL masters"
                ),
            },
            HealthCheck {
                what: "replication state of the master".into(),
                command: format!(
                    "oc exec -n {ns} {REPLICATION}-0 -- redis-cli --tls --cacert /tls/ca.crt INFO replication"
                ),
            },
        ]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "6379, 26379 (data, replication, Sentinel)",
                true,
                format!(
                    "TLS only (`port 0`): service-CA certificate `{TLS_SECRET}` on every Redis and Sentinel pod, replication and Sentinel links over TLS; clients (Airflow, Superset, `redis-backup`) verify the chain against the service CA but not the host name, because Sentinel hands out pod IPs"
                ),
            ),
            TlsHop::new(
                "9121 (redis_exporter metrics)",
                false,
                "plain HTTP Prometheus endpoint, admitted only from the monitoring namespaces; the exporter itself reaches Redis over TLS",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let t = timing(m);
        let mut notes = vec![
            format!(
                "{} Redis nodes (1 master, {} replicas) and {} Sentinels with quorum {}",
                r.replicas,
                r.replicas.saturating_sub(1),
                t.sentinels,
                t.quorum
            ),
            format!(
                "failover after down-after-milliseconds {} ms plus election and promotion (≈ {} s) against an RTO target of {} s",
                t.down_after_ms,
                t.expected_failover().as_secs(),
                r.slo.rto.as_secs()
            ),
            format!(
                "replication is asynchronous: min-replicas-to-write {} / max-lag {} s bounds what a partitioned master can accept; clients needing RPO 0 use WAIT 1",
                t.min_replicas_to_write, t.min_replicas_max_lag_s
            ),
        ];
        if t.down_after_ms == 1000 {
            notes.push(LAB_MEASURED.into());
        }
        notes
    }
}

fn readme_body(m: &Model, t: SentinelTiming) -> String {
    let ns = &m.get(ComponentId::Redis).namespace;
    format!(
        "## Why this operator\n\nThe seed allows Redis Enterprise or Sentinel. We use OT-Container-Kit's redis-operator (open source, on OperatorHub's community catalog): its `RedisReplication` runs plain Redis with replicas and its `RedisSentinel` watches them, which is exactly the seed's \"3 Redis nodes + 3 Sentinel monitors\". Redis Enterprise needs a licence and runs its own clustering.\n\n## Clients\n\nConnect through Sentinel, never to a fixed pod: `{SENTINEL}-sentinel.{ns}.svc:26379`, master group `{MASTER_GROUP}`. Sentinel settings: quorum {}, down-after {} ms, failover-timeout {} ms, parallel-syncs 1.\n\n## TLS\n\nRedis and Sentinel listen with TLS only. OpenShift's service CA signs `{TLS_SECRET}` for the `{TLS_SERVICE}` Service; the operator mounts it at `/tls` in every pod (`tls.crt` doubles as `ca.crt`: it carries the service CA). Clients mount the namespace's `openshift-service-ca.crt` ConfigMap and connect with TLS, checking the certificate chain; they do not check the host name, because Sentinel answers with pod IPs. redis-py settings: `{}`. From a shell: `redis-cli {} -h {SENTINEL}-sentinel.{ns}.svc -p 26379 SENTINEL get-master-addr-by-name {MASTER_GROUP}`.\n\n",
        t.quorum,
        t.down_after_ms,
        t.failover_timeout_ms,
        python_tls_kwargs(),
        cli_tls_flags()
    )
}

/// redis-operator 0.15.1 renders no PodDisruptionBudget for a RedisReplication (its CRD has no
/// `pdb`), so this one is ours: it keeps a majority of the data nodes through drains. It selects
/// the labels 0.15.1 puts on the replication's pods (`getRedisLabels` in `k8sutils/labels.go`:
/// `app: <name>`, `redis_setup_type: replication`, `role: replication`).
fn replication_pdb(m: &Model) -> Option<k8s_openapi::api::policy::v1::PodDisruptionBudget> {
    let r = m.get(ComponentId::Redis);
    let sel = std::collections::BTreeMap::from([
        ("app".to_string(), REPLICATION.to_string()),
        ("redis_setup_type".to_string(), "replication".to_string()),
        ("role".to_string(), "replication".to_string()),
    ]);
    k8s::pdb(
        m,
        ComponentId::Redis,
        REPLICATION,
        REPLICATION,
        &sel,
        r.replicas,
        true,
    )
}
