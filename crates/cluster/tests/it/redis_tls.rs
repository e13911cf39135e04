//! The rendered Redis, run for real with the certificate deploy issues: three `redis-server`s
//! and three `redis-sentinel`s from Debian start with the rendered additional configuration
//! (TLS only, replication over TLS, `min-replicas-to-write`) after what the images' entrypoints
//! write from the operator's variables (`requirepass`/`masterauth` from `redisSecret`). The
//! certificate and its CA come from `datalyptica_cluster::certs` for the Secret the inventory
//! marks as issued, laid out as the operator mounts `TLS.secret` at `/tls`; the clients' CA is
//! the `ca.crt` of the copy they project. The test then does what redis-operator v0.26.0 does
//! (read in its source: `internal/controller/common/redis/heal.go`, `internal/service/redis`):
//! `REPLICAOF` on the replicas and, on every Sentinel, `SENTINEL MONITOR` with the rendered
//! quorum, `SENTINEL SET auth-pass` with the password of the Secret that
//! `redisReplicationPassword` names, and `SENTINEL SET` of the rendered timings, each over TLS
//! presenting the CR's certificate, as the operator's client does. Then the rendered Superset
//! and Airflow client settings run with the Celery, kombu, redis-py and Flask-Caching versions
//! those images ship (`.ci/install-lab.sh` builds the venv), the rendered `redis-backup` script
//! takes a snapshot, the master is killed, the Sentinels promote a replica, and the backup
//! script finds and dumps the new master. Absent tools skip locally and fail in CI.

use crate::common;
use common::Procs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use datalyptica_cluster::certs::Ca;
use datalyptica_platform::components::redis;
use datalyptica_platform::model::Model;
use datalyptica_platform::security::{SecretSource, secret_inventory};
use datalyptica_platform::{Platform, render};
use serde_json::Value;

/// Data nodes (the first starts as master) and Sentinels, on loopback addresses of their own.
const NODES: [&str; 3] = ["127.0.0.51", "127.0.0.52", "127.0.0.53"];
const SENTINELS: [&str; 3] = ["127.0.0.54", "127.0.0.55", "127.0.0.56"];

fn venv() -> PathBuf {
    PathBuf::from(
        std::env::var("DATALYPTICA_REDIS_CLIENTS_VENV")
            .unwrap_or_else(|_| "/opt/datalyptica/redis-clients-venv".into()),
    )
}

/// Everything the test runs, or None after announcing the skip (a panic in CI).
fn tools_present() -> bool {
    let python = venv().join("bin/python");
    let missing: Vec<String> = ["redis-server", "redis-sentinel", "redis-cli"]
        .iter()
        .filter(|b| {
            !Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        })
        .map(|b| b.to_string())
        .chain(
            (!Command::new(&python)
                .args(["-c", "import celery, flask_caching"])
                .status()
                .is_ok_and(|s| s.success()))
            .then(|| python.display().to_string()),
        )
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("missing in CI: {missing:?} (run .ci/install-lab.sh)");
    }
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n**************************************************************************\n\
         SKIPPED: Redis TLS client test needs {missing:?} (run .ci/install-lab.sh)\n\
         **************************************************************************"
    );
    false
}

fn config_map<'a>(objs: &'a [Value], name: &str) -> &'a Value {
    objs.iter()
        .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("ConfigMap {name} not rendered"))
}

/// The volume of `pod` that projects Secret `secret` as files, laid out under `local` as the
/// kubelet would: each item's value from `values` (Secret, key), placeholders for others (`uri`
/// a SQLite URL a settings module can open). Returns where `container` mounts it, for
/// rewriting the rendered paths to `local`.
fn lay_out_secret_files(
    pod: &Value,
    container: &Value,
    secret: &str,
    values: &BTreeMap<(String, String), String>,
    local: &Path,
) -> String {
    let volume = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["projected"]["sources"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|s| s["secret"]["name"] == secret)
        })
        .unwrap_or_else(|| panic!("{} mounts no file of {secret}", container["name"]));
    std::fs::create_dir_all(local).expect("secrets dir");
    for src in volume["projected"]["sources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = src["secret"]["name"].as_str().unwrap_or_default();
        for item in src["secret"]["items"].as_array().into_iter().flatten() {
            let key = item["key"].as_str().unwrap_or_default();
            let value = match values.get(&(name.to_string(), key.to_string())) {
                Some(v) => v.as_str(),
                None if key == "uri" => "sqlite://",
                None => "test-only-not-a-secret",
            };
            let file = item["path"].as_str().expect("path");
            std::fs::write(local.join(file), value).expect("secret file");
        }
    }
    container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|m| m["name"] == volume["name"])
        .and_then(|m| m["mountPath"].as_str())
        .unwrap_or_else(|| panic!("{} does not mount {}", container["name"], volume["name"]))
        .to_string()
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn rendered_redis_serves_tls_fails_over_and_the_rendered_clients_follow() {
    if !tools_present() {
        return;
    }
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let tree = render(&p);
    let objs: Vec<Value> = tree.objects().map(|(_, o)| o.clone()).collect();
    let find = |kind: &str| {
        objs.iter()
            .find(|o| o["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind} rendered"))
    };
    let replication = find("RedisReplication");
    let rs = find("RedisSentinel");
    let ns = replication["metadata"]["namespace"]
        .as_str()
        .expect("namespace")
        .to_string();
    assert_eq!(
        replication["spec"]["clusterSize"].as_u64(),
        Some(NODES.len() as u64)
    );
    assert_eq!(
        rs["spec"]["clusterSize"].as_u64(),
        Some(SENTINELS.len() as u64)
    );
    let dir = std::env::temp_dir().join(format!("datalyptica-redis-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    let mut procs = Procs(Vec::new(), dir.clone());

    // The certificate deploy issues for the Secret both CRs mount, laid out as `/tls`.
    let refs: Vec<&Value> = objs.iter().collect();
    let inventory = secret_inventory(&m, &refs);
    let tls = &replication["spec"]["TLS"];
    assert_eq!(
        tls, &rs["spec"]["TLS"],
        "data nodes and Sentinels share one certificate"
    );
    let secret = tls["secret"]["secretName"].as_str().expect("TLS.secret");
    let request = inventory
        .iter()
        .find_map(|e| match &e.source {
            SecretSource::Issued { request, .. } if e.namespace == ns && e.name == secret => {
                Some(request.clone())
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("{ns}/{secret} is not issued by deploy"));
    let now = time::OffsetDateTime::now_utc();
    let ca = Ca::new("test redis ca", now).expect("ca");
    let issued = ca.leaf_data(&request, now).expect("issue");
    let tls_dir = dir.join("tls");
    std::fs::create_dir_all(&tls_dir).expect("tls dir");
    for (k, v) in &issued {
        std::fs::write(tls_dir.join(k), v).expect("key file");
    }
    // The operator reads these keys of the Secret (its own client) and the pods these files.
    let file = |f: &str| tls_dir.join(tls[f].as_str().expect("TLS file name"));
    for f in ["ca", "cert", "key"] {
        assert!(
            file(f).exists(),
            "TLS.{f} names no key of the issued Secret"
        );
    }
    let wrong_ca = dir.join("wrong-ca.crt");
    std::fs::write(&wrong_ca, &Ca::new("another ca", now).expect("ca").cert_pem).expect("wrong ca");

    // Every Secret value the pods read: the password, and the clients' copies of the CA.
    let password = "s3cret-Pass_word";
    let auth = &replication["spec"]["kubernetesConfig"]["redisSecret"];
    assert_eq!(auth["name"], redis::AUTH_SECRET);
    let sentinel_pw =
        &rs["spec"]["redisSentinelConfig"]["redisReplicationPassword"]["secretKeyRef"];
    assert_eq!(
        (&sentinel_pw["name"], &sentinel_pw["key"]),
        (&auth["name"], &auth["key"]),
        "the Sentinels must authenticate with the data nodes' password"
    );
    let mut values: BTreeMap<(String, String), String> = BTreeMap::new();
    values.insert(
        (redis::AUTH_SECRET.into(), redis::AUTH_KEY.into()),
        password.into(),
    );
    for e in &inventory {
        if let SecretSource::Copy { namespace, name } = &e.source
            && namespace == &ns
            && name == secret
        {
            for k in &e.keys {
                assert_ne!(
                    k, "tls.key",
                    "{}/{} copies the private key",
                    e.namespace, e.name
                );
                let v = issued.get(k).unwrap_or_else(|| panic!("no {k} to copy"));
                values.insert((e.name.clone(), k.clone()), v.clone());
            }
        }
    }
    assert!(
        values.contains_key(&(redis::CLIENT_CA_SECRET.into(), "ca.crt".into())),
        "the clients' CA copy is in the inventory"
    );

    // Airflow's Celery module and superset_config.py read their secrets from the files their
    // pods mount: found from the rendered pods, each written to a local directory that the
    // settings are rewritten to.
    let mut secret_dirs: Vec<(String, PathBuf)> = Vec::new();
    for deployment in ["airflow-worker", "superset-web"] {
        let w = objs
            .iter()
            .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == deployment)
            .unwrap_or_else(|| panic!("no {deployment}"));
        let pod = &w["spec"]["template"]["spec"];
        let local_dir = dir.join("secrets").join(deployment);
        let mount = lay_out_secret_files(
            pod,
            &pod["containers"][0],
            redis::AUTH_SECRET,
            &values,
            &local_dir,
        );
        secret_dirs.push((mount, local_dir));
    }
    let local = |text: &str| {
        let text = secret_dirs
            .iter()
            .fold(text.to_string(), |t, (mount, dir)| {
                t.replace(&format!("{mount}/"), &format!("{}/", dir.display()))
            });
        text.replace("/tls/", &format!("{}/", tls_dir.display()))
            .replace(
                &format!("{}-sentinel.{ns}.svc", redis::SENTINEL),
                SENTINELS[0],
            )
    };
    let data = |cm: &str, k: &str| {
        config_map(&objs, cm)["data"][k]
            .as_str()
            .unwrap_or_else(|| panic!("{cm} has no {k}"))
            .to_string()
    };
    // The operator takes ConfigMap names and mounts them; the keys are the file names the
    // entrypoints include last.
    let server = local(&data(
        replication["spec"]["redisConfig"]["additionalRedisConfig"]
            .as_str()
            .expect("additionalRedisConfig"),
        "redis-additional.conf",
    ));
    let sc = &rs["spec"]["redisSentinelConfig"];
    let sentinel = local(&data(
        sc["additionalSentinelConfig"]
            .as_str()
            .expect("additionalSentinelConfig"),
        "redis-sentinel-additional.conf",
    ));
    let text = |k: &str| sc[k].as_str().unwrap_or_else(|| panic!("{k}")).to_string();
    let group = text("masterGroupName");

    for ip in NODES {
        let d = dir.join(ip);
        std::fs::create_dir_all(&d).expect("data dir");
        // What the image's entrypoint writes before our file (`requirepass`/`masterauth` from
        // REDIS_PASSWORD), then our file (included last).
        let conf = format!(
            "bind {ip}\nreplica-announce-ip {ip}\ndir {}\nsave \"\"\nrequirepass {password}\nmasterauth {password}\n{server}",
            d.display()
        );
        let path = d.join("redis.conf");
        std::fs::write(&path, conf).expect("conf");
        procs.0.push(
            Command::new("redis-server")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server"),
        );
    }
    for ip in SENTINELS {
        let d = dir.join(ip);
        std::fs::create_dir_all(&d).expect("sentinel dir");
        let path = d.join("sentinel.conf");
        std::fs::write(
            &path,
            // On loopback every connection leaves from 127.0.0.1: announce the address a pod's
            // own IP would be.
            format!(
                "bind {ip}\nsentinel announce-ip {ip}\ndir {}\n{sentinel}",
                d.display()
            ),
        )
        .expect("sentinel conf");
        procs.0.push(
            Command::new("redis-sentinel")
                .arg(&path)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-sentinel"),
        );
    }

    // The operator's client: TLS with the CR's certificate, verifying against its `ca.crt`;
    // the data nodes' password, none for the Sentinels (their `redisSecret` is unset).
    let as_operator = |host: &str, port: &str, args: &[&str]| -> String {
        let mut c = Command::new("redis-cli");
        if port == "6379" {
            c.env("REDISCLI_AUTH", password);
        }
        let out = c
            .args(["--tls", "--cert"])
            .arg(file("cert"))
            .arg("--key")
            .arg(file("key"))
            .arg("--cacert")
            .arg(file("ca"))
            .args(["-h", host, "-p", port, "--raw"])
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert!(
        rs["spec"]["kubernetesConfig"].get("redisSecret").is_none(),
        "a Sentinel password would have to be given to the operator's client here too"
    );
    wait_until("every server to answer over TLS", || {
        NODES
            .iter()
            .map(|ip| (*ip, "6379"))
            .chain(SENTINELS.iter().map(|ip| (*ip, "26379")))
            .all(|(ip, port)| as_operator(ip, port, &["PING"]) == "PONG")
    });
    for ip in &NODES[1..] {
        assert_eq!(
            as_operator(ip, "6379", &["REPLICAOF", NODES[0], "6379"]),
            "OK"
        );
    }
    for ip in SENTINELS {
        // `SentinelMonitor`, `SentinelSet` and `SentinelReset` of heal.go, in that order.
        assert_eq!(
            as_operator(
                ip,
                "26379",
                &[
                    "SENTINEL",
                    "MONITOR",
                    &group,
                    NODES[0],
                    "6379",
                    &text("quorum")
                ]
            ),
            "OK"
        );
        assert_eq!(
            as_operator(
                ip,
                "26379",
                &["SENTINEL", "SET", &group, "auth-pass", password]
            ),
            "OK"
        );
        for (k, v) in [
            ("down-after-milliseconds", "downAfterMilliseconds"),
            ("parallel-syncs", "parallelSyncs"),
            ("failover-timeout", "failoverTimeout"),
        ] {
            assert_eq!(
                as_operator(ip, "26379", &["SENTINEL", "SET", &group, k, &text(v)]),
                "OK"
            );
        }
        as_operator(ip, "26379", &["SENTINEL", "RESET", &group]);
    }

    wait_until("both replicas to sync over TLS", || {
        // `min-replicas-to-write` counts a replica only once it acknowledged within max-lag.
        as_operator(NODES[0], "6379", &["INFO", "replication"]).contains("connected_slaves:2")
    });
    let master_view = |ip: &str| as_operator(ip, "26379", &["SENTINEL", "MASTER", &group]);
    wait_until(
        "every Sentinel to see the master, its replicas and the others",
        || {
            SENTINELS.iter().all(|ip| {
                let v: Vec<String> = master_view(ip).lines().map(String::from).collect();
                let field = |k: &str| {
                    v.iter()
                        .position(|l| l == k)
                        .and_then(|i| v.get(i + 1))
                        .cloned()
                        .unwrap_or_default()
                };
                field("flags") == "master"
                    && field("num-slaves") == "2"
                    && field("num-other-sentinels") == "2"
            })
        },
    );
    // TLS only: the rendered `port 0` leaves nothing plain.
    let plain = Command::new("redis-cli")
        .args(["-h", NODES[0], "-p", "6379", "PING"])
        .output()
        .expect("redis-cli");
    assert!(
        !String::from_utf8_lossy(&plain.stdout).contains("PONG"),
        "the master answered plain TCP"
    );

    // The rendered Python settings, rewritten to the lab.
    let conf = dir.join("conf");
    std::fs::create_dir_all(conf.join("airflow/providers/celery/executors")).expect("conf dir");
    let superset_cm = objs
        .iter()
        .find(|o| o["kind"] == "ConfigMap" && o["data"]["superset_config.py"].is_string())
        .expect("superset config");
    std::fs::write(
        conf.join("superset_config.py"),
        local(
            superset_cm["data"]["superset_config.py"]
                .as_str()
                .unwrap_or_default(),
        ),
    )
    .expect("superset_config.py");
    std::fs::write(
        conf.join("datalyptica_celery.py"),
        local(&data("airflow-celery", "datalyptica_celery.py")),
    )
    .expect("datalyptica_celery.py");
    // Airflow's defaults come from its environment: the rendered broker URL and master name.
    let env = &config_map(&objs, "airflow-config")["data"];
    let broker = local(
        env["AIRFLOW__CELERY__BROKER_URL"]
            .as_str()
            .expect("broker url"),
    );
    let master = env["AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__MASTER_NAME"]
        .as_str()
        .expect("master name");
    for pkg in [
        "airflow",
        "airflow/providers",
        "airflow/providers/celery",
        "airflow/providers/celery/executors",
    ] {
        std::fs::write(conf.join(pkg).join("__init__.py"), "").expect("package");
    }
    std::fs::write(
        conf.join("airflow/providers/celery/executors/default_celery.py"),
        format!(
            "DEFAULT_CELERY_CONFIG = {{\"broker_url\": {broker:?}, \"broker_transport_options\": {{\"master_name\": {master:?}}}}}\n"
        ),
    )
    .expect("default_celery.py");

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/redis_tls/clients.py");
    let out = Command::new(venv().join("bin/python"))
        .arg(&script)
        // No password in the environment: the settings must read the files.
        .env_remove(redis::PASSWORD_ENV)
        .env("CONF_DIR", &conf)
        .env("WRONG_CA", &wrong_ca)
        .env("MASTER_GROUP", &group)
        .output()
        .expect("python");
    let text_out = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "rendered clients failed:\n{text_out}");
    let report: Value = serde_json::from_str(text_out.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}: {text_out}"));
    for k in [
        "superset_cache",
        "superset_celery",
        "airflow_celery",
        "untrusted_ca_refused",
        "plain_tcp_refused",
        "unauthenticated_refused",
    ] {
        assert_eq!(report[k], "ok", "{k}: {text_out}");
    }
    // The messages reached the master, and the replicas have them: TLS replication carried them.
    for ip in &NODES[1..] {
        for db in ["0", "2"] {
            wait_until(&format!("the broker queue in db {db} on {ip}"), || {
                as_operator(ip, "6379", &["-n", db, "LLEN", "celery"])
                    .parse::<u64>()
                    .is_ok_and(|n| n >= 1)
            });
        }
    }

    // The rendered redis-backup script: master from Sentinel, RDB over TLS with the password.
    let cj = objs
        .iter()
        .find(|o| o["kind"] == "CronJob" && o["metadata"]["name"] == "redis-backup")
        .expect("redis-backup CronJob");
    let pod = &cj["spec"]["jobTemplate"]["spec"]["template"]["spec"];
    let dump = pod["containers"]
        .as_array()
        .into_iter()
        .chain(pod["initContainers"].as_array())
        .flatten()
        .find(|c| c["name"] == "dump")
        .expect("dump container");
    let backup_secrets = dir.join("backup-secrets");
    let mount = lay_out_secret_files(pod, dump, redis::AUTH_SECRET, &values, &backup_secrets);
    assert!(
        !dump["env"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|e| e["valueFrom"]["secretKeyRef"].is_object()),
        "no secret in the backup's environment"
    );
    let backup_script = dump["command"]
        .as_array()
        .into_iter()
        .chain(dump["args"].as_array())
        .flatten()
        .filter_map(Value::as_str)
        .find(|a| a.contains("redis-cli"))
        .expect("backup script");
    let backup_dir = dir.join("backup");
    std::fs::create_dir_all(&backup_dir).expect("backup dir");
    let backup_script = local(backup_script)
        .replace(
            &format!("{mount}/"),
            &format!("{}/", backup_secrets.display()),
        )
        .replace("/backup/", &format!("{}/", backup_dir.display()));
    let backup = || {
        let _ = std::fs::remove_file(backup_dir.join("dump.rdb"));
        let out = Command::new("sh")
            .args(["-c", &backup_script])
            .env_remove("REDIS_PASSWORD")
            .env_remove("REDISCLI_AUTH")
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "rendered redis-backup script failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            std::fs::metadata(backup_dir.join("dump.rdb")).is_ok_and(|m| m.len() > 0),
            "no RDB snapshot"
        );
    };
    backup();

    // Failover: the master dies; the Sentinels, authenticated and over TLS, promote a replica
    // and point the other one at it, and the backup follows Sentinel to the new master.
    procs.0[0].kill().expect("kill the master");
    let _ = procs.0[0].wait();
    let addr = || {
        as_operator(
            SENTINELS[1],
            "26379",
            &["SENTINEL", "get-master-addr-by-name", &group],
        )
    };
    let deadline = Instant::now()
        + Duration::from_millis(
            text("downAfterMilliseconds").parse::<u64>().expect("ms")
                + text("failoverTimeout").parse::<u64>().expect("ms"),
        )
        + Duration::from_secs(10);
    let promoted = loop {
        let now_master = addr().lines().next().unwrap_or_default().to_string();
        if now_master != NODES[0] && NODES.contains(&now_master.as_str()) {
            break now_master;
        }
        assert!(
            Instant::now() < deadline,
            "no failover: Sentinel still says {now_master}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let other = NODES[1..]
        .iter()
        .find(|ip| **ip != promoted)
        .expect("the other replica");
    wait_until("the promoted replica to serve as master", || {
        as_operator(&promoted, "6379", &["ROLE"]).starts_with("master")
    });
    wait_until(
        "the other replica to follow the new master over TLS",
        || {
            let info = as_operator(other, "6379", &["INFO", "replication"]);
            info.contains(&format!("master_host:{promoted}"))
                && info.contains("master_link_status:up")
        },
    );
    assert_eq!(
        as_operator(&promoted, "6379", &["SET", "after-failover", "1"]),
        "OK",
        "the new master accepts writes (min-replicas-to-write met by the other replica)"
    );
    backup();
    drop(procs);
}
