//! The default tree, byte for byte, and determinism.

use datalyptica_platform::{Platform, render};

#[test]
fn same_spec_same_bytes() {
    let a = render(&Platform::default_ha()).to_bytes();
    let b = render(&Platform::default_ha()).to_bytes();
    assert_eq!(a, b);
}

#[test]
fn default_tree_snapshot() {
    let files = render(&Platform::default_ha()).to_bytes();
    // The seed's tree: these paths must exist with these names.
    for path in [
        "README.md",
        "deployment-order.md",
        "00-prerequisites/namespaces.yaml",
        "00-prerequisites/storage-classes.yaml",
        "00-prerequisites/operator-subscriptions.yaml",
        "01-postgresql-ha/README.md",
        "01-postgresql-ha/operator-install.yaml",
        "01-postgresql-ha/postgres-cluster.yaml",
        "01-postgresql-ha/monitoring.yaml",
        "02-redis-ha/README.md",
        "02-redis-ha/redis-sentinel.yaml",
        "02-redis-ha/redis-cluster.yaml",
        "03-etcd-ha/README.md",
        "03-etcd-ha/etcd-cluster.yaml",
        "04-minio-ha/README.md",
        "04-minio-ha/operator-install.yaml",
        "04-minio-ha/minio-tenant.yaml",
        "05-nessie/README.md",
        "05-nessie/nessie-deployment.yaml",
    ] {
        assert!(files.contains_key(path), "missing {path}");
    }
    for (path, text) in &files {
        insta::assert_snapshot!(path.replace('/', "__"), crds_as_digests(text));
    }
}

/// The text with each CustomResourceDefinition document replaced by its name and the sha256 of
/// its bytes: the carried CRDs are megabytes of upstream text, checked field for field against
/// the release files by `conformance`; the snapshot still changes if one byte of them does.
fn crds_as_digests(text: &str) -> String {
    use sha2::{Digest, Sha256};
    text.split_inclusive("\n---\n")
        .map(|doc| {
            let body = doc.strip_suffix("---\n").unwrap_or(doc);
            if !body.starts_with(
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
            ) {
                return doc.to_string();
            }
            let name = body
                .lines()
                .find_map(|l| l.strip_prefix("  name: "))
                .unwrap_or("?");
            let sha: String = Sha256::digest(body.as_bytes())
                .iter()
                .map(|x| format!("{x:02x}"))
                .collect();
            format!(
                "# CustomResourceDefinition {name}: {} bytes, sha256 {sha}\n{}",
                body.len(),
                &doc[body.len()..]
            )
        })
        .collect()
}
