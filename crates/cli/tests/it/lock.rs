//! One deploy or destroy at a time, on a real API server (the sandbox): the binary exits 3 and
//! names the holder when another run holds the cluster lock, waits with `--wait`, takes over a
//! lease whose holder stopped renewing, and a running holder's renewals keep others out.

use crate::common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use datalyptica_cluster::api::{ApplyOptions, ClusterApi, KubeApi, TypeRef};
use datalyptica_cluster::lock::{LEASE_NAME, Lock, LockError};
use datalyptica_cluster::plan;
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};

async fn lease(api: &KubeApi, ns: &str) -> serde_json::Value {
    api.get(
        &TypeRef::new("coordination.k8s.io/v1", "Lease"),
        Some(ns),
        LEASE_NAME,
    )
    .await
    .expect("get lease")
    .expect("the lease exists")
}

#[test]
fn one_deploy_or_destroy_at_a_time() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(sb) = common::sandbox_or_skip(&rt, "lock", |spec| {
        spec.nodes = 1;
        spec.zones = 1;
        spec.standins = false;
    }) else {
        return;
    };
    let api = rt.block_on(sb.api()).expect("api");
    let p = Platform::default_ha();
    let ns = plan::build(&Model::new(&p), &render(&p))
        .expect("plan")
        .operators_namespace;
    let someone = "deploy by someone@elsewhere (pid 1)";
    let never = |_: &LockError| {};
    let held = rt
        .block_on(Lock::acquire(
            &api,
            &ns,
            someone,
            Duration::from_secs(60),
            None,
            &never,
        ))
        .expect("the first taker gets the lock");

    // Held: deploy and destroy exit 3 and say who holds it since when; nothing is written.
    for args in [&["deploy"][..], &["destroy", "--yes"][..]] {
        let out = common::datalyptica(&sb, args).output().expect("run");
        let err = common::text(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{args:?}: {err}");
        assert!(
            err.contains(&format!("another run holds the lock: {someone}, since 20")),
            "{err}"
        );
        assert!(err.contains("--wait"), "{err}");
    }
    let sub_t = TypeRef::new("operators.coreos.com/v1alpha1", "Subscription");
    let subs = rt
        .block_on(api.list(&sub_t, None, None))
        .expect("list subscriptions");
    assert!(subs.is_empty(), "a blocked deploy wrote {subs:?}");
    // A dry run writes nothing: the lock does not concern it.
    let out = common::datalyptica(&sb, &["deploy", "--dry-run", "--json"])
        .output()
        .expect("run");
    assert!(
        !common::text(&out.stderr).contains("holds the lock"),
        "{}",
        common::text(&out.stderr)
    );

    // Held by a live holder: a second library taker is refused with the holder's name.
    match rt.block_on(Lock::acquire(
        &api,
        &ns,
        "deploy by other@host (pid 2)",
        Duration::from_secs(60),
        None,
        &never,
    )) {
        Err(LockError::Held { holder, .. }) => assert_eq!(holder, someone),
        other => panic!("{other:?}"),
    }

    // --wait queues behind the holder and runs once it releases.
    let waiting = common::datalyptica(&sb, &["destroy", "--yes", "--wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    std::thread::sleep(Duration::from_secs(3));
    rt.block_on(held.release(&api)).expect("release");
    let out = waiting.wait_with_output().expect("wait");
    let err = common::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("waiting: another run holds the lock: {someone}")),
        "{err}"
    );
    let l = rt.block_on(lease(&api, &ns));
    assert_eq!(l["spec"]["holderIdentity"], "", "not released: {l}");
    assert_eq!(l["spec"]["leaseTransitions"], 1, "{l}");

    // A holder that died (never renews, never releases) blocks only until its lease runs out.
    let crashed = rt
        .block_on(Lock::acquire(
            &api,
            &ns,
            "deploy by crashed@host (pid 3)",
            Duration::from_secs(2),
            None,
            &never,
        ))
        .expect("free");
    drop(crashed);
    let out = common::datalyptica(&sb, &["destroy", "--yes"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3), "{}", common::text(&out.stderr));
    std::thread::sleep(Duration::from_millis(2500));
    let out = common::datalyptica(&sb, &["destroy", "--yes"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", common::text(&out.stderr));
    let l = rt.block_on(lease(&api, &ns));
    assert_eq!(l["spec"]["leaseTransitions"], 3, "{l}");

    // A running holder renews: with a 3 s lease, a 6 s run keeps another taker out at 4.5 s,
    // well past the first lease's end.
    rt.block_on(async {
        let mut lock = Lock::acquire(
            &api,
            &ns,
            "deploy by long@host (pid 4)",
            Duration::from_secs(3),
            None,
            &never,
        )
        .await
        .expect("free");
        let start = Instant::now();
        let other = async {
            tokio::time::sleep(Duration::from_millis(4500)).await;
            Lock::acquire(
                &api,
                &ns,
                "deploy by other@host (pid 5)",
                Duration::from_secs(3),
                None,
                &never,
            )
            .await
        };
        let (held, other) = tokio::join!(
            lock.hold(&api, tokio::time::sleep(Duration::from_secs(6))),
            other
        );
        assert!(held.is_ok(), "{held:?}");
        assert!(start.elapsed() >= Duration::from_secs(6));
        match other {
            Err(LockError::Held { holder, .. }) => {
                assert_eq!(holder, "deploy by long@host (pid 4)")
            }
            o => panic!("the renewed lease was taken: {o:?}"),
        }
        lock.release(&api).await.expect("release");

        // A write in between (here a hand edit of the holder) makes the next renewal fail: the
        // renewal carries the resourceVersion it last wrote, and the API server checks it.
        let mut lock = Lock::acquire(
            &api,
            &ns,
            "deploy by a@host (pid 6)",
            Duration::from_secs(60),
            None,
            &never,
        )
        .await
        .expect("free");
        let mut edited = lease(&api, &ns).await;
        edited["spec"]["holderIdentity"] = "intruder".into();
        edited["metadata"] = serde_json::json!({"name": LEASE_NAME, "namespace": ns});
        edited.as_object_mut().map(|o| o.remove("status"));
        api.apply(
            &edited,
            ApplyOptions {
                dry_run: false,
                force: true,
            },
        )
        .await
        .expect("edit");
        match lock.renew(&api).await {
            Err(LockError::Lost(by)) => assert_eq!(by, "intruder"),
            o => panic!("a renewal over someone else's write succeeded: {o:?}"),
        }
    });
    let dir = sb.dir.clone();
    drop(sb);
    let _ = std::fs::remove_dir_all(dir);
}
