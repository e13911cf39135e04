//! Engine behaviour across files: bad input never stops the run, cross-file context, config,
//! waivers, output formats and CLI exit codes.

use crate::common;
use common::args;

use std::path::{Path, PathBuf};

use datalyptica_lint::cli::execute;
use datalyptica_lint::output::{json, junit, sarif, write_json, write_sarif, xml_escape};
use datalyptica_lint::{
    Config, FailOn, Format, LintOptions, Severity, Source, lint_sources, rules,
};
use serde_json::Value;

const GOOD_NS: &str = r#"
apiVersion: v1
kind: Namespace
metadata:
  name: app
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: default-deny
  namespace: app
spec:
  podSelector: {}
  policyTypes: [Ingress]
"#;

/// A Deployment that passes every rule (with the NetworkPolicy of GOOD_NS and its PDB).
const GOOD_DEPLOY: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: app
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        seccompProfile: {type: RuntimeDefault}
      affinity:
        podAntiAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
          - topologyKey: kubernetes.io/hostname
            labelSelector: {matchLabels: {app: web}}
      topologySpreadConstraints:
      - topologyKey: topology.kubernetes.io/zone
        maxSkew: 1
        whenUnsatisfiable: ScheduleAnyway
        labelSelector: {matchLabels: {app: web}}
      containers:
      - name: web
        image: quay.io/org/web:1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: http}}
        livenessProbe: {tcpSocket: {port: 8080}}
        resources:
          requests: {cpu: 100m, memory: 128Mi}
          limits: {memory: 128Mi}
        securityContext:
          allowPrivilegeEscalation: false
          capabilities: {drop: [ALL]}
          readOnlyRootFilesystem: true
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: app
spec:
  maxUnavailable: 1
  selector: {matchLabels: {app: web}}
"#;

fn lint(files: &[(&str, &str)], config: &Config) -> datalyptica_lint::Report {
    let sources: Vec<Source> = files.iter().map(|(p, t)| Source::new(*p, *t)).collect();
    lint_sources(&sources, config)
}

#[test]
fn a_compliant_tree_split_over_files_is_clean() {
    let r = lint(
        &[("ns.yaml", GOOD_NS), ("deploy.yaml", GOOD_DEPLOY)],
        &Config::default(),
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    assert_eq!(r.objects, 4);
    assert_eq!(r.files, 2);
}

#[test]
fn namespace_policy_in_another_file_counts() {
    // Without the namespace file, the default-deny rules fire; with it, they do not.
    let alone = lint(&[("deploy.yaml", GOOD_DEPLOY)], &Config::default());
    assert!(alone.findings.iter().any(|f| f.rule == "DL2015"));
    assert!(alone.findings.iter().any(|f| f.rule == "DL2016"));
    let both = lint(
        &[("deploy.yaml", GOOD_DEPLOY), ("z/ns.yaml", GOOD_NS)],
        &Config::default(),
    );
    assert!(!both.findings.iter().any(|f| f.rule.starts_with("DL201")));
}

#[test]
fn bad_input_is_reported_and_the_rest_is_still_linted() {
    let broken = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n";
    let mixed =
        "42\n---\napiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n---\n[a, b]\n";
    let deploy_bad = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1");
    let r = lint(
        &[
            ("broken.yaml", broken),
            ("mixed.yaml", mixed),
            ("ns.yaml", GOOD_NS),
            ("deploy.yaml", &deploy_bad),
        ],
        &Config::default(),
    );
    let find = |rule: &str, file: &str| {
        r.findings
            .iter()
            .filter(|f| f.rule == rule && f.file == Path::new(file))
            .map(|f| (f.line, f.column))
            .collect::<Vec<_>>()
    };
    assert_eq!(find("DL0001", "broken.yaml").len(), 1);
    assert!(find("DL0001", "broken.yaml")[0].0 >= 4);
    assert_eq!(find("DL0002", "mixed.yaml"), vec![(1, 1), (7, 1)]);
    assert_eq!(find("DL0003", "mixed.yaml"), vec![(4, 1)]);
    // The broken and odd files did not stop the real rules on the rest of the tree.
    assert_eq!(find("DL1001", "deploy.yaml"), vec![(8, 3)]);
    assert!(r.fails(Some(Severity::Error)));
}

#[test]
fn a_broken_document_does_not_hide_its_neighbours() {
    let text = format!(
        "{}\n---\nkind: [\n---\n{}",
        GOOD_NS.trim(),
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec: {containers: [{name: c, image: nginx}]}\n"
    );
    let r = lint(&[("f.yaml", &text)], &Config::default());
    assert!(r.findings.iter().any(|f| f.rule == "DL0001"));
    let pod: Vec<_> = r.findings.iter().filter(|f| f.rule == "DL1010").collect();
    assert_eq!(pod.len(), 1);
    assert_eq!(pod[0].line, 18, "{pod:?}");
}

#[test]
fn config_disables_and_changes_severities() {
    let cfg = Config::from_yaml("rules:\n  DL1001: off\n  DL2011: error\nkinds: [Gadget]\n")
        .expect("valid config");
    let deploy_bad = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1").replace(
        "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "",
    );
    let gadget = "apiVersion: example.com/v1\nkind: Gadget\nmetadata: {name: g}\n";
    let r = lint(
        &[
            ("ns.yaml", GOOD_NS),
            ("d.yaml", &deploy_bad),
            ("g.yaml", gadget),
        ],
        &cfg,
    );
    assert!(!r.findings.iter().any(|f| f.rule == "DL1001"));
    assert!(!r.findings.iter().any(|f| f.rule == "DL0003"));
    let d = r
        .findings
        .iter()
        .find(|f| f.rule == "DL2011")
        .expect("DL2011");
    assert_eq!(d.severity, Severity::Error);
}

#[test]
fn config_errors_are_located() {
    let e = Config::from_yaml("rules:\n  DL1001: off\n  DL9999: off\n").expect_err("unknown id");
    assert_eq!((e.line, e.column), (3, 3));
    assert!(e.message.contains("DL9999"));
    assert!(Config::from_yaml("rules:\n  DL1001: loud\n").is_err());
    assert!(Config::from_yaml("rulez: {}\n").is_err());
    assert!(Config::from_yaml("rules: [\n").is_err());
    assert!(Config::from_yaml("").is_ok());
}

#[test]
fn waivers_are_listed_not_counted() {
    let waived = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1").replace(
        "  namespace: app\nspec:\n  replicas: 1",
        "  namespace: app\n  annotations:\n    lint.datalyptica.io/waive: \"DL1001: single replica in dev; DL1003, DL1004: follows\"\nspec:\n  replicas: 1",
    );
    let r = lint(
        &[("ns.yaml", GOOD_NS), ("d.yaml", &waived)],
        &Config::default(),
    );
    assert!(r.findings.is_empty(), "{:#?}", r.findings);
    let w: Vec<_> = r
        .waived
        .iter()
        .map(|f| (f.rule, f.waiver.as_deref()))
        .collect();
    assert!(
        w.contains(&("DL1001", Some("single replica in dev"))),
        "{w:?}"
    );
    let j = json(&r);
    assert_eq!(j["summary"]["waived"], 1);
    assert_eq!(j["waived"][0]["waiver"], "single replica in dev");
}

#[test]
fn json_has_the_documented_shape() {
    let deploy_bad = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1");
    let r = lint(
        &[("ns.yaml", GOOD_NS), ("d.yaml", &deploy_bad)],
        &Config::default(),
    );
    let j = json(&r);
    assert_eq!(j["version"], 1);
    assert_eq!(j["tool"]["name"], "datalyptica-lint");
    for k in ["files", "objects", "errors", "warnings", "infos", "waived"] {
        assert!(j["summary"][k].is_u64(), "summary.{k}");
    }
    let f = &j["findings"][0];
    for k in [
        "rule", "severity", "category", "title", "message", "file", "pointer", "hint",
    ] {
        assert!(f[k].is_string(), "finding.{k}: {f}");
    }
    assert!(f["line"].is_u64() && f["column"].is_u64());
    assert_eq!(f["object"]["kind"], "Deployment");
    assert_eq!(f["object"]["namespace"], "app");
    assert_eq!(f["object"]["name"], "web");
    assert_eq!(f["rule"], "DL1001");
    assert_eq!(f["pointer"], "/spec/replicas");
    assert!(
        f["message"]
            .as_str()
            .unwrap_or("")
            .starts_with("Deployment/app/web: ")
    );
    // The streamed text is the same document.
    let mut buf = Vec::new();
    write_json(&r, &mut buf).expect("writes");
    let back: Value = serde_json::from_slice(&buf).expect("parses");
    assert_eq!(back, j);
    let mut buf = Vec::new();
    write_sarif(&r, &mut buf).expect("writes");
    let back: Value = serde_json::from_slice(&buf).expect("parses");
    assert_eq!(back, sarif(&r));
}

fn sarif_schema() -> Option<Value> {
    let path = std::env::var_os("DATALYPTICA_SARIF_SCHEMA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/datalyptica/sarif/sarif-schema-2.1.0.json"));
    match std::fs::read_to_string(&path) {
        Ok(t) => Some(serde_json::from_str(&t).expect("schema is JSON")),
        Err(e) => {
            let msg = format!(
                "SARIF schema not found at {} ({e}); run .ci/install-lint.sh",
                path.display()
            );
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{msg}");
            }
            eprintln!(
                "\n!!!!!!!! SKIPPED sarif_validates_against_the_official_schema: {msg} !!!!!!!!\n"
            );
            None
        }
    }
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let Some(schema) = sarif_schema() else { return };
    let validator = jsonschema::validator_for(&schema).expect("schema compiles");
    let waived = GOOD_DEPLOY.replace(
        "  namespace: app\nspec:",
        "  namespace: app\n  annotations:\n    lint.datalyptica.io/waive: \"DL2011: vendor image <&>\"\nspec:",
    ).replace("@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "");
    let r = lint(
        &[
            ("dir with space/ns.yaml", GOOD_NS),
            ("d.yaml", &waived.replace("replicas: 2", "replicas: 1")),
            ("/abs/broken file.yaml", "a: [\n"),
            ("-", "just text"),
        ],
        &Config::default(),
    );
    let s = sarif(&r);
    let errors: Vec<String> = validator
        .iter_errors(&s)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // A document that breaks the schema must be caught, or the test proves nothing.
    let mut broken = s.clone();
    broken["runs"][0]["results"][0]["level"] = Value::String("fatal".into());
    assert!(!validator.is_valid(&broken));

    let run = &s["runs"][0];
    assert_eq!(s["version"], "2.1.0");
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().map(Vec::len),
        Some(rules().len())
    );
    let res = run["results"].as_array().expect("results");
    assert!(
        res.iter()
            .any(|x| x["ruleId"] == "DL1001" && x["level"] == "error")
    );
    let r0 = res
        .iter()
        .find(|x| x["ruleId"] == "DL1001")
        .expect("DL1001");
    let loc = &r0["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "d.yaml");
    assert!(loc["region"]["startLine"].as_u64() > Some(0));
    assert!(
        res.iter()
            .any(|x| x["suppressions"][0]["kind"] == "inSource")
    );
    assert!(res.iter().any(
        |x| x["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            == "file:///abs/broken%20file.yaml"
    ));
}

#[test]
fn junit_is_escaped_and_counts_failures() {
    assert_eq!(xml_escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;");
    let deploy_bad = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1");
    let r = lint(
        &[("ns & co.yaml", GOOD_NS), ("d.yaml", &deploy_bad)],
        &Config::default(),
    );
    let files = [Path::new("ns & co.yaml"), Path::new("d.yaml")];
    let x = junit(&r, &files, Some(Severity::Error));
    assert!(x.starts_with("<?xml"));
    assert!(x.contains("name=\"ns &amp; co.yaml\""));
    assert!(x.contains("<failure"));
    assert!(!x.contains("ns & co"));
    // Each open tag is closed.
    assert_eq!(
        x.matches("<testsuite ").count(),
        x.matches("</testsuite>").count()
    );
    assert_eq!(
        x.matches("<testcase ").count(),
        x.matches("</testcase>").count() + x.matches("\"lint\"/>").count()
    );
    let never = junit(&r, &files, None);
    assert!(!never.contains("<failure"));
}

fn run(a: &LintOptions) -> (u8, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(a, false, &mut out, &mut err);
    (
        code,
        String::from_utf8_lossy(&out).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}

#[test]
fn cli_exit_codes_and_directory_walk() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::create_dir_all(d.join("sub/.git")).expect("mkdir");
    std::fs::write(d.join("ns.yaml"), GOOD_NS).expect("write");
    std::fs::write(d.join("sub/deploy.yml"), GOOD_DEPLOY).expect("write");
    std::fs::write(d.join("sub/.git/junk.yaml"), "a: [").expect("write");
    std::fs::write(d.join("README.md"), "not yaml: [").expect("write");

    let (code, out, _) = run(&args(vec![d.to_path_buf()]));
    assert_eq!(code, 0, "{out}");
    let j: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(j["summary"]["files"], 2);

    std::fs::write(d.join("sub/bad.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec: {containers: [{name: c, image: nginx}]}\n").expect("write");
    let (code, _, _) = run(&args(vec![d.to_path_buf()]));
    assert_eq!(code, 1);
    let mut a = args(vec![d.to_path_buf()]);
    a.fail_on = FailOn::Never;
    assert_eq!(run(&a).0, 0);

    // Unusable input: missing path, broken config, unknown rule to explain.
    let (code, _, err) = run(&args(vec![d.join("nope")]));
    assert_eq!(code, 2, "{err}");
    std::fs::write(d.join("cfg.yaml"), "rules: {DL0000: off}\n").expect("write");
    let mut a = args(vec![d.to_path_buf()]);
    a.config = Some(d.join("cfg.yaml"));
    let (code, _, err) = run(&a);
    assert_eq!(code, 2);
    assert!(err.contains("DL0000"), "{err}");
    let mut a = args(vec![]);
    a.explain = Some("DL1234".into());
    assert_eq!(run(&a).0, 2);

    for format in [Format::Human, Format::Sarif, Format::Junit] {
        let mut a = args(vec![d.to_path_buf()]);
        a.format = format;
        let (code, out, _) = run(&a);
        assert_eq!(code, 1);
        assert!(out.contains("DL1010"), "{format:?}: {out}");
        assert!(!out.contains('\x1b'));
    }
}

#[test]
fn explain_and_list_rules() {
    let mut a = args(vec![]);
    a.list_rules = true;
    let (code, out, _) = run(&a);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), rules().len());
    let mut a = args(vec![]);
    a.explain = Some("dl1006".into());
    let (code, out, _) = run(&a);
    assert_eq!(code, 0);
    assert!(out.contains("DL1006") && out.contains("Example") && out.contains("Why"));
}

#[test]
fn every_rule_is_documented() {
    for r in rules() {
        assert!(!r.title.is_empty() && !r.rationale.is_empty(), "{}", r.id);
        assert!(!r.hint.is_empty() && !r.example.is_empty(), "{}", r.id);
        assert!(r.title.len() <= 80, "{} title too long", r.id);
    }
}

#[test]
fn human_output_groups_by_file_with_snippet_and_optional_colour() {
    let deploy_bad = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1");
    let sources = vec![
        Source::new("ns.yaml", GOOD_NS),
        Source::new("d.yaml", deploy_bad),
    ];
    let r = lint_sources(&sources, &Config::default());
    let plain = datalyptica_lint::output::human(&r, &sources, false);
    assert!(!plain.contains('\x1b'));
    assert!(plain.contains("\nd.yaml\n"), "{plain}");
    assert!(plain.contains("8:3"), "{plain}");
    assert!(plain.contains("|   replicas: 1"), "{plain}");
    assert!(plain.contains("|   ^"), "{plain}");
    assert!(plain.contains("hint: "), "{plain}");
    assert!(plain.contains("1 error(s)"), "{plain}");
    let coloured = datalyptica_lint::output::human(&r, &sources, true);
    assert!(coloured.contains("\x1b[1;31m"));
}

#[test]
fn absurd_numbers_do_not_panic() {
    let text = r#"
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: p, namespace: app}
spec:
  minAvailable: "9223372036854775807%"
  selector: {matchLabels: {app: web}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: q, namespace: app}
spec:
  minAvailable: -9223372036854775808
  selector: {matchLabels: {app: web}}
---
apiVersion: postgres-operator.crunchydata.com/v1beta1
kind: PostgresCluster
metadata: {name: pg, namespace: app}
spec:
  instances: [{name: a, replicas: 9223372036854775807}, {name: b, replicas: 9223372036854775807}]
  patroni: {leaderLeaseDurationSeconds: 1, syncPeriodSeconds: 9223372036854775807, dynamicConfiguration: {retry_timeout: 9223372036854775807}}
---
apiVersion: minio.min.io/v2
kind: Tenant
metadata: {name: m, namespace: app}
spec:
  pools: [{servers: 9223372036854775807, volumesPerServer: 9223372036854775807}]
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata: {name: a, namespace: app, labels: {strimzi.io/cluster: k}}
spec: {replicas: 9223372036854775807, roles: [controller, broker]}
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaNodePool
metadata: {name: b, namespace: app, labels: {strimzi.io/cluster: k}}
spec: {replicas: 9223372036854775807, roles: [controller, broker]}
"#;
    let deploy = GOOD_DEPLOY.replace("replicas: 2", "replicas: 9223372036854775807");
    let r = lint(&[("x.yaml", text), ("d.yaml", &deploy)], &Config::default());
    assert!(r.findings.iter().any(|f| f.rule == "DL1013"));
}

/// The streamed JSON is byte for byte what pretty-printing the report's value gives, also when
/// the findings span many of the writer's parallel chunks and carry text that JSON escapes.
#[test]
fn streamed_json_is_the_pretty_report_byte_for_byte() {
    let waived = GOOD_DEPLOY.replace("replicas: 2", "replicas: 1").replace(
        "  namespace: app\nspec:\n  replicas: 1",
        "  namespace: app\n  annotations:\n    lint.datalyptica.io/waive: \"DL1001: \\\"quoted\\\"\\n and ünïcode\"\nspec:\n  replicas: 1",
    );
    let mut files = vec![("ns.yaml".to_string(), GOOD_NS.to_string())];
    for i in 0..300 {
        let bad = GOOD_DEPLOY
            .replace("replicas: 2", "replicas: 1")
            .replace("name: web", &format!("name: web-{i}"));
        files.push((format!("d{i:03}.yaml"), bad));
    }
    files.push(("w.yaml".into(), waived));
    files.push(("broken \"ü\".yaml".into(), "a: [\n".into()));
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let r = lint(&refs, &Config::default());
    // More than one chunk of the writer (256 findings).
    assert!(r.findings.len() > 256, "{} findings", r.findings.len());
    assert!(!r.waived.is_empty());
    // The streamed text against serde_json's pretty printing of the report's value; also with
    // nothing found (the empty lists as serde_json writes them).
    let clean = lint(&[("ns.yaml", GOOD_NS)], &Config::default());
    for report in [&r, &clean] {
        let mut streamed = Vec::new();
        write_json(report, &mut streamed).expect("writes");
        let mut expected = serde_json::to_vec_pretty(&json(report)).expect("serializes");
        expected.push(b'\n');
        assert_eq!(
            String::from_utf8_lossy(&streamed),
            String::from_utf8_lossy(&expected)
        );
    }
}
