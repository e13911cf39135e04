//! Stand-in for the `datalyptica` binary while it does not mount the lab yet:
//! `cargo run -p datalyptica-lab --example labctl -- lab up`,
//! `... -- drill postgresql --fault kill-primary --trials 10` (the full bench).

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use datalyptica_lab::{DrillArgs, LabArgs, LabSettings, run_drill, run_lab};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    Lab(LabArgs),
    Drill(DrillArgs),
}

fn main() -> ExitCode {
    let r = match Cli::parse().cmd {
        Cmd::Lab(a) => run_lab(a, LabSettings::default()),
        Cmd::Drill(a) => run_drill(a, LabSettings::default()),
    };
    r.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(2)
    })
}
