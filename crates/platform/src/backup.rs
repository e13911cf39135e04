//! Backups and disaster recovery (placeholder, filled in below).

use serde_json::Value;

use crate::component::ComponentId;
use crate::model::Model;

pub fn ships_to_object_store(_m: &Model, _id: ComponentId) -> bool {
    false
}

pub fn network_policies(_m: &Model) -> Vec<Value> {
    Vec::new()
}
