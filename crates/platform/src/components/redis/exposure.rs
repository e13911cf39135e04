//! redis's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Redis;
    let n = id.name();
    Exposure {
        groups: vec![group(n, by_component(id), &[6379, 26379], &[9121], false)],
        peer: PeerPorts::Ports(vec![6379, 26379]),
        operator: vec![6379, 26379],
        route: None,
    }
}
