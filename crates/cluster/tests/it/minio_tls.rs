//! MinIO served with the certificate deploy issues, for real: as many MinIO servers as the
//! rendered Tenant's pool has form one distributed TLS cluster, each with the issued
//! certificate laid out as the MinIO operator mounts an `externalCertSecret` of type
//! `cert-manager.io/v1` (`public.crt`, `private.key`, and `ca.crt` as `CAs/public.crt`, minio/operator
//! `pkg/resources/statefulsets/minio-statefulset.go`), reaching each other by the pod names the
//! operator gives them (`<tenant>-<pool>-<i>.<tenant>-hl.<ns>.svc.cluster.local`). A client
//! holding only what the consumers' trust volume projects (the copied `ca.crt`) gets the
//! cluster's health over `https://minio.<ns>.svc`; a client without it is refused — what
//! happened with the operator's auto-cert, signed by a CSR signer nobody trusts on OpenShift.
//!
//! Stand-ins, named: the servers run in one private network namespace, on addresses of its
//! loopback with one port each (MinIO treats every local address as its own, so distinct ports
//! tell the servers apart); names resolve through that namespace's hosts file; the MinIO build
//! is the module proxy's (the archived repository's last commit; the image's own commit is not
//! served, see .ci/install-minio.sh). Needs `$DATALYPTICA_MINIO`, curl, iproute2 and root for
//! `ip netns`; skips locally without them, fails in CI.

use crate::common;
use common::Procs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datalyptica_cluster::certs::{Ca, ca_common_name};
use datalyptica_platform::component::ComponentId;
use datalyptica_platform::components::minio;
use datalyptica_platform::k8s;
use datalyptica_platform::model::Model;
use datalyptica_platform::security::{SecretSource, secret_inventory};
use datalyptica_platform::{Platform, render};
use serde_json::Value;

fn minio_bin() -> Option<PathBuf> {
    let bin = std::env::var_os("DATALYPTICA_MINIO").map(PathBuf::from);
    let curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    // Network namespaces need root (CI runs as root) and iproute2 (.ci/install-lab.sh).
    let netns = Command::new("ip")
        .args(["netns", "list"])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Path::new("/etc")
            .metadata()
            .is_ok_and(|m| !m.permissions().readonly())
        && std::fs::create_dir_all("/etc/netns").is_ok();
    match bin.filter(|b| b.is_file()) {
        Some(b) if curl && netns => return Some(b),
        _ => {}
    }
    let what = "the MinIO TLS test needs $DATALYPTICA_MINIO (eval \"$(bash .ci/install-minio.sh)\"), curl, iproute2 and root (ip netns)";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{what}");
    eprintln!(
        "\n**************************************************************************\n\
         SKIPPED: {what}\n\
         **************************************************************************"
    );
    None
}

/// A private network namespace whose loopback carries the servers' addresses (outside
/// 127/8: MinIO refuses names that resolve to loopback when it believes it runs in a container),
/// with its own /etc/hosts (`ip netns exec` mounts `/etc/netns/<name>/hosts` over it).
struct Netns(String);

impl Netns {
    fn new(addresses: &[String], hosts: &str) -> Netns {
        let name = format!("datalyptica-minio-{}", std::process::id());
        let ip = |args: &[&str]| {
            let st = Command::new("ip").args(args).status().expect("ip");
            assert!(st.success(), "ip {args:?}");
        };
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        ip(&["netns", "add", &name]);
        let ns = Netns(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        for a in addresses {
            ip(&["-n", &ns.0, "addr", "add", &format!("{a}/32"), "dev", "lo"]);
        }
        let dir = Path::new("/etc/netns").join(&ns.0);
        std::fs::create_dir_all(&dir).expect("/etc/netns");
        std::fs::write(dir.join("hosts"), hosts).expect("hosts");
        ns
    }

    fn exec(&self, argv: &[String]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.0]).args(argv);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        let _ = std::fs::remove_dir_all(Path::new("/etc/netns").join(&self.0));
    }
}

fn ip(i: usize) -> String {
    format!("10.231.0.{}", 10 + i)
}

fn port(i: usize) -> u16 {
    9310 + u16::try_from(i).unwrap_or(0)
}

fn find<'a>(objs: &'a [&Value], kind: &str, name: &str) -> &'a Value {
    objs.iter()
        .copied()
        .find(|o| o["kind"] == kind && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("{kind}/{name} not rendered"))
}

#[test]
fn minio_serves_the_issued_certificate_as_one_cluster_and_consumers_trust_it() {
    let Some(bin) = minio_bin() else {
        return;
    };
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let tree = render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let ns = m.get(ComponentId::Minio).namespace.clone();

    // The Tenant serves the issued Secret, in the layout whose CA the servers trust.
    let tenant = find(&objs, "Tenant", minio::TENANT);
    assert_eq!(tenant["spec"]["requestAutoCert"], false);
    let certs = tenant["spec"]["externalCertSecret"]
        .as_array()
        .expect("externalCertSecret");
    assert_eq!(certs.len(), 1, "{certs:?}");
    assert_eq!(certs[0]["name"], minio::TLS_SECRET);
    assert_eq!(certs[0]["type"], "cert-manager.io/v1");
    let pool = &tenant["spec"]["pools"][0];
    let pool_name = pool["name"].as_str().expect("pool name");
    let servers = pool["servers"].as_u64().expect("servers") as usize;
    assert!(servers >= 4, "an HA tenant has at least four servers");

    // What deploy issues, and what every consumer copies: the CA only.
    let inventory = secret_inventory(&m, &objs);
    let request = inventory
        .iter()
        .find_map(|e| match &e.source {
            SecretSource::Issued { ca, request }
                if e.namespace == ns && e.name == minio::TLS_SECRET =>
            {
                assert_eq!(ca, minio::CA_SECRET);
                Some(request.clone())
            }
            _ => None,
        })
        .expect("minio-tls is issued by deploy");
    let copies: Vec<_> = inventory
        .iter()
        .filter(|e| {
            matches!(&e.source, SecretSource::Copy { namespace, name }
                if *namespace == ns && name == minio::TLS_SECRET)
        })
        .collect();
    for e in &copies {
        assert_eq!(
            e.keys.iter().map(String::as_str).collect::<Vec<_>>(),
            ["ca.crt"],
            "{}/{} copies more than the CA",
            e.namespace,
            e.name
        );
    }
    assert!(
        copies
            .iter()
            .any(|e| e.name == minio::OPERATOR_TRUST_SECRET && e.namespace == m.operators_namespace),
        "the operator trusts the tenant's CA"
    );
    assert!(
        copies.iter().any(|e| e.name == k8s::OBJECT_STORE_CA_SECRET),
        "consumers trust the tenant's CA"
    );

    let scratch =
        std::env::temp_dir().join(format!("datalyptica-minio-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch");
    let mut procs = Procs(vec![], scratch.clone());

    let now = time::OffsetDateTime::now_utc();
    let ca = Ca::new(&ca_common_name(&ns, minio::CA_SECRET), now).expect("CA");
    let leaf: BTreeMap<String, String> = ca.leaf_data(&request, now).expect("issue");

    let host = |i: usize| {
        format!(
            "{}-{pool_name}-{i}.{}.{ns}.svc.cluster.local",
            minio::TENANT,
            minio::HEADLESS
        )
    };
    let mut hosts = String::from("127.0.0.1 localhost\n");
    for i in 0..servers {
        hosts.push_str(&format!("{} {}\n", ip(i), host(i)));
    }
    // The ClusterIP Service: one of the servers behind it.
    let service = format!("{}.{ns}.svc", minio::SERVICE);
    hosts.push_str(&format!("{} {service}\n", ip(0)));
    let addresses: Vec<String> = (0..servers).map(ip).collect();
    let net = Netns::new(&addresses, &hosts);

    let endpoints: Vec<String> = (0..servers)
        .map(|i| {
            format!(
                "https://{}:{}{}",
                host(i),
                port(i),
                scratch.join(format!("data-{i}")).display()
            )
        })
        .collect();
    for i in 0..servers {
        // The operator's mount of a cert-manager.io/v1 Secret at index 0.
        let dir = scratch.join(format!("certs-{i}"));
        std::fs::create_dir_all(dir.join("CAs")).expect("certs dir");
        std::fs::write(dir.join("public.crt"), &leaf["tls.crt"]).expect("crt");
        std::fs::write(dir.join("private.key"), &leaf["tls.key"]).expect("key");
        std::fs::write(dir.join("CAs").join("public.crt"), &leaf["ca.crt"]).expect("ca");
        std::fs::create_dir_all(scratch.join(format!("data-{i}"))).expect("data");
        let mut argv = vec![
            bin.display().to_string(),
            "server".into(),
            "--quiet".into(),
            "--address".into(),
            format!("{}:{}", ip(i), port(i)),
            "--certs-dir".into(),
            dir.display().to_string(),
        ];
        argv.extend(endpoints.iter().cloned());
        let log = std::fs::File::create(scratch.join(format!("minio-{i}.log"))).expect("log");
        procs.0.push(
            net.exec(&argv)
                .env("MINIO_ROOT_USER", "datalyptica-test")
                .env("MINIO_ROOT_PASSWORD", "datalyptica-test-secret")
                .env("MINIO_CI_CD", "1")
                .env("MINIO_BROWSER", "off")
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("minio"),
        );
    }

    // The consumers' trust: the file the trust volume projects from the copied `ca.crt`.
    let trust = scratch.join(k8s::TRUST_OBJECT_STORE_CA);
    std::fs::write(&trust, &leaf["ca.crt"]).expect("trust file");
    let health = |cacert: Option<&Path>| {
        let mut argv = vec![
            "curl".to_string(),
            "-sS".into(),
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{http_code}".into(),
            "--max-time".into(),
            "5".into(),
            // The Service's name, verified as is; the connection goes to server 0's port.
            "--connect-to".into(),
            format!("{service}:443:{}:{}", ip(0), port(0)),
        ];
        if let Some(c) = cacert {
            argv.push("--cacert".into());
            argv.push(c.display().to_string());
        }
        argv.push(format!("https://{service}/minio/health/cluster"));
        net.exec(&argv).output().expect("curl")
    };
    // Healthy cluster = write quorum across the servers, which only internode TLS gives.
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let out = health(Some(&trust));
        let code = String::from_utf8_lossy(&out.stdout).to_string();
        if code == "200" {
            break;
        }
        if Instant::now() > deadline {
            let logs: String = (0..servers)
                .map(|i| {
                    format!(
                        "--- minio-{i} ---\n{}\n",
                        std::fs::read_to_string(scratch.join(format!("minio-{i}.log")))
                            .unwrap_or_default()
                    )
                })
                .collect();
            panic!(
                "MinIO did not become a healthy {servers}-server TLS cluster: HTTP {code} {}\n{logs}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    // Without the tenant's CA the certificate is not trusted (curl: 60, peer certificate
    // cannot be authenticated): what a client trusting only the cluster's bundles sees.
    let untrusted = health(None);
    assert_eq!(
        untrusted.status.code(),
        Some(60),
        "a client without the issued CA must refuse MinIO: {}",
        String::from_utf8_lossy(&untrusted.stderr)
    );
    airflow_task_logs_reach_the_tenant(&objs, &net, &scratch, &trust, &service, port(0));
    drop(procs);
    drop(net);
}

/// Airflow's remote task logs against the running tenant: the rendered `airflow-conn` init
/// script writes the connection from key files laid out as the worker mounts them, and boto3 at
/// the version the Airflow image pins (1.37.3, with the Amazon provider 9.8.0) builds its S3
/// client from that connection's extras as the provider's `AwsConnectionWrapper` does
/// (`endpoint_url`, `region_name`, `verify`, `config_kwargs` → `botocore.config.Config`), then
/// writes and reads a log object under the rendered `remote_base_log_folder`. The same client
/// without `verify` (the public trust store) is refused. Stand-ins, named: the root user as the
/// S3 keys; the Service's port is the test server's (the certificate is checked by name).
fn airflow_task_logs_reach_the_tenant(
    objs: &[&Value],
    net: &Netns,
    scratch: &Path,
    trust: &Path,
    service: &str,
    port: u16,
) {
    let python = PathBuf::from(
        std::env::var("DATALYPTICA_REDIS_CLIENTS_VENV")
            .unwrap_or_else(|_| "/opt/datalyptica/redis-clients-venv".into()),
    )
    .join("bin/python");
    let has_boto3 = Command::new(&python)
        .args(["-c", "import boto3"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_boto3 {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "boto3 missing in CI (run .ci/install-lab.sh)"
        );
        eprintln!(
            "SKIPPED: Airflow remote logging part needs boto3 in {}",
            python.display()
        );
        return;
    }
    let worker = find(objs, "Deployment", "airflow-worker");
    let pod = &worker["spec"]["template"]["spec"];
    let init = pod["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == "airflow-conn")
        .expect("airflow-conn init container");
    let config = find(objs, "ConfigMap", "airflow-config");
    let setting = |k: &str| config["data"][k].as_str().unwrap_or_default().to_string();
    let folder = setting("AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER");
    let conn_id = setting("AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID");
    let conn_file = serde_json::from_str::<Value>(&setting("AIRFLOW__SECRETS__BACKEND_KWARGS"))
        .expect("backend kwargs")["connections_file_path"]
        .as_str()
        .expect("connections_file_path")
        .to_string();

    // The worker's volumes at local paths: the projected Secret files and the memory volume.
    let mut script = init["command"][2].as_str().expect("script").to_string();
    let base = scratch.join("airflow");
    let mut local_conn = PathBuf::new();
    for mt in init["volumeMounts"].as_array().into_iter().flatten() {
        let path = mt["mountPath"].as_str().expect("mountPath");
        let dir = base.join(mt["name"].as_str().expect("name"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        script = script.replace(path, &dir.display().to_string());
        if let Some(rest) = conn_file.strip_prefix(path) {
            local_conn = PathBuf::from(format!("{}{rest}", dir.display()));
        }
        if mt["name"] == "secrets" {
            let vol = pod["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|v| v["name"] == "secrets")
                .expect("secrets volume");
            for src in vol["projected"]["sources"].as_array().into_iter().flatten() {
                for item in src["secret"]["items"].as_array().into_iter().flatten() {
                    let value = match item["key"].as_str() {
                        Some("AWS_ACCESS_KEY_ID") => "datalyptica-test",
                        Some("AWS_SECRET_ACCESS_KEY") => "datalyptica-test-secret",
                        _ => "test-only-not-a-secret",
                    };
                    std::fs::write(dir.join(item["path"].as_str().expect("path")), value)
                        .expect("secret file");
                }
            }
        }
    }
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "airflow-conn: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let conns: Value =
        serde_json::from_str(&std::fs::read_to_string(&local_conn).expect("connection file"))
            .expect("json");
    let mut conn = conns[conn_id.as_str()].clone();
    let extra = &mut conn["extra"];
    let endpoint = extra["endpoint_url"]
        .as_str()
        .expect("endpoint_url")
        .to_string();
    assert!(
        endpoint == format!("https://{service}") || endpoint == format!("https://{service}:443"),
        "{endpoint} is not the tenant's Service"
    );
    extra["endpoint_url"] = Value::String(format!("https://{service}:{port}"));
    assert!(
        extra["verify"]
            .as_str()
            .is_some_and(|v| v.ends_with(k8s::TRUST_OBJECT_STORE_CA)),
        "verify names the projected object-store CA: {extra}"
    );
    extra["verify"] = Value::String(trust.display().to_string());

    let client = r#"
import json, sys
import boto3, botocore.config, botocore.exceptions
conn = json.loads(sys.argv[1]); folder = sys.argv[2]; trusted = sys.argv[3] == "trusted"
extra = conn["extra"]
bucket, _, prefix = folder[len("s3://"):].partition("/")
kwargs = dict(endpoint_url=extra["endpoint_url"], region_name=extra["region_name"],
              config=botocore.config.Config(**extra["config_kwargs"]),
              aws_access_key_id=conn["login"], aws_secret_access_key=conn["password"])
if trusted:
    kwargs["verify"] = extra["verify"]
s3 = boto3.client("s3", **kwargs)
try:
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    key = f"{prefix}/dag_id=d/run_id=r/task_id=t/attempt=1.log"
    s3.put_object(Bucket=bucket, Key=key, Body=b"task log line\n")
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    assert body == b"task log line\n", body
    print("ok")
except botocore.exceptions.SSLError:
    print("ssl-refused")
"#;
    let run = |mode: &str| {
        let argv = vec![
            python.display().to_string(),
            "-c".into(),
            client.into(),
            conn.to_string(),
            folder.clone(),
            mode.into(),
        ];
        let out = net.exec(&argv).output().expect("python");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout).trim(),
            if out.status.success() {
                String::new()
            } else {
                format!(" (failed: {})", String::from_utf8_lossy(&out.stderr))
            }
        )
    };
    assert_eq!(
        run("trusted"),
        "ok",
        "the rendered log connection cannot write logs"
    );
    assert_eq!(run("public-trust"), "ssl-refused");
}
