//! `datalyptica lint`: its arguments and exit code over the lint library
//! (`datalyptica_lint::execute`), which knows nothing of the command line.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use datalyptica_lint::{FailOn, Format, LintOptions};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    Human,
    Json,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOnArg {
    Error,
    Warning,
    Info,
    /// Always exit 0 unless the input is unusable.
    Never,
}

/// Lint Kubernetes/OpenShift manifests for HA, security and storage problems.
///
/// Exit status: 0 clean, 1 findings at or above --fail-on, 2 unusable input.
#[derive(Debug, Clone, Args)]
pub struct LintArgs {
    /// Files or directories (searched recursively for *.yaml / *.yml); `-` reads stdin.
    #[arg(value_name = "PATH", required_unless_present_any = ["explain", "list_rules"])]
    pub paths: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FormatArg::Human)]
    pub format: FormatArg,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOnArg::Error)]
    pub fail_on: FailOnArg,
    /// Config file (default: ./.datalyptica-lint.yaml, else one at the root of a single directory PATH).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Print a rule's rationale and an example, then exit.
    #[arg(long, value_name = "ID")]
    pub explain: Option<String>,
    /// List all rules, then exit.
    #[arg(long)]
    pub list_rules: bool,
    /// Never colour the human output (it is coloured only on a terminal anyway).
    #[arg(long)]
    pub no_color: bool,
    /// Build each kustomization root with `kustomize build` and lint its output instead of
    /// the files it is made of (kustomize from $DATALYPTICA_KUSTOMIZE, else PATH).
    #[arg(long)]
    pub kustomize: bool,
}

impl From<LintArgs> for LintOptions {
    fn from(a: LintArgs) -> Self {
        LintOptions {
            paths: a.paths,
            format: match a.format {
                FormatArg::Human => Format::Human,
                FormatArg::Json => Format::Json,
                FormatArg::Sarif => Format::Sarif,
                FormatArg::Junit => Format::Junit,
            },
            fail_on: match a.fail_on {
                FailOnArg::Error => FailOn::Error,
                FailOnArg::Warning => FailOn::Warning,
                FailOnArg::Info => FailOn::Info,
                FailOnArg::Never => FailOn::Never,
            },
            config: a.config,
            explain: a.explain,
            list_rules: a.list_rules,
            kustomize: a.kustomize,
        }
    }
}

/// Runs `datalyptica lint`, printing to stdout/stderr. Exit 0 clean, 1 findings at or above
/// `--fail-on`, 2 unusable input.
pub fn run_lint(args: LintArgs) -> ExitCode {
    let color =
        !args.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    ExitCode::from(datalyptica_lint::execute(
        &LintOptions::from(args),
        color,
        &mut out,
        &mut err,
    ))
}
