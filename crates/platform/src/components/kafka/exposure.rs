//! kafka's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Kafka;
    let n = id.name();
    Exposure {
        // The entity operator (topic and user operators) watches its custom resources.
        groups: vec![group(
            n,
            match_labels(&[("strimzi.io/cluster", crate::components::kafka::CLUSTER)]),
            &[9093],
            &[9404],
            true,
        )],
        // KRaft controller quorum (9090), replication and control plane (9091), the TLS
        // listener between brokers and the entity operator (9093).
        peer: PeerPorts::Ports(vec![9090, 9091, 9093]),
        // The cluster operator's admin client (9090/9091) and the Kafka agent (8443).
        operator: vec![9090, 9091, 8443],
        route: None,
    }
}
