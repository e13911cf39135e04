//! Network exposure of every component, declared in one place, and the NetworkPolicies derived
//! from it: default deny (ingress and egress) per namespace, then one allow rule per need —
//! each dependency edge on the provider's client ports, peer traffic, monitoring scrapes,
//! operator access, DNS, the API server, the object store and, only where a Route exists, the
//! router. A consumer gets exactly the ports its provider declares; nothing selects "all pods"
//! or "all namespaces".

use std::collections::BTreeMap;

use serde_json::{Value, json};

use std::fmt::Write;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::component::{ComponentId, Content, File};
use crate::k8s;
use crate::model::Model;
use crate::spec::{ObjectStoreBackend, SecretsMode};

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
/// pods connect to: the MinIO servers fetch new binaries from the operator's upgrade server
/// (`http://operator.<operators namespace>.svc:4221`) when the tenant's image changes.
pub fn served_by_operator(id: ComponentId) -> Option<(Value, Vec<u16>)> {
    use crate::components::minio::operator as mo;
    match id {
        ComponentId::Minio => Some((
            match_labels(&[("name", mo::DEPLOYMENT)]),
            vec![mo::UPGRADE_PORT],
        )),
        ComponentId::Postgresql
        | ComponentId::Redis
        | ComponentId::Etcd
        | ComponentId::Nessie
        | ComponentId::Kafka
        | ComponentId::Flink
        | ComponentId::Trino
        | ComponentId::Spark
        | ComponentId::Clickhouse
        | ComponentId::Airflow
        | ComponentId::Superset => None,
    }
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

/// Selector of a namespace by its immutable name label (set by Kubernetes since 1.21).
pub fn namespace_selector(ns: &str) -> Value {
    json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})
}

fn pods_in(ns: &str, selector: &Value) -> Value {
    json!({"namespaceSelector": namespace_selector(ns), "podSelector": selector})
}

fn tcp(ports: &[u16]) -> Vec<Value> {
    ports
        .iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect()
}

pub const API_SERVER_PORT: u16 = 6443;

struct Builder<'a> {
    m: &'a Model<'a>,
    out: Vec<Value>,
}

impl Builder<'_> {
    fn policy(&mut self, ns: &str, name: &str, selector: &Value, kind: &str, rules: Vec<Value>) {
        let mut labels = crate::prereqs::platform_labels(self.m);
        labels.insert(
            "app.kubernetes.io/component".into(),
            "network-policy".into(),
        );
        let key = if kind == "Ingress" {
            "ingress"
        } else {
            "egress"
        };
        self.out.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"podSelector": selector, "policyTypes": [kind], key: rules},
        }));
    }

    fn ingress(
        &mut self,
        ns: &str,
        name: &str,
        sel: &Value,
        from: Vec<Value>,
        ports: Option<&[u16]>,
    ) {
        let mut rule = json!({ "from": from });
        if let Some(p) = ports {
            rule["ports"] = json!(tcp(p));
        }
        self.policy(ns, name, sel, "Ingress", vec![rule]);
    }

    fn egress(&mut self, ns: &str, name: &str, sel: &Value, to: Vec<Value>, ports: Option<&[u16]>) {
        let mut rule = json!({ "to": to });
        if let Some(p) = ports {
            rule["ports"] = json!(tcp(p));
        }
        self.policy(ns, name, sel, "Egress", vec![rule]);
    }

    /// Both halves of one allowed flow: egress from the client, ingress to the server.
    fn flow(
        &mut self,
        (cns, cname, csel): (&str, &str, &Value),
        (sns, sname, ssel): (&str, &str, &Value),
        ports: Option<&[u16]>,
    ) {
        self.egress(
            cns,
            &format!("{cname}-to-{sname}"),
            csel,
            vec![pods_in(sns, ssel)],
            ports,
        );
        self.ingress(
            sns,
            &format!("{sname}-from-{cname}"),
            ssel,
            vec![pods_in(cns, csel)],
            ports,
        );
    }
}

/// Egress to the object store when it is not MinIO: ODF's NooBaa S3 pods, or the external
/// endpoint's port anywhere (a hostname cannot be expressed in a NetworkPolicy).
fn object_store_target(m: &Model) -> Option<(Vec<Value>, Vec<u16>)> {
    let os = &m.object_store;
    match os.backend {
        ObjectStoreBackend::Minio => None,
        ObjectStoreBackend::Odf => Some((
            vec![pods_in(
                "openshift-storage",
                &match_labels(&[("noobaa-s3", "noobaa")]),
            )],
            vec![6443],
        )),
        ObjectStoreBackend::External => Some((
            outside_cluster(m),
            vec![url_port(&os.endpoint).unwrap_or(443)],
        )),
    }
}

fn ip_blocks(cidrs: &[String]) -> Vec<Value> {
    cidrs
        .iter()
        .map(|c| json!({"ipBlock": {"cidr": c}}))
        .collect()
}

/// Peers of egress rules that leave the cluster (external S3, DR sites, the DAG repository,
/// Maven Central for Spark drivers and the History Server):
/// `spec.network.externalCidrs`, or any address when none is given (the rule keeps its port).
pub fn outside_cluster(m: &Model) -> Vec<Value> {
    match m.platform.spec.network.external_cidrs.as_slice() {
        [] => vec![json!({"ipBlock": {"cidr": "0.0.0.0/0"}})],
        cidrs => ip_blocks(cidrs),
    }
}

/// The kube-apiserver's addresses from `spec.network.apiServerCidrs`; `None`: any address.
fn api_server_peers(m: &Model) -> Option<Vec<Value>> {
    let c = &m.platform.spec.network.api_server_cidrs;
    (!c.is_empty()).then(|| ip_blocks(c))
}

/// A CIDR as a NetworkPolicy `ipBlock` takes it: address/prefix with no host bits set.
pub fn check_cidr(s: &str) -> Result<(), String> {
    use std::net::IpAddr;
    let (addr, len) = s.split_once('/').ok_or_else(|| {
        format!("`{s}` has no prefix length (expected a CIDR such as 10.0.0.0/24)")
    })?;
    let ip: IpAddr = addr.parse().map_err(|_| {
        format!("`{addr}` is not an IP address (expected a CIDR such as 10.0.0.0/24)")
    })?;
    let bits = if ip.is_ipv4() { 32 } else { 128 };
    let len: u32 = len
        .parse()
        .ok()
        .filter(|l| *l <= bits)
        .ok_or_else(|| format!("`/{len}` is not a prefix length (expected 0 to {bits})"))?;
    let (value, net) = match ip {
        IpAddr::V4(a) => {
            let v = u128::from(u32::from(a));
            (
                v,
                v & !(u128::from(u32::MAX) >> len.min(32)) & u128::from(u32::MAX),
            )
        }
        IpAddr::V6(a) => {
            let v = u128::from(a);
            (
                v,
                if len == 0 {
                    0
                } else {
                    v & (u128::MAX << (128 - len))
                },
            )
        }
    };
    if value != net {
        let canonical = match ip {
            IpAddr::V4(_) => std::net::Ipv4Addr::from(net as u32).to_string(),
            IpAddr::V6(_) => std::net::Ipv6Addr::from(net).to_string(),
        };
        return Err(format!(
            "`{s}` has host bits set (expected the network address, {canonical}/{len})"
        ));
    }
    Ok(())
}

/// How the egress rules that leave the cluster are pinned, for the docs.
pub fn egress_note(m: &Model) -> String {
    let n = &m.platform.spec.network;
    let list = |c: &[String]| {
        c.iter()
            .map(|x| format!("`{x}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let api = if n.api_server_cidrs.is_empty() {
        "Connections to the API server may go to any address on port 6443: set `spec.network.apiServerCidrs` to your control-plane CIDRs to pin them.".to_string()
    } else {
        format!(
            "Connections to the API server may go only to {} on port 6443.",
            list(&n.api_server_cidrs)
        )
    };
    let ext = if n.external_cidrs.is_empty() {
        "Hops that leave the cluster (external S3, DR sites, the DAG repository, Maven Central for Spark drivers and the History Server) may go to any address on their port: a policy cannot name a host, so set `spec.network.externalCidrs` to pin them.".to_string()
    } else {
        format!(
            "Hops that leave the cluster (external S3, DR sites, the DAG repository, Maven Central for Spark drivers and the History Server) may go only to {}, on their port.",
            list(&n.external_cidrs)
        )
    };
    format!("{api} {ext}")
}

/// Port of an `https://host[:port]/…` URL.
pub fn url_port(url: &str) -> Option<u16> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or_default();
    let port = authority.rsplit_once(':').map(|(_, p)| p)?;
    port.parse().ok()
}

/// Every NetworkPolicy of the platform.
pub fn network_policies(m: &Model) -> Vec<Value> {
    let mut b = Builder { m, out: Vec::new() };
    let all = json!({});
    let ops_ns = m.operators_namespace.clone();
    let owned = crate::prereqs::owned_namespaces(m);
    let dns = json!({
        "namespaceSelector": namespace_selector("openshift-dns"),
        "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
    });
    for ns in &owned {
        let mut labels = crate::prereqs::platform_labels(m);
        labels.insert(
            "app.kubernetes.io/component".into(),
            "network-policy".into(),
        );
        b.out.push(json!({
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": {"name": "default-deny", "namespace": ns, "labels": labels},
            "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
        }));
        let dns_ports: Vec<Value> = [53u16, 5353]
            .iter()
            .flat_map(|p| {
                [
                    json!({"protocol": "UDP", "port": p}),
                    json!({"protocol": "TCP", "port": p}),
                ]
            })
            .collect();
        b.policy(
            ns,
            "allow-dns",
            &all,
            "Egress",
            vec![json!({"to": [dns.clone()], "ports": dns_ports})],
        );
    }
    let ex: BTreeMap<ComponentId, Exposure> = m
        .enabled_components()
        .map(|c| (c.id(), exposure(m, c.id())))
        .collect();
    let ns_of = |id: ComponentId| m.get(id).namespace.clone();

    // Dependency edges and object-store use: client group → provider group on its client ports.
    for (client, cg, provider, sg) in flows(m) {
        b.flow(
            (&ns_of(client), &cg.name, &cg.selector),
            (&ns_of(provider), &sg.name, &sg.selector),
            Some(&sg.client),
        );
    }

    let monitoring: Vec<Value> = ["openshift-monitoring", "openshift-user-workload-monitoring"]
        .iter()
        .map(|ns| {
            pods_in(
                ns,
                &match_labels(&[("app.kubernetes.io/name", "prometheus")]),
            )
        })
        .collect();
    let router = vec![
        json!({"namespaceSelector": {"matchLabels": {"network.openshift.io/policy-group": "ingress"}}}),
        json!({"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/ingress": ""}}}),
    ];
    let operators = json!({"namespaceSelector": namespace_selector(&ops_ns)});
    let api = match api_server_peers(m) {
        Some(to) => vec![json!({"to": to, "ports": tcp(&[API_SERVER_PORT])})],
        None => vec![json!({"ports": tcp(&[API_SERVER_PORT])})],
    };
    let os_target = object_store_target(m);
    for c in m.enabled_components() {
        let id = c.id();
        let ns = ns_of(id);
        let e = &ex[&id];
        // Peers: every group of the component to every group, both directions.
        let peer_ports = match &e.peer {
            PeerPorts::None => None,
            PeerPorts::Ports(p) => Some(Some(p.as_slice())),
            PeerPorts::Any => Some(None),
        };
        if let Some(ports) = peer_ports {
            let members: Vec<&PodGroup> = e.groups.iter().filter(|g| !g.own_client).collect();
            let peers: Vec<Value> = members.iter().map(|g| pods_in(&ns, &g.selector)).collect();
            for g in members {
                b.ingress(
                    &ns,
                    &format!("{}-from-peers", g.name),
                    &g.selector,
                    peers.clone(),
                    ports,
                );
                b.egress(
                    &ns,
                    &format!("{}-to-peers", g.name),
                    &g.selector,
                    peers.clone(),
                    ports,
                );
            }
        }
        for g in &e.groups {
            if !g.metrics.is_empty() {
                b.ingress(
                    &ns,
                    &format!("{}-from-monitoring", g.name),
                    &g.selector,
                    monitoring.clone(),
                    Some(&g.metrics),
                );
            }
            if g.api {
                b.policy(
                    &ns,
                    &format!("{}-to-apiserver", g.name),
                    &g.selector,
                    "Egress",
                    api.clone(),
                );
            }
            if let Some((to, ports)) = &os_target
                && g.object_store
            {
                b.egress(
                    &ns,
                    &format!("{}-to-object-store", g.name),
                    &g.selector,
                    to.clone(),
                    Some(ports),
                );
            }
        }
        if (c.operator().is_some() || c.carried_operator().is_some()) && !e.operator.is_empty() {
            for g in e.groups.iter().filter(|g| !g.own_client) {
                b.ingress(
                    &ns,
                    &format!("{}-from-operator", g.name),
                    &g.selector,
                    vec![operators.clone()],
                    Some(&e.operator),
                );
            }
            if owned.contains(&ops_ns) {
                let to: Vec<Value> = e
                    .groups
                    .iter()
                    .filter(|g| !g.own_client)
                    .map(|g| pods_in(&ns, &g.selector))
                    .collect();
                b.egress(
                    &ops_ns,
                    &format!("operators-to-{id}"),
                    &all,
                    to,
                    Some(&e.operator),
                );
            }
        }
        // Ports the component's own pods call on its operator (MinIO's upgrade server).
        if let Some((op_sel, ports)) = served_by_operator(id) {
            for g in e.groups.iter().filter(|g| !g.own_client) {
                b.egress(
                    &ns,
                    &format!("{}-to-operator", g.name),
                    &g.selector,
                    vec![pods_in(&ops_ns, &op_sel)],
                    Some(&ports),
                );
                if owned.contains(&ops_ns) {
                    b.ingress(
                        &ops_ns,
                        &format!("operators-from-{}", g.name),
                        &op_sel,
                        vec![pods_in(&ns, &g.selector)],
                        Some(&ports),
                    );
                }
            }
        }
        if let Some(port) = e.route {
            for g in e.groups.iter().filter(|g| g.client.contains(&port)) {
                b.ingress(
                    &ns,
                    &format!("{}-from-router", g.name),
                    &g.selector,
                    router.clone(),
                    Some(&[port]),
                );
            }
        }
    }
    b.out.extend(crate::backup::network_policies(m));
    // git-sync clones the DAG repository from outside the cluster.
    if m.enabled(ComponentId::Airflow)
        && let Some(repo) = &m.platform.spec.components.airflow.config.dags_repo
    {
        let port =
            url_port(repo).unwrap_or(if repo.starts_with("ssh://") || repo.starts_with("git@") {
                22
            } else {
                443
            });
        for g in &ex[&ComponentId::Airflow].groups {
            b.egress(
                &ns_of(ComponentId::Airflow),
                &format!("{}-to-git", g.name),
                &g.selector,
                outside_cluster(m),
                Some(&[port]),
            );
        }
    }
    // Spark drivers resolve `spark.jars.packages` (Iceberg, Nessie, hadoop-aws), and the History
    // Server fetches its S3A jars, from Maven Central when they start: HTTPS out of the cluster, pinned by spec.network.externalCidrs.
    if m.enabled(ComponentId::Spark) {
        for g in ex[&ComponentId::Spark]
            .groups
            .iter()
            // Drivers resolve packages; the History Server fetches the S3A jars.
            .filter(|g| {
                g.name == crate::components::spark::APPLICATIONS_GROUP
                    || g.name == crate::components::spark::HISTORY
            })
        {
            b.egress(
                &ns_of(ComponentId::Spark),
                &format!("{}-to-maven", g.name),
                &g.selector,
                outside_cluster(m),
                Some(&[crate::components::spark::MAVEN_PORT]),
            );
        }
    }
    if owned.contains(&ops_ns) {
        b.policy(
            &ops_ns,
            "operators-to-apiserver",
            &all,
            "Egress",
            api.clone(),
        );
        // Admission and conversion webhooks (Flink, MinIO, redis-operator) are called by the
        // API server, which runs on the host network.
        b.ingress(
            &ops_ns,
            "operators-from-apiserver",
            &all,
            vec![json!({"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/host-network": ""}}})],
            Some(&[443, 4222, 4443, 9443]),
        );
    }
    b.out
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

/// Why a component's image needs a writable root filesystem (restricted-v2 still applies).
pub fn writable_root_reason(id: ComponentId) -> &'static str {
    use ComponentId::*;
    match id {
        Flink => "the image entrypoint rewrites `conf/` at start",
        Spark => "the history server and Spark write under `/opt/spark/work-dir` and `$HOME`",
        Clickhouse => "the server writes preprocessed configuration and `/var/log` beside its data",
        Redis => {
            "the operator builds these containers and its entrypoints write a pidfile under `/var/run` in the image; an extra emptyDir there is not proven on a cluster yet"
        }
        Minio => "the operator-managed container writes under its own directories",
        Postgresql | Etcd | Nessie | Kafka | Trino | Airflow | Superset => {
            "the image writes outside its volumes"
        }
    }
}

/// Containers of `files` whose root filesystem stays writable (`object/container`, or the
/// object for an operator CR's one context), sorted. `render` asks it of every component's own
/// files, so a component that becomes read-only drops out of the docs by itself.
pub fn writable_containers(files: &[File]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for o in files.iter().flat_map(File::objects) {
        let obj = o["metadata"]["name"].as_str().unwrap_or_default();
        visit_maps(o, &mut |map| {
            // A container (has an image) or an operator CR's container context (Redis, MinIO:
            // one context for the pods the operator makes).
            for key in ["securityContext", "containerSecurityContext"] {
                if map
                    .get(key)
                    .is_some_and(|sc| sc["readOnlyRootFilesystem"] == Value::Bool(false))
                {
                    names.push(match map.get("name").and_then(Value::as_str) {
                        Some(n) if map.contains_key("image") => format!("{obj}/{n}"),
                        _ => obj.to_string(),
                    });
                }
            }
        });
    }
    names.sort();
    names.dedup();
    names
}

/// Markdown of the pod-security guarantees and the writable-root exceptions (per component,
/// from [`writable_containers`]).
pub fn pod_security_section(writable: &[(ComponentId, Vec<String>)]) -> String {
    let mut s = String::from(
        "## Pod security\n\nEvery container we render runs with `runAsNonRoot`, `allowPrivilegeEscalation: false`, all capabilities dropped, seccomp `RuntimeDefault` and no fixed UID, so `restricted-v2` admits it; pods mount an API token only where a Role grants them something (Flink, Spark drivers, Airflow with the Kubernetes executor). Root filesystems are read-only, with emptyDirs for scratch, except where the image writes into itself:\n\n| Component | Containers | Why |\n|---|---|---|\n",
    );
    for (id, names) in writable.iter().filter(|(_, n)| !n.is_empty()) {
        let _ = writeln!(
            s,
            "| {id} | {} | {} |",
            names
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            writable_root_reason(*id)
        );
    }
    s
}

/// Checks of `spec.secrets` and `spec.network`.
pub fn validate(p: &crate::Platform, out: &mut Vec<crate::validate::Issue>) {
    use crate::validate::Issue;
    let n = &p.spec.network;
    for (field, list) in [
        ("apiServerCidrs", &n.api_server_cidrs),
        ("externalCidrs", &n.external_cidrs),
    ] {
        for (i, c) in list.iter().enumerate() {
            if let Err(e) = check_cidr(c) {
                out.push(Issue::new(format!("/spec/network/{field}/{i}"), e));
            }
        }
    }
    let s = &p.spec.secrets;
    match (&s.mode, &s.store_ref) {
        (SecretsMode::ExternalSecrets, None) => out.push(Issue::new(
            "/spec/secrets/storeRef",
            "mode `external-secrets` needs the SecretStore to read from (expected storeRef.name)",
        )),
        (_, Some(r)) => {
            if r.name.trim().is_empty() {
                out.push(Issue::new(
                    "/spec/secrets/storeRef/name",
                    "empty store name (expected the name of a ClusterSecretStore or SecretStore)",
                ));
            }
            if let Some(k) = &r.kind
                && k != "ClusterSecretStore"
                && k != "SecretStore"
            {
                out.push(Issue::new(
                    "/spec/secrets/storeRef/kind",
                    format!(
                        "`{k}` is not a store kind (expected ClusterSecretStore or SecretStore)"
                    ),
                ));
            }
        }
        _ => {}
    }
}

/// Who makes a Secret the tree references exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Platform credentials: generated by `deploy`, pulled by an ExternalSecret, or sealed,
    /// depending on `spec.secrets.mode`.
    Platform,
    /// Values only the user has (DR sites, external S3, git credentials).
    User(&'static str),
    /// A copy `deploy` makes of an operator's Secret (PGO's per-user credentials).
    Copy { namespace: String, name: String },
    /// Created by an operator or by OpenShift.
    Created(&'static str),
    /// A certificate `deploy` issues from a private CA it keeps in the Secret `ca` of the same
    /// namespace (creating that CA on first use): for TLS that OpenShift's service CA cannot
    /// give, such as client and peer authentication. Issued in every `secrets.mode`.
    Issued { ca: String, request: CertRequest },
}

/// A certificate to issue: subject, names, and what it may authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRequest {
    pub common_name: String,
    pub dns_names: Vec<String>,
    /// Extended key usage `serverAuth`.
    pub server: bool,
    /// Extended key usage `clientAuth`.
    pub client: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretEntry {
    pub namespace: String,
    pub name: String,
    /// Keys read through `secretKeyRef` (empty: mounted or read whole).
    pub keys: std::collections::BTreeSet<String>,
    pub source: SecretSource,
}

/// Calls `f` on every JSON object inside `v`, `v` included.
fn visit_maps(v: &Value, f: &mut dyn FnMut(&serde_json::Map<String, Value>)) {
    match v {
        Value::Object(o) => {
            f(o);
            o.values().for_each(|x| visit_maps(x, f));
        }
        Value::Array(a) => a.iter().for_each(|x| visit_maps(x, f)),
        _ => {}
    }
}

/// Every Secret the objects reference, with where it comes from. Pure: derived from the tree,
/// so a new reference in a component shows up without a second list to maintain.
pub fn secret_inventory(m: &Model, objects: &[&Value]) -> Vec<SecretEntry> {
    use std::collections::BTreeSet;
    let mut refs: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    // Secrets an object asks OpenShift or an operator to create.
    let mut created: BTreeMap<(String, String), &'static str> = BTreeMap::new();
    let mut saw_tenant = false;
    for o in objects {
        let Some(ns) = o["metadata"]["namespace"].as_str() else {
            continue;
        };
        let kind = o["kind"].as_str().unwrap_or_default();
        // On a Service, or on the Service templates of an operator's custom resource.
        visit_maps(o, &mut |mp| {
            if let Some(n) = mp.get(k8s::SERVING_CERT_ANNOTATION).and_then(Value::as_str) {
                created.insert(
                    (ns.into(), n.into()),
                    "OpenShift service CA (serving certificate)",
                );
            }
        });
        if kind == "KafkaUser"
            && let Some(n) = o["metadata"]["name"].as_str()
        {
            created.insert((ns.into(), n.into()), "Strimzi User Operator");
        }
        if kind == "ExternalSecret" {
            continue;
        }
        let mut add = |name: &str, key: Option<&str>| {
            let e = refs.entry((ns.to_string(), name.to_string())).or_default();
            if let Some(k) = key {
                e.insert(k.to_string());
            }
        };
        visit_maps(o, &mut |mp| {
            if let Some(r) = mp.get("secretKeyRef")
                && let Some(n) = r["name"].as_str()
            {
                add(n, r["key"].as_str());
            }
            if let Some(r) = mp.get("secretRef")
                && let Some(n) = r["name"].as_str()
            {
                add(n, None);
            }
            if let Some(n) = mp.get("secretName").and_then(Value::as_str) {
                // A volume that projects `items` reads only those keys.
                match mp.get("items").and_then(Value::as_array) {
                    Some(items) => items
                        .iter()
                        .filter_map(|i| i["key"].as_str())
                        .for_each(|k| add(n, Some(k))),
                    None => add(n, None),
                }
            }
            // A projected volume's Secret: only its `items` keys when it lists them.
            if let Some(sec) = mp.get("secret")
                && let Some(n) = sec["name"].as_str()
            {
                match sec["items"].as_array() {
                    Some(items) => items
                        .iter()
                        .filter_map(|i| i["key"].as_str())
                        .for_each(|k| add(n, Some(k))),
                    None => add(n, None),
                }
            }
        });
        if kind == "Tenant" {
            saw_tenant = true;
            if let Some(n) = o["spec"]["configuration"]["name"].as_str() {
                add(n, None);
            }
            for c in o["spec"]["externalCertSecret"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if let Some(n) = c["name"].as_str() {
                    add(n, None);
                }
            }
        }
        // Scrape credentials are bare {name, key} selectors too.
        if kind == "PodMonitor" || kind == "ServiceMonitor" {
            for list in ["podMetricsEndpoints", "endpoints"] {
                for ep in o["spec"][list].as_array().into_iter().flatten() {
                    for field in ["username", "password"] {
                        let sel = &ep["basicAuth"][field];
                        if let Some(n) = sel["name"].as_str() {
                            add(n, sel["key"].as_str());
                        }
                    }
                }
            }
        }
        // Receivers name their Secrets as bare {name, key} selectors.
        if kind == "AlertmanagerConfig" {
            for r in o["spec"]["receivers"].as_array().into_iter().flatten() {
                for (configs, field) in [
                    ("pagerdutyConfigs", "routingKey"),
                    ("emailConfigs", "authPassword"),
                ] {
                    for c in r[configs].as_array().into_iter().flatten() {
                        if let Some(n) = c[field]["name"].as_str() {
                            add(n, c[field]["key"].as_str());
                        }
                    }
                }
            }
        }
    }
    let mut user: BTreeMap<String, &'static str> = crate::backup::secret_refs(m)
        .into_iter()
        .map(|(_, n, why)| (n, why))
        .collect();
    if m.object_store.backend == ObjectStoreBackend::External {
        user.insert(
            m.object_store.credentials_secret.clone(),
            "keys of the external S3 store",
        );
    }
    user.extend(crate::monitoring::Alerting::resolve(m.platform).secrets());
    if let Some(s) = &m.platform.spec.components.airflow.config.dags_repo_secret {
        user.insert(s.clone(), "credentials of the DAG repository");
    }
    let pg_ns = m.get(ComponentId::Postgresql).namespace.clone();
    let mut copies: BTreeMap<String, String> = crate::components::postgresql::consumers(m)
        .into_iter()
        .map(|c| {
            (
                crate::components::postgresql::consumer_secret(c),
                format!("{}-pguser-{c}", crate::components::postgresql::CLUSTER),
            )
        })
        .collect();
    copies.insert(
        crate::components::postgresql::CA_SECRET.into(),
        crate::components::postgresql::PGO_ROOT_CA.into(),
    );
    let etcd_ns = m.get(ComponentId::Etcd).namespace.clone();
    let redis_ns = m.get(ComponentId::Redis).namespace.clone();
    // Certificates deploy issues, by (namespace, Secret): the CA Secret and the request.
    let mut issued: BTreeMap<(String, String), (&str, CertRequest)> = BTreeMap::new();
    if m.enabled(ComponentId::Etcd) {
        for (name, req) in crate::components::etcd::certificates(m) {
            issued.insert(
                (etcd_ns.clone(), name),
                (crate::components::etcd::CA_SECRET, req),
            );
        }
    }
    if m.enabled(ComponentId::Redis) {
        for (name, req) in crate::components::redis::certificates(m) {
            issued.insert(
                (redis_ns.clone(), name),
                (crate::components::redis::CA_SECRET, req),
            );
        }
    }
    let minio_serves =
        m.enabled(ComponentId::Minio) && m.object_store.backend == ObjectStoreBackend::Minio;
    let minio_ns = m.get(ComponentId::Minio).namespace.clone();
    if minio_serves {
        for (name, req) in crate::components::minio::certificates(m) {
            issued.insert(
                (minio_ns.clone(), name),
                (crate::components::minio::CA_SECRET, req),
            );
        }
    }
    if minio_serves && saw_tenant {
        // Read by the MinIO operator by name prefix, referenced by no object: with the Tenant.
        refs.entry((
            m.operators_namespace.clone(),
            crate::components::minio::OPERATOR_TRUST_SECRET.into(),
        ))
        .or_default()
        .insert("ca.crt".into());
    }
    refs.into_iter()
        .map(|((namespace, name), keys)| {
            let copy_of_minio_ca = minio_serves
                && (name == k8s::OBJECT_STORE_CA_SECRET
                    || name == crate::components::minio::OPERATOR_TRUST_SECRET);
            let source = if let Some((ca, req)) = issued.get(&(namespace.clone(), name.clone())) {
                SecretSource::Issued {
                    ca: (*ca).into(),
                    request: req.clone(),
                }
            } else if copy_of_minio_ca {
                // The CA only: the projections read `ca.crt` and nothing else is copied.
                SecretSource::Copy {
                    namespace: minio_ns.clone(),
                    name: crate::components::minio::TLS_SECRET.into(),
                }
            } else if name == crate::components::redis::CLIENT_CA_SECRET {
                // The CA only: clients project `ca.crt` and nothing else is copied.
                SecretSource::Copy {
                    namespace: redis_ns.clone(),
                    name: crate::components::redis::TLS_SECRET.into(),
                }
            } else if let Some(by) = created.get(&(namespace.clone(), name.clone())) {
                SecretSource::Created(by)
            } else if name.contains("-pguser-") {
                SecretSource::Created("Crunchy PGO")
            } else if name.ends_with("-cluster-ca-cert") || name.ends_with("-clients-ca-cert") {
                SecretSource::Created("Strimzi Cluster Operator")
            } else if let Some(why) = user.get(&name) {
                SecretSource::User(why)
            } else if name == crate::components::redis::AUTH_SECRET && namespace != redis_ns {
                // One password for the data nodes and all their clients.
                SecretSource::Copy {
                    namespace: redis_ns.clone(),
                    name: name.clone(),
                }
            } else if let Some(from) = copies.get(&name) {
                SecretSource::Copy {
                    namespace: pg_ns.clone(),
                    name: from.clone(),
                }
            } else {
                SecretSource::Platform
            };
            SecretEntry {
                namespace,
                name,
                keys,
                source,
            }
        })
        .collect()
}

/// `external-secrets.io/v1` ExternalSecret: only the fields we set.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretSpec {
    pub refresh_interval: String,
    pub secret_store_ref: StoreRef,
    pub target: ExternalSecretTarget,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<ExternalSecretData>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data_from: Vec<ExternalSecretDataFrom>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct StoreRef {
    pub name: String,
    pub kind: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretTarget {
    pub name: String,
    pub creation_policy: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ExternalSecretData {
    pub secret_key: String,
    pub remote_ref: RemoteRef,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RemoteRef {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub property: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ExternalSecretDataFrom {
    pub extract: RemoteRef,
}

pub const EXTERNAL_SECRET: (&str, &str) = ("external-secrets.io/v1", "ExternalSecret");

/// Remote key of a Secret in the external store: `<prefix>/<namespace>/<name>`.
pub fn remote_key(m: &Model, namespace: &str, name: &str) -> String {
    let prefix = m
        .platform
        .spec
        .secrets
        .remote_key_prefix
        .clone()
        .unwrap_or_else(|| format!("datalyptica/{}", m.name));
    format!("{}/{namespace}/{name}", prefix.trim_end_matches('/'))
}

/// ExternalSecrets for every platform and user Secret (copies and operator-made ones are not
/// the store's business).
pub fn external_secrets(m: &Model, inventory: &[SecretEntry]) -> Vec<Value> {
    let Some(store) = &m.platform.spec.secrets.store_ref else {
        return vec![];
    };
    inventory
        .iter()
        .filter(|e| matches!(e.source, SecretSource::Platform | SecretSource::User(_)))
        .map(|e| {
            let key = remote_key(m, &e.namespace, &e.name);
            let (data, data_from) = if e.keys.is_empty() {
                (
                    vec![],
                    vec![ExternalSecretDataFrom {
                        extract: RemoteRef {
                            key: key.clone(),
                            property: None,
                        },
                    }],
                )
            } else {
                (
                    e.keys
                        .iter()
                        .map(|k| ExternalSecretData {
                            secret_key: k.clone(),
                            remote_ref: RemoteRef {
                                key: key.clone(),
                                property: Some(k.clone()),
                            },
                        })
                        .collect(),
                    vec![],
                )
            };
            let mut labels = crate::prereqs::platform_labels(m);
            labels.insert("app.kubernetes.io/component".into(), "secrets".into());
            k8s::to_value(&crate::crs::Cr {
                api_version: EXTERNAL_SECRET.0,
                kind: EXTERNAL_SECRET.1,
                metadata: ObjectMeta {
                    name: Some(e.name.clone()),
                    namespace: Some(e.namespace.clone()),
                    labels: Some(labels),
                    ..Default::default()
                },
                spec: ExternalSecretSpec {
                    refresh_interval: "1h".into(),
                    secret_store_ref: StoreRef {
                        name: store.name.clone(),
                        kind: store
                            .kind
                            .clone()
                            .unwrap_or_else(|| "ClusterSecretStore".into()),
                    },
                    target: ExternalSecretTarget {
                        name: e.name.clone(),
                        creation_policy: "Owner".into(),
                    },
                    data,
                    data_from,
                },
            })
        })
        .collect()
}

/// `00-prerequisites/secrets.md` (every mode) and `external-secrets.yaml` (external-secrets):
/// names, keys and origin of every Secret, never a value.
pub fn secrets_files(m: &Model, objects: &[&Value]) -> Vec<File> {
    let inv = secret_inventory(m, objects);
    let mode = m.platform.spec.secrets.mode;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Secrets\n\nNo secret value is in this tree: objects reference Secrets by name. Mode `{}` (`spec.secrets.mode`).\n",
        match mode {
            SecretsMode::Generated => "generated",
            SecretsMode::ExternalSecrets => "external-secrets",
            SecretsMode::SealedSecrets => "sealed-secrets",
        }
    );
    let _ = writeln!(
        s,
        "{}\n",
        match mode {
            SecretsMode::Generated =>
                "`datalyptica deploy` creates every *platform* Secret below with random values at apply time, unless it already exists (values stay in the API server: never printed or written to disk), and copies PGO's per-user Secrets into the consumers' namespaces. *User* Secrets must exist before deploying.",
            SecretsMode::ExternalSecrets =>
                "`external-secrets.yaml` holds one `ExternalSecret` per *platform* and *user* Secret; the external-secrets operator creates the Secret from the store (remote key `<prefix>/<namespace>/<name>`). Store the values before applying it. PGO copies are still made by `datalyptica deploy`.",
            SecretsMode::SealedSecrets =>
                "Seal each *platform* and *user* Secret with `kubeseal` against your cluster's controller and commit the SealedSecret next to this tree (see the template below); the controller decrypts it into the Secret. PGO copies are still made by `datalyptica deploy`.",
        }
    );
    let _ = writeln!(
        s,
        "| Namespace | Secret | Keys | Source |\n|---|---|---|---|"
    );
    for e in &inv {
        let keys = if e.keys.is_empty() {
            "(whole Secret)".to_string()
        } else {
            e.keys
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let src = match &e.source {
            SecretSource::Platform => "platform".to_string(),
            SecretSource::User(why) => format!("user: {why}"),
            SecretSource::Copy { namespace, name } => format!("copy of `{namespace}/{name}`"),
            SecretSource::Created(by) => format!("created by {by}"),
            SecretSource::Issued { ca, .. } => {
                format!("certificate issued by `datalyptica deploy` from the CA in `{ca}`")
            }
        };
        let _ = writeln!(s, "| `{}` | `{}` | {keys} | {src} |", e.namespace, e.name);
    }
    if mode == SecretsMode::SealedSecrets {
        let _ = writeln!(
            s,
            "\n## Sealing\n\n```bash\n# per Secret (values from your password manager, never committed in clear)\noc create secret generic <name> -n <namespace> --from-literal=<key>=<value> --dry-run=client -o yaml \\\n  | kubeseal --controller-namespace kube-system -o yaml > sealed/<namespace>-<name>.yaml\noc apply -f sealed/\n```\n\nTemplate (placeholder, not applied by datalyptica):\n\n```yaml\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: <name>\n  namespace: <namespace>\nspec:\n  encryptedData:\n    <key>: <output of kubeseal>\n```"
        );
    }
    let mut files = vec![File {
        path: format!("{}/secrets.md", crate::prereqs::DIR),
        content: Content::Markdown(s),
    }];
    if mode == SecretsMode::ExternalSecrets {
        files.push(File {
            path: format!("{}/external-secrets.yaml", crate::prereqs::DIR),
            content: Content::Objects {
                header: "ExternalSecrets (external-secrets.io/v1) of every platform and user Secret; apply after the external-secrets operator and its store exist.".into(),
                objects: external_secrets(m, &inv),
            },
        });
    }
    files
}
