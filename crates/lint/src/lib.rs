//! `datalyptica lint`: an HA and security policy engine for any tree of Kubernetes/OpenShift YAML.
//!
//! The core is pure: [`lint_sources`] takes in-memory sources and a [`Config`] and returns a
//! [`Report`]; reading files, stdin and writing output live in [`cli`]. Rules are registered in
//! one table ([`rules::RULES`]); each has a stable id, a default severity and an explanation.

pub mod classify;
pub mod cli;
mod config;
mod engine;
mod model;
pub mod output;
pub mod rules;
#[doc(hidden)]
pub mod synth;

use std::fmt;
use std::path::PathBuf;

pub use cli::{FailOn, Format, LintOptions, execute};
pub use config::{CONFIG_FILE, Config, ConfigError};
pub use engine::lint_sources;
pub use rules::{Category, Rule, rule, rules};

/// One input file (or stdin) held in memory.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub text: String,
    /// Set aside by the reader (a symbolic link out of the tree or in a loop, a file that a
    /// kustomize build covers): reported as a DL0005 note with this reason, not linted.
    pub skip: Option<String>,
}

impl Source {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: text.into(),
            skip: None,
        }
    }

    /// A file that is reported as skipped, for `why`.
    pub fn skipped(path: impl Into<PathBuf>, why: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            text: String::new(),
            skip: Some(why.into()),
        }
    }
}

/// Ordered so that `>=` means "at least as severe".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_lowercase().as_str() {
            "info" | "note" => Some(Severity::Info),
            "warning" | "warn" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectRef {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectRef {
    /// `kind/namespace/name`, or `kind/name` for cluster-scoped objects and objects that leave
    /// the namespace to `kubectl`'s context.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            None => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static str,
    pub severity: Severity,
    pub message: String,
    pub object: Option<ObjectRef>,
    pub file: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based.
    pub column: usize,
    /// JSON pointer of the offending field inside the document (empty for input errors).
    pub pointer: String,
    pub hint: &'static str,
    /// The reason given in the object's waiver annotation, when the finding is waived.
    pub waiver: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Findings that count, sorted by file, line, column, rule.
    pub findings: Vec<Finding>,
    /// Findings waived by an annotation; listed, never counted as failures.
    pub waived: Vec<Finding>,
    pub files: usize,
    pub objects: usize,
}

impl Report {
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    /// Whether any counted finding is at or above `threshold` (`None` never fails).
    pub fn fails(&self, threshold: Option<Severity>) -> bool {
        threshold.is_some_and(|t| self.findings.iter().any(|f| f.severity >= t))
    }
}
