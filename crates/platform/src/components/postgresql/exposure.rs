//! postgresql's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Postgresql;
    let n = id.name();
    // Operator-made pods are selected by the operator's own labels, which do not depend
    // on label propagation.
    Exposure {
        groups: vec![group(
            n,
            match_labels(&[("postgres-operator.crunchydata.com/cluster", "postgresql")]),
            &[5432],
            &[9187],
            // Patroni keeps its leader lock in the Kubernetes API (DCS).
            true,
        )],
        // Streaming replication, Patroni REST, pgBackRest TLS server.
        peer: PeerPorts::Ports(vec![5432, 8008, 8432]),
        operator: vec![5432, 8008],
        route: None,
    }
}
