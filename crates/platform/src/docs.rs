//! Markdown of the tree: the top README, `deployment-order.md` and each component's guide.
//! Generated from the same model as the manifests, so the numbers in prose cannot drift.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::component::{Component, ComponentId, Content, File};
use crate::graph;
use crate::model::Model;
use crate::prereqs;
use crate::units::format_duration;

/// The component's OLM Subscription alone, for its phase directory. It is the same object as in
/// `00-prerequisites/operator-subscriptions.yaml`; applying either is idempotent.
pub fn operator_install_file(m: &Model, c: &dyn Component, dir: &str) -> File {
    let objects = prereqs::subscription(m, c).into_iter().collect();
    let op = m.get(c.id()).operator.as_ref();
    File {
        path: format!("{dir}/operator-install.yaml"),
        content: Content::Objects {
            header: format!(
                "{} operator subscription (also in 00-prerequisites/operator-subscriptions.yaml).\nWait: oc get csv -n {} | grep {}  → phase Succeeded",
                op.map(|o| o.display).unwrap_or_default(),
                m.operators_namespace,
                op.map(|o| o.package.as_str()).unwrap_or_default()
            ),
            objects,
        },
    }
}

fn fmt_slo_row(m: &Model, id: ComponentId) -> String {
    let s = m.get(id).slo;
    format!(
        "| {} | {}% | {} | {} |",
        id,
        s.availability,
        if s.rpo.is_zero() {
            "0".to_string()
        } else {
            format!("< {}", format_duration(s.rpo))
        },
        if s.rto.is_zero() {
            "0".to_string()
        } else {
            format!("< {}", format_duration(s.rto))
        },
    )
}

/// A component's README: what it deploys, its operator, HA facts, then steps and checks.
pub fn component_readme(m: &Model, c: &dyn Component, body: &str) -> File {
    let r = m.get(c.id());
    let mut s = String::new();
    let _ = writeln!(s, "# {} — phase {}\n", c.id(), c.phase());
    let _ = writeln!(s, "{}.\n", c.summary());
    let _ = writeln!(
        s,
        "Namespace: `{}`. Replicas: {}. Storage per replica: {}.\n",
        r.namespace, r.replicas, r.storage
    );
    if let Some(op) = &r.operator {
        let _ = writeln!(
            s,
            "Operator: {} — OLM package `{}`, channel `{}`, catalog `{}/{}`{}.\n",
            op.display,
            op.package,
            op.channel,
            op.source_namespace,
            op.source,
            match op.head {
                Some(h) => format!(
                    "; the channel's head is {h}, and the custom resources here are written for and validated against its CRDs"
                ),
                None => "; package or channel set in the spec: check that it serves the fields rendered here".into(),
            }
        );
    } else if let Some(op) = c.carried_operator() {
        let _ = writeln!(
            s,
            "Operator: {} {} — installed from its upstream release manifests, carried in `operator-install.yaml` into `{}`, not from an OLM catalog: {}.\n",
            op.display, op.version, m.operators_namespace, op.why
        );
    } else {
        let _ = writeln!(
            s,
            "Operator: none — rendered as plain Kubernetes workloads.\n"
        );
    }
    let deps = m.deps_of(c);
    if !deps.is_empty() {
        let names: Vec<String> = deps.iter().map(|d| format!("`{d}`")).collect();
        let _ = writeln!(s, "Depends on: {}.\n", names.join(", "));
    }
    let _ = writeln!(
        s,
        "## HA targets\n\n| Component | Availability | RPO | RTO |\n|---|---|---|---|\n{}\n",
        fmt_slo_row(m, c.id())
    );
    for n in c.ha_notes(m) {
        let _ = writeln!(s, "- {n}");
    }
    s.push('\n');
    s.push_str(body);
    let _ = writeln!(s, "## Deploy\n\n```bash");
    let files = crate::ops::manifest_names(m, c);
    for f in files {
        let _ = writeln!(
            s,
            "oc apply --server-side --field-manager=datalyptica -f {}/{f}",
            c.dir()
        );
    }
    for g in c.gates(m) {
        let _ = writeln!(
            s,
            "# wait: {} {} — {}\n{}",
            g.kind,
            g.name,
            g.condition,
            g.wait_command()
        );
    }
    let _ = writeln!(s, "```\n\n## Verify\n");
    for h in c.health_checks(m) {
        let _ = writeln!(s, "- {}:\n\n  ```bash\n  {}\n  ```\n", h.what, h.command());
    }
    let ns = &r.namespace;
    let _ = writeln!(
        s,
        "## Troubleshooting\n\n```bash\n# pod placement (anti-affinity spreads replicas over nodes)\noc get pods -o wide -n {ns}\n# pending pods: the scheduler's reason is in the events\noc get events -n {ns} --sort-by='.lastTimestamp'\n```"
    );
    if let Some(op) = &r.operator {
        let _ = writeln!(
            s,
            "\n```bash\n# operator status and logs\noc get csv -n {0} | grep {1}\noc logs -n {0} deploy/$(oc get csv -n {0} -o name | grep {1} | head -1 | cut -d/ -f2 | sed 's/\\.v.*//') --tail=100\n```",
            m.operators_namespace, op.package
        );
    } else if let Some(op) = c.carried_operator() {
        let _ = writeln!(
            s,
            "\n```bash\n# operator status and logs\noc get deployment/{1} -n {0}\noc logs -n {0} deploy/{1} --tail=100\n```",
            m.operators_namespace, op.deployment
        );
    }
    File {
        path: format!("{}/README.md", c.dir()),
        content: Content::Markdown(s),
    }
}

/// Waves of the deployment order for the enabled components.
pub fn order(m: &Model) -> Result<Vec<Vec<ComponentId>>, graph::Cycle> {
    let edges: BTreeMap<ComponentId, Vec<ComponentId>> = m
        .enabled_components()
        .map(|c| (c.id(), m.deps_of(c)))
        .collect();
    graph::waves(&edges)
}

pub fn top_readme(m: &Model) -> File {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Datalyptica platform `{}` — HA deployment with operators\n\nGenerated by `datalyptica render` from the platform spec (profile `{}`). Do not edit: change the spec and render again.\n",
        m.name,
        match m.profile {
            crate::spec::Profile::Ha => "ha",
            crate::spec::Profile::Dev => "dev",
        }
    );
    let _ = writeln!(s, "## Phases\n");
    let mut by_phase: BTreeMap<u8, Vec<&dyn Component>> = BTreeMap::new();
    for c in m.enabled_components() {
        by_phase.entry(c.phase()).or_default().push(c);
    }
    for (phase, cs) in &by_phase {
        let names: Vec<String> = cs
            .iter()
            .map(|c| format!("[{}]({}/README.md)", c.id(), c.dir()))
            .collect();
        let _ = writeln!(s, "- **Phase {phase}**: {}", names.join(", "));
    }
    let _ = writeln!(
        s,
        "\n## Operators\n\n| Component | Operator | Package | Channel |\n|---|---|---|---|"
    );
    for c in m.enabled_components() {
        let r = m.get(c.id());
        match &r.operator {
            Some(o) => {
                let _ = writeln!(
                    s,
                    "| {} | {} | `{}` | `{}` |",
                    c.id(),
                    o.display,
                    o.package,
                    o.channel
                );
            }
            None => match c.carried_operator() {
                Some(o) => {
                    let _ = writeln!(
                        s,
                        "| {} | {} {} | upstream manifests in `{}/operator-install.yaml` | — |",
                        c.id(),
                        o.display,
                        o.version,
                        c.dir()
                    );
                }
                None => {
                    let _ = writeln!(s, "| {} | none (plain workloads) | | |", c.id());
                }
            },
        }
    }
    let _ = writeln!(
        s,
        "\n## HA targets\n\n| Component | Availability | RPO | RTO |\n|---|---|---|---|"
    );
    for c in m.enabled_components() {
        let _ = writeln!(s, "{}", fmt_slo_row(m, c.id()));
    }
    let _ = writeln!(
        s,
        "\nEvery replicated workload has required pod anti-affinity on `kubernetes.io/hostname`, a topology spread over `topology.kubernetes.io/zone`, a PodDisruptionBudget that keeps its quorum, liveness and readiness probes, resource requests and limits, and a security context that OpenShift's `restricted-v2` SCC admits. No secret value is in this tree: only references.\n\n## Layout\n\n```\n{}\n```\n\nStart with [`deployment-order.md`](deployment-order.md). Secrets: [`00-prerequisites/secrets.md`](00-prerequisites/secrets.md). Backups and restores: [`disaster-recovery.md`](disaster-recovery.md).",
        m.namespaces().join("\n")
    );
    File {
        path: "README.md".into(),
        content: Content::Markdown(s),
    }
}

pub fn deployment_order(m: &Model) -> File {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Deployment order\n\nEach step waits for its gate before the next begins. Components in the same wave have no dependency on each other and may be deployed in parallel (`datalyptica deploy` does).\n"
    );
    let _ = writeln!(
        s,
        "## Step 0 — prerequisites\n\n```bash\noc apply --server-side --field-manager=datalyptica -f {d}/namespaces.yaml\noc get projects | grep {p}\noc apply --server-side --field-manager=datalyptica -f {d}/network-policies.yaml\noc apply --server-side --field-manager=datalyptica -f {d}/storage-classes.yaml\noc get sc {rwo} {rwx}\noc apply --server-side --field-manager=datalyptica -f {d}/operator-subscriptions.yaml\n# wait: every ClusterServiceVersion Succeeded (approve Manual install plans first)\noc get installplan -n {ns}\noc wait csv --all -n {ns} --for=jsonpath='{{.status.phase}}'=Succeeded --timeout=15m\n{secrets}```\n\nSecrets: see [`{d}/secrets.md`]({d}/secrets.md). Backups and restores: [`disaster-recovery.md`](disaster-recovery.md).\n",
        d = prereqs::DIR,
        p = m.ns_prefix,
        rwo = m.rwo_class,
        rwx = m.rwx_class,
        ns = m.operators_namespace,
        secrets = match m.platform.spec.secrets.mode {
            crate::spec::SecretsMode::ExternalSecrets => format!(
                "# secrets from the external store (the external-secrets operator must be installed)\noc apply --server-side --field-manager=datalyptica -f {}/external-secrets.yaml\n",
                prereqs::DIR
            ),
            _ => String::new(),
        }
    );
    match order(m) {
        Ok(waves) => {
            let mut step = 1;
            for (i, wave) in waves.iter().enumerate() {
                let _ = writeln!(s, "## Wave {}\n", i + 1);
                for id in wave {
                    let Some(c) = crate::components::ALL.iter().find(|c| c.id() == *id) else {
                        continue;
                    };
                    let _ = writeln!(s, "### Step {step} — {} (phase {})\n", id, c.phase());
                    step += 1;
                    let deps = m.deps_of(*c);
                    if !deps.is_empty() {
                        let names: Vec<String> = deps.iter().map(|d| d.to_string()).collect();
                        let _ = writeln!(s, "After: {}.\n", names.join(", "));
                    }
                    let _ = writeln!(s, "```bash");
                    for f in crate::ops::manifest_names(m, *c) {
                        let _ = writeln!(
                            s,
                            "oc apply --server-side --field-manager=datalyptica -f {}/{f}",
                            c.dir()
                        );
                    }
                    for g in c.gates(m) {
                        let _ = writeln!(s, "# wait: {}\n{}", g.condition, g.wait_command());
                    }
                    for h in c.health_checks(m) {
                        let _ = writeln!(s, "# verify: {}\n{}", h.what, h.command());
                    }
                    let _ = writeln!(s, "```\n");
                }
            }
        }
        Err(cycle) => {
            let _ = writeln!(s, "**No valid order:** {cycle}.");
        }
    }
    File {
        path: "deployment-order.md".into(),
        content: Content::Markdown(s),
    }
}
