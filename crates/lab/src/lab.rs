//! The lab: start, inspect and stop the server processes of every component.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use serde::Serialize;

use crate::health::{self, wait_until};
use crate::procs::{self, PidRecord};
use crate::render;
use crate::settings::LabSettings;
use crate::topology::*;

pub struct Lab {
    pub dir: PathBuf,
    pub settings: LabSettings,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProcStatus {
    pub name: String,
    pub pid: Option<i32>,
    /// `running`, `crashed` (pid file but no process) or `stopped`.
    pub state: &'static str,
}

/// Where the lab lives unless `--dir` says otherwise: a directory the servers can reach.
/// As root the servers run as `postgres`, which cannot enter a home of mode 0700 (the usual
/// case), so the lab goes to `/var/lib/datalyptica/lab` (created 0755, like `/var/lib`).
/// Otherwise they run as the user, who reaches their own state directory
/// (`$XDG_STATE_HOME/datalyptica/lab`, else `~/.local/state/datalyptica/lab`).
pub fn default_dir() -> PathBuf {
    default_dir_for(
        nix::unistd::geteuid().is_root(),
        std::env::var_os("XDG_STATE_HOME").map(PathBuf::from),
        std::env::var_os("HOME").map(PathBuf::from),
    )
}

pub(crate) fn default_dir_for(
    root: bool,
    xdg_state_home: Option<PathBuf>,
    home: Option<PathBuf>,
) -> PathBuf {
    if root {
        return PathBuf::from(ROOT_LAB_DIR);
    }
    // XDG: a relative value is invalid and must be ignored.
    match (xdg_state_home.filter(|p| p.is_absolute()), home) {
        (Some(state), _) => state.join("datalyptica").join("lab"),
        (None, Some(home)) if home.is_absolute() => home.join(".local/state/datalyptica/lab"),
        _ => PathBuf::from("lab"),
    }
}

pub(crate) const ROOT_LAB_DIR: &str = "/var/lib/datalyptica/lab";

/// Every ancestor of `dir` must let others through (`o+x`): the server user is not its owner.
pub(crate) fn check_traversable(dir: &Path) -> Result<()> {
    for a in dir.ancestors().skip(1) {
        let mode = fs::metadata(a)?.permissions().mode();
        if mode & 0o001 == 0 {
            bail!(
                "{} (mode {:o}) is not traversable by user postgres; put the lab dir elsewhere with --dir, or leave --dir out for the default {ROOT_LAB_DIR}",
                a.display(),
                mode & 0o7777
            );
        }
    }
    Ok(())
}

/// Creates `dir` and its missing ancestors with mode 0755 whatever the umask, so that a lab
/// created by root is reachable by the server users.
fn create_reachable(dir: &Path) -> Result<()> {
    let missing: Vec<&Path> = dir.ancestors().take_while(|a| !a.exists()).collect();
    for d in missing.into_iter().rev() {
        fs::create_dir(d).with_context(|| format!("creating lab dir {}", d.display()))?;
        fs::set_permissions(d, fs::Permissions::from_mode(0o755))
            .with_context(|| format!("setting mode 0755 on {}", d.display()))?;
    }
    Ok(())
}

impl Lab {
    /// Opens (and creates) the lab directory; the path is made absolute because the servers get it
    /// in their configs and run with other working directories.
    pub fn open(settings: LabSettings) -> Result<Lab> {
        settings.validate()?;
        let dir = &settings.dir;
        create_reachable(dir)?;
        let dir = fs::canonicalize(dir)?;
        Ok(Lab { dir, settings })
    }

    pub fn pid(&self, p: Proc) -> Option<PidRecord> {
        procs::read_pid_file(&p.pid_file(&self.dir)).filter(|r| procs::alive(*r))
    }

    pub fn is_running(&self, p: Proc) -> bool {
        self.pid(p).is_some()
    }

    fn pg_data(&self, idx: usize) -> PathBuf {
        Proc::new(ProcKind::Patroni, idx)
            .dir(&self.dir)
            .join("data")
    }

    /// Every process of one node: the server, and for PostgreSQL also the postmaster, which
    /// Patroni detaches from itself, and all their children.
    pub fn node_pids(&self, p: Proc) -> Vec<i32> {
        let mut roots: Vec<i32> = self.pid(p).map(|r| r.pid).into_iter().collect();
        if p.kind == ProcKind::Patroni
            && let Some(pm) = procs::postmaster(&self.pg_data(p.idx))
        {
            roots.push(pm.pid);
        }
        let mut all = roots.clone();
        all.extend(procs::descendants(&roots));
        all
    }

    pub fn signal_node(&self, p: Proc, sig: Signal) -> Vec<PidRecord> {
        let pids = self.node_pids(p);
        let recs: Vec<PidRecord> = pids.iter().filter_map(|&p| procs::record(p)).collect();
        procs::signal_all(&pids, sig);
        recs
    }

    /// As root, PostgreSQL runs as `postgres` and must reach its data dir through every
    /// ancestor; otherwise it runs as the user, who owns the path.
    fn ensure_traversable(&self) -> Result<()> {
        if !nix::unistd::geteuid().is_root() {
            return Ok(());
        }
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755))?;
        check_traversable(&self.dir)
    }

    /// Starts one process, after its ports are free. Config files Sentinel rewrites are kept.
    pub fn start(&self, p: Proc) -> Result<PidRecord> {
        if let Some(r) = self.pid(p) {
            return Ok(r);
        }
        let ports: Vec<_> = p.kind.ports().iter().map(|&port| p.addr(port)).collect();
        procs::wait_ports_free(&ports, Duration::from_secs(15))
            .with_context(|| format!("cannot start {}", p.name()))?;
        let dir = p.dir(&self.dir);
        fs::create_dir_all(&dir)?;
        fs::create_dir_all(self.dir.join("run"))?;
        fs::create_dir_all(self.dir.join("log"))?;
        let s = &self.settings;
        let mut cmd = match p.kind {
            ProcKind::Etcd => {
                let existing = dir.join("data").join("member").exists();
                let mut c = Command::new(ETCD_BIN);
                c.args(render::etcd_args(&s.etcd, &self.dir, p.idx, existing));
                c
            }
            ProcKind::Patroni => {
                self.ensure_traversable()?;
                let yml = dir.join("patroni.yml");
                fs::write(&yml, render::patroni_yml(&s.postgres, &self.dir, p.idx))?;
                fs::create_dir_all(dir.join("run"))?;
                let mut c = if nix::unistd::geteuid().is_root() {
                    let user = nix::unistd::User::from_name("postgres")?.context(
                        "user postgres missing: install postgresql-15 (.ci/install-lab.sh)",
                    )?;
                    for d in [dir.clone(), dir.join("run")] {
                        nix::unistd::chown(&d, Some(user.uid), Some(user.gid))?;
                    }
                    // setpriv execs, so the PID we record is Patroni's own (runuser would fork).
                    let mut c = Command::new("setpriv");
                    c.args([
                        "--reuid=postgres",
                        "--regid=postgres",
                        "--init-groups",
                        "--",
                    ]);
                    c.arg(patroni_bin());
                    c.env("HOME", &user.dir)
                        .env("USER", "postgres")
                        .env("LOGNAME", "postgres");
                    c
                } else {
                    Command::new(patroni_bin())
                };
                c.arg(&yml)
                    .env("PYTHONUNBUFFERED", "1")
                    .env("LC_ALL", "C.UTF-8");
                c.current_dir(&dir);
                c
            }
            ProcKind::Redis => {
                let conf = dir.join("redis.conf");
                if !conf.exists() {
                    fs::write(&conf, render::redis_conf(&s.redis, &self.dir, p.idx))?;
                }
                let mut c = Command::new(REDIS_BIN);
                c.arg(&conf);
                c
            }
            ProcKind::Sentinel => {
                let conf = dir.join("sentinel.conf");
                if !conf.exists() {
                    fs::write(&conf, render::sentinel_conf(&s.redis, &self.dir, p.idx))?;
                }
                let mut c = Command::new(SENTINEL_BIN);
                c.arg(&conf);
                c
            }
        };
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p.log_file(&self.dir))?;
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Own process group: a node can be signalled as a whole and is not hit by the CLI's Ctrl-C.
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("spawning {}", p.name()))?;
        let pid = i32::try_from(child.id())?;
        let rec = procs::record(pid).with_context(|| {
            format!(
                "{} exited at once; see {}",
                p.name(),
                p.log_file(&self.dir).display()
            )
        })?;
        procs::write_pid_file(&p.pid_file(&self.dir), rec)?;
        Ok(rec)
    }

    pub fn status_procs(&self) -> Vec<ProcStatus> {
        let mut out = Vec::new();
        for c in Datastore::ALL {
            for p in Proc::all(c) {
                let file = procs::read_pid_file(&p.pid_file(&self.dir));
                let (pid, state) = match file {
                    Some(r) if procs::alive(r) => (Some(r.pid), "running"),
                    Some(r) => (Some(r.pid), "crashed"),
                    None => (None, "stopped"),
                };
                out.push(ProcStatus {
                    name: p.name(),
                    pid,
                    state,
                });
            }
        }
        out
    }

    /// Stops one node: SIGTERM (Patroni then shuts PostgreSQL down cleanly), SIGKILL after `grace`.
    pub fn stop_node(&self, p: Proc, grace: Duration) -> Result<()> {
        let recs = self.signal_node(p, Signal::SIGTERM);
        if !procs::wait_gone(&recs, grace) {
            let more = self.signal_node(p, Signal::SIGKILL);
            procs::signal_all(
                &recs.iter().map(|r| r.pid).collect::<Vec<_>>(),
                Signal::SIGKILL,
            );
            let mut all = recs.clone();
            all.extend(more);
            if !procs::wait_gone(&all, Duration::from_secs(10)) {
                bail!("{}: processes survive SIGKILL", p.name());
            }
        }
        Ok(())
    }

    /// Stops everything the lab started (also a crashed, half-running lab) and waits for the
    /// ports to free. Patroni goes first so it can still talk to etcd while shutting down.
    pub fn down(&self) -> Result<Vec<String>> {
        let mut notes = Vec::new();
        if crate::drill::Partition::lift_leftover() {
            notes.push("removed a partition left by an interrupted drill".into());
        }
        let order = [
            ProcKind::Patroni,
            ProcKind::Sentinel,
            ProcKind::Redis,
            ProcKind::Etcd,
        ];
        for kinds in [&order[..3], &order[3..]] {
            let mut recs = Vec::new();
            for &k in kinds {
                for i in 0..NODES {
                    let p = Proc::new(k, i);
                    if let Some(r) = procs::read_pid_file(&p.pid_file(&self.dir))
                        && !procs::alive(r)
                    {
                        notes.push(format!(
                            "{}: pid {} had died (crashed lab)",
                            p.name(),
                            r.pid
                        ));
                    }
                    let r = self.signal_node(p, Signal::SIGTERM);
                    // A node left frozen by an interrupted freeze drill only acts on SIGTERM once continued.
                    procs::signal_all(
                        &r.iter().map(|r| r.pid).collect::<Vec<_>>(),
                        Signal::SIGCONT,
                    );
                    if !r.is_empty() {
                        notes.push(format!("{}: stopping {} process(es)", p.name(), r.len()));
                    }
                    recs.extend(r);
                }
            }
            if !procs::wait_gone(&recs, Duration::from_secs(20)) {
                let left: Vec<i32> = recs
                    .iter()
                    .filter(|r| procs::alive(**r))
                    .map(|r| r.pid)
                    .collect();
                notes.push(format!("SIGKILL to {left:?} after 20 s"));
                procs::signal_all(&left, Signal::SIGKILL);
                if !procs::wait_gone(&recs, Duration::from_secs(10)) {
                    bail!("processes {left:?} survive SIGKILL");
                }
            }
        }
        let mut ports = Vec::new();
        for c in Datastore::ALL {
            for p in Proc::all(c) {
                ports.extend(p.kind.ports().iter().map(|&port| p.addr(port)));
                let _ = fs::remove_file(p.pid_file(&self.dir));
            }
        }
        procs::wait_ports_free(&ports, Duration::from_secs(30))?;
        Ok(notes)
    }

    /// Removes the lab's data after `down`; refuses a directory that does not look like a lab.
    pub fn purge(&self) -> Result<()> {
        for c in Datastore::ALL {
            for p in Proc::all(c) {
                let d = p.dir(&self.dir);
                if d.exists() {
                    fs::remove_dir_all(&d).with_context(|| format!("removing {}", d.display()))?;
                }
            }
        }
        for d in ["run", "log"] {
            let d = self.dir.join(d);
            if d.exists() {
                fs::remove_dir_all(d)?;
            }
        }
        Ok(())
    }

    pub async fn wait_healthy(&self, c: Datastore, timeout: Duration) -> Result<()> {
        match c {
            Datastore::Etcd => {
                wait_until("etcd", timeout, || async {
                    Ok(health::etcd_view().await.healthy())
                })
                .await
            }
            Datastore::Postgresql => {
                let sync = self.settings.postgres.synchronous_mode;
                wait_until("postgresql", timeout, || async {
                    Ok(health::pg_view().await?.healthy(sync))
                })
                .await
            }
            Datastore::Redis => {
                wait_until("redis", timeout, || async {
                    Ok(health::redis_view().await.healthy())
                })
                .await
            }
        }
    }

    /// Starts the components (PostgreSQL needs etcd, so etcd is always included with it) and waits
    /// until each is healthy.
    pub async fn up(&self, components: &[Datastore]) -> Result<()> {
        let mut comps: Vec<Datastore> = components.to_vec();
        if comps.contains(&Datastore::Postgresql) && !comps.contains(&Datastore::Etcd) {
            comps.push(Datastore::Etcd);
        }
        comps.sort();
        comps.dedup();
        let missing = missing_binaries(&comps);
        if !missing.is_empty() {
            bail!("missing binaries {missing:?}: run `bash .ci/install-lab.sh`");
        }
        for &c in &comps {
            if c != Datastore::Postgresql {
                for p in Proc::all(c) {
                    self.start(p)?;
                }
            }
        }
        if comps.contains(&Datastore::Etcd) {
            self.wait_healthy(Datastore::Etcd, Duration::from_secs(30))
                .await?;
        }
        if comps.contains(&Datastore::Postgresql) {
            for p in Proc::all(Datastore::Postgresql) {
                self.start(p)?;
            }
        }
        if comps.contains(&Datastore::Redis) {
            self.wait_healthy(Datastore::Redis, Duration::from_secs(30))
                .await?;
        }
        if comps.contains(&Datastore::Postgresql) {
            self.wait_healthy(Datastore::Postgresql, Duration::from_secs(180))
                .await?;
        }
        Ok(())
    }

    /// Pushes the timing settings into the running servers, so an existing lab follows them too.
    pub async fn apply_live_settings(&self, comps: &[Datastore]) -> Result<()> {
        let t = Duration::from_secs(2);
        if comps.contains(&Datastore::Postgresql) {
            let patch = render::patroni_dcs_patch(&self.settings.postgres);
            let mut found = None;
            for i in 0..NODES {
                let addr = Proc::new(ProcKind::Patroni, i).addr(PATRONI_PORT);
                if let Ok((200, v)) = crate::http::get_json(addr, "/config", t).await {
                    found = Some((addr, v));
                    break;
                }
            }
            let (addr, current) = found.context("no Patroni answers GET /config")?;
            if !render::dcs_matches(&current, &patch) {
                let r = crate::http::request(addr, "PATCH", "/config", Some(&patch.to_string()), t)
                    .await?;
                if r.status != 200 {
                    bail!("Patroni PATCH /config: HTTP {}: {}", r.status, r.body);
                }
                // Patroni picks the new values up on its next HA loop.
                tokio::time::sleep(Duration::from_secs(
                    u64::from(self.settings.postgres.loop_wait_s.max(2)) * 2,
                ))
                .await;
            }
        }
        if comps.contains(&Datastore::Redis) {
            let rs = &self.settings.redis;
            for i in 0..NODES {
                let mut c = redis::cmd("CONFIG");
                c.arg("SET").arg(render::redis_live_config(rs));
                let _: String =
                    health::redis_cmd(Proc::new(ProcKind::Redis, i).addr(REDIS_PORT), &c).await?;
                let mut c = redis::cmd("SENTINEL");
                c.arg("SET")
                    .arg(REDIS_MASTER_NAME)
                    .arg(render::sentinel_live_config(rs));
                let _: String =
                    health::redis_cmd(Proc::new(ProcKind::Sentinel, i).addr(SENTINEL_PORT), &c)
                        .await?;
            }
        }
        Ok(())
    }

    pub fn log_tail(&self, p: Proc, lines: usize) -> String {
        let text = fs::read_to_string(p.log_file(&self.dir)).unwrap_or_default();
        let v: Vec<&str> = text.lines().collect();
        v[v.len().saturating_sub(lines)..].join("\n")
    }
}

pub fn endpoints() -> Vec<(Datastore, String)> {
    let join = |kind: ProcKind, port: u16| {
        (0..NODES)
            .map(|i| Proc::new(kind, i).addr(port).to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    vec![
        (
            Datastore::Etcd,
            format!("http://{{{}}}", join(ProcKind::Etcd, ETCD_CLIENT_PORT)),
        ),
        (
            Datastore::Postgresql,
            format!(
                "host={} port={PG_PORT} user=postgres target_session_attrs=read-write (Patroni REST {})",
                (0..NODES)
                    .map(|i| Proc::new(ProcKind::Patroni, i).ip().to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                join(ProcKind::Patroni, PATRONI_PORT)
            ),
        ),
        (
            Datastore::Redis,
            format!(
                "sentinels {} master name {REDIS_MASTER_NAME}",
                join(ProcKind::Sentinel, SENTINEL_PORT)
            ),
        ),
    ]
}

pub fn is_lab_dir(dir: &Path) -> bool {
    dir.join("run").is_dir()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_dir_is_one_the_servers_reach() {
        let home = Some(PathBuf::from("/home/ana"));
        // root: the servers run as `postgres`, which a 0700 home would shut out.
        assert_eq!(
            default_dir_for(true, None, Some(PathBuf::from("/root"))),
            PathBuf::from("/var/lib/datalyptica/lab")
        );
        assert_eq!(
            default_dir_for(false, None, home.clone()),
            PathBuf::from("/home/ana/.local/state/datalyptica/lab")
        );
        assert_eq!(
            default_dir_for(false, Some(PathBuf::from("/state")), home.clone()),
            PathBuf::from("/state/datalyptica/lab")
        );
        // A relative XDG_STATE_HOME is invalid (XDG base directory spec) and ignored.
        assert_eq!(
            default_dir_for(false, Some(PathBuf::from("rel")), home),
            PathBuf::from("/home/ana/.local/state/datalyptica/lab")
        );
        assert_eq!(default_dir_for(false, None, None), PathBuf::from("lab"));
        // Every ancestor of the root default lets `postgres` through on a stock system.
        check_traversable(Path::new("/var/lib/datalyptica")).expect("/var/lib is o+x");
    }

    #[test]
    fn a_lab_dir_under_a_private_home_is_refused_and_created_dirs_are_reachable() {
        // A home directory of mode 0700, the usual case.
        let home = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let mode = |p: &Path| fs::metadata(p).expect("stat").permissions().mode() & 0o7777;
        let lab = home.path().join("state/datalyptica/lab");
        create_reachable(&lab).expect("create");
        for d in ["state", "state/datalyptica", "state/datalyptica/lab"] {
            assert_eq!(mode(&home.path().join(d)), 0o755, "{d}");
        }
        let e = check_traversable(&lab).expect_err("0700 ancestor");
        let msg = e.to_string();
        assert!(
            msg.contains("(mode 700) is not traversable by user postgres")
                && msg.contains("default /var/lib/datalyptica/lab"),
            "{msg}"
        );
        // Once the home lets others through, the same dir is fine.
        fs::set_permissions(home.path(), fs::Permissions::from_mode(0o711)).expect("chmod");
        check_traversable(&lab).expect("traversable");
    }
}
