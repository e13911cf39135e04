//! Every custom resource of phases 4–6 (and the object-store backends) validates against its
//! upstream CRD, for the HA default, the dev profile and each object-store backend.

use datalyptica_platform::render::render;
use datalyptica_platform::spec::{ObjectStoreBackend, Platform, Profile};
use datalyptica_platform::validate::validate;

fn specs() -> Vec<(&'static str, Platform)> {
    let ha = Platform::default_ha();
    let mut dev = Platform::default_ha();
    dev.spec.profile = Profile::Dev;
    let mut odf = Platform::default_ha();
    odf.spec.object_store.backend = Some(ObjectStoreBackend::Odf);
    let mut ext = Platform::default_ha();
    ext.spec.object_store.backend = Some(ObjectStoreBackend::External);
    ext.spec.object_store.endpoint = Some("https://s3.example.com".into());
    ext.spec.object_store.credentials_secret = Some("s3-creds".into());
    vec![("ha", ha), ("dev", dev), ("odf", odf), ("external", ext)]
}

#[test]
fn rendered_custom_resources_match_upstream_crds() {
    let Some(catalog) = datalyptica_conformance::catalog_for_tests() else {
        return;
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, p) in specs() {
        assert!(validate(&p).is_empty(), "{name}: {:?}", validate(&p));
        let tree = render(&p);
        for (path, obj) in tree.objects() {
            let (Some(av), Some(kind)) = (obj["apiVersion"].as_str(), obj["kind"].as_str()) else {
                continue;
            };
            if !catalog.knows(av, kind) {
                continue;
            }
            checked += 1;
            if let Err(v) = catalog.validate(obj) {
                failures.push(format!(
                    "{name} {path} {kind}/{}: {}",
                    obj["metadata"]["name"],
                    v.iter()
                        .map(|x| x.to_string())
                        .collect::<Vec<_>>()
                        .join("; ")
                ));
            }
        }
    }
    assert!(checked > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
