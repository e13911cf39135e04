//! The deploy order, shared by `datalyptica deploy` (crates/cluster) and the GitOps export
//! ([`crate::gitops`]): which objects of the tree are applied, in which order, and which
//! components proceed together. Pure: built from the model and the rendered tree.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::component::ComponentId;
use crate::components::ALL;
use crate::graph::Cycle;
use crate::k8s;
use crate::model::Model;
use crate::prereqs;
use crate::render::Tree;

/// Components that may proceed together: same phase, same dependency wave. Stages are in
/// deploy order: phase by phase, dependency waves inside a phase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// The seed's phase, raised to the latest dependency's phase where a spec override inverted
    /// them.
    pub phase: u8,
    pub components: Vec<ComponentId>,
}

/// Stages of the enabled components.
pub fn stages(m: &Model) -> Result<Vec<Stage>, Cycle> {
    let waves = crate::docs::order(m)?;
    let mut eff_phase: BTreeMap<ComponentId, u8> = BTreeMap::new();
    let mut stages: BTreeMap<(u8, usize), Vec<ComponentId>> = BTreeMap::new();
    for (wi, wave) in waves.iter().enumerate() {
        for id in wave {
            let Some(c) = ALL.iter().find(|c| c.id() == *id) else {
                continue;
            };
            let phase = m
                .deps_of(*c)
                .iter()
                .filter_map(|d| eff_phase.get(d))
                .copied()
                .fold(c.phase(), u8::max);
            eff_phase.insert(*id, phase);
            stages.entry((phase, wi)).or_default().push(*id);
        }
    }
    Ok(stages
        .into_iter()
        .map(|((phase, _), components)| Stage { phase, components })
        .collect())
}

/// Whether deploy applies this object: templates (annotation `datalyptica.io/template: "true"`)
/// are starting points for users, never platform state.
pub fn applied(o: &Value) -> bool {
    o["metadata"]["annotations"][k8s::TEMPLATE_ANNOTATION] != "true"
}

/// Applied objects of the files under `prefix` (a directory with its trailing slash), with
/// their file, in tree order.
pub fn objects_in<'a>(tree: &'a Tree, prefix: &str) -> Vec<(&'a str, &'a Value)> {
    tree.objects()
        .filter(|(f, _)| f.starts_with(prefix))
        .filter(|(_, o)| applied(o))
        .collect()
}

/// Whether an object of `00-prerequisites/` belongs to the operators step (OLM objects).
pub fn is_operator_object(o: &Value) -> bool {
    o["apiVersion"]
        .as_str()
        .is_some_and(|a| a.starts_with("operators.coreos.com/"))
}

/// The objects of `00-prerequisites/` deploy applies, with their file.
pub fn prerequisite_objects(tree: &Tree) -> Vec<(&str, &Value)> {
    objects_in(tree, &format!("{}/", prereqs::DIR))
}

/// The object-store claims of the non-MinIO backends (`04-object-store/`), with their file.
pub fn object_store_objects(tree: &Tree) -> Vec<(&str, &Value)> {
    objects_in(tree, &format!("{}/", prereqs::OBJECT_STORE_DIR))
}

/// A component's objects in apply order, with their file: its manifests, then operations
/// files such as `monitoring.yaml` and `backup.yaml`; any file of its directory not listed goes
/// last so nothing rendered is silently skipped. Templates and its OLM Subscription (the
/// operators step owns those) are left out.
pub fn component_objects<'a>(
    m: &Model,
    tree: &'a Tree,
    c: &dyn crate::component::Component,
) -> Vec<(&'a str, &'a Value)> {
    let dir = format!("{}/", c.dir());
    let files = objects_in(tree, &dir);
    let mut names = crate::ops::manifest_names(m, c);
    let mut rest: Vec<String> = files
        .iter()
        .map(|(f, _)| f.trim_start_matches(&dir).to_string())
        .filter(|f| !names.contains(f))
        .collect();
    rest.dedup();
    names.extend(rest);
    let mut out = Vec::new();
    // A carried operator's install is applied in the operators step, not with its component.
    let install = carried_install_path(c);
    for manifest in &names {
        let path = format!("{dir}{manifest}");
        if install.as_deref() == Some(path.as_str()) {
            continue;
        }
        out.extend(
            files
                .iter()
                .filter(|(f, o)| *f == path && o["kind"] != "Subscription")
                .copied(),
        );
    }
    out
}

/// The file holding a carried operator's install (upstream manifests pinned by version).
fn carried_install_path(c: &dyn crate::component::Component) -> Option<String> {
    c.carried_operator()
        .map(|_| format!("{}/operator-install.yaml", c.dir()))
}

/// The objects of a carried operator's install, in file order (empty for OLM-installed ones).
pub fn carried_operator_objects<'a>(
    tree: &'a Tree,
    c: &dyn crate::component::Component,
) -> Vec<&'a Value> {
    carried_install(tree, c)
        .into_iter()
        .map(|(_, o)| o)
        .collect()
}

/// [`carried_operator_objects`] with the file each comes from.
pub fn carried_install<'a>(
    tree: &'a Tree,
    c: &dyn crate::component::Component,
) -> Vec<(&'a str, &'a Value)> {
    let Some(install) = carried_install_path(c) else {
        return Vec::new();
    };
    objects_in(tree, &format!("{}/", c.dir()))
        .into_iter()
        .filter(|(f, _)| *f == install)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Platform;

    #[test]
    fn stages_respect_phases_and_dependencies() {
        let p = Platform::default_ha();
        let m = Model::new(&p);
        let stages = stages(&m).expect("acyclic");
        let mut seen: Vec<ComponentId> = Vec::new();
        let mut last = 0;
        for s in &stages {
            assert!(s.phase >= last, "phases go up");
            last = s.phase;
            for c in &s.components {
                let comp = ALL.iter().find(|x| x.id() == *c).expect("known");
                for d in m.deps_of(*comp) {
                    assert!(seen.contains(&d), "{c} before its dependency {d}");
                }
            }
            seen.extend(&s.components);
        }
        assert_eq!(seen.len(), m.enabled_components().count());
    }
}
