//! An API server that cannot be reached: preflight, deploy --dry-run, status and destroy stop
//! at once and name the address and the cause (connection refused, DNS, TLS). 401 is checked
//! against the real API server in tests/sandbox.rs.

use std::time::{Duration, Instant};

use datalyptica_cluster::api::{ApiError, KubeApi, Unreachable};
use datalyptica_cluster::deploy::{DeployOptions, deploy};
use datalyptica_cluster::destroy::{self, DestroyOptions};
use datalyptica_cluster::plan;
use datalyptica_cluster::preflight;
use datalyptica_cluster::{snapshot, status};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};

fn api(url: &str) -> KubeApi {
    KubeApi::from_config(kube::Config::new(url.parse().expect("url"))).expect("client")
}

/// Runs the four commands' engines against `url`; each error must be Unreachable with the
/// expected cause, and say the address.
async fn all_fail(url: &str, want: fn(&Unreachable) -> bool) {
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let tree = render(&p);
    let plan = plan::build(&m, &tree).expect("plan");
    let api = api(url);
    let check = |what: &str, e: &ApiError| match e {
        ApiError::Unreachable { server, cause } => {
            assert!(want(cause), "{what}: unexpected cause {cause:?}");
            assert_eq!(server, url.trim_end_matches('/'), "{what}");
            let text = e.to_string();
            assert!(
                text.starts_with(&format!("cannot reach the API server at {url}")),
                "{what}: {text}"
            );
        }
        other => panic!("{what}: expected unreachable, got {other:?}"),
    };
    let started = Instant::now();

    let req = preflight::requirements(&m, &tree, &plan);
    let snap = snapshot::snapshot(&api, &req).await;
    let msg = snap.api_error.clone().expect("preflight: api error");
    assert!(
        msg.starts_with(&format!("cannot reach the API server at {url}")),
        "preflight: {msg}"
    );
    let checks = preflight::analyze(&req, &snap);
    assert!(
        checks
            .iter()
            .any(|c| c.outcome == preflight::Outcome::Fail && c.message.contains(&msg)),
        "{checks:#?}"
    );

    let o = DeployOptions {
        dry_run: true,
        ..Default::default()
    };
    let r = deploy(&api, &plan, &o, &|_| {}).await;
    match r.result {
        Err(datalyptica_cluster::deploy::DeployError::Api { error, .. }) => {
            check("deploy --dry-run", &error)
        }
        other => panic!("deploy --dry-run: {other:?}"),
    }
    assert_eq!(
        r.changed, 0,
        "deploy --dry-run must not count changes it could not compute"
    );

    let e = status::status(&api, &plan).await.expect_err("status");
    check("status", &e);
    let e = destroy::destroy(&api, &plan, DestroyOptions::default(), &|_| {})
        .await
        .expect_err("destroy");
    check("destroy", &e);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn connection_refused_is_named() {
    // Port 1 on loopback: nothing listens there.
    all_fail("https://127.0.0.1:1", |c| {
        *c == Unreachable::ConnectionRefused
    })
    .await;
}

#[tokio::test]
async fn an_unknown_host_is_a_dns_failure() {
    // `.invalid` never resolves (RFC 2606).
    all_fail("https://api.cluster.invalid:6443", |c| {
        matches!(c, Unreachable::Dns(_))
    })
    .await;
}

#[tokio::test]
async fn a_server_that_is_not_tls_is_a_tls_failure() {
    // A plain-HTTP listener: the TLS handshake gets an HTTP answer.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = l.local_addr().expect("addr");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = s.read(&mut buf).await;
                let _ = s
                    .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    all_fail(&format!("https://{addr}"), |c| {
        matches!(c, Unreachable::Tls(_))
    })
    .await;
}
