//! Alerts and the Kafka controller from monitoring, with a fake querier returning recorded
//! Prometheus responses, attached to rows built from the real plan.

use std::cell::RefCell;

use datalyptica_cluster::alerts::{self, Alerts, MetricsQuery};
use datalyptica_cluster::plan::{self, Plan};
use datalyptica_cluster::status::{self, StatusRow};
use datalyptica_platform::model::Model;
use datalyptica_platform::{Platform, render};
use serde_json::{Value, json};

fn plan() -> Plan {
    let p = Platform::default_ha();
    plan::build(&Model::new(&p), &render(&p)).expect("plan")
}

struct Fake {
    answer: Result<(Value, Value), String>,
    asked: RefCell<Vec<String>>,
}

impl MetricsQuery for Fake {
    async fn query(&self, promql: &str) -> Result<Value, String> {
        self.asked.borrow_mut().push(promql.to_string());
        let (alerts, controller) = self.answer.clone()?;
        Ok(if promql.starts_with("ALERTS") {
            alerts
        } else {
            controller
        })
    }
}

fn rows(plan: &Plan) -> Vec<StatusRow> {
    plan.components()
        .flat_map(|c| {
            c.gates.iter().map(|g| StatusRow {
                component: c.id.to_string(),
                phase: c.phase,
                object: format!("{}/{}", g.kind, g.name),
                desired: 1,
                ready: 1,
                state: "ready".into(),
                detail: String::new(),
                roles: String::new(),
                last_backup: String::new(),
                deep: None,
                alerts: None,
            })
        })
        .collect()
}

fn ns_of(plan: &Plan, comp: &str) -> String {
    plan.components()
        .find(|c| c.id.to_string() == comp)
        .and_then(|c| c.gates.first())
        .map(|g| g.namespace.clone())
        .expect("component")
}

#[tokio::test]
async fn alerts_and_controller_attach_to_their_rows() {
    let plan = plan();
    let kafka_ns = ns_of(&plan, "kafka");
    let alerts = json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"alertname": "KafkaUnderReplicatedPartitions", "alertstate": "firing",
                    "namespace": kafka_ns, "pod": "kafka-broker-1"}, "value": [1764284000.1, "1"]},
        {"metric": {"alertname": "KubePodNotReady", "alertstate": "firing",
                    "namespace": "somewhere-else"}, "value": [1764284000.1, "1"]}
    ]}});
    let controller = json!({"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"__name__": "kafka_controller_kafkacontroller_activecontrollercount",
                    "namespace": kafka_ns, "pod": "kafka-controller-3"}, "value": [1764284000.1, "1"]}
    ]}});
    let fake = Fake {
        answer: Ok((alerts, controller)),
        asked: RefCell::new(vec![]),
    };
    let m = alerts::gather(&fake, &plan).await;
    let asked = fake.asked.borrow();
    assert!(asked[0].contains(&kafka_ns), "{asked:?}");
    assert!(asked[1].contains("activecontrollercount"), "{asked:?}");
    assert_eq!(m.kafka_controller.as_deref(), Some("kafka-controller-3"));

    let mut rows = rows(&plan);
    let n = rows.len();
    status::attach_monitoring(&mut rows, &m);
    let kafka = rows
        .iter()
        .find(|r| r.component == "kafka" && r.alerts.is_some())
        .expect("kafka row");
    assert_eq!(
        kafka.alerts,
        Some(Alerts::Firing {
            count: 1,
            names: vec!["KafkaUnderReplicatedPartitions".into()]
        })
    );
    let kr = rows
        .iter()
        .find(|r| r.object.starts_with("Kafka/"))
        .unwrap();
    assert!(
        kr.roles.ends_with("controller kafka-controller-3"),
        "{}",
        kr.roles
    );
    // The unknown namespace gets its own row, which does not fail the status.
    assert_eq!(rows.len(), n + 1);
    assert_eq!(rows[n].component, "somewhere-else");
    assert!(status::status_ok(&rows, false));
    let table = status::status_table(&rows);
    assert!(table.lines().next().unwrap().ends_with("ALERTS"), "{table}");
    assert!(
        table.contains("1: KafkaUnderReplicatedPartitions"),
        "{table}"
    );
    let j = serde_json::to_value(&rows).unwrap();
    assert!(
        j.as_array().unwrap().iter().any(
            |r| r["alerts"] == json!({"count": 1, "names": ["KafkaUnderReplicatedPartitions"]})
        )
    );
}

#[tokio::test]
async fn forbidden_monitoring_is_reported_not_fatal() {
    let plan = plan();
    let fake = Fake {
        answer: Err("forbidden: services \"https:thanos-querier:9091\" is forbidden".into()),
        asked: RefCell::new(vec![]),
    };
    let m = alerts::gather(&fake, &plan).await;
    assert_eq!(
        fake.asked.borrow().len(),
        1,
        "the controller is not asked again"
    );
    let mut rows = rows(&plan);
    status::attach_monitoring(&mut rows, &m);
    assert!(status::status_ok(&rows, false));
    assert!(status::status_table(&rows).ends_with(
        "alerts: unavailable (forbidden: services \"https:thanos-querier:9091\" is forbidden)\n"
    ));
}
