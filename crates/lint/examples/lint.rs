//! Stand-alone `datalyptica lint` for trying the linter and measuring it before the main
//! binary mounts it: `cargo run --release -p datalyptica-lint --example lint -- PATH…`.

use clap::Parser;

// As the main binary: what the benchmark measures is what users run.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use datalyptica_lint::{LintArgs, run_lint};

#[derive(Parser)]
#[command(name = "datalyptica-lint")]
struct Cli {
    #[command(flatten)]
    args: LintArgs,
}

fn main() -> std::process::ExitCode {
    run_lint(Cli::parse().args)
}
