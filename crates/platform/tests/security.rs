//! Network policies, Routes, service accounts and secrets of every rendered variant.

mod common;

use std::collections::BTreeSet;

use datalyptica_platform::model::Model;
use datalyptica_platform::security;
use serde_json::{Value, json};

fn policies(tree: &datalyptica_platform::Tree) -> Vec<Value> {
    tree.objects()
        .filter(|(_, o)| common::kind(o) == "NetworkPolicy")
        .map(|(_, o)| o.clone())
        .collect()
}

fn ports(rule: &Value) -> BTreeSet<u64> {
    rule["ports"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p["port"].as_u64()).collect())
        .unwrap_or_default()
}

#[test]
fn every_namespace_denies_ingress_and_egress_by_default() {
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let pols = policies(&tree);
        let m = Model::new(&p);
        let mut namespaces = m.namespaces();
        namespaces.push(m.operators_namespace.clone());
        for ns in namespaces {
            let deny = pols.iter().find(|o| {
                o["metadata"]["namespace"] == ns.as_str() && o["metadata"]["name"] == "default-deny"
            });
            let deny = deny.unwrap_or_else(|| panic!("{variant}: {ns} has no default-deny"));
            assert_eq!(deny["spec"]["podSelector"], json!({}), "{variant}: {ns}");
            assert_eq!(
                deny["spec"]["policyTypes"],
                json!(["Ingress", "Egress"]),
                "{variant}: {ns}"
            );
            assert!(deny["spec"]["ingress"].is_null() && deny["spec"]["egress"].is_null());
            assert!(
                pols.iter()
                    .any(|o| o["metadata"]["namespace"] == ns.as_str()
                        && o["metadata"]["name"] == "allow-dns"),
                "{variant}: {ns} cannot resolve names"
            );
        }
    }
}

/// No rule admits "everything": no empty peer, no namespace selector that matches every
/// namespace, no ingress without `from`.
#[test]
fn no_rule_is_wider_than_a_named_namespace() {
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        for o in policies(&tree) {
            let who = format!("{variant}: {}", common::name(&o));
            for (key, side) in [("ingress", "from"), ("egress", "to")] {
                for rule in o["spec"][key].as_array().into_iter().flatten() {
                    let peers = rule[side].as_array();
                    if key == "ingress" {
                        assert!(
                            peers.is_some_and(|p| !p.is_empty()),
                            "{who}: ingress from anywhere"
                        );
                    }
                    if peers.is_none() {
                        // Egress to any destination is allowed only on the API server port.
                        assert_eq!(
                            ports(rule),
                            BTreeSet::from([u64::from(security::API_SERVER_PORT)]),
                            "{who}: egress to anywhere"
                        );
                    }
                    for peer in peers.into_iter().flatten() {
                        assert_ne!(peer, &json!({}), "{who}: empty peer");
                        if let Some(ns) = peer.get("namespaceSelector") {
                            assert!(
                                ns["matchLabels"].as_object().is_some_and(|l| !l.is_empty()),
                                "{who}: namespaceSelector matching every namespace"
                            );
                        }
                        if let Some(ip) = peer.get("ipBlock") {
                            assert_eq!(key, "egress", "{who}: ingress from an ipBlock");
                            assert!(
                                !ports(rule).is_empty(),
                                "{who}: egress to {ip} on every port"
                            );
                        }
                    }
                }
            }
        }
    }
}

fn find<'a>(pols: &'a [Value], ns: &str, name: &str) -> Option<&'a Value> {
    pols.iter()
        .find(|o| o["metadata"]["namespace"] == ns && o["metadata"]["name"] == name)
}

#[test]
fn every_dependency_edge_has_exactly_its_allow_rules() {
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let pols = policies(&tree);
        let m = Model::new(&p);
        let groups = security::groups(&m);
        let flows = security::flows(&m);
        // The dependency graph is covered: every pod group of a consumer reaches every serving
        // pod group of each provider.
        for c in m.enabled_components() {
            for d in m.deps_of(c).into_iter().filter(|d| m.enabled(*d)) {
                for (_, _, cg) in groups.iter().filter(|(id, _, _)| *id == c.id()) {
                    for (_, _, sg) in groups
                        .iter()
                        .filter(|(id, _, g)| *id == d && !g.client.is_empty())
                    {
                        assert!(
                            flows.iter().any(|(a, ag, b, bg)| *a == c.id()
                                && ag.name == cg.name
                                && *b == d
                                && bg.name == sg.name),
                            "{variant}: {} → {} has no flow",
                            cg.name,
                            sg.name
                        );
                    }
                }
            }
        }
        let mut expected = BTreeSet::new();
        for (client, cg, provider, sg) in &flows {
            let cns = &m.get(*client).namespace;
            let sns = &m.get(*provider).namespace;
            let want_ports: BTreeSet<u64> = sg.client.iter().map(|p| u64::from(*p)).collect();
            let name = format!("{}-from-{}", sg.name, cg.name);
            let ing = find(&pols, sns, &name)
                .unwrap_or_else(|| panic!("{variant}: missing {sns}/{name}"));
            assert_eq!(ing["spec"]["podSelector"], sg.selector, "{variant}: {name}");
            let rules = ing["spec"]["ingress"].as_array().expect("ingress");
            assert_eq!(rules.len(), 1, "{variant}: {name}");
            assert_eq!(
                rules[0]["from"],
                json!([{"namespaceSelector": security::namespace_selector(cns), "podSelector": cg.selector}]),
                "{variant}: {name}"
            );
            assert_eq!(ports(&rules[0]), want_ports, "{variant}: {name}");
            expected.insert((sns.clone(), name));
            let name = format!("{}-to-{}", cg.name, sg.name);
            let eg = find(&pols, cns, &name)
                .unwrap_or_else(|| panic!("{variant}: missing {cns}/{name}"));
            assert_eq!(eg["spec"]["podSelector"], cg.selector, "{variant}: {name}");
            let rules = eg["spec"]["egress"].as_array().expect("egress");
            assert_eq!(rules.len(), 1, "{variant}: {name}");
            assert_eq!(
                rules[0]["to"],
                json!([{"namespaceSelector": security::namespace_selector(sns), "podSelector": sg.selector}]),
                "{variant}: {name}"
            );
            assert_eq!(ports(&rules[0]), want_ports, "{variant}: {name}");
            expected.insert((cns.clone(), name));
        }
        // Object-store flows exist only for groups that use it, and only to MinIO.
        for (client, cg, provider, _) in &flows {
            if *provider == datalyptica_platform::component::ComponentId::Minio
                && !m
                    .deps_of(
                        *datalyptica_platform::components::ALL
                            .iter()
                            .find(|c| c.id() == *client)
                            .expect("registered"),
                    )
                    .contains(provider)
            {
                assert!(
                    cg.object_store,
                    "{variant}: {} reaches MinIO without a bucket",
                    cg.name
                );
            }
        }
        // Conversely: every rule between two platform pod groups of different components is a
        // flow (peers, monitoring, operators, router and DR sites have their own names).
        let group_names: BTreeSet<&str> = groups.iter().map(|(_, _, g)| g.name.as_str()).collect();
        for o in &pols {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            for sep in ["-from-", "-to-"] {
                if let Some((a, b)) = name.split_once(sep)
                    && group_names.contains(a)
                    && group_names.contains(b)
                {
                    assert!(
                        expected.contains(&(ns.to_string(), name.to_string())),
                        "{variant}: {ns}/{name} allows a flow that is no dependency"
                    );
                }
            }
        }
    }
}

#[test]
fn router_ingress_exactly_where_a_route_exists() {
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let pols = policies(&tree);
        let routed: BTreeSet<String> = tree
            .objects()
            .filter(|(_, o)| common::kind(o) == "Route")
            .map(|(_, o)| {
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        let from_router: BTreeSet<String> = pols
            .iter()
            .filter(|o| {
                o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.ends_with("-from-router"))
            })
            .map(|o| {
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            })
            .collect();
        assert_eq!(routed, from_router, "{variant}");
    }
}

#[test]
fn every_route_is_tls_and_redirects_plain_http() {
    let mut seen = 0;
    for (variant, tree) in common::rendered() {
        for (file, o) in tree.objects().filter(|(_, o)| common::kind(o) == "Route") {
            let tls = &o["spec"]["tls"];
            assert!(
                matches!(tls["termination"].as_str(), Some("reencrypt" | "edge")),
                "{variant}: {file}: {} terminates {:?}",
                common::name(o),
                tls["termination"]
            );
            assert_eq!(
                tls["insecureEdgeTerminationPolicy"],
                "Redirect",
                "{variant}: {file}: {}",
                common::name(o)
            );
            seen += 1;
        }
    }
    assert!(seen > 0, "no Route rendered");
}
