//! ClickHouse through the Altinity operator: one shard of replicated tables (ReplicatedMergeTree)
//! coordinated by a ClickHouse Keeper ensemble, both rendered as the operator's CRs.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{Container, PodSpec};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Component, ComponentId, Dep, File, Gate, Group, HealthCheck, OperatorDefaults, TlsHop,
};
use crate::components::spec_pointer;
use crate::crs::{Cr, clickhouse as cr};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Resources, Slo};
use crate::spec::Profile;
use crate::validate::Issue;

pub const CHI: &str = "clickhouse";
pub const CHK: &str = "clickhouse-keeper";
pub const CLUSTER: &str = "main";

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

pub struct Clickhouse;
pub static CLICKHOUSE: Clickhouse = Clickhouse;

impl Component for Clickhouse {
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
        let id = self.id();
        let ns = &r.namespace;
        let c = cfg(m);
        let os = &m.object_store;
        let k = keepers(m);
        let pod = |name: &str,
                   image: String,
                   res: &Resources,
                   sel: BTreeMap<String, String>,
                   port: (&str, i32)| cr::PodTemplate {
            name: "pod".into(),
            spec: PodSpec {
                affinity: Some(k8s::anti_affinity(&sel)),
                topology_spread_constraints: Some(k8s::zone_spread(&sel)),
                security_context: Some(k8s::pod_security()),
                containers: vec![Container {
                    name: name.into(),
                    image: Some(image),
                    resources: Some(k8s::resources(res)),
                    security_context: Some(k8s::container_security(false)),
                    ports: Some(if name == "clickhouse" {
                        // Built-in Prometheus endpoint (settings `prometheus/*` below).
                        let (n, p) = crate::monitoring::CLICKHOUSE_METRICS_PORT;
                        vec![
                            k8s::container_port(port.0, port.1),
                            k8s::container_port(n, p),
                        ]
                    } else {
                        vec![k8s::container_port(port.0, port.1)]
                    }),
                    liveness_probe: Some(k8s::tcp_probe(port.0, 10, 6)),
                    readiness_probe: Some(if name == "clickhouse" {
                        k8s::http_probe("/ping", "http", "HTTP", 5, 3)
                    } else {
                        k8s::tcp_probe(port.0, 5, 3)
                    }),
                    env: (name == "clickhouse").then(|| {
                        vec![
                            k8s::env_secret(
                                "AWS_ACCESS_KEY_ID",
                                &os.credentials_secret,
                                "AWS_ACCESS_KEY_ID",
                            ),
                            k8s::env_secret(
                                "AWS_SECRET_ACCESS_KEY",
                                &os.credentials_secret,
                                "AWS_SECRET_ACCESS_KEY",
                            ),
                        ]
                    }),
                    ..Default::default()
                }],
                ..Default::default()
            },
        };
        let vct = |size: &str| cr::VolumeClaimTemplate {
            name: "data".into(),
            spec: k8s::pvc_spec(&m.rwo_class, size, "ReadWriteOnce"),
        };
        let refs = || cr::Defaults {
            templates: cr::TemplateRefs {
                pod_template: "pod".into(),
                data_volume_claim_template: "data".into(),
            },
        };
        let keeper_res = Resources {
            cpu_request: "250m".into(),
            memory_request: "512Mi".into(),
            cpu_limit: "1".into(),
            memory_limit: "1Gi".into(),
        };
        let keeper = Cr {
            api_version: cr::CHK.0,
            kind: cr::CHK.1,
            metadata: k8s::meta(m, id, CHK, CHK),
            spec: cr::InstallationSpec {
                defaults: refs(),
                configuration: cr::Configuration {
                    zookeeper: None,
                    settings: BTreeMap::new(),
                    files: BTreeMap::new(),
                    clusters: vec![cr::Cluster {
                        name: "keeper".into(),
                        // Keeps the Raft majority through a drain.
                        pdb_max_unavailable: 1,
                        layout: cr::Layout {
                            shards_count: None,
                            replicas_count: k,
                        },
                    }],
                },
                templates: cr::Templates {
                    pod_templates: vec![pod(
                        "clickhouse-keeper",
                        c.keeper_image
                            .clone()
                            .unwrap_or_else(|| "clickhouse/clickhouse-keeper:25.3".into()),
                        &keeper_res,
                        BTreeMap::from([(
                            "clickhouse-keeper.altinity.com/chk".to_string(),
                            CHK.to_string(),
                        )]),
                        ("zk", 2181),
                    )],
                    volume_claim_templates: vec![vct(c
                        .keeper_storage
                        .as_deref()
                        .unwrap_or("10Gi"))],
                },
            },
        };
        let backups_xml = format!(
            "<clickhouse>\n  <s3>\n    <backups>\n      <endpoint>{}/{}/</endpoint>\n      <access_key_id from_env=\"AWS_ACCESS_KEY_ID\"/>\n      <secret_access_key from_env=\"AWS_SECRET_ACCESS_KEY\"/>\n      <region>{}</region>\n    </backups>\n  </s3>\n</clickhouse>\n",
            os.endpoint.trim_end_matches('/'),
            os.bucket("clickhouse-backups"),
            os.region
        );
        let chi = Cr {
            api_version: cr::CHI.0,
            kind: cr::CHI.1,
            metadata: k8s::meta(m, id, CHI, CHI),
            spec: cr::InstallationSpec {
                defaults: refs(),
                configuration: cr::Configuration {
                    zookeeper: Some(cr::Zookeeper {
                        nodes: vec![cr::ZkNode {
                            host: format!("keeper-{CHK}.{ns}.svc"),
                            port: 2181,
                        }],
                    }),
                    // ClickHouse's own Prometheus endpoint, scraped by monitoring.yaml's PodMonitor.
                    settings: BTreeMap::from([
                        ("prometheus/endpoint".to_string(), "/metrics".into()),
                        (
                            "prometheus/port".to_string(),
                            crate::monitoring::CLICKHOUSE_METRICS_PORT.1.into(),
                        ),
                        ("prometheus/metrics".to_string(), true.into()),
                        ("prometheus/events".to_string(), true.into()),
                        ("prometheus/asynchronous_metrics".to_string(), true.into()),
                    ]),
                    files: BTreeMap::from([("config.d/backups.xml".to_string(), backups_xml)]),
                    clusters: vec![cr::Cluster {
                        name: CLUSTER.into(),
                        pdb_max_unavailable: 1,
                        layout: cr::Layout {
                            shards_count: Some(c.shards.unwrap_or(1)),
                            replicas_count: r.replicas,
                        },
                    }],
                },
                templates: cr::Templates {
                    pod_templates: vec![pod(
                        "clickhouse",
                        r.image.clone(),
                        &r.resources,
                        BTreeMap::from([(
                            "clickhouse.altinity.com/chi".to_string(),
                            CHI.to_string(),
                        )]),
                        ("http", 8123),
                    )],
                    volume_claim_templates: vec![vct(&r.storage)],
                },
            },
        };
        let dir = self.dir();
        vec![
            docs::operator_install_file(m, self, dir),
            k8s::objects_file(
                format!("{dir}/clickhouse-keeper.yaml"),
                format!("ClickHouse Keeper: {k} members (Raft), PDB maxUnavailable 1."),
                vec![k8s::to_value(&keeper)],
            ),
            k8s::objects_file(
                format!("{dir}/clickhouse-installation.yaml"),
                format!(
                    "ClickHouse: {} shard(s) × {} replicas on Keeper keeper-{CHK}.{ns}.svc:2181; backups to s3://{}/ (credentials from Secret {}).",
                    c.shards.unwrap_or(1),
                    r.replicas,
                    os.bucket("clickhouse-backups"),
                    os.credentials_secret
                ),
                vec![k8s::to_value(&chi)],
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![
            Gate {
                kind: "ClickHouseKeeperInstallation".into(),
                namespace: ns.clone(),
                name: CHK.into(),
                condition: "status Completed".into(),
                wait_command: format!(
                    "oc wait chk/{CHK} -n {ns} --for=jsonpath='{{.status.status}}'=Completed --timeout=15m"
                ),
                timeout: Duration::from_secs(900),
            },
            Gate {
                kind: "ClickHouseInstallation".into(),
                namespace: ns.clone(),
                name: CHI.into(),
                condition: "status Completed".into(),
                wait_command: format!(
                    "oc wait chi/{CHI} -n {ns} --for=jsonpath='{{.status.status}}'=Completed --timeout=20m"
                ),
                timeout: Duration::from_secs(1200),
            },
        ]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "replication queue and read-only replicas (expect none read-only)".into(),
            command: format!(
                "oc exec -n {ns} chi-{CHI}-{CLUSTER}-0-0-0 -- clickhouse-client -q \"SELECT database, table, is_readonly, absolute_delay, queue_size FROM system.replicas\""
            ),
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![TlsHop::new(
            "8123, 9000, 9009, 2181",
            false,
            "plain: the Altinity operator's `secure` ports need certificates (follow-up)",
        )]
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
}

fn readme_body(m: &Model) -> String {
    let ns = &m.get(ComponentId::Clickhouse).namespace;
    format!(
        "## Tables\n\nOnly `Replicated*MergeTree` tables are replicated; create them `ON CLUSTER '{CLUSTER}'` with `ENGINE = ReplicatedMergeTree` (the operator sets the `{{shard}}`/`{{replica}}` macros). Plain `MergeTree` tables live on one replica and are lost with it.\n\n## Backups\n\n`BACKUP DATABASE db TO S3('{}/{}/<name>/')` uses the credentials of `config.d/backups.xml`, read from the pod environment (Secret `{}`).\n\n## Security context\n\nThe pod templates run without a fixed UID (restricted-v2). The upstream image starts as any UID when its data directory is writable by the group, which the PVC provides.\n\nService: `clickhouse-{CHI}.{ns}.svc` (HTTP 8123, native 9000).\n\n",
        m.object_store.endpoint.trim_end_matches('/'),
        m.object_store.bucket("clickhouse-backups"),
        m.object_store.credentials_secret
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

    #[test]
    fn even_keeper_count_is_reported() {
        let mut p = Platform::default_ha();
        p.spec.components.clickhouse.config.keepers = Some(4);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/clickhouse/config/keepers".to_string()));
    }
}
