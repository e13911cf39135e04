//! Throughput of `lint_sources` on a synthetic tree of 10,000 objects in 1,000 files.
//!
//! Run: `cargo bench -p datalyptica-lint` (release profile). Prints the median objects/s of
//! several runs (wall clock, all rayon threads), and objects per CPU-second from
//! /proc/self/stat so that a figure taken on a busy shared machine can still be judged.
//! Peak RSS is measured on the CLI instead (see the crate README). Then 60,000 objects in one
//! namespace against the same spread over 600 namespaces (matching must stay linear).

use std::time::Instant;

use datalyptica_lint::{Config, Severity, lint_sources, synth};
use rayon::prelude::*;

/// User + system CPU time of this process in seconds (Linux; None elsewhere).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let sources = synth::tree(10_000, 1_000);
    let warm = lint_sources(&sources, &Config::default());
    let objects = warm.objects as f64;
    eprintln!(
        "tree: {} files, {} objects, {} findings ({} errors); rayon threads: {}",
        warm.files,
        warm.objects,
        warm.findings.len(),
        warm.count(Severity::Error),
        rayon::current_num_threads()
    );
    drop(warm);

    let runs = 9;
    let mut wall = Vec::new();
    let mut cpu = Vec::new();
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu_seconds());
        let r = lint_sources(&sources, &Config::default());
        std::hint::black_box(&r);
        drop(r);
        wall.push(objects / t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (c, cpu_seconds()) {
            cpu.push(objects / (b - a).max(0.01));
        }
    }
    // The YAML parse alone (datalyptica-yaml), to show how the time splits.
    let t = Instant::now();
    let n: usize = sources
        .par_iter()
        .map(|s| datalyptica_yaml::parse(&s.text).map_or(0, |d| d.len()))
        .sum();
    std::hint::black_box(n);
    let parse_ms = t.elapsed().as_secs_f64() * 1e3;

    let m = median(wall.clone());
    println!(
        "lint_sources: {objects} objects, median {m:.0} objects/s ({:.0} ms/run; min {:.0}, max {:.0}; {runs} runs)",
        objects / m * 1e3,
        wall.iter().copied().fold(f64::INFINITY, f64::min),
        wall.iter().copied().fold(0.0, f64::max),
    );
    if !cpu.is_empty() {
        let c = median(cpu);
        println!(
            "cpu: median {c:.0} objects per CPU-second (≈ {:.0} objects/s on 2 idle cores)",
            2.0 * c
        );
    }
    println!("of which YAML parsing alone: {parse_ms:.0} ms for the whole tree");

    // Linear matching: 60,000 objects (Deployments, NetworkPolicies, PDBs whose selectors all
    // share one label) in one namespace cost about what they cost spread over 600.
    let mut ms = Vec::new();
    for namespaces in [600, 1] {
        let sources = synth::crowd(20_000, namespaces);
        let mut t = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            let r = lint_sources(&sources, &Config::default());
            std::hint::black_box(&r);
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
        let m = median(t);
        println!("crowd: 60,000 objects in {namespaces} namespace(s): median {m:.0} ms (3 runs)");
        ms.push(m);
    }
    println!(
        "crowd: one namespace / spread = {:.2} (1.0 = no cost for sharing a namespace)",
        ms[1] / ms[0]
    );
}
