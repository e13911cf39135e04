//! The edge: argument parsing, reading files/dirs/stdin, writing the report, exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, ValueEnum};

use crate::config::{CONFIG_FILE, Config};
use crate::{Severity, Source, lint_sources, output, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    Error,
    Warning,
    Info,
    /// Always exit 0 unless the input is unusable.
    Never,
}

impl FailOn {
    pub fn threshold(self) -> Option<Severity> {
        match self {
            FailOn::Error => Some(Severity::Error),
            FailOn::Warning => Some(Severity::Warning),
            FailOn::Info => Some(Severity::Info),
            FailOn::Never => None,
        }
    }
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
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Lowest severity that makes the run fail (exit 1).
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
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
}

fn is_manifest(p: &Path) -> bool {
    matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
        && p.file_name().and_then(|n| n.to_str()) != Some(CONFIG_FILE)
}

/// What a directory entry is when it is neither a directory, a regular file nor a symlink.
fn special_kind(t: &std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        Some("a FIFO")
    } else if t.is_socket() {
        Some("a socket")
    } else if t.is_char_device() {
        Some("a character device")
    } else if t.is_block_device() {
        Some("a block device")
    } else {
        None
    }
}

/// Read every input; any unreadable path is unusable input. No input is read past the size
/// limit ([`datalyptica_yaml::Limits::max_bytes`]): a longer one (even one that never ends,
/// such as `/dev/zero` named on the command line) is cut there and reported by the parser.
/// Special files met under a directory (FIFOs, sockets, devices) are skipped with a note.
pub fn collect_sources(paths: &[PathBuf], notes: &mut Vec<String>) -> Result<Vec<Source>, String> {
    let max = datalyptica_yaml::Limits::default().max_bytes;
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| format!("reading stdin: {e}"))?;
            out.push(Source::new("-", String::from_utf8_lossy(&buf).into_owned()));
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let walker = walkdir::WalkDir::new(p)
                .sort_by_file_name()
                .into_iter()
                // Skip .git and other hidden directories below the given root.
                .filter_entry(|e| {
                    e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                });
            for e in walker {
                let e = e.map_err(|e| format!("{}: {e}", p.display()))?;
                if e.file_type().is_file() && is_manifest(e.path()) {
                    out.push(read(e.path())?);
                } else if let Some(what) = special_kind(&e.file_type()) {
                    notes.push(format!(
                        "skipped {}: {what}, not a regular file",
                        e.path().display()
                    ));
                }
            }
        } else {
            out.push(read(p)?);
        }
    }
    Ok(out)
}

fn read(p: &Path) -> Result<Source, String> {
    // Invalid UTF-8 is a finding of the file (the parser reports it), not a reason to stop.
    let text = datalyptica_yaml::read_bounded(p, datalyptica_yaml::Limits::default().max_bytes)
        .map_err(|e| e.to_string())?;
    Ok(Source::new(p, text))
}

/// The configuration: `--config`, else `./.datalyptica-lint.yaml`, else the one at the root of
/// a single directory being linted (a rendered tree carries the policy it was rendered for).
pub fn load_config(explicit: Option<&Path>, paths: &[PathBuf]) -> Result<Config, String> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => {
            let here = PathBuf::from(CONFIG_FILE);
            let in_tree = match paths {
                [one] if one.is_dir() => Some(one.join(CONFIG_FILE)),
                _ => None,
            };
            match [Some(here), in_tree]
                .into_iter()
                .flatten()
                .find(|p| p.is_file())
            {
                Some(p) => p,
                None => return Ok(Config::default()),
            }
        }
    };
    let text = datalyptica_yaml::read_bounded(&path, datalyptica_yaml::Limits::default().max_bytes)
        .map_err(|e| e.to_string())?;
    Config::from_yaml(&text).map_err(|e| format!("{}:{e}", path.display()))
}

/// Run `datalyptica lint`, printing to stdout/stderr. Exit 0 clean, 1 findings at or above
/// `--fail-on`, 2 unusable input.
pub fn run_lint(args: LintArgs) -> ExitCode {
    let color =
        !args.no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal();
    let mut out = std::io::stdout().lock();
    let mut err = std::io::stderr().lock();
    ExitCode::from(execute(&args, color, &mut out, &mut err))
}

/// [`run_lint`] with explicit output streams; returns the exit status.
pub fn execute(args: &LintArgs, color: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    let mut usage = |msg: String| {
        let _ = writeln!(err, "datalyptica lint: {msg}");
        2
    };
    if args.list_rules {
        return emit(out, &output::list_rules(), 0);
    }
    if let Some(id) = &args.explain {
        return match rules::rule(id) {
            Some(r) => emit(out, &output::explain(r), 0),
            None => usage(format!("unknown rule id `{id}` (see --list-rules)")),
        };
    }
    let config = match load_config(args.config.as_deref(), &args.paths) {
        Ok(c) => c,
        Err(e) => return usage(format!("invalid config: {e}")),
    };
    if args.paths.is_empty() {
        return usage("no PATH given".into());
    }
    let mut notes = Vec::new();
    let sources = match collect_sources(&args.paths, &mut notes) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    for n in &notes {
        let _ = writeln!(err, "datalyptica lint: note: {n}");
    }
    let report = lint_sources(&sources, &config);
    let threshold = args.fail_on.threshold();
    let code = if report.fails(threshold) { 1 } else { 0 };
    let mut w = std::io::BufWriter::new(out);
    // A closed pipe (e.g. `| head`) does not change the lint result.
    let _ = match args.format {
        Format::Human => w.write_all(output::human(&report, &sources, color).as_bytes()),
        Format::Json => output::write_json(&report, &mut w),
        Format::Sarif => output::write_sarif(&report, &mut w),
        Format::Junit => {
            let files: Vec<&Path> = sources.iter().map(|s| s.path.as_path()).collect();
            w.write_all(output::junit(&report, &files, threshold).as_bytes())
        }
    }
    .and_then(|()| w.flush());
    code
}

fn emit(out: &mut dyn Write, text: &str, code: u8) -> u8 {
    // A closed pipe (e.g. `| head`) does not change the lint result.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    code
}
