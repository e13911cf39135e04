//! Trino as plain Deployments (no operator is maintained for it on OperatorHub): one coordinator,
//! ≥ 3 workers, and an Iceberg catalog over Nessie and the object store.
//!
//! The coordinator is a single point of failure in Trino: there is no standby coordinator and
//! running queries die with it. The renderer does the best Trino allows: a fast restart, a
//! `Recreate` rollout so two coordinators never run at once, and workers that survive it.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, ExecAction, Lifecycle, LifecycleHandler, Probe};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Component, ComponentId, Dep, File, Gate, Group, HealthCheck, OperatorDefaults, TlsHop,
};
use crate::components::{nessie, spec_pointer};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::Profile;
use crate::validate::Issue;

pub const NAME: &str = "trino";
pub const COORDINATOR: &str = "trino-coordinator";
pub const WORKER: &str = "trino-worker";
const CONFIG: &str = "trino-config";
const PORT: i32 = 8080;

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TrinoConfig {
    /// `shutdown.grace-period` of the workers in seconds (default 60): how long a worker keeps
    /// announcing itself as shutting down before and after draining its tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown_grace_seconds: Option<u32>,
    /// `terminationGracePeriodSeconds` of the workers (default 2 × grace + 300): must cover two
    /// grace periods plus the longest task you want to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub termination_grace_seconds: Option<u32>,
}

pub struct Trino;
pub static TRINO: Trino = Trino;

fn grace(m: &Model) -> (u32, u32) {
    let c = &m.platform.spec.components.trino.config;
    let g = c.shutdown_grace_seconds.unwrap_or(60);
    (g, c.termination_grace_seconds.unwrap_or(2 * g + 300))
}

/// In-cluster URL of the coordinator (what clients and Superset use).
pub fn url(m: &Model) -> String {
    format!(
        "http://{NAME}.{}.svc:{PORT}",
        m.get(ComponentId::Trino).namespace
    )
}

pub fn nessie_uri(m: &Model) -> String {
    format!(
        "https://{}.{}.svc/api/v2",
        nessie::NAME,
        m.get(ComponentId::Nessie).namespace
    )
}

fn props(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={v}\n")).collect()
}

impl Component for Trino {
    fn id(&self) -> ComponentId {
        ComponentId::Trino
    }
    fn summary(&self) -> &'static str {
        "Trino SQL engine: 1 coordinator and ≥ 3 workers with graceful shutdown, Iceberg catalog on Nessie and the object store"
    }
    fn phase(&self) -> u8 {
        5
    }
    fn dir(&self) -> &'static str {
        "08-trino"
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
    fn min_ha_replicas(&self) -> u32 {
        3
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        // 99.9, not 99.95: the single coordinator's restart (≈ 1–2 min) is an outage.
        let slo = Slo::new(99.9, 0, 120);
        let image = "trinodb/trino:476";
        match profile {
            Profile::Ha => Defaults {
                replicas: 3,
                storage: "0",
                requests: ("2", "8Gi"),
                limits: ("4", "8Gi"),
                image,
                version: "476",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("500m", "2Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "476",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &[
            "trino-config.yaml",
            "trino-coordinator.yaml",
            "trino-workers.yaml",
        ]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["warehouse"]
    }

    fn validate(&self, m: &Model, out: &mut Vec<Issue>) {
        let (g, t) = grace(m);
        if t < 2 * g {
            out.push(Issue::new(
                format!("{}/config/terminationGraceSeconds", spec_pointer(self.id())),
                format!(
                    "{t} s does not cover two shutdown grace periods of {g} s (expected ≥ {})",
                    2 * g
                ),
            ));
        }
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let id = self.id();
        let ns = &r.namespace;
        let os = &m.object_store;
        let (g, term) = grace(m);
        let discovery = url(m);
        let common = [
            ("http-server.http.port", PORT.to_string()),
            ("discovery.uri", discovery.clone()),
        ];
        let mut coord = vec![
            ("coordinator", "true".to_string()),
            ("node-scheduler.include-coordinator", "false".to_string()),
        ];
        coord.extend(common.iter().cloned());
        let mut worker = vec![
            ("coordinator", "false".to_string()),
            ("shutdown.grace-period", format!("{g}s")),
        ];
        worker.extend(common.iter().cloned());
        let iceberg = props(&[
            ("connector.name", "iceberg".into()),
            ("iceberg.catalog.type", "nessie".into()),
            ("iceberg.nessie-catalog.uri", nessie_uri(m)),
            ("iceberg.nessie-catalog.ref", "main".into()),
            (
                "iceberg.nessie-catalog.default-warehouse-dir",
                format!("s3://{}/", os.bucket("warehouse")),
            ),
            ("fs.native-s3.enabled", "true".into()),
            ("s3.endpoint", os.endpoint.clone()),
            ("s3.region", os.region.clone()),
            ("s3.path-style-access", "true".into()),
            // Resolved from the pod's environment at startup: the key never lands in a file.
            ("s3.aws-access-key", "${ENV:AWS_ACCESS_KEY_ID}".into()),
            ("s3.aws-secret-key", "${ENV:AWS_SECRET_ACCESS_KEY}".into()),
        ]);
        let data = BTreeMap::from([
            ("coordinator.properties".to_string(), props(&coord)),
            ("worker.properties".to_string(), props(&worker)),
            (
                "node.properties".to_string(),
                props(&[
                    ("node.environment", m.name.replace('-', "_")),
                    ("node.id", "${ENV:HOSTNAME}".into()),
                    ("node.data-dir", "/data/trino".into()),
                ]),
            ),
            (
                "jvm.config".to_string(),
                "-server\n-XX:InitialRAMPercentage=70\n-XX:MaxRAMPercentage=70\n-XX:+ExitOnOutOfMemoryError\n-XX:+HeapDumpOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n".to_string(),
            ),
            ("iceberg.properties".to_string(), iceberg),
        ]);
        let cm = k8s::config_map(m, id, CONFIG, NAME, data);
        let container = |role: &str, lifecycle: Option<Lifecycle>| {
            let mut mounts = vec![
                k8s::mount("data", "/data/trino", false),
                k8s::mount("tmp", "/tmp", false),
            ];
            for (file, dest) in [
                (format!("{role}.properties"), "config.properties"),
                ("node.properties".to_string(), "node.properties"),
                ("jvm.config".to_string(), "jvm.config"),
            ] {
                let mut mt = k8s::mount("config", &format!("/etc/trino/{dest}"), true);
                mt.sub_path = Some(file);
                mounts.push(mt);
            }
            let mut cat = k8s::mount("config", "/etc/trino/catalog/iceberg.properties", true);
            cat.sub_path = Some("iceberg.properties".into());
            mounts.push(cat);
            Container {
                name: "trino".into(),
                image: Some(r.image.clone()),
                env: Some(vec![
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
                ]),
                ports: Some(vec![k8s::container_port("http", PORT)]),
                // A restarted coordinator is back within seconds of the JVM start: the startup
                // probe allows the start, liveness then restarts quickly.
                startup_probe: Some(Probe {
                    initial_delay_seconds: Some(10),
                    ..k8s::http_probe("/v1/info", "http", "HTTP", 5, 36)
                }),
                liveness_probe: Some(k8s::http_probe("/v1/info", "http", "HTTP", 10, 3)),
                readiness_probe: Some(k8s::http_probe("/v1/info", "http", "HTTP", 5, 2)),
                resources: Some(k8s::resources(&r.resources)),
                // The launcher writes only under node.data-dir (its working directory, also
                // where heap dumps land) and the JVM under /tmp: both are emptyDirs.
                security_context: Some(k8s::container_security(true)),
                volume_mounts: Some(mounts),
                lifecycle,
                ..Default::default()
            }
        };
        let volumes = vec![
            k8s::config_map_volume("config", CONFIG),
            k8s::empty_dir_volume("data"),
            k8s::empty_dir_volume("tmp"),
        ];
        // The worker announces SHUTTING_DOWN, stops taking splits, finishes its tasks and exits;
        // the sleep keeps the container alive meanwhile (Kubernetes kills it after preStop).
        let pre_stop = Lifecycle {
            pre_stop: Some(LifecycleHandler {
                exec: Some(ExecAction {
                    command: Some(vec![
                        "/bin/sh".into(),
                        "-c".into(),
                        format!(
                            "curl -sf -X PUT -H 'Content-Type: application/json' -H 'X-Trino-User: admin' -d '\"SHUTTING_DOWN\"' http://localhost:{PORT}/v1/info/state; sleep {}",
                            2 * g
                        ),
                    ]),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let mut coordinator = k8s::deployment(
            m,
            id,
            k8s::Workload {
                app: COORDINATOR.into(),
                replicas: 1,
                containers: vec![container("coordinator", None)],
                volumes: volumes.clone(),
                service_account: Some(NAME.into()),
                termination_grace_seconds: Some(30),
                recreate: true,
                ..Default::default()
            },
        );
        // A second coordinator would split the cluster: the single replica is deliberate, and
        // the waiver says so to `datalyptica lint` and to reviewers.
        coordinator.metadata.annotations = Some(std::collections::BTreeMap::from([(
            "lint.datalyptica.io/waive".to_string(),
            "DL1001: Trino runs exactly one active coordinator (availability figures account for it)".to_string(),
        )]));
        let workers = k8s::deployment(
            m,
            id,
            k8s::Workload {
                app: WORKER.into(),
                replicas: r.replicas,
                containers: vec![container("worker", Some(pre_stop))],
                volumes,
                service_account: Some(NAME.into()),
                termination_grace_seconds: Some(i64::from(term)),
                ..Default::default()
            },
        );
        let mut svc = k8s::service(
            m,
            id,
            NAME,
            COORDINATOR,
            vec![k8s::service_port("http", PORT)],
            false,
            BTreeMap::new(),
        );
        svc.metadata.labels = Some(k8s::labels(m, id, NAME));
        let sel = k8s::selector(WORKER);
        let mut worker_objs = vec![k8s::to_value(&workers)];
        if let Some(pdb) = k8s::pdb(m, id, WORKER, WORKER, &sel, r.replicas, false) {
            worker_objs.push(k8s::to_value(&pdb));
        }
        let dir = self.dir();
        vec![
            k8s::objects_file(
                format!("{dir}/trino-config.yaml"),
                format!(
                    "Trino configuration: Iceberg catalog on Nessie ({}) and s3://{}/ at {} (credentials from Secret {}).",
                    nessie_uri(m),
                    os.bucket("warehouse"),
                    os.endpoint,
                    os.credentials_secret
                ),
                vec![
                    // Own identity, no API token: Trino never calls the Kubernetes API.
                    k8s::to_value(&k8s_openapi::api::core::v1::ServiceAccount {
                        metadata: k8s::meta(m, id, NAME, NAME),
                        automount_service_account_token: Some(false),
                        ..Default::default()
                    }),
                    k8s::to_value(&cm),
                ],
            ),
            k8s::objects_file(
                format!("{dir}/trino-coordinator.yaml"),
                format!(
                    "Trino coordinator (single instance: Trino has no standby coordinator). Service {NAME}.{ns}.svc:{PORT}."
                ),
                vec![k8s::to_value(&svc), k8s::to_value(&coordinator)],
            ),
            k8s::objects_file(
                format!("{dir}/trino-workers.yaml"),
                format!(
                    "Trino workers: {}, graceful shutdown (grace period {g} s, termination grace {term} s), PDB maxUnavailable 1.",
                    r.replicas
                ),
                worker_objs,
            ),
            docs::component_readme(m, self, &readme_body(m)),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        [COORDINATOR, WORKER]
            .iter()
            .map(|d| Gate::deployment_available(ns, d, "Available"))
            .collect()
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "active workers seen by the coordinator, and the Iceberg catalog".into(),
            command: format!(
                "oc exec -n {ns} deploy/{COORDINATOR} -- trino --execute \"SELECT count(*) FROM system.runtime.nodes WHERE coordinator = false AND state = 'active'; SHOW SCHEMAS FROM iceberg\""
            ),
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![TlsHop::new(
            "8080 (HTTP)",
            false,
            "plain HTTP inside the namespace: HTTPS needs a PEM keystore from the serving certificate and an internal shared secret (follow-up)",
        )]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        let (g, _) = grace(m);
        vec![
            "the coordinator is a single point of failure: Trino has no standby coordinator, so a coordinator loss fails running queries and refuses new ones until it restarts (availability target 99.9 %, not 99.95 %)".into(),
            "no PodDisruptionBudget on the coordinator: a budget over one pod would block every node drain; a drain costs one coordinator restart instead".into(),
            format!("{} workers on different nodes; a lost worker fails only the queries with tasks on it", r.replicas),
            format!("workers drain on shutdown (shutdown.grace-period {g} s): rolling updates and node drains finish running tasks; PDB maxUnavailable 1"),
            "state lives in Nessie and the object store: nothing to recover on the Trino side (RPO 0)".into(),
        ]
    }
}

fn readme_body(m: &Model) -> String {
    format!(
        "## Single point of failure: the coordinator\n\nTrino runs exactly one coordinator; there is no standby and no leader election. When it dies, running queries fail and clients reconnect after it restarts (typically 1–2 minutes with the startup probe). The rollout strategy is `Recreate` so that two coordinators never run at once (workers would announce themselves to both). There is deliberately **no PDB on the coordinator**: a `minAvailable: 1` budget on one pod blocks every node drain forever. Plan maintenance windows for coordinator restarts, or run a second independent Trino cluster behind a gateway (trino-gateway) when 99.95 % is required.\n\n## Clients\n\n`{}` — catalog `iceberg`. Superset's SQLAlchemy URI: `trino://<user>@{}.{}.svc:{PORT}/iceberg`.\n\n## Trust\n\nNessie serves TLS from the OpenShift service CA; add the service CA to the Trino JVM trust store (e.g. a truststore built from the `openshift-service-ca.crt` ConfigMap) before the first query.\n\n",
        url(m),
        NAME,
        m.get(ComponentId::Trino).namespace
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;
    use crate::validate::validate;

    #[test]
    fn default_ha_renders_coordinator_workers_and_catalog() {
        let p = Platform::default_ha();
        assert!(validate(&p).is_empty(), "{:?}", validate(&p));
        let m = Model::new(&p);
        let files = TRINO.render(&m);
        let objs: Vec<_> = files.iter().flat_map(|f| f.objects().to_vec()).collect();
        let kinds: Vec<_> = objs
            .iter()
            .map(|o| o["kind"].as_str().unwrap_or(""))
            .collect();
        assert_eq!(
            kinds,
            [
                "ServiceAccount",
                "ConfigMap",
                "Service",
                "Deployment",
                "Deployment",
                "PodDisruptionBudget"
            ]
        );
        assert_eq!(objs[4]["spec"]["replicas"], 3);
        let cat = objs[1]["data"]["iceberg.properties"].as_str().unwrap_or("");
        assert!(cat.contains("iceberg.catalog.type=nessie"));
        assert!(cat.contains("s3.path-style-access=true"));
        assert_eq!(m.get(ComponentId::Trino).slo.availability, 99.9);
    }

    #[test]
    fn too_few_workers_and_short_grace_are_reported() {
        let mut p = Platform::default_ha();
        p.spec.components.trino.replicas = Some(2);
        p.spec.components.trino.config.termination_grace_seconds = Some(30);
        let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
        assert!(ptrs.contains(&"/spec/components/trino/replicas".to_string()));
        assert!(
            ptrs.contains(&"/spec/components/trino/config/terminationGraceSeconds".to_string())
        );
    }
}
