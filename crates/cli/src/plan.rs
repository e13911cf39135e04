//! `plan` and `explain`: the model and the dependency graph, in words.

use std::fmt::Write;

use datalyptica_platform::component::Component;
use datalyptica_platform::docs;
use datalyptica_platform::model::Model;
use datalyptica_platform::units::format_duration;
use datalyptica_platform::{Platform, components};

pub fn plan(p: &Platform) -> Result<String, String> {
    let m = Model::new(p);
    let waves = docs::order(&m).map_err(|c| c.to_string())?;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Platform `{}` — {} components enabled\n",
        m.name,
        m.enabled_components().count()
    );
    let _ = writeln!(s, "Phases:");
    for phase in 1..=6u8 {
        let names: Vec<&str> = m
            .enabled_components()
            .filter(|c| c.phase() == phase)
            .map(|c| c.id().name())
            .collect();
        if !names.is_empty() {
            let _ = writeln!(s, "  phase {phase}: {}", names.join(", "));
        }
    }
    let _ = writeln!(s, "\nDependencies:");
    for c in m.enabled_components() {
        let deps: Vec<String> = m.deps_of(c).iter().map(|d| d.to_string()).collect();
        let _ = writeln!(
            s,
            "  {:<11} ← {}",
            c.id().name(),
            if deps.is_empty() {
                "(none)".into()
            } else {
                deps.join(", ")
            }
        );
    }
    let _ = writeln!(
        s,
        "\nWaves (components of one wave can be deployed in parallel):"
    );
    for (i, w) in waves.iter().enumerate() {
        let names: Vec<&str> = w.iter().map(|c| c.name()).collect();
        let _ = writeln!(s, "  wave {}: {}", i + 1, names.join(", "));
    }
    let _ = writeln!(s, "\nMermaid:\n```mermaid\ngraph LR");
    for c in m.enabled_components() {
        let _ = writeln!(s, "  {0}[{0}]", c.id().name());
        for d in m.deps_of(c) {
            let _ = writeln!(s, "  {d} --> {}", c.id().name());
        }
    }
    let _ = writeln!(s, "```");
    Ok(s)
}

pub fn explain(p: &Platform, name: &str) -> Option<String> {
    let c: &dyn Component = components::by_name(name)?;
    let m = Model::new(p);
    let r = m.get(c.id());
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{} — phase {} ({})",
        c.id(),
        c.phase(),
        if r.enabled { "enabled" } else { "disabled" }
    );
    let _ = writeln!(s, "  {}", c.summary());
    let _ = writeln!(s, "  namespace: {}   directory: {}/", r.namespace, c.dir());
    match &r.operator {
        Some(o) => {
            let _ = writeln!(
                s,
                "  operator: {} (package {}, channel {}, catalog {}/{})",
                o.display, o.package, o.channel, o.source_namespace, o.source
            );
        }
        None => match c.carried_operator() {
            Some(o) => {
                let _ = writeln!(
                    s,
                    "  operator: {} {} (upstream manifests in {}/operator-install.yaml, not OLM)",
                    o.display,
                    o.version,
                    c.dir()
                );
            }
            None => {
                let _ = writeln!(s, "  operator: none (plain Kubernetes workloads)");
            }
        },
    }
    let deps: Vec<String> = m.deps_of(c).iter().map(|d| d.to_string()).collect();
    let _ = writeln!(
        s,
        "  depends on: {}",
        if deps.is_empty() {
            "nothing".into()
        } else {
            deps.join(", ")
        }
    );
    let _ = writeln!(
        s,
        "  replicas: {}   storage: {}   image: {}",
        r.replicas,
        r.storage,
        if r.image.is_empty() {
            "(operator default)"
        } else {
            &r.image
        }
    );
    let _ = writeln!(
        s,
        "  HA targets: availability {}%, RPO {}, RTO {}",
        r.slo.availability,
        format_duration(r.slo.rpo),
        format_duration(r.slo.rto)
    );
    for n in c.ha_notes(&m) {
        let _ = writeln!(s, "  - {n}");
    }
    if r.enabled {
        use datalyptica_platform::availability as av;
        let a = av::evaluate_component(&m, c, &av::Rates::from_spec(p), &[]);
        let _ = writeln!(
            s,
            "  modelled availability: {} ({} down a year; {}) — `datalyptica availability` for the details",
            av::fmt_percent(a.availability),
            av::fmt_secs(a.downtime_per_year_s),
            a.model
        );
    }
    let _ = writeln!(
        s,
        "  deploys: {}",
        datalyptica_platform::ops::manifest_names(&m, c).join(", ")
    );
    for g in c.gates(&m) {
        let _ = writeln!(
            s,
            "  ready when: {} {}/{} — {}",
            g.kind, g.namespace, g.name, g.condition
        );
    }
    Some(s)
}
