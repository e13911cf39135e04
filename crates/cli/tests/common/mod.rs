//! What every test of the binary needs: run it as a user would, read its output as text.
// Not every test binary uses every helper.
#![allow(dead_code)]

use std::path::Path;
use std::process::{Command, Output};

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
