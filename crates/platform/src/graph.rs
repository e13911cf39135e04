//! Deployment order from the dependency graph: waves of components whose dependencies are all
//! in earlier waves. Components of one wave can be deployed in parallel.

use std::collections::{BTreeMap, BTreeSet};

use crate::component::ComponentId;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cycle(pub Vec<ComponentId>);

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.0.iter().map(|c| c.name()).collect();
        write!(f, "dependency cycle: {}", names.join(" → "))
    }
}

/// Kahn's algorithm by levels. `edges[c]` are the components `c` depends on; edges to nodes
/// outside the graph are ignored (validation reports disabled dependencies).
pub fn waves(
    edges: &BTreeMap<ComponentId, Vec<ComponentId>>,
) -> Result<Vec<Vec<ComponentId>>, Cycle> {
    let nodes: BTreeSet<ComponentId> = edges.keys().copied().collect();
    let mut remaining: BTreeMap<ComponentId, BTreeSet<ComponentId>> = edges
        .iter()
        .map(|(k, v)| {
            (
                *k,
                v.iter().copied().filter(|d| nodes.contains(d)).collect(),
            )
        })
        .collect();
    let mut out = Vec::new();
    while !remaining.is_empty() {
        let ready: Vec<ComponentId> = remaining
            .iter()
            .filter(|(_, deps)| deps.is_empty())
            .map(|(k, _)| *k)
            .collect();
        if ready.is_empty() {
            return Err(find_cycle(&remaining));
        }
        for r in &ready {
            remaining.remove(r);
        }
        for deps in remaining.values_mut() {
            for r in &ready {
                deps.remove(r);
            }
        }
        out.push(ready);
    }
    Ok(out)
}

fn find_cycle(g: &BTreeMap<ComponentId, BTreeSet<ComponentId>>) -> Cycle {
    // Every remaining node has an unresolved dependency, so walking first dependencies
    // must revisit a node; the path from its first visit is the cycle.
    let Some(start) = g.keys().next().copied() else {
        return Cycle(vec![]);
    };
    let mut path = vec![start];
    let mut cur = start;
    loop {
        let Some(next) = g.get(&cur).and_then(|d| d.iter().next()).copied() else {
            return Cycle(path);
        };
        if let Some(i) = path.iter().position(|p| *p == next) {
            let mut cycle = path[i..].to_vec();
            cycle.push(next);
            return Cycle(cycle);
        }
        path.push(next);
        cur = next;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ComponentId::*;

    #[test]
    fn levels_follow_dependencies() {
        let g = BTreeMap::from([
            (Postgresql, vec![]),
            (Minio, vec![]),
            (Nessie, vec![Postgresql, Minio]),
            (Trino, vec![Nessie, Minio]),
            (Redis, vec![]),
        ]);
        let w = waves(&g).expect("acyclic");
        assert_eq!(
            w,
            vec![vec![Postgresql, Redis, Minio], vec![Nessie], vec![Trino]]
        );
    }

    #[test]
    fn cycle_is_named() {
        let g = BTreeMap::from([
            (Nessie, vec![Trino]),
            (Trino, vec![Nessie]),
            (Redis, vec![]),
        ]);
        let e = waves(&g).expect_err("cycle");
        assert_eq!(e.to_string(), "dependency cycle: nessie → trino → nessie");
    }

    #[test]
    fn edges_to_absent_nodes_are_ignored() {
        let g = BTreeMap::from([(Nessie, vec![Minio])]);
        assert_eq!(waves(&g).expect("ok"), vec![vec![Nessie]]);
    }
}
