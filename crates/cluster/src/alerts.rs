//! Open alerts and the Kafka active controller, read from the cluster's monitoring (Thanos
//! Querier in `openshift-monitoring`) through the API server's service proxy, with the kube
//! client's own credentials. Parsing of the Prometheus responses is pure; when the proxy cannot
//! be reached, status shows `alerts: unavailable (<reason>)` and goes on.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::plan::{Plan, name_of};

/// The service-proxy path of Thanos Querier's instant-query endpoint.
pub const THANOS_QUERY_PATH: &str =
    "/api/v1/namespaces/openshift-monitoring/services/https:thanos-querier:9091/proxy/api/v1/query";

/// An instant query against the cluster's monitoring; the body is the Prometheus JSON response.
// Awaited in place, never spawned: no Send bound needed.
#[allow(async_fn_in_trait)]
pub trait MetricsQuery {
    async fn query(&self, promql: &str) -> Result<Value, String>;
}

/// One sample of an instant vector: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub metric: BTreeMap<String, String>,
    pub value: f64,
}

/// `data.result[]` of a Prometheus instant-query response of type `vector`.
pub fn parse_vector(body: &Value) -> Result<Vec<Sample>, String> {
    if body["status"] != "success" {
        let why = body["error"].as_str().unwrap_or("no status \"success\"");
        return Err(format!("query failed: {why}"));
    }
    let Some(result) = body["data"]["result"].as_array() else {
        return Err("response without data.result".into());
    };
    result
        .iter()
        .map(|r| {
            let metric = r["metric"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                        .collect()
                })
                .unwrap_or_default();
            // `value` is `[timestamp, "string value"]`.
            let value = r["value"][1]
                .as_str()
                .and_then(|s| s.parse::<f64>().ok())
                .ok_or_else(|| format!("sample without a value: {r}"))?;
            Ok(Sample { metric, value })
        })
        .collect()
}

/// Percent-encoding of a query-string value (RFC 3986 unreserved characters kept).
pub fn encode_query(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A regex alternation matching exactly the given namespaces.
pub fn namespaces_regex(namespaces: &[String]) -> String {
    let mut ns: Vec<&str> = namespaces.iter().map(String::as_str).collect();
    ns.sort_unstable();
    ns.dedup();
    ns.join("|")
}

pub fn alerts_query(namespaces: &[String]) -> String {
    format!(
        "ALERTS{{alertstate=\"firing\",namespace=~\"{}\"}}",
        namespaces_regex(namespaces)
    )
}

/// The active controller: the JMX exporter's and Strimzi metrics reporter's names.
pub fn controller_query(namespaces: &[String]) -> String {
    format!(
        "{{__name__=~\"kafka_controller_kafkacontroller_activecontrollercount(_value)?\",namespace=~\"{}\"}} == 1",
        namespaces_regex(namespaces)
    )
}

/// Where alerts are attributed: per component, the namespaces and object names it owns.
#[derive(Debug, Clone, Default)]
pub struct Owners {
    /// (component, namespace, object names)
    entries: Vec<(String, String, Vec<String>)>,
}

impl Owners {
    pub fn from_plan(plan: &Plan) -> Self {
        let mut entries = Vec::new();
        for c in plan.components() {
            let mut by_ns: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for o in &c.objects {
                if let Some(ns) = o["metadata"]["namespace"].as_str() {
                    by_ns
                        .entry(ns.to_string())
                        .or_default()
                        .push(name_of(o).to_string());
                }
            }
            for g in &c.gates {
                by_ns.entry(g.namespace.clone()).or_default();
            }
            for (ns, names) in by_ns {
                entries.push((c.id.to_string(), ns, names));
            }
        }
        Owners { entries }
    }

    pub fn new(entries: Vec<(String, String, Vec<String>)>) -> Self {
        Owners { entries }
    }

    /// The component an alert belongs to: the component in its namespace owning an object that
    /// one of its workload labels contains (longest name wins); the only component of the namespace;
    /// else the namespace itself.
    pub fn component_of(&self, labels: &BTreeMap<String, String>) -> String {
        let ns = labels.get("namespace").map(String::as_str).unwrap_or("");
        let in_ns: Vec<_> = self.entries.iter().filter(|e| e.1 == ns).collect();
        let keys = [
            "pod",
            "statefulset",
            "deployment",
            "job_name",
            "service",
            "job",
            "container",
            "persistentvolumeclaim",
        ];
        let mut best: Option<(usize, &str)> = None;
        for k in keys {
            let Some(v) = labels.get(k) else { continue };
            for (comp, _, names) in &in_ns {
                for n in names {
                    if !n.is_empty()
                        && v.contains(n.as_str())
                        && best.is_none_or(|(l, _)| n.len() > l)
                    {
                        best = Some((n.len(), comp));
                    }
                }
            }
        }
        if let Some((_, c)) = best {
            return c.to_string();
        }
        let mut comps: Vec<&str> = in_ns.iter().map(|e| e.0.as_str()).collect();
        comps.dedup();
        match comps.as_slice() {
            [one] => one.to_string(),
            _ => ns.to_string(),
        }
    }
}

/// Firing alerts of one component.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Alerts {
    Firing { count: usize, names: Vec<String> },
    Unavailable { unavailable: String },
}

/// Firing alerts per component (or namespace), from the `ALERTS` samples.
pub fn alerts_by_component(samples: &[Sample], owners: &Owners) -> BTreeMap<String, Alerts> {
    let mut m: BTreeMap<String, (usize, Vec<String>)> = BTreeMap::new();
    for s in samples {
        let e = m.entry(owners.component_of(&s.metric)).or_default();
        e.0 += 1;
        if let Some(n) = s.metric.get("alertname")
            && !e.1.contains(n)
        {
            e.1.push(n.clone());
        }
    }
    m.into_iter()
        .map(|(k, (count, mut names))| {
            names.sort();
            (k, Alerts::Firing { count, names })
        })
        .collect()
}

/// The pod (or instance) reporting itself the active controller; None when none or ambiguous.
pub fn active_controller(samples: &[Sample]) -> Option<String> {
    let mut pods: Vec<String> = samples
        .iter()
        .filter(|s| s.value == 1.0)
        .filter_map(|s| {
            s.metric
                .get("pod")
                .or_else(|| s.metric.get("kubernetes_pod_name"))
                .or_else(|| s.metric.get("instance"))
                .cloned()
        })
        .collect();
    pods.sort();
    pods.dedup();
    match pods.as_slice() {
        [one] => Some(one.clone()),
        [] => None,
        many => Some(format!("{} (split: {} report active)", many[0], many.len())),
    }
}

/// What status shows from the monitoring stack.
#[derive(Debug, Clone, PartialEq)]
pub struct Monitoring {
    /// Per component (or namespace); Err(reason) when the monitoring could not be queried.
    pub alerts: Result<BTreeMap<String, Alerts>, String>,
    pub kafka_controller: Option<String>,
}

pub async fn gather<Q: MetricsQuery>(q: &Q, plan: &Plan) -> Monitoring {
    let owners = Owners::from_plan(plan);
    let mut namespaces = plan.namespaces.clone();
    namespaces.push(plan.operators_namespace.clone());
    let alerts = match q.query(&alerts_query(&namespaces)).await {
        Ok(body) => parse_vector(&body).map(|s| alerts_by_component(&s, &owners)),
        Err(e) => Err(e),
    };
    let kafka_controller = match &alerts {
        // The same endpoint: do not wait on it twice when it is unreachable.
        Err(_) => None,
        Ok(_) => match q.query(&controller_query(&namespaces)).await {
            Ok(body) => parse_vector(&body).ok().and_then(|s| active_controller(&s)),
            Err(_) => None,
        },
    };
    Monitoring {
        alerts,
        kafka_controller,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alerts_body() -> Value {
        json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "ALERTS", "alertname": "KubePodCrashLooping", "alertstate": "firing",
                        "namespace": "datalyptica-streaming", "pod": "kafka-kafka-0", "severity": "warning"},
             "value": [1764284000.123, "1"]},
            {"metric": {"__name__": "ALERTS", "alertname": "KubePodCrashLooping", "alertstate": "firing",
                        "namespace": "datalyptica-streaming", "pod": "kafka-kafka-1"},
             "value": [1764284000.123, "1"]},
            {"metric": {"__name__": "ALERTS", "alertname": "KubePersistentVolumeFillingUp", "alertstate": "firing",
                        "namespace": "datalyptica-data", "persistentvolumeclaim": "pgdata-postgresql-0"},
             "value": [1764284000.123, "1"]},
            {"metric": {"__name__": "ALERTS", "alertname": "Watchdog", "alertstate": "firing",
                        "namespace": "datalyptica-operators"},
             "value": [1764284000.123, "1"]}
        ]}})
    }

    fn owners() -> Owners {
        Owners::new(vec![
            (
                "kafka".into(),
                "datalyptica-streaming".into(),
                vec!["kafka".into()],
            ),
            (
                "flink".into(),
                "datalyptica-streaming".into(),
                vec!["flink".into()],
            ),
            (
                "postgresql".into(),
                "datalyptica-data".into(),
                vec!["postgresql".into()],
            ),
            (
                "redis".into(),
                "datalyptica-data".into(),
                vec!["redis".into()],
            ),
        ])
    }

    #[test]
    fn parses_a_vector_and_groups_alerts_by_component() {
        let s = parse_vector(&alerts_body()).unwrap();
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].value, 1.0);
        let m = alerts_by_component(&s, &owners());
        assert_eq!(
            m["kafka"],
            Alerts::Firing {
                count: 2,
                names: vec!["KubePodCrashLooping".into()]
            }
        );
        assert_eq!(
            m["postgresql"],
            Alerts::Firing {
                count: 1,
                names: vec!["KubePersistentVolumeFillingUp".into()]
            }
        );
        // No component owns the namespace: the namespace is the key.
        assert!(m.contains_key("datalyptica-operators"));
        assert_eq!(m.len(), 3);
    }

    #[test]
    fn single_component_namespace_takes_unlabelled_alerts() {
        let o = Owners::new(vec![("minio".into(), "obj".into(), vec!["minio".into()])]);
        let l: BTreeMap<String, String> = [("namespace".to_string(), "obj".to_string())].into();
        assert_eq!(o.component_of(&l), "minio");
    }

    #[test]
    fn errors_and_malformed_responses() {
        let e = parse_vector(
            &json!({"status": "error", "errorType": "bad_data", "error": "parse error"}),
        );
        assert_eq!(e.unwrap_err(), "query failed: parse error");
        assert!(parse_vector(&json!({"status": "success", "data": {}})).is_err());
        assert!(
            parse_vector(&json!({"status": "success", "data": {"result": [{"metric": {}, "value": [1, "x"]}]}}))
                .is_err()
        );
        let empty = json!({"status": "success", "data": {"resultType": "vector", "result": []}});
        assert!(alerts_by_component(&parse_vector(&empty).unwrap(), &owners()).is_empty());
    }

    #[test]
    fn finds_the_active_controller() {
        let body = json!({"status": "success", "data": {"resultType": "vector", "result": [
            {"metric": {"__name__": "kafka_controller_kafkacontroller_activecontrollercount",
                        "namespace": "datalyptica-streaming", "pod": "kafka-controller-4"},
             "value": [1764284000, "1"]}
        ]}});
        let s = parse_vector(&body).unwrap();
        assert_eq!(active_controller(&s).as_deref(), Some("kafka-controller-4"));
        assert_eq!(active_controller(&[]), None);
    }

    #[test]
    fn queries_are_encoded() {
        let q = alerts_query(&["b".into(), "a".into(), "a".into()]);
        assert_eq!(q, "ALERTS{alertstate=\"firing\",namespace=~\"a|b\"}");
        assert_eq!(encode_query("a b{\"|\"}"), "a%20b%7B%22%7C%22%7D");
    }
}
