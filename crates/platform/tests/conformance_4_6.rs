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

#[test]
fn object_store_backends_render_their_directory() {
    for (name, p) in specs() {
        let tree = render(&p);
        let paths: Vec<&str> = tree.files.keys().map(String::as_str).collect();
        let minio = paths.iter().any(|p| p.starts_with("04-minio-ha/"));
        let obcs: Vec<_> = tree
            .objects()
            .filter(|(_, o)| o["kind"] == "ObjectBucketClaim")
            .collect();
        match name {
            "odf" => {
                assert!(!minio, "{name}: no MinIO with odf");
                assert!(paths.contains(&"04-object-store/object-buckets.yaml"));
                let buckets: Vec<_> = obcs
                    .iter()
                    .map(|(_, o)| o["spec"]["bucketName"].as_str().unwrap_or(""))
                    .collect();
                for b in [
                    "datalyptica-flink",
                    "datalyptica-spark-events",
                    "datalyptica-warehouse",
                    "datalyptica-clickhouse-backups",
                    "datalyptica-pgbackrest",
                ] {
                    assert!(
                        buckets.contains(&b),
                        "{name}: no claim for {b}: {buckets:?}"
                    );
                }
                assert!(
                    obcs.iter().all(
                        |(_, o)| o["spec"]["storageClassName"] == "openshift-storage.noobaa.io"
                    )
                );
            }
            "external" => {
                assert!(!minio, "{name}: no MinIO with external");
                assert!(obcs.is_empty());
                assert!(!paths.contains(&"04-object-store/object-buckets.yaml"));
                // Every consumer points at the external endpoint.
                let text = tree.to_bytes().into_values().collect::<String>();
                assert!(text.contains("https://s3.example.com"));
                assert!(!text.contains("minio."));
            }
            _ => {
                assert!(minio, "{name}: MinIO is the default backend");
                assert!(obcs.is_empty());
            }
        }
    }
}

#[test]
fn minio_enabled_with_another_backend_is_an_error() {
    let mut p = Platform::default_ha();
    p.spec.object_store.backend = Some(ObjectStoreBackend::Odf);
    p.spec.components.minio.enabled = Some(true);
    let ptrs: Vec<_> = validate(&p).into_iter().map(|i| i.pointer).collect();
    assert!(
        ptrs.contains(&"/spec/components/minio/enabled".to_string()),
        "{ptrs:?}"
    );
}
