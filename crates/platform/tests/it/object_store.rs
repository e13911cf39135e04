//! Object-store backends: each renders its own directory and points every consumer at one
//! place. (Every rendered custom resource of every variant is checked against its upstream
//! CRD in `conformance.rs`.)

use datalyptica_platform::render::render;
use datalyptica_platform::spec::{ObjectStoreBackend, Platform};
use datalyptica_platform::validate::validate;

#[test]
fn object_store_backends_render_their_directory() {
    for (name, p) in Platform::variants() {
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
