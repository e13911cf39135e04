//! etcd's monitors and alert rules (assembled by [`crate::monitoring`]).

use std::time::Duration;

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::etcd;
use crate::k8s;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Etcd;
    let r = m.get(id);
    let ns = &r.namespace;
    let t = etcd::timing(m);
    let name = etcd::NAME;
    let sel = format!("namespace=\"{ns}\",pod=~\"{name}-[0-9]+\"");
    let quota = m
        .platform
        .spec
        .components
        .etcd
        .config
        .quota_backend_bytes
        .unwrap_or(ETCD_DEFAULT_QUOTA_BYTES);
    let majority = k8s::majority(r.replicas);
    let monitor = pod_monitor(m, id, name, &[("app", name)], endpoint("metrics", None));
    // Leaderless for longer than the RTO breaches the SLO; an election normally takes about two
    // election timeouts, so never alert below that.
    let no_leader_for = r
        .slo
        .rto
        .max(Duration::from_millis(2 * u64::from(t.election_ms)));
    let rules = vec![
        rule(
            "EtcdNoLeader",
            format!("etcd_server_has_leader{{{sel}}} == 0"),
            &secs(no_leader_for),
            "critical",
            "etcd member without leader",
            "{{ $labels.pod }} has no leader: the cluster lost its quorum or the member is partitioned.".into(),
        ),
        rule(
            "EtcdInsufficientMembers",
            format!("(sum(up{{{sel}}}) or vector(0)) < {majority}"),
            "1m",
            "critical",
            "etcd quorum at risk",
            format!("Fewer than {majority} of {} etcd members are up: the cluster has no quorum.", r.replicas),
        ),
        rule(
            "EtcdFrequentLeaderChanges",
            format!("max by (namespace) (increase(etcd_server_leader_changes_seen_total{{{sel}}}[1h])) > 3"),
            "5m",
            "warning",
            "etcd leader changes often",
            format!(
                "More than 3 leader elections in an hour: heartbeat {} ms / election timeout {} ms may be too tight for the network or disks are slow.",
                t.heartbeat_ms, t.election_ms
            ),
        ),
        rule(
            "EtcdDatabaseNearQuota",
            format!("max by (namespace) (etcd_mvcc_db_total_size_in_bytes{{{sel}}}) > {}", quota / 10 * 8),
            "10m",
            "warning",
            "etcd database near its quota",
            format!("The etcd database uses more than 80 % of --quota-backend-bytes ({quota}); at 100 % etcd raises NOSPACE and refuses writes."),
        ),
        rule(
            "EtcdDatabaseNearQuota",
            format!("max by (namespace) (etcd_mvcc_db_total_size_in_bytes{{{sel}}}) > {}", quota / 100 * 95),
            "2m",
            "critical",
            "etcd database almost at its quota",
            format!("The etcd database uses more than 95 % of --quota-backend-bytes ({quota}): compact and defragment now."),
        ),
        cronjob_backup_rule("EtcdBackupTooOld", ns, "etcd-backup", snapshot_gap(&crate::backup::etcd_snapshot(m).schedule), "etcd"),
    ];
    vec![monitor, prometheus_rule(m, id, name, rules)]
}
