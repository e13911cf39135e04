//! Opt-in end-to-end suite against a REAL cluster (the current kubeconfig context). Skipped
//! unless DATALYPTICA_E2E=1. Read-only by default: preflight and a server-side dry run.
//!
//!   DATALYPTICA_E2E=1 cargo test -p datalyptica-cluster --test it e2e:: -- --nocapture --test-threads=1
//!
//! Optional: DATALYPTICA_E2E_SPEC=<platform.yaml> (default: the embedded HA spec);
//! DATALYPTICA_E2E_DEPLOY=1 deploys for real, checks status and that a second deploy changes
//! nothing; DATALYPTICA_E2E_DESTROY=1 then destroys (PVCs kept).

use std::time::Duration;

use datalyptica_cluster::api::KubeApi;
use datalyptica_cluster::deploy::{self, DeployOptions, Event};
use datalyptica_cluster::plan;
use datalyptica_cluster::preflight;
use datalyptica_cluster::{destroy, snapshot, status};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};

fn enabled(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| v == "1")
}

fn platform() -> Platform {
    match std::env::var("DATALYPTICA_E2E_SPEC") {
        Ok(path) => {
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            datalyptica_platform::load(&path, &text).unwrap_or_else(|e| panic!("{path}: {e:?}"))
        }
        Err(_) => Platform::default_ha(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_cluster() {
    if !enabled("DATALYPTICA_E2E") {
        eprintln!(
            "skipped: set DATALYPTICA_E2E=1 (and a kubeconfig) to run against a real cluster"
        );
        return;
    }
    let p = platform();
    let m = Model::new(&p);
    let tree = render(&p);
    let plan = plan::build(&m, &tree).expect("plan");
    let api = KubeApi::from_env().await.expect("kubeconfig");

    let req = preflight::requirements(&m, &tree, &plan);
    let snap = snapshot::snapshot(&api, &req).await;
    assert!(snap.api_error.is_none(), "API: {:?}", snap.api_error);
    let checks = preflight::analyze(&req, &snap);
    eprintln!("{}", preflight::table(&checks));

    let print = |e: &Event| eprintln!("{}", deploy::render_event(e));
    let dry = DeployOptions {
        dry_run: true,
        ..Default::default()
    };
    let r = deploy::deploy(&api, &plan, &dry, &print).await;
    assert!(r.result.is_ok(), "dry run: {:?}", r.result);

    if !enabled("DATALYPTICA_E2E_DEPLOY") {
        return;
    }
    assert_ne!(
        preflight::overall(&checks),
        preflight::Outcome::Fail,
        "preflight fails: not deploying"
    );
    let opts = DeployOptions {
        poll: Duration::from_secs(5),
        approve_install_plans: true,
        ..Default::default()
    };
    let r = deploy::deploy(&api, &plan, &opts, &print).await;
    assert!(r.result.is_ok(), "deploy: {:?}", r.result);
    let rows = status::status(&api, &plan).await.expect("status");
    eprintln!("{}", status::status_table(&rows));
    assert!(rows.iter().all(|r| r.state == "ready"));
    let again = deploy::deploy(&api, &plan, &opts, &print).await;
    assert!(again.result.is_ok());
    assert_eq!(again.changed, 0, "second deploy changed objects");

    if enabled("DATALYPTICA_E2E_DESTROY") {
        let print = |e: &destroy::DestroyEvent| eprintln!("{e:?}");
        destroy::destroy(&api, &plan, destroy::DestroyOptions::default(), &print)
            .await
            .expect("destroy");
    }
}
