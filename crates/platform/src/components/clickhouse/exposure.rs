//! clickhouse's pods and ports for the network policies (assembled by [`crate::security`]).

use crate::component::ComponentId;
use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    let id = ComponentId::Clickhouse;
    let n = id.name();
    Exposure {
        groups: vec![
            group(
                n,
                match_labels(&[(
                    "clickhouse.altinity.com/chi",
                    crate::components::clickhouse::CHI,
                )]),
                &[
                    crate::components::clickhouse::HTTPS_PORT,
                    crate::components::clickhouse::NATIVE_TLS_PORT,
                ],
                &[9363],
                false,
            ),
            group(
                "clickhouse-keeper",
                match_labels(&[(
                    "clickhouse-keeper.altinity.com/chk",
                    crate::components::clickhouse::CHK,
                )]),
                &[],
                &[],
                false,
            ),
        ],
        // Native TLS (distributed queries), interserver replication over HTTPS, Keeper's TLS
        // client port and Raft. The operator queries the servers over HTTPS only.
        peer: PeerPorts::Ports({
            use crate::components::clickhouse as ch;
            vec![
                ch::NATIVE_TLS_PORT,
                ch::INTERSERVER_PORT,
                ch::KEEPER_TLS_PORT,
                ch::KEEPER_RAFT_PORT,
            ]
        }),
        operator: vec![crate::components::clickhouse::HTTPS_PORT],
        route: None,
    }
}
