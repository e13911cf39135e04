//! The edge: reading files, directories and stdin, running kustomize, writing the report and
//! the exit status. The binary parses the command line (crates/cli/src/lint.rs).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::config::{CONFIG_FILE, Config};
use crate::{Severity, Source, lint_sources, output, rules};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Human,
    Json,
    Sarif,
    Junit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// What one lint run reads, how it reports and when it fails; the binary fills it from its
/// arguments (`datalyptica lint --help` documents each field).
#[derive(Debug, Clone)]
pub struct LintOptions {
    /// Files or directories (searched recursively for *.yaml / *.yml); `-` reads stdin.
    pub paths: Vec<PathBuf>,
    pub format: Format,
    /// Lowest severity that makes the run fail (exit 1).
    pub fail_on: FailOn,
    /// Config file (default: ./.datalyptica-lint.yaml, else one at the root of a single directory PATH).
    pub config: Option<PathBuf>,
    /// Print a rule's rationale and an example, then exit.
    pub explain: Option<String>,
    /// List all rules, then exit.
    pub list_rules: bool,
    /// Build each kustomization root with `kustomize build` and lint its output instead of
    /// the files it is made of (kustomize from $DATALYPTICA_KUSTOMIZE, else PATH).
    pub kustomize: bool,
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
/// Below a directory, symbolic links are followed when they stay inside it (what a checkout's
/// links do); a link that leaves the directory or leads back into its own ancestors is not
/// followed, and special files (FIFOs, sockets, devices) are not opened: each is reported (DL0005).
pub fn collect_sources(paths: &[PathBuf]) -> Result<Vec<Source>, String> {
    let max = datalyptica_yaml::Limits::default().max_bytes;
    let mut out = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            let mut buf = Vec::new();
            std::io::stdin()
                .take(u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1))
                .read_to_end(&mut buf)
                .map_err(|e| format!("reading stdin: {e}"))?;
            out.push(Source::new("-", text_of(&buf)));
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if meta.is_dir() {
            let root = std::fs::canonicalize(p).map_err(|e| format!("{}: {e}", p.display()))?;
            let outside = std::cell::RefCell::new(Vec::new());
            let linked = std::cell::Cell::new(false);
            let walker = walkdir::WalkDir::new(p)
                .follow_links(true)
                .sort_by_file_name()
                .into_iter()
                .filter_entry(|e| {
                    // Skip .git and other hidden directories below the given root.
                    if e.depth() > 0 && e.file_name().to_string_lossy().starts_with('.') {
                        return false;
                    }
                    if e.path_is_symlink() {
                        match std::fs::canonicalize(e.path()) {
                            Ok(t) if t.starts_with(&root) => linked.set(true),
                            Ok(t) => {
                                if e.file_type().is_dir() || is_manifest(e.path()) {
                                    outside.borrow_mut().push(Source::skipped(
                                        e.path(),
                                        format!(
                                            "symbolic link to {}, outside {}: not followed",
                                            t.display(),
                                            p.display()
                                        ),
                                    ));
                                }
                                return false;
                            }
                            // A dangling link: nothing to read.
                            Err(_) => return false,
                        }
                    }
                    true
                });
            // A file to read (Err: its path, read below), or a note about one not read.
            let mut found: Vec<Result<Source, PathBuf>> = Vec::new();
            for e in walker {
                let e = match e {
                    Ok(e) => e,
                    Err(err) => match (err.path(), err.loop_ancestor()) {
                        (Some(at), Some(anc)) => {
                            out.push(Source::skipped(
                                at,
                                format!(
                                    "symbolic link loop: leads back to {}, not followed",
                                    anc.display()
                                ),
                            ));
                            continue;
                        }
                        (Some(at), None)
                            if at
                                .symlink_metadata()
                                .is_ok_and(|m| m.file_type().is_symlink()) =>
                        {
                            out.push(Source::skipped(
                                at,
                                "symbolic link that leads nowhere (its target does not exist)",
                            ));
                            continue;
                        }
                        _ => return Err(format!("{}: {err}", p.display())),
                    },
                };
                if e.file_type().is_file() && is_manifest(e.path()) {
                    found.push(Err(e.into_path()));
                } else if let Some(what) = special_kind(&e.file_type()) {
                    found.push(Ok(Source::skipped(
                        e.path(),
                        format!("{what}, not a regular file: not opened"),
                    )));
                }
            }
            // The walk is sequential; reading and decoding the files is not (order is kept).
            use rayon::prelude::*;
            let mut found = found
                .into_par_iter()
                .map(|f| match f {
                    Ok(skipped) => Ok(skipped),
                    Err(path) => read(&path),
                })
                .collect::<Result<Vec<Source>, String>>()?;
            if linked.get() {
                found = once_per_file(p, &root, found);
            }
            out.append(&mut found);
            out.append(&mut outside.into_inner());
        } else {
            out.push(read(p)?);
        }
    }
    Ok(out)
}

/// After following links inside the tree, a file may have been read under several paths: lint
/// it once, under its real path (else the first one), and note the others.
fn once_per_file(dir: &Path, root: &Path, found: Vec<Source>) -> Vec<Source> {
    let real = |s: &Source| std::fs::canonicalize(&s.path).unwrap_or_else(|_| s.path.clone());
    let mut first: std::collections::HashMap<PathBuf, PathBuf> = std::collections::HashMap::new();
    for s in &found {
        let canon = real(s);
        let direct = s
            .path
            .strip_prefix(dir)
            .is_ok_and(|rel| root.join(rel) == canon);
        if direct {
            first.insert(canon, s.path.clone());
        } else {
            first.entry(canon).or_insert_with(|| s.path.clone());
        }
    }
    found
        .into_iter()
        .map(|s| match first.get(&real(&s)) {
            Some(keep) if *keep != s.path => Source::skipped(
                &s.path,
                format!(
                    "same file as {} (through a symbolic link): linted there",
                    keep.display()
                ),
            ),
            _ => s,
        })
        .collect()
}

fn read(p: &Path) -> Result<Source, String> {
    let bytes =
        datalyptica_yaml::read_bounded_bytes(p, datalyptica_yaml::Limits::default().max_bytes)
            .map_err(|e| e.to_string())?;
    Ok(Source::new(p, text_of_owned(bytes)))
}

/// [`text_of`], without copying the common case: valid UTF-8 without a byte order mark (the
/// text `text_of` would make of it, whatever its size).
fn text_of_owned(bytes: Vec<u8>) -> String {
    if datalyptica_yaml::plain_utf8(&bytes) {
        match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => text_of(e.as_bytes()),
        }
    } else {
        text_of(&bytes)
    }
}

/// The text of an input's bytes: UTF-8, UTF-16 or UTF-32 (YAML's encodings); invalid bytes
/// become U+FFFD and the parser reports what no longer makes sense, without stopping the rest
/// of the tree. The size limit holds for the bytes, whatever the encoding: an input past it is
/// kept undecoded (at least as long as its bytes), so the parser refuses it whole.
fn text_of(bytes: &[u8]) -> String {
    if bytes.len() > datalyptica_yaml::Limits::default().max_bytes {
        String::from_utf8_lossy(bytes).into_owned()
    } else {
        datalyptica_yaml::decode(bytes).into_owned()
    }
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

/// One lint run over explicit output streams; returns the exit status: 0 clean, 1 findings at
/// or above `fail_on`, 2 unusable input.
pub fn execute(args: &LintOptions, color: bool, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
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
    let mut sources = match collect_sources(&args.paths) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    if args.kustomize
        && let Err(e) = kustomize_build(&mut sources)
    {
        return usage(e);
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

/// The kustomize binary: `$DATALYPTICA_KUSTOMIZE`, else `kustomize` on the PATH.
fn kustomize_bin() -> PathBuf {
    std::env::var_os("DATALYPTICA_KUSTOMIZE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("kustomize"))
}

/// Replace what kustomization roots are made of by their `kustomize build` output: each root
/// becomes one source `<root>/kustomize-build.yaml` (the build's text; line numbers are its
/// lines), every file a root consumes is set aside with a note. A failing build is unusable
/// input, reported with kustomize's own message.
fn kustomize_build(sources: &mut Vec<Source>) -> Result<(), String> {
    let parsed: Vec<Vec<datalyptica_yaml::Document>> = sources
        .iter()
        .map(|s| {
            let name = s.path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // Only kustomization files matter here; parse nothing else twice.
            if s.skip.is_none()
                && (crate::classify::KUSTOMIZATION_FILES.contains(&name)
                    || s.text.contains("kustomize.config.k8s.io"))
            {
                datalyptica_yaml::parse(&s.text).unwrap_or_default()
            } else {
                Vec::new()
            }
        })
        .collect();
    let docs: Vec<&[datalyptica_yaml::Document]> = parsed.iter().map(Vec::as_slice).collect();
    let ks = crate::classify::kustomizations(sources, &docs);
    if ks.is_empty() {
        return Ok(());
    }
    let bin = kustomize_bin();
    let mut built = Vec::new();
    for root in crate::classify::roots(&ks) {
        let dir = sources[root.src]
            .path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        let run = std::process::Command::new(&bin)
            .arg("build")
            .arg(&dir)
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                format!(
                    "--kustomize: cannot run {} ({e}); install kustomize or set DATALYPTICA_KUSTOMIZE",
                    bin.display()
                )
            })?;
        if !run.status.success() {
            return Err(format!(
                "--kustomize: `kustomize build {}` failed: {}",
                dir.display(),
                String::from_utf8_lossy(&run.stderr).trim()
            ));
        }
        built.push(Source::new(
            dir.join("kustomize-build.yaml"),
            String::from_utf8_lossy(&run.stdout).into_owned(),
        ));
    }
    let consumed = crate::classify::consumed(&ks, sources);
    for s in sources.iter_mut() {
        if s.skip.is_none()
            && let Some(root) = consumed.get(&crate::classify::normalize(&s.path))
        {
            s.skip = Some(format!(
                "part of kustomization root {}: linted in its build ({}/kustomize-build.yaml)",
                root.display(),
                root.display()
            ));
            s.text.clear();
        }
    }
    sources.extend(built);
    Ok(())
}

fn emit(out: &mut dyn Write, text: &str, code: u8) -> u8 {
    // A closed pipe (e.g. `| head`) does not change the lint result.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
    code
}
