//! nessie's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(m: &Model) -> Exposure {
    let id = ComponentId::Nessie;
    let n = id.name();
    Exposure {
        groups: vec![group(n, by_component(id), &[8443], &[9000], false)],
        // Cache invalidations between replicas, on the management port.
        peer: if m.get(id).replicas > 1 {
            PeerPorts::Ports(vec![crate::components::nessie::MANAGEMENT_PORT])
        } else {
            PeerPorts::None
        },
        operator: vec![],
        route: m
            .platform
            .spec
            .components
            .nessie
            .config
            .route
            .unwrap_or(true)
            .then_some(8443),
    }
}
