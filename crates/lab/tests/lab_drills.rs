//! Runs the real lab: `lab up`, a short kill drill per component (2 trials), `lab down`.
//! Needs the servers from `.ci/install-lab.sh`: without them the test FAILS when CI=true and
//! is skipped loudly otherwise. Full trial counts: see README.md of this crate (bench).

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use datalyptica_lab::drill::{self, DrillOptions, DrillSummary, Fault};
use datalyptica_lab::lab::Lab;
use datalyptica_lab::topology::{Datastore, Proc, ProcKind, missing_binaries};
use datalyptica_lab::{LabSettings, procs};

/// Stops everything the lab started, also when an assertion fails midway.
struct Guard(Lab);

impl Drop for Guard {
    fn drop(&mut self) {
        match self.0.down() {
            Ok(notes) => eprintln!("lab down: {notes:?}"),
            Err(e) => eprintln!("lab down FAILED: {e:#}"),
        }
        let _ = self.0.purge();
    }
}

fn servers_available() -> bool {
    let missing = missing_binaries(&Datastore::ALL);
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("lab binaries missing in CI: {missing:?} (run .ci/install-lab.sh)");
    }
    // Straight to fd 2: the test harness captures eprintln! of passing tests, and a skip must show.
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED lab drills: missing {missing:?}; run `bash .ci/install-lab.sh` ***\n"
    );
    false
}

fn drill(rt: &tokio::runtime::Runtime, lab: &Lab, component: Datastore) -> DrillSummary {
    let opts = DrillOptions {
        component,
        fault: Fault::KillPrimary,
        trials: 2,
        fault_secs: 5,
        start_lab: false,
        quiet: false,
    };
    let s = rt
        .block_on(drill::run(lab, &opts))
        .unwrap_or_else(|e| panic!("{component} drill: {e:#}"));
    eprint!("{}", datalyptica_lab::report::summary_table(&s));
    assert_eq!(s.trials.len(), 2);
    for t in &s.trials {
        assert!(
            t.rejoined,
            "{component} trial {}: old primary did not rejoin: {:?}",
            t.trial, t.notes
        );
        assert_ne!(
            t.new_primary.as_deref(),
            Some(t.old_primary.as_str()),
            "{component}: no failover"
        );
        assert_eq!(t.analysis.duplicates, 0);
        assert_eq!(t.analysis.unexpected, 0);
        assert!(t.analysis.acknowledged > 50, "{component}: too few writes");
    }
    s
}

fn max_rto(s: &DrillSummary) -> Duration {
    s.trials
        .iter()
        .map(|t| t.analysis.rto.expect("writes recovered"))
        .max()
        .unwrap_or_default()
}

#[test]
fn lab_up_drill_down() {
    if !servers_available() {
        return;
    }
    let tmp = tempfile::Builder::new()
        .prefix("datalyptica-lab-test")
        .tempdir()
        .expect("tempdir");
    // PostgreSQL runs as user postgres and must traverse into the lab.
    std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let settings = LabSettings {
        dir: tmp.path().join("lab"),
        ..LabSettings::default()
    };
    let guard = Guard(Lab::open(settings).expect("open lab"));
    let lab = &guard.0;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("rt");

    let t = std::time::Instant::now();
    rt.block_on(lab.up(&Datastore::ALL)).expect("lab up");
    eprintln!("lab up took {:.1} s", t.elapsed().as_secs_f64());
    let st = rt.block_on(datalyptica_lab::report::lab_status(lab));
    assert!(
        st.healthy,
        "{}",
        datalyptica_lab::report::lab_status_text(&st)
    );

    let etcd = drill(&rt, lab, Datastore::Etcd);
    assert_eq!(etcd.lost_total, 0, "etcd lost acknowledged writes");
    assert!(
        max_rto(&etcd) < Duration::from_secs(5),
        "etcd RTO {:?}",
        max_rto(&etcd)
    );

    let pg = drill(&rt, lab, Datastore::Postgresql);
    assert_eq!(
        pg.lost_total, 0,
        "PostgreSQL (synchronous_mode) lost acknowledged writes"
    );
    assert!(
        max_rto(&pg) < Duration::from_secs(45),
        "PostgreSQL RTO {:?}",
        max_rto(&pg)
    );

    let redis = drill(&rt, lab, Datastore::Redis);
    assert!(
        max_rto(&redis) < Duration::from_secs(15),
        "Redis RTO {:?}",
        max_rto(&redis)
    );
    if redis.lost_total > 0 {
        eprintln!(
            "NOTE: Redis lost {} acknowledged writes (asynchronous replication)",
            redis.lost_total
        );
    }

    // A crashed process must be found and cleaned up by `down`.
    let victim = Proc::new(ProcKind::Sentinel, 2);
    let pid = lab.pid(victim).expect("sentinel3 running");
    procs::signal_all(&[pid.pid], nix::sys::signal::Signal::SIGKILL);
    assert!(procs::wait_gone(&[pid], Duration::from_secs(5)));
    let status = lab.status_procs();
    assert!(
        status
            .iter()
            .any(|p| p.name == "sentinel3" && p.state == "crashed"),
        "{status:?}"
    );

    let notes = lab.down().expect("lab down");
    assert!(
        notes
            .iter()
            .any(|n| n.contains("sentinel3") && n.contains("crashed")),
        "{notes:?}"
    );
    for c in Datastore::ALL {
        for p in Proc::all(c) {
            assert!(!lab.is_running(p), "{} still running", p.name());
            for &port in p.kind.ports() {
                assert!(
                    procs::port_free(p.addr(port)),
                    "{}:{port} still busy",
                    p.name()
                );
            }
        }
    }
}
