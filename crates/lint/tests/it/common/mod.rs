//! Shared by the lint test binaries: the arguments of `datalyptica lint --format json PATH…`.

use std::path::PathBuf;

use datalyptica_lint::{FailOn, Format, LintOptions};

pub fn args(paths: Vec<PathBuf>) -> LintOptions {
    LintOptions {
        paths,
        format: Format::Json,
        fail_on: FailOn::Error,
        config: None,
        explain: None,
        list_rules: false,
        kustomize: false,
    }
}
