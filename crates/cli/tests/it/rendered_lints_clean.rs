//! The tree we render passes our own policy engine with zero errors, for every variant, under
//! the policy file the tree carries (as `datalyptica lint <tree>` finds it).

use datalyptica_lint::{Config, Severity, Source, lint_sources};
use datalyptica_platform::spec::Platform;
use datalyptica_platform::{render, validate};

#[test]
fn rendered_trees_have_no_lint_errors() {
    let mut linted = 0;
    for (name, p) in Platform::variants() {
        let issues = validate::validate(&p);
        assert!(
            issues.is_empty(),
            "variant {name} does not validate: {issues:?}"
        );
        let files = render(&p).to_bytes();
        let config = match files.get(datalyptica_lint::CONFIG_FILE) {
            Some(text) => Config::from_yaml(text).unwrap_or_else(|e| panic!("{name}: policy: {e}")),
            None => Config::default(),
        };
        let sources: Vec<Source> = files
            .into_iter()
            .filter(|(path, _)| path.ends_with(".yaml") && !path.starts_with('.'))
            .map(|(path, text)| Source::new(path, text))
            .collect();
        let report = lint_sources(&sources, &config);
        let errors: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Error)
            .map(|f| {
                format!(
                    "{} {}:{}: {} {}",
                    f.rule,
                    f.file.display(),
                    f.line,
                    f.message,
                    f.hint
                )
            })
            .collect();
        assert!(
            errors.is_empty(),
            "variant {name}: {} lint errors:\n{}",
            errors.len(),
            errors.join("\n")
        );
        assert!(
            report.objects > 100,
            "variant {name}: only {} objects linted",
            report.objects
        );
        linted += 1;
    }
    assert_eq!(linted, 4);
}

/// Only the dev tree relaxes anything, and exactly the linter's HA rules.
#[test]
fn the_dev_policy_names_exactly_the_ha_rules() {
    let mut ha: Vec<&str> = datalyptica_lint::rules()
        .iter()
        .filter(|r| r.id.starts_with("DL1"))
        .map(|r| r.id)
        .collect();
    ha.sort();
    assert_eq!(ha, datalyptica_platform::render::LINT_HA_RULES);
    let ha_tree = render(&Platform::default_ha()).to_bytes();
    assert!(
        !ha_tree.contains_key(datalyptica_lint::CONFIG_FILE),
        "the ha tree relaxes nothing"
    );
}

/// End to end: `datalyptica lint` on a rendered dev tree finds the tree's policy by itself.
#[test]
fn lint_finds_the_policy_of_a_rendered_tree() {
    let t = tempfile::tempdir().expect("tmp");
    std::fs::write(t.path().join("dev.yaml"), "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\nspec:\n  profile: dev\n").expect("write");
    let bin = env!("CARGO_BIN_EXE_datalyptica");
    let run = |args: &[&str]| {
        std::process::Command::new(bin)
            .args(args)
            .current_dir(t.path())
            .output()
            .expect("run")
    };
    assert!(
        run(&["render", "-f", "dev.yaml", "--out", "tree"])
            .status
            .success()
    );
    let ok = run(&["lint", "tree", "--no-color"]);
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    // Without the tree's policy the same tree fails on the HA rules.
    std::fs::write(t.path().join("strict.yaml"), "rules: {}\n").expect("write");
    let strict = run(&["lint", "tree", "--no-color", "--config", "strict.yaml"]);
    assert_eq!(strict.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&strict.stdout).contains("DL1001"));
}
