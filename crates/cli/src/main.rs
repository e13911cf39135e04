//! `datalyptica`: the imperative shell around the pure platform core.
//! Exit codes: 0 success, 1 a check failed or an operation failed, 2 unusable input, 3 the
//! cluster lock is held by another run.

mod availability;
mod cluster;
mod lab;
mod lab_settings;
mod lint;
mod out;
mod plan;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

// `lint` builds and drops millions of small values across threads: mimalloc makes it about a
// sixth faster than the system allocator (crates/lint/benches/vs_checkov.sh).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
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
        #[command(flatten)]
        gitops: GitopsArgs,
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
        args: cluster::PreflightArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Deploy phase by phase with health gates (server-side apply; resumable, idempotent).
    Deploy {
        #[command(flatten)]
        args: cluster::DeployArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// One table of every component: desired vs ready, roles, state.
    Status {
        #[command(flatten)]
        args: cluster::StatusArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Write a support bundle (objects, events, logs; secrets redacted) with an analysis.
    Troubleshoot {
        #[command(flatten)]
        args: cluster::TroubleshootArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Remove the platform in reverse dependency order (data kept unless --delete-data).
    Destroy {
        #[command(flatten)]
        args: cluster::DestroyArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// A real Kubernetes control plane on this machine (etcd, kube-apiserver, controller
    /// manager, scheduler, kwok workers; OLM and operators played by stand-ins) to rehearse
    /// preflight, deploy, status and destroy without a cluster.
    Sandbox(cluster::SandboxArgs),
    /// Lint any tree of Kubernetes/OpenShift YAML for HA and security.
    Lint(lint::LintArgs),
    /// Run a local lab of real etcd, PostgreSQL/Patroni and Redis Sentinel processes.
    Lab {
        #[command(flatten)]
        args: lab::LabArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Kill a primary under write load and measure RTO and lost acknowledged writes.
    Drill {
        #[command(flatten)]
        args: lab::DrillArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
    /// Per-component and end-to-end availability from the topology, failure rates and
    /// failover times (the spec's or measured by drills); exit 1 when a target is out of reach.
    Availability {
        #[command(flatten)]
        args: availability::AvailabilityArgs,
        #[command(flatten)]
        spec: SpecArg,
    },
}

/// `render --gitops`: the tree plus what a GitOps engine needs to sync it.
#[derive(clap::Args, Clone)]
struct GitopsArgs {
    /// Also write an Argo CD app-of-apps or Flux Kustomizations (into gitops/) and a
    /// kustomization.yaml in every synced directory. Needs spec.secrets.mode sealed-secrets or
    /// external-secrets.
    #[arg(long, value_name = "argocd|flux")]
    gitops: Option<GitopsEngine>,
    /// Git repository the tree is committed to (with --gitops).
    #[arg(long, value_name = "URL", requires = "gitops")]
    repo: Option<String>,
    /// Branch, tag or commit to sync (with --gitops).
    #[arg(long, value_name = "REV", default_value = "main", requires = "gitops")]
    revision: String,
    /// Directory of the tree inside the repository (with --gitops; default: the --out name).
    #[arg(long, value_name = "PATH", requires = "gitops")]
    path: Option<String>,
}

#[derive(clap::ValueEnum, Clone, Copy)]
enum GitopsEngine {
    Argocd,
    Flux,
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
        self.load_with_source().map(|(p, _)| p)
    }

    /// The validated spec and, when it came from a file, the file's name and text.
    fn load_with_source(&self) -> Result<(Platform, Option<(String, String)>), ExitCode> {
        let Some(path) = &self.file else {
            return Ok((Platform::default_ha(), None));
        };
        // Never more than the size limit (+1 byte, so that a longer file is refused as such).
        let text = match datalyptica_yaml::read_bounded(
            path,
            datalyptica_yaml::Limits::default().max_bytes,
        ) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("error: cannot read {e}");
                return Err(ExitCode::from(2));
            }
        };
        let name = path.display().to_string();
        match datalyptica_platform::load(&name, &text) {
            Ok(p) => Ok((p, Some((name, text)))),
            Err(errs) => {
                report_spec_errors(&text, &errs);
                Err(ExitCode::from(2))
            }
        }
    }
}

/// Availability targets the topology cannot reach, as warnings at their place in the spec
/// (`render` still renders: the spec is valid, its promise is not).
fn warn_unreachable_targets(p: &Platform, source: Option<&(String, String)>) {
    let issues = datalyptica_platform::availability::target_issues(p);
    let doc = source.and_then(|(_, text)| {
        datalyptica_yaml::parse(text)
            .ok()
            .and_then(|d| d.into_iter().find(|d| !d.value.is_null()))
    });
    for i in issues {
        let path = datalyptica_platform::load::dotted(&i.pointer);
        match (source, &doc) {
            (Some((name, _)), Some(d)) => {
                let pos = d.locate(&i.pointer);
                eprintln!(
                    "warning: {name}:{}:{}: {path}: {}",
                    pos.line, pos.column, i.message
                );
            }
            _ => eprintln!("warning: {path}: {}", i.message),
        }
    }
}

fn report_spec_errors(text: &str, errs: &[datalyptica_platform::SpecError]) {
    let lines: Vec<&str> = text.lines().collect();
    for e in errs {
        eprintln!("error: {e}");
        // At most 160 characters of the line, and a caret only under them (a hostile file may
        // be one line of 64 MiB).
        if let Some(line) = e.pos.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let shown: String = line.chars().take(160).collect();
            eprintln!("  {:>4} | {shown}", e.pos.line);
            if e.pos.column <= 161 {
                eprintln!("       | {}^", " ".repeat(e.pos.column.saturating_sub(1)));
            }
        }
    }
    eprintln!("{} error(s); nothing was written", errs.len());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Init { out, dev, force } => init(&out, dev, force),
        Command::Render {
            spec,
            out,
            force,
            gitops,
        } => {
            let (p, source) = match spec.load_with_source() {
                Ok(x) => x,
                Err(code) => return code,
            };
            warn_unreachable_targets(&p, source.as_ref());
            let tree = match render_tree(&p, &out, &gitops) {
                Ok(t) => t,
                Err(msg) => {
                    eprintln!("error: {msg}; nothing was written");
                    return ExitCode::from(2);
                }
            };
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
        Command::Preflight { args, spec } => with_spec(&spec, |p| cluster::run_preflight(&args, p)),
        Command::Deploy { args, spec } => with_spec(&spec, |p| cluster::run_deploy(&args, p)),
        Command::Status { args, spec } => with_spec(&spec, |p| cluster::run_status(&args, p)),
        Command::Troubleshoot { args, spec } => {
            with_spec(&spec, |p| cluster::run_troubleshoot(&args, p))
        }
        Command::Destroy { args, spec } => with_spec(&spec, |p| cluster::run_destroy(&args, p)),
        Command::Sandbox(args) => cluster::run_sandbox(&args),
        Command::Lint(args) => lint::run_lint(args),
        Command::Lab { args, spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            report(lab::run_lab(args, lab_settings::from_platform(&p)))
        }
        Command::Availability { args, spec } => with_spec(&spec, |p| availability::run(&args, p)),
        Command::Drill { args, spec } => {
            let p = match spec.load() {
                Ok(p) => p,
                Err(code) => return code,
            };
            report(lab::run_drill(args, lab_settings::from_platform(&p)))
        }
    }
}

fn render_tree(
    p: &Platform,
    out: &Path,
    args: &GitopsArgs,
) -> Result<datalyptica_platform::Tree, String> {
    use datalyptica_platform::gitops;
    let Some(engine) = args.gitops else {
        return Ok(datalyptica_platform::render(p));
    };
    let Some(repo) = args.repo.clone() else {
        return Err(
            "--gitops needs --repo URL (the Git repository the tree is committed to)".into(),
        );
    };
    let path = args.path.clone().unwrap_or_else(|| {
        out.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| ".".into())
    });
    let opts = gitops::Options {
        engine: match engine {
            GitopsEngine::Argocd => gitops::Engine::ArgoCd,
            GitopsEngine::Flux => gitops::Engine::Flux,
        },
        repo,
        revision: args.revision.clone(),
        path,
    };
    gitops::render(p, &opts).map_err(|e| e.to_string())
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
