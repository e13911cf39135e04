//! The lab runs the timing the cluster manifests are rendered with: one source of truth.

use datalyptica_lab::{EtcdSettings, LabSettings, PatroniSettings, RedisSettings, Slo};
use datalyptica_platform::Platform;
use datalyptica_platform::component::ComponentId;
use datalyptica_platform::components::{etcd, postgresql, redis};
use datalyptica_platform::model::Model;

fn slo(m: &Model, id: ComponentId) -> Slo {
    let s = m.get(id).slo;
    Slo {
        rto: s.rto,
        rpo: s.rpo,
    }
}

pub fn from_platform(p: &Platform) -> LabSettings {
    let m = Model::new(p);
    let pg = &p.spec.components.postgresql.config;
    let t = postgresql::patroni_timing(pg, m.get(ComponentId::Postgresql).slo.rto);
    let rs = redis::timing(&m);
    let et = etcd::timing(&m);
    LabSettings {
        postgres: PatroniSettings {
            ttl_s: t.ttl,
            loop_wait_s: t.loop_wait,
            retry_timeout_s: t.retry_timeout,
            synchronous_mode: postgresql::synchronous(&m),
            synchronous_mode_strict: pg.synchronous_mode_strict.unwrap_or(false),
            maximum_lag_on_failover_bytes: pg.maximum_lag_on_failover.unwrap_or(1_048_576),
            master_start_timeout_s: 0,
            slo: slo(&m, ComponentId::Postgresql),
        },
        redis: RedisSettings {
            down_after_ms: rs.down_after_ms,
            failover_timeout_ms: rs.failover_timeout_ms,
            quorum: rs.quorum,
            parallel_syncs: 1,
            min_replicas_to_write: rs.min_replicas_to_write,
            min_replicas_max_lag_s: rs.min_replicas_max_lag_s,
            // Write safety on the client side follows the server side: when the master demands a
            // connected replica, the probe also waits for one acknowledgement.
            wait_replicas: rs.min_replicas_to_write.min(1),
            wait_timeout_ms: 100,
            slo: slo(&m, ComponentId::Redis),
        },
        etcd: EtcdSettings {
            heartbeat_ms: et.heartbeat_ms,
            election_timeout_ms: et.election_ms,
            slo: slo(&m, ComponentId::Etcd),
        },
        ..LabSettings::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's integration tests run `LabSettings::default()`; this pins it to what the
    /// platform ships, so a drill in CI tests the rendered configuration and nothing else.
    #[test]
    fn the_lab_default_is_the_shipped_configuration() {
        let shipped = from_platform(&Platform::default_ha());
        assert_eq!(shipped, LabSettings::default());
    }

    #[test]
    fn spec_changes_reach_the_lab() {
        let mut p = Platform::default_ha();
        p.spec.components.redis.config.down_after_milliseconds = Some(3000);
        p.spec.components.postgresql.slo = Some(datalyptica_platform::spec::SloSpec {
            rto: Some("60s".into()),
            ..Default::default()
        });
        let s = from_platform(&p);
        assert_eq!(s.redis.down_after_ms, 3000);
        assert_eq!((s.postgres.ttl_s, s.postgres.loop_wait_s), (50, 10));
        assert_eq!(s.postgres.slo.rto, std::time::Duration::from_secs(60));
    }
}
