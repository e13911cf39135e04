//! Plain-process plumbing: pid files that survive the CLI, signals to whole nodes, waiting for
//! PIDs to vanish and ports to free.

use std::fs;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

/// A PID plus its kernel start time, so a recycled PID is never mistaken for a lab process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidRecord {
    pub pid: i32,
    pub start_ticks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub ppid: i32,
    pub pgrp: i32,
    pub start_ticks: u64,
}

/// Parses `/proc/PID/stat`; the command name may contain spaces and parens, so split at the last ')'.
pub fn parse_stat(text: &str) -> Option<ProcStat> {
    let rest = &text[text.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Fields after the name start at field 3 (state); starttime is field 22.
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        pgrp: f.get(2)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

pub fn stat(pid: i32) -> Option<ProcStat> {
    parse_stat(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

pub fn record(pid: i32) -> Option<PidRecord> {
    stat(pid).map(|s| PidRecord {
        pid,
        start_ticks: s.start_ticks,
    })
}

/// True while the process runs (or is stopped). Zombies count as gone and are reaped when they
/// are our children, so a drill that killed a node it started does not wait on its corpse.
pub fn alive(rec: PidRecord) -> bool {
    match stat(rec.pid) {
        Some(s) if s.start_ticks == rec.start_ticks => {
            if s.state == 'Z' || s.state == 'X' {
                let _ = waitpid(Pid::from_raw(rec.pid), Some(WaitPidFlag::WNOHANG));
                false
            } else {
                true
            }
        }
        _ => false,
    }
}

pub fn write_pid_file(path: &Path, rec: PidRecord) -> Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    fs::write(path, format!("{} {}\n", rec.pid, rec.start_ticks))
        .with_context(|| format!("writing {}", path.display()))
}

pub fn parse_pid_file(text: &str) -> Option<PidRecord> {
    let mut it = text.split_whitespace();
    let pid = it.next()?.parse().ok()?;
    let start_ticks = it.next()?.parse().ok()?;
    (pid > 1).then_some(PidRecord { pid, start_ticks })
}

pub fn read_pid_file(path: &Path) -> Option<PidRecord> {
    parse_pid_file(&fs::read_to_string(path).ok()?)
}

/// The postmaster's PID from `postmaster.pid` (first line), if that process is a live postgres.
pub fn postmaster(data_dir: &Path) -> Option<PidRecord> {
    let text = fs::read_to_string(data_dir.join("postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    if pid <= 1 {
        return None;
    }
    let comm = fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    // A stale file can name a PID that now belongs to something else.
    if !comm.trim().starts_with("postgres") {
        return None;
    }
    record(pid).filter(|r| alive(*r))
}

/// All live descendants of `roots` (children of the postmaster, Patroni's helpers).
pub fn descendants(roots: &[i32]) -> Vec<i32> {
    let mut table = Vec::new();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            if let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok())
                && let Some(s) = stat(pid)
            {
                table.push((pid, s.ppid));
            }
        }
    }
    let mut out: Vec<i32> = Vec::new();
    let mut frontier: Vec<i32> = roots.to_vec();
    while let Some(p) = frontier.pop() {
        for &(pid, ppid) in &table {
            if ppid == p && !out.contains(&pid) && !roots.contains(&pid) {
                out.push(pid);
                frontier.push(pid);
            }
        }
    }
    out
}

/// Sends `sig` to every PID; PIDs that vanished meanwhile are fine.
pub fn signal_all(pids: &[i32], sig: Signal) {
    for &p in pids {
        let _ = kill(Pid::from_raw(p), sig);
    }
}

pub fn wait_gone(recs: &[PidRecord], timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if recs.iter().all(|r| !alive(*r)) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A port is free when we can bind it (std sets SO_REUSEADDR, so TIME_WAIT does not count).
pub fn port_free(addr: SocketAddr) -> bool {
    TcpListener::bind(addr).is_ok()
}

pub fn wait_ports_free(addrs: &[SocketAddr], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        let busy: Vec<_> = addrs.iter().filter(|a| !port_free(**a)).collect();
        if busy.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("ports still in use after {timeout:?}: {busy:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_names() {
        let s = "1234 (we ird) name)) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
        let st = parse_stat(s).expect("parses");
        assert_eq!(
            st,
            ProcStat {
                state: 'S',
                ppid: 1,
                pgrp: 1234,
                start_ticks: 98765
            }
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn pid_files() {
        assert_eq!(
            parse_pid_file("42 7\n"),
            Some(PidRecord {
                pid: 42,
                start_ticks: 7
            })
        );
        assert_eq!(parse_pid_file("1 7"), None);
        assert_eq!(parse_pid_file("x"), None);
        assert_eq!(parse_pid_file(""), None);
    }

    #[test]
    fn own_process_is_alive() {
        let me = record(std::process::id() as i32).expect("self");
        assert!(alive(me));
        assert!(!alive(PidRecord {
            pid: me.pid,
            start_ticks: me.start_ticks + 1
        }));
    }
}
