//! Hostile input through the binary: a bounded error with file, line and limit, never an abort.

use std::fs;

use crate::common;
use common::{run, text};

/// A spec whose labels would hold 9^9 copies of "lol".
fn bomb_spec() -> String {
    let mut s = String::from(
        "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\n  labels:\n",
    );
    s.push_str("    a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = format!("*a{}", i - 1);
        s.push_str(&format!("    a{i}: &a{i} [{}]\n", vec![p; 9].join(", ")));
    }
    s
}

#[test]
fn an_alias_bomb_spec_is_refused_with_its_location_and_the_limit() {
    let t = tempfile::tempdir().expect("tmp");
    fs::write(t.path().join("bomb.yaml"), bomb_spec()).expect("write");
    let o = run(t.path(), &["render", "-f", "bomb.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = text(&o.stderr);
    assert!(err.contains("bomb.yaml:"), "{err}");
    assert!(
        err.contains("invalid YAML: anchors and aliases expand to more than 400000 nodes (limit max_alias_nodes)"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!t.path().join("out").exists());

    // lint: the same file is a finding (exit 1), not unusable input.
    let o = run(t.path(), &["lint", "--format", "json", "bomb.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    assert!(text(&o.stdout).contains("max_alias_nodes"), "{o:?}");
}

#[test]
fn a_spec_that_never_ends_is_cut_at_the_size_limit() {
    let t = tempfile::tempdir().expect("tmp");
    std::os::unix::fs::symlink("/dev/zero", t.path().join("zero.yaml")).expect("symlink");
    let o = run(t.path(), &["render", "-f", "zero.yaml", "--out", "out"]);
    assert_eq!(o.status.code(), Some(2), "{o:?}");
    let err = text(&o.stderr);
    assert!(
        err.contains("zero.yaml:1:67108865: invalid YAML: input larger than the limit of 67108864 bytes (limit max_bytes)"),
        "{err}"
    );
    assert!(!t.path().join("out").exists());
}
