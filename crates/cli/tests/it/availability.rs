//! `datalyptica availability` as a user runs it: the table, JSON, the SVG chart, drill reports
//! written by the lab's own report writer, exit codes and located warnings of `render`.

use std::fs;
use std::path::Path;
use std::process::Output;

use datalyptica_lab::analysis::{Attempt, Outcome, TrialLog, analyze};
use datalyptica_lab::drill::{DrillSummary, Fault, TrialReport, finish};
use datalyptica_lab::{Datastore, LabSettings};
use serde_json::Value;

use crate::common;
use common::{run, text};

fn json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).expect("JSON on stdout")
}

fn component<'a>(r: &'a Value, name: &str) -> &'a Value {
    r["components"]
        .as_array()
        .expect("components")
        .iter()
        .find(|c| c["component"] == name)
        .expect("component present")
}

#[test]
fn table_json_and_chart_of_the_default_platform() {
    let t = tempfile::tempdir().expect("tmp");
    let o = run(t.path(), &["availability", "--svg", "chart.svg"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    for want in [
        "component     availability  down/year",
        "single points of failure: trino/coordinator",
        "weakest trino",
        "zone outage: losing one of 3 zones",
        "wrote chart.svg",
    ] {
        assert!(out.contains(want), "missing `{want}` in\n{out}");
    }
    let svg = fs::read_to_string(t.path().join("chart.svg")).expect("chart written");
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    // One bar per component and journey, plus the background.
    assert_eq!(svg.matches("<rect").count(), 1 + 12 + 4);

    let o = run(t.path(), &["availability", "--json"]);
    assert_eq!(o.status.code(), Some(0));
    let r = json(&o);
    assert_eq!(r["components"].as_array().map(Vec::len), Some(12));
    // Serial composition, checked from the JSON alone.
    for j in r["journeys"].as_array().expect("journeys") {
        let product: f64 = j["components"]
            .as_array()
            .expect("list")
            .iter()
            .map(|c| {
                component(&r, c.as_str().expect("name"))["availability"]
                    .as_f64()
                    .expect("number")
            })
            .product();
        let got = j["availability"].as_f64().expect("number");
        assert!(
            (got - product).abs() < 1e-12,
            "{}: {got} vs {product}",
            j["name"]
        );
    }
    let pg = component(&r, "postgresql");
    assert_eq!(pg["tiers"][0]["failover"]["unplanned_s"], 30.0);
    assert!(
        pg["failover_source"]
            .as_str()
            .is_some_and(|s| s.starts_with("spec timing"))
    );
}

/// A drill report exactly as `datalyptica drill` writes it: the lab's own analysis and writer.
fn write_drill(dir: &Path, component: Datastore, fault: Fault, outage_attempts: u64) -> f64 {
    let attempts = (0..800)
        .map(|i| Attempt {
            seq: i + 1,
            start_us: i * 100_000,
            end_us: i * 100_000 + 10_000,
            outcome: if (20..20 + outage_attempts).contains(&i) {
                Outcome::Refused
            } else {
                Outcome::Ok
            },
            node: None,
        })
        .collect();
    let log = TrialLog {
        attempts,
        fault_us: 2_000_000,
        fault_end_us: None,
        promoted_us: None,
        read_back: (1..=800).collect(),
    };
    let mut s = DrillSummary {
        component,
        fault,
        settings: vec![],
        slo: LabSettings::default().postgres.slo,
        trials: vec![TrialReport {
            trial: 1,
            old_primary: "pg1".into(),
            new_primary: Some("pg2".into()),
            analysis: analyze(&log),
            rejoin_s: Some(1.0),
            rejoined: true,
            notes: vec![],
            log,
        }],
        rto_s: None,
        lost_total: 0,
        lost_span_max_s: 0.0,
        breaches: vec![],
        skipped: None,
    };
    finish(&mut s);
    datalyptica_lab::report::write_files(&s, dir).expect("report written");
    s.rto_s.expect("the trial recovered").p95
}

#[test]
fn drill_reports_replace_the_spec_timing() {
    let t = tempfile::tempdir().expect("tmp");
    let reports = t.path().join("reports");
    let kill = write_drill(&reports, Datastore::Postgresql, Fault::KillPrimary, 450);
    let stop = write_drill(&reports, Datastore::Postgresql, Fault::StopPrimary, 150);
    assert!(
        kill > 30.0 && stop > 10.0 && stop < kill,
        "kill {kill} s, stop {stop} s"
    );

    let base = json(&run(t.path(), &["availability", "--json"]));
    let o = run(
        t.path(),
        &[
            "availability",
            "--json",
            "--drills",
            reports.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let r = json(&o);
    let pg = component(&r, "postgresql");
    let f = &pg["tiers"][0]["failover"];
    assert!(
        (f["unplanned_s"].as_f64().expect("s") - kill).abs() < 1e-6,
        "{f}"
    );
    assert!(
        (f["planned_s"].as_f64().expect("s") - stop).abs() < 1e-6,
        "{f}"
    );
    let source = pg["failover_source"].as_str().expect("source");
    assert!(
        source.contains("postgresql-kill-primary.json") && source.contains("stop-primary"),
        "{source}"
    );
    // Measured times above the spec's (30 s failover, 10 s switchover) lower the figure;
    // other components are untouched.
    assert!(pg["availability"].as_f64() < component(&base, "postgresql")["availability"].as_f64());
    assert_eq!(
        component(&r, "redis")["availability"],
        component(&base, "redis")["availability"]
    );

    // Not a drill report: exit 2, file named.
    fs::write(reports.join("zz.json"), "{\"hello\": 1}").expect("write");
    let o = run(
        t.path(),
        &["availability", "--drills", reports.to_str().expect("utf-8")],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("zz.json:1:"),
        "{}",
        text(&o.stderr)
    );
    let empty = t.path().join("empty");
    fs::create_dir(&empty).expect("mkdir");
    let o = run(t.path(), &["availability", "--drills", "empty"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o.stderr).contains("no drill reports"));
}

#[test]
fn unreachable_targets_fail_availability_and_warn_in_render() {
    let t = tempfile::tempdir().expect("tmp");
    fs::write(
        t.path().join("spec.yaml"),
        "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: datalyptica\nspec:\n  components:\n    trino:\n      slo:\n        availability: 99.9999\n",
    )
    .expect("write");
    let o = run(t.path(), &["availability", "-f", "spec.yaml"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("NO"));

    let o = run(t.path(), &["render", "-f", "spec.yaml", "--out", "tree"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.contains("warning: spec.yaml:9:9: spec.components.trino.slo.availability: availability target 99.9999 % is out of reach"),
        "{err}"
    );
    assert!(err.contains("single point of failure"), "{err}");
    assert!(t.path().join("tree").is_dir(), "render still renders");

    // The same spec through `lint`: rule DL1022 at the same place.
    let o = run(t.path(), &["lint", "--format", "json", "spec.yaml"]);
    let r: Value = serde_json::from_slice(&o.stdout).expect("lint JSON");
    let hit = r["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["rule"] == "DL1022")
        .unwrap_or_else(|| panic!("no DL1022 in {r}"));
    assert_eq!(
        (hit["line"].as_u64(), hit["column"].as_u64()),
        (Some(9), Some(9))
    );

    // A bad rate is a spec error with its location.
    fs::write(
        t.path().join("bad.yaml"),
        "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: datalyptica\nspec:\n  availabilityModel:\n    nodeMtbf: soon\n",
    )
    .expect("write");
    let o = run(t.path(), &["availability", "-f", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o.stderr).contains("bad.yaml:7:5: spec.availabilityModel.nodeMtbf"),
        "{}",
        text(&o.stderr)
    );
}
