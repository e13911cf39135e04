//! `datalyptica`: the imperative shell around the pure platform core.
//! Exit codes: 0 success, 1 a check failed or an operation failed, 2 unusable input.

mod lab_settings;
mod out;
mod plan;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use datalyptica_platform::spec::{Platform, Profile};
use datalyptica_platform::{components, schema};

#[derive(Parser)]
#[command(
    name = "datalyptica",
    version,
    about = "Deploy the Datalyptica data platform in high availability on OpenShift, and prove it"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a fully commented platform spec (the HA default, every knob shown).
    Init {
        /// Where to write it.
        #[arg(short, long, default_value = "datalyptica.yaml")]
        out: PathBuf,
        /// Start from the `dev` profile (single replicas) instead of `ha`.
        #[arg(long)]
        dev: bool,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Render the manifest tree (the seed's `ha-operators/` layout) from the spec.
    Render {
        #[command(flatten)]
        spec: SpecArg,
        /// Output directory, replaced atomically.
        #[arg(short, long, default_value = "ha-operators")]
        out: PathBuf,
        /// Replace a directory that datalyptica did not create.
        #[arg(long)]
        force: bool,
    },
    /// Print the JSON Schema of the spec (for editors and CI).
    Schema,
    /// Say what a component deploys: operator, HA targets, dependencies.
    Explain {
        /// Component name, e.g. postgresql.
        component: String,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Print the deployment phases, the dependency graph (text and Mermaid) and parallel waves.
    Plan {
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Check a cluster (the current kubeconfig context) against what the spec needs.
    Preflight {
        #[command(flatten)]
        args: datalyptica_cluster::PreflightArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Deploy phase by phase with health gates (server-side apply; resumable, idempotent).
    Deploy {
        #[command(flatten)]
        args: datalyptica_cluster::DeployArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// One table of every component: desired vs ready, roles, state.
    Status {
        #[command(flatten)]
        args: datalyptica_cluster::StatusArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Write a support bundle (objects, events, logs; secrets redacted) with an analysis.
    Troubleshoot {
        #[command(flatten)]
        args: datalyptica_cluster::TroubleshootArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Remove the platform in reverse dependency order (data kept unless --delete-data).
    Destroy {
        #[command(flatten)]
        args: datalyptica_cluster::DestroyArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// A real Kubernetes control plane on this machine (etcd, kube-apiserver, controller
    /// manager, scheduler, kwok workers; OLM and operators played by stand-ins) to rehearse
    /// preflight, deploy, status and destroy without a cluster.
    Sandbox(datalyptica_cluster::SandboxArgs),
    /// Lint any tree of Kubernetes/OpenShift YAML for HA and security.
    Lint(datalyptica_lint::LintArgs),
    /// Run a local lab of real etcd, PostgreSQL/Patroni and Redis Sentinel processes.
    Lab {
        #[command(flatten)]
        args: datalyptica_lab::LabArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Kill a primary under write load and measure RTO and lost acknowledged writes.
    Drill {
        #[command(flatten)]
        args: datalyptica_lab::DrillArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
}

#[derive(clap::Args, Clone)]
struct SpecArg {
    /// Platform spec; without it the embedded HA default is used.
    #[arg(
        short = 'f',
        long = "file",
        value_name = "datalyptica.yaml",
        global = true
    )]
    file: Option<PathBuf>,
}

impl SpecArg {
    /// The validated spec, or the errors printed and exit code 2.
    fn load(&self) -> Result<Platform, ExitCode> {
        let Some(path) = &self.file else {
            return Ok(Platform::default_ha());
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", path.display());
                return Err(ExitCode::from(2));
            }
        };
        let name = path.display().to_string();
        datalyptica_platform::load(&name, &text).map_err(|errs| {
            report_spec_errors(&text, &errs);
            ExitCode::from(2)
        })
    }
}

fn report_spec_errors(text: &str, errs: &[datalyptica_platform::SpecError]) {
    let lines: Vec<&str> = text.lines().collect();
    for e in errs {
        eprintln!("error: {e}");
        if let Some(line) = e.pos.line.checked_sub(1).and_then(|i| lines.get(i)) {
            eprintln!("  {:>4} | {line}", e.pos.line);
            eprintln!("       | {}^", " ".repeat(e.pos.column.saturating_sub(1)));
        }
    }
    eprintln!("{} error(s); nothing was written", errs.len());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { out, dev, force } => init(&out, dev, force),
        Command::Render { spec, out, force } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            let tree = datalyptica_platform::render(&p);
            match out::write_tree(&out, &tree, &p, force) {
                Ok(n) => {
                    println!("rendered {n} files into {}", out.display());
                    ExitCode::SUCCESS
                }
                Err(out::WriteError::Refused(msg)) => {
                    eprintln!("error: {msg}");
                    ExitCode::from(2)
                }
                Err(out::WriteError::Io(e)) => {
                    eprintln!("error: {e:#}; {} was left as it was", out.display());
                    ExitCode::from(1)
                }
            }
        }
        Command::Schema => {
            println!(
                "{}",
                serde_json::to_string_pretty(&schema::json_schema()).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Command::Explain { component, spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            match plan::explain(&p, &component) {
                Some(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                None => {
                    let names: Vec<&str> = components::ALL.iter().map(|c| c.id().name()).collect();
                    let hint =
                        datalyptica_platform::validate::suggest(&component, names.iter().copied())
                            .map(|s| format!(" (did you mean `{s}`?)"))
                            .unwrap_or_default();
                    eprintln!(
                        "error: unknown component `{component}`{hint}; expected one of: {}",
                        names.join(", ")
                    );
                    ExitCode::from(2)
                }
            }
        }
        Command::Plan { spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            match plan::plan(&p) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Preflight { args, spec } => {
            with_spec(&spec, |p| datalyptica_cluster::run_preflight(&args, p))
        }
        Command::Deploy { args, spec } => {
            with_spec(&spec, |p| datalyptica_cluster::run_deploy(&args, p))
        }
        Command::Status { args, spec } => {
            with_spec(&spec, |p| datalyptica_cluster::run_status(&args, p))
        }
        Command::Troubleshoot { args, spec } => {
            with_spec(&spec, |p| datalyptica_cluster::run_troubleshoot(&args, p))
        }
        Command::Destroy { args, spec } => {
            with_spec(&spec, |p| datalyptica_cluster::run_destroy(&args, p))
        }
        Command::Sandbox(args) => datalyptica_cluster::run_sandbox(&args),
        Command::Lint(args) => datalyptica_lint::run_lint(args),
        Command::Lab { args, spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            report(datalyptica_lab::run_lab(
                args,
                lab_settings::from_platform(&p),
            ))
        }
        Command::Drill { args, spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            report(datalyptica_lab::run_drill(
                args,
                lab_settings::from_platform(&p),
            ))
        }
    }
}

fn with_spec(spec: &SpecArg, f: impl FnOnce(&Platform) -> ExitCode) -> ExitCode {
    match spec.load() {
        Ok(p) => f(&p),
        Err(code) => code,
    }
}

fn report(r: anyhow::Result<ExitCode>) -> ExitCode {
    r.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn init(out: &Path, dev: bool, force: bool) -> ExitCode {
    if out.exists() && !force {
        eprintln!(
            "error: {} exists; use --force to overwrite it",
            out.display()
        );
        return ExitCode::from(2);
    }
    let mut p = Platform::default_ha();
    if dev {
        p.spec.profile = Profile::Dev;
    }
    let text = schema::commented_default(&p);
    match out::write_file_atomically(out, &text) {
        Ok(()) => {
            println!("wrote {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: cannot write {}: {e}", out.display());
            ExitCode::from(1)
        }
    }
}
