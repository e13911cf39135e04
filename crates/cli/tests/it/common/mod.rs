//! What every test of the binary needs: run it as a user would, read its output as text.
// Not every test binary uses every helper.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

use datalyptica_cluster::sandbox::{Sandbox, Spec};

// The cluster crate's sandbox test helpers, one file for both crates.
#[path = "../../../../cluster/tests/it/common/support.rs"]
mod support;
#[allow(unused_imports)] // as dead_code above: not every test binary uses every helper
pub use support::provide_user_secrets;

pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_datalyptica"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run datalyptica")
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// One sandbox at a time in this test binary (a control plane takes most of 2 cores).
static SANDBOX: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A started sandbox holding the binary's sandbox turn until it is dropped (the sandbox stops
/// first: fields drop in order).
pub struct Held {
    sb: Sandbox,
    _turn: std::sync::MutexGuard<'static, ()>,
}

impl std::ops::Deref for Held {
    type Target = Sandbox;
    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

/// A started sandbox (a real control plane; see `datalyptica sandbox`), shaped by `shape`, or
/// None after a loud SKIPPED banner when its binaries or the shared CRDs are absent. Panics
/// instead when CI=true. Its directory (logs) stays until the next run of the same test.
pub fn sandbox_or_skip(
    rt: &tokio::runtime::Runtime,
    name: &str,
    shape: impl FnOnce(&mut Spec),
) -> Option<Held> {
    if support::skip_without_sandbox(name) {
        return None;
    }
    // A test that panicked while holding the turn has stopped its sandbox already.
    let turn = SANDBOX.lock().unwrap_or_else(|e| e.into_inner());
    let dir = std::env::temp_dir().join(format!("datalyptica-cli-test-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut spec = Spec::new(&dir);
    shape(&mut spec);
    let sb = rt
        .block_on(Sandbox::start(&spec))
        .unwrap_or_else(|e| panic!("sandbox {name} did not start: {e}"));
    Some(Held { sb, _turn: turn })
}

/// The binary, as a user of the sandbox runs it (its kubeconfig).
pub fn datalyptica(sb: &Sandbox, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_datalyptica"));
    c.args(args).env("KUBECONFIG", &sb.kubeconfig);
    c
}
