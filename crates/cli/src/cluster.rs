//! The cluster subcommands (preflight, deploy, status, troubleshoot, destroy, sandbox): clap
//! argument structs and sync entry points that build a tokio runtime over the cluster engine
//! (`datalyptica-cluster`), which knows nothing of the command line. Exit codes: 0 ok, 1 a check or gate failed, 2 unusable input
//! (invalid spec, unreadable file, no kubeconfig).

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use datalyptica_platform::model::Model;
use datalyptica_platform::units::parse_duration;
use datalyptica_platform::{Platform, render};

use datalyptica_cluster::api::KubeApi;
use datalyptica_cluster::deep;
use datalyptica_cluster::deploy::{self, DeployOptions, Event};
use datalyptica_cluster::destroy::{self, DestroyEvent, DestroyOptions};
use datalyptica_cluster::plan::{self, Plan, Selection};
use datalyptica_cluster::preflight::{self, Outcome};
use datalyptica_cluster::{snapshot, status, troubleshoot};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PreflightArgs {
    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
    /// Analyze a recorded snapshot (from --save-snapshot) instead of the live cluster.
    #[arg(long, value_name = "FILE")]
    pub snapshot: Option<PathBuf>,
    /// Save the cluster snapshot the checks ran on (no secret is in it).
    #[arg(long, value_name = "FILE")]
    pub save_snapshot: Option<PathBuf>,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct DeployArgs {
    /// Deploy only this phase (1..=6); prerequisites and its operators are applied too.
    #[arg(long)]
    pub phase: Option<u8>,
    /// Deploy only this component (e.g. `kafka`).
    #[arg(long, conflicts_with = "phase")]
    pub component: Option<String>,
    /// Server-side dry run: print the diff against the live objects, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Timeout of every gate (e.g. `10m`), instead of each gate's own.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Take ownership of fields another field manager owns.
    #[arg(long)]
    pub force_conflicts: bool,
    /// Approve our operators' pending OLM install plans (installPlanApproval Manual).
    #[arg(long)]
    pub approve_install_plans: bool,
    /// When another deploy or destroy holds the cluster lock, wait for it instead of exiting 3.
    #[arg(long)]
    pub wait: bool,
    /// One JSON event per line.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct StatusArgs {
    /// Refresh until interrupted.
    #[arg(long)]
    pub watch: bool,
    /// Seconds between refreshes with --watch.
    #[arg(long, default_value_t = 5)]
    pub interval: u64,
    #[arg(long)]
    pub json: bool,
    /// Also run the deep checks through pod exec (`patronictl list`, `SENTINEL masters`,
    /// `etcdctl endpoint status`, `mc admin info`) and show roles and a verdict per component.
    #[arg(long)]
    pub deep: bool,
    /// With --deep: exit 1 when a deep check could not run or its output did not parse.
    #[arg(long, requires = "deep")]
    pub strict: bool,
    /// With --deep: time allowed to each exec (e.g. `10s`).
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "10s",
        requires = "deep"
    )]
    pub exec_timeout: String,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct TroubleshootArgs {
    /// Where to write the support bundle.
    #[arg(long, short, default_value = "datalyptica-support.tar.gz")]
    pub output: PathBuf,
    /// Print the analysis as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(clap::Args, Debug, Clone, Default)]
pub struct DestroyArgs {
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Also delete PersistentVolumeClaims and the platform's namespaces (data is lost).
    #[arg(long)]
    pub delete_data: bool,
    #[arg(long)]
    pub json: bool,
    /// When another deploy or destroy holds the cluster lock, wait for it instead of exiting 3.
    #[arg(long)]
    pub wait: bool,
}

/// Exit code of a run that found the cluster lock held by another one.
pub const EXIT_BUSY: u8 = 3;

/// Runs `work` holding the cluster lock (see [`datalyptica_cluster::lock`]), renewed while it runs.
async fn locked<T>(
    api: &KubeApi,
    plan: &Plan,
    command: &str,
    wait: bool,
    work: impl std::future::Future<Output = T>,
) -> Result<T, ExitCode> {
    use datalyptica_cluster::lock::{LEASE_DURATION, Lock, LockError, identity};
    let on_wait = |e: &LockError| eprintln!("waiting: {e}");
    let mut lock = match Lock::acquire(
        api,
        &plan.operators_namespace,
        &identity(command),
        LEASE_DURATION,
        wait.then_some(Duration::from_secs(5)),
        &on_wait,
    )
    .await
    {
        Ok(l) => l,
        Err(e @ LockError::Held { .. }) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_BUSY));
        }
        Err(e) => {
            eprintln!("error: cannot take the cluster lock: {e}");
            return Err(ExitCode::from(1));
        }
    };
    let r = lock.hold(api, work).await;
    if let Err(e) = lock.release(api).await {
        eprintln!("warning: the cluster lock was not released ({e}); it expires by itself");
    }
    r.map_err(|e| {
        eprintln!("error: {e}");
        ExitCode::from(1)
    })
}

fn fail_input(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {msg}");
    ExitCode::from(2)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| fail_input(format!("cannot start the async runtime: {e}")))
}

fn build_plan(p: &Platform, sel: &Selection) -> Result<Plan, ExitCode> {
    let issues = datalyptica_platform::validate::validate(p);
    if !issues.is_empty() {
        for i in &issues {
            eprintln!("error: {}: {}", i.pointer, i.message);
        }
        return Err(ExitCode::from(2));
    }
    let m = Model::new(p);
    plan::build(&m, &render(p))
        .and_then(|pl| pl.select(sel))
        .map_err(fail_input)
}

/// Runs `f` on a fresh runtime with a client of the current kubeconfig; a runtime or
/// kubeconfig that cannot be set up is an input error (exit 2).
fn with_cluster<F, Fut>(f: F) -> ExitCode
where
    F: FnOnce(KubeApi) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    rt.block_on(async {
        match KubeApi::from_env().await {
            Ok(api) => f(api).await,
            Err(e) => fail_input(e),
        }
    })
}

pub fn run_preflight(args: &PreflightArgs, p: &Platform) -> ExitCode {
    let plan = match build_plan(p, &Selection::default()) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let m = Model::new(p);
    let req = preflight::requirements(&m, &render(p), &plan);
    let snap = if let Some(path) = &args.snapshot {
        // A snapshot is JSON (serde_json refuses nesting beyond 128 levels); its size is bounded
        // like every YAML input.
        let max = datalyptica_yaml::Limits::default().max_bytes;
        let text = match datalyptica_yaml::read_bounded(path, max) {
            Ok(t) if t.len() > max => {
                return fail_input(format!(
                    "{}: larger than the limit of {max} bytes; not a snapshot",
                    path.display()
                ));
            }
            Ok(t) => t,
            Err(e) => return fail_input(e.to_string()),
        };
        match serde_json::from_str(&text) {
            Ok(s) => s,
            Err(e) => return fail_input(format!("{}: not a snapshot: {e}", path.display())),
        }
    } else {
        let rt = match runtime() {
            Ok(r) => r,
            Err(c) => return c,
        };
        rt.block_on(async {
            match KubeApi::from_env().await {
                Ok(api) => snapshot::snapshot(&api, &req).await,
                Err(e) => preflight::Snapshot {
                    api_error: Some(e.to_string()),
                    ..Default::default()
                },
            }
        })
    };
    if let Some(path) = &args.save_snapshot {
        let text = serde_json::to_string_pretty(&snap).unwrap_or_default();
        if let Err(e) = std::fs::write(path, text) {
            return fail_input(format!("{}: {e}", path.display()));
        }
    }
    let checks = preflight::analyze(&req, &snap);
    if args.json {
        println!(
            "{}",
            serde_json::json!({"outcome": preflight::overall(&checks), "checks": checks})
        );
    } else {
        print!("{}", preflight::table(&checks));
    }
    if preflight::overall(&checks) == Outcome::Fail {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub fn run_deploy(args: &DeployArgs, p: &Platform) -> ExitCode {
    let sel = Selection {
        phase: args.phase,
        component: args.component.clone(),
    };
    let plan = match build_plan(p, &sel) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let timeout = match args.timeout.as_deref().map(parse_duration).transpose() {
        Ok(t) => t,
        Err(e) => return fail_input(format!("--timeout: {e}")),
    };
    let opts = DeployOptions {
        dry_run: args.dry_run,
        force_conflicts: args.force_conflicts,
        timeout,
        poll: Duration::from_secs(5),
        approve_install_plans: args.approve_install_plans,
    };
    let json = args.json;
    with_cluster(|api| async move {
        // Human output: progress bars when stdout is a terminal, plain lines otherwise.
        let progress = (!json).then(datalyptica_cluster::progress::DeployProgress::for_stdout);
        let emit = |e: &Event| match &progress {
            None => println!("{}", serde_json::to_string(e).unwrap_or_default()),
            Some(p) => p.handle(e),
        };
        let run = deploy::deploy(&api, &plan, &opts, &emit);
        // A dry run writes nothing, so it neither needs nor blocks on the lock.
        let report = if opts.dry_run {
            run.await
        } else {
            match locked(&api, &plan, "deploy", args.wait, run).await {
                Ok(r) => r,
                Err(c) => return c,
            }
        };
        if report.result.is_ok() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        }
    })
}

pub fn run_status(args: &StatusArgs, p: &Platform) -> ExitCode {
    let plan = match build_plan(p, &Selection::default()) {
        Ok(x) => x,
        Err(c) => return c,
    };
    let exec_timeout = match args.exec_timeout.as_str() {
        "" => Ok(Duration::from_secs(10)),
        t => parse_duration(t),
    };
    let exec_timeout = match exec_timeout {
        Ok(t) => t,
        Err(e) => return fail_input(format!("--exec-timeout: {e}")),
    };
    let checks = if args.deep {
        deep::checks(&Model::new(p))
    } else {
        Vec::new()
    };
    with_cluster(|api| async move {
        loop {
            let mut rows = match status::status(&api, &plan).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(1);
                }
            };
            if args.deep {
                status::deep_status(&api, &api, &checks, &mut rows, exec_timeout).await;
            }
            // If reachable: firing alerts and the Kafka controller; never fails the status.
            let m = datalyptica_cluster::alerts::gather(&api, &plan).await;
            status::attach_monitoring(&mut rows, &m);
            if args.json {
                println!("{}", serde_json::to_string(&rows).unwrap_or_default());
            } else {
                if args.watch {
                    // Clear the screen between refreshes, like `watch`.
                    print!("\x1b[2J\x1b[H");
                }
                print!("{}", status::status_table(&rows));
            }
            if !args.watch {
                return if status::status_ok(&rows, args.strict) {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                };
            }
            tokio::time::sleep(Duration::from_secs(args.interval.max(1))).await;
        }
    })
}

pub fn run_troubleshoot(args: &TroubleshootArgs, p: &Platform) -> ExitCode {
    let plan = match build_plan(p, &Selection::default()) {
        Ok(x) => x,
        Err(c) => return c,
    };
    with_cluster(|api| async move {
        let bundle = match troubleshoot::collect_bundle(&api, &plan).await {
            Ok(b) => b,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(1);
            }
        };
        let file = match std::fs::File::create(&args.output) {
            Ok(f) => f,
            Err(e) => return fail_input(format!("{}: {e}", args.output.display())),
        };
        if let Err(e) = troubleshoot::write_tar_gz(&bundle, file) {
            return fail_input(format!("{}: {e}", args.output.display()));
        }
        if args.json {
            println!(
                "{}",
                serde_json::json!({"bundle": args.output, "files": bundle.files.len(), "findings": bundle.findings})
            );
        } else {
            print!("{}", bundle.summary);
            println!(
                "\nbundle: {} ({} files)",
                args.output.display(),
                bundle.files.len()
            );
        }
        ExitCode::SUCCESS
    })
}

pub fn run_destroy(args: &DestroyArgs, p: &Platform) -> ExitCode {
    let plan = match build_plan(p, &Selection::default()) {
        Ok(x) => x,
        Err(c) => return c,
    };
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return fail_input("destroy needs --yes when not run interactively");
        }
        eprintln!(
            "This deletes platform `{}` ({} components{}). Type the platform name to confirm:",
            plan.platform,
            plan.components().count(),
            if args.delete_data {
                ", ALL ITS DATA and namespaces"
            } else {
                "; PersistentVolumeClaims are kept"
            }
        );
        let mut line = String::new();
        if std::io::stdin().read_line(&mut line).is_err() || line.trim() != plan.platform {
            return fail_input("not confirmed");
        }
    }
    let json = args.json;
    with_cluster(|api| async move {
        let emit = |e: &DestroyEvent| {
            if json {
                println!("{}", serde_json::to_string(e).unwrap_or_default());
            } else {
                match e {
                    DestroyEvent::Deleted { object, .. } => println!("deleted  {object}"),
                    DestroyEvent::Absent { .. } => {}
                    DestroyEvent::Kept { object, reason } => {
                        println!("kept     {object} ({reason})")
                    }
                    DestroyEvent::Finished { deleted, kept } => {
                        println!("{deleted} deleted, {kept} kept")
                    }
                }
            }
        };
        let run = destroy::destroy(
            &api,
            &plan,
            DestroyOptions {
                delete_data: args.delete_data,
            },
            &emit,
        );
        let result = match locked(&api, &plan, "destroy", args.wait, run).await {
            Ok(r) => r,
            Err(c) => return c,
        };
        match result {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// `datalyptica sandbox …`: a real Kubernetes control plane on this machine.
#[derive(clap::Args, Debug, Clone)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
    /// Where the sandbox keeps certificates, kubeconfig, etcd data and logs.
    #[arg(long, global = true, value_name = "DIR", default_value_os_t = default_sandbox_dir())]
    pub dir: PathBuf,
}

fn default_sandbox_dir() -> PathBuf {
    std::env::temp_dir().join("datalyptica-sandbox")
}

#[derive(clap::Subcommand, Debug, Clone)]
pub enum SandboxCommand {
    /// Start etcd, kube-apiserver, controller manager, scheduler and kwok workers, print the
    /// `export KUBECONFIG=…` line, and run the OLM/operator stand-ins until Ctrl-C or
    /// `sandbox down`.
    Up {
        /// Worker nodes (labelled node-role.kubernetes.io/worker).
        #[arg(long, default_value_t = 10)]
        nodes: u32,
        /// Zones the workers are spread over (topology.kubernetes.io/zone).
        #[arg(long, default_value_t = 3)]
        zones: u32,
        /// Allocatable CPU of each worker.
        #[arg(long, default_value = "16")]
        node_cpu: String,
        /// Allocatable memory of each worker.
        #[arg(long, default_value = "64Gi")]
        node_memory: String,
        /// Clone the nodes of `oc get nodes -o json` (capacity, labels, taints) instead.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["nodes", "zones", "node_cpu", "node_memory"])]
        nodes_from: Option<PathBuf>,
    },
    /// Show the sandbox's processes and whether its API server answers.
    Status,
    /// Stop every process of the sandbox.
    Down,
}

pub fn run_sandbox(args: &SandboxArgs) -> ExitCode {
    use datalyptica_cluster::sandbox;
    let rt = match runtime() {
        Ok(r) => r,
        Err(c) => return c,
    };
    match &args.command {
        SandboxCommand::Status => match rt.block_on(sandbox::status(&args.dir)) {
            Ok((ok, text)) => {
                print!("{text}");
                if ok {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => fail_input(e),
        },
        SandboxCommand::Down => match sandbox::down(&args.dir) {
            Ok(m) => {
                eprintln!("{m}");
                ExitCode::SUCCESS
            }
            Err(e) => fail_input(e),
        },
        SandboxCommand::Up {
            nodes,
            zones,
            node_cpu,
            node_memory,
            nodes_from,
        } => {
            let mut spec = sandbox::Spec::new(&args.dir);
            spec.nodes = *nodes;
            spec.zones = *zones;
            spec.node_cpu = node_cpu.clone();
            spec.node_memory = node_memory.clone();
            if let Some(f) = nodes_from {
                let parsed = std::fs::read_to_string(f)
                    .map_err(|e| format!("{}: {e}", f.display()))
                    .and_then(|t| {
                        serde_json::from_str::<serde_json::Value>(&t).map_err(|e| {
                            format!("{}:{}:{}: not JSON: {e}", f.display(), e.line(), e.column())
                        })
                    });
                match parsed {
                    Ok(v) => spec.nodes_from = Some(v),
                    Err(e) => return fail_input(e),
                }
            }
            if args.dir.join(sandbox::STATE_FILE).exists() {
                return fail_input(format!(
                    "a sandbox is already recorded in {} (`datalyptica sandbox down` first)",
                    args.dir.display()
                ));
            }
            rt.block_on(async {
                eprintln!("sandbox: starting in {} …", args.dir.display());
                let mut sb = match sandbox::Sandbox::start(&spec).await {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!("error: sandbox: {e}");
                        return ExitCode::from(1);
                    }
                };
                eprintln!(
                    "sandbox: API server {} ({} {}), {} Ready workers; OLM and operators are STAND-INS (see `datalyptica sandbox --help`). Ctrl-C or `datalyptica sandbox down` stops it.",
                    sb.server,
                    sandbox::K8S_VERSION,
                    sandbox::OPENSHIFT_VERSION,
                    spec.nodes_from.as_ref().map_or(spec.nodes as usize, |l| l["items"].as_array().map_or(0, Vec::len)),
                );
                println!("{}", sb.export_line());
                use std::io::Write as _;
                let _ = std::io::stdout().flush();
                let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("error: sandbox: {e}");
                        return ExitCode::from(1);
                    }
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                eprintln!("sandbox: stopping");
                sb.stop();
                ExitCode::SUCCESS
            })
        }
    }
}

/// The entry points exercised without a cluster: argument parsing and preflight on recorded
/// snapshots (exit codes 0 / 1 / 2).
#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Deploy {
        #[command(flatten)]
        args: DeployArgs,
    }

    #[test]
    fn deploy_flags_parse() {
        let d = Deploy::try_parse_from([
            "deploy",
            "--phase",
            "3",
            "--dry-run",
            "--timeout",
            "10m",
            "--json",
        ])
        .expect("parse");
        assert_eq!(d.args.phase, Some(3));
        assert!(d.args.dry_run && d.args.json && !d.args.force_conflicts);
        assert_eq!(d.args.timeout.as_deref(), Some("10m"));
        assert!(
            Deploy::try_parse_from(["deploy", "--phase", "1", "--component", "kafka"]).is_err(),
            "phase and component conflict"
        );
    }

    fn tmp(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "datalyptica-cli-test-{}-{name}",
            std::process::id()
        ));
        std::fs::write(&p, text).expect("write");
        p
    }

    #[test]
    fn preflight_exit_codes_on_recorded_snapshots() {
        let p = Platform::default_ha();
        let ok = std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../cluster/tests/fixtures/snapshot-openshift-ok.json"
        ));
        let args = PreflightArgs {
            json: true,
            snapshot: Some(ok),
            save_snapshot: None,
        };
        assert_eq!(run_preflight(&args, &p), ExitCode::SUCCESS);

        let down = tmp("down.json", r#"{"apiError": "connection refused"}"#);
        let args = PreflightArgs {
            json: false,
            snapshot: Some(down.clone()),
            save_snapshot: None,
        };
        assert_eq!(run_preflight(&args, &p), ExitCode::from(1));

        let bad = tmp("bad.json", "not json");
        let args = PreflightArgs {
            json: false,
            snapshot: Some(bad.clone()),
            save_snapshot: None,
        };
        assert_eq!(run_preflight(&args, &p), ExitCode::from(2));

        let mut invalid = Platform::default_ha();
        invalid.api_version = "nope/v0".into();
        let args = PreflightArgs {
            json: false,
            snapshot: Some(down.clone()),
            save_snapshot: None,
        };
        assert_eq!(
            run_preflight(&args, &invalid),
            ExitCode::from(2),
            "invalid spec is unusable input"
        );
        for f in [down, bad] {
            let _ = std::fs::remove_file(f);
        }
    }

    #[test]
    fn destroy_refuses_without_confirmation_when_not_interactive() {
        use std::io::IsTerminal;
        if std::io::stdin().is_terminal() {
            // Interactive runs would prompt; CI and `cargo test` under a harness have no TTY.
            return;
        }
        let args = DestroyArgs {
            yes: false,
            delete_data: false,
            json: false,
            wait: false,
        };
        assert_eq!(
            run_destroy(&args, &Platform::default_ha()),
            ExitCode::from(2)
        );
    }
}
