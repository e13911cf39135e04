//! `datalyptica availability`: the shell around `datalyptica_platform::availability` — reads
//! drill reports, prints the table or JSON, writes the SVG chart.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use datalyptica_platform::availability::{self, Drill, Rates, drills};
use datalyptica_platform::model::Model;
use datalyptica_platform::spec::Platform;

#[derive(clap::Args, Clone)]
pub struct AvailabilityArgs {
    /// Directory of drill reports (the JSON `datalyptica drill --json` prints and writes to
    /// `<lab>/reports/<component>-<fault>.json`): their p95 RTO replaces the spec's failover
    /// timing (`kill-`, `freeze-`, `partition-primary`: unplanned; `stop-primary`: drains).
    #[arg(long, value_name = "DIR")]
    pub drills: Option<PathBuf>,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Also write a bar chart of the availabilities (SVG).
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// Every `*.json` of the directory, in name order, parsed; notes for reports without a
/// measurement. An unreadable directory or a file that is not a drill report is an error.
fn read_drills(dir: &Path) -> Result<(Vec<Drill>, Vec<String>), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!(
            "{}: no drill reports (*.json) in it (expected the files `datalyptica drill --json` writes to <lab>/reports)",
            dir.display()
        ));
    }
    let mut out = Vec::new();
    let mut notes = Vec::new();
    for f in files {
        let name = f.display().to_string();
        let text = std::fs::read_to_string(&f).map_err(|e| format!("{name}: {e}"))?;
        match drills::parse(&name, &text)? {
            drills::Parsed::Drill(d) => out.push(d),
            drills::Parsed::NoMeasurement(why) => notes.push(why),
        }
    }
    Ok((out, notes))
}

pub fn run(args: &AvailabilityArgs, p: &Platform) -> ExitCode {
    let (measured, notes) = match &args.drills {
        None => (Vec::new(), Vec::new()),
        Some(dir) => match read_drills(dir) {
            Ok(x) => x,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        },
    };
    for n in &notes {
        eprintln!("note: {n}");
    }
    let m = Model::new(p);
    let report = availability::evaluate(&m, &Rates::from_spec(p), &measured);
    if let Some(path) = &args.svg
        && let Err(e) = crate::out::write_file_atomically(path, &availability::svg::chart(&report))
    {
        eprintln!("error: cannot write {}: {e}", path.display());
        return ExitCode::from(1);
    }
    if args.json {
        match serde_json::to_string_pretty(&report) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        }
    } else {
        print!("{}", availability::table(&report));
        if let Some(path) = &args.svg {
            println!("wrote {}", path.display());
        }
    }
    if report.components.iter().all(|c| c.met) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
