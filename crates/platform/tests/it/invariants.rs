//! HA and security invariants over every workload of every rendered variant.

use crate::common;

use serde_json::Value;

fn workloads(o: &Value) -> bool {
    matches!(common::kind(o), "Deployment" | "StatefulSet")
}

/// Operator custom resources that make pods: each must carry a hard hostname anti-affinity.
const POD_MAKING_CRS: &[&str] = &[
    "PostgresCluster",
    "RedisReplication",
    "RedisSentinel",
    "Tenant",
    "KafkaNodePool",
    "FlinkDeployment",
    "ClickHouseInstallation",
    "ClickHouseKeeperInstallation",
];

fn walk<'a>(v: &'a Value, out: &mut Vec<(String, &'a Value)>, path: String) {
    out.push((path.clone(), v));
    match v {
        Value::Object(o) => o
            .iter()
            .for_each(|(k, c)| walk(c, out, format!("{path}/{k}"))),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .for_each(|(i, c)| walk(c, out, format!("{path}/{i}"))),
        _ => {}
    }
}

fn nodes(v: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    walk(v, &mut out, String::new());
    out
}

fn has_hostname_anti_affinity(v: &Value) -> bool {
    nodes(v).iter().any(|(p, n)| {
        p.ends_with("podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution")
            && n.as_array().is_some_and(|terms| {
                terms
                    .iter()
                    .any(|t| t["topologyKey"] == "kubernetes.io/hostname")
            })
    })
}

fn selects(selector: &Value, labels: &Value) -> bool {
    selector["matchLabels"]
        .as_object()
        .is_some_and(|m| !m.is_empty() && m.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

#[test]
fn replicated_workloads_are_spread_budgeted_probed_and_bounded() {
    for (variant, tree) in common::rendered() {
        let objects: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
        for o in objects.iter().copied().filter(|o| workloads(o)) {
            let who = format!("{variant}: {}", common::name(o));
            let spec = &o["spec"];
            let replicas = spec["replicas"].as_u64().unwrap_or(1);
            let pod = &spec["template"]["spec"];
            let labels = &spec["template"]["metadata"]["labels"];
            if replicas >= 2 {
                assert!(
                    has_hostname_anti_affinity(pod),
                    "{who}: no required hostname anti-affinity"
                );
                assert!(
                    pod["topologySpreadConstraints"]
                        .as_array()
                        .is_some_and(|c| c
                            .iter()
                            .any(|t| t["topologyKey"] == "topology.kubernetes.io/zone")),
                    "{who}: no zone spread"
                );
                let pdb = objects.iter().find(|p| {
                    common::kind(p) == "PodDisruptionBudget"
                        && p["metadata"]["namespace"] == o["metadata"]["namespace"]
                        && selects(&p["spec"]["selector"], labels)
                });
                let pdb = pdb.unwrap_or_else(|| panic!("{who}: no PodDisruptionBudget selects it"));
                // Never zero (blocks every drain) and never all (blocks every eviction).
                if let Some(min) = pdb["spec"]["minAvailable"].as_u64() {
                    assert!(min >= 1, "{who}: PDB allows every pod to go");
                    assert!(
                        min < replicas,
                        "{who}: PDB minAvailable {min} blocks every eviction of {replicas}"
                    );
                    // Quorum sets keep their majority through any voluntary disruption.
                    if labels["app"] == "etcd" {
                        assert_eq!(min, replicas / 2 + 1, "{who}: PDB below the etcd majority");
                    }
                } else {
                    let max = pdb["spec"]["maxUnavailable"].as_u64().unwrap_or(0);
                    assert!(
                        max >= 1 && max < replicas,
                        "{who}: PDB maxUnavailable {max} of {replicas}"
                    );
                }
            }
            let ports: Vec<&str> = pod["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["ports"].as_array().into_iter().flatten())
                .filter_map(|p| p["name"].as_str())
                .collect();
            // Generated from an upstream release that has no health endpoint: the waiver says why.
            let no_probes = o["metadata"]["annotations"]
                [datalyptica_platform::components::minio::operator::UPSTREAM_ANNOTATION]
                .is_string()
                && o["metadata"]["annotations"]
                    [datalyptica_platform::render::LINT_WAIVE_ANNOTATION]
                    .as_str()
                    .is_some_and(|w| w.starts_with("DL1008: "));
            for c in pod["containers"].as_array().into_iter().flatten() {
                let cname = format!("{who} container {}", c["name"]);
                for probe in ["livenessProbe", "readinessProbe"] {
                    if no_probes {
                        assert!(c[probe].is_null(), "{cname}: a probe on a waived container");
                        continue;
                    }
                    let p = &c[probe];
                    assert!(p.is_object(), "{cname}: no {probe}");
                    for port in [&p["httpGet"]["port"], &p["tcpSocket"]["port"]] {
                        if let Some(name) = port.as_str() {
                            assert!(
                                ports.contains(&name),
                                "{cname}: {probe} uses port `{name}` that no container declares"
                            );
                        }
                    }
                }
                for k in ["requests", "limits"] {
                    for r in ["cpu", "memory"] {
                        assert!(c["resources"][k][r].is_string(), "{cname}: no {k}.{r}");
                    }
                }
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{cname}");
                assert_eq!(
                    sc["capabilities"]["drop"],
                    serde_json::json!(["ALL"]),
                    "{cname}"
                );
                assert!(
                    sc["runAsNonRoot"] == true || pod["securityContext"]["runAsNonRoot"] == true,
                    "{cname}: runAsNonRoot"
                );
                assert!(
                    sc["seccompProfile"]["type"] == "RuntimeDefault"
                        || pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault",
                    "{cname}: seccomp"
                );
            }
        }
        for o in &objects {
            if POD_MAKING_CRS.contains(&common::kind(o)) && variant != "dev" {
                assert!(
                    has_hostname_anti_affinity(o),
                    "{variant}: {} has no required hostname anti-affinity",
                    common::name(o)
                );
            }
        }
    }
}

#[test]
fn nothing_pins_a_uid_or_runs_privileged() {
    // restricted-v2 assigns UIDs and fsGroups from the namespace range.
    for (variant, tree) in common::rendered() {
        // A CRD's schema names these fields; it sets none of them.
        for (file, o) in tree
            .objects()
            .filter(|(_, o)| common::kind(o) != "CustomResourceDefinition")
        {
            for (path, n) in nodes(o) {
                let key = path.rsplit('/').next().unwrap_or("");
                assert!(
                    !matches!(
                        key,
                        "runAsUser"
                            | "fsGroup"
                            | "runAsGroup"
                            | "hostNetwork"
                            | "hostPID"
                            | "hostIPC"
                            | "hostPath"
                            | "privileged"
                    ) || n == &Value::Bool(false),
                    "{variant}: {file}: {} sets {path}",
                    common::name(o)
                );
            }
        }
    }
}

#[test]
fn no_secret_material_anywhere() {
    let suspicious = ["password", "secret", "token", "private key"];
    for (variant, tree) in common::rendered() {
        for (file, o) in tree.objects() {
            assert_ne!(
                common::kind(o),
                "Secret",
                "{variant}: {file}: a Secret object is rendered"
            );
            for (path, n) in nodes(o) {
                // A literal env value under a secret-sounding name is secret material; references
                // (valueFrom, urn:… indirections) are fine.
                if path.ends_with("/value")
                    && let Some(v) = n.as_str()
                {
                    let env_name = nodes(o)
                        .iter()
                        .find(|(p, _)| *p == path.replace("/value", "/name"))
                        .and_then(|(_, n)| n.as_str().map(str::to_lowercase))
                        .unwrap_or_default();
                    // Airflow's `…_CMD` options name a command that reads a mounted file.
                    let reads_file = env_name.ends_with("_cmd") && v.starts_with("cat /");
                    if suspicious.iter().any(|s| env_name.contains(s)) && !reads_file {
                        assert!(
                            v.starts_with("urn:") || v.starts_with("$("),
                            "{variant}: {file}: {path} holds a literal for {env_name}"
                        );
                    }
                }
                if let Some(s) = n.as_str() {
                    assert!(
                        !s.contains("BEGIN") || !s.contains("PRIVATE KEY"),
                        "{variant}: {file}: {path} holds a key"
                    );
                }
            }
        }
    }
}

#[test]
fn every_component_writes_exactly_its_declared_files() {
    for (variant, tree) in common::rendered() {
        let p = &common::variants()
            .into_iter()
            .find(|(n, _)| *n == variant)
            .expect("variant")
            .1;
        let m = datalyptica_platform::model::Model::new(p);
        for c in m.enabled_components() {
            let mut want: Vec<String> = datalyptica_platform::ops::manifest_names(&m, c)
                .iter()
                .map(|f| format!("{}/{f}", c.dir()))
                .collect();
            want.push(format!("{}/README.md", c.dir()));
            want.sort();
            let mut got: Vec<String> = tree
                .files
                .keys()
                .filter(|k| k.starts_with(&format!("{}/", c.dir())))
                .cloned()
                .collect();
            got.sort();
            assert_eq!(got, want, "{variant}: {}", c.id());
        }
    }
}
