//! Malformed specs: each gives a clear message at the right file, line, column and field path.

use datalyptica_platform::load;

const HEAD: &str =
    "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\nspec:\n";

struct Case {
    name: &'static str,
    /// Appended after HEAD (line 6 onwards) unless `whole` is set.
    body: &'static str,
    whole: bool,
    path: &'static str,
    line: usize,
    column: Option<usize>,
    message: &'static str,
}

const fn case(
    name: &'static str,
    body: &'static str,
    path: &'static str,
    line: usize,
    message: &'static str,
) -> Case {
    Case {
        name,
        body,
        whole: false,
        path,
        line,
        column: None,
        message,
    }
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            column: Some(7),
            ..case(
                "unknown field with suggestion",
                "  components:\n    postgresql:\n      replcas: 3\n",
                "spec.components.postgresql.replcas",
                8,
                "unknown field `replcas` (did you mean `replicas`?)",
            )
        },
        case(
            "unknown component",
            "  components:\n    kafak: {}\n",
            "spec.components.kafak",
            7,
            "did you mean `kafka`?",
        ),
        case(
            "wrong type",
            "  components:\n    etcd:\n      replicas: three\n",
            "spec.components.etcd.replicas",
            8,
            "invalid type: string \"three\", expected a whole number",
        ),
        case(
            "bad quantity",
            "  components:\n    redis:\n      storage: 10GB\n",
            "spec.components.redis.storage",
            8,
            "`10GB` is not a Kubernetes quantity",
        ),
        case(
            "bad cpu quantity",
            "  components:\n    redis:\n      resources:\n        requests:\n          cpu: lots\n",
            "spec.components.redis.resources.requests.cpu",
            10,
            "`lots` is not a Kubernetes quantity",
        ),
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: Data_Lake\n",
            column: Some(3),
            ..case(
                "non-DNS-1123 name",
                "",
                "metadata.name",
                4,
                "is not a DNS-1123 label",
            )
        },
        case(
            "even quorum",
            "  components:\n    etcd:\n      replicas: 4\n",
            "spec.components.etcd.replicas",
            8,
            "expected an odd count ≥ 3 in the ha profile",
        ),
        case(
            "quorum below 3",
            "  components:\n    etcd:\n      replicas: 1\n",
            "spec.components.etcd.replicas",
            8,
            "expected an odd count ≥ 3",
        ),
        case(
            "minio below 4 servers",
            "  components:\n    minio:\n      replicas: 3\n",
            "spec.components.minio.replicas",
            8,
            "expected ≥ 4 in the ha profile",
        ),
        case(
            "dependency disabled",
            "  components:\n    postgresql:\n      enabled: false\n",
            "spec.components.nessie.enabled",
            6,
            "nessie is enabled but depends on postgresql, which is disabled",
        ),
        case(
            "unknown profile",
            "  profile: HA\n",
            "spec.profile",
            6,
            "unknown value `HA` (did you mean `ha`?)",
        ),
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1\nkind: Platform\nmetadata:\n  name: lake\n",
            ..case(
                "wrong apiVersion",
                "",
                "apiVersion",
                1,
                "expected `datalyptica.io/v1alpha1`",
            )
        },
        case(
            "bad duration",
            "  components:\n    postgresql:\n      slo:\n        rto: 30 seconds\n",
            "spec.components.postgresql.slo.rto",
            9,
            "is not a duration",
        ),
        case(
            "availability out of range",
            "  components:\n    redis:\n      slo:\n        availability: 150\n",
            "spec.components.redis.slo.availability",
            9,
            "is not a percentage",
        ),
        case(
            "patroni timing rule",
            "  components:\n    postgresql:\n      config:\n        leaderLeaseSeconds: 20\n        syncPeriodSeconds: 8\n        retryTimeoutSeconds: 8\n",
            "spec.components.postgresql.config.retryTimeoutSeconds",
            11,
            "ttl ≥ loop_wait + 2 × retry_timeout",
        ),
        case(
            "rto below patroni floor",
            "  components:\n    postgresql:\n      slo:\n        rto: 15s\n",
            "spec.components.postgresql.slo.rto",
            9,
            "RTO 15 s cannot be met",
        ),
        case(
            "even sentinel count",
            "  components:\n    redis:\n      config:\n        sentinels: 2\n",
            "spec.components.redis.config.sentinels",
            9,
            "odd count ≥ 3",
        ),
        case(
            "request above limit",
            "  components:\n    etcd:\n      resources:\n        requests:\n          memory: 4Gi\n        limits:\n          memory: 2Gi\n",
            "spec.components.etcd.resources.requests.memory",
            10,
            "exceeds limit",
        ),
        case(
            "unpinned image",
            "  components:\n    etcd:\n      image: quay.io/coreos/etcd:latest\n",
            "spec.components.etcd.image",
            8,
            "is not pinned",
        ),
        case(
            "even KRaft controllers",
            "  components:\n    kafka:\n      config:\n        controllers: 4\n",
            "spec.components.kafka.config.controllers",
            9,
            "odd",
        ),
        case(
            "min ISR not below RF",
            "  components:\n    kafka:\n      config:\n        minInsyncReplicas: 3\n",
            "spec.components.kafka.config.minInsyncReplicas",
            9,
            "min.insync.replicas",
        ),
        case(
            "even keeper count",
            "  components:\n    clickhouse:\n      config:\n        keepers: 2\n",
            "spec.components.clickhouse.config.keepers",
            9,
            "odd",
        ),
        case(
            "one scheduler in ha",
            "  components:\n    airflow:\n      config:\n        schedulers: 1\n",
            "spec.components.airflow.config.schedulers",
            9,
            "≥ 2",
        ),
        case(
            "zookeeper HA without quorum",
            "  components:\n    flink:\n      config:\n        haMode: zookeeper\n",
            "spec.components.flink.config.zookeeperQuorum",
            8,
            "ZooKeeper HA needs the ensemble's addresses",
        ),
        case(
            "unknown executor",
            "  components:\n    airflow:\n      config:\n        executor: local\n",
            "spec.components.airflow.config.executor",
            9,
            "unknown value `local`",
        ),
        case(
            "minio with the odf backend",
            "  objectStore:\n    backend: odf\n  components:\n    minio:\n      enabled: true\n",
            "spec.components.minio.enabled",
            10,
            "backend is not `minio`",
        ),
        case(
            "external store without endpoint",
            "  objectStore:\n    backend: external\n    credentialsSecret: s3\n",
            "spec.objectStore.endpoint",
            6,
            "needs an endpoint",
        ),
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: lake\n  name: other\n",
            column: Some(3),
            ..case("duplicate key", "", "", 5, "duplicate key `name`")
        },
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata: [unclosed\n",
            ..case("invalid YAML", "", "", 3, "invalid YAML")
        },
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\nmetadata:\n  name: a\n---\nkind: Platform\n",
            ..case("two documents", "", "", 5, "2 documents")
        },
        Case {
            whole: true,
            body: "- a\n- b\n",
            ..case("not a mapping", "", "", 1, "the document is a list")
        },
        Case {
            whole: true,
            body: "apiVersion: datalyptica.io/v1alpha1\nkind: Platform\n",
            ..case(
                "missing metadata",
                "",
                "",
                1,
                "missing required field `metadata`",
            )
        },
    ]
}

#[test]
fn malformed_specs_are_reported_precisely() {
    let cases = cases();
    assert!(cases.len() >= 15);
    for c in cases {
        let text = if c.whole {
            c.body.to_string()
        } else {
            format!("{HEAD}{}", c.body)
        };
        let errs = load("spec.yaml", &text).expect_err(c.name);
        let e = errs
            .iter()
            .find(|e| e.message.contains(c.message))
            .unwrap_or_else(|| panic!("{}: no error says {:?}; got {errs:#?}", c.name, c.message));
        assert_eq!(e.file, "spec.yaml", "{}", c.name);
        assert_eq!(e.path, c.path, "{}: path of {e}", c.name);
        assert_eq!(e.pos.line, c.line, "{}: line of {e}", c.name);
        if let Some(col) = c.column {
            assert_eq!(e.pos.column, col, "{}: column of {e}", c.name);
        }
        assert!(
            e.to_string().starts_with(&format!("spec.yaml:{}:", c.line)),
            "{}: {e}",
            c.name
        );
    }
}

#[test]
fn a_minimal_spec_is_the_default() {
    let p = load("spec.yaml", HEAD).expect("valid");
    assert_eq!(p.spec, datalyptica_platform::Platform::default_ha().spec);
}

#[test]
fn the_commented_default_loads_and_renders_like_the_embedded_default() {
    let d = datalyptica_platform::Platform::default_ha();
    let text = datalyptica_platform::schema::commented_default(&d);
    let p = load("datalyptica.yaml", &text).unwrap_or_else(|e| panic!("{e:#?}"));
    assert_eq!(
        datalyptica_platform::render(&p).to_bytes(),
        datalyptica_platform::render(&d).to_bytes()
    );
}
