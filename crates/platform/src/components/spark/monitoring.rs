//! spark's monitors and alert rules (assembled by [`crate::monitoring`]).

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::spark;
use crate::model::Model;
use crate::monitoring::*;

pub(crate) fn objects(m: &Model) -> Vec<Value> {
    let id = ComponentId::Spark;
    let ns = &m.get(id).namespace;
    // The history server has no metrics sink of its own (Spark's metrics system covers
    // drivers and executors), so it is watched through kube-state-metrics only.
    let rules = vec![rule(
        "SparkHistoryServerDown",
        deployment_available(ns, spark::HISTORY, 1),
        "10m",
        "warning",
        "Spark history server down",
        "The Spark history server is unavailable: finished applications cannot be inspected (jobs still run).".into(),
    )];
    vec![prometheus_rule(m, id, "spark", rules)]
}
