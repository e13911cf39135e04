//! Writing to disk without ever leaving a half-written tree: everything goes to a temporary
//! sibling first and is renamed into place at the end (rename is atomic within a filesystem).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use datalyptica_platform::{Platform, Tree};
use sha2::{Digest, Sha256};

/// Marks a directory as ours: only such directories are replaced without `--force`.
pub const MARKER: &str = ".datalyptica-tree";

pub enum WriteError {
    Refused(String),
    Io(anyhow::Error),
}

impl From<anyhow::Error> for WriteError {
    fn from(e: anyhow::Error) -> Self {
        WriteError::Io(e)
    }
}

fn sibling(target: &Path, tag: &str) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    parent.join(format!(".datalyptica-{tag}-{}-{name}", std::process::id()))
}

/// Test hook: fail after writing N files, to prove an interrupted render leaves nothing behind.
fn injected_failure(written: usize) -> anyhow::Result<()> {
    match std::env::var("DATALYPTICA_TEST_FAIL_AFTER_FILES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    {
        Some(n) if written >= n => anyhow::bail!(
            "injected failure after {written} files (DATALYPTICA_TEST_FAIL_AFTER_FILES)"
        ),
        _ => Ok(()),
    }
}

pub fn write_tree(
    target: &Path,
    tree: &Tree,
    spec: &Platform,
    force: bool,
) -> Result<usize, WriteError> {
    if target.exists() {
        if !target.is_dir() {
            return Err(WriteError::Refused(format!(
                "{} exists and is not a directory",
                target.display()
            )));
        }
        if !target.join(MARKER).exists() && !force {
            return Err(WriteError::Refused(format!(
                "{} exists and was not created by datalyptica (no {MARKER}); use --force to replace it",
                target.display()
            )));
        }
    }
    let tmp = sibling(target, "render");
    let result = (|| -> anyhow::Result<usize> {
        let files = tree.to_bytes();
        fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        for (i, (rel, text)) in files.iter().enumerate() {
            injected_failure(i)?;
            let path = tmp.join(rel);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
        }
        let spec_json = serde_json::to_vec(spec).context("hashing the spec")?;
        let digest = Sha256::digest(&spec_json);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        fs::write(
            tmp.join(MARKER),
            format!(
                "generator: datalyptica {}\nspec-sha256: {hex}\n",
                env!("CARGO_PKG_VERSION")
            ),
        )
        .context("writing the marker")?;
        if target.exists() {
            let old = sibling(target, "old");
            fs::rename(target, &old)
                .with_context(|| format!("moving {} aside", target.display()))?;
            if let Err(e) = fs::rename(&tmp, target) {
                // Put the previous tree back: the user keeps what they had.
                let _ = fs::rename(&old, target);
                return Err(e)
                    .with_context(|| format!("moving the new tree to {}", target.display()));
            }
            fs::remove_dir_all(&old).with_context(|| format!("removing {}", old.display()))?;
        } else {
            fs::rename(&tmp, target)
                .with_context(|| format!("moving the new tree to {}", target.display()))?;
        }
        Ok(files.len())
    })();
    if result.is_err() {
        let _ = fs::remove_dir_all(&tmp);
    }
    Ok(result?)
}

pub fn write_file_atomically(target: &Path, text: &str) -> std::io::Result<()> {
    let tmp = sibling(target, "write");
    let r = (|| {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, target)
    })();
    if r.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    r
}
