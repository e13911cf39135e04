//! Backups and disaster recovery from `spec.backup`.

mod common;

use datalyptica_platform::spec::{KafkaDrTarget, ReplicationTarget};
use datalyptica_platform::{Platform, Tree, render};
use serde_json::Value;

fn find<'a>(tree: &'a Tree, kind: &str, name: &str) -> Option<(&'a str, &'a Value)> {
    tree.objects()
        .find(|(_, o)| common::kind(o) == kind && o["metadata"]["name"] == name)
}

fn with_targets() -> Platform {
    let mut p = Platform::default_ha();
    p.spec.backup.kafka.target = Some(KafkaDrTarget {
        bootstrap_servers: "kafka-dr-0.example.com:9093,kafka-dr-1.example.com:9093".into(),
        trust_secret: "kafka-dr-ca".into(),
        trust_certificate: None,
        client_certificate_secret: Some("kafka-dr-client".into()),
    });
    p.spec.backup.minio.replication_target = Some(ReplicationTarget {
        endpoint: "https://s3.dr.example.com".into(),
        credentials_secret: "minio-dr-keys".into(),
    });
    p
}

#[test]
fn snapshot_cronjobs_have_the_seed_defaults() {
    for (variant, tree) in common::rendered() {
        for (name, file, schedule) in [
            ("redis-backup", "02-redis-ha/backup.yaml", "0 * * * *"),
            ("etcd-backup", "03-etcd-ha/backup.yaml", "*/30 * * * *"),
        ] {
            let (f, cj) = find(&tree, "CronJob", name)
                .unwrap_or_else(|| panic!("{variant}: no CronJob {name}"));
            assert_eq!(f, file, "{variant}");
            assert_eq!(cj["spec"]["schedule"], schedule, "{variant}: {name}");
            assert_eq!(cj["spec"]["concurrencyPolicy"], "Forbid");
            let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
            assert_eq!(pod["automountServiceAccountToken"], false, "{name}");
            assert_eq!(pod["serviceAccountName"], name);
            assert!(
                find(&tree, "ServiceAccount", name).is_some(),
                "{variant}: no ServiceAccount {name}"
            );
            let containers = pod["containers"]
                .as_array()
                .into_iter()
                .chain(pod["initContainers"].as_array())
                .flatten();
            for c in containers {
                let sc = &c["securityContext"];
                assert_eq!(sc["allowPrivilegeEscalation"], false, "{name}");
                assert_eq!(sc["readOnlyRootFilesystem"], true, "{name}");
                assert_eq!(sc["capabilities"]["drop"][0], "ALL", "{name}");
                assert!(c["resources"]["limits"]["memory"].is_string(), "{name}");
                for e in c["env"].as_array().into_iter().flatten() {
                    if e["name"].as_str().is_some_and(|n| n.contains("KEY")) {
                        assert!(e["value"].is_null(), "{name}: literal credential");
                        assert!(e["valueFrom"]["secretKeyRef"]["name"].is_string());
                    }
                }
            }
            // Retention is enforced by the upload step.
            let upload = pod["containers"][0]["command"][2]
                .as_str()
                .unwrap_or_default();
            assert!(
                upload.contains("--older-than 7d"),
                "{variant}: {name}: {upload}"
            );
        }
    }
}

#[test]
fn schedules_and_retention_come_from_the_spec() {
    let mut p = Platform::default_ha();
    p.spec.backup.redis.schedule = Some("15 */2 * * *".into());
    p.spec.backup.redis.retention_days = Some(3);
    p.spec.backup.etcd.schedule = Some("*/10 * * * *".into());
    p.spec.backup.postgresql.full_schedule = Some("0 2 * * 0".into());
    p.spec.backup.postgresql.differential_schedule = Some("0 */4 * * *".into());
    p.spec.backup.postgresql.retention_days = Some(14);
    p.spec.backup.redis.rto = Some("15m".into());
    assert!(datalyptica_platform::validate::validate(&p).is_empty());
    let tree = render(&p);
    let (_, r) = find(&tree, "CronJob", "redis-backup").expect("redis-backup");
    assert_eq!(r["spec"]["schedule"], "15 */2 * * *");
    let upload = r["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["command"]
        [2]
    .as_str()
    .unwrap_or_default();
    assert!(upload.contains("--older-than 3d"));
    let (_, e) = find(&tree, "CronJob", "etcd-backup").expect("etcd-backup");
    assert_eq!(e["spec"]["schedule"], "*/10 * * * *");
    let (_, pg) = find(&tree, "PostgresCluster", "postgresql").expect("cluster");
    let repo = &pg["spec"]["backups"]["pgbackrest"];
    assert_eq!(repo["repos"][0]["schedules"]["full"], "0 2 * * 0");
    assert_eq!(repo["repos"][0]["schedules"]["differential"], "0 */4 * * *");
    assert_eq!(repo["global"]["repo1-retention-full"], "14");
    let dr = tree.to_bytes();
    let dr = dr["disaster-recovery.md"].clone();
    assert!(
        dr.contains("`15 */2 * * *` | 3 days | ≤ 2h | 15m |"),
        "{dr}"
    );
    assert!(dr.contains("full `0 2 * * 0`, differential `0 */4 * * *` | 14 days"));
}

#[test]
fn invalid_backup_settings_are_reported_where_they_are() {
    let mut p = Platform::default_ha();
    p.spec.backup.etcd.schedule = Some("every 30 minutes".into());
    p.spec.backup.redis.retention_days = Some(0);
    p.spec.components.postgresql.config.full_backup_schedule = Some("0 1 * * *".into());
    p.spec.backup.minio.replication_target = Some(ReplicationTarget {
        endpoint: "http://s3.dr.example.com".into(),
        credentials_secret: "k".into(),
    });
    p.spec.backup.kafka.target = Some(KafkaDrTarget {
        bootstrap_servers: "kafka-dr.example.com".into(),
        trust_secret: "ca".into(),
        ..Default::default()
    });
    let ptrs: Vec<String> = datalyptica_platform::validate::validate(&p)
        .into_iter()
        .map(|i| i.pointer)
        .collect();
    for want in [
        "/spec/backup/etcd/schedule",
        "/spec/backup/redis/retentionDays",
        "/spec/components/postgresql/config/fullBackupSchedule",
        "/spec/backup/minio/replicationTarget/endpoint",
        "/spec/backup/kafka/target/bootstrapServers",
    ] {
        assert!(ptrs.iter().any(|p| p == want), "{want} not in {ptrs:?}");
    }
}

#[test]
fn mirror_maker_only_with_a_target() {
    for (variant, tree) in common::rendered() {
        assert!(
            find(&tree, "KafkaMirrorMaker2", "kafka-dr").is_none(),
            "{variant}: MirrorMaker 2 without a target"
        );
        let bytes = tree.to_bytes();
        let dr = bytes["disaster-recovery.md"].clone();
        assert!(dr.contains("**No MirrorMaker 2**"), "{variant}");
    }
    let p = with_targets();
    assert!(
        datalyptica_platform::validate::validate(&p).is_empty(),
        "{:?}",
        datalyptica_platform::validate::validate(&p)
    );
    let tree = render(&p);
    let (file, mm2) = find(&tree, "KafkaMirrorMaker2", "kafka-dr").expect("rendered");
    assert_eq!(file, "06-kafka-ha/backup.yaml");
    assert_eq!(mm2["apiVersion"], "kafka.strimzi.io/v1");
    let spec = &mm2["spec"];
    assert_eq!(
        spec["target"]["bootstrapServers"],
        "kafka-dr-0.example.com:9093,kafka-dr-1.example.com:9093"
    );
    assert_eq!(
        spec["target"]["tls"]["trustedCertificates"][0]["secretName"],
        "kafka-dr-ca"
    );
    let mirror = &spec["mirrors"][0];
    assert_eq!(mirror["source"]["alias"], "primary");
    assert_eq!(
        mirror["checkpointConnector"]["config"]["sync.group.offsets.enabled"],
        "true"
    );
    assert!(find(&tree, "KafkaUser", "kafka-mirror-maker").is_some());
    // Egress to the DR cluster on its ports, from the MirrorMaker pods only.
    let (_, np) = find(&tree, "NetworkPolicy", "kafka-mirror-maker-to-dr-cluster").expect("egress");
    assert_eq!(
        np["spec"]["podSelector"]["matchLabels"]["strimzi.io/cluster"],
        "kafka-dr"
    );
    assert_eq!(np["spec"]["egress"][0]["ports"][0]["port"], 9093);
    if let Some(catalog) = datalyptica_conformance::catalog_for_tests() {
        for (f, o) in tree.objects().filter(|(f, _)| f.ends_with("backup.yaml")) {
            let api = o["apiVersion"].as_str().unwrap_or_default();
            if api.contains("strimzi")
                && let Err(v) = catalog.validate(o)
            {
                panic!("{f}: {} rejected: {v:?}", common::name(o));
            }
        }
    }
    let bytes = tree.to_bytes();
    let dr = bytes["disaster-recovery.md"].clone();
    assert!(dr.contains("`KafkaMirrorMaker2` `kafka-dr`"));
    assert!(dr.contains("https://s3.dr.example.com"));
}

#[test]
fn minio_job_configures_versioning_lifecycle_and_replication() {
    let tree = render(&Platform::default_ha());
    let (file, job) = find(&tree, "Job", "minio-backup-config").expect("job");
    assert_eq!(file, "04-minio-ha/backup.yaml");
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(!env.contains("DR_ENDPOINT"), "replication without a target");
    let (_, cm) = find(&tree, "ConfigMap", "minio-backup-config").expect("config");
    let script = cm["data"]["configure.sh"].as_str().unwrap_or_default();
    assert!(script.contains("mc version enable"));
    assert!(script.contains("mc ilm import"));
    assert!(!script.contains("mc replicate add"));
    assert!(
        cm["data"]["lifecycle-datalyptica-redis-backups.json"]
            .as_str()
            .is_some_and(|l| l.contains("\"Days\": 7"))
    );
    let bytes = tree.to_bytes();
    let dr = bytes["disaster-recovery.md"].clone();
    assert!(dr.contains("**Replication is off**"));
    assert!(dr.contains("01-postgresql-ha/README.md#point-in-time-recovery"));
    assert!(dr.contains("03-etcd-ha/README.md#restore-runbook"));

    let tree = render(&with_targets());
    let (_, job) = find(&tree, "Job", "minio-backup-config").expect("job");
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(env.contains("minio-dr-keys"));
    let (_, cm) = find(&tree, "ConfigMap", "minio-backup-config").expect("config");
    assert!(
        cm["data"]["configure.sh"]
            .as_str()
            .is_some_and(|s| s.contains("mc replicate add"))
    );
    assert!(find(&tree, "NetworkPolicy", "minio-to-dr-site").is_some());
}

#[test]
fn other_backends_get_no_minio_job_but_still_snapshot() {
    for (variant, tree) in common::rendered() {
        if variant == "odf" || variant == "external" {
            assert!(find(&tree, "Job", "minio-backup-config").is_none());
            assert!(find(&tree, "CronJob", "redis-backup").is_some());
        }
    }
}
