//! Semantic checks of a spec that parsed: what types alone cannot say. Each issue carries the
//! JSON pointer of the offending field; the loader turns pointers into file:line:column.

use crate::component::{Component, ComponentId};
use crate::components::{self, spec_pointer};
use crate::model::Model;
use crate::spec::{API_VERSION, KIND, ObjectStoreBackend, Platform, Profile};
use crate::units::{check_dns1123_label, parse_duration, parse_quantity};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// JSON pointer into the spec document.
    pub pointer: String,
    pub message: String,
}

impl Issue {
    pub fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Issue {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

/// All issues of a spec, in document order of the checks (stable for tests).
pub fn validate(p: &Platform) -> Vec<Issue> {
    let mut out = Vec::new();
    if p.api_version != API_VERSION {
        out.push(Issue::new(
            "/apiVersion",
            format!(
                "`{}` is not supported (expected `{API_VERSION}`)",
                p.api_version
            ),
        ));
    }
    if p.kind != KIND {
        out.push(Issue::new(
            "/kind",
            format!("`{}` is not supported (expected `{KIND}`)", p.kind),
        ));
    }
    if let Err(e) = check_dns1123_label(&p.metadata.name) {
        out.push(Issue::new("/metadata/name", e));
    }
    let s = &p.spec;
    if let Some(prefix) = &s.namespaces.prefix {
        // Leave room for the longest group suffix ("-orchestration", 14 characters).
        match check_dns1123_label(prefix) {
            Err(e) => out.push(Issue::new("/spec/namespaces/prefix", e)),
            Ok(()) if prefix.len() > 63 - 14 => out.push(Issue::new(
                "/spec/namespaces/prefix",
                format!("`{prefix}` is too long (expected at most 49 characters, so that `{prefix}-orchestration` is a valid namespace)"),
            )),
            Ok(()) => {}
        }
    }
    if let Some(ns) = &s.operators.namespace
        && let Err(e) = check_dns1123_label(ns)
    {
        out.push(Issue::new("/spec/operators/namespace", e));
    }
    for (ptr, v) in [
        ("/spec/storage/rwoClass", &s.storage.rwo_class),
        ("/spec/storage/rwxClass", &s.storage.rwx_class),
    ] {
        if let Some(v) = v
            && v.is_empty()
        {
            out.push(Issue::new(
                ptr,
                "empty storage class name (expected the name of an existing StorageClass)",
            ));
        }
    }
    let os = &s.object_store;
    if os.backend == Some(ObjectStoreBackend::External) {
        match &os.endpoint {
            None => out.push(Issue::new(
                "/spec/objectStore/endpoint",
                "the `external` object store needs an endpoint (expected an https:// URL)",
            )),
            Some(e) if !e.starts_with("https://") => out.push(Issue::new(
                "/spec/objectStore/endpoint",
                format!("`{e}` is not an https URL (expected https://…; the platform never sends object-store credentials in clear)"),
            )),
            Some(_) => {}
        }
        if os.credentials_secret.is_none() {
            out.push(Issue::new(
                "/spec/objectStore/credentialsSecret",
                "the `external` object store needs the name of a Secret with its credentials",
            ));
        }
    } else if os.endpoint.is_some() {
        out.push(Issue::new(
            "/spec/objectStore/endpoint",
            "an endpoint is only used with `backend: external`",
        ));
    }

    crate::backup::validate(p, &mut out);
    crate::security::validate(p, &mut out);
    crate::monitoring::validate(p, &mut out);
    crate::availability::validate(p, &mut out);
    let m = Model::new(p);
    for c in components::ALL {
        common_checks(&m, *c, &mut out);
        if m.enabled(c.id()) {
            c.validate(&m, &mut out);
        }
    }
    out
}

fn common_checks(m: &Model, c: &dyn Component, out: &mut Vec<Issue>) {
    let id = c.id();
    let base = spec_pointer(id);
    let s = components::common_spec(&m.platform.spec.components, id);
    let r = m.get(id);
    if let Some(q) = s.storage
        && let Err(e) = parse_quantity(q)
    {
        out.push(Issue::new(format!("{base}/storage"), e));
    }
    if let Some(res) = s.resources {
        for (kind, cm) in [("requests", &res.requests), ("limits", &res.limits)] {
            let Some(cm) = cm else { continue };
            for (field, v) in [("cpu", &cm.cpu), ("memory", &cm.memory)] {
                if let Some(v) = v
                    && let Err(e) = parse_quantity(v)
                {
                    out.push(Issue::new(format!("{base}/resources/{kind}/{field}"), e));
                }
            }
        }
    }
    for (field, req, lim) in [
        ("cpu", &r.resources.cpu_request, &r.resources.cpu_limit),
        (
            "memory",
            &r.resources.memory_request,
            &r.resources.memory_limit,
        ),
    ] {
        if let (Ok(a), Ok(b)) = (parse_quantity(req), parse_quantity(lim))
            && a > b
        {
            out.push(Issue::new(
                format!("{base}/resources/requests/{field}"),
                format!("request {req} exceeds limit {lim} (expected request ≤ limit)"),
            ));
        }
    }
    if let Some(slo) = s.slo {
        if let Some(a) = slo.availability
            && !(a > 0.0 && a < 100.0)
        {
            out.push(Issue::new(
                format!("{base}/slo/availability"),
                format!(
                    "{a} is not a percentage (expected a number between 0 and 100, e.g. 99.95)"
                ),
            ));
        }
        for (field, v) in [("rpo", &slo.rpo), ("rto", &slo.rto)] {
            if let Some(v) = v
                && let Err(e) = parse_duration(v)
            {
                out.push(Issue::new(format!("{base}/slo/{field}"), e));
            }
        }
    }
    if let Some(img) = s.image {
        if img.trim().is_empty() || img.chars().any(char::is_whitespace) {
            out.push(Issue::new(
                format!("{base}/image"),
                format!("`{img}` is not an image reference (expected registry/name:tag or name@sha256:…)"),
            ));
        } else if img.ends_with(":latest") || !(img.contains(':') || img.contains('@')) {
            out.push(Issue::new(
                format!("{base}/image"),
                format!("`{img}` is not pinned (expected an explicit tag other than `latest`, or a digest)"),
            ));
        }
    }
    if !r.enabled {
        return;
    }
    if m.profile == Profile::Ha {
        let n = r.replicas;
        if c.quorum() && (n < 3 || n.is_multiple_of(2)) {
            out.push(Issue::new(
                format!("{base}/replicas"),
                format!("{n} {id} members cannot keep a majority quorum through a failure (expected an odd count ≥ 3 in the ha profile, e.g. 3 or 5)"),
            ));
        } else if n < c.min_ha_replicas() {
            out.push(Issue::new(
                format!("{base}/replicas"),
                format!(
                    "{n} replicas are not highly available (expected ≥ {} in the ha profile)",
                    c.min_ha_replicas()
                ),
            ));
        }
    } else if r.replicas == 0 {
        out.push(Issue::new(
            format!("{base}/replicas"),
            "0 replicas (expected ≥ 1, or `enabled: false`)",
        ));
    }
    for dep in m.deps_of(c) {
        if !m.enabled(dep) {
            out.push(Issue::new(
                format!("{base}/enabled"),
                format!("{id} is enabled but depends on {dep}, which is disabled (expected `components.{dep}.enabled: true`, or disable {id})"),
            ));
        }
    }
}

/// Did-you-mean for unknown names: the closest candidate within a small edit distance.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::damerau_levenshtein(&word.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

pub fn component_ids() -> impl Iterator<Item = ComponentId> {
    components::ALL.iter().map(|c| c.id())
}
