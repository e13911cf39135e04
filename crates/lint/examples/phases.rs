//! Where a lint run's time goes, phase by phase, on a directory:
//! `cargo run --release -p datalyptica-lint --example phases -- DIR`.

use std::time::Instant;

use datalyptica_lint::{Config, cli, lint_sources, output};
use rayon::prelude::*;

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    let t = Instant::now();
    let sources = cli::collect_sources(std::slice::from_ref(&dir)).unwrap_or_default();
    let read = t.elapsed();
    let t = Instant::now();
    let docs: usize = sources
        .par_iter()
        .map(|s| datalyptica_yaml::parse(&s.text).map_or(0, |d| d.len()))
        .sum();
    let parse = t.elapsed();
    let t = Instant::now();
    let report = lint_sources(&sources, &Config::default());
    let lint = t.elapsed();
    let t = Instant::now();
    let mut out = Vec::new();
    let _ = output::write_json(&report, &mut out);
    let json = t.elapsed();
    println!(
        "{} files, {docs} documents, {} findings: read {read:?}, parse alone {parse:?}, lint_sources {lint:?}, json {json:?}",
        sources.len(),
        report.findings.len()
    );
}
