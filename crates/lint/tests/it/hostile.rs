//! Inputs nobody should send but somebody will: alias bombs, absurd nesting, paths that never
//! end, special files in a tree. Each is a finding with a location (exit 1) or a note, never an
//! abort, and the rest of the tree is still linted.

use crate::common;
use common::args;

use std::path::{Path, PathBuf};

use datalyptica_lint::cli::execute;
use serde_json::Value;

fn run(paths: Vec<PathBuf>) -> (u8, Value, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = execute(&args(paths), false, &mut out, &mut err);
    let json = serde_json::from_slice(&out).unwrap_or(Value::Null);
    (code, json, String::from_utf8_lossy(&err).into_owned())
}

/// The findings of one rule, as (file name, line, message).
fn findings(j: &Value, rule: &str) -> Vec<(String, u64, String)> {
    j["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| f["rule"] == rule)
        .map(|f| {
            let file = f["file"].as_str().unwrap_or_default();
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (
                name,
                f["line"].as_u64().unwrap_or(0),
                f["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: app}\nspec: {containers: [{name: c, image: nginx}]}\n";

/// 16 lines: a ConfigMap whose data would hold 9^9 copies of "lol" (about 3 GB as JSON).
fn billion_laughs() -> String {
    let mut s = String::from(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\n  namespace: app\ndata:\n",
    );
    s.push_str("  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        s.push_str(&format!("  a{i}: &a{i} [{}]\n", vec![p; 9].join(", ")));
    }
    s
}

#[test]
fn an_alias_bomb_is_a_located_finding_and_the_tree_is_still_linted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    let bomb = billion_laughs();
    assert_eq!(bomb.lines().count(), 16);
    std::fs::write(d.join("bomb.yaml"), &bomb).expect("write");
    std::fs::write(d.join("pod.yaml"), POD).expect("write");
    let (code, j, err) = run(vec![d.to_path_buf()]);
    assert_eq!(code, 1, "{err}");
    let f = findings(&j, "DL0001");
    assert_eq!(f.len(), 1, "{f:?}");
    let (file, line, message) = &f[0];
    assert_eq!(file, "bomb.yaml");
    assert!((7..=16).contains(line), "{f:?}");
    assert!(
        message.contains("400000 nodes (limit max_alias_nodes)"),
        "{message}"
    );
    // The neighbour was linted all the same.
    assert!(
        j["findings"].as_array().is_some_and(|a| a
            .iter()
            .any(|f| f["file"].as_str().is_some_and(|p| p.ends_with("pod.yaml")))),
        "{j}"
    );
}

#[test]
fn nesting_beyond_the_limit_is_a_finding_in_its_document_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("deep.yaml");
    let deep = format!("{}1{}\n", "[".repeat(5000), "]".repeat(5000));
    std::fs::write(&f, format!("{POD}---\n{deep}---\n{POD}")).expect("write");
    let (code, j, err) = run(vec![f]);
    assert_eq!(code, 1, "{err}");
    let f = findings(&j, "DL0001");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, 6, "{f:?}");
    assert!(
        f[0].2.contains("deeper than 100 levels (limit max_depth)"),
        "{f:?}"
    );
    // Both pods (documents 1 and 3) were still linted.
    assert_eq!(j["summary"]["objects"], 2, "{j}");
}

#[test]
fn a_named_path_that_never_ends_is_cut_at_the_size_limit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let link = dir.path().join("endless.yaml");
    std::os::unix::fs::symlink("/dev/zero", &link).expect("symlink");
    let (code, j, err) = run(vec![link]);
    assert_eq!(code, 1, "{err}");
    let f = findings(&j, "DL0001");
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].1, 1, "{f:?}");
    assert!(
        f[0].2
            .contains("larger than the limit of 67108864 bytes (limit max_bytes)"),
        "{f:?}"
    );
}

#[test]
fn special_files_under_a_directory_are_skipped_with_an_info() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path();
    std::fs::write(d.join("pod.yaml"), POD).expect("write");
    let fifo = d.join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    // Reading the FIFO would block forever (nobody writes): the run must not even open it.
    let (code, j, err) = run(vec![d.to_path_buf()]);
    assert_eq!(code, 1, "{err}");
    // The FIFO is reported as a skipped file (DL0005, info), not read.
    assert_eq!(
        findings(&j, "DL0005"),
        vec![(
            "pipe.yaml".to_string(),
            1,
            "skipped: a FIFO, not a regular file: not opened".to_string()
        )],
        "{j}"
    );
    assert!(
        !findings(&j, "DL0001").iter().any(|f| f.0 == "pipe.yaml"),
        "{j}"
    );
}

#[test]
fn the_size_limit_counts_bytes_whatever_the_encoding() {
    // 64 MiB + 1 bytes of UTF-32 decode to about 16 Mi characters: still refused whole.
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("wide.yaml");
    let max = datalyptica_yaml::Limits::default().max_bytes;
    let mut bytes = vec![0xFF, 0xFE, 0, 0];
    let unit: Vec<u8> = "# x\n"
        .chars()
        .flat_map(|c| (c as u32).to_le_bytes())
        .collect();
    while bytes.len() <= max {
        bytes.extend_from_slice(&unit);
    }
    bytes.truncate(max + 1);
    std::fs::write(&f, &bytes).expect("write");
    let (code, j, err) = run(vec![f]);
    assert_eq!(code, 1, "{err}");
    let e = findings(&j, "DL0001");
    assert_eq!(e.len(), 1, "{j}");
    assert!(e[0].2.contains("limit max_bytes"), "{j}");
}
