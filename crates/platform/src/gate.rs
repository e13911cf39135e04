//! Readiness gates: what `deploy` waits for before the next step, typed by the kind of object
//! they watch. A gate renders its own `oc wait` text for the docs; the cluster crate evaluates
//! it against the live object. Components name the kind and object, never the command.

use std::time::Duration;

/// The kinds a gate waits on. Each knows its API version and which labels its operator puts on
/// the pods, so `deploy`, `status`, the GitOps export and the tests match on this enum,
/// exhaustively, instead of on kind strings; a new kind fails to compile until every evaluator
/// handles it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum GateKind {
    Deployment,
    StatefulSet,
    Job,
    PostgresCluster,
    Tenant,
    Kafka,
    FlinkDeployment,
    ClickHouseInstallation,
    ClickHouseKeeperInstallation,
}

impl GateKind {
    pub const ALL: [GateKind; 9] = [
        GateKind::Deployment,
        GateKind::StatefulSet,
        GateKind::Job,
        GateKind::PostgresCluster,
        GateKind::Tenant,
        GateKind::Kafka,
        GateKind::FlinkDeployment,
        GateKind::ClickHouseInstallation,
        GateKind::ClickHouseKeeperInstallation,
    ];

    /// `(apiVersion, kind)` as the tree renders it.
    pub const fn type_ref(self) -> (&'static str, &'static str) {
        use crate::crs::{clickhouse, flink, minio, pgo, strimzi};
        match self {
            GateKind::Deployment => ("apps/v1", "Deployment"),
            GateKind::StatefulSet => ("apps/v1", "StatefulSet"),
            GateKind::Job => ("batch/v1", "Job"),
            GateKind::PostgresCluster => pgo::POSTGRES_CLUSTER,
            GateKind::Tenant => minio::TENANT,
            GateKind::Kafka => strimzi::KAFKA,
            GateKind::FlinkDeployment => flink::FLINK_DEPLOYMENT,
            GateKind::ClickHouseInstallation => clickhouse::CHI,
            GateKind::ClickHouseKeeperInstallation => clickhouse::CHK,
        }
    }

    pub const fn api_version(self) -> &'static str {
        self.type_ref().0
    }

    pub const fn kind(self) -> &'static str {
        self.type_ref().1
    }

    /// The kind named `kind`, if gates know it.
    pub fn parse(kind: &str) -> Option<GateKind> {
        GateKind::ALL.into_iter().find(|k| k.kind() == kind)
    }

    /// The labels its operator puts on the pods of the object named `name`; empty where the
    /// object carries its own selector (Deployment, StatefulSet: read it from the live object).
    pub fn pod_labels(self, name: &str) -> Vec<(&'static str, String)> {
        match self {
            GateKind::Deployment | GateKind::StatefulSet => vec![],
            GateKind::Job => vec![("batch.kubernetes.io/job-name", name.into())],
            GateKind::PostgresCluster => {
                vec![("postgres-operator.crunchydata.com/cluster", name.into())]
            }
            GateKind::Tenant => vec![("v1.min.io/tenant", name.into())],
            GateKind::Kafka => vec![("strimzi.io/cluster", name.into())],
            // The operator's labels on JobManager pods (flink-kubernetes `Constants`).
            GateKind::FlinkDeployment => {
                vec![("app", name.into()), ("component", "jobmanager".into())]
            }
            GateKind::ClickHouseInstallation => vec![("clickhouse.altinity.com/chi", name.into())],
            GateKind::ClickHouseKeeperInstallation => {
                vec![("clickhouse-keeper.altinity.com/chk", name.into())]
            }
        }
    }

    /// The resource name `oc` takes (`oc wait chi/…`).
    const fn oc_resource(self) -> &'static str {
        match self {
            GateKind::Deployment => "deployment",
            GateKind::StatefulSet => "statefulset",
            GateKind::Job => "job",
            GateKind::PostgresCluster => "postgrescluster",
            GateKind::Tenant => "tenant",
            GateKind::Kafka => "kafka",
            GateKind::FlinkDeployment => "flinkdeployment",
            GateKind::ClickHouseInstallation => "chi",
            GateKind::ClickHouseKeeperInstallation => "chk",
        }
    }

    /// What the cluster crate's evaluator checks, for humans.
    const fn condition(self) -> &'static str {
        match self {
            GateKind::Deployment => "Available",
            GateKind::StatefulSet => "rolled out",
            GateKind::Job => "Complete",
            GateKind::PostgresCluster => "all instances ready and a Patroni leader elected",
            GateKind::Tenant => "tenant initialized and health green",
            GateKind::Kafka => "Ready (all node pools rolled, entity operator running)",
            GateKind::FlinkDeployment => "JobManager deployment READY",
            GateKind::ClickHouseInstallation | GateKind::ClickHouseKeeperInstallation => {
                "status Completed"
            }
        }
    }

    /// How long `deploy` waits by default: operators that roll several pods in turn (Kafka,
    /// ClickHouse) get longer.
    const fn timeout(self) -> Duration {
        Duration::from_secs(match self {
            GateKind::Deployment | GateKind::StatefulSet | GateKind::FlinkDeployment => 600,
            GateKind::Job
            | GateKind::PostgresCluster
            | GateKind::Tenant
            | GateKind::ClickHouseKeeperInstallation => 900,
            GateKind::Kafka | GateKind::ClickHouseInstallation => 1200,
        })
    }
}

impl std::fmt::Display for GateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// A readiness gate: the condition `deploy` waits for before the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub kind: GateKind,
    pub namespace: String,
    pub name: String,
    /// Human form of the condition.
    pub condition: String,
    pub timeout: Duration,
    /// PostgresCluster only: the ready replicas of the first instance set that the docs' `oc
    /// wait` expects (the evaluator reads every set's count from the live object).
    instances: u32,
}

impl Gate {
    /// A gate on the object `kind` `ns/name` with the kind's own condition and timeout.
    pub fn new(kind: GateKind, ns: &str, name: &str) -> Gate {
        Gate {
            kind,
            namespace: ns.into(),
            name: name.into(),
            condition: kind.condition().into(),
            timeout: kind.timeout(),
            instances: 1,
        }
    }

    /// A PostgresCluster whose `instances` replicas are ready with a Patroni leader.
    pub fn postgres(ns: &str, name: &str, instances: u32) -> Gate {
        Gate {
            instances,
            ..Gate::new(GateKind::PostgresCluster, ns, name)
        }
    }

    /// A Deployment that reports the `Available` condition.
    pub fn deployment_available(ns: &str, name: &str, condition: impl Into<String>) -> Gate {
        Gate::new(GateKind::Deployment, ns, name).described(condition)
    }

    /// A StatefulSet whose rollout has completed (every replica updated and ready).
    pub fn statefulset_rolled_out(ns: &str, name: &str, condition: impl Into<String>) -> Gate {
        Gate::new(GateKind::StatefulSet, ns, name).described(condition)
    }

    /// The same gate, its condition said in the component's words (counts, roles).
    pub fn described(self, condition: impl Into<String>) -> Gate {
        Gate {
            condition: condition.into(),
            ..self
        }
    }

    /// The command a person runs to wait for the same condition.
    pub fn wait_command(&self) -> String {
        let (ns, name) = (&self.namespace, &self.name);
        let resource = self.kind.oc_resource();
        let timeout = format!("--timeout={}m", self.timeout.as_secs().div_ceil(60));
        let until = match self.kind {
            GateKind::StatefulSet => {
                return format!("oc rollout status {resource}/{name} -n {ns} {timeout}");
            }
            GateKind::Deployment => "condition=Available".to_string(),
            GateKind::Job => "condition=Complete".to_string(),
            GateKind::Kafka => "condition=Ready".to_string(),
            GateKind::PostgresCluster => format!(
                "jsonpath='{{.status.instances[0].readyReplicas}}'={}",
                self.instances
            ),
            GateKind::Tenant => "jsonpath='{.status.healthStatus}'=green".to_string(),
            GateKind::FlinkDeployment => {
                "jsonpath='{.status.jobManagerDeploymentStatus}'=READY".to_string()
            }
            GateKind::ClickHouseInstallation | GateKind::ClickHouseKeeperInstallation => {
                "jsonpath='{.status.status}'=Completed".to_string()
            }
        };
        format!("oc wait {resource}/{name} -n {ns} --for={until} {timeout}")
    }
}
