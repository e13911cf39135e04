//! The rendered PostgresCluster against a real PostgreSQL 15 (Debian's, what `.ci/install-lab.sh`
//! installs): every consumer user is created the way PGO creates it (`CREATE DATABASE`, `CREATE
//! USER`, `ALTER ROLE … PASSWORD`, `GRANT ALL PRIVILEGES ON DATABASE`, then, when the cluster
//! carries the `autoCreateUserSchema` annotation, `CREATE SCHEMA IF NOT EXISTS "<user>"
//! AUTHORIZATION "<user>"` in each of its databases), and then each consumer creates its first
//! table over TCP with its password and the session settings it renders. From PostgreSQL 15 that
//! fails in schema `public`: a control user created without the schema shows the refusal.
//! Absent tools skip locally and fail in CI.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use datalyptica_platform::components::postgresql;
use datalyptica_platform::{Platform, render};
use serde_json::Value;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";
const HOST: &str = "127.0.0.71";

fn tools_present() -> bool {
    let missing: Vec<String> = [
        format!("{PG_BIN}/initdb"),
        format!("{PG_BIN}/postgres"),
        "/usr/bin/psql".into(),
        "/usr/bin/setpriv".into(),
    ]
    .into_iter()
    .filter(|b| !Path::new(b).exists())
    .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("missing in CI: {missing:?} (run .ci/install-lab.sh)");
    }
    eprintln!(
        "\n**************************************************************************\n\
         SKIPPED: PostgreSQL user-schema test needs {missing:?} (run .ci/install-lab.sh)\n\
         **************************************************************************"
    );
    false
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// A command run as user `postgres` when the test runs as root (PostgreSQL refuses root).
fn as_postgres(bin: &str) -> Command {
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
            bin,
        ]);
        c
    } else {
        Command::new(bin)
    }
}

struct Server {
    child: Child,
    dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn psql(port: u16, socket: &Path, db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-t",
            "-A",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            &socket.display().to_string(),
            "-p",
            &port.to_string(),
            "-U",
            "postgres",
            "-d",
            db,
            "-c",
            sql,
        ])
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// The consumer's own connection: TCP, password authentication, no superuser.
fn as_user(port: u16, user: &str, password: &str, db: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args(["-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .arg(format!(
            "host={HOST} port={port} dbname={db} user={user} sslmode=disable"
        ))
        .env("PGPASSWORD", password)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

fn start() -> (Server, u16, PathBuf) {
    let dir = std::env::temp_dir().join(format!("datalyptica-pg-schema-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch");
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres", &dir.display().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown {} to postgres", dir.display());
    }
    let data = dir.join("data");
    let out = as_postgres(&format!("{PG_BIN}/initdb"))
        .args([
            "-D",
            &data.display().to_string(),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .output()
        .expect("initdb");
    assert!(
        out.status.success(),
        "initdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // PGO's pg_hba admits the users over TCP with scram-sha-256.
    let hba = data.join("pg_hba.conf");
    let mut text = std::fs::read_to_string(&hba).expect("pg_hba");
    text.push_str("host all all 127.0.0.0/8 scram-sha-256\n");
    std::fs::write(&hba, text).expect("pg_hba");
    // A port per test process: other worktrees may run this test at the same time.
    let port = 20_000 + u16::try_from(std::process::id() % 20_000).unwrap_or(0);
    let child = as_postgres(&format!("{PG_BIN}/postgres"))
        .args([
            "-D",
            &data.display().to_string(),
            "-p",
            &port.to_string(),
            "-c",
            &format!("listen_addresses={HOST}"),
            "-c",
            &format!("unix_socket_directories={}", dir.display()),
            "-c",
            "password_encryption=scram-sha-256",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("postgres");
    let server = Server {
        child,
        dir: dir.clone(),
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while psql(port, &dir, "postgres", "SELECT 1").is_err() {
        assert!(Instant::now() < deadline, "PostgreSQL did not start");
        std::thread::sleep(Duration::from_millis(200));
    }
    (server, port, dir)
}

/// What PGO's `WriteUsersInPostgreSQL` and `WriteUsersSchemasInPostgreSQL` run for one user
/// (the database itself comes from PGO's `CREATE DATABASE`), the schema only when asked.
fn create_as_pgo(
    port: u16,
    socket: &Path,
    user: &str,
    password: &str,
    dbs: &[String],
    schema: bool,
) {
    for db in dbs {
        psql(
            port,
            socket,
            "postgres",
            &format!("CREATE DATABASE \"{db}\""),
        )
        .unwrap_or_else(|e| panic!("create database {db}: {e}"));
    }
    psql(port, socket, "postgres", &format!("CREATE USER \"{user}\""))
        .unwrap_or_else(|e| panic!("create user {user}: {e}"));
    psql(
        port,
        socket,
        "postgres",
        &format!("ALTER ROLE \"{user}\" WITH PASSWORD '{password}'"),
    )
    .unwrap_or_else(|e| panic!("alter role {user}: {e}"));
    for db in dbs {
        psql(
            port,
            socket,
            "postgres",
            &format!("GRANT ALL PRIVILEGES ON DATABASE \"{db}\" TO \"{user}\""),
        )
        .unwrap_or_else(|e| panic!("grant on {db}: {e}"));
        if schema {
            psql(
                port,
                socket,
                db,
                &format!("CREATE SCHEMA IF NOT EXISTS \"{user}\" AUTHORIZATION \"{user}\""),
            )
            .unwrap_or_else(|e| panic!("schema in {db}: {e}"));
        }
    }
}

/// Settings in a consumer's rendered objects that would change where its tables go.
fn schema_overrides(objs: &[&Value], ns: &str) -> Vec<String> {
    const KEYS: [&str; 4] = [
        "search_path",
        "currentSchema",
        "SQL_ALCHEMY_SCHEMA",
        "sql_alchemy_schema",
    ];
    objs.iter()
        .filter(|o| o["metadata"]["namespace"] == ns)
        .filter_map(|o| {
            let text = o.to_string();
            KEYS.iter()
                .find(|k| text.contains(*k))
                .map(|k| format!("{}/{}: {k}", o["kind"], o["metadata"]["name"]))
        })
        .collect()
}

#[test]
fn every_consumer_creates_its_first_table_as_pgo_created_its_user() {
    if !tools_present() {
        return;
    }
    let p = Platform::default_ha();
    let tree = render(&p);
    let objs: Vec<&Value> = tree.objects().map(|(_, o)| o).collect();
    let cluster = objs
        .iter()
        .find(|o| o["kind"] == "PostgresCluster")
        .expect("PostgresCluster rendered");
    let schema = cluster["metadata"]["annotations"][postgresql::AUTO_CREATE_USER_SCHEMA]
        .as_str()
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let users = cluster["spec"]["users"].as_array().expect("spec.users");
    let names: Vec<&str> = users.iter().filter_map(|u| u["name"].as_str()).collect();
    for expected in ["nessie", "airflow", "superset"] {
        assert!(
            names.contains(&expected),
            "no PGO user {expected}: {names:?}"
        );
    }

    let (_server, port, socket) = start();

    // The control: a user exactly as PGO makes it without the annotation is refused in public.
    create_as_pgo(
        port,
        &socket,
        "control",
        "control-pw",
        &["control".into()],
        false,
    );
    let refused = as_user(
        port,
        "control",
        "control-pw",
        "control",
        "CREATE TABLE probe (id int)",
    )
    .expect_err("PostgreSQL 15 let an ordinary user create in schema public");
    assert!(
        refused.contains("permission denied for schema public"),
        "unexpected refusal: {refused}"
    );

    for u in users {
        let user = u["name"].as_str().expect("user name");
        let dbs: Vec<String> = u["databases"]
            .as_array()
            .expect("databases")
            .iter()
            .filter_map(|d| d.as_str().map(String::from))
            .collect();
        let password = format!("{user}-pw");
        create_as_pgo(port, &socket, user, &password, &dbs, schema);
        // The consumer lives in the namespace of the Secret copy that carries its credentials.
        let secret = format!("{user}-postgresql");
        let ns = objs
            .iter()
            .find_map(|o| {
                let s = o.to_string();
                (o["kind"] != "PostgresCluster" && s.contains(&format!("\"{secret}\"")))
                    .then(|| o["metadata"]["namespace"].as_str())
                    .flatten()
            })
            .unwrap_or_else(|| panic!("no consumer object reads {secret}"));
        let overrides = schema_overrides(&objs, ns);
        assert!(
            overrides.is_empty(),
            "{user} renders a schema setting this test does not apply yet: {overrides:?}"
        );
        for db in &dbs {
            let created = as_user(
                port,
                user,
                &password,
                db,
                "CREATE TABLE datalyptica_first (id int); SELECT schemaname FROM pg_tables WHERE tablename = 'datalyptica_first'",
            )
            .unwrap_or_else(|e| {
                panic!("{user} cannot create its first table in database {db} (annotation {}={schema}): {e}", postgresql::AUTO_CREATE_USER_SCHEMA)
            });
            assert_eq!(created, user, "{user}'s table landed in schema {created}");
        }
    }
}
