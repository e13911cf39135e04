//! Shared helpers of the platform's integration tests.
#![allow(dead_code)]

use datalyptica_platform::spec::Platform;
use datalyptica_platform::{Tree, render};

pub fn variants() -> Vec<(&'static str, Platform)> {
    Platform::variants()
}

pub fn rendered() -> Vec<(&'static str, Tree)> {
    variants()
        .into_iter()
        .map(|(n, p)| {
            let issues = datalyptica_platform::validate::validate(&p);
            assert!(
                issues.is_empty(),
                "variant {n} does not validate: {issues:?}"
            );
            (n, render(&p))
        })
        .collect()
}

pub fn kind(o: &serde_json::Value) -> &str {
    o["kind"].as_str().unwrap_or("")
}

pub fn name(o: &serde_json::Value) -> String {
    format!(
        "{}/{}/{}",
        kind(o),
        o["metadata"]["namespace"].as_str().unwrap_or("-"),
        o["metadata"]["name"].as_str().unwrap_or("?")
    )
}
