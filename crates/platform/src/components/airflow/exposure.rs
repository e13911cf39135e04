//! airflow's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::components::airflow::Executor;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(m: &Model) -> Exposure {
    let id = ComponentId::Airflow;
    let n = id.name();
    let k8s_executor =
        m.platform.spec.components.airflow.config.executor == Some(Executor::Kubernetes);
    Exposure {
        // 9102: the schedulers' statsd-exporter sidecar.
        groups: vec![group(
            n,
            by_component(id),
            &[8080],
            &[crate::monitoring::AIRFLOW_METRICS_PORT.1 as u16],
            k8s_executor,
        )],
        // API server, worker and triggerer log servers.
        peer: PeerPorts::Ports(vec![8080, 8793, 8794]),
        operator: vec![],
        route: None,
    }
}
