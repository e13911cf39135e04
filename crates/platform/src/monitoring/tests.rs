//! Checks of the whole assembly: every monitor selects pods that exist, every namespace gets
//! its AlertmanagerConfig, and defaults agree with what the components render.

use serde_json::Value;

use super::*;
use crate::crs::PodOwner;
use crate::spec::{Platform, Profile};

fn tree(p: &Platform) -> Vec<Value> {
    crate::render(p).objects().map(|(_, o)| o.clone()).collect()
}

fn pod_labels(o: &Value) -> Option<&serde_json::Map<String, Value>> {
    o["spec"]["template"]["metadata"]["labels"].as_object()
}

fn container_ports(o: &Value) -> Vec<String> {
    o["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["ports"].as_array().into_iter().flatten())
        .filter_map(|p| p["name"].as_str().map(String::from))
        .collect()
}

fn subset(sel: &serde_json::Map<String, Value>, labels: &[(String, String)]) -> bool {
    sel.iter().all(|(k, v)| {
        labels
            .iter()
            .any(|(lk, lv)| lk == k && Some(lv.as_str()) == v.as_str())
    })
}

/// Every PodMonitor/ServiceMonitor selects something that exists: a rendered workload (with
/// the scraped port), a rendered Service (for ServiceMonitors), or the pods an operator makes
/// from a rendered CR, by the labels the operator documents.
#[test]
fn every_monitor_selects_rendered_or_operator_pods() {
    let mut dev = Platform::default_ha();
    dev.spec.profile = Profile::Dev;
    for p in [Platform::default_ha(), dev] {
        let objs = tree(&p);
        let monitors: Vec<&Value> = objs
            .iter()
            .filter(|o| o["kind"] == "PodMonitor" || o["kind"] == "ServiceMonitor")
            .collect();
        assert!(
            monitors.len() >= 3,
            "expected monitors, got {}",
            monitors.len()
        );
        for mon in monitors {
            let ns = &mon["metadata"]["namespace"];
            let sel = mon["spec"]["selector"]["matchLabels"]
                .as_object()
                .unwrap_or_else(|| panic!("{} has no matchLabels", mon["metadata"]["name"]));
            let same_ns = objs.iter().filter(|o| &o["metadata"]["namespace"] == ns);
            let found = same_ns.clone().any(|o| {
                let labels: Vec<(String, String)> = match mon["kind"].as_str() {
                    Some("PodMonitor") => pod_labels(o)
                        .map(|l| {
                            l.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                                .collect()
                        })
                        .or_else(|| {
                            PodOwner::of(o).map(|k| {
                                operator_pod_labels(k, o["metadata"]["name"].as_str().unwrap_or(""))
                            })
                        })
                        .unwrap_or_default(),
                    _ if o["kind"] == "Service" => o["metadata"]["labels"]
                        .as_object()
                        .map(|l| {
                            l.iter()
                                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                                .collect()
                        })
                        .unwrap_or_default(),
                    // Operators that label their Services like their pods (MinIO).
                    _ => PodOwner::of(o)
                        .map(|k| {
                            operator_pod_labels(k, o["metadata"]["name"].as_str().unwrap_or(""))
                        })
                        .unwrap_or_default(),
                };
                !labels.is_empty() && subset(sel, &labels)
            });
            assert!(
                found,
                "{} {}/{} selects nothing rendered: {sel:?}",
                mon["kind"], ns, mon["metadata"]["name"]
            );
            // Where we render the pods ourselves, the scraped port must exist on them.
            if mon["kind"] == "PodMonitor" {
                for o in same_ns.filter(|o| pod_labels(o).is_some()) {
                    let labels: Vec<(String, String)> = pod_labels(o)
                        .into_iter()
                        .flatten()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").into()))
                        .collect();
                    if subset(sel, &labels) {
                        for ep in mon["spec"]["podMetricsEndpoints"]
                            .as_array()
                            .into_iter()
                            .flatten()
                        {
                            if let Some(port) = ep["port"].as_str() {
                                assert!(
                                    container_ports(o).iter().any(|p| p == port),
                                    "{}: port {port} not on {}",
                                    mon["metadata"]["name"],
                                    o["metadata"]["name"]
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn etcd_default_quota_matches_the_rendered_flag() {
    let objs = tree(&Platform::default_ha());
    let flag = format!("--quota-backend-bytes={ETCD_DEFAULT_QUOTA_BYTES}");
    assert!(objs.iter().any(|o| {
        o["kind"] == "StatefulSet"
            && o["metadata"]["name"] == crate::components::etcd::NAME
            && o.to_string().contains(&flag)
    }));
}

#[test]
fn every_namespace_gets_one_alertmanager_config() {
    let objs = tree(&Platform::default_ha());
    let p = Platform::default_ha();
    let m = Model::new(&p);
    let mut nss: Vec<String> = objs
        .iter()
        .filter(|o| o["kind"] == "AlertmanagerConfig")
        .filter_map(|o| o["metadata"]["namespace"].as_str().map(String::from))
        .collect();
    nss.sort();
    assert_eq!(nss, m.namespaces());
}
