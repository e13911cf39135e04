//! Nessie, the Iceberg catalog: stateless replicas over a JDBC version store on the PostgreSQL
//! cluster, so HA is PostgreSQL's HA plus ≥ 2 interchangeable pods.

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentSpec, DeploymentStrategy, RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, SecretVolumeSource,
    ServiceAccount, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::component::{
    Component, ComponentId, Content, Dep, File, Gate, Group, HealthCheck, OperatorDefaults, TlsHop,
};
use crate::components::postgresql;
use crate::crs::{Cr, openshift};
use crate::docs;
use crate::k8s;
use crate::model::{Defaults, Model, Slo};
use crate::spec::Profile;

/// Quarkus settings that make the JDBC driver verify PostgreSQL (PGO's CA, host name).
const DB_TLS_CONFIG: &str = "nessie-datasource-tls";
const DB_TLS_DIR: &str = "/etc/nessie/datasource";
const DB_TLS_FILE: &str = "datasource-tls.properties";
pub const NAME: &str = "nessie";
const TLS: &str = "nessie-tls";

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct NessieConfig {
    /// Expose the Nessie API through an OpenShift Route (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<bool>,
    /// Route host (default: the cluster's generated host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

pub struct Nessie;
pub static NESSIE: Nessie = Nessie;

impl Component for Nessie {
    fn id(&self) -> ComponentId {
        ComponentId::Nessie
    }
    fn summary(&self) -> &'static str {
        "Nessie Iceberg catalog: stateless replicas, version store on PostgreSQL (JDBC), warehouse on the object store"
    }
    fn phase(&self) -> u8 {
        3
    }
    fn dir(&self) -> &'static str {
        "05-nessie"
    }
    fn group(&self) -> Group {
        Group::Catalog
    }
    fn deps(&self) -> &'static [Dep] {
        &[Dep::On(ComponentId::Postgresql), Dep::ObjectStore]
    }
    fn operator(&self) -> Option<OperatorDefaults> {
        None
    }
    fn defaults(&self, profile: Profile) -> Defaults {
        let slo = Slo::new(99.95, 10, 30);
        let image = "ghcr.io/projectnessie/nessie:0.104.5";
        match profile {
            Profile::Ha => Defaults {
                replicas: 2,
                storage: "0",
                requests: ("500m", "1Gi"),
                limits: ("2", "2Gi"),
                image,
                version: "0.104.5",
                slo,
            },
            Profile::Dev => Defaults {
                replicas: 1,
                storage: "0",
                requests: ("250m", "512Mi"),
                limits: ("1", "1Gi"),
                image,
                version: "0.104.5",
                slo,
            },
        }
    }
    fn manifests(&self) -> &'static [&'static str] {
        &["nessie-deployment.yaml"]
    }
    fn buckets(&self) -> &'static [&'static str] {
        &["warehouse"]
    }

    fn render(&self, m: &Model) -> Vec<File> {
        let r = m.get(self.id());
        let id = self.id();
        let cfg = &m.platform.spec.components.nessie.config;
        let sel = k8s::selector(NAME);
        let os = &m.object_store;
        let db_secret = postgresql::consumer_secret(id);
        let env = vec![
            k8s::env("NESSIE_VERSION_STORE_TYPE", "JDBC2"),
            k8s::env("NESSIE_VERSION_STORE_PERSIST_JDBC_DATASOURCE", "postgresql"),
            k8s::env_secret(
                "QUARKUS_DATASOURCE_POSTGRESQL_JDBC_URL",
                &db_secret,
                "jdbc-uri",
            ),
            k8s::env_secret("QUARKUS_DATASOURCE_POSTGRESQL_USERNAME", &db_secret, "user"),
            k8s::env_secret(
                "QUARKUS_DATASOURCE_POSTGRESQL_PASSWORD",
                &db_secret,
                "password",
            ),
            k8s::env("NESSIE_CATALOG_DEFAULT_WAREHOUSE", "warehouse"),
            k8s::env(
                "NESSIE_CATALOG_WAREHOUSES_WAREHOUSE_LOCATION",
                format!("s3://{}/", os.bucket("warehouse")),
            ),
            k8s::env(
                "NESSIE_CATALOG_SERVICE_S3_DEFAULT_OPTIONS_ENDPOINT",
                os.endpoint.clone(),
            ),
            k8s::env(
                "NESSIE_CATALOG_SERVICE_S3_DEFAULT_OPTIONS_REGION",
                os.region.clone(),
            ),
            k8s::env(
                "NESSIE_CATALOG_SERVICE_S3_DEFAULT_OPTIONS_PATH_STYLE_ACCESS",
                "true",
            ),
            k8s::env(
                "NESSIE_CATALOG_SERVICE_S3_DEFAULT_OPTIONS_ACCESS_KEY",
                "urn:nessie-secret:quarkus:nessie.catalog.secrets.access-key",
            ),
            k8s::env_secret(
                "NESSIE_CATALOG_SECRETS_ACCESS_KEY_NAME",
                &os.credentials_secret,
                "AWS_ACCESS_KEY_ID",
            ),
            k8s::env_secret(
                "NESSIE_CATALOG_SECRETS_ACCESS_KEY_SECRET",
                &os.credentials_secret,
                "AWS_SECRET_ACCESS_KEY",
            ),
            // The JDBC driver verifies PostgreSQL's certificate: a properties file, because the
            // connection URL comes verbatim from PGO's Secret.
            k8s::env(
                "QUARKUS_CONFIG_LOCATIONS",
                format!("file:{DB_TLS_DIR}/{DB_TLS_FILE}"),
            ),
            // TLS on the pod itself, so the Route re-encrypts instead of speaking HTTP inside.
            k8s::env("QUARKUS_HTTP_SSL_PORT", "8443"),
            k8s::env("QUARKUS_HTTP_INSECURE_REQUESTS", "disabled"),
            k8s::env(
                "QUARKUS_HTTP_SSL_CERTIFICATE_FILES",
                "/etc/nessie/tls/tls.crt",
            ),
            k8s::env(
                "QUARKUS_HTTP_SSL_CERTIFICATE_KEY_FILES",
                "/etc/nessie/tls/tls.key",
            ),
        ];
        let container = Container {
            name: NAME.into(),
            image: Some(r.image.clone()),
            env: Some(env),
            ports: Some(vec![
                ContainerPort {
                    name: Some("https".into()),
                    container_port: 8443,
                    ..Default::default()
                },
                ContainerPort {
                    name: Some("management".into()),
                    container_port: 9000,
                    ..Default::default()
                },
            ]),
            liveness_probe: Some(k8s::http_probe(
                "/q/health/live",
                "management",
                "HTTP",
                10,
                6,
            )),
            readiness_probe: Some(k8s::http_probe(
                "/q/health/ready",
                "management",
                "HTTP",
                5,
                3,
            )),
            resources: Some(k8s::resources(&r.resources)),
            security_context: Some(k8s::container_security(true)),
            volume_mounts: Some(vec![
                VolumeMount {
                    name: "tmp".into(),
                    mount_path: "/tmp".into(),
                    ..Default::default()
                },
                k8s::mount("db-tls", DB_TLS_DIR, true),
                postgresql::ca_mount("postgresql-ca"),
                VolumeMount {
                    name: "tls".into(),
                    mount_path: "/etc/nessie/tls".into(),
                    read_only: Some(true),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        };
        let mut pod_labels = k8s::labels(m, id, NAME);
        pod_labels.retain(|k, _| k.starts_with("app"));
        let deploy = Deployment {
            metadata: k8s::meta(m, id, NAME, NAME),
            spec: Some(DeploymentSpec {
                replicas: Some(i32::try_from(r.replicas).unwrap_or(2)),
                selector: LabelSelector {
                    match_labels: Some(sel.clone()),
                    ..Default::default()
                },
                // Never dip below the current count during a rollout.
                strategy: Some(DeploymentStrategy {
                    type_: Some("RollingUpdate".into()),
                    rolling_update: Some(RollingUpdateDeployment {
                        max_unavailable: Some(IntOrString::Int(0)),
                        max_surge: Some(IntOrString::Int(1)),
                    }),
                }),
                template: PodTemplateSpec {
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
                        containers: vec![container],
                        volumes: Some(vec![
                            k8s::config_map_volume("db-tls", DB_TLS_CONFIG),
                            postgresql::ca_volume("postgresql-ca"),
                            Volume {
                                name: "tmp".into(),
                                empty_dir: Some(EmptyDirVolumeSource::default()),
                                ..Default::default()
                            },
                            Volume {
                                name: "tls".into(),
                                secret: Some(SecretVolumeSource {
                                    secret_name: Some(TLS.into()),
                                    default_mode: Some(0o400),
                                    ..Default::default()
                                }),
                                ..Default::default()
                            },
                        ]),
                        ..Default::default()
                    }),
                },
                ..Default::default()
            }),
            ..Default::default()
        };
        let svc = k8s::service(
            m,
            id,
            NAME,
            NAME,
            vec![
                k8s::service_port("https", 443),
                k8s::service_port("management", 9000),
            ],
            false,
            k8s::serving_cert_annotation(TLS),
        );
        let sa = ServiceAccount {
            metadata: k8s::meta(m, id, NAME, NAME),
            automount_service_account_token: Some(false),
            ..Default::default()
        };
        let db_tls = k8s::config_map(
            m,
            id,
            DB_TLS_CONFIG,
            NAME,
            std::collections::BTreeMap::from([(
                DB_TLS_FILE.to_string(),
                format!(
                    "quarkus.datasource.postgresql.jdbc.additional-jdbc-properties.sslmode=verify-full\nquarkus.datasource.postgresql.jdbc.additional-jdbc-properties.sslrootcert={}\n",
                    postgresql::ca_file()
                ),
            )]),
        );
        let mut objects = vec![
            k8s::to_value(&sa),
            k8s::to_value(&db_tls),
            k8s::to_value(&svc),
            k8s::to_value(&deploy),
        ];
        if let Some(pdb) = k8s::pdb(m, id, NAME, NAME, &sel, r.replicas, false) {
            objects.push(k8s::to_value(&pdb));
        }
        if cfg.route.unwrap_or(true) {
            let mut md = k8s::meta(m, id, NAME, NAME);
            if let Some(h) = &cfg.host {
                md.annotations = Some(std::collections::BTreeMap::from([(
                    "datalyptica.io/host".to_string(),
                    h.clone(),
                )]));
            }
            let route = Cr {
                api_version: openshift::ROUTE.0,
                kind: openshift::ROUTE.1,
                metadata: md,
                spec: openshift::RouteSpec {
                    to: openshift::RouteTarget {
                        kind: "Service",
                        name: NAME.into(),
                        weight: 100,
                    },
                    port: openshift::RoutePort {
                        target_port: IntOrString::String("https".into()),
                    },
                    tls: openshift::RouteTls {
                        termination: "reencrypt",
                        insecure_edge_termination_policy: "Redirect",
                    },
                    wildcard_policy: "None",
                },
            };
            let mut v = k8s::to_value(&route);
            if let Some(h) = &cfg.host {
                v["spec"]["host"] = serde_json::Value::String(h.clone());
            }
            objects.push(v);
        }
        let dir = self.dir();
        vec![
            File {
                path: format!("{dir}/nessie-deployment.yaml"),
                content: Content::Objects {
                    header: format!(
                        "Nessie: {} replicas, JDBC version store on {} (Secret {db_secret}), warehouse s3://{}/ on {}.",
                        r.replicas,
                        postgresql::primary_host(m),
                        os.bucket("warehouse"),
                        os.endpoint
                    ),
                    objects,
                },
            },
            docs::component_readme(m, self, ""),
        ]
    }

    fn gates(&self, m: &Model) -> Vec<Gate> {
        let ns = &m.get(self.id()).namespace;
        vec![Gate::deployment_available(
            ns,
            NAME,
            "Available with all replicas ready",
        )]
    }

    fn health_checks(&self, m: &Model) -> Vec<HealthCheck> {
        let ns = &m.get(self.id()).namespace;
        vec![HealthCheck {
            what: "readiness (version store and object store reachable)".into(),
            command: format!(
                "oc exec -n {ns} deploy/{NAME} -- curl -sf http://localhost:9000/q/health/ready"
            ),
        }]
    }

    fn tls(&self, _m: &Model) -> Vec<TlsHop> {
        vec![
            TlsHop::new(
                "8443 (REST), Route",
                true,
                "service-CA serving certificate; Route `reencrypt` with `Redirect`",
            ),
            TlsHop::new(
                "9000 (Quarkus management: metrics, health)",
                false,
                "plain HTTP management interface, admitted only from the monitoring namespaces",
            ),
        ]
    }

    fn ha_notes(&self, m: &Model) -> Vec<String> {
        let r = m.get(self.id());
        vec![
            format!("{} stateless replicas on different nodes; a lost pod costs in-flight requests only", r.replicas),
            "commits live in PostgreSQL: Nessie's RPO and RTO are bounded by the PostgreSQL cluster's".into(),
        ]
    }

    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy {
        use crate::availability::{Recovery, Redundancy, Tier};
        let r = m.get(self.id());
        Redundancy {
            tiers: vec![
                Tier::replicated("replicas", r.replicas, Recovery::Reschedule)
                    .with_max_unavailable(1),
            ],
            journey: None,
        }
    }
}
