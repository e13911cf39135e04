//! Every rule has `tests/fixtures/<ID>/bad*.yaml` and `good*.yaml`. In a bad file each line
//! marked `# expect` must get a finding of that rule, and the rule may report nowhere else;
//! a good file must not trigger the rule at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use datalyptica_lint::{Config, Source, lint_sources, rules};

fn fixture_dir(id: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(id)
}

fn files(dir: &Path, prefix: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    n.starts_with(prefix) && (n.ends_with(".yaml") || n.ends_with(".yml"))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn lines_of(rule: &str, path: &Path) -> (BTreeSet<usize>, String) {
    let text = std::fs::read_to_string(path).expect("fixture readable");
    let report = lint_sources(&[Source::new(path, text)], &Config::default());
    let lines = report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| f.line)
        .collect();
    let all = report
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| format!("    {}:{} {}", f.line, f.column, f.message))
        .collect::<Vec<_>>()
        .join("\n");
    (lines, all)
}

#[test]
fn every_rule_has_fixtures_that_trigger_it_exactly() {
    let mut problems = Vec::new();
    for rule in rules() {
        let dir = fixture_dir(rule.id);
        let bad = files(&dir, "bad");
        let good = files(&dir, "good");
        if bad.is_empty() || good.is_empty() {
            problems.push(format!(
                "{}: needs bad*.yaml and good*.yaml in {}",
                rule.id,
                dir.display()
            ));
            continue;
        }
        for b in &bad {
            let text = std::fs::read_to_string(b).expect("fixture readable");
            let expected: BTreeSet<usize> = text
                .lines()
                .enumerate()
                .filter(|(_, l)| l.contains("# expect"))
                .map(|(i, _)| i + 1)
                .collect();
            if expected.is_empty() {
                problems.push(format!(
                    "{}: {} marks no `# expect` line",
                    rule.id,
                    b.display()
                ));
            }
            let (got, all) = lines_of(rule.id, b);
            if got != expected {
                problems.push(format!(
                    "{}: {}: expected lines {:?}, got {:?}\n{all}",
                    rule.id,
                    b.display(),
                    expected,
                    got
                ));
            }
        }
        for g in &good {
            let (got, all) = lines_of(rule.id, g);
            if !got.is_empty() {
                problems.push(format!("{}: {} triggers it:\n{all}", rule.id, g.display()));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn no_stray_fixture_directories() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for e in std::fs::read_dir(root).expect("fixtures dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        assert!(
            rules::rule(&name).is_some(),
            "fixture dir {name} names no rule"
        );
    }
}
