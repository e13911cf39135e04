//! What each component exposes (its pod groups, client and peer ports, TLS hops), asked of the
//! component itself, and the graph and tables derived from it.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::model::Model;
use crate::spec::ObjectStoreBackend;

/// Pods of a component that share one exposure (a component may run several kinds of pods:
/// ClickHouse servers and Keepers, Spark applications and the history server).
#[derive(Debug, Clone, PartialEq)]
pub struct PodGroup {
    /// Prefix of the policy names of this group (unique per namespace).
    pub name: String,
    /// Kubernetes LabelSelector of the pods (never empty).
    pub selector: Value,
    /// Ports its clients (the components that depend on it) connect to.
    pub client: Vec<u16>,
    /// Ports Prometheus scrapes.
    pub metrics: Vec<u16>,
    /// The pods call the Kubernetes API (leader election, Patroni DCS, pod creation).
    pub api: bool,
    /// The pods read or write the object store (buckets, backups).
    pub object_store: bool,
    /// A job of the component that talks to it as a client (backup jobs, MirrorMaker 2): it
    /// reaches the component's client ports, is no peer and is not managed by the operator.
    pub own_client: bool,
}

/// Ports peers of one component use between themselves.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerPorts {
    None,
    Ports(Vec<u16>),
    /// Ports chosen at run time (Spark's driver ↔ executor block manager): any port, still
    /// only between pods of the component.
    Any,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exposure {
    pub groups: Vec<PodGroup>,
    pub peer: PeerPorts,
    /// Ports the component's operator connects to (Patroni API, Kafka agent, Flink REST …).
    pub operator: Vec<u16>,
    /// Target port of the component's Route, if it renders one.
    pub route: Option<u16>,
}

pub(crate) fn match_labels(pairs: &[(&str, &str)]) -> Value {
    let m: BTreeMap<&str, &str> = pairs.iter().copied().collect();
    json!({ "matchLabels": m })
}

/// Selector of the pods our own labels reach: hand-rendered workloads keep the `app*` labels on
/// their pods, and operators that copy the custom resource's labels (redis-operator, the
/// MinIO tenant's `poolsMetadata`) carry them too.
pub(crate) fn by_component(id: ComponentId) -> Value {
    match_labels(&[("app.kubernetes.io/component", id.name())])
}

pub(crate) fn group(
    name: &str,
    selector: Value,
    client: &[u16],
    metrics: &[u16],
    api: bool,
) -> PodGroup {
    PodGroup {
        name: name.into(),
        selector,
        client: client.to_vec(),
        metrics: metrics.to_vec(),
        api,
        object_store: false,
        own_client: false,
    }
}

/// The single table of ports and pods. Update it with the component when a port changes; the
/// `security` integration test checks it against the rendered Routes and dependencies.
pub fn exposure(m: &Model, id: ComponentId) -> Exposure {
    let mut e = base_exposure(m, id);
    let uses_store = crate::components::ALL
        .iter()
        .find(|c| c.id() == id)
        .is_some_and(|c| {
            m.uses_object_store(*c)
                || c.buckets()
                    .iter()
                    .any(|b| Some(*b) != crate::backup::bucket_purpose(id))
        });
    for g in &mut e.groups {
        // Keepers hold coordination state only; the servers write the backups.
        g.object_store = uses_store && g.name != "clickhouse-keeper";
    }
    // Backup jobs and MirrorMaker 2: clients of their own component, own selector.
    if let Some(g) = crate::backup::pod_group(m, id) {
        e.groups.push(g);
    }
    e
}

/// A component's own pods and ports (its folder's `exposure.rs`).
fn base_exposure(m: &Model, id: ComponentId) -> Exposure {
    crate::components::get(id).exposure(m)
}

/// The operator pods (selector in the operators' namespace) and ports that a component's own
/// pods connect to, as the component declares them.
pub fn served_by_operator(id: ComponentId) -> Option<(Value, Vec<u16>)> {
    crate::components::get(id).served_by_operator()
}

/// Consumer → provider edges between enabled components (the dependency graph).
pub fn edges(m: &Model) -> Vec<(ComponentId, ComponentId)> {
    let mut out: Vec<(ComponentId, ComponentId)> = Vec::new();
    for c in m.enabled_components() {
        for d in m.deps_of(c) {
            if m.enabled(d) {
                out.push((c.id(), d));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Every client pod group → provider pod group flow, with the provider's client ports: all
/// groups of a component along its dependency edges, plus each group that uses the object
/// store to MinIO (pgBackRest and the backup jobs have no deploy-order dependency on MinIO,
/// but talk to it).
pub fn flows(m: &Model) -> Vec<(ComponentId, PodGroup, ComponentId, PodGroup)> {
    let mut out: Vec<(ComponentId, PodGroup, ComponentId, PodGroup)> = Vec::new();
    let mut add = |c: ComponentId, cg: &PodGroup, p: ComponentId| {
        for sg in exposure(m, p)
            .groups
            .into_iter()
            .filter(|g| !g.client.is_empty())
        {
            if !out.iter().any(|(a, ag, b, bg)| {
                *a == c && ag.name == cg.name && *b == p && bg.name == sg.name
            }) {
                out.push((c, cg.clone(), p, sg));
            }
        }
    };
    let edges = edges(m);
    let minio =
        m.object_store.backend == ObjectStoreBackend::Minio && m.enabled(ComponentId::Minio);
    for c in m.enabled_components() {
        for cg in exposure(m, c.id()).groups {
            for (_, p) in edges.iter().filter(|(a, _)| *a == c.id()) {
                add(c.id(), &cg, *p);
            }
            if cg.own_client {
                add(c.id(), &cg, c.id());
            }
            if minio && cg.object_store && c.id() != ComponentId::Minio {
                add(c.id(), &cg, ComponentId::Minio);
            }
        }
    }
    out
}

/// The selector and namespace of every pod group, for tests and the docs.
pub fn groups(m: &Model) -> Vec<(ComponentId, String, PodGroup)> {
    m.enabled_components()
        .flat_map(|c| {
            let ns = m.get(c.id()).namespace.clone();
            exposure(m, c.id())
                .groups
                .into_iter()
                .map(move |g| (c.id(), ns.clone(), g))
        })
        .collect()
}

/// Markdown table of the exposure, for the prerequisites docs.
pub fn exposure_table(m: &Model) -> String {
    let mut s = String::from(
        "| Component | Pods | Client ports | Peer ports | Metrics | Operator | API server | Route |\n|---|---|---|---|---|---|---|---|\n",
    );
    let list = |v: &[u16]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            v.iter().map(u16::to_string).collect::<Vec<_>>().join(", ")
        }
    };
    for c in m.enabled_components() {
        let e = exposure(m, c.id());
        for g in &e.groups {
            let _ = std::fmt::Write::write_fmt(
                &mut s,
                format_args!(
                    "| {} | `{}` | {} | {} | {} | {} | {} | {} |\n",
                    c.id(),
                    g.name,
                    list(&g.client),
                    match &e.peer {
                        _ if g.own_client => "— (client of the component's client ports)".into(),
                        PeerPorts::None => "—".into(),
                        PeerPorts::Ports(p) => list(p),
                        PeerPorts::Any => "any (within the component)".into(),
                    },
                    list(&g.metrics),
                    if g.own_client {
                        "—".into()
                    } else {
                        match served_by_operator(c.id()) {
                            Some((_, p)) => {
                                format!("{}; calls the operator on {}", list(&e.operator), list(&p))
                            }
                            None => list(&e.operator),
                        }
                    },
                    if g.api { "yes" } else { "no" },
                    e.route.map_or("—".into(), |p| p.to_string()),
                ),
            );
        }
    }
    s
}

/// Transport security of every enabled component's hops, as the components declare it.
pub fn tls_hops(m: &Model) -> Vec<(ComponentId, crate::component::TlsHop)> {
    m.enabled_components()
        .flat_map(|c| c.tls(m).into_iter().map(move |h| (c.id(), h)))
        .collect()
}

/// Markdown table of [`tls_hops`].
pub fn tls_table(m: &Model) -> String {
    let mut s = String::from("| Component | Ports | TLS | How |\n|---|---|---|---|\n");
    for (id, h) in tls_hops(m) {
        let _ = writeln!(
            s,
            "| {id} | {} | {} | {} |",
            h.ports,
            if h.tls { "yes" } else { "**no**" },
            h.how
        );
    }
    s
}
