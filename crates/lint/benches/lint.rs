//! Throughput of `lint_sources` on a synthetic tree of 10,000 objects in 1,000 files.
//!
//! Run: `cargo bench -p datalyptica-lint` (release profile). Prints objects/s as the median
//! of several runs. Peak RSS is measured on the CLI instead (see the crate README).

use std::time::Instant;

use datalyptica_lint::{Config, lint_sources, synth};

fn main() {
    let objects = 10_000;
    let sources = synth::tree(objects, 1_000);
    let total_objects = {
        let r = lint_sources(&sources, &Config::default());
        assert!(r.objects >= objects, "tree has {} objects", r.objects);
        eprintln!(
            "tree: {} files, {} objects, {} findings ({} errors); rayon threads: {}",
            r.files,
            r.objects,
            r.findings.len(),
            r.count(datalyptica_lint::Severity::Error),
            rayon::current_num_threads()
        );
        r.objects
    };
    for _ in 0..3 {
        eprintln!("parse only: {:.1} ms", parse_only(&sources) * 1e3);
    }
    let runs = 9;
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let r = lint_sources(&sources, &Config::default());
            let dt = t.elapsed().as_secs_f64();
            std::hint::black_box(&r);
            total_objects as f64 / dt
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let median = rates[runs / 2];
    println!(
        "lint_sources: {total_objects} objects, median {:.0} objects/s ({:.1} ms/run), min {:.0}, max {:.0} over {runs} runs",
        median,
        total_objects as f64 / median * 1e3,
        rates[0],
        rates[runs - 1]
    );
}

#[allow(dead_code)]
fn parse_only(sources: &[datalyptica_lint::Source]) -> f64 {
    use rayon::prelude::*;
    let t = Instant::now();
    let n: usize = sources
        .par_iter()
        .map(|s| {
            datalyptica_yaml::parse(&s.text)
                .map(|d| d.len())
                .unwrap_or(0)
        })
        .sum();
    std::hint::black_box(n);
    t.elapsed().as_secs_f64()
}
