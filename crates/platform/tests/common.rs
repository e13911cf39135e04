//! Shared helpers of the platform's integration tests.
#![allow(dead_code)]

use datalyptica_platform::spec::{ObjectStoreBackend, Platform, Profile};
use datalyptica_platform::{Tree, render};

/// Every spec variant the product supports: both profiles, all object-store backends.
pub fn variants() -> Vec<(&'static str, Platform)> {
    let ha = Platform::default_ha();
    let mut dev = Platform::default_ha();
    dev.spec.profile = Profile::Dev;
    let mut odf = Platform::default_ha();
    odf.spec.object_store.backend = Some(ObjectStoreBackend::Odf);
    let mut external = Platform::default_ha();
    external.spec.object_store.backend = Some(ObjectStoreBackend::External);
    external.spec.object_store.endpoint = Some("https://s3.example.com".into());
    external.spec.object_store.credentials_secret = Some("s3-credentials".into());
    let mut out = vec![("ha", ha), ("dev", dev)];
    // Backends other than MinIO are valid only once MinIO stops being enabled by default for
    // them; include them whenever the spec validates.
    for (name, p) in [("odf", odf), ("external", external)] {
        if datalyptica_platform::validate::validate(&p).is_empty() {
            out.push((name, p));
        }
    }
    out
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
