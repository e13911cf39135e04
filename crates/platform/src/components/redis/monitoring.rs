//! redis's monitors and alert rules (assembled by [`crate::monitoring`]).

use std::time::Duration;

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::redis;
use crate::k8s;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Redis;
    let r = m.get(id);
    let ns = &r.namespace;
    let t = redis::timing(m);
    let name = redis::REPLICATION;
    let sentinel_sts = format!("{}-sentinel", redis::SENTINEL);
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-[0-9]+\"");
    let monitor = pod_monitor(
        m,
        id,
        name,
        &[
            ("app", name),
            ("redis_setup_type", "replication"),
            ("role", "replication"),
        ],
        endpoint(OT_REDIS_EXPORTER_PORT, None),
    );
    let failover = t.expected_failover();
    // A failover needs a majority of Sentinels, ODOWN needs `quorum` of them: whichever is larger.
    let sentinels_needed = t.quorum.max(k8s::majority(t.sentinels));
    let rpo = r.slo.rpo.as_secs().max(1);
    let mut rules = vec![
        rule(
            "RedisMasterDown",
            format!("absent(redis_instance_info{{{sel},role=\"master\"}})"),
            &secs(failover),
            "critical",
            "No Redis master",
            format!(
                "No Redis node of {ns}/{name} is master for longer than Sentinel's failover window (down-after {} ms + election): writes are failing.",
                t.down_after_ms
            ),
        ),
        rule(
            "RedisMultipleMasters",
            format!("count(redis_instance_info{{{sel},role=\"master\"}}) > 1"),
            &secs(Duration::from_millis(u64::from(t.failover_timeout_ms))),
            "critical",
            "More than one Redis master",
            "Several Redis nodes report role master for longer than Sentinel's failover-timeout: writes may split between them.".into(),
        ),
        rule(
            "RedisSentinelQuorumLost",
            format!(
                "(sum(kube_pod_status_ready{{namespace=\"{ns}\",pod=~\"{sentinel_sts}-[0-9]+\",condition=\"true\"}}) or vector(0)) < {sentinels_needed}"
            ),
            "1m",
            "critical",
            "Redis Sentinel cannot fail over",
            format!(
                "Fewer than {sentinels_needed} of {} Sentinels are ready: a master failure would not be detected or no failover leader could be elected.",
                t.sentinels
            ),
        ),
        rule(
            "RedisReplicationLag",
            format!("max by (namespace, pod, slave_ip) (redis_connected_slave_lag_seconds{{{sel}}}) > {rpo}"),
            "1m",
            "warning",
            "Redis replica lags",
            format!(
                "A replica has not acknowledged the master's stream for more than the RPO ({rpo} s): a failover now would lose more than the RPO allows."
            ),
        ),
        rule(
            "RedisInstanceDown",
            format!("redis_up{{{sel}}} == 0 or up{{{sel}}} == 0"),
            "2m",
            "warning",
            "Redis node down",
            "{{ $labels.pod }} does not answer its exporter (or the exporter cannot be scraped).".into(),
        ),
        cronjob_backup_rule("RedisBackupTooOld", ns, "redis-backup", snapshot_gap(&crate::backup::redis_snapshot(m).schedule), "Redis"),
    ];
    if t.min_replicas_to_write > 0 {
        rules.push(rule(
            "RedisWritesRefused",
            format!(
                "redis_connected_slaves{{{sel}}} < {} and on (pod) redis_instance_info{{{sel},role=\"master\"}}",
                t.min_replicas_to_write
            ),
            &secs(Duration::from_secs(u64::from(t.min_replicas_max_lag_s))),
            "critical",
            "Redis master refuses writes",
            format!(
                "The master has fewer than min-replicas-to-write ({}) replicas within {} s: it refuses every write.",
                t.min_replicas_to_write, t.min_replicas_max_lag_s
            ),
        ));
    }
    vec![monitor, prometheus_rule(m, id, name, rules)]
}
