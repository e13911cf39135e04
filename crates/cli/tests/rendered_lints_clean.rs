//! The tree we render passes our own policy engine with zero errors, for every variant.

use datalyptica_lint::{Config, Severity, Source, lint_sources};
use datalyptica_platform::spec::{ObjectStoreBackend, Platform, Profile};
use datalyptica_platform::{render, validate};

fn variants() -> Vec<(&'static str, Platform)> {
    let ha = Platform::default_ha();
    let mut dev = Platform::default_ha();
    dev.spec.profile = Profile::Dev;
    let mut odf = Platform::default_ha();
    odf.spec.object_store.backend = Some(ObjectStoreBackend::Odf);
    let mut ext = Platform::default_ha();
    ext.spec.object_store.backend = Some(ObjectStoreBackend::External);
    ext.spec.object_store.endpoint = Some("https://s3.example.com".into());
    ext.spec.object_store.credentials_secret = Some("s3-credentials".into());
    vec![("ha", ha), ("dev", dev), ("odf", odf), ("external", ext)]
}

#[test]
fn rendered_trees_have_no_lint_errors() {
    let mut linted = 0;
    for (name, p) in variants() {
        if !validate::validate(&p).is_empty() {
            continue;
        }
        let sources: Vec<Source> = render(&p)
            .to_bytes()
            .into_iter()
            .filter(|(path, _)| path.ends_with(".yaml"))
            .map(|(path, text)| Source {
                path: path.into(),
                text,
            })
            .collect();
        let report = lint_sources(&sources, &Config::default());
        let errors: Vec<String> = report
            .findings
            .iter()
            .filter(|f| f.severity >= Severity::Error)
            // The dev profile is single-replica by design: HA rules (DL1xxx) do not apply to it;
            // security and storage rules do.
            .filter(|f| name != "dev" || !f.rule.starts_with("DL1"))
            .map(|f| {
                format!(
                    "{} {}:{}: {} {}",
                    f.rule,
                    f.file.display(),
                    f.line,
                    f.message,
                    f.hint
                )
            })
            .collect();
        assert!(
            errors.is_empty(),
            "variant {name}: {} lint errors:\n{}",
            errors.len(),
            errors.join("\n")
        );
        linted += 1;
    }
    assert!(linted >= 2, "ha and dev must always be linted");
}
