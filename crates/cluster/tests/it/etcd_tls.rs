//! The rendered etcd, run for real with the certificates deploy issues: three etcd members of
//! the rendered image's release (built from Go modules by .ci/install-etcd.sh,
//! `$DATALYPTICA_ETCD_BIN_DIR`; checked against the image tag) start with the RENDERED StatefulSet arguments (only `$(POD_NAME)`, the mount paths and
//! the `0.0.0.0` listen address are mapped to the machine) and the certificates
//! `datalyptica_cluster::certs` issues for the Secrets the inventory marks as issued, mounted as
//! the pod mounts them. They must form one cluster; the rendered health check (what `status
//! --deep` runs) and the rendered backup CronJob command must succeed. Member names resolve
//! through a hosts file bind-mounted over /etc/hosts in a private mount namespace (`unshare -m`),
//! so the rendered URLs and certificate names are used unchanged. A certificate without client
//! auth — what OpenShift's service CA issues — is refused, which is why the service CA cannot
//! serve etcd. Absent tools skip locally and fail in CI.

use crate::common;
use common::Procs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datalyptica_cluster::certs::Ca;
use datalyptica_platform::model::Model;
use datalyptica_platform::security::{CertRequest, SecretSource, secret_inventory};
use datalyptica_platform::{Platform, render};
use serde_json::Value;

fn ip(i: usize) -> String {
    format!("127.0.0.{}", 81 + i)
}

/// PATH with the etcd release the tree renders first (`$DATALYPTICA_ETCD_BIN_DIR`, from
/// .ci/install-etcd.sh), or the machine's PATH when it is not set (locally only).
fn path() -> std::ffi::OsString {
    let base = std::env::var_os("PATH").unwrap_or_default();
    match std::env::var_os("DATALYPTICA_ETCD_BIN_DIR") {
        Some(dir) => {
            let mut p = dir;
            p.push(":");
            p.push(base);
            p
        }
        None => base,
    }
}

/// The etcd on [`path`] is the rendered image's release (`quay.io/coreos/etcd:v3.5.21` runs
/// etcd 3.5.21): required in CI, a loud note otherwise.
fn check_version(image: &str) {
    let want = image
        .rsplit_once(":v")
        .map(|(_, v)| v)
        .expect("image tag vX.Y.Z");
    let out = Command::new("etcd")
        .arg("--version")
        .env("PATH", path())
        .output()
        .expect("etcd --version");
    let text = String::from_utf8_lossy(&out.stdout);
    let got = text
        .lines()
        .find_map(|l| l.strip_prefix("etcd Version: "))
        .unwrap_or("unknown");
    if got == want {
        return;
    }
    let msg = format!(
        "etcd on PATH is {got}, the rendered image {image} runs {want}: \
         eval \"$(bash .ci/install-etcd.sh)\" (and keep its version with the image)"
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("\n**** NOTE: {msg} ****\n");
}

fn tools_present() -> bool {
    let ok = |cmd: &str, arg: &str| {
        Command::new(cmd)
            .arg(arg)
            .env("PATH", path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let mut missing = vec![];
    for (c, a) in [("etcd", "--version"), ("etcdctl", "version")] {
        if !ok(c, a) {
            missing.push(c.to_string());
        }
    }
    // A private mount namespace for the hosts file needs root (CI runs as root).
    if !Command::new("unshare")
        .args(["-m", "true"])
        .status()
        .is_ok_and(|s| s.success())
    {
        missing.push("unshare -m (root)".into());
    }
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("missing in CI: {missing:?} (run .ci/install-lab.sh as root)");
    }
    eprintln!(
        "\n**************************************************************************\n\
         SKIPPED: etcd TLS test needs {missing:?} (run .ci/install-lab.sh)\n\
         **************************************************************************"
    );
    false
}

/// `cmd args…` inside a mount namespace whose /etc/hosts is `hosts`.
fn with_hosts(hosts: &Path, argv: &[String]) -> Command {
    let mut c = Command::new("unshare");
    c.env("PATH", path())
        .args([
            "-m",
            "sh",
            "-c",
            "mount --bind \"$0\" /etc/hosts && exec \"$@\"",
        ])
        .arg(hosts)
        .args(argv);
    c
}

/// Mount path → local directory for a pod spec's mounts: issued Secrets get their files,
/// anything else an empty directory of its own.
fn map_mounts(
    pod: &Value,
    container: &Value,
    issued: &BTreeMap<String, PathBuf>,
    scratch: &Path,
) -> Vec<(String, PathBuf)> {
    let volumes = pod["volumes"].as_array().cloned().unwrap_or_default();
    let mut out = vec![];
    for m in container["volumeMounts"].as_array().into_iter().flatten() {
        let name = m["name"].as_str().expect("mount name");
        let path = m["mountPath"].as_str().expect("mountPath").to_string();
        let vol = volumes.iter().find(|v| v["name"] == name);
        let local = match vol.and_then(|v| v["secret"]["secretName"].as_str()) {
            Some(secret) => issued
                .get(secret)
                .unwrap_or_else(|| panic!("Secret {secret} is mounted but not issued"))
                .clone(),
            None => {
                let d = scratch.join(format!("vol-{name}"));
                std::fs::create_dir_all(&d).expect("volume dir");
                d
            }
        };
        out.push((path, local));
    }
    // Longest mount paths first, so nested mounts win.
    out.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    out
}

fn localize(arg: &str, mounts: &[(String, PathBuf)]) -> String {
    for (path, local) in mounts {
        if let Some(i) = arg.find(path.as_str()) {
            return format!("{}{}{}", &arg[..i], local.display(), &arg[i + path.len()..]);
        }
    }
    arg.to_string()
}

fn issue_files(dir: &Path, data: &BTreeMap<String, String>) {
    std::fs::create_dir_all(dir).expect("secret dir");
    for (k, v) in data {
        std::fs::write(dir.join(k), v).expect("write key");
    }
}

#[test]
fn rendered_etcd_forms_a_cluster_with_issued_certificates_and_its_clients_connect() {
    if !tools_present() {
        return;
    }
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let tree = render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let sts = objs
        .iter()
        .find(|o| o["kind"] == "StatefulSet" && o["metadata"]["name"] == "etcd")
        .expect("etcd StatefulSet");
    let ns = sts["metadata"]["namespace"].as_str().expect("namespace");
    let replicas = sts["spec"]["replicas"].as_u64().expect("replicas") as usize;
    assert_eq!(replicas, 3, "the ha profile renders three members");
    let image = sts["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .expect("etcd image");
    check_version(image);

    let scratch = std::env::temp_dir().join(format!("datalyptica-etcd-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    let mut procs = Procs(vec![], scratch.clone());

    // The certificates deploy issues: one CA, one Secret per issued inventory entry.
    let now = time::OffsetDateTime::now_utc();
    let ca = Ca::new("test etcd ca", now).expect("ca");
    let mut issued: BTreeMap<String, PathBuf> = BTreeMap::new();
    for e in secret_inventory(&m, &objs) {
        // etcd's own: other components' issued certificates live in their namespaces.
        if let SecretSource::Issued { request, .. } = &e.source
            && e.namespace == ns
        {
            let dir = scratch.join("secrets").join(&e.name);
            issue_files(&dir, &ca.leaf_data(request, now).expect("issue"));
            issued.insert(e.name.clone(), dir);
        }
    }
    assert!(
        issued.len() >= 2,
        "member and client certificates: {issued:?}"
    );

    let mut hosts = String::from("127.0.0.1 localhost\n");
    for i in 0..replicas {
        hosts.push_str(&format!(
            "{} etcd-{i}.etcd-headless.{ns}.svc etcd-headless.{ns}.svc\n",
            ip(i)
        ));
    }
    let hosts_file = scratch.join("hosts");
    std::fs::write(&hosts_file, hosts).expect("hosts");

    let pod = &sts["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let cmd: Vec<String> = container["command"]
        .as_array()
        .expect("command")
        .iter()
        .chain(container["args"].as_array().expect("args"))
        .map(|a| a.as_str().expect("arg").to_string())
        .collect();
    let mut member_mounts = vec![];
    for i in 0..replicas {
        let member = scratch.join(format!("member-{i}"));
        std::fs::create_dir_all(&member).expect("member dir");
        let mounts = map_mounts(pod, container, &issued, &member);
        let argv: Vec<String> = cmd
            .iter()
            .map(|a| {
                localize(
                    &a.replace("$(POD_NAME)", &format!("etcd-{i}"))
                        .replace("0.0.0.0", &ip(i)),
                    &mounts,
                )
            })
            .collect();
        let log = std::fs::File::create(member.join("etcd.log")).expect("log");
        procs.0.push(
            with_hosts(&hosts_file, &argv)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("etcd"),
        );
        member_mounts.push(mounts);
    }

    // The rendered health check, as `status --deep` runs it in etcd-0 (its JSON form).
    let check = datalyptica_cluster::deep::checks(&m)
        .into_iter()
        .find(|c| c.probe == datalyptica_cluster::deep::Probe::Etcd)
        .expect("etcd deep check");
    let argv: Vec<String> = check
        .target
        .argv
        .iter()
        .map(|a| localize(a, &member_mounts[0]))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let out = with_hosts(&hosts_file, &argv).output().expect("etcdctl");
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success()
            && let Ok(v) = serde_json::from_str::<Value>(&text)
            && v.as_array().is_some_and(|a| {
                a.len() == replicas && a.iter().all(|e| e["Status"]["leader"].as_u64() > Some(0))
            })
        {
            break v;
        }
        if Instant::now() > deadline {
            let logs: Vec<String> = (0..replicas)
                .map(|i| {
                    std::fs::read_to_string(scratch.join(format!("member-{i}/etcd.log")))
                        .unwrap_or_default()
                        .lines()
                        .rev()
                        .take(8)
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect();
            panic!(
                "etcd did not form a {replicas}-member cluster: {}\n{text}\nlogs:\n{}",
                String::from_utf8_lossy(&out.stderr),
                logs.join("\n---\n")
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    let leaders: std::collections::BTreeSet<u64> = status
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["Status"]["leader"].as_u64())
        .collect();
    assert_eq!(leaders.len(), 1, "one leader for all members: {status}");
    // What `status --deep` parses.
    let parsed = datalyptica_cluster::deep::parse_etcd_status(&status.to_string())
        .expect("deep parser reads the rendered check's output");
    assert_eq!(parsed.endpoints.len(), replicas);

    // The rendered backup CronJob's command, with its mounts.
    let cj = objs
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "etcd-backup")
        .expect("etcd-backup CronJob");
    let job_pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let snapshot = job_pod["containers"]
        .as_array()
        .into_iter()
        .chain(job_pod["initContainers"].as_array())
        .flatten()
        .find(|c| c["command"][0] == "etcdctl")
        .expect("etcdctl container in the backup job");
    let job_dir = scratch.join("backup-job");
    let mounts = map_mounts(job_pod, snapshot, &issued, &job_dir);
    let argv: Vec<String> = snapshot["command"]
        .as_array()
        .expect("command")
        .iter()
        .map(|a| localize(a.as_str().expect("arg"), &mounts))
        .collect();
    let out = with_hosts(&hosts_file, &argv).output().expect("backup");
    assert!(
        out.status.success(),
        "rendered backup command failed: {argv:?}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = argv.last().expect("snapshot path");
    let size = std::fs::metadata(saved).map(|x| x.len()).unwrap_or(0);
    assert!(size > 0, "no snapshot at {saved}");

    // The break this replaces: a server-auth-only certificate (what OpenShift's service CA
    // issues) is refused as a client, even from the trusted CA.
    let server_only = scratch.join("secrets/server-only");
    issue_files(
        &server_only,
        &ca.leaf_data(
            &CertRequest {
                common_name: "serving".into(),
                dns_names: vec![format!("etcd-headless.{ns}.svc")],
                server: true,
                client: false,
            },
            now,
        )
        .expect("issue"),
    );
    let refused: Vec<String> = argv
        .iter()
        .map(|a| {
            a.replace(
                &issued["etcd-client-tls"].display().to_string(),
                &server_only.display().to_string(),
            )
        })
        .map(|a| a.replace("--dial-timeout=10s", "--dial-timeout=3s"))
        .map(|a| a.replace("--command-timeout=300s", "--command-timeout=5s"))
        .collect();
    let out = with_hosts(&hosts_file, &refused).output().expect("etcdctl");
    assert!(
        !out.status.success(),
        "etcd accepted a client certificate without clientAuth"
    );
    drop(procs);
}
