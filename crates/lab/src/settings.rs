//! Settings the CLI fills from the resolved platform spec; `Default` is what the platform ships.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Recovery objectives one drill is judged against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slo {
    /// Longest acceptable write outage seen by a client.
    #[serde(rename = "rto_s", serialize_with = "crate::analysis::secs::one")]
    pub rto: Duration,
    /// Longest acceptable span of acknowledged writes lost.
    #[serde(rename = "rpo_s", serialize_with = "crate::analysis::secs::one")]
    pub rpo: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PatroniSettings {
    pub ttl_s: u32,
    pub loop_wait_s: u32,
    pub retry_timeout_s: u32,
    pub synchronous_mode: bool,
    pub synchronous_mode_strict: bool,
    pub maximum_lag_on_failover_bytes: u64,
    /// Rendered as Patroni's `primary_start_timeout` (the old name is `master_start_timeout`).
    pub master_start_timeout_s: u32,
    pub slo: Slo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RedisSettings {
    pub down_after_ms: u32,
    pub failover_timeout_ms: u32,
    pub quorum: u32,
    pub parallel_syncs: u32,
    pub min_replicas_to_write: u32,
    pub min_replicas_max_lag_s: u32,
    /// Replicas a client write waits for with `WAIT` before it counts as acknowledged; 0 = no WAIT.
    pub wait_replicas: u32,
    pub wait_timeout_ms: u32,
    pub slo: Slo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EtcdSettings {
    pub heartbeat_ms: u32,
    pub election_timeout_ms: u32,
    pub slo: Slo,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LabSettings {
    pub dir: PathBuf,
    pub postgres: PatroniSettings,
    pub redis: RedisSettings,
    pub etcd: EtcdSettings,
}

impl Default for PatroniSettings {
    fn default() -> Self {
        // What the platform derives from RTO 30 s (postgresql::patroni_timing): loop_wait RTO/6,
        // ttl RTO − loop_wait, retry_timeout the most the loop_wait + 2 × retry_timeout ≤ ttl rule
        // allows, so a primary rides out a 10 s DCS blip instead of demoting after 5 s. A node crash
        // is noticed when the leader's lease expires, ttl after its last renewal, and renewals go
        // out every loop_wait: RTO ≈ ttl − U(0, loop_wait) + promotion. Measured earlier with ttl 20
        // (kill, 4 trials each): loop_wait 2 → 19.3–20.3 s, loop_wait 5 → 16.3–20.1 s, loop_wait 10
        // → 11.9–16.5 s; ttl 25 adds 5 s, inside the 30 s RTO. Graceful stop stays ~2.5 s (the key
        // is released, replicas watch it).
        // Synchronous mode makes failover pick only a standby that confirmed every acknowledged
        // commit (RPO 0); `strict` would also stop writes without a standby (+~5 s RTO).
        Self {
            ttl_s: 25,
            loop_wait_s: 5,
            retry_timeout_s: 10,
            synchronous_mode: true,
            synchronous_mode_strict: false,
            maximum_lag_on_failover_bytes: 1024 * 1024,
            master_start_timeout_s: 0,
            slo: Slo {
                rto: Duration::from_secs(30),
                rpo: Duration::from_secs(10),
            },
        }
    }
}

impl Default for RedisSettings {
    fn default() -> Self {
        Self {
            down_after_ms: 1000,
            failover_timeout_ms: 10_000,
            quorum: 2,
            parallel_syncs: 1,
            min_replicas_to_write: 1,
            min_replicas_max_lag_s: 10,
            // Replication is asynchronous: without WAIT a killed or partitioned primary loses the
            // writes it acknowledged but had not shipped yet.
            wait_replicas: 1,
            wait_timeout_ms: 100,
            slo: Slo {
                rto: Duration::from_secs(20),
                rpo: Duration::from_secs(5),
            },
        }
    }
}

impl Default for EtcdSettings {
    fn default() -> Self {
        // On loopback RTT is sub-millisecond; 50/500 keeps the documented ratios with lots of slack.
        Self {
            heartbeat_ms: 50,
            election_timeout_ms: 500,
            slo: Slo {
                rto: Duration::from_secs(5),
                rpo: Duration::ZERO,
            },
        }
    }
}

impl Default for LabSettings {
    fn default() -> Self {
        Self {
            dir: crate::lab::default_dir(),
            postgres: PatroniSettings::default(),
            redis: RedisSettings::default(),
            etcd: EtcdSettings::default(),
        }
    }
}

/// A setting combination the servers would reject or silently change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(
        "patroni: loop_wait ({loop_wait_s} s) + 2 × retry_timeout ({retry_timeout_s} s) = {sum} s exceeds ttl ({ttl_s} s); \
         the leader could lose its lock while still retrying the DCS"
    )]
    PatroniTiming {
        ttl_s: u32,
        loop_wait_s: u32,
        retry_timeout_s: u32,
        sum: u32,
    },
    #[error(
        "patroni: ttl {0} s is below Patroni 4's floor of 20 s (it would silently run with 20)"
    )]
    PatroniTtlFloor(u32),
    #[error("patroni: loop_wait must be at least 1 s")]
    PatroniLoopWait,
    #[error("patroni: synchronous_mode_strict needs synchronous_mode")]
    PatroniStrictWithoutSync,
    #[error("redis: quorum {0} must be between 1 and the 3 sentinels of the lab")]
    RedisQuorum(u32),
    #[error(
        "redis: min_replicas_to_write / wait_replicas ({0}) cannot exceed the 2 replicas of the lab"
    )]
    RedisReplicas(u32),
    #[error("redis: down_after_ms must be > 0 and failover_timeout_ms >= down_after_ms")]
    RedisTimeouts,
    #[error(
        "etcd: election timeout ({election_timeout_ms} ms) must be at least 5 × heartbeat ({heartbeat_ms} ms)"
    )]
    EtcdTiming {
        heartbeat_ms: u32,
        election_timeout_ms: u32,
    },
}

/// Patroni 4 raises a lower ttl to this value.
pub const PATRONI_TTL_FLOOR_S: u32 = 20;

impl PatroniSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.ttl_s < PATRONI_TTL_FLOOR_S {
            return Err(SettingsError::PatroniTtlFloor(self.ttl_s));
        }
        if self.loop_wait_s == 0 {
            return Err(SettingsError::PatroniLoopWait);
        }
        let sum = self
            .loop_wait_s
            .saturating_add(self.retry_timeout_s.saturating_mul(2));
        if sum > self.ttl_s {
            return Err(SettingsError::PatroniTiming {
                ttl_s: self.ttl_s,
                loop_wait_s: self.loop_wait_s,
                retry_timeout_s: self.retry_timeout_s,
                sum,
            });
        }
        if self.synchronous_mode_strict && !self.synchronous_mode {
            return Err(SettingsError::PatroniStrictWithoutSync);
        }
        Ok(())
    }
}

impl RedisSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.quorum == 0 || self.quorum > 3 {
            return Err(SettingsError::RedisQuorum(self.quorum));
        }
        for n in [self.min_replicas_to_write, self.wait_replicas] {
            if n > 2 {
                return Err(SettingsError::RedisReplicas(n));
            }
        }
        if self.down_after_ms == 0 || self.failover_timeout_ms < self.down_after_ms {
            return Err(SettingsError::RedisTimeouts);
        }
        Ok(())
    }
}

impl EtcdSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        if self.heartbeat_ms == 0 || self.election_timeout_ms < self.heartbeat_ms.saturating_mul(5)
        {
            return Err(SettingsError::EtcdTiming {
                heartbeat_ms: self.heartbeat_ms,
                election_timeout_ms: self.election_timeout_ms,
            });
        }
        Ok(())
    }
}

impl LabSettings {
    pub fn validate(&self) -> Result<(), SettingsError> {
        self.postgres.validate()?;
        self.redis.validate()?;
        self.etcd.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        LabSettings::default().validate().expect("defaults valid");
    }

    #[test]
    fn patroni_timing_rule() {
        let s = PatroniSettings {
            ttl_s: 20,
            loop_wait_s: 10,
            retry_timeout_s: 10,
            ..Default::default()
        };
        let err = s.validate().unwrap_err();
        assert!(
            matches!(err, SettingsError::PatroniTiming { sum: 30, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("exceeds ttl"));
        let ok = PatroniSettings {
            ttl_s: 30,
            loop_wait_s: 10,
            retry_timeout_s: 10,
            ..Default::default()
        };
        ok.validate().expect("30 = 10 + 2*10 is allowed");
    }

    #[test]
    fn patroni_ttl_floor() {
        let s = PatroniSettings {
            ttl_s: 10,
            loop_wait_s: 2,
            retry_timeout_s: 3,
            ..Default::default()
        };
        assert_eq!(s.validate(), Err(SettingsError::PatroniTtlFloor(10)));
    }

    #[test]
    fn strict_needs_sync() {
        let s = PatroniSettings {
            synchronous_mode: false,
            synchronous_mode_strict: true,
            ..Default::default()
        };
        assert_eq!(s.validate(), Err(SettingsError::PatroniStrictWithoutSync));
    }

    #[test]
    fn redis_and_etcd_rules() {
        let r = RedisSettings {
            quorum: 4,
            ..Default::default()
        };
        assert!(r.validate().is_err());
        let r = RedisSettings {
            wait_replicas: 3,
            ..Default::default()
        };
        assert!(r.validate().is_err());
        let e = EtcdSettings {
            heartbeat_ms: 100,
            election_timeout_ms: 200,
            ..Default::default()
        };
        assert!(e.validate().is_err());
    }
}
