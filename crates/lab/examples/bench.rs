//! The full drill matrix with real trial counts (the integration test runs only 2 kill trials):
//!
//! ```text
//! cargo run -p datalyptica-lab --example bench -- [TRIALS=10] [LAB_DIR=./lab] [components…]
//! ```
//!
//! Starts the lab if needed, runs every fault against each component, writes the per-drill
//! reports and `bench.md` (one row per drill) under `<lab dir>/reports`, and leaves the lab up.
//! Exit code 1 when any drill breached its SLO. Environment knobs: `BENCH_FAULTS=kill-primary,…`,
//! `BENCH_REDIS_WAIT_REPLICAS=0` (shows what asynchronous Redis replication loses).

use std::fmt::Write as _;
use std::process::ExitCode;

use datalyptica_lab::drill::{self, DrillOptions, Fault};
use datalyptica_lab::lab::Lab;
use datalyptica_lab::{Datastore, LabSettings, report};

fn main() -> anyhow::Result<ExitCode> {
    let mut args = std::env::args().skip(1);
    let trials: u32 = args.next().map(|s| s.parse()).transpose()?.unwrap_or(10);
    let dir = args.next().unwrap_or_else(|| "lab".into());
    let only: Vec<String> = args.collect();
    let mut settings = LabSettings {
        dir: dir.into(),
        ..LabSettings::default()
    };
    // Knobs for exploring settings against the shipped defaults.
    if let Ok(v) = std::env::var("BENCH_REDIS_WAIT_REPLICAS") {
        settings.redis.wait_replicas = v.parse()?;
    }
    let faults: Vec<Fault> = match std::env::var("BENCH_FAULTS") {
        Ok(v) => v
            .split(',')
            .map(|f| {
                Fault::parse(f).ok_or_else(|| {
                    anyhow::anyhow!(
                        "fault {f}: expected one of {:?}",
                        Fault::ALL.map(Fault::name)
                    )
                })
            })
            .collect::<anyhow::Result<_>>()?,
        Err(_) => Fault::ALL.to_vec(),
    };
    let lab = Lab::open(settings)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(lab.up(&Datastore::ALL))?;
    let out = lab.dir.join("reports");
    let mut md = String::from(
        "| component | fault | trials | RTO min | p50 | p95 | max (s) | acked lost | max lost span (s) | rejoined | SLO |\n|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    let mut all_met = true;
    for c in Datastore::ALL {
        if !only.is_empty() && !only.iter().any(|o| o == c.name()) {
            continue;
        }
        for &fault in &faults {
            let opts = DrillOptions {
                component: c,
                fault,
                trials,
                fault_secs: 8,
                start_lab: true,
                quiet: false,
            };
            let s = rt.block_on(drill::run(&lab, &opts))?;
            report::write_files(&s, &out)?;
            eprint!("{}", report::summary_table(&s));
            if let Some(reason) = &s.skipped {
                let _ = writeln!(
                    md,
                    "| {c} | {} | 0 | - | - | - | - | - | - | - | skipped: {reason} |",
                    fault.name()
                );
                continue;
            }
            all_met &= s.slo_met();
            let st = s.rto_s;
            let f = |g: fn(&analysis_stats::Stats) -> f64| {
                st.as_ref()
                    .map(|x| format!("{:.2}", g(x)))
                    .unwrap_or("-".into())
            };
            let _ = writeln!(
                md,
                "| {c} | {} | {} | {} | {} | {} | {} | {} | {:.3} | {}/{} | {} |",
                fault.name(),
                s.trials.len(),
                f(|x| x.min),
                f(|x| x.p50),
                f(|x| x.p95),
                f(|x| x.max),
                s.lost_total,
                s.lost_span_max_s,
                s.trials.iter().filter(|t| t.rejoined).count(),
                s.trials.len(),
                if s.slo_met() {
                    "met".to_string()
                } else {
                    format!("BREACH ({})", s.breaches.len())
                }
            );
            std::fs::write(out.join("bench.md"), &md)?;
        }
    }
    println!("{md}");
    Ok(if all_met {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

mod analysis_stats {
    pub use datalyptica_lab::analysis::Stats;
}
