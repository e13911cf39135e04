//! minio's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Minio;
    let n = id.name();
    Exposure {
        // The MinIO sidecar reads the tenant configuration through the API.
        groups: vec![group(n, by_component(id), &[9000], &[9000], true)],
        peer: PeerPorts::Ports(vec![9000]),
        operator: vec![9000],
        route: None,
    }
}
