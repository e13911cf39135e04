//! Failover drills: a write probe runs, the primary is hit, the drill watches for promotion and
//! recovery, reads everything back, restarts the victim and checks it rejoined as a replica.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use nix::sys::signal::Signal;
use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::analysis::{self, Outcome, Stats, TrialAnalysis, TrialLog};
use crate::health;
use crate::lab::Lab;
use crate::probe::{self, Writer};
use crate::procs;
use crate::settings::Slo;
use crate::topology::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// SIGKILL the whole node (for PostgreSQL: Patroni, the postmaster and its children).
    KillPrimary,
    /// SIGTERM: the server shuts down cleanly (Patroni releases the leader key, etcd hands over).
    StopPrimary,
    /// SIGSTOP the node for --fault-secs, then SIGCONT.
    FreezePrimary,
    /// Drop traffic between the primary's address and the others for --fault-secs (nftables).
    PartitionPrimary,
}

impl Fault {
    pub const ALL: [Fault; 4] = [
        Fault::KillPrimary,
        Fault::StopPrimary,
        Fault::FreezePrimary,
        Fault::PartitionPrimary,
    ];

    /// The fault named `name` (its [`Fault::name`]).
    pub fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            Fault::KillPrimary => "kill-primary",
            Fault::StopPrimary => "stop-primary",
            Fault::FreezePrimary => "freeze-primary",
            Fault::PartitionPrimary => "partition-primary",
        }
    }

    fn timed(self) -> bool {
        matches!(self, Fault::FreezePrimary | Fault::PartitionPrimary)
    }
}

#[derive(Debug, Clone)]
pub struct DrillOptions {
    pub component: Datastore,
    pub fault: Fault,
    pub trials: u32,
    pub fault_secs: u64,
    /// Run `lab up` for the component first when it is not healthy.
    pub start_lab: bool,
    /// No progress lines on stderr.
    pub quiet: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialReport {
    pub trial: u32,
    pub old_primary: String,
    pub new_primary: Option<String>,
    pub analysis: TrialAnalysis,
    /// Seconds from restarting the victim until it was a streaming/linked replica again.
    pub rejoin_s: Option<f64>,
    pub rejoined: bool,
    pub notes: Vec<String>,
    #[serde(skip)]
    pub log: TrialLog,
}

#[derive(Debug, Clone, Serialize)]
pub struct DrillSummary {
    pub component: Datastore,
    pub fault: Fault,
    /// Timing and replication settings in force, as `key=value`.
    pub settings: Vec<String>,
    pub slo: Slo,
    pub trials: Vec<TrialReport>,
    /// RTO statistics in seconds over the trials that recovered.
    pub rto_s: Option<Stats>,
    pub lost_total: usize,
    pub lost_span_max_s: f64,
    pub breaches: Vec<String>,
    /// Set when the fault cannot be injected on this machine.
    pub skipped: Option<String>,
}

impl DrillSummary {
    pub fn slo_met(&self) -> bool {
        self.breaches.is_empty()
    }
}

fn settings_lines(lab: &Lab, c: Datastore) -> (Vec<String>, Slo) {
    let s = &lab.settings;
    match c {
        Datastore::Etcd => (
            vec![
                format!("heartbeat_ms={}", s.etcd.heartbeat_ms),
                format!("election_timeout_ms={}", s.etcd.election_timeout_ms),
            ],
            s.etcd.slo,
        ),
        Datastore::Postgresql => {
            let p = &s.postgres;
            (
                vec![
                    format!("ttl_s={}", p.ttl_s),
                    format!("loop_wait_s={}", p.loop_wait_s),
                    format!("retry_timeout_s={}", p.retry_timeout_s),
                    format!("synchronous_mode={}", p.synchronous_mode),
                    format!("synchronous_mode_strict={}", p.synchronous_mode_strict),
                    format!(
                        "maximum_lag_on_failover_bytes={}",
                        p.maximum_lag_on_failover_bytes
                    ),
                ],
                p.slo,
            )
        }
        Datastore::Redis => {
            let r = &s.redis;
            (
                vec![
                    format!("down_after_ms={}", r.down_after_ms),
                    format!("failover_timeout_ms={}", r.failover_timeout_ms),
                    format!("quorum={}", r.quorum),
                    format!("min_replicas_to_write={}", r.min_replicas_to_write),
                    format!("min_replicas_max_lag_s={}", r.min_replicas_max_lag_s),
                    format!("wait_replicas={}", r.wait_replicas),
                    format!("wait_timeout_ms={}", r.wait_timeout_ms),
                ],
                r.slo,
            )
        }
    }
}

fn proc_by_name(c: Datastore, name: &str) -> Option<Proc> {
    Proc::all(c).into_iter().find(|p| p.name() == name)
}

/// The process that is the primary: etcd leader, Patroni leader, or the Redis master's server.
pub async fn primary(c: Datastore) -> Option<Proc> {
    match c {
        Datastore::Etcd => proc_by_name(c, &health::etcd_view().await.leader?),
        Datastore::Postgresql => proc_by_name(c, &health::pg_view().await.ok()?.leader?),
        Datastore::Redis => {
            let m = health::redis_view().await.master?;
            proc_by_name(c, &health::redis_node_name(&m)?)
        }
    }
}

fn healthy_timeout(c: Datastore) -> Duration {
    match c {
        Datastore::Postgresql => Duration::from_secs(120),
        _ => Duration::from_secs(45),
    }
}

/// Whether `p` (the old primary) is back as a healthy replica / follower; when no failover
/// happened (a short freeze), whether it is again the primary of a healthy cluster.
async fn rejoined(lab: &Lab, p: Proc, failed_over: bool) -> Result<bool> {
    let c = p.kind.component();
    if !failed_over {
        return Ok(primary(c).await == Some(p) && lab.wait_healthy(c, Duration::ZERO).await.is_ok());
    }
    Ok(match c {
        Datastore::Etcd => {
            let v = health::etcd_view().await;
            let me = v.members.iter().find(|m| m.name == p.name());
            let top = v.members.iter().map(|m| m.raft_index).max().unwrap_or(0);
            v.healthy() && me.is_some_and(|m| m.up && m.raft_index + 50 >= top)
        }
        Datastore::Postgresql => {
            let v = health::pg_view().await?;
            let ok = v
                .member(&p.name())
                .is_some_and(|m| m.role != "leader" && m.state == "streaming");
            ok && v.healthy(lab.settings.postgres.synchronous_mode)
        }
        Datastore::Redis => {
            let v = health::redis_view().await;
            let me = v.node(&p.name());
            me.is_some_and(|n| n.role == "slave" && n.link_up && n.master == v.master)
                && v.healthy()
        }
    })
}

fn say(opts: &DrillOptions, msg: impl AsRef<str>) {
    if !opts.quiet {
        eprintln!("drill: {}", msg.as_ref());
    }
}

pub async fn run(lab: &Lab, opts: &DrillOptions) -> Result<DrillSummary> {
    let c = opts.component;
    let (settings, slo) = settings_lines(lab, c);
    let mut summary = DrillSummary {
        component: c,
        fault: opts.fault,
        settings,
        slo,
        trials: Vec::new(),
        rto_s: None,
        lost_total: 0,
        lost_span_max_s: 0.0,
        breaches: Vec::new(),
        skipped: None,
    };
    if opts.fault == Fault::PartitionPrimary
        && let Some(reason) = crate::drill::partition_unsupported(c)
    {
        summary.skipped = Some(reason);
        return Ok(summary);
    }
    if lab.wait_healthy(c, Duration::from_secs(2)).await.is_err() {
        if opts.start_lab {
            say(opts, format!("starting the lab for {c}"));
            lab.up(&[c]).await?;
        } else {
            lab.wait_healthy(c, healthy_timeout(c))
                .await
                .with_context(|| {
                    format!(
                        "{c} is not healthy in the lab at {}: run `lab up` (or drill --up)",
                        lab.dir.display()
                    )
                })?;
        }
    }
    for n in 1..=opts.trials {
        say(
            opts,
            format!("{c} {} trial {n}/{}", opts.fault.name(), opts.trials),
        );
        let t = trial(lab, opts, n)
            .await
            .with_context(|| format!("{c} trial {n}"))?;
        say(
            opts,
            format!(
                "  old {} → new {}: RTO {} lost {} indeterminate {} rejoined {}",
                t.old_primary,
                t.new_primary.as_deref().unwrap_or("-"),
                t.analysis
                    .rto
                    .map(|d| format!("{:.2} s", d.as_secs_f64()))
                    .unwrap_or_else(|| "none".into()),
                t.analysis.lost.len(),
                t.analysis.indeterminate,
                t.rejoin_s
                    .map(|s| format!("in {s:.1} s"))
                    .unwrap_or_else(|| "NO".into()),
            ),
        );
        summary.trials.push(t);
    }
    finish(&mut summary);
    Ok(summary)
}

/// Aggregates trials and lists SLO breaches. Pure.
pub fn finish(s: &mut DrillSummary) {
    let rtos: Vec<f64> = s
        .trials
        .iter()
        .filter_map(|t| t.analysis.rto.map(|d| d.as_secs_f64()))
        .collect();
    s.rto_s = analysis::stats(&rtos);
    s.lost_total = s.trials.iter().map(|t| t.analysis.lost.len()).sum();
    s.lost_span_max_s = s
        .trials
        .iter()
        .map(|t| t.analysis.lost_span.as_secs_f64())
        .fold(0.0, f64::max);
    s.breaches.clear();
    for t in &s.trials {
        match t.analysis.rto {
            None => s
                .breaches
                .push(format!("trial {}: writes never recovered", t.trial)),
            Some(r) if r > s.slo.rto => s.breaches.push(format!(
                "trial {}: RTO {:.2} s > SLO {:.2} s",
                t.trial,
                r.as_secs_f64(),
                s.slo.rto.as_secs_f64()
            )),
            _ => {}
        }
        if !t.analysis.lost.is_empty() && (s.slo.rpo.is_zero() || t.analysis.lost_span > s.slo.rpo)
        {
            s.breaches.push(format!(
                "trial {}: {} acknowledged writes lost over {:.3} s (RPO {:.1} s)",
                t.trial,
                t.analysis.lost.len(),
                t.analysis.lost_span.as_secs_f64(),
                s.slo.rpo.as_secs_f64()
            ));
        }
        if !t.rejoined {
            s.breaches.push(format!(
                "trial {}: old primary {} did not rejoin as a replica",
                t.trial, t.old_primary
            ));
        }
    }
}

async fn trial(lab: &Lab, opts: &DrillOptions, n: u32) -> Result<TrialReport> {
    let c = opts.component;
    lab.wait_healthy(c, healthy_timeout(c))
        .await
        .context("cluster not healthy before the trial")?;
    let old = primary(c).await.context("no primary found")?;
    let run = format!(
        "{}-{}-{n}",
        c.name(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis()
    );
    let mut writer = Writer::new(c, &run, &lab.settings.redis)?;
    writer.setup().await?;
    let t0 = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let log = Arc::new(Mutex::new(Vec::new()));
    let probe_task = tokio::spawn(probe::run_probe(writer, t0, stop.clone(), log.clone()));
    let mut notes = Vec::new();

    // Warm-up: the writer must be acknowledged before the fault, or the drill measures nothing.
    tokio::time::sleep(Duration::from_secs(2)).await;
    if !log.lock().await.iter().any(|a| a.outcome == Outcome::Ok) {
        stop.store(true, Ordering::Relaxed);
        let _ = probe_task.await;
        bail!("the write probe got no acknowledgement in 2 s before the fault");
    }

    // The fault time is taken right when the fault takes effect: finding a node's processes scans
    // /proc, and writes acknowledged meanwhile must not count as "after the fault".
    let victim_pids = lab.node_pids(old);
    let victims: Vec<procs::PidRecord> = victim_pids
        .iter()
        .filter_map(|&p| procs::record(p))
        .collect();
    let mut partition: Option<crate::drill::Partition> = None;
    let fault_at = match opts.fault {
        Fault::PartitionPrimary => {
            let peers: Vec<_> = Proc::all(c)
                .iter()
                .map(|p| p.ip())
                .filter(|ip| *ip != old.ip())
                .collect();
            partition = Some(crate::drill::Partition::apply(old.ip(), &peers)?);
            t0.elapsed()
        }
        f => {
            let sig = match f {
                Fault::KillPrimary => Signal::SIGKILL,
                Fault::StopPrimary => Signal::SIGTERM,
                _ => Signal::SIGSTOP,
            };
            let at = t0.elapsed();
            procs::signal_all(&victim_pids, sig);
            at
        }
    };
    let fault_us = fault_at.as_micros() as u64;
    let mut fault_end_us = None;
    let mut promoted_us = None;
    let mut new_primary = None;
    let watch_limit = match c {
        Datastore::Postgresql => Duration::from_secs(90),
        _ => Duration::from_secs(30),
    } + Duration::from_secs(if opts.fault.timed() {
        opts.fault_secs
    } else {
        0
    });
    let settle = Duration::from_secs(2);
    loop {
        let now = t0.elapsed();
        if promoted_us.is_none()
            && let Some(p) = primary(c).await
            && p != old
        {
            promoted_us = Some(t0.elapsed().as_micros() as u64);
            new_primary = Some(p.name());
        }
        if opts.fault.timed()
            && fault_end_us.is_none()
            && now >= fault_at + Duration::from_secs(opts.fault_secs)
        {
            if let Some(p) = partition.take() {
                p.lift()?;
            }
            if opts.fault == Fault::FreezePrimary {
                procs::signal_all(
                    &victims.iter().map(|r| r.pid).collect::<Vec<_>>(),
                    Signal::SIGCONT,
                );
            }
            fault_end_us = Some(t0.elapsed().as_micros() as u64);
        }
        let first_ack = analysis::recovered_at(&log.lock().await, fault_us);
        // A graceful stop takes effect only when the server is gone (Redis first waits for its
        // replicas): until then acknowledged writes do not mean recovery.
        let fault_over = if opts.fault.timed() {
            fault_end_us.is_some()
        } else {
            victims.iter().all(|r| !procs::alive(*r))
        };
        if let Some(ack) = first_ack
            && fault_over
            && now.as_micros() as u64 >= ack + settle.as_micros() as u64
        {
            break;
        }
        if now >= fault_at + watch_limit {
            notes.push(format!("no recovery within {watch_limit:?}"));
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Lift a timed fault that is still on (the recovery watch gave up early).
    if let Some(p) = partition.take() {
        p.lift()?;
    }
    if opts.fault == Fault::FreezePrimary && fault_end_us.is_none() {
        procs::signal_all(
            &victims.iter().map(|r| r.pid).collect::<Vec<_>>(),
            Signal::SIGCONT,
        );
        fault_end_us = Some(t0.elapsed().as_micros() as u64);
    }
    stop.store(true, Ordering::Relaxed);
    let mut writer = probe_task.await.context("probe task panicked")?;
    if new_primary.is_none()
        && let Some(p) = primary(c).await
    {
        new_primary = Some(p.name());
    }

    // Bring the victim back and check it rejoins as a replica.
    if matches!(opts.fault, Fault::KillPrimary | Fault::StopPrimary) {
        if !procs::wait_gone(&victims, Duration::from_secs(60)) {
            notes.push("victim still running 60 s after the fault; SIGKILL".into());
            lab.signal_node(old, Signal::SIGKILL);
            procs::wait_gone(&victims, Duration::from_secs(10));
        }
        lab.start(old)?;
    }
    let failed_over = new_primary.as_ref().is_some_and(|n| n != &old.name());
    if !failed_over {
        notes.push(format!("no failover: {} stayed primary", old.name()));
    }
    let restart = Instant::now();
    let limit = healthy_timeout(c);
    let mut rejoin_s = None;
    while restart.elapsed() < limit {
        if rejoined(lab, old, failed_over).await.unwrap_or(false) {
            rejoin_s = Some(restart.elapsed().as_secs_f64());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    if rejoin_s.is_none() {
        notes.push(format!(
            "{} did not rejoin in {limit:?}; log tail:\n{}",
            old.name(),
            lab.log_tail(old, 15)
        ));
    }
    // Read back only now: right after a partition heals, a stale Sentinel can still name the old
    // master (which still calls itself master), and reading there would report phantom losses.
    let mut read_back = None;
    for _ in 0..60 {
        match writer.read_back().await {
            Ok(v) => {
                read_back = Some(v);
                break;
            }
            Err(e) => {
                notes.push(format!("read-back retry: {e:#}"));
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let Some(read_back) = read_back else {
        bail!(
            "read-back failed: {}",
            notes.last().map(String::as_str).unwrap_or("?")
        );
    };
    let attempts = std::mem::take(&mut *log.lock().await);
    let trial_log = TrialLog {
        attempts,
        fault_us,
        fault_end_us,
        promoted_us,
        read_back,
    };
    let analysis = analysis::analyze(&trial_log);

    Ok(TrialReport {
        trial: n,
        old_primary: old.name(),
        new_primary,
        analysis,
        rejoin_s,
        rejoined: rejoin_s.is_some(),
        notes,
        log: trial_log,
    })
}

/// Why a partition cannot be aimed at `c` here, if it cannot.
pub fn partition_unsupported(c: Datastore) -> Option<String> {
    match c {
        Datastore::Redis => Partition::available()
            .err()
            .map(|e| format!("partition-primary skipped: {e}")),
        // Their outgoing connections leave from 127.0.0.1 whatever address they listen on, so
        // address-based DROP rules would cut clients off but not the node's own DCS/peer traffic.
        Datastore::Etcd | Datastore::Postgresql => Some(format!(
            "partition-primary skipped for {c}: on one loopback host its outgoing connections leave from 127.0.0.1 \
             (no bind-source option), so nft rules on the node's address cannot isolate it"
        )),
    }
}

const PARTITION_TABLE: &str = "datalyptica_lab_partition";

/// An nftables table that drops traffic between one node address and every other address.
pub struct Partition {
    table: String,
}

impl Partition {
    fn nft(script: &str) -> Result<()> {
        use std::io::Write;
        let mut child = std::process::Command::new("nft")
            .arg("-f")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .context("running nft")?;
        child
            .stdin
            .take()
            .context("nft stdin")?
            .write_all(script.as_bytes())?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "nft failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    pub fn available() -> Result<()> {
        Self::nft("table inet datalyptica_probe\ndelete table inet datalyptica_probe\n")
    }

    /// Drops traffic between `ip` and its peers in both directions. Clients (127.0.0.1) still
    /// reach the isolated node: the dangerous split where an old primary keeps taking writes.
    pub fn rules(table: &str, ip: std::net::Ipv4Addr, peers: &[std::net::Ipv4Addr]) -> String {
        let set = peers
            .iter()
            .map(|p| p.to_string())
            .collect::<Vec<_>>()
            .join(", ");
        format!(
            "table inet {table} {{\n  chain input {{\n    type filter hook input priority -10; policy accept;\n    \
             ip saddr {ip} ip daddr {{ {set} }} drop\n    ip saddr {{ {set} }} ip daddr {ip} drop\n  }}\n}}\n"
        )
    }

    pub fn apply(ip: std::net::Ipv4Addr, peers: &[std::net::Ipv4Addr]) -> Result<Partition> {
        let table = PARTITION_TABLE.to_string();
        let _ = Self::nft(&format!("table inet {table}\ndelete table inet {table}\n"));
        Self::nft(&Self::rules(&table, ip, peers))?;
        Ok(Partition { table })
    }

    /// Removes the partition table if an interrupted drill left it; true when there was one.
    pub fn lift_leftover() -> bool {
        Self::nft(&format!("delete table inet {PARTITION_TABLE}\n")).is_ok()
    }

    pub fn lift(self) -> Result<()> {
        Self::nft(&format!("delete table inet {}\n", self.table))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_rules_drop_both_directions() {
        let ip = |d| std::net::Ipv4Addr::new(127, 0, 0, d);
        let r = Partition::rules("t", ip(31), &[ip(32), ip(33)]);
        assert!(
            r.contains("ip saddr 127.0.0.31 ip daddr { 127.0.0.32, 127.0.0.33 } drop"),
            "{r}"
        );
        assert!(
            r.contains("ip saddr { 127.0.0.32, 127.0.0.33 } ip daddr 127.0.0.31 drop"),
            "{r}"
        );
        assert!(!r.contains("127.0.0.1 "), "clients stay connected");
    }
}
