//! The Spark History Server's S3A jars, fetched for real: the rendered `s3a-jars` init script
//! runs with `sh` and curl against a mirror of Maven Central (`.ci/install-s3a-jars.sh` downloads
//! the two artifacts and checks them against the SHA-1 Maven Central publishes; the script's
//! base URL is the only thing rewritten). The tree's sha256 pins must accept the real artifacts,
//! the jars must land where `SPARK_DAEMON_CLASSPATH` says, `hadoop-aws` must hold the S3A
//! filesystem class, and a jar with one byte changed must be refused with nothing left on the
//! class path. Without the mirror the test skips locally and fails in CI.

use std::path::{Path, PathBuf};
use std::process::Command;

use datalyptica_platform::components::spark;
use serde_json::Value;

fn mirror() -> Option<PathBuf> {
    let dir = std::env::var("DATALYPTICA_MAVEN_MIRROR")
        .ok()
        .and_then(|u| u.strip_prefix("file://").map(PathBuf::from))
        .filter(|d| d.is_dir());
    if dir.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("DATALYPTICA_MAVEN_MIRROR is not set in CI (run .ci/install-s3a-jars.sh)");
        }
        eprintln!(
            "\n**************************************************************************\n\
             SKIPPED: the S3A jar test needs DATALYPTICA_MAVEN_MIRROR (.ci/install-s3a-jars.sh)\n\
             **************************************************************************"
        );
    }
    dir
}

/// Runs `script` with its jar directory and Maven Central's URL mapped to the machine.
fn run(script: &str, jars: &Path, central: &str) -> std::process::Output {
    let script = script
        .replace("/opt/s3a-jars", &jars.display().to_string())
        .replace(spark::MAVEN_CENTRAL, central);
    Command::new("sh")
        .args(["-c", &script])
        .output()
        .expect("sh")
}

fn has_entry(jar: &Path, entry: &str) -> bool {
    let code = format!(
        "import sys, zipfile; sys.exit(0 if {entry:?} in zipfile.ZipFile({:?}).namelist() else 1)",
        jar.display().to_string()
    );
    Command::new("python3")
        .args(["-c", &code])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn the_history_server_fetches_the_pinned_s3a_jars_and_refuses_others() {
    let Some(mirror) = mirror() else {
        return;
    };
    let tree = datalyptica_platform::render(&datalyptica_platform::Platform::default_ha());
    let deployment = tree
        .objects()
        .map(|(_, o)| o)
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == spark::HISTORY)
        .expect("History Server Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let init = pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "s3a-jars")
        .expect("s3a-jars init container");
    let script = init["command"][2].as_str().expect("sh -c script");
    assert!(script.contains(spark::MAVEN_CENTRAL), "{script}");
    let server = pod["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "history-server")
        .expect("history-server container");
    let classpath = server["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "SPARK_DAEMON_CLASSPATH")
        .and_then(|e| e["value"].as_str())
        .expect("SPARK_DAEMON_CLASSPATH");
    // The server reads the volume the init container writes.
    let mount = |c: &Value| -> Option<String> {
        c["volumeMounts"]
            .as_array()?
            .iter()
            .find(|m| m["name"] == "s3a-jars")
            .and_then(|m| m["mountPath"].as_str())
            .map(String::from)
    };
    let dir = mount(init).expect("init container mounts s3a-jars");
    assert_eq!(mount(server).as_deref(), Some(dir.as_str()));

    let scratch = std::env::temp_dir().join(format!("datalyptica-s3a-jars-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    let jars = scratch.join("jars");
    std::fs::create_dir_all(&jars).expect("jars dir");
    let central = format!("file://{}", mirror.display());
    let out = run(script, &jars, &central);
    assert!(
        out.status.success(),
        "the pins refuse the real artifacts: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for entry in classpath.split(':') {
        let file = Path::new(entry)
            .strip_prefix(&dir)
            .unwrap_or_else(|_| panic!("{entry} is outside {dir}"));
        assert!(jars.join(file).is_file(), "{entry} was not fetched");
    }
    assert_eq!(classpath.split(':').count(), spark::S3A_JARS.len());
    assert!(
        has_entry(
            &jars.join("hadoop-aws-3.3.4.jar"),
            "org/apache/hadoop/fs/s3a/S3AFileSystem.class"
        ),
        "hadoop-aws holds no S3AFileSystem"
    );

    // A tampered mirror: one byte of hadoop-aws changed. The script fails and leaves no jar.
    let tampered = scratch.join("tampered");
    for (path, _) in spark::S3A_JARS {
        let to = tampered.join(path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(mirror.join(path), &to).expect("copy");
    }
    let victim = tampered.join(spark::S3A_JARS[0].0);
    let mut bytes = std::fs::read(&victim).expect("read");
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&victim, bytes).expect("write");
    let jars2 = scratch.join("jars2");
    std::fs::create_dir_all(&jars2).expect("jars dir");
    let out = run(script, &jars2, &format!("file://{}", tampered.display()));
    assert!(!out.status.success(), "a tampered jar was accepted");
    let left: Vec<String> = std::fs::read_dir(&jars2)
        .expect("read dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".jar"))
        .collect();
    assert!(
        left.is_empty(),
        "jars on the class path after a refusal: {left:?}"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}
