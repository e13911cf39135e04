//! NetworkPolicies derived from the exposure: default deny (ingress and egress) per namespace,
//! then one allow rule per need — each dependency edge on the provider's client ports, peer
//! traffic, monitoring scrapes, operator access, DNS, the API server, the object store and, only
//! where a Route exists, the router. A consumer gets exactly the ports its provider declares;
//! nothing selects "all pods" or "all namespaces".

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::component::{Component, ComponentId};
use crate::model::Model;
use crate::spec::ObjectStoreBackend;

/// Selector of a namespace by its immutable name label (set by Kubernetes since 1.21).
pub fn namespace_selector(ns: &str) -> Value {
    json!({"matchLabels": {"kubernetes.io/metadata.name": ns}})
}

fn pods_in(ns: &str, selector: &Value) -> Value {
    json!({"namespaceSelector": namespace_selector(ns), "podSelector": selector})
}

/// TCP ports of a rule.
pub fn tcp(ports: &[u16]) -> Vec<Value> {
    ports
        .iter()
        .map(|p| json!({"protocol": "TCP", "port": p}))
        .collect()
}

pub const API_SERVER_PORT: u16 = 6443;

/// The rules of a NetworkPolicy and the direction they admit.
pub enum Rules {
    /// No rule either way: every pod selected is isolated in both directions.
    DenyAll,
    Ingress(Vec<Value>),
    Egress(Vec<Value>),
}

/// A platform NetworkPolicy: the one builder of every policy the tree renders (security's and
/// the backups' egress to the DR sites), so labels and shape cannot drift apart.
pub fn network_policy(m: &Model, ns: &str, name: &str, selector: &Value, rules: Rules) -> Value {
    let mut labels = crate::prereqs::platform_labels(m);
    labels.insert(
        "app.kubernetes.io/component".into(),
        "network-policy".into(),
    );
    let spec = match rules {
        Rules::DenyAll => json!({"podSelector": selector, "policyTypes": ["Ingress", "Egress"]}),
        Rules::Ingress(r) => {
            json!({"podSelector": selector, "policyTypes": ["Ingress"], "ingress": r})
        }
        Rules::Egress(r) => {
            json!({"podSelector": selector, "policyTypes": ["Egress"], "egress": r})
        }
    };
    json!({
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": spec,
    })
}

struct Builder<'a> {
    m: &'a Model<'a>,
    out: Vec<Value>,
}

impl Builder<'_> {
    fn policy(&mut self, ns: &str, name: &str, selector: &Value, rules: Rules) {
        self.out
            .push(network_policy(self.m, ns, name, selector, rules));
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
        self.policy(ns, name, sel, Rules::Ingress(vec![rule]));
    }

    fn egress(&mut self, ns: &str, name: &str, sel: &Value, to: Vec<Value>, ports: Option<&[u16]>) {
        let mut rule = json!({ "to": to });
        if let Some(p) = ports {
            rule["ports"] = json!(tcp(p));
        }
        self.policy(ns, name, sel, Rules::Egress(vec![rule]));
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

/// Peers that the per-component rules share, built once and cloned into each policy.
struct Peers {
    /// Every pod of a namespace.
    all: Value,
    ops_ns: String,
    /// Whether the operators' namespace is this tree's, so its half of a flow is ours to write.
    owns_ops: bool,
    monitoring: Vec<Value>,
    router: Vec<Value>,
    operators: Value,
    /// The egress rule to the API server.
    api: Vec<Value>,
    object_store: Option<(Vec<Value>, Vec<u16>)>,
}

impl Peers {
    fn new(m: &Model, owned: &[String]) -> Self {
        let ops_ns = m.operators_namespace.clone();
        let monitoring = ["openshift-monitoring", "openshift-user-workload-monitoring"]
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
        let api = match api_server_peers(m) {
            Some(to) => vec![json!({"to": to, "ports": tcp(&[API_SERVER_PORT])})],
            None => vec![json!({"ports": tcp(&[API_SERVER_PORT])})],
        };
        Peers {
            all: json!({}),
            owns_ops: owned.contains(&ops_ns),
            operators: json!({"namespaceSelector": namespace_selector(&ops_ns)}),
            ops_ns,
            monitoring,
            router,
            api,
            object_store: object_store_target(m),
        }
    }
}

/// Deny everything in the namespace; every other policy is an exception to this one.
fn default_deny(b: &mut Builder, ns: &str) {
    b.policy(ns, "default-deny", &json!({}), Rules::DenyAll);
}

fn allow_dns(b: &mut Builder, ns: &str) {
    let dns = json!({
        "namespaceSelector": namespace_selector("openshift-dns"),
        "podSelector": {"matchLabels": {"dns.operator.openshift.io/daemonset-dns": "default"}},
    });
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
        &json!({}),
        Rules::Egress(vec![json!({"to": [dns], "ports": dns_ports})]),
    );
}

/// Dependency edges and object-store use: client group → provider group on its client ports.
fn dependency_flows(b: &mut Builder) {
    let m = b.m;
    for (client, cg, provider, sg) in flows(m) {
        b.flow(
            (&m.get(client).namespace, &cg.name, &cg.selector),
            (&m.get(provider).namespace, &sg.name, &sg.selector),
            Some(&sg.client),
        );
    }
}

/// Peers: every group of the component to every group, both directions.
fn peer_policies(b: &mut Builder, ns: &str, e: &Exposure) {
    let ports = match &e.peer {
        PeerPorts::None => return,
        PeerPorts::Ports(p) => Some(p.as_slice()),
        PeerPorts::Any => None,
    };
    let members: Vec<&PodGroup> = e.groups.iter().filter(|g| !g.own_client).collect();
    let peers: Vec<Value> = members.iter().map(|g| pods_in(ns, &g.selector)).collect();
    for g in members {
        b.ingress(
            ns,
            &format!("{}-from-peers", g.name),
            &g.selector,
            peers.clone(),
            ports,
        );
        b.egress(
            ns,
            &format!("{}-to-peers", g.name),
            &g.selector,
            peers.clone(),
            ports,
        );
    }
}

/// What each group declares for itself: metrics scraped, API server and object store called.
fn group_needs(b: &mut Builder, p: &Peers, ns: &str, e: &Exposure) {
    for g in &e.groups {
        if !g.metrics.is_empty() {
            b.ingress(
                ns,
                &format!("{}-from-monitoring", g.name),
                &g.selector,
                p.monitoring.clone(),
                Some(&g.metrics),
            );
        }
        if g.api {
            b.policy(
                ns,
                &format!("{}-to-apiserver", g.name),
                &g.selector,
                Rules::Egress(p.api.clone()),
            );
        }
        if let Some((to, ports)) = &p.object_store
            && g.object_store
        {
            b.egress(
                ns,
                &format!("{}-to-object-store", g.name),
                &g.selector,
                to.clone(),
                Some(ports),
            );
        }
    }
}

/// The operator calling into the component's pods on the ports its exposure declares.
fn operator_access(b: &mut Builder, p: &Peers, c: &dyn Component, ns: &str, e: &Exposure) {
    if (c.operator().is_none() && c.carried_operator().is_none()) || e.operator.is_empty() {
        return;
    }
    for g in e.groups.iter().filter(|g| !g.own_client) {
        b.ingress(
            ns,
            &format!("{}-from-operator", g.name),
            &g.selector,
            vec![p.operators.clone()],
            Some(&e.operator),
        );
    }
    if p.owns_ops {
        let to: Vec<Value> = e
            .groups
            .iter()
            .filter(|g| !g.own_client)
            .map(|g| pods_in(ns, &g.selector))
            .collect();
        b.egress(
            &p.ops_ns,
            &format!("operators-to-{}", c.id()),
            &p.all,
            to,
            Some(&e.operator),
        );
    }
}

/// Ports the component's own pods call on its operator (MinIO's upgrade server).
fn calls_to_operator(b: &mut Builder, p: &Peers, id: ComponentId, ns: &str, e: &Exposure) {
    let Some((op_sel, ports)) = served_by_operator(id) else {
        return;
    };
    for g in e.groups.iter().filter(|g| !g.own_client) {
        b.egress(
            ns,
            &format!("{}-to-operator", g.name),
            &g.selector,
            vec![pods_in(&p.ops_ns, &op_sel)],
            Some(&ports),
        );
        if p.owns_ops {
            b.ingress(
                &p.ops_ns,
                &format!("operators-from-{}", g.name),
                &op_sel,
                vec![pods_in(ns, &g.selector)],
                Some(&ports),
            );
        }
    }
}

/// The router, only to the groups serving the port a Route exposes.
fn from_router(b: &mut Builder, p: &Peers, ns: &str, e: &Exposure) {
    let Some(port) = e.route else {
        return;
    };
    for g in e.groups.iter().filter(|g| g.client.contains(&port)) {
        b.ingress(
            ns,
            &format!("{}-from-router", g.name),
            &g.selector,
            p.router.clone(),
            Some(&[port]),
        );
    }
}

fn component_policies(b: &mut Builder, p: &Peers, c: &dyn Component, e: &Exposure) {
    let ns = b.m.get(c.id()).namespace.clone();
    peer_policies(b, &ns, e);
    group_needs(b, p, &ns, e);
    operator_access(b, p, c, &ns, e);
    calls_to_operator(b, p, c.id(), &ns, e);
    from_router(b, p, &ns, e);
}

/// git-sync clones the DAG repository from outside the cluster.
fn airflow_git(b: &mut Builder, e: &Exposure) {
    let m = b.m;
    let Some(repo) = &m.platform.spec.components.airflow.config.dags_repo else {
        return;
    };
    let port =
        url_port(repo).unwrap_or(if repo.starts_with("ssh://") || repo.starts_with("git@") {
            22
        } else {
            443
        });
    for g in &e.groups {
        b.egress(
            &m.get(ComponentId::Airflow).namespace,
            &format!("{}-to-git", g.name),
            &g.selector,
            outside_cluster(m),
            Some(&[port]),
        );
    }
}

/// Spark drivers resolve `spark.jars.packages` (Iceberg, Nessie, hadoop-aws), and the History
/// Server fetches its S3A jars, from Maven Central when they start: HTTPS out of the cluster,
/// pinned by spec.network.externalCidrs.
fn spark_maven(b: &mut Builder, e: &Exposure) {
    let m = b.m;
    for g in e
        .groups
        .iter()
        // Drivers resolve packages; the History Server fetches the S3A jars.
        .filter(|g| {
            g.name == crate::components::spark::APPLICATIONS_GROUP
                || g.name == crate::components::spark::HISTORY
        })
    {
        b.egress(
            &m.get(ComponentId::Spark).namespace,
            &format!("{}-to-maven", g.name),
            &g.selector,
            outside_cluster(m),
            Some(&[crate::components::spark::MAVEN_PORT]),
        );
    }
}

/// The operators' own traffic with the API server, both ways.
fn operators_and_apiserver(b: &mut Builder, p: &Peers) {
    b.policy(
        &p.ops_ns,
        "operators-to-apiserver",
        &p.all,
        Rules::Egress(p.api.clone()),
    );
    // Admission and conversion webhooks (Flink, MinIO, redis-operator) are called by the
    // API server, which runs on the host network.
    b.ingress(
        &p.ops_ns,
        "operators-from-apiserver",
        &p.all,
        vec![json!({"namespaceSelector": {"matchLabels": {"policy-group.network.openshift.io/host-network": ""}}})],
        Some(&[443, 4222, 4443, 9443]),
    );
}

/// Every NetworkPolicy of the platform.
pub fn network_policies(m: &Model) -> Vec<Value> {
    let mut b = Builder { m, out: Vec::new() };
    let owned = crate::prereqs::owned_namespaces(m);
    for ns in &owned {
        default_deny(&mut b, ns);
        allow_dns(&mut b, ns);
    }
    let ex: BTreeMap<ComponentId, Exposure> = m
        .enabled_components()
        .map(|c| (c.id(), exposure(m, c.id())))
        .collect();
    dependency_flows(&mut b);
    let p = Peers::new(m, &owned);
    for c in m.enabled_components() {
        component_policies(&mut b, &p, c, &ex[&c.id()]);
    }
    b.out.extend(crate::backup::network_policies(m));
    if m.enabled(ComponentId::Airflow) {
        airflow_git(&mut b, &ex[&ComponentId::Airflow]);
    }
    if m.enabled(ComponentId::Spark) {
        spark_maven(&mut b, &ex[&ComponentId::Spark]);
    }
    if p.owns_ops {
        operators_and_apiserver(&mut b, &p);
    }
    b.out
}
