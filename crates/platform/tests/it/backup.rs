//! Backups and disaster recovery from `spec.backup`.

use crate::common;

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
    let pod = &job["spec"]["template"]["spec"];
    assert!(
        pod["containers"][0]["env"]
            .to_string()
            .contains("DR_ENDPOINT")
    );
    assert!(
        pod["volumes"].to_string().contains("minio-dr-keys"),
        "the target's keys are mounted as files"
    );
    let (_, cm) = find(&tree, "ConfigMap", "minio-backup-config").expect("config");
    let script = cm["data"]["configure.sh"].as_str().unwrap_or_default();
    assert!(script.contains("mc replicate add"));
    let calls = run_with_fake_mc(script, pod, "configure", &[]);
    assert_eq!(
        alias_stdin(&calls, "dr"),
        Some("dr-access\ndr-secret\n".to_string()),
        "{calls:#?}"
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

/// One `mc` invocation a script made: its arguments and what it read on stdin.
#[derive(Debug)]
struct McCall {
    args: Vec<String>,
    stdin: String,
}

/// Runs `script` (the shell program of a container of `pod`) with /bin/sh, `mc` replaced by a
/// recorder, and every Secret file the pod mounts laid out with the value `<volume-stem>-<key>`
/// (`s3-access`, `dr-secret`, …). The script's absolute paths are moved into a scratch
/// directory; `env` is the container's plain environment.
fn run_with_fake_mc(script: &str, pod: &Value, tag: &str, backup_files: &[&str]) -> Vec<McCall> {
    let root = std::env::temp_dir().join(format!("dl-fake-mc-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let bin = root.join("bin");
    for d in ["bin", "trust", "backup", "tmp", "calls"] {
        std::fs::create_dir_all(root.join(d)).expect("scratch dir");
    }
    std::fs::write(root.join("trust/ca.crt"), "ca").expect("ca");
    std::fs::write(root.join("lifecycle-b1.json"), "{}").expect("lifecycle");
    for f in backup_files {
        std::fs::write(root.join("backup").join(f), "dump").expect("dump");
    }
    // Secret files, from the pod's projected volumes.
    let mut mounts = Vec::new();
    for v in pod["volumes"].as_array().into_iter().flatten() {
        let Some(sources) = v["projected"]["sources"].as_array() else {
            continue;
        };
        let stem = v["name"]
            .as_str()
            .unwrap_or_default()
            .trim_end_matches("-keys");
        let dir = root.join("secrets").join(stem);
        std::fs::create_dir_all(&dir).expect("secret dir");
        for item in sources
            .iter()
            .flat_map(|s| s["secret"]["items"].as_array().into_iter().flatten())
        {
            let path = item["path"].as_str().unwrap_or_default();
            let short = if path.contains("SECRET") {
                "secret"
            } else {
                "access"
            };
            // Written without a trailing newline, as the kubelet projects a Secret key.
            std::fs::write(dir.join(path), format!("{stem}-{short}")).expect("key file");
        }
        mounts.push((format!("/run/secrets/{stem}"), dir));
    }
    let recorder = format!(
        "#!/bin/sh\nn=$(ls {calls} | grep -c args)\nprintf '%s\\n' \"$@\" > {calls}/$n.args\nif [ \"$1 $2\" = 'alias set' ]; then cat > {calls}/$n.stdin; fi\nif [ \"$1 $2\" = 'replicate ls' ]; then echo enabled; fi\nexit 0\n",
        calls = root.join("calls").display()
    );
    let mc = bin.join("mc");
    std::fs::write(&mc, recorder).expect("recorder");
    std::fs::set_permissions(&mc, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let mut text = script.to_string();
    for (from, to) in &mounts {
        text = text.replace(from.as_str(), &to.display().to_string());
    }
    let text = text
        .replace("/etc/trust", &root.join("trust").display().to_string())
        .replace("/backup/", &format!("{}/", root.join("backup").display()))
        .replace("/etc/minio-backup/", &format!("{}/", root.display()));
    let status = std::process::Command::new("/bin/sh")
        .arg("-c")
        .arg(&text)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("MC_CONFIG_DIR", root.join("tmp/.mc"))
        .env("S3_ENDPOINT", "https://minio.example:443")
        .env("DR_ENDPOINT", "https://s3.dr.example.com")
        .env("BUCKETS", "b1")
        .status()
        .expect("sh");
    assert!(status.success(), "{tag}: script failed:\n{text}");
    let mut calls = Vec::new();
    for n in 0.. {
        let Ok(args) = std::fs::read_to_string(root.join(format!("calls/{n}.args"))) else {
            break;
        };
        calls.push(McCall {
            args: args.lines().map(str::to_string).collect(),
            stdin: std::fs::read_to_string(root.join(format!("calls/{n}.stdin")))
                .unwrap_or_default(),
        });
    }
    let _ = std::fs::remove_dir_all(&root);
    // No key ever reaches an argument list (visible to anyone who lists processes).
    for c in &calls {
        for a in &c.args {
            assert!(
                !a.contains("-access") && !a.contains("-secret"),
                "{tag}: key in argv: {c:?}"
            );
        }
    }
    calls
}

/// What `mc alias set … <alias> …` read on stdin.
fn alias_stdin(calls: &[McCall], alias: &str) -> Option<String> {
    calls
        .iter()
        .find(|c| {
            c.args.starts_with(&["alias".into(), "set".into()])
                && c.args.contains(&alias.to_string())
        })
        .map(|c| c.stdin.clone())
}

#[test]
fn mc_reads_the_keys_from_secret_files_on_stdin() {
    let tree = render(&Platform::default_ha());
    for name in ["redis-backup", "etcd-backup"] {
        let (_, cj) = find(&tree, "CronJob", name).expect("cronjob");
        let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
        let upload = &pod["containers"][0];
        assert!(
            !upload["env"].to_string().contains("secretKeyRef"),
            "{name}: keys in the environment"
        );
        let script = upload["command"][2].as_str().unwrap_or_default();
        let calls = run_with_fake_mc(script, pod, name, &["dump.rdb"]);
        assert_eq!(
            alias_stdin(&calls, "store"),
            Some("s3-access\ns3-secret\n".to_string()),
            "{name}: {calls:#?}"
        );
        let alias = calls
            .iter()
            .find(|c| c.args.first().is_some_and(|a| a == "alias"));
        // `mc alias set [flags] ALIAS URL`: two arguments, so mc reads both keys from stdin.
        assert_eq!(
            alias.map(|c| c.args.clone()),
            Some(
                vec![
                    "alias",
                    "set",
                    "--api",
                    "S3v4",
                    "store",
                    "https://minio.example:443"
                ]
                .into_iter()
                .map(String::from)
                .collect()
            ),
        );
        assert!(
            calls
                .iter()
                .any(|c| c.args.first().is_some_and(|a| a == "cp")
                    && c.args.iter().any(|a| a.ends_with("dump.rdb"))),
            "{name}: nothing uploaded: {calls:#?}"
        );
    }
    let (_, job) = find(&tree, "Job", "minio-backup-config").expect("job");
    let pod = &job["spec"]["template"]["spec"];
    assert!(
        !pod["containers"][0]["env"]
            .to_string()
            .contains("secretKeyRef")
    );
    let (_, cm) = find(&tree, "ConfigMap", "minio-backup-config").expect("config");
    let script = cm["data"]["configure.sh"].as_str().unwrap_or_default();
    let calls = run_with_fake_mc(script, pod, "minio", &[]);
    assert_eq!(
        alias_stdin(&calls, "local"),
        Some("s3-access\ns3-secret\n".to_string())
    );
}
