//! The lint engine's integration tests, one binary
//! (`cargo test -p datalyptica-lint --test it <module>::`).

mod common;

mod engine;
mod fixtures;
mod hostile;
mod realworld;
