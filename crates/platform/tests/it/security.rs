//! Network policies, Routes, service accounts and secrets of every rendered variant.

use crate::common;

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
    for (variant, p) in secrets_variants() {
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
    for (variant, p) in secrets_variants() {
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
    for (variant, p) in secrets_variants() {
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
                    cg.object_store || (cg.own_client && *client == *provider),
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
    for (variant, p) in secrets_variants() {
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

/// Every policy comes from `security::network_policy`: the platform's labels, rules in the
/// direction its policyTypes say, and nothing the typed NetworkPolicy would drop (a misspelt
/// field survives JSON but not the round trip through k8s-openapi's type).
#[test]
fn every_network_policy_is_shaped_by_the_one_builder() {
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    let mut dr_policies = 0;
    for (variant, p) in secrets_variants() {
        let tree = datalyptica_platform::render(&p);
        for o in policies(&tree) {
            let name = common::name(&o);
            assert_eq!(
                o["metadata"]["labels"]["app.kubernetes.io/component"], "network-policy",
                "{variant}: {name}"
            );
            let types: Vec<&str> = o["spec"]["policyTypes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            let has = |k: &str| o["spec"].get(k).is_some();
            match types.as_slice() {
                ["Ingress", "Egress"] => assert!(!has("ingress") && !has("egress"), "{name}"),
                ["Ingress"] => assert!(has("ingress") && !has("egress"), "{variant}: {name}"),
                ["Egress"] => assert!(has("egress") && !has("ingress"), "{variant}: {name}"),
                other => panic!("{variant}: {name}: policyTypes {other:?}"),
            }
            let typed: NetworkPolicy = serde_json::from_value(o.clone())
                .unwrap_or_else(|e| panic!("{variant}: {name}: {e}"));
            let back = serde_json::to_value(&typed).expect("serialize");
            assert_eq!(back, o, "{variant}: {name} loses fields as a NetworkPolicy");
            if variant == "dr-targets"
                && o["metadata"]["name"]
                    .as_str()
                    .is_some_and(|n| n.contains("-to-dr-"))
            {
                dr_policies += 1;
            }
        }
    }
    assert!(
        dr_policies >= 2,
        "the DR egress policies were not seen ({dr_policies})"
    );
}

fn secrets_variants() -> Vec<(&'static str, datalyptica_platform::Platform)> {
    use datalyptica_platform::spec::{
        KafkaDrTarget, ReplicationTarget, SecretStoreRef, SecretsMode,
    };
    let mut out = common::variants();
    let mut full = datalyptica_platform::Platform::default_ha();
    full.spec.backup.kafka.target = Some(KafkaDrTarget {
        bootstrap_servers: "kafka-dr.example.com:9093".into(),
        trust_secret: "kafka-dr-ca".into(),
        trust_certificate: None,
        client_certificate_secret: Some("kafka-dr-client".into()),
    });
    full.spec.backup.minio.replication_target = Some(ReplicationTarget {
        endpoint: "https://s3.dr.example.com:9000".into(),
        credentials_secret: "minio-dr-keys".into(),
    });
    let mut eso = full.clone();
    eso.spec.secrets.mode = SecretsMode::ExternalSecrets;
    eso.spec.secrets.store_ref = Some(SecretStoreRef {
        name: "vault".into(),
        kind: None,
    });
    let mut sealed = full.clone();
    sealed.spec.secrets.mode = SecretsMode::SealedSecrets;
    out.push(("dr-targets", full));
    out.push(("external-secrets", eso));
    out.push(("sealed-secrets", sealed));
    out
}

fn strings<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a str)>) {
    match v {
        Value::String(s) => out.push((path, s)),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| strings(x, format!("{path}/{i}"), out)),
        Value::Object(o) => o
            .iter()
            .for_each(|(k, x)| strings(x, format!("{path}/{k}"), out)),
        _ => {}
    }
}

/// No rendered object, in any mode, carries secret material: no Secret or SealedSecret, no
/// literal value under a credential-like env name, no key or certificate, no inline password.
#[test]
fn no_rendered_object_carries_secret_material() {
    let secretish = [
        "password",
        "secret",
        "token",
        "key_id",
        "access_key",
        "credential",
    ];
    for (variant, p) in secrets_variants() {
        assert!(
            datalyptica_platform::validate::validate(&p).is_empty(),
            "{variant}: {:?}",
            datalyptica_platform::validate::validate(&p)
        );
        let tree = datalyptica_platform::render(&p);
        for (file, o) in tree.objects() {
            let who = format!("{variant}: {file}: {}", common::name(o));
            assert!(
                !matches!(common::kind(o), "Secret" | "SealedSecret"),
                "{who}: secret object rendered"
            );
            let mut all = Vec::new();
            strings(o, String::new(), &mut all);
            for (path, s) in &all {
                assert!(
                    !s.contains("-----BEGIN"),
                    "{who}: {path} holds a key or certificate"
                );
                let lower = s.to_lowercase();
                for marker in ["password=", "password:", "secret_access_key=", "secretkey="] {
                    if let Some(i) = lower.find(marker) {
                        let rest = s[i + marker.len()..].trim_start();
                        assert!(
                            rest.is_empty()
                                || rest.starts_with('$')
                                || rest.starts_with('"') && rest[1..].starts_with('$'),
                            "{who}: {path} holds an inline credential"
                        );
                    }
                }
            }
            // env entries: a credential-like name never has a literal value.
            for (path, n) in &all {
                if path.ends_with("/name") && secretish.iter().any(|w| n.to_lowercase().contains(w))
                {
                    let base = path.trim_end_matches("/name");
                    let literal = all
                        .iter()
                        .find(|(p, _)| *p == format!("{base}/value"))
                        .map(|(_, v)| *v);
                    if let Some(v) = literal {
                        // Airflow's `…_CMD` options: a command reading a mounted Secret file.
                        let reads_file = n.ends_with("_CMD") && v.starts_with("cat /");
                        assert!(
                            v.starts_with("$(") || v.starts_with("urn:") || reads_file,
                            "{who}: {base} = literal for {n}"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn secrets_inventory_lists_names_only() {
    for (variant, p) in secrets_variants() {
        let tree = datalyptica_platform::render(&p);
        let bytes = tree.to_bytes();
        let md = &bytes["00-prerequisites/secrets.md"];
        let m = Model::new(&p);
        for name in [
            m.object_store.credentials_secret.as_str(),
            "postgresql-pgbackrest-s3",
        ] {
            assert!(
                md.contains(&format!("`{name}`")),
                "{variant}: {name} missing"
            );
        }
        if variant == "dr-targets" {
            assert!(md.contains("| `minio-dr-keys` |"), "{md}");
            assert!(
                md.contains("user: S3 keys of the replication target"),
                "{md}"
            );
            assert!(md.contains("created by Strimzi User Operator"), "{md}");
        }
        if variant == "sealed-secrets" {
            assert!(md.contains("kind: SealedSecret"));
        }
        assert_eq!(
            bytes.contains_key("00-prerequisites/external-secrets.yaml"),
            variant == "external-secrets",
            "{variant}"
        );
    }
}

#[test]
fn external_secrets_have_the_v1_shape_and_reference_the_store() {
    use datalyptica_platform::crs::external_secrets::ExternalSecretSpec;
    use datalyptica_platform::security::SecretSource;
    let (_, p) = secrets_variants()
        .into_iter()
        .find(|(n, _)| *n == "external-secrets")
        .expect("variant");
    let tree = datalyptica_platform::render(&p);
    let es: Vec<&Value> = tree
        .objects()
        .filter(|(f, _)| *f == "00-prerequisites/external-secrets.yaml")
        .map(|(_, o)| o)
        .collect();
    assert!(!es.is_empty());
    let m = Model::new(&p);
    let objects: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let wanted: BTreeSet<(String, String)> = security::secret_inventory(&m, &objects)
        .into_iter()
        .filter(|e| matches!(e.source, SecretSource::Platform | SecretSource::User(_)))
        .map(|e| (e.namespace, e.name))
        .collect();
    let mut got = BTreeSet::new();
    for o in es {
        assert_eq!(o["apiVersion"], "external-secrets.io/v1");
        assert_eq!(o["kind"], "ExternalSecret");
        let spec: ExternalSecretSpec =
            serde_json::from_value(o["spec"].clone()).expect("typed ExternalSecret spec");
        assert_eq!(spec.secret_store_ref.name, "vault");
        assert_eq!(spec.secret_store_ref.kind, "ClusterSecretStore");
        assert_eq!(
            spec.target.name,
            o["metadata"]["name"].as_str().unwrap_or_default()
        );
        assert!(!spec.data.is_empty() || !spec.data_from.is_empty());
        let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
        for d in &spec.data {
            assert!(
                d.remote_ref
                    .key
                    .starts_with(&format!("datalyptica/datalyptica/{ns}/"))
            );
            assert_eq!(
                d.remote_ref.property.as_deref(),
                Some(d.secret_key.as_str())
            );
        }
        // The objects carry no values: only the fields of the typed spec.
        assert_eq!(
            serde_json::to_value(&spec).expect("serialize"),
            o["spec"],
            "unexpected fields"
        );
        got.insert((ns.to_string(), spec.target.name.clone()));
    }
    assert_eq!(got, wanted);
    // Validation asks for the store.
    let mut bad = p.clone();
    bad.spec.secrets.store_ref = None;
    assert!(
        datalyptica_platform::validate::validate(&bad)
            .iter()
            .any(|i| i.pointer == "/spec/secrets/storeRef")
    );
}

fn containers<'a>(v: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                if matches!(k.as_str(), "containers" | "initContainers")
                    && let Some(a) = x.as_array()
                {
                    for (i, c) in a.iter().enumerate() {
                        out.push((format!("{path}/{k}/{i}"), c));
                    }
                }
                containers(x, format!("{path}/{k}"), out);
            }
        }
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, x)| containers(x, format!("{path}/{i}"), out)),
        _ => {}
    }
}

/// restricted-v2 on every container we render (hand-made and inside operator CRs).
#[test]
fn every_container_is_restricted() {
    for (variant, p) in secrets_variants() {
        let tree = datalyptica_platform::render(&p);
        for (file, o) in tree.objects() {
            let mut cs = Vec::new();
            containers(o, String::new(), &mut cs);
            for (path, c) in cs {
                let who = format!("{variant}: {file}: {} {path}", common::name(o));
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{who}");
                assert_eq!(sc["capabilities"]["drop"], json!(["ALL"]), "{who}");
                assert_eq!(sc["runAsNonRoot"], true, "{who}");
                assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault", "{who}");
                assert!(sc["readOnlyRootFilesystem"].is_boolean(), "{who}");
                assert!(sc["runAsUser"].is_null(), "{who}: pinned UID");
            }
        }
    }
}

/// Every hand-rendered pod runs under a named ServiceAccount of its own namespace and states
/// whether it mounts an API token; only pods with a Role get one.
#[test]
fn pods_have_their_own_service_account_and_tokens_only_with_a_role() {
    for (variant, tree) in common::rendered() {
        let objects: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
        // A RoleBinding's subjects default to its namespace; a ClusterRoleBinding's (the carried
        // MinIO Operator's) name theirs.
        let bound: BTreeSet<(String, String)> = objects
            .iter()
            .filter(|o| matches!(common::kind(o), "RoleBinding" | "ClusterRoleBinding"))
            .flat_map(|o| {
                let ns = o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                o["subjects"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(move |s| {
                        let ns = s["namespace"].as_str().map_or(ns.clone(), str::to_string);
                        s["name"].as_str().map(|n| (ns, n.to_string()))
                    })
            })
            .collect();
        for o in &objects {
            let pod = match common::kind(o) {
                "Deployment" | "StatefulSet" | "Job" => &o["spec"]["template"]["spec"],
                "CronJob" => &o["spec"]["jobTemplate"]["spec"]["template"]["spec"],
                _ => continue,
            };
            let who = format!("{variant}: {}", common::name(o));
            let ns = o["metadata"]["namespace"].as_str().unwrap_or_default();
            let sa = pod["serviceAccountName"]
                .as_str()
                .unwrap_or_else(|| panic!("{who}: default ServiceAccount"));
            assert!(
                objects.iter().any(|x| common::kind(x) == "ServiceAccount"
                    && x["metadata"]["namespace"] == ns
                    && x["metadata"]["name"] == sa),
                "{who}: ServiceAccount {sa} not rendered"
            );
            let token = pod["automountServiceAccountToken"]
                .as_bool()
                .unwrap_or_else(|| panic!("{who}: token mount not stated"));
            if token {
                assert!(
                    bound.contains(&(ns.to_string(), sa.to_string())),
                    "{who}: API token without a Role"
                );
            }
        }
    }
}

#[test]
fn git_sync_gets_egress_to_its_repository_port_only() {
    let mut p = datalyptica_platform::Platform::default_ha();
    p.spec.components.airflow.config.dags_repo = Some("https://git.example.com/dags.git".into());
    let tree = datalyptica_platform::render(&p);
    let pols = policies(&tree);
    let np = pols
        .iter()
        .find(|o| o["metadata"]["name"] == "airflow-to-git")
        .expect("airflow-to-git");
    assert_eq!(ports(&np["spec"]["egress"][0]), BTreeSet::from([443]));
    let tree = datalyptica_platform::render(&datalyptica_platform::Platform::default_ha());
    assert!(
        !policies(&tree)
            .iter()
            .any(|o| o["metadata"]["name"] == "airflow-to-git")
    );
}

/// The port table agrees with what hand-rendered pods listen on: every client and metrics port
/// of a pod group is a container port of one of its pods (catches a port change in a component
/// that the policies would silently block).
#[test]
fn declared_ports_are_container_ports() {
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let m = Model::new(&p);
        for (id, ns, g) in security::groups(&m) {
            let Some(sel) = g.selector["matchLabels"].as_object() else {
                continue;
            };
            let mut listening = BTreeSet::new();
            let mut pods = 0;
            for (_, o) in tree.objects() {
                if !matches!(common::kind(o), "Deployment" | "StatefulSet")
                    || o["metadata"]["namespace"] != ns.as_str()
                {
                    continue;
                }
                let labels = &o["spec"]["template"]["metadata"]["labels"];
                if !sel.iter().all(|(k, v)| labels.get(k) == Some(v)) {
                    continue;
                }
                pods += 1;
                for c in o["spec"]["template"]["spec"]["containers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                {
                    for port in c["ports"].as_array().into_iter().flatten() {
                        if let Some(n) = port["containerPort"].as_u64() {
                            listening.insert(n);
                        }
                    }
                }
            }
            if pods == 0 {
                // Operator-made pods: their ports are the operator's (documented in the table).
                continue;
            }
            for port in g.client.iter().chain(&g.metrics) {
                assert!(
                    listening.contains(&u64::from(*port)),
                    "{variant}: {id} group {} declares port {port}, its pods listen on {listening:?}",
                    g.name
                );
            }
        }
    }
}

/// With `spec.network` CIDRs, every egress rule that may leave the cluster names them, and
/// no rule is left that reaches any address.
#[test]
fn network_cidrs_pin_every_egress_that_leaves_the_cluster() {
    let mut p = secrets_variants()
        .into_iter()
        .find(|(v, _)| *v == "dr-targets")
        .map(|(_, p)| p)
        .expect("dr-targets variant");
    p.spec.components.airflow.config.dags_repo = Some("https://git.example.com/dags.git".into());
    p.spec.network.api_server_cidrs = vec!["10.0.0.0/24".into()];
    p.spec.network.external_cidrs = vec!["203.0.113.0/24".into(), "2001:db8::/32".into()];
    assert!(datalyptica_platform::validate::validate(&p).is_empty());
    let tree = datalyptica_platform::render(&p);
    let mut api_rules = 0;
    let mut external_rules = 0;
    for o in policies(&tree) {
        for rule in o["spec"]["egress"].as_array().into_iter().flatten() {
            let who = common::name(&o);
            let Some(to) = rule["to"].as_array() else {
                panic!("{who}: egress to any address")
            };
            let blocks: Vec<&str> = to
                .iter()
                .filter_map(|t| t["ipBlock"]["cidr"].as_str())
                .collect();
            if blocks.is_empty() {
                continue;
            }
            assert!(!blocks.contains(&"0.0.0.0/0"), "{who}: 0.0.0.0/0 left");
            if ports(rule) == BTreeSet::from([u64::from(security::API_SERVER_PORT)]) {
                assert_eq!(blocks, ["10.0.0.0/24"], "{who}");
                api_rules += 1;
            } else {
                assert_eq!(blocks, ["203.0.113.0/24", "2001:db8::/32"], "{who}");
                external_rules += 1;
            }
        }
    }
    assert!(api_rules > 0, "no API-server rule found");
    // MinIO replication, MirrorMaker 2, git-sync.
    assert!(external_rules >= 3, "{external_rules} external rules");
    let doc = match tree
        .files
        .get("00-prerequisites/network-exposure.md")
        .map(|f| &f.content)
    {
        Some(datalyptica_platform::component::Content::Markdown(s)) => s.clone(),
        _ => panic!("network-exposure.md missing"),
    };
    assert!(
        doc.contains("may go only to `10.0.0.0/24` on port 6443"),
        "{doc}"
    );
}

#[test]
fn bad_cidrs_are_spec_errors() {
    for (cidr, says) in [
        (
            "10.0.0.1/24",
            "host bits set (expected the network address, 10.0.0.0/24)",
        ),
        ("10.0.0.0", "no prefix length"),
        ("10.0.0.0/33", "expected 0 to 32"),
        ("example.com/24", "not an IP address"),
        ("2001:db8::1/32", "2001:db8::/32"),
    ] {
        let mut p = datalyptica_platform::Platform::default_ha();
        p.spec.network.external_cidrs = vec!["0.0.0.0/0".into(), cidr.into()];
        let issues = datalyptica_platform::validate::validate(&p);
        assert_eq!(issues.len(), 1, "{cidr}: {issues:?}");
        assert_eq!(issues[0].pointer, "/spec/network/externalCidrs/1");
        assert!(
            issues[0].message.contains(says),
            "{cidr}: {}",
            issues[0].message
        );
    }
}

/// The alert receivers' Secrets are the user's, in every namespace that routes alerts, and
/// follow `spec.alerting` (off: not referenced).
#[test]
fn alert_receiver_secrets_are_user_secrets_per_namespace() {
    use datalyptica_platform::security::SecretSource;
    let p = datalyptica_platform::Platform::default_ha();
    let m = Model::new(&p);
    let tree = datalyptica_platform::render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let inv = security::secret_inventory(&m, &objs);
    for name in ["alertmanager-pagerduty", "alertmanager-smtp"] {
        let mut nss: Vec<String> = inv
            .iter()
            .filter(|e| e.name == name)
            .inspect(|e| assert!(matches!(e.source, SecretSource::User(_)), "{e:?}"))
            .map(|e| e.namespace.clone())
            .collect();
        nss.sort();
        assert_eq!(nss, m.namespaces(), "{name}");
    }
    let mut p = p.clone();
    p.spec.alerting.pagerduty = Some(datalyptica_platform::spec::PagerDutySpec {
        enabled: Some(false),
        ..Default::default()
    });
    let m = Model::new(&p);
    let tree = datalyptica_platform::render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let inv = security::secret_inventory(&m, &objs);
    assert!(!inv.iter().any(|e| e.name == "alertmanager-pagerduty"));
    assert!(inv.iter().any(|e| e.name == "alertmanager-smtp"));
}

/// JVM clients of Nessie (service CA) and the object store (MinIO: the CA deploy issues its
/// certificate from, copied as `object-store-ca`) trust both: an init container builds the
/// truststore from the projected CA bundles and the JVM is told to use it. Without it
/// checkpoints, event logs, catalog calls and Nessie's own S3 access fail the TLS handshake.
#[test]
fn jvm_clients_trust_the_platform_cas() {
    let tree = datalyptica_platform::render(&datalyptica_platform::Platform::default_ha());
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let find = |kind: &str, name: &str| {
        objs.iter()
            .copied()
            .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
    };
    let trusts = |opts: &str, who: &str| {
        assert!(
            opts.contains("-Djavax.net.ssl.trustStore=") && opts.contains("truststore.jks"),
            "{who}: JVM options without the truststore: {opts}"
        );
    };
    let builds = |pod: &Value, volumes: &Value, who: &str| {
        let init = pod["initContainers"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["name"] == "truststore"))
            .unwrap_or_else(|| panic!("{who}: no truststore init container"));
        let script = init["command"][2].as_str().unwrap_or_default();
        assert!(script.contains("keytool -importcert"), "{who}: {script}");
        let ca = volumes
            .as_array()
            .and_then(|a| a.iter().find(|v| v["name"] == "ca"))
            .unwrap_or_else(|| panic!("{who}: no CA volume"));
        let sources = ca["projected"]["sources"].to_string();
        assert!(
            sources.contains("openshift-service-ca.crt")
                && sources.contains("\"object-store-ca\"")
                && !sources.contains("kube-root-ca.crt"),
            "{who}: {sources}"
        );
    };

    let fd = find("FlinkDeployment", "flink");
    trusts(
        fd["spec"]["flinkConfiguration"]["env.java.opts.all"]
            .as_str()
            .unwrap_or_default(),
        "flink",
    );
    for role in ["jobManager", "taskManager"] {
        let pod = &fd["spec"][role]["podTemplate"]["spec"];
        builds(pod, &pod["volumes"], role);
    }

    let app = find("SparkApplication", "spark-iceberg-example");
    for role in ["driver", "executor"] {
        trusts(
            app["spec"]["sparkConf"][format!("spark.{role}.extraJavaOptions")]
                .as_str()
                .unwrap_or_default(),
            role,
        );
        builds(&app["spec"][role], &app["spec"]["volumes"], role);
    }

    // Deployments whose JVM options come from one environment variable of the first container.
    for (name, var) in [
        ("spark-history-server", "SPARK_HISTORY_OPTS"),
        ("nessie", "JAVA_OPTS_APPEND"),
    ] {
        let pod = &find("Deployment", name)["spec"]["template"]["spec"];
        let opts = pod["containers"][0]["env"]
            .as_array()
            .and_then(|e| e.iter().find(|v| v["name"] == var))
            .and_then(|v| v["value"].as_str())
            .unwrap_or_default();
        trusts(opts, name);
        builds(pod, &pod["volumes"], name);
    }
}

/// Port numbers of a TLS row's `ports` text ("6121 (data), 6122–6124 (RPC)" → 6121..=6124).
fn declared_ports(text: &str) -> BTreeSet<u16> {
    let mut out = BTreeSet::new();
    let mut nums: Vec<(u16, usize, usize)> = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if let Ok(n) = text[start..i].parse() {
                nums.push((n, start, i));
            }
        } else {
            i += 1;
        }
    }
    for (k, (n, _, end)) in nums.iter().enumerate() {
        out.insert(*n);
        if let Some((next, start, _)) = nums.get(k + 1)
            && matches!(text[*end..*start].trim(), "–" | "-")
        {
            out.extend(*n..=*next);
        }
    }
    out
}

/// Every port a component exposes (to clients, peers, Prometheus, its operator, the router) has
/// a row in its TLS declaration, TLS or not, so the table in network-exposure.md hides no hop.
#[test]
fn every_exposed_port_has_a_declared_tls_status() {
    use datalyptica_platform::security::PeerPorts;
    let mut gaps = Vec::new();
    for (variant, p) in secrets_variants() {
        let m = Model::new(&p);
        for c in m.enabled_components() {
            let e = security::exposure(&m, c.id());
            let mut ports: BTreeSet<u16> = BTreeSet::new();
            for g in &e.groups {
                ports.extend(&g.client);
                ports.extend(&g.metrics);
            }
            if let PeerPorts::Ports(v) = &e.peer {
                ports.extend(v);
            }
            ports.extend(&e.operator);
            ports.extend(e.route);
            let declared: BTreeSet<u16> = c
                .tls(&m)
                .iter()
                .flat_map(|h| declared_ports(&h.ports))
                .collect();
            let missing: Vec<&u16> = ports.difference(&declared).collect();
            if !missing.is_empty() {
                gaps.push(format!(
                    "{variant}: {} exposes {missing:?} without a TLS row (declared {declared:?})",
                    c.id()
                ));
            }
        }
    }
    gaps.dedup_by(|a, b| a.split_once(':').map(|x| x.1) == b.split_once(':').map(|x| x.1));
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    assert_eq!(
        declared_ports("6121 (data), 6122–6124 (RPC)"),
        BTreeSet::from([6121, 6122, 6123, 6124])
    );
}

/// PostgreSQL's consumers verify the server (PGO's CA and the host name), and receive only the
/// CA's certificate: the inventory copies `root.crt` of PGO's root CA Secret, never its key.
#[test]
fn postgresql_consumers_verify_the_server_with_pgos_ca() {
    use datalyptica_platform::security::SecretSource;
    let p = datalyptica_platform::Platform::default_ha();
    let m = Model::new(&p);
    let tree = datalyptica_platform::render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let inv = security::secret_inventory(&m, &objs);
    let pg_ns = m
        .get(datalyptica_platform::component::ComponentId::Postgresql)
        .namespace
        .clone();
    let copies: Vec<_> = inv.iter().filter(|e| e.name == "postgresql-ca").collect();
    assert_eq!(
        copies.len(),
        2,
        "Airflow/Superset share a namespace, Nessie has its own"
    );
    for e in copies {
        assert_eq!(
            e.source,
            SecretSource::Copy {
                namespace: pg_ns.clone(),
                name: "pgo-root-cacert".into()
            }
        );
        assert_eq!(
            e.keys,
            BTreeSet::from(["root.crt".to_string()]),
            "only the certificate"
        );
    }
    let env_of = |c: &Value, name: &str| {
        c["env"]
            .as_array()
            .and_then(|e| e.iter().find(|v| v["name"] == name))
            .and_then(|v| v["value"].as_str())
            .map(String::from)
    };
    let mut checked = 0;
    for o in &objs {
        if !matches!(o["kind"].as_str(), Some("Deployment" | "Job")) {
            continue;
        }
        let pod = &o["spec"]["template"]["spec"];
        for c in pod["containers"].as_array().into_iter().flatten() {
            // A database client mounts a volume that projects a `…-postgresql` Secret's `uri`.
            let db_volumes: Vec<&Value> = pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| {
                    v["projected"]["sources"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .any(|s| {
                            s["secret"]["name"]
                                .as_str()
                                .is_some_and(|n| n.ends_with("-postgresql"))
                                && s["secret"]["items"]
                                    .as_array()
                                    .into_iter()
                                    .flatten()
                                    .any(|i| i["key"] == "uri")
                        })
                })
                .map(|v| &v["name"])
                .collect();
            let reads_db = c["volumeMounts"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|m| db_volumes.contains(&&m["name"]));
            if !reads_db {
                continue;
            }
            let who = common::name(o);
            assert_eq!(
                env_of(c, "PGSSLMODE").as_deref(),
                Some("verify-full"),
                "{who}"
            );
            let root = env_of(c, "PGSSLROOTCERT").unwrap_or_default();
            let dir = root.rsplit_once('/').map(|x| x.0).unwrap_or_default();
            let mount = c["volumeMounts"]
                .as_array()
                .and_then(|v| v.iter().find(|m| m["mountPath"] == dir))
                .unwrap_or_else(|| panic!("{who}: {dir} not mounted"));
            let vol = pod["volumes"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["name"] == mount["name"]))
                .unwrap_or_else(|| panic!("{who}: no volume for the CA"));
            assert_eq!(vol["secret"]["secretName"], "postgresql-ca", "{who}");
            checked += 1;
        }
    }
    assert!(checked >= 5, "only {checked} database clients checked");
    let nessie_cm = objs
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == "nessie-datasource-tls")
        .expect("Nessie's datasource TLS settings");
    let props = nessie_cm["data"]
        .as_object()
        .and_then(|d| d.values().next())
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        props.contains("additional-jdbc-properties.sslmode=verify-full"),
        "{props}"
    );
    assert!(
        props.contains("sslrootcert=/etc/pki/postgresql/root.crt"),
        "{props}"
    );
}

/// Every pod spec (`containers` list) below `v`, Deployments' and operator CRs' templates alike.
fn pod_specs<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            if m.get("containers").is_some_and(Value::is_array) {
                out.push(v);
            }
            m.values().for_each(|x| pod_specs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| pod_specs(x, out)),
        _ => {}
    }
}

/// The TCP ports a component's rendered configuration makes its pods listen on: declared
/// container ports, and the ports set in operator configuration (Flink's `*.port` keys,
/// ClickHouse `*_port` settings, the Keeper host template's Raft port).
fn configured_ports(o: &Value) -> BTreeSet<(u16, String)> {
    let mut out = BTreeSet::new();
    let num = |v: &Value| {
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .and_then(|n| u16::try_from(n).ok())
    };
    let mut specs = Vec::new();
    pod_specs(o, &mut specs);
    for spec in specs {
        for c in ["initContainers", "containers"]
            .iter()
            .flat_map(|l| spec[*l].as_array().into_iter().flatten())
        {
            for p in c["ports"].as_array().into_iter().flatten() {
                if p["protocol"].as_str().unwrap_or("TCP") == "TCP"
                    && let Some(n) = num(&p["containerPort"])
                {
                    out.insert((n, format!("containerPort {}", p["name"])));
                }
            }
        }
    }
    match common::kind(o) {
        "FlinkDeployment" => {
            for (k, v) in o["spec"]["flinkConfiguration"]
                .as_object()
                .into_iter()
                .flatten()
            {
                if k.ends_with(".port")
                    && let Some(n) = num(v)
                {
                    out.insert((n, format!("flinkConfiguration {k}")));
                }
            }
        }
        "ClickHouseInstallation" | "ClickHouseKeeperInstallation" => {
            let settings = o["spec"]["configuration"]["settings"].as_object();
            for (k, v) in settings.into_iter().flatten() {
                if (k.ends_with("_port") || k.ends_with("_port_secure"))
                    && let Some(n) = num(v)
                {
                    out.insert((n, format!("settings {k}")));
                }
            }
            for t in o["spec"]["templates"]["hostTemplates"]
                .as_array()
                .into_iter()
                .flatten()
            {
                for (k, v) in t["spec"].as_object().into_iter().flatten() {
                    if k.ends_with("Port")
                        && let Some(n) = num(v)
                    {
                        out.insert((n, format!("hostTemplate {k}")));
                    }
                }
            }
        }
        // Listeners an operator builds from the CR, with its defaults where the CR leaves them.
        "PostgresCluster" => {
            let spec = &o["spec"];
            // PGO v5.8.8: `port` and `patroni.port` default 5432 and 8008
            // (postgrescluster_types.go, patroni_types.go); pgBackRest's TLS server listens on
            // 8432 (internal/pgbackrest/iana.go); PgBouncer's `port` defaults to 5432.
            out.insert((num(&spec["port"]).unwrap_or(5432), "PGO postgres".into()));
            out.insert((
                num(&spec["patroni"]["port"]).unwrap_or(8008),
                "PGO Patroni API".into(),
            ));
            out.insert((8432, "PGO pgBackRest TLS server".into()));
            if spec["proxy"]["pgBouncer"].is_object() {
                out.insert((
                    num(&spec["proxy"]["pgBouncer"]["port"]).unwrap_or(5432),
                    "PGO PgBouncer".into(),
                ));
            }
            if spec["monitoring"].is_object() {
                out.insert((9187, "PGO exporter".into()));
            }
        }
        "Kafka" => {
            let kafka = &o["spec"]["kafka"];
            for l in kafka["listeners"].as_array().into_iter().flatten() {
                if let Some(n) = num(&l["port"]) {
                    out.insert((n, format!("Strimzi listener {}", l["name"])));
                }
            }
            // Strimzi's own: KRaft control plane, inter-broker replication, the Kafka agent the
            // cluster operator asks for broker state, and the JMX exporter when configured.
            out.insert((9090, "Strimzi control plane".into()));
            out.insert((9091, "Strimzi replication".into()));
            out.insert((8443, "Strimzi Kafka agent".into()));
            if kafka["metricsConfig"].is_object() {
                out.insert((9404, "Strimzi metrics".into()));
            }
        }
        "RedisReplication" => {
            out.insert((6379, "redis-operator Redis".into()));
            if o["spec"]["redisExporter"]["enabled"] == true {
                out.insert((9121, "redis-operator exporter".into()));
            }
        }
        "RedisSentinel" => {
            out.insert((26379, "redis-operator Sentinel".into()));
        }
        "Tenant" => {
            out.insert((9000, "MinIO S3".into()));
        }
        _ => {}
    }
    out
}

/// One source for both sides: every port a component's configuration listens on is a port its
/// exposure declares (clients, peers, Prometheus, its operator, the router), so the network
/// policies built from the exposure open it. A listener the policies do not know is either dead
/// weight or a broken flow (ClickHouse Keeper's Raft on the operator's default 9444 while the
/// policies opened 9234; Flink ports declared twice).
#[test]
fn every_port_the_configuration_listens_on_is_opened_by_the_policies() {
    use datalyptica_platform::security::PeerPorts;
    // Listeners no other pod may reach, each with the reason.
    let local_only: &[(&str, u16, &str)] = &[];
    let mut gaps = Vec::new();
    let mut checked = 0;
    for (variant, p) in common::variants() {
        let tree = datalyptica_platform::render(&p);
        let m = Model::new(&p);
        for c in m.enabled_components() {
            let e = security::exposure(&m, c.id());
            let mut open: BTreeSet<u16> = BTreeSet::new();
            for g in &e.groups {
                open.extend(&g.client);
                open.extend(&g.metrics);
            }
            let any_peer = matches!(e.peer, PeerPorts::Any);
            if let PeerPorts::Ports(v) = &e.peer {
                open.extend(v);
            }
            open.extend(&e.operator);
            open.extend(e.route);
            for (file, o) in tree.objects() {
                if o["metadata"]["labels"]["app.kubernetes.io/component"] != c.id().name() {
                    continue;
                }
                for (port, what) in configured_ports(o) {
                    checked += 1;
                    if open.contains(&port)
                        || any_peer
                        || local_only
                            .iter()
                            .any(|(id, n, _)| *id == c.id().name() && *n == port)
                    {
                        continue;
                    }
                    gaps.push(format!(
                        "{variant}: {file}: {} listens on {port} ({what}), which no policy of {} opens (open: {open:?})",
                        common::name(o),
                        c.id()
                    ));
                }
            }
        }
    }
    gaps.dedup();
    assert!(gaps.is_empty(), "{}", gaps.join("\n"));
    assert!(checked > 50, "only {checked} listeners checked");
}

/// The operator-built listeners are in the check above: a CR of each kind yields its ports.
#[test]
fn operator_built_listeners_are_counted() {
    let tree = datalyptica_platform::render(&datalyptica_platform::Platform::default_ha());
    let ports = |kind: &str| -> BTreeSet<u16> {
        tree.objects()
            .filter(|(_, o)| common::kind(o) == kind)
            .flat_map(|(_, o)| configured_ports(o))
            .map(|(p, _)| p)
            .collect()
    };
    assert!(ports("PostgresCluster").is_superset(&[5432, 8008, 8432].into()));
    assert!(ports("Kafka").is_superset(&[9090, 9091, 8443].into()));
    assert!(ports("RedisReplication").contains(&6379));
    assert!(ports("RedisSentinel").contains(&26379));
    assert!(ports("Tenant").contains(&9000));
}
