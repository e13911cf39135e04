//! trino's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Trino;
    let n = id.name();
    Exposure {
        // Clients and Prometheus on HTTPS; the internal HTTP port only between Trino pods.
        groups: vec![group(n, by_component(id), &[8443], &[8443], false)],
        peer: PeerPorts::Ports(vec![8080]),
        operator: vec![],
        route: None,
    }
}
