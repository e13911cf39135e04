//! Tests of the `datalyptica` binary, one test binary (`cargo test -p datalyptica --test it
//! <module>::`). Tests that start a sandbox hold a binary-wide turn, so one control plane runs
//! at a time.

mod common;

mod availability;
mod cli;
mod hostile;
mod killed;
mod lock;
mod rendered_lints_clean;
