//! The skip-or-fail policy of `catalog_for_tests`, tested without touching the process env.

use std::path::PathBuf;

use datalyptica_conformance::{Decision, Located, decide};

#[test]
fn found_dir_is_loaded_in_and_out_of_ci() {
    let dir = PathBuf::from("/somewhere/shared/crds");
    for ci in [false, true] {
        assert_eq!(
            decide(Located::Found(dir.clone()), ci),
            Decision::Load(dir.clone())
        );
    }
}

#[test]
fn missing_dir_skips_loudly_on_a_laptop() {
    let Decision::Skip(banner) = decide(Located::Missing("/nope/crds".into()), false) else {
        panic!("expected a skip");
    };
    assert!(
        banner
            .contains("SKIPPED: CRD schemas not found at /nope/crds (set DATALYPTICA_SHARED_DIR)"),
        "{banner}"
    );
}

#[test]
fn missing_dir_fails_in_ci() {
    let Decision::Fail(message) = decide(Located::Missing("/nope/crds".into()), true) else {
        panic!("CI must not skip silently");
    };
    assert!(message.contains("/nope/crds"), "{message}");
}
