//! What every component declares. Adding a component means one folder under `components/`
//! (its render, monitoring, backup, exposure and README template), one variant of
//! [`ComponentId`] with its line in [`crate::components::ALL`] and [`crate::components::get`],
//! and its entry in [`crate::spec::ComponentsSpec`]. The methods that say what it monitors,
//! backs up and exposes have no default: a component that omits them does not compile (see the
//! doc test on [`Component`]).

use serde_json::Value;

use crate::model::{Defaults, Model};
use crate::spec::Profile;
use crate::validate::Issue;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentId {
    Postgresql,
    Redis,
    Etcd,
    Minio,
    Nessie,
    Kafka,
    Flink,
    Trino,
    Spark,
    Clickhouse,
    Airflow,
    Superset,
}

impl ComponentId {
    pub fn name(self) -> &'static str {
        match self {
            Self::Postgresql => "postgresql",
            Self::Redis => "redis",
            Self::Etcd => "etcd",
            Self::Minio => "minio",
            Self::Nessie => "nessie",
            Self::Kafka => "kafka",
            Self::Flink => "flink",
            Self::Trino => "trino",
            Self::Spark => "spark",
            Self::Clickhouse => "clickhouse",
            Self::Airflow => "airflow",
            Self::Superset => "superset",
        }
    }
}

impl std::fmt::Display for ComponentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The layer a component's namespace belongs to (with the `per-group` layout).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Group {
    Core,
    Storage,
    Catalog,
    Streaming,
    Analytics,
    Orchestration,
}

impl Group {
    pub fn name(self) -> &'static str {
        match self {
            Self::Core => "core",
            Self::Storage => "storage",
            Self::Catalog => "catalog",
            Self::Streaming => "streaming",
            Self::Analytics => "analytics",
            Self::Orchestration => "orchestration",
        }
    }
}

/// A dependency. `ObjectStore` is MinIO only when the spec's object-store backend is MinIO.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dep {
    On(ComponentId),
    ObjectStore,
}

/// The OperatorHub package a component is installed from (defaults; the spec overrides).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperatorDefaults {
    pub display: &'static str,
    pub package: &'static str,
    pub channel: &'static str,
    pub source: &'static str,
    /// The bundle at the head of `channel` in OpenShift's catalog (`../shared/catalog/index.yaml`),
    /// whose CRDs the rendered custom resources are written for and validated against.
    pub head: &'static str,
}

/// An operator installed from its upstream release manifests, pinned by version and carried in
/// the component's `operator-install.yaml`, because no OpenShift catalog channel serves what the
/// tree renders (the MinIO Operator left certified-operators in 2025).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedOperator {
    pub display: &'static str,
    /// Upstream release tag the manifests are generated for (e.g. `v7.1.1`).
    pub version: &'static str,
    /// Name of the operator's Deployment in the operators' namespace.
    pub deployment: &'static str,
    /// Why OLM is not used, one sentence for the READMEs.
    pub why: &'static str,
}

pub use crate::gate::{Gate, GateKind};

/// A deep health check of the seed's troubleshooting section: what it shows and how it runs.
/// The docs show [`HealthCheck::command`]; `status --deep` runs the typed exec, never the text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub what: String,
    pub check: Check,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A command run in a pod; `probe` names the tool whose output `status --deep` reads
    /// (`None`: shown in the docs only).
    Exec {
        exec: Exec,
        probe: Option<DeepProbe>,
    },
    /// Any other `oc` command (reads of object status, commands with quoting), for the docs.
    Oc(String),
}

/// `oc exec -n NAMESPACE POD [-c CONTAINER] -- ARGV…`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Exec {
    pub namespace: String,
    pub pod: PodRef,
    pub container: Option<String>,
    /// Words without shell syntax: the docs join them with spaces and `status --deep` passes
    /// them to the exec API as they are.
    pub argv: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PodRef {
    Name(String),
    /// The first running pod of an equality selector.
    Selector(String),
}

/// Tools whose output `datalyptica status --deep` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeepProbe {
    Patroni,
    Sentinel,
    Etcd,
    Minio,
}

impl HealthCheck {
    /// The command as the docs show it.
    pub fn command(&self) -> String {
        match &self.check {
            Check::Exec { exec, .. } => exec.command(),
            Check::Oc(text) => text.clone(),
        }
    }
}

impl Exec {
    pub fn new<W: Into<String>>(
        namespace: &str,
        pod: PodRef,
        container: Option<&str>,
        argv: impl IntoIterator<Item = W>,
    ) -> Exec {
        Exec {
            namespace: namespace.into(),
            pod,
            container: container.map(str::to_string),
            argv: argv.into_iter().map(Into::into).collect(),
        }
    }

    /// The `oc exec` line; a selector becomes `$(oc get pod -n NS -l SELECTOR -o name)`.
    pub fn command(&self) -> String {
        let ns = &self.namespace;
        let pod = match &self.pod {
            PodRef::Name(n) => n.clone(),
            PodRef::Selector(sel) => format!("$(oc get pod -n {ns} -l {sel} -o name)"),
        };
        let container = self
            .container
            .as_ref()
            .map(|c| format!(" -c {c}"))
            .unwrap_or_default();
        format!(
            "oc exec -n {ns} {pod}{container} -- {}",
            self.argv.join(" ")
        )
    }
}

/// One file of the rendered tree, relative to the tree root.
#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub path: String,
    pub content: Content,
}

impl File {
    /// The Kubernetes objects of the file (none for Markdown).
    pub fn objects(&self) -> &[Value] {
        match &self.content {
            Content::Objects { objects, .. } => objects,
            Content::Markdown(_) => &[],
        }
    }
}

/// Every object a component renders, in file order.
pub fn rendered_objects(c: &dyn Component, m: &Model) -> Vec<Value> {
    c.render(m)
        .iter()
        .flat_map(|f| f.objects().to_vec())
        .collect()
}

#[derive(Debug, Clone, PartialEq)]
pub enum Content {
    /// Kubernetes objects, written as multi-document YAML under a comment header.
    Objects {
        header: String,
        objects: Vec<Value>,
    },
    Markdown(String),
}

/// One hop a component serves: its ports, whether it is TLS, and how (or why not).
#[derive(Debug, Clone, PartialEq)]
pub struct TlsHop {
    pub ports: String,
    pub tls: bool,
    pub how: String,
}

impl TlsHop {
    pub fn new(ports: impl Into<String>, tls: bool, how: impl Into<String>) -> Self {
        TlsHop {
            ports: ports.into(),
            tls,
            how: how.into(),
        }
    }
}

/// What a component backs up with objects of its own (its `backup.yaml`), or why it needs none.
#[derive(Debug, Clone, PartialEq)]
pub enum Backup {
    Objects {
        /// One line for the file's header.
        header: String,
        objects: Vec<Value>,
        /// The pods those objects run, for the network policies.
        pods: crate::security::PodGroup,
    },
    /// No backup objects of ours, and why (its operator backs it up, its state lives in
    /// another component, or the spec asks for none).
    None(&'static str),
}

/// Everything a component declares about itself. Pure: no I/O, no async.
///
/// A component must state its monitoring, backup and exposure; leaving any out is a compile
/// error, not a silent "none". This impl compiles:
///
/// ```no_run
/// use datalyptica_platform::component::*;
/// use datalyptica_platform::model::{Defaults, Model};
/// use datalyptica_platform::{availability::Redundancy, security::Exposure, spec::Profile};
/// use serde_json::Value;
/// struct New;
/// impl Component for New {
///     fn id(&self) -> ComponentId { ComponentId::Superset }
///     fn summary(&self) -> &'static str { "new" }
///     fn phase(&self) -> u8 { 6 }
///     fn dir(&self) -> &'static str { "13-new" }
///     fn group(&self) -> Group { Group::Analytics }
///     fn deps(&self) -> &'static [Dep] { &[] }
///     fn operator(&self) -> Option<OperatorDefaults> { None }
///     fn defaults(&self, _: Profile) -> Defaults { todo!() }
///     fn manifests(&self) -> &'static [&'static str] { &[] }
///     fn render(&self, _: &Model) -> Vec<File> { vec![] }
///     fn gates(&self, _: &Model) -> Vec<Gate> { vec![] }
///     fn health_checks(&self, _: &Model) -> Vec<HealthCheck> { vec![] }
///     fn tls(&self, _: &Model) -> Vec<TlsHop> { vec![] }
///     fn ha_notes(&self, _: &Model) -> Vec<String> { vec![] }
///     fn redundancy(&self, _: &Model) -> Redundancy { todo!() }
///     fn monitoring(&self, _: &Model) -> Vec<Value> { vec![] }
///     fn backup(&self, _: &Model) -> Backup { Backup::None("stateless") }
///     fn exposure(&self, _: &Model) -> Exposure { todo!() }
///     fn writable_root_reason(&self) -> &'static str { "none" }
///     fn backup_bucket(&self) -> Option<&'static str> { None }
///     fn served_by_operator(&self) -> Option<(Value, Vec<u16>)> { None }
/// }
/// ```
///
/// and the same impl without `monitoring`, `backup` and `exposure` does not:
///
/// ```compile_fail,E0046
/// use datalyptica_platform::component::*;
/// use datalyptica_platform::model::{Defaults, Model};
/// use datalyptica_platform::{availability::Redundancy, security::Exposure, spec::Profile};
/// use serde_json::Value;
/// struct New;
/// impl Component for New {
///     fn id(&self) -> ComponentId { ComponentId::Superset }
///     fn summary(&self) -> &'static str { "new" }
///     fn phase(&self) -> u8 { 6 }
///     fn dir(&self) -> &'static str { "13-new" }
///     fn group(&self) -> Group { Group::Analytics }
///     fn deps(&self) -> &'static [Dep] { &[] }
///     fn operator(&self) -> Option<OperatorDefaults> { None }
///     fn defaults(&self, _: Profile) -> Defaults { todo!() }
///     fn manifests(&self) -> &'static [&'static str] { &[] }
///     fn render(&self, _: &Model) -> Vec<File> { vec![] }
///     fn gates(&self, _: &Model) -> Vec<Gate> { vec![] }
///     fn health_checks(&self, _: &Model) -> Vec<HealthCheck> { vec![] }
///     fn tls(&self, _: &Model) -> Vec<TlsHop> { vec![] }
///     fn ha_notes(&self, _: &Model) -> Vec<String> { vec![] }
///     fn redundancy(&self, _: &Model) -> Redundancy { todo!() }
/// }
/// ```
pub trait Component: Sync {
    fn id(&self) -> ComponentId;
    /// One line for `explain` and the README.
    fn summary(&self) -> &'static str;
    /// The seed's phase (1..=6).
    fn phase(&self) -> u8;
    /// Directory in the rendered tree (e.g. `01-postgresql-ha`).
    fn dir(&self) -> &'static str;
    fn group(&self) -> Group;
    fn deps(&self) -> &'static [Dep];
    /// Its operator from an OLM catalog (a Subscription), if any.
    fn operator(&self) -> Option<OperatorDefaults>;
    /// Its operator from upstream release manifests carried in the tree, if any. A component
    /// has at most one of `operator` and `carried_operator`.
    fn carried_operator(&self) -> Option<CarriedOperator> {
        None
    }
    /// Members form a majority quorum: the `ha` profile demands an odd count ≥ 3.
    fn quorum(&self) -> bool {
        false
    }
    /// Least replica count for HA in the `ha` profile.
    fn min_ha_replicas(&self) -> u32 {
        2
    }
    fn defaults(&self, profile: Profile) -> Defaults;
    /// The YAML files of its directory, in apply order (READMEs and ordering use this list;
    /// a test checks that `render` writes exactly these).
    fn manifests(&self) -> &'static [&'static str];
    /// Object-store buckets it needs (purpose names; see `ObjectStore::bucket`).
    fn buckets(&self) -> &'static [&'static str] {
        &[]
    }
    /// Component-specific checks beyond the common ones.
    fn validate(&self, _m: &Model, _issues: &mut Vec<Issue>) {}
    fn render(&self, m: &Model) -> Vec<File>;
    fn gates(&self, m: &Model) -> Vec<Gate>;
    fn health_checks(&self, m: &Model) -> Vec<HealthCheck>;
    /// Its PodMonitors, ServiceMonitors and PrometheusRules (its folder's `monitoring.rs`).
    /// No default: a component without metrics says so by returning none, in its own folder.
    fn monitoring(&self, m: &Model) -> Vec<Value>;
    /// Its backup objects (its folder's `backup.rs`), or why it has none. No default.
    fn backup(&self, m: &Model) -> Backup;
    /// Its pods, the ports their clients, peers, operator and Prometheus use, and its Route
    /// (its folder's `exposure.rs`); the network policies are built from this. No default.
    fn exposure(&self, m: &Model) -> crate::security::Exposure;
    /// Why its image needs a writable root filesystem, for the containers that keep one
    /// (restricted-v2 still applies); the docs and the lint waivers quote it.
    fn writable_root_reason(&self) -> &'static str;
    /// Bucket purpose of the backup files its own CronJob uploads (`None`: it has no such
    /// files; pgBackRest, MinIO replication and MirrorMaker 2 keep their own stores).
    fn backup_bucket(&self) -> Option<&'static str>;
    /// Pods of its operator that its own pods connect to (selector in the operators'
    /// namespace, ports), for the network policies; `None` for most.
    fn served_by_operator(&self) -> Option<(Value, Vec<u16>)>;
    /// Transport security of each hop it serves: every hop is declared, TLS or not, so the
    /// docs' TLS table misses nothing (a test checks every exposed port has a row) and a plain
    /// hop says why.
    fn tls(&self, m: &Model) -> Vec<TlsHop>;
    /// What HA means for this component, one line per fact (for READMEs and `explain`).
    fn ha_notes(&self, m: &Model) -> Vec<String>;
    /// How it stays available: its groups of members, how many of each must be up, what a
    /// failover costs, its disruption budgets and the user journey it is the entry of.
    /// `datalyptica availability` and the `slo.availability` check compute from this alone.
    fn redundancy(&self, m: &Model) -> crate::availability::Redundancy;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;

    #[test]
    fn every_gate_kind_parses_back_from_its_name() {
        for k in GateKind::ALL {
            assert_eq!(GateKind::parse(k.kind()), Some(k));
            assert_eq!(k.to_string(), k.kind());
        }
        assert_eq!(GateKind::parse("RedisReplication"), None);
    }

    /// Exec health checks are words the docs join with spaces and `status --deep` passes to the
    /// exec API unchanged: no word may need shell quoting, or the two would disagree.
    #[test]
    fn exec_health_checks_are_plain_words_and_render_as_oc_exec() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let mut probed = vec![];
        for c in m.enabled_components() {
            for h in c.health_checks(&m) {
                let Check::Exec { exec: e, probe } = &h.check else {
                    continue;
                };
                for w in &e.argv {
                    assert!(
                        !w.is_empty() && !w.contains([' ', '\'', '"', '$', '|', ';', '`', '(']),
                        "{}: argv word {w:?} needs quoting",
                        c.id()
                    );
                }
                assert!(
                    h.command()
                        .starts_with(&format!("oc exec -n {} ", e.namespace))
                );
                assert!(h.command().ends_with(&e.argv.join(" ")));
                probed.extend(*probe);
            }
        }
        assert_eq!(
            probed,
            [
                DeepProbe::Patroni,
                DeepProbe::Sentinel,
                DeepProbe::Etcd,
                DeepProbe::Minio
            ]
        );
        let by_label = Exec::new("ns", PodRef::Selector("a=b".into()), Some("c"), ["x"]);
        assert_eq!(
            by_label.command(),
            "oc exec -n ns $(oc get pod -n ns -l a=b -o name) -c c -- x"
        );
    }

    /// A gate on an object the tree renders finds it under the API version its kind names;
    /// the others watch what an operator creates (StatefulSets, Jobs).
    #[test]
    fn gated_objects_are_rendered_with_their_kinds_api_version() {
        for profile in [Profile::Ha, Profile::Dev] {
            let mut p = Platform::default_ha();
            p.spec.profile = profile;
            let m = Model::new(&p);
            let mut found = 0;
            for c in m.enabled_components() {
                let objects = rendered_objects(c, &m);
                for g in c.gates(&m) {
                    let o = objects.iter().find(|o| {
                        o["kind"] == g.kind.kind() && o["metadata"]["name"] == g.name.as_str()
                    });
                    if let Some(o) = o {
                        found += 1;
                        assert_eq!(
                            o["apiVersion"],
                            g.kind.api_version(),
                            "{} {}",
                            g.kind,
                            g.name
                        );
                        assert_eq!(o["metadata"]["namespace"], g.namespace.as_str());
                    }
                }
            }
            assert!(found >= 8, "only {found} gated objects rendered");
        }
    }
}
