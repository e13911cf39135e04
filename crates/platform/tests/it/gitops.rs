//! `render --gitops`: the Argo CD and Flux objects validate against the upstream CRDs
//! (`$DATALYPTICA_SHARED_DIR/crds/gitops`), every `kustomization.yaml` built by the real
//! kustomize (`.ci/install-kustomize.sh`, `$DATALYPTICA_KUSTOMIZE`) yields exactly the objects
//! `deploy` applies from that directory, in its order, and the order and dependencies follow
//! the deploy plan.

use crate::common;
use crate::kustomize;

use std::collections::BTreeMap;

use datalyptica_conformance::catalog_for_tests;
use datalyptica_platform::component::ComponentId;
use datalyptica_platform::gitops::{self, Engine, GitopsError, Options};
use datalyptica_platform::model::Model;
use datalyptica_platform::spec::{SecretStoreRef, SecretsMode};
use datalyptica_platform::{Platform, Tree, order};
use serde_json::Value;

fn opts(engine: Engine) -> Options {
    Options {
        engine,
        repo: "https://git.example.org/platform.git".into(),
        revision: "main".into(),
        path: "clusters/prod".into(),
    }
}

/// The test variants, with Secrets that may live in Git: sealed or external.
fn variants() -> Vec<(&'static str, Platform)> {
    common::variants()
        .into_iter()
        .enumerate()
        .map(|(i, (n, mut p))| {
            if i % 2 == 0 {
                p.spec.secrets.mode = SecretsMode::SealedSecrets;
            } else {
                p.spec.secrets.mode = SecretsMode::ExternalSecrets;
                p.spec.secrets.store_ref = Some(SecretStoreRef {
                    name: "vault".into(),
                    kind: None,
                });
            }
            (n, p)
        })
        .collect()
}

fn gitops_tree(p: &Platform, engine: Engine) -> Tree {
    gitops::render(p, &opts(engine)).expect("gitops render")
}

#[test]
fn generated_secrets_are_refused() {
    let p = Platform::default_ha();
    assert_eq!(p.spec.secrets.mode, SecretsMode::Generated);
    for e in [Engine::ArgoCd, Engine::Flux] {
        let err = gitops::render(&p, &opts(e)).expect_err("generated secrets refused");
        assert_eq!(err, GitopsError::GeneratedSecrets);
        assert!(err.to_string().contains("sealed-secrets"), "{err}");
    }
}

#[test]
fn output_is_byte_stable_and_keeps_the_plain_tree() {
    for (n, p) in variants() {
        let plain = datalyptica_platform::render(&p).to_bytes();
        for e in [Engine::ArgoCd, Engine::Flux] {
            let a = gitops_tree(&p, e).to_bytes();
            assert_eq!(a, gitops_tree(&p, e).to_bytes(), "{n}: not deterministic");
            for (path, text) in &plain {
                assert_eq!(a.get(path), Some(text), "{n}: {path} changed by --gitops");
            }
            let added: Vec<&String> = a.keys().filter(|k| !plain.contains_key(*k)).collect();
            assert!(
                added
                    .iter()
                    .all(|k| k.starts_with("gitops/") || k.ends_with("/kustomization.yaml")),
                "{n}: unexpected files {added:?}"
            );
        }
    }
}

#[test]
fn gitops_objects_validate_against_the_upstream_crds() {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    let mut checked: BTreeMap<String, usize> = BTreeMap::new();
    for (n, p) in variants() {
        for e in [Engine::ArgoCd, Engine::Flux] {
            let tree = gitops_tree(&p, e);
            for (file, o) in tree.objects().filter(|(f, _)| f.starts_with("gitops/")) {
                let (api, kind) = (o["apiVersion"].as_str().unwrap_or(""), common::kind(o));
                if (api, kind) == ("v1", "ConfigMap") {
                    continue;
                }
                assert!(
                    catalog.knows(api, kind),
                    "{n}: {file}: no CRD for {api} {kind}"
                );
                if let Err(v) = catalog.validate(o) {
                    let msgs: Vec<String> = v.iter().map(ToString::to_string).collect();
                    panic!(
                        "{n}: {file}: {} rejected:\n{}",
                        common::name(o),
                        msgs.join("\n")
                    );
                }
                *checked.entry(format!("{api} {kind}")).or_default() += 1;
            }
        }
    }
    for k in [
        "argoproj.io/v1alpha1 Application",
        "argoproj.io/v1alpha1 AppProject",
        "argoproj.io/v1beta1 ArgoCD",
        "source.toolkit.fluxcd.io/v1 GitRepository",
        "kustomize.toolkit.fluxcd.io/v1 Kustomization",
    ] {
        assert!(
            checked.get(k).is_some_and(|c| *c > 0),
            "{k} never checked: {checked:?}"
        );
    }
}

fn named<'a>(tree: &'a Tree, file: &str, kind: &str) -> Vec<&'a Value> {
    tree.files[file]
        .objects()
        .iter()
        .filter(|o| o["kind"] == kind)
        .collect()
}

#[test]
fn carried_operators_are_installed_first_by_their_component_s_unit() {
    let p = &variants()[0].1;
    let m = Model::new(p);
    let units = gitops::units(&m, &datalyptica_platform::render(p)).expect("units");
    let carried = [
        (ComponentId::Redis, "RedisReplication"),
        (ComponentId::Minio, "Tenant"),
    ];
    for (id, cr) in carried {
        let unit = units
            .iter()
            .find(|u| u.component == Some(id))
            .unwrap_or_else(|| panic!("the {id} unit"));
        assert_eq!(
            unit.files.first().map(String::as_str),
            Some("operator-install.yaml"),
            "{:?}",
            unit.files
        );
        let kinds: Vec<&str> = unit
            .objects
            .iter()
            .filter_map(|o| o["kind"].as_str())
            .collect();
        let at = |k: &str| kinds.iter().position(|x| *x == k);
        assert!(
            at("CustomResourceDefinition") < at(cr) && at("Deployment") < at(cr),
            "{kinds:?}"
        );
    }
    // No other unit carries an operator install; OLM's Subscriptions stay in prerequisites.
    for u in &units {
        if !carried.iter().any(|(id, _)| u.component == Some(*id)) {
            assert!(
                !u.files.iter().any(|f| f == "operator-install.yaml"),
                "{}",
                u.name
            );
        }
    }
    // Without MinIO, only Redis's operator is carried.
    let mut odf = p.clone();
    odf.spec.object_store.backend = Some(datalyptica_platform::spec::ObjectStoreBackend::Odf);
    let m = Model::new(&odf);
    let units = gitops::units(&m, &datalyptica_platform::render(&odf)).expect("units");
    let with_install: Vec<Option<ComponentId>> = units
        .iter()
        .filter(|u| u.files.iter().any(|f| f == "operator-install.yaml"))
        .map(|u| u.component)
        .collect();
    assert_eq!(with_install, [Some(ComponentId::Redis)]);
}

#[test]
fn argocd_waves_follow_the_deploy_order() {
    let p = &variants()[0].1;
    let m = Model::new(p);
    let tree = gitops_tree(p, Engine::ArgoCd);
    let apps = named(&tree, "gitops/argocd/apps/applications.yaml", "Application");
    let wave = |unit: &str| -> i64 {
        let app = apps
            .iter()
            .find(|a| a["metadata"]["name"] == format!("datalyptica-{unit}").as_str())
            .unwrap_or_else(|| panic!("no Application for {unit}"));
        app["metadata"]["annotations"]["argocd.argoproj.io/sync-wave"]
            .as_str()
            .and_then(|w| w.parse().ok())
            .expect("numeric wave")
    };
    let stages = order::stages(&m).expect("stages");
    assert_eq!(apps.len(), 1 + m.enabled_components().count());
    assert_eq!(
        wave("prerequisites"),
        0,
        "prerequisites and operators first"
    );
    for (i, s) in stages.iter().enumerate() {
        for c in &s.components {
            assert_eq!(wave(c.name()), 2 + i as i64, "{c}");
            let comp = datalyptica_platform::components::by_name(c.name()).expect("known");
            for d in m.deps_of(comp) {
                assert!(
                    wave(d.name()) < wave(c.name()),
                    "{c} synced before its dependency {d}"
                );
            }
        }
    }
    for a in &apps {
        let opts: Vec<&str> = a["spec"]["syncPolicy"]["syncOptions"]
            .as_array()
            .expect("sync options")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(opts.contains(&"ServerSideApply=true"), "{opts:?}");
        assert!(
            a["spec"]["source"]["path"]
                .as_str()
                .is_some_and(|p| p.starts_with("clusters/prod/"))
        );
    }
    // ignoreDifferences: the labels OpenShift sets on projects, and the CA bundle the service
    // CA injects into annotated ConfigMaps, exactly where the unit applies such objects.
    let units = gitops::units(&m, &datalyptica_platform::render(p)).expect("units");
    for u in &units {
        let app = apps
            .iter()
            .find(|a| a["metadata"]["name"] == format!("datalyptica-{}", u.name).as_str())
            .expect("app");
        let ignored: Vec<&str> = app["spec"]["ignoreDifferences"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| d["kind"].as_str())
            .collect();
        let injected = u.objects.iter().any(|o| {
            o["kind"] == "ConfigMap"
                && o["metadata"]["annotations"]["service.beta.openshift.io/inject-cabundle"]
                    == "true"
        });
        assert_eq!(ignored.contains(&"ConfigMap"), injected, "{}", u.name);
        let namespaces = u.objects.iter().any(|o| o["kind"] == "Namespace");
        assert_eq!(ignored.contains(&"Namespace"), namespaces, "{}", u.name);
    }
    // The project admits exactly the platform's namespaces and the kinds of the synced set.
    let boot = &tree.files["gitops/argocd/bootstrap.yaml"];
    let proj = boot
        .objects()
        .iter()
        .find(|o| o["kind"] == "AppProject" && o["metadata"]["name"] == "datalyptica")
        .expect("project");
    let kinds: Vec<String> = proj["spec"]["namespaceResourceWhitelist"]
        .as_array()
        .expect("whitelist")
        .iter()
        .map(|g| {
            format!(
                "{}/{}",
                g["group"].as_str().unwrap_or(""),
                g["kind"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert!(kinds.contains(&"postgres-operator.crunchydata.com/PostgresCluster".to_string()));
    assert!(kinds.contains(&"operators.coreos.com/Subscription".to_string()));
    assert!(
        !kinds.iter().any(|k| k.ends_with("/SparkApplication")),
        "the Spark template is not synced, so its kind is not admitted: {kinds:?}"
    );
    let cluster: Vec<&str> = proj["spec"]["clusterResourceWhitelist"]
        .as_array()
        .expect("cluster whitelist")
        .iter()
        .filter_map(|g| g["kind"].as_str())
        .collect();
    // Namespaces, and what the carried MinIO Operator's install needs (no catalog offers it).
    assert_eq!(
        cluster,
        [
            "Namespace",
            "CustomResourceDefinition",
            "ClusterRole",
            "ClusterRoleBinding"
        ]
    );
    let dests: Vec<&str> = proj["spec"]["destinations"]
        .as_array()
        .expect("destinations")
        .iter()
        .filter_map(|d| d["namespace"].as_str())
        .collect();
    let mut want = m.namespaces();
    want.push(m.operators_namespace.clone());
    want.sort();
    want.dedup();
    assert_eq!(dests, want);
    // Health checks: Application first, then each custom resource kind the tree applies.
    let argocd = named(
        &tree,
        "gitops/argocd/health-checks-openshift-gitops.yaml",
        "ArgoCD",
    );
    let kinds: Vec<&str> = argocd[0]["spec"]["resourceHealthChecks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter_map(|c| c["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "Application",
            "PostgresCluster",
            "RedisReplication",
            "Tenant",
            "Kafka",
            "FlinkDeployment",
            "ClickHouseKeeperInstallation",
            "ClickHouseInstallation"
        ]
    );
    let cm = named(
        &tree,
        "gitops/argocd/health-checks-argocd-cm.yaml",
        "ConfigMap",
    );
    assert!(cm[0]["data"]["resource.customizations.health.kafka.strimzi.io_Kafka"].is_string());
}

#[test]
fn flux_depends_on_the_dependency_graph_and_waits_for_the_gates() {
    let p = &variants()[0].1;
    let m = Model::new(p);
    let tree = gitops_tree(p, Engine::Flux);
    let ks = named(&tree, "gitops/flux/kustomizations.yaml", "Kustomization");
    let get = |unit: &str| {
        *ks.iter()
            .find(|k| k["metadata"]["name"] == format!("datalyptica-{unit}").as_str())
            .unwrap_or_else(|| panic!("no Kustomization for {unit}"))
    };
    for c in m.enabled_components() {
        let k = get(c.id().name());
        let deps: Vec<&str> = k["spec"]["dependsOn"]
            .as_array()
            .expect("dependsOn")
            .iter()
            .filter_map(|d| d["name"].as_str())
            .collect();
        let mut want = vec!["datalyptica-prerequisites".to_string()];
        want.extend(m.deps_of(c).iter().map(|d| format!("datalyptica-{d}")));
        assert_eq!(deps, want, "{}", c.id());
        assert_eq!(k["spec"]["prune"], true);
        assert_eq!(
            k["spec"]["wait"], false,
            "health is the gates, through healthChecks"
        );
        let checks: Vec<String> = k["spec"]["healthChecks"]
            .as_array()
            .expect("healthChecks")
            .iter()
            .map(|h| {
                format!(
                    "{}/{}",
                    h["kind"].as_str().unwrap_or(""),
                    h["name"].as_str().unwrap_or("")
                )
            })
            .collect();
        for g in c.gates(&m) {
            assert!(
                checks.contains(&format!("{}/{}", g.kind, g.name)),
                "{}: {checks:?}",
                c.id()
            );
        }
    }
    let redis = get("redis");
    let checks = redis["spec"]["healthChecks"].as_array().expect("checks");
    assert!(
        checks
            .iter()
            .any(|h| h["kind"] == "StatefulSet" && h["name"] == "redis-sentinel-sentinel"),
        "Flux waits for the Sentinel StatefulSet the operator makes"
    );
    let kafka = get("kafka");
    assert_eq!(kafka["spec"]["timeout"], "20m", "the Kafka gate's timeout");
    assert_eq!(kafka["spec"]["healthCheckExprs"][0]["kind"], "Kafka");
    let pre = get("prerequisites");
    assert!(pre["spec"].get("dependsOn").is_none());
    let subs = pre["spec"]["healthChecks"].as_array().expect("subs").len();
    assert_eq!(
        subs,
        m.enabled_components()
            .filter(|c| m.get(c.id()).operator.is_some())
            .count()
    );
    let repo = named(&tree, "gitops/flux/git-repository.yaml", "GitRepository");
    assert_eq!(repo[0]["spec"]["ref"]["branch"], "main");
    assert_eq!(ComponentId::Kafka.name(), "kafka");
}

#[test]
fn every_kustomization_builds_to_exactly_what_deploy_applies() {
    let Some(kustomize) = kustomize::find() else {
        return;
    };
    let mut built = 0;
    for (n, p) in variants() {
        let m = Model::new(&p);
        for e in [Engine::ArgoCd, Engine::Flux] {
            let tree = gitops_tree(&p, e);
            let dir = std::env::temp_dir().join(format!(
                "datalyptica-gitops-{}-{n}-{}",
                std::process::id(),
                e.name()
            ));
            kustomize::write(&tree, &dir);
            for u in gitops::units(&m, &datalyptica_platform::render(&p)).expect("units") {
                let got = kustomize::build(&kustomize, &dir.join(&u.dir));
                assert_eq!(
                    got.len(),
                    u.objects.len(),
                    "{n}/{}: kustomize built {} objects, deploy applies {}",
                    u.dir,
                    got.len(),
                    u.objects.len()
                );
                for (g, w) in got.iter().zip(&u.objects) {
                    if let Some(at) = kustomize::first_difference(g, w, String::new()) {
                        panic!("{n}/{}: {} differs at {at}", u.dir, common::name(w));
                    }
                }
                built += 1;
            }
            if e == Engine::Flux {
                let boot = kustomize::build(&kustomize, &dir.join("gitops/flux"));
                let want: Vec<&Value> = tree
                    .objects()
                    .filter(|(f, _)| f.starts_with("gitops/flux/"))
                    .map(|(_, o)| o)
                    .collect();
                assert_eq!(boot.iter().collect::<Vec<_>>(), want, "{n}: gitops/flux");
            }
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    assert!(built >= 4 * 2 * 12, "built {built} kustomizations");
}

/// The engines' files of the HA default with sealed secrets, byte for byte.
#[test]
fn gitops_snapshot() {
    let mut p = Platform::default_ha();
    p.spec.secrets.mode = SecretsMode::SealedSecrets;
    for e in [Engine::ArgoCd, Engine::Flux] {
        for (path, text) in gitops_tree(&p, e).to_bytes() {
            if path.starts_with(&format!("gitops/{}/", e.name())) {
                insta::assert_snapshot!(path.replace('/', "__"), text);
            }
        }
    }
}
