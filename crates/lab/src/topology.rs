//! Where every lab process lives: one loopback address per node, standard ports.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};

/// Patroni scope, Sentinel master name and etcd cluster token.
pub const CLUSTER_NAME: &str = "datalyptica-lab";
pub const REDIS_MASTER_NAME: &str = "lab";
pub const NODES: usize = 3;

pub const ETCD_CLIENT_PORT: u16 = 2379;
pub const ETCD_PEER_PORT: u16 = 2380;
pub const PG_PORT: u16 = 5432;
pub const PATRONI_PORT: u16 = 8008;
pub const REDIS_PORT: u16 = 6379;
pub const SENTINEL_PORT: u16 = 26379;

pub const PG_BIN_DIR: &str = "/usr/lib/postgresql/15/bin";
pub const PATRONI_VENV: &str = "/opt/datalyptica/patroni-venv";
pub const ETCD_BIN: &str = "/usr/bin/etcd";
pub const REDIS_BIN: &str = "/usr/bin/redis-server";
pub const SENTINEL_BIN: &str = "/usr/bin/redis-sentinel";

/// A platform datastore the lab runs as real server processes. Not the platform's `Component`
/// trait: one datastore here is one quorum of processes on loopback addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Datastore {
    Etcd,
    Postgresql,
    Redis,
}

impl Datastore {
    pub const ALL: [Datastore; 3] = [Datastore::Etcd, Datastore::Postgresql, Datastore::Redis];

    pub fn name(self) -> &'static str {
        match self {
            Datastore::Etcd => "etcd",
            Datastore::Postgresql => "postgresql",
            Datastore::Redis => "redis",
        }
    }
}

impl std::fmt::Display for Datastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Kind of a lab process; a Redis "node" holds a redis-server and a Sentinel on one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProcKind {
    Etcd,
    Patroni,
    Redis,
    Sentinel,
}

impl ProcKind {
    pub fn component(self) -> Datastore {
        match self {
            ProcKind::Etcd => Datastore::Etcd,
            ProcKind::Patroni => Datastore::Postgresql,
            ProcKind::Redis | ProcKind::Sentinel => Datastore::Redis,
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            ProcKind::Etcd => "etcd",
            ProcKind::Patroni => "pg",
            ProcKind::Redis => "redis",
            ProcKind::Sentinel => "sentinel",
        }
    }

    fn subnet(self) -> u8 {
        match self {
            ProcKind::Etcd => 10,
            ProcKind::Patroni => 20,
            ProcKind::Redis | ProcKind::Sentinel => 30,
        }
    }

    /// Ports the process listens on; all must be free before a (re)start and after `down`.
    pub fn ports(self) -> &'static [u16] {
        match self {
            ProcKind::Etcd => &[ETCD_CLIENT_PORT, ETCD_PEER_PORT],
            ProcKind::Patroni => &[PATRONI_PORT, PG_PORT],
            ProcKind::Redis => &[REDIS_PORT],
            ProcKind::Sentinel => &[SENTINEL_PORT],
        }
    }

    pub fn of(component: Datastore) -> &'static [ProcKind] {
        match component {
            Datastore::Etcd => &[ProcKind::Etcd],
            Datastore::Postgresql => &[ProcKind::Patroni],
            Datastore::Redis => &[ProcKind::Redis, ProcKind::Sentinel],
        }
    }
}

/// One lab process: kind + node index 0..3.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Proc {
    pub kind: ProcKind,
    pub idx: usize,
}

impl Proc {
    pub fn new(kind: ProcKind, idx: usize) -> Self {
        Self { kind, idx }
    }

    /// `etcd1`, `pg2`, `sentinel3`: also the member name inside the cluster.
    pub fn name(&self) -> String {
        format!("{}{}", self.kind.prefix(), self.idx + 1)
    }

    pub fn ip(&self) -> Ipv4Addr {
        node_ip(self.kind, self.idx)
    }

    pub fn dir(&self, lab: &Path) -> PathBuf {
        lab.join(self.name())
    }

    pub fn pid_file(&self, lab: &Path) -> PathBuf {
        lab.join("run").join(format!("{}.pid", self.name()))
    }

    pub fn log_file(&self, lab: &Path) -> PathBuf {
        lab.join("log").join(format!("{}.log", self.name()))
    }

    pub fn addr(&self, port: u16) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip(), port))
    }

    pub fn all(component: Datastore) -> Vec<Proc> {
        ProcKind::of(component)
            .iter()
            .flat_map(|&k| (0..NODES).map(move |i| Proc::new(k, i)))
            .collect()
    }
}

pub fn node_ip(kind: ProcKind, idx: usize) -> Ipv4Addr {
    // idx < NODES always; the cast cannot truncate.
    Ipv4Addr::new(127, 0, 0, kind.subnet() + 1 + idx as u8)
}

pub fn etcd_client_addrs() -> Vec<SocketAddr> {
    (0..NODES)
        .map(|i| Proc::new(ProcKind::Etcd, i).addr(ETCD_CLIENT_PORT))
        .collect()
}

pub fn patroni_bin() -> PathBuf {
    Path::new(PATRONI_VENV).join("bin/patroni")
}

/// Binaries one component needs, for a clear "missing" message instead of a spawn error.
pub fn required_binaries(component: Datastore) -> Vec<PathBuf> {
    match component {
        Datastore::Etcd => vec![ETCD_BIN.into()],
        Datastore::Postgresql => vec![patroni_bin(), Path::new(PG_BIN_DIR).join("postgres")],
        Datastore::Redis => vec![REDIS_BIN.into(), SENTINEL_BIN.into()],
    }
}

pub fn missing_binaries(components: &[Datastore]) -> Vec<PathBuf> {
    components
        .iter()
        .flat_map(|&c| required_binaries(c))
        .filter(|p| !p.exists())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_distinct_per_node() {
        let mut seen = std::collections::HashSet::new();
        for c in Datastore::ALL {
            for p in Proc::all(c) {
                if p.kind != ProcKind::Sentinel {
                    assert!(seen.insert(p.ip()), "{} reuses {}", p.name(), p.ip());
                }
            }
        }
        assert_eq!(
            Proc::new(ProcKind::Patroni, 1).ip(),
            Ipv4Addr::new(127, 0, 0, 22)
        );
        assert_eq!(Proc::new(ProcKind::Sentinel, 2).name(), "sentinel3");
    }
}
