//! Real-world trees: kustomize and Helm layouts, non-Kubernetes YAML, operator-managed pods
//! under PodDisruptionBudgets, symbolic links, other encodings, `--kustomize` with the real
//! kustomize binary.

use crate::common;
use common::args;

use std::path::{Path, PathBuf};

use datalyptica_lint::cli::execute;
use datalyptica_lint::{Config, FailOn, LintOptions, Report, Severity, Source, lint_sources};
use serde_json::Value;

fn lint(files: &[(&str, &str)]) -> Report {
    let sources: Vec<Source> = files.iter().map(|(p, t)| Source::new(*p, *t)).collect();
    lint_sources(&sources, &Config::default())
}

fn of<'r>(r: &'r Report, rule: &str, file: &str) -> Vec<&'r datalyptica_lint::Finding> {
    r.findings
        .iter()
        .filter(|f| f.rule == rule && f.file == Path::new(file))
        .collect()
}

const BASE_DEPLOY: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: quay.io/org/web:1.0
";

const OVERLAY: &str = "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: shop
resources:
- ../../base
components:
- ../../components/probes
patches:
- path: replicas.yaml
- path: args.json.yaml
  target: {kind: Deployment, name: web}
";

const REPLICAS_PATCH: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 3
";

const ARGS_PATCH: &str = "- op: add
  path: /spec/template/metadata/labels/tier
  value: front
";

const COMPONENT: &str = "apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
patches:
- path: probes.yaml
";

const PROBES_PATCH: &str = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
      - name: web
        readinessProbe: {httpGet: {path: /ready, port: http}}
";

fn kustomize_tree() -> Vec<(&'static str, &'static str)> {
    vec![
        ("base/kustomization.yaml", "resources:\n- deployment.yaml\n"),
        ("base/deployment.yaml", BASE_DEPLOY),
        ("overlays/prod/kustomization.yaml", OVERLAY),
        ("overlays/prod/replicas.yaml", REPLICAS_PATCH),
        ("overlays/prod/args.json.yaml", ARGS_PATCH),
        ("components/probes/kustomization.yaml", COMPONENT),
        ("components/probes/probes.yaml", PROBES_PATCH),
    ]
}

#[test]
fn kustomize_files_and_patches_are_skipped_with_a_note_not_an_error() {
    let r = lint(&kustomize_tree());
    for f in &r.findings {
        assert!(
            f.file == Path::new("base/deployment.yaml") || f.rule == "DL0005",
            "only the base's resource is linted: {f:?}"
        );
    }
    for skipped in [
        "base/kustomization.yaml",
        "overlays/prod/kustomization.yaml",
        "overlays/prod/replicas.yaml",
        "overlays/prod/args.json.yaml",
        "components/probes/kustomization.yaml",
        "components/probes/probes.yaml",
    ] {
        let n = of(&r, "DL0005", skipped);
        assert_eq!(n.len(), 1, "{skipped}: {:?}", r.findings);
        assert_eq!(n[0].severity, Severity::Info);
        assert_eq!((n[0].line, n[0].column), (1, 1));
    }
    let note = &of(&r, "DL0005", "overlays/prod/replicas.yaml")[0].message;
    assert!(
        note.contains("patch") && note.contains("overlays/prod/kustomization.yaml"),
        "{note}"
    );
    // The base's Deployment is a real object: its findings stay.
    assert_eq!(of(&r, "DL1001", "base/deployment.yaml").len(), 1);
    assert!(
        !r.fails(Some(Severity::Error))
            || r.findings
                .iter()
                .all(|f| f.severity != Severity::Error
                    || f.file == Path::new("base/deployment.yaml"))
    );
}

#[test]
fn helm_charts_ci_files_and_configs_are_skipped() {
    let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"app.fullname\" . }}\n  labels:\n    {{- include \"app.labels\" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n";
    let r = lint(&[
        (
            "chart/Chart.yaml",
            "apiVersion: v2\nname: app\nversion: 0.1.0\n",
        ),
        (
            "chart/values.yaml",
            "replicaCount: 1\nimage: {repository: nginx, tag: \"\"}\n",
        ),
        ("chart/values-prod.yaml", "replicaCount: 3\n"),
        ("chart/templates/deployment.yaml", template),
        (
            "chart/templates/pdb.yaml",
            "{{- if .Values.pdb }}\napiVersion: policy/v1\nkind: PodDisruptionBudget\n{{- end }}\n",
        ),
        (
            "ci/workflow.yaml",
            "name: ci\non: [push]\njobs: {lint: {runs-on: ubuntu-latest}}\n",
        ),
        (
            "docker-compose.yaml",
            "services:\n  db: {image: postgres:16}\n",
        ),
        (
            "kind.yaml",
            "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes: [{role: control-plane}]\n",
        ),
        (
            "loose-template.yaml",
            "key: {{ .Values.x }\n  bad: {{ y }}\n",
        ),
    ]);
    let errors: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.severity != Severity::Info)
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(r.findings.len(), 9, "{:#?}", r.findings);
    assert!(
        of(&r, "DL0005", "chart/templates/deployment.yaml")[0]
            .message
            .contains("Helm template")
    );
    assert!(
        of(&r, "DL0005", "chart/values-prod.yaml")[0]
            .message
            .contains("Helm values")
    );
    assert!(
        of(&r, "DL0005", "loose-template.yaml")[0]
            .message
            .contains("Go template")
    );
}

#[test]
fn a_manifest_stream_keeps_its_input_errors() {
    // A file with real objects is a manifest: a stray scalar or nameless object in it is still
    // an error, and so is YAML that does not parse (without template braces).
    let r = lint(&[
        (
            "m.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nplain words\n---\napiVersion: v1\nkind: Secret\nmetadata: {}\n",
        ),
        (
            "broken.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
        ),
    ]);
    assert_eq!(of(&r, "DL0002", "m.yaml").len(), 2, "{:#?}", r.findings);
    assert_eq!(of(&r, "DL0001", "broken.yaml").len(), 1);
    assert!(r.findings.iter().all(|f| f.rule != "DL0005"));
}

#[test]
fn kafka_rf_message_names_the_configured_min_isr() {
    let r = lint(&[(
        "k.yaml",
        "apiVersion: kafka.strimzi.io/v1\nkind: Kafka\nmetadata: {name: k, namespace: s}\nspec:\n  kafka:\n    config:\n      default.replication.factor: 2\n      min.insync.replicas: 1\n",
    )]);
    let m: Vec<&str> = of(&r, "DL1016", "k.yaml")
        .iter()
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].contains("min.insync.replicas 1"), "{m:?}");
    assert!(!m[0].contains("min.insync.replicas 2"), "{m:?}");
    let r = lint(&[(
        "k.yaml",
        "apiVersion: kafka.strimzi.io/v1\nkind: Kafka\nmetadata: {name: k, namespace: s}\nspec:\n  kafka:\n    config:\n      default.replication.factor: 2\n      min.insync.replicas: 2\n",
    )]);
    let m = &of(&r, "DL1016", "k.yaml")[0].message;
    assert!(
        m.contains("min.insync.replicas 2, one broker loss blocks"),
        "{m}"
    );
}

const OPERATOR_CRS: &str = "apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata: {name: k8s, namespace: monitoring}
spec:
  replicas: 2
  podMetadata:
    labels: {app.kubernetes.io/part-of: kube-prometheus}
---
apiVersion: monitoring.coreos.com/v1
kind: Alertmanager
metadata: {name: main, namespace: monitoring}
spec: {replicas: 3}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata:
  name: controllers
  namespace: stream
  labels: {strimzi.io/cluster: events}
spec:
  replicas: 3
  roles: [controller]
---
apiVersion: postgres-operator.crunchydata.com/v1beta1
kind: PostgresCluster
metadata: {name: hippo, namespace: db}
spec:
  instances:
  - name: pgha1
    replicas: 2
";

fn pdb(ns: &str, name: &str, budget: &str, labels: &str) -> String {
    format!(
        "---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: {name}, namespace: {ns}}}\nspec:\n  {budget}\n  selector:\n    matchLabels: {{{labels}}}\n"
    )
}

#[test]
fn budgets_over_operator_pods_are_checked() {
    let mut tree = OPERATOR_CRS.to_string();
    // Blocks every eviction of the 2 Prometheus pods (selected by podMetadata + operator labels).
    tree += &pdb(
        "monitoring",
        "prometheus-k8s",
        "minAvailable: 2",
        "app.kubernetes.io/name: prometheus, app.kubernetes.io/part-of: kube-prometheus, prometheus: k8s",
    );
    // Fine: one of three Alertmanagers at a time.
    tree += &pdb(
        "monitoring",
        "alertmanager-main",
        "maxUnavailable: 1",
        "alertmanager: main",
    );
    // Breaks the KRaft quorum: 2 of 3 controllers.
    tree += &pdb(
        "stream",
        "controllers",
        "maxUnavailable: 2",
        "strimzi.io/cluster: events, strimzi.io/pool-name: controllers",
    );
    // Lets both PostgreSQL instances go at once.
    tree += &pdb(
        "db",
        "hippo",
        "maxUnavailable: 100%",
        "postgres-operator.crunchydata.com/cluster: hippo, postgres-operator.crunchydata.com/instance-set: pgha1",
    );
    // Selects nothing an operator makes: no finding (and no guess).
    tree += &pdb("db", "other", "minAvailable: 5", "app: unrelated");
    let r = lint(&[("ops.yaml", &tree)]);
    let msgs = |rule: &str| -> Vec<String> {
        of(&r, rule, "ops.yaml")
            .iter()
            .map(|f| f.message.clone())
            .collect()
    };
    let blocks = msgs("DL1007");
    assert_eq!(blocks.len(), 1, "{blocks:?}");
    assert!(blocks[0].contains("Prometheus/k8s"), "{blocks:?}");
    let quorum = msgs("DL1006");
    assert_eq!(quorum.len(), 2, "{quorum:?}");
    assert!(
        quorum
            .iter()
            .any(|m| m.contains("KRaft controller") && m.contains("2 of 3")),
        "{quorum:?}"
    );
    assert!(
        quorum.iter().any(|m| m.contains("PostgresCluster/hippo")),
        "{quorum:?}"
    );
}

#[test]
fn policies_selecting_by_expressions_and_shared_labels_are_matched() {
    let mut tree = String::new();
    for i in 0..50 {
        tree += &format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: w{i}, namespace: n}}\nspec:\n  template:\n    metadata:\n      labels: {{part-of: shop, app: w{i}}}\n    spec:\n      containers: [{{name: c, image: x:1}}]\n"
        );
    }
    // w0..w9 by an In expression, w10 by labels; the rest by nothing.
    tree += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: a, namespace: n}\nspec:\n  podSelector:\n    matchExpressions:\n    - {key: app, operator: In, values: [w0, w1, w2, w3, w4, w5, w6, w7, w8, w9]}\n";
    tree += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: b, namespace: n}\nspec:\n  podSelector: {matchLabels: {part-of: shop, app: w10}}\n";
    tree += "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: c, namespace: n}\nspec:\n  podSelector:\n    matchLabels: {part-of: shop}\n    matchExpressions: [{key: app, operator: DoesNotExist}]\n";
    let r = lint(&[("t.yaml", &tree)]);
    let unselected: Vec<String> = of(&r, "DL2016", "t.yaml")
        .iter()
        .map(|f| {
            f.object
                .as_ref()
                .map(|o| o.name.clone())
                .unwrap_or_default()
        })
        .collect();
    let want: Vec<String> = (11..50).map(|i| format!("w{i}")).collect();
    let mut got = unselected.clone();
    got.sort_by_key(|n| n[1..].parse::<u32>().unwrap_or(0));
    assert_eq!(got, want);
}

fn run(a: &LintOptions) -> (u8, Value, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(a, false, &mut out, &mut err);
    let json = serde_json::from_slice(&out).unwrap_or(Value::Null);
    (code, json, String::from_utf8_lossy(&err).into_owned())
}

fn findings_in(j: &Value, rule: &str) -> Vec<(String, String)> {
    j["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            (
                f["file"].as_str().unwrap_or("").to_string(),
                f["message"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn symlinks_inside_are_followed_once_loops_and_escapes_are_reported() {
    use std::os::unix::fs::symlink;
    let outside = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        outside.path().join("far.yaml"),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: far}\n",
    )
    .expect("write");
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("real")).expect("mkdir");
    std::fs::write(d.join("real/pod.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: a}\nspec: {containers: [{name: c, image: x:1}]}\n").expect("write");
    symlink(d.join("real"), d.join("linked-dir")).expect("symlink");
    symlink("real/pod.yaml", d.join("z-link.yaml")).expect("symlink");
    symlink("nowhere.yaml", d.join("dangling.yaml")).expect("symlink");
    symlink(d, d.join("real/loop")).expect("symlink");
    symlink(outside.path().join("far.yaml"), d.join("escape.yaml")).expect("symlink");
    // UTF-16 with a BOM is read like UTF-8.
    let mut utf16 = vec![0xFF, 0xFE];
    for u in "apiVersion: v1\nkind: Pod\nmetadata: {name: wide, namespace: a}\nspec: {containers: [{name: c, image: x:1}]}\n".encode_utf16() {
        utf16.extend(u.to_le_bytes());
    }
    std::fs::write(d.join("wide.yaml"), utf16).expect("write");

    let mut a = args(vec![d.to_path_buf()]);
    a.fail_on = FailOn::Never;
    let (code, j, err) = run(&a);
    assert_eq!(code, 0, "{err}");
    let bare = findings_in(&j, "DL1010");
    // The pod is linted once (under its real path), the UTF-16 one too; `far` never.
    let names: Vec<&str> = bare
        .iter()
        .map(|(_, m)| m.split(':').next().unwrap_or(""))
        .collect();
    assert_eq!(names, vec!["Pod/a/p", "Pod/a/wide"], "{bare:?}");
    let notes = findings_in(&j, "DL0005");
    let has = |file_end: &str, word: &str| {
        notes
            .iter()
            .any(|(f, m)| f.ends_with(file_end) && m.contains(word))
    };
    assert!(has("escape.yaml", "outside"), "{notes:?}");
    assert!(has("dangling.yaml", "leads nowhere"), "{notes:?}");
    assert!(has("loop", "loop"), "{notes:?}");
    assert!(has("z-link.yaml", "same file"), "{notes:?}");
    assert!(has("linked-dir/pod.yaml", "same file"), "{notes:?}");
}

/// kustomize from .ci/install-kustomize.sh (or $DATALYPTICA_KUSTOMIZE, or the PATH).
fn kustomize() -> Option<PathBuf> {
    let candidates = [
        std::env::var_os("DATALYPTICA_KUSTOMIZE").map(PathBuf::from),
        Some(PathBuf::from(
            "/opt/datalyptica/kustomize/v5.8.1/bin/kustomize",
        )),
    ];
    candidates.into_iter().flatten().find(|p| p.is_file())
}

#[test]
fn kustomize_roots_are_linted_from_their_build() {
    let Some(bin) = kustomize() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kustomize missing on CI: run .ci/install-kustomize.sh"
        );
        eprintln!(
            "SKIPPED kustomize_roots_are_linted_from_their_build: no kustomize binary (bash .ci/install-kustomize.sh)"
        );
        return;
    };
    // SAFETY: tests of this file that read the variable use the same value.
    unsafe { std::env::set_var("DATALYPTICA_KUSTOMIZE", &bin) };
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    for (p, t) in kustomize_tree() {
        let p = d.join(p);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, t).expect("write");
    }
    let mut a = args(vec![d.to_path_buf()]);
    a.kustomize = true;
    a.fail_on = FailOn::Never;
    let (code, j, err) = run(&a);
    assert_eq!(code, 0, "{err}");
    let built = d.join("overlays/prod/kustomize-build.yaml");
    let built = built.to_string_lossy();
    // Every source file belongs to the overlay: nothing is linted raw.
    for f in j["findings"].as_array().expect("findings") {
        assert!(f["rule"] == "DL0005" || f["file"] == built.as_ref(), "{f}");
    }
    // The patch raised replicas to 3 and the component added a readiness probe: the build
    // has them, the raw base does not.
    assert!(findings_in(&j, "DL1001").is_empty(), "{j}");
    let probes = findings_in(&j, "DL1008");
    assert_eq!(probes.len(), 1, "{probes:?}");
    assert!(
        probes[0].1.contains("Deployment/shop/web") && probes[0].1.contains("no livenessProbe"),
        "{probes:?}"
    );

    // A broken kustomization is unusable input (exit 2) with kustomize's message.
    let broken = OVERLAY.replace("- ../../base", "- ../../base\n- missing.yaml");
    std::fs::write(d.join("overlays/prod/kustomization.yaml"), broken).expect("write");
    let (code, _, err) = run(&a);
    assert_eq!(code, 2);
    assert!(
        err.contains("kustomize build") && err.contains("missing.yaml"),
        "{err}"
    );
}
