//! `.datalyptica-lint.yaml`: disable rules, change severities, declare extra known kinds.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::Severity;
use crate::rules::{Rule, rule};

pub const CONFIG_FILE: &str = ".datalyptica-lint.yaml";

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Rule id → severity, `None` = off.
    pub overrides: HashMap<String, Option<Severity>>,
    /// Kinds (e.g. in-house CRDs) that must not be reported as unknown.
    pub extra_kinds: HashSet<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Parse and validate a config; unknown keys or rule ids are errors so that a typo never
    /// silently leaves a rule on.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let docs = datalyptica_yaml::parse(text).map_err(|e| ConfigError {
            message: e.message,
            line: e.pos.line,
            column: e.pos.column,
        })?;
        let mut cfg = Config::default();
        let Some(doc) = docs.into_iter().find(|d| !d.value.is_null()) else {
            return Ok(cfg);
        };
        let err = |ptr: &str, message: String| {
            let p = doc.locate(ptr);
            ConfigError {
                message,
                line: p.line,
                column: p.column,
            }
        };
        let Value::Object(root) = &doc.value else {
            return Err(err("", "config must be a mapping".into()));
        };
        for (key, val) in root {
            let kptr = format!("/{}", datalyptica_yaml::escape_segment(key));
            match key.as_str() {
                "rules" => {
                    let Value::Object(rules) = val else {
                        if val.is_null() {
                            continue;
                        }
                        return Err(err(&kptr, "`rules` must map rule ids to severities".into()));
                    };
                    for (id, sev) in rules {
                        let ptr = format!("{kptr}/{}", datalyptica_yaml::escape_segment(id));
                        if rule(id).is_none() {
                            return Err(err(&ptr, format!("unknown rule id `{id}`")));
                        }
                        let s = match sev {
                            Value::Bool(false) => None,
                            Value::String(s) if s.eq_ignore_ascii_case("off") => None,
                            Value::String(s) => Some(Severity::parse(s).ok_or_else(|| {
                                err(
                                    &ptr,
                                    format!("`{s}` is not one of off, info, warning, error"),
                                )
                            })?),
                            other => {
                                return Err(err(
                                    &ptr,
                                    format!("`{other}` is not one of off, info, warning, error"),
                                ));
                            }
                        };
                        cfg.overrides.insert(id.clone(), s);
                    }
                }
                "kinds" => {
                    let Value::Array(kinds) = val else {
                        return Err(err(&kptr, "`kinds` must be a list of kind names".into()));
                    };
                    for (i, k) in kinds.iter().enumerate() {
                        match k.as_str() {
                            Some(k) => {
                                cfg.extra_kinds.insert(k.to_string());
                            }
                            None => {
                                return Err(err(
                                    &format!("{kptr}/{i}"),
                                    "kind must be a string".into(),
                                ));
                            }
                        }
                    }
                }
                other => {
                    return Err(err(
                        &kptr,
                        format!("unknown key `{other}` (expected `rules` or `kinds`)"),
                    ));
                }
            }
        }
        Ok(cfg)
    }

    /// Effective severity of a rule, `None` when it is off.
    pub fn severity(&self, rule: &Rule) -> Option<Severity> {
        match self.overrides.get(rule.id) {
            Some(s) => *s,
            None => Some(rule.severity),
        }
    }
}
