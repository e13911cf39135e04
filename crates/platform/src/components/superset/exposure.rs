//! superset's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Superset;
    let n = id.name();
    Exposure {
        groups: vec![group(n, by_component(id), &[8088], &[], false)],
        peer: PeerPorts::Ports(vec![8088]),
        operator: vec![],
        route: None,
    }
}
