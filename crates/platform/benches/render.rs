//! `cargo bench -p datalyptica-platform --bench render`: time to validate and render the
//! default spec to bytes (what `datalyptica render` computes before writing files).

use std::time::{Duration, Instant};

use datalyptica_platform::{Platform, render, validate};

fn main() {
    let p = Platform::default_ha();
    let mut times: Vec<Duration> = Vec::new();
    let mut bytes = 0;
    for _ in 0..5 {
        std::hint::black_box(render(&p).to_bytes());
    }
    for _ in 0..50 {
        let t = Instant::now();
        let issues = validate::validate(&p);
        let files = render(&p).to_bytes();
        times.push(t.elapsed());
        bytes = files.values().map(String::len).sum::<usize>() + issues.len();
        std::hint::black_box(files);
    }
    times.sort();
    let pct = |q: f64| times[((times.len() - 1) as f64 * q) as usize];
    println!(
        "render default spec ({bytes} bytes): min {:?}  p50 {:?}  p95 {:?}  max {:?}",
        times[0],
        pct(0.5),
        pct(0.95),
        times[times.len() - 1]
    );
}
