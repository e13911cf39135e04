//! Operations files every component directory may carry besides its own manifests
//! (`monitoring.yaml`, `backup.yaml`), assembled here so a component module does not
//! have to know about them and documentation lists them in the same order they are applied.

use serde_json::Value;

use crate::component::{Component, Content, File};
use crate::model::Model;
use crate::monitoring;

/// (file name, header, objects) of each operations file of a component, in apply order.
fn extras(m: &Model, c: &dyn Component) -> Vec<(&'static str, String, Vec<Value>)> {
    let mut out = Vec::new();
    let mon = monitoring::objects(m, c.id());
    if !mon.is_empty() {
        out.push((
            "monitoring.yaml",
            format!(
                "{} metrics scraping and alerts (Prometheus Operator).",
                c.id()
            ),
            mon,
        ));
    }
    if let Some((header, objects)) = crate::backup::extra(m, c) {
        out.push(("backup.yaml", header, objects));
    }
    out
}

pub fn files(m: &Model, c: &dyn Component) -> Vec<File> {
    extras(m, c)
        .into_iter()
        .map(|(name, header, objects)| File {
            path: format!("{}/{name}", c.dir()),
            content: Content::Objects { header, objects },
        })
        .collect()
}

/// Every YAML file of a component's directory, in apply order.
pub fn manifest_names(m: &Model, c: &dyn Component) -> Vec<String> {
    let mut v: Vec<String> = c.manifests().iter().map(|s| s.to_string()).collect();
    v.extend(extras(m, c).into_iter().map(|(n, _, _)| n.to_string()));
    v
}
