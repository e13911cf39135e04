//! Phase 4–6 component: settings placeholder until its renderer lands (issue "Phases 4–6").

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FlinkConfig {}
