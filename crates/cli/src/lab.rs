//! The lab and drill subcommands: clap arguments and sync entry points, each building its own
//! tokio runtime over the lab library (`datalyptica-lab`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Args, Subcommand, ValueEnum};

use datalyptica_lab::drill::{self, Fault};
use datalyptica_lab::lab::{self, Lab};
use datalyptica_lab::settings::LabSettings;
use datalyptica_lab::topology::Datastore;

#[derive(Debug, Clone, Args)]
pub struct LabArgs {
    /// Lab directory (data, configs, logs, pid files). Default: /var/lib/datalyptica/lab as
    /// root (reachable by the `postgres` user), else $XDG_STATE_HOME/datalyptica/lab
    /// (~/.local/state/datalyptica/lab).
    #[arg(long, global = true)]
    pub dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: LabCommand,
}

#[derive(Debug, Clone, Subcommand)]
pub enum LabCommand {
    /// Start the servers and wait until every cluster is healthy.
    Up {
        /// Components to start (default: all). PostgreSQL brings etcd along (its DCS).
        #[arg(long, value_delimiter = ',')]
        only: Vec<DatastoreArg>,
    },
    /// Show processes and cluster health; exit 1 when something is down.
    Status {
        #[arg(long)]
        json: bool,
    },
    /// Stop every process the lab started (by pid file), also after a crash, and wait for ports.
    Down {
        /// Also delete the lab's data.
        #[arg(long)]
        purge: bool,
    },
}

/// The lab's datastores by their command-line names (clap stays out of the lab library).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DatastoreArg {
    Etcd,
    Postgresql,
    Redis,
}

impl From<DatastoreArg> for Datastore {
    fn from(c: DatastoreArg) -> Self {
        match c {
            DatastoreArg::Etcd => Datastore::Etcd,
            DatastoreArg::Postgresql => Datastore::Postgresql,
            DatastoreArg::Redis => Datastore::Redis,
        }
    }
}

/// The drill's faults by their command-line names (`kill-primary`, …: hence the common postfix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[allow(clippy::enum_variant_names)]
pub enum FaultArg {
    /// SIGKILL the whole node (for PostgreSQL: Patroni, the postmaster and its children).
    KillPrimary,
    /// SIGTERM: the server shuts down cleanly (Patroni releases the leader key, etcd hands over).
    StopPrimary,
    /// SIGSTOP the node for --fault-secs, then SIGCONT.
    FreezePrimary,
    /// Drop traffic between the primary's address and the others for --fault-secs (nftables).
    PartitionPrimary,
}

impl From<FaultArg> for Fault {
    fn from(f: FaultArg) -> Self {
        match f {
            FaultArg::KillPrimary => Fault::KillPrimary,
            FaultArg::StopPrimary => Fault::StopPrimary,
            FaultArg::FreezePrimary => Fault::FreezePrimary,
            FaultArg::PartitionPrimary => Fault::PartitionPrimary,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct DrillArgs {
    /// Component whose primary / leader is hit.
    pub component: DatastoreArg,
    /// Where to drill; only the local lab exists so far.
    #[arg(long, default_value = "lab")]
    pub target: String,
    #[arg(long, value_enum, default_value_t = FaultArg::KillPrimary)]
    pub fault: FaultArg,
    #[arg(long, default_value_t = 3)]
    pub trials: u32,
    /// Seconds a `freeze-primary` / `partition-primary` fault lasts.
    #[arg(long, default_value_t = 8)]
    pub fault_secs: u64,
    /// Lab directory. Default: as for `lab --dir`.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Start the lab first when it is not running.
    #[arg(long)]
    pub up: bool,
    /// Print JSON instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Directory for the SVG timelines and the Markdown report (default: <lab dir>/reports).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

pub fn run_lab(args: LabArgs, mut settings: LabSettings) -> Result<ExitCode> {
    if let Some(d) = args.dir {
        settings.dir = d;
    }
    let lab = Lab::open(settings)?;
    let rt = runtime()?;
    match args.command {
        LabCommand::Up { only } => {
            // Said first: `up` takes a while, and the dir is where the logs are.
            println!("lab dir {}", lab.dir.display());
            let comps = if only.is_empty() {
                Datastore::ALL.to_vec()
            } else {
                only.into_iter().map(Datastore::from).collect()
            };
            let started = std::time::Instant::now();
            if let Err(e) = rt.block_on(lab.up(&comps)) {
                eprintln!(
                    "lab up failed: {e:#}\nprocesses are left running for inspection; `lab down` stops them"
                );
                return Ok(ExitCode::FAILURE);
            }
            println!(
                "lab up in {:.1} s, dir {}",
                started.elapsed().as_secs_f64(),
                lab.dir.display()
            );
            for (c, e) in lab::endpoints() {
                if comps.contains(&c)
                    || (c == Datastore::Etcd && comps.contains(&Datastore::Postgresql))
                {
                    println!("  {c:<10} {e}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        LabCommand::Status { json } => {
            let st = rt.block_on(datalyptica_lab::report::lab_status(&lab));
            if json {
                println!("{}", serde_json::to_string_pretty(&st)?);
            } else {
                print!("{}", datalyptica_lab::report::lab_status_text(&st));
            }
            Ok(if st.healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        LabCommand::Down { purge } => {
            for n in lab.down()? {
                println!("{n}");
            }
            if purge {
                lab.purge()?;
            }
            println!("lab down{}", if purge { " (data purged)" } else { "" });
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn run_drill(args: DrillArgs, mut settings: LabSettings) -> Result<ExitCode> {
    if args.target != "lab" {
        anyhow::bail!(
            "--target {}: only the local lab (`lab`) can be drilled so far",
            args.target
        );
    }
    if let Some(d) = &args.dir {
        settings.dir = d.clone();
    }
    let lab = Lab::open(settings)?;
    let rt = runtime()?;
    let out = args.out.clone().unwrap_or_else(|| lab.dir.join("reports"));
    let opts = drill::DrillOptions {
        component: args.component.into(),
        fault: args.fault.into(),
        trials: args.trials.max(1),
        fault_secs: args.fault_secs,
        start_lab: args.up,
        quiet: args.json,
    };
    let summary = rt.block_on(drill::run(&lab, &opts))?;
    let files = datalyptica_lab::report::write_files(&summary, &out)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", datalyptica_lab::report::summary_table(&summary));
        for f in files {
            println!("wrote {}", f.display());
        }
    }
    Ok(if summary.slo_met() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    enum Top {
        Lab(LabArgs),
        Drill(DrillArgs),
    }

    #[test]
    fn parses_the_documented_command_lines() {
        let Top::Drill(d) = Top::try_parse_from([
            "x",
            "drill",
            "postgresql",
            "--fault",
            "freeze-primary",
            "--trials",
            "10",
            "--json",
        ])
        .expect("drill parses") else {
            panic!("not a drill")
        };
        assert_eq!(d.component, DatastoreArg::Postgresql);
        assert_eq!(d.fault, FaultArg::FreezePrimary);
        assert_eq!((d.trials, d.json, d.target.as_str()), (10, true, "lab"));
        let Top::Lab(l) =
            Top::try_parse_from(["x", "lab", "--dir", "/tmp/l", "up", "--only", "etcd,redis"])
                .expect("lab parses")
        else {
            panic!("not lab")
        };
        assert_eq!(l.dir.as_deref(), Some(std::path::Path::new("/tmp/l")));
        assert!(
            matches!(l.command, LabCommand::Up { ref only } if only == &[DatastoreArg::Etcd, DatastoreArg::Redis])
        );
        assert!(Top::try_parse_from(["x", "drill", "mysql"]).is_err());
        assert!(Top::try_parse_from(["x", "lab", "down", "--purge"]).is_ok());
    }
}
