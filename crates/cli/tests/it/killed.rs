//! `deploy` survives being killed, and no output carries a secret: the binary against a sandbox
//! of ten workers in three zones (a real control plane; operators played by stand-ins).
//!
//! Twenty trials start `deploy` and SIGKILL it after a seeded random delay
//! (`DATALYPTICA_KILL_SEED` to replay one). After each: every step the progress record calls
//! done has all its objects in the cluster, and every generated Secret still has the value it
//! was first seen with (a regenerated password would lock out every client). Then a deploy
//! left alone finishes, and a dry run finds nothing to change. Every byte written by deploy,
//! dry run, status, troubleshoot (bundle included), destroy, `--json` and an error path is
//! scanned for every generated secret value.

use crate::common;

use std::collections::BTreeMap;
use std::io::Read;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use datalyptica_cluster::api::{ClusterApi, KubeApi, TypeRef};
use datalyptica_cluster::deploy::PROGRESS_CONFIGMAP;
use datalyptica_cluster::lock::LEASE_NAME;
use datalyptica_cluster::plan::{self, Plan};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use serde_json::Value;

const TRIALS: usize = 20;

/// xorshift64*: reproducible delays from a printed seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn millis(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo)
    }
}

/// The decoded values of every Secret deploy generated (labelled managed-by datalyptica),
/// by namespace/name/key. Certificates are public and left out.
async fn generated(api: &KubeApi, plan: &Plan) -> BTreeMap<String, String> {
    let t = TypeRef::new("v1", "Secret");
    let mut out = BTreeMap::new();
    for ns in &plan.namespaces {
        let list = api
            .list(
                &t,
                Some(ns),
                Some("app.kubernetes.io/managed-by=datalyptica"),
            )
            .await
            .expect("list secrets");
        for s in list {
            let name = s["metadata"]["name"].as_str().unwrap_or_default();
            for (k, v) in s["data"].as_object().into_iter().flatten() {
                if k.ends_with(".crt") {
                    continue;
                }
                let b = base64_decode(v.as_str().unwrap_or_default());
                out.insert(
                    format!("{ns}/{name}/{k}"),
                    String::from_utf8_lossy(&b).into_owned(),
                );
            }
        }
    }
    out
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// Steps the progress record calls done whose objects are not all in the cluster.
async fn done_but_missing(api: &KubeApi, plan: &Plan) -> Vec<String> {
    let cm = api
        .get(
            &TypeRef::new("v1", "ConfigMap"),
            Some(&plan.operators_namespace),
            PROGRESS_CONFIGMAP,
        )
        .await
        .expect("get progress");
    let done: Vec<String> = cm
        .as_ref()
        .and_then(|c| c["data"].as_object())
        .map(|d| d.keys().cloned().collect())
        .unwrap_or_default();
    let mut missing = Vec::new();
    for step in done {
        let objects: Vec<&Value> = match step.as_str() {
            "prerequisites" => plan.prerequisites.iter().collect(),
            "operators" => plan.operator_objects.iter().collect(),
            s => plan
                .components()
                .filter(|c| s == format!("component.{}", c.id))
                .flat_map(|c| &c.objects)
                .collect(),
        };
        for o in objects {
            let name = o["metadata"]["name"].as_str().unwrap_or_default();
            let ns = o["metadata"]["namespace"].as_str();
            if api
                .get(&TypeRef::of(o), ns, name)
                .await
                .expect("get")
                .is_none()
            {
                missing.push(format!("{step}: {} {name}", o["kind"]));
            }
        }
    }
    missing
}

/// The step the killed run was in: the last one its JSON events started.
fn last_step(stdout: &str) -> String {
    stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|e| e["event"] == "step-started")
        .filter_map(|e| e["step"].as_str().map(String::from))
        .next_back()
        .unwrap_or_else(|| "(before the first step)".into())
}

#[test]
fn deploy_survives_being_killed_and_no_output_carries_a_secret() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(sb) = common::sandbox_or_skip(&rt, "killed", |spec| {
        spec.nodes = 10;
        spec.zones = 3;
    }) else {
        return;
    };
    let api = rt.block_on(sb.api()).expect("api");
    let p = Platform::default_ha();
    let plan = plan::build(&Model::new(&p), &render(&p)).expect("plan");
    rt.block_on(common::provide_user_secrets(&api, &plan));
    let lease_t = TypeRef::new("coordination.k8s.io/v1", "Lease");

    let seed: u64 = std::env::var("DATALYPTICA_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_da7a);
    let mut rng = Rng(seed.max(1));
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    let mut outputs: Vec<(String, Vec<u8>)> = Vec::new();
    let mut report = Vec::new();
    for trial in 1..=TRIALS {
        let delay = Duration::from_millis(rng.millis(300, 9000));
        let mut child = common::datalyptica(&sb, &["deploy", "--json"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn deploy");
        let start = Instant::now();
        while start.elapsed() < delay {
            if child.try_wait().expect("try_wait").is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let finished = child.try_wait().expect("try_wait");
        if finished.is_none() {
            child.kill().expect("SIGKILL");
        }
        let status = child.wait().expect("wait");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        child.stdout.take().map(|mut s| s.read_to_end(&mut out));
        child.stderr.take().map(|mut s| s.read_to_end(&mut err));
        let step = last_step(&String::from_utf8_lossy(&out));
        report.push(format!(
            "trial {trial:2}: {} after {delay:?} in {step}",
            if finished.is_some() {
                format!("exited {:?}", status.code())
            } else {
                "killed".into()
            }
        ));
        outputs.push((format!("deploy trial {trial} stdout"), out));
        outputs.push((format!("deploy trial {trial} stderr"), err));

        let missing = rt.block_on(done_but_missing(&api, &plan));
        assert!(
            missing.is_empty(),
            "trial {trial}: recorded done, yet missing: {missing:?}"
        );
        for (k, v) in rt.block_on(generated(&api, &plan)) {
            let first = first_seen.entry(k.clone()).or_insert_with(|| v.clone());
            assert!(*first == v, "trial {trial}: {k} was generated again");
        }
        // The killed run's lease would block the next one for a minute: its holder is known
        // dead here, so the test clears it (the lock's own test covers expiry).
        rt.block_on(api.delete(&lease_t, Some(&plan.operators_namespace), LEASE_NAME))
            .expect("clear the dead run's lease");
    }
    eprintln!("kill trials (seed {seed}):\n{}", report.join("\n"));
    let steps: std::collections::BTreeSet<&str> = report
        .iter()
        .filter(|r| r.contains("killed"))
        .filter_map(|r| r.split(" in ").nth(1))
        .collect();
    assert!(
        steps.len() >= 3,
        "the kills landed in too few steps to mean much: {steps:?}"
    );

    // Left alone, it converges: exit 0, then nothing to change, and the first secret values.
    let mut run = |label: &str, args: &[&str]| -> Output {
        let out = common::datalyptica(&sb, args).output().expect("run");
        outputs.push((format!("{label} stdout"), out.stdout.clone()));
        outputs.push((format!("{label} stderr"), out.stderr.clone()));
        out
    };
    let out = run("final deploy", &["deploy"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        common::text(&out.stdout),
        common::text(&out.stderr)
    );
    let out = run("dry run", &["deploy", "--dry-run", "--json"]);
    let last: Value = common::text(&out.stdout)
        .lines()
        .last()
        .and_then(|l| serde_json::from_str(l).ok())
        .expect("a last event");
    assert_eq!(last["event"], "finished", "{last}");
    assert_eq!(last["changed"], 0, "{last}");
    assert!(rt.block_on(done_but_missing(&api, &plan)).is_empty());
    let secrets = rt.block_on(generated(&api, &plan));
    assert!(!secrets.is_empty(), "deploy generated no Secret");
    // A Secret of a step no killed run reached is first made by the final run; every one a
    // killed run made must have survived it unchanged.
    let kept = secrets
        .iter()
        .filter(|(k, _)| first_seen.contains_key(*k))
        .count();
    assert!(
        kept > 0,
        "no Secret made by a killed run is left: {:?}",
        secrets.keys().collect::<Vec<_>>()
    );
    for (k, v) in &secrets {
        if let Some(first) = first_seen.get(k) {
            // Not assert_eq: a failure must not print the values.
            assert!(first == v, "{k} changed after convergence");
        }
    }
    for k in first_seen.keys() {
        assert!(
            secrets.contains_key(k),
            "{k} was made by a killed run, then lost"
        );
    }

    // No secret in any output.
    let dir = tempfile::tempdir().expect("tmp");
    let bundle = dir.path().join("bundle.tar.gz");
    let bundle_arg = bundle.to_string_lossy().into_owned();
    run("status", &["status"]);
    run("status --json", &["status", "--json"]);
    run("status --deep", &["status", "--deep", "--json"]);
    run("troubleshoot", &["troubleshoot", "-o", &bundle_arg]);
    run(
        "troubleshoot --json",
        &["troubleshoot", "--json", "-o", &bundle_arg],
    );
    run(
        "error path",
        &["deploy", "--component", "no-such-component"],
    );
    run("destroy", &["destroy", "--yes", "--json"]);
    let unpacked = dir.path().join("bundle");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let tar = std::process::Command::new("tar")
        .arg("-xzf")
        .arg(&bundle)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar");
    assert!(tar.success(), "the bundle is not a tar.gz");
    let mut files = 0;
    for f in walk(&unpacked) {
        files += 1;
        outputs.push((
            format!("bundle {}", f.display()),
            std::fs::read(&f).expect("read"),
        ));
    }
    assert!(files > 10, "the bundle has {files} files");
    let values: Vec<(&String, &String)> = secrets.iter().filter(|(_, v)| v.len() >= 12).collect();
    assert!(
        !values.is_empty(),
        "no generated value long enough to scan for"
    );
    let mut hits = Vec::new();
    for (label, bytes) in &outputs {
        let text = String::from_utf8_lossy(bytes);
        for (k, v) in &values {
            if text.contains(v.as_str()) {
                hits.push(format!("{label}: value of {k}"));
            }
        }
    }
    eprintln!(
        "scanned {} outputs ({} bytes) for {} secret values",
        outputs.len(),
        outputs.iter().map(|(_, b)| b.len()).sum::<usize>(),
        values.len()
    );
    assert!(hits.is_empty(), "secrets in output: {hits:#?}");
}

fn walk(d: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
