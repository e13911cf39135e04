//! minio's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::{Value, json};

use crate::component::ComponentId;
use crate::components::minio;
use crate::k8s;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Minio;
    let ns = &m.get(id).namespace;
    let tenant = minio::TENANT;
    let e = minio::erasure(m);
    // The cluster endpoint answers for the whole tenant, so it is scraped through the operator's
    // ClusterIP Service (one server per scrape), not per pod, verified against the CA of the
    // certificate deploy issues for the tenant (`ca.crt` of that very Secret).
    let monitor = json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": k8s::to_value(&k8s::meta(m, id, tenant, id.name())),
        "spec": {
            "selector": {"matchLabels": {MINIO_TENANT_LABEL: tenant}},
            "endpoints": [{
                "port": MINIO_HTTPS_PORT,
                "scheme": "https",
                "path": "/minio/v2/metrics/cluster",
                "interval": SCRAPE_INTERVAL,
                "tlsConfig": {
                    "ca": {"secret": {"name": minio::TLS_SECRET, "key": "ca.crt"}},
                    "serverName": format!("{tenant}.{ns}.svc"),
                },
            }],
        },
    });
    let sel = format!("namespace=\"{ns}\",service=\"{tenant}\"");
    let drives_per_server = e.drives / e.servers.max(1);
    let rules = vec![
        rule(
            "MinIODriveOffline",
            format!(
                "max by (namespace) ({{__name__=~\"minio_cluster_(drive|disk)_offline_total\",{sel}}}) > 0"
            ),
            "5m",
            "warning",
            "MinIO drive offline",
            format!(
                "{{{{ $value }}}} drive(s) offline. Each erasure set of {} drives (EC:{}) accepts writes with up to {} and serves reads with up to {} drives lost.",
                e.set_size,
                e.parity,
                e.write_tolerance(),
                e.read_tolerance()
            ),
        ),
        rule(
            "MinIONodeOffline",
            format!("max by (namespace) (minio_cluster_nodes_offline_total{{{sel}}}) > 0"),
            "5m",
            // A node carries `drives_per_server` drives of the set: losing one already uses
            // up (or exceeds) the write tolerance in the default layouts.
            if drives_per_server >= e.write_tolerance() {
                "critical"
            } else {
                "warning"
            },
            "MinIO node offline",
            format!(
                "{{{{ $value }}}} of {} MinIO servers offline ({drives_per_server} drive(s) each; writes survive {} lost drive(s) per set).",
                e.servers,
                e.write_tolerance()
            ),
        ),
        rule(
            "MinIOWriteQuorumAtRisk",
            format!(
                "min by (namespace, pool, set) (minio_cluster_health_erasure_set_online_drives{{{sel}}} - minio_cluster_health_erasure_set_write_quorum{{{sel}}}) < 1"
            ),
            "1m",
            "critical",
            "MinIO erasure set at write quorum",
            "An erasure set has no drive to spare above its write quorum: one more loss stops writes.".into(),
        ),
        rule(
            "MinIOMetricsDown",
            format!("absent(up{{{sel}}} == 1)"),
            "5m",
            "warning",
            "MinIO metrics missing",
            format!("{ns}/{tenant} cannot be scraped: the MinIO alerts are blind."),
        ),
    ];
    vec![monitor, prometheus_rule(m, id, tenant, rules)]
}
