//! flink's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Flink;
    let n = id.name();
    Exposure {
        // JobManager leader election (a ConfigMap lock) and TaskManager pod creation.
        groups: vec![group(
            n,
            match_labels(&[("app", "flink")]),
            &[crate::components::flink::REST_PORT],
            &[crate::monitoring::FLINK_METRICS_PORT.1 as u16],
            true,
        )],
        // TaskManager data exchange, TaskManager RPC, JobManager RPC, blob server, REST.
        peer: PeerPorts::Ports({
            use crate::components::flink as f;
            let mut p = vec![f::DATA_PORT];
            p.extend(f::TASKMANAGER_PORTS.iter().map(|(_, n)| *n));
            p.extend(f::JOBMANAGER_PORTS.iter().map(|(_, n)| *n));
            p.sort_unstable();
            p
        }),
        operator: vec![crate::components::flink::REST_PORT],
        route: None,
    }
}
