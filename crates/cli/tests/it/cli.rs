//! The binary as a user runs it: exit codes, files written or not, messages.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::common;
use common::{run, text};

fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("read dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).expect("prefix").display().to_string(),
                    fs::read(&p).expect("read"),
                ));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn init_then_render_gives_the_default_tree() {
    let t = tempfile::tempdir().expect("tmp");
    let o = run(t.path(), &["init"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let spec = fs::read_to_string(t.path().join("datalyptica.yaml")).expect("written");
    assert!(
        spec.contains("# Patroni `synchronous_mode`"),
        "commented knobs"
    );
    // init refuses to clobber.
    assert_eq!(run(t.path(), &["init"]).status.code(), Some(2));
    let a = run(
        t.path(),
        &["render", "-f", "datalyptica.yaml", "--out", "a"],
    );
    assert!(a.status.success(), "{}", text(&a.stderr));
    let b = run(t.path(), &["render", "--out", "b"]);
    assert!(b.status.success());
    let strip = |v: Vec<(String, Vec<u8>)>| {
        v.into_iter()
            .filter(|(p, _)| !p.ends_with(".datalyptica-tree"))
            .collect::<Vec<_>>()
    };
    let ta = strip(tree(&t.path().join("a")));
    assert_eq!(
        ta,
        strip(tree(&t.path().join("b"))),
        "init's spec renders the embedded default"
    );
    assert!(
        ta.iter()
            .any(|(p, _)| p == "01-postgresql-ha/postgres-cluster.yaml")
    );
    // Same spec, same bytes, also across runs.
    let c = run(t.path(), &["render", "--out", "a"]);
    assert!(c.status.success());
    assert_eq!(strip(tree(&t.path().join("a"))), ta);
}

#[test]
fn bad_spec_exits_2_with_location_and_writes_nothing() {
    let t = tempfile::tempdir().expect("tmp");
    fs::write(
        t.path().join("bad.yaml"),
        "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\nspec:\n  components:\n    etcd:\n      replicas: 4\n",
    )
    .expect("write");
    let o = run(t.path(), &["render", "-f", "bad.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("bad.yaml:8:7: spec.components.etcd.replicas: 4 etcd members"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!t.path().join("out").exists());
    assert_eq!(
        fs::read_dir(t.path()).expect("ls").count(),
        1,
        "no temporary directory left"
    );
    let missing = run(t.path(), &["render", "-f", "nope.yaml"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn render_refuses_foreign_directories_unless_forced() {
    let t = tempfile::tempdir().expect("tmp");
    fs::create_dir(t.path().join("mine")).expect("mkdir");
    fs::write(t.path().join("mine/notes.txt"), "precious").expect("write");
    let o = run(t.path(), &["render", "--out", "mine"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("was not created by datalyptica"));
    assert_eq!(
        fs::read_to_string(t.path().join("mine/notes.txt")).expect("kept"),
        "precious"
    );
    let f = run(t.path(), &["render", "--out", "mine", "--force"]);
    assert!(f.status.success());
    assert!(!t.path().join("mine/notes.txt").exists());
    assert!(t.path().join("mine/README.md").exists());
}

#[test]
fn an_interrupted_render_leaves_the_previous_tree_and_no_debris() {
    let t = tempfile::tempdir().expect("tmp");
    assert!(run(t.path(), &["render", "--out", "tree"]).status.success());
    let before = tree(&t.path().join("tree"));
    fs::write(t.path().join("dev.yaml"), "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\nspec:\n  profile: dev\n").expect("write");
    let o = Command::new(env!("CARGO_BIN_EXE_datalyptica"))
        .args(["render", "-f", "dev.yaml", "--out", "tree"])
        .current_dir(t.path())
        .env("DATALYPTICA_TEST_FAIL_AFTER_FILES", "5")
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    assert_eq!(
        tree(&t.path().join("tree")),
        before,
        "the previous tree is untouched"
    );
    let names: Vec<String> = fs::read_dir(t.path())
        .expect("ls")
        .map(|e| e.expect("e").file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.starts_with(".datalyptica")),
        "debris: {names:?}"
    );
    // Without the fault the same command replaces the tree.
    assert!(
        run(t.path(), &["render", "-f", "dev.yaml", "--out", "tree"])
            .status
            .success()
    );
    assert_ne!(tree(&t.path().join("tree")), before);
}

#[test]
fn schema_is_json_schema_of_the_platform() {
    let t = tempfile::tempdir().expect("tmp");
    let o = run(t.path(), &["schema"]);
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["title"], "Platform");
    assert!(v["properties"]["spec"].is_object());
    assert!(text(&o.stdout).contains("leaderLeaseSeconds"));
}

#[test]
fn explain_describes_a_component_and_rejects_unknown_ones() {
    let t = tempfile::tempdir().expect("tmp");
    let o = run(t.path(), &["explain", "postgresql"]);
    assert!(o.status.success());
    let s = text(&o.stdout);
    for want in [
        "crunchy-postgres-operator",
        "RTO 30s",
        "RPO 10s",
        "99.95%",
        "postgres-cluster.yaml",
        "depends on: nothing",
    ] {
        assert!(s.contains(want), "missing {want:?} in:\n{s}");
    }
    let n = run(t.path(), &["explain", "nessie"]);
    assert!(text(&n.stdout).contains("depends on: postgresql, minio"));
    let bad = run(t.path(), &["explain", "postgress"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("did you mean `postgresql`?"));
}

#[test]
fn plan_prints_waves_and_mermaid() {
    let t = tempfile::tempdir().expect("tmp");
    let o = run(t.path(), &["plan"]);
    assert!(o.status.success());
    let s = text(&o.stdout);
    assert!(
        s.contains("wave 1:") && s.contains("```mermaid") && s.contains("postgresql --> nessie"),
        "{s}"
    );
}

#[test]
fn lint_reads_stdin_and_reports_its_location() {
    use std::io::Write;
    let t = tempfile::tempdir().expect("tmp");
    let mut child = Command::new(env!("CARGO_BIN_EXE_datalyptica"))
        .args(["lint", "-", "--format", "json"])
        .current_dir(t.path())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  replicas: 1\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx:latest\n";
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(manifest.as_bytes())
        .expect("write");
    let o = child.wait_with_output().expect("wait");
    assert_eq!(o.status.code(), Some(1), "findings at error level");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    let text = v.to_string();
    assert!(text.contains("DL1001") && text.contains("DL2010"), "{text}");
    // An unusable input is exit 2, not a crash.
    let missing = run(t.path(), &["lint", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(2));
}

#[test]
fn render_gitops_refuses_generated_secrets_and_writes_both_engines() {
    let t = tempfile::tempdir().expect("tmp");
    let repo = "https://git.example.org/platform.git";
    let o = run(
        t.path(),
        &[
            "render", "--out", "out", "--gitops", "argocd", "--repo", repo,
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("spec.secrets.mode is `generated`") && err.contains("sealed-secrets"),
        "{err}"
    );
    assert!(!t.path().join("out").exists(), "nothing written");
    let no_repo = run(t.path(), &["render", "--out", "out", "--gitops", "flux"]);
    assert_eq!(no_repo.status.code(), Some(2));
    fs::write(
        t.path().join("p.yaml"),
        "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\nspec:\n  secrets:\n    mode: sealed-secrets\n",
    )
    .expect("write");
    for engine in ["argocd", "flux"] {
        let o = run(
            t.path(),
            &[
                "render", "-f", "p.yaml", "--out", engine, "--gitops", engine, "--repo", repo,
            ],
        );
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
        let files: Vec<String> = tree(&t.path().join(engine))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(files.contains(&"05-nessie/kustomization.yaml".to_string()));
        assert!(files.contains(&"gitops/README.md".to_string()));
        let main = if engine == "argocd" {
            "gitops/argocd/apps/applications.yaml"
        } else {
            "gitops/flux/kustomizations.yaml"
        };
        let text = fs::read_to_string(t.path().join(engine).join(main)).expect("read");
        // --path defaults to the --out name: the tree sits at that directory of the repo.
        assert!(text.contains(&format!("{engine}/05-nessie")), "{text}");
    }
}
