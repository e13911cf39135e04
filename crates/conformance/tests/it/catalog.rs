//! Loading: which CRDs and versions the catalog knows, and that every served schema compiles.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use datalyptica_conformance::{CrdCatalog, Error, Located, catalog_for_tests, crds_dir};
use serde_json::json;

/// The CRD files under `dir`, counted from the file system rather than by the loader under test.
fn crd_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read crds dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            crd_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) && std::fs::read_to_string(&path)
            .expect("read CRD file")
            .lines()
            .any(|l| l.trim() == "kind: CustomResourceDefinition")
        {
            out.push(path);
        }
    }
}

#[test]
fn loads_every_crd_file_of_the_shared_set() {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    let Located::Found(dir) = crds_dir() else {
        unreachable!("catalog_for_tests loaded a catalog, so the directory exists")
    };
    let mut files = Vec::new();
    crd_files(&dir, &mut files);
    // SOURCES.md: one CRD per file, each of a distinct kind (32 operator CRDs, 5 GitOps CRDs).
    assert!(files.len() >= 37, "{files:#?}");
    let kinds = catalog.kinds();
    let distinct: BTreeSet<&str> = kinds.iter().map(|(_, k)| k.as_str()).collect();
    assert_eq!(distinct.len(), files.len(), "{kinds:#?}");
    assert!(kinds.is_sorted());
    for (api_version, kind) in [
        (
            "postgres-operator.crunchydata.com/v1beta1",
            "PostgresCluster",
        ),
        ("postgres-operator.crunchydata.com/v1", "PostgresCluster"),
        ("kafka.strimzi.io/v1", "Kafka"),
        ("minio.min.io/v2", "Tenant"),
        ("redis.redis.opstreelabs.in/v1beta2", "RedisSentinel"),
        ("clickhouse.altinity.com/v1", "ClickHouseInstallation"),
        ("monitoring.coreos.com/v1", "PrometheusRule"),
        ("operators.coreos.com/v1alpha1", "Subscription"),
        ("operators.coreos.com/v1alpha2", "OperatorGroup"),
        ("route.openshift.io/v1", "Route"),
        ("argoproj.io/v1alpha1", "Application"),
        ("argoproj.io/v1alpha1", "AppProject"),
        ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
        ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ] {
        let key = (api_version.to_owned(), kind.to_owned());
        assert!(kinds.contains(&key), "missing {key:?}");
        assert!(catalog.knows(api_version, kind));
    }
    // Strimzi 1.x no longer serves v1beta2.
    assert!(!catalog.knows("kafka.strimzi.io/v1beta2", "Kafka"));
    assert!(!catalog.knows("kafka.strimzi.io/v1", "Widget"));
}

#[test]
fn every_served_schema_compiles() {
    let Some(catalog) = catalog_for_tests() else {
        return;
    };
    for (api_version, kind) in catalog.kinds() {
        let obj = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}});
        // Missing required spec fields are fine here; a schema that fails to compile is not.
        if let Err(violations) = catalog.validate(&obj) {
            let broken: Vec<_> = violations
                .iter()
                .filter(|v| v.message.contains("does not compile"))
                .collect();
            assert!(broken.is_empty(), "{api_version} {kind}: {broken:#?}");
        }
    }
}

/// A scratch directory per test so parallel tests do not see each other's files.
fn scratch(name: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "datalyptica-conformance-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    for (path, text) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    dir
}

const WIDGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets}
  scope: Namespaced
  versions:
    - name: v1alpha1
      served: false
      storage: false
      schema: {openAPIV3Schema: {type: object}}
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                size: &Size {type: integer, minimum: 1}
                other:
                  <<: *Size
                  maximum: 5
"#;

#[test]
fn load_dir_recurses_keeps_served_versions_and_merges_keys() {
    let dir = scratch(
        "widgets",
        &[
            ("nested/deeper/widget.yml", WIDGET_CRD),
            ("README.md", "# not yaml"),
        ],
    );
    let catalog = CrdCatalog::load_dir(&dir).expect("loads");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        catalog.kinds(),
        [("example.com/v1".to_owned(), "Widget".to_owned())]
    );
    assert!(!catalog.knows("example.com/v1alpha1", "Widget"));
    let widget = |other: i64| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
               "spec": {"size": 1, "other": other}})
    };
    assert_eq!(catalog.validate(&widget(3)), Ok(()));
    // `minimum` reached `other` only through the merge key; `maximum` is its own.
    for bad in [0, 6] {
        let violations = catalog.validate(&widget(bad)).expect_err("out of range");
        assert_eq!(violations[0].path, "/spec/other", "{violations:?}");
    }
}

fn load_error(name: &str, text: &str) -> (Error, PathBuf) {
    let dir = scratch(name, &[("x.yaml", text)]);
    let err = CrdCatalog::load_dir(&dir).expect_err("must fail");
    let _ = std::fs::remove_dir_all(&dir);
    (err, dir.join("x.yaml"))
}

#[test]
fn errors_name_the_file() {
    let (err, file) = load_error("notcrd", "apiVersion: v1\nkind: ConfigMap\n");
    assert!(matches!(err, Error::NotACrd { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );

    let (err, file) = load_error("badyaml", "a: [1, 2\n");
    assert!(matches!(err, Error::Yaml { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&file.display().to_string()),
        "{err}"
    );

    let (err, _) = load_error(
        "noschema",
        &WIDGET_CRD.replace("schema:\n        openAPIV3Schema:", "x:\n        y:"),
    );
    assert!(matches!(err, Error::Schema { .. }), "{err:?}");

    let err = CrdCatalog::load_dir(Path::new("/nonexistent/datalyptica")).expect_err("no dir");
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
}
