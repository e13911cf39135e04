//! The entry points the binary mounts, exercised without a cluster: argument parsing and
//! preflight on recorded snapshots (exit codes 0 / 1 / 2).

use std::process::ExitCode;

use clap::Parser;
use datalyptica_cluster::{DeployArgs, DestroyArgs, PreflightArgs, run_destroy, run_preflight};
use datalyptica_platform::Platform;

#[derive(Parser)]
struct Deploy {
    #[command(flatten)]
    args: DeployArgs,
}

#[test]
fn deploy_flags_parse() {
    let d = Deploy::try_parse_from([
        "deploy",
        "--phase",
        "3",
        "--dry-run",
        "--timeout",
        "10m",
        "--json",
    ])
    .expect("parse");
    assert_eq!(d.args.phase, Some(3));
    assert!(d.args.dry_run && d.args.json && !d.args.force_conflicts);
    assert_eq!(d.args.timeout.as_deref(), Some("10m"));
    assert!(
        Deploy::try_parse_from(["deploy", "--phase", "1", "--component", "kafka"]).is_err(),
        "phase and component conflict"
    );
}

fn tmp(name: &str, text: &str) -> std::path::PathBuf {
    let p = std::env::temp_dir().join(format!(
        "datalyptica-cluster-test-{}-{name}",
        std::process::id()
    ));
    std::fs::write(&p, text).expect("write");
    p
}

#[test]
fn preflight_exit_codes_on_recorded_snapshots() {
    let p = Platform::default_ha();
    let ok = std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/snapshot-openshift-ok.json"
    ));
    let args = PreflightArgs {
        json: true,
        snapshot: Some(ok),
        save_snapshot: None,
    };
    assert_eq!(run_preflight(&args, &p), ExitCode::SUCCESS);

    let down = tmp("down.json", r#"{"apiError": "connection refused"}"#);
    let args = PreflightArgs {
        json: false,
        snapshot: Some(down.clone()),
        save_snapshot: None,
    };
    assert_eq!(run_preflight(&args, &p), ExitCode::from(1));

    let bad = tmp("bad.json", "not json");
    let args = PreflightArgs {
        json: false,
        snapshot: Some(bad.clone()),
        save_snapshot: None,
    };
    assert_eq!(run_preflight(&args, &p), ExitCode::from(2));

    let mut invalid = Platform::default_ha();
    invalid.api_version = "nope/v0".into();
    let args = PreflightArgs {
        json: false,
        snapshot: Some(down.clone()),
        save_snapshot: None,
    };
    assert_eq!(
        run_preflight(&args, &invalid),
        ExitCode::from(2),
        "invalid spec is unusable input"
    );
    for f in [down, bad] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn destroy_refuses_without_confirmation_when_not_interactive() {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        // Interactive runs would prompt; CI and `cargo test` under a harness have no TTY.
        return;
    }
    let args = DestroyArgs {
        yes: false,
        delete_data: false,
        json: false,
        wait: false,
    };
    assert_eq!(
        run_destroy(&args, &Platform::default_ha()),
        ExitCode::from(2)
    );
}
