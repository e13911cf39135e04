//! spark's pods and ports for the network policies (assembled by [`crate::security`]).

use serde_json::json;

use crate::model::Model;
use crate::security::*;

pub(crate) fn exposure(_m: &Model) -> Exposure {
    Exposure {
        groups: vec![
            group(
                "spark-history-server",
                match_labels(&[("app", crate::components::spark::HISTORY)]),
                &[crate::components::spark::HISTORY_HTTPS_PORT as u16],
                &[],
                false,
            ),
            // Drivers create their executors through the API.
            group(
                crate::components::spark::APPLICATIONS_GROUP,
                json!({"matchExpressions": [{"key": "sparkoperator.k8s.io/app-name", "operator": "Exists"}]}),
                &[],
                &[],
                true,
            ),
        ],
        peer: PeerPorts::Any,
        operator: vec![],
        route: None,
    }
}
