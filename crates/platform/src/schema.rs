//! The spec's JSON Schema (for editors) and the fully commented default spec (`init`).
//! Both come from the same types, so documentation and parser cannot disagree.

use serde_json::{Map, Value, json};

use crate::components;
use crate::model::Model;
use crate::render::to_yaml;
use crate::spec::Platform;
use crate::units::format_duration;

pub fn json_schema() -> Value {
    let mut v = serde_json::to_value(schemars::schema_for!(Platform)).unwrap_or(Value::Null);
    if let Value::Object(o) = &mut v {
        o.insert(
            "$id".into(),
            json!("https://datalyptica.io/schemas/platform-v1alpha1.json"),
        );
    }
    v
}

/// The spec with every resolved value written out (derived knobs stay absent).
pub fn effective_spec(p: &Platform) -> Value {
    let m = Model::new(p);
    let spec = &p.spec;
    let mut comps = Map::new();
    let raw = serde_json::to_value(&spec.components).unwrap_or(Value::Null);
    for c in components::ALL {
        let r = m.get(c.id());
        let mut o = Map::new();
        o.insert("enabled".into(), json!(r.enabled));
        o.insert("replicas".into(), json!(r.replicas));
        o.insert("storage".into(), json!(r.storage));
        o.insert(
            "resources".into(),
            json!({
                "requests": {"cpu": r.resources.cpu_request, "memory": r.resources.memory_request},
                "limits": {"cpu": r.resources.cpu_limit, "memory": r.resources.memory_limit},
            }),
        );
        if !r.image.is_empty() {
            o.insert("image".into(), json!(r.image));
        }
        o.insert("version".into(), json!(r.version));
        if let Some(op) = &r.operator {
            o.insert(
                "operator".into(),
                json!({"package": op.package, "channel": op.channel, "source": op.source, "sourceNamespace": op.source_namespace}),
            );
        }
        o.insert(
            "slo".into(),
            json!({"availability": r.slo.availability, "rpo": format_duration(r.slo.rpo), "rto": format_duration(r.slo.rto)}),
        );
        o.insert("config".into(), raw[c.id().name()]["config"].clone());
        comps.insert(c.id().name().into(), Value::Object(o));
    }
    json!({
        "apiVersion": p.api_version,
        "kind": p.kind,
        "metadata": {"name": p.metadata.name},
        "spec": {
            "profile": serde_json::to_value(m.profile).unwrap_or(Value::Null),
            "distribution": "openshift",
            "namespaces": {"prefix": m.ns_prefix, "layout": serde_json::to_value(m.layout).unwrap_or(Value::Null)},
            "storage": {"rwoClass": m.rwo_class, "rwxClass": m.rwx_class, "createOdfClasses": m.create_odf_classes},
            "operators": {"namespace": m.operators_namespace, "installPlanApproval": serde_json::to_value(m.install_plan_approval).unwrap_or(Value::Null)},
            "objectStore": {"backend": serde_json::to_value(m.object_store.backend).unwrap_or(Value::Null), "region": m.object_store.region},
            "components": Value::Object(comps),
            // Sections whose knobs are all optional: shown (commented) with their documentation.
            "backup": serde_json::to_value(&spec.backup).unwrap_or(Value::Null),
            "secrets": serde_json::to_value(&spec.secrets).unwrap_or(Value::Null),
            "alerting": effective_alerting(p),
            "network": serde_json::to_value(&spec.network).unwrap_or(Value::Null),
            "availabilityModel": effective_availability_model(p),
        }
    })
}

/// `spec.availabilityModel` with its defaults, so `init` shows the rates in force.
fn effective_availability_model(p: &Platform) -> Value {
    let r = crate::availability::Rates::from_spec(p);
    json!({
        "nodeMtbf": format_duration(r.node_mtbf),
        "nodeRepair": format_duration(r.node_repair),
        "podReschedule": format_duration(r.pod_reschedule),
        "podRestart": format_duration(r.pod_restart),
        "drainsPerYear": r.drains_per_year,
        "zones": r.zones,
    })
}

/// `spec.alerting` with its defaults, so `init` shows the addresses to replace.
fn effective_alerting(p: &Platform) -> Value {
    let a = crate::monitoring::Alerting::resolve(p);
    let key = |(name, key): &(String, String)| json!({"name": name, "key": key});
    json!({
        "pagerduty": a.pagerduty.as_ref().map_or(json!({"enabled": false}), |d| json!({
            "enabled": true, "severities": d.severities, "routingKey": key(&d.routing_key),
        })),
        "email": a.email.as_ref().map_or(json!({"enabled": false}), |e| json!({
            "enabled": true, "to": e.to, "from": e.from, "smarthost": e.smarthost,
            "username": e.username, "password": key(&e.password),
        })),
    })
}

/// `datalyptica init`: the effective default spec, every knob shown with its documentation;
/// knobs without a value (derived or optional) appear commented out.
pub fn commented_default(p: &Platform) -> String {
    let schema = json_schema();
    let mut out = String::from(
        "# Datalyptica platform spec. Every setting is shown with its default;\n# delete what you do not change. Schema: `datalyptica schema`.\n",
    );
    emit(&schema, &schema, &effective_spec(p), 0, &mut out);
    out
}

fn resolve<'a>(root: &'a Value, s: &'a Value) -> &'a Value {
    if let Some(r) = s.get("$ref").and_then(Value::as_str)
        && let Some(name) = r.strip_prefix("#/$defs/")
        && let Some(d) = root.get("$defs").and_then(|d| d.get(name))
    {
        return resolve(root, d);
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(arr) = s.get(key).and_then(Value::as_array)
            && s.get("properties").is_none()
            && let Some(first) = arr.iter().find(|x| x.get("type") != Some(&json!("null")))
            && (first.get("$ref").is_some() || first.get("properties").is_some())
        {
            return resolve(root, first);
        }
    }
    s
}

fn description(root: &Value, s: &Value) -> Option<String> {
    s.get("description")
        .or_else(|| resolve(root, s).get("description"))
        .and_then(Value::as_str)
        .map(str::to_owned)
}

fn emit(root: &Value, schema: &Value, value: &Value, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let s = resolve(root, schema);
    let Some(props) = s.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        if let Some(d) = description(root, sub) {
            for line in d.lines() {
                out.push_str(&format!("{indent}# {line}\n"));
            }
        }
        let v = value.get(key).unwrap_or(&Value::Null);
        let nested = resolve(root, sub).get("properties").is_some();
        match v {
            Value::Null => out.push_str(&format!("{indent}# {key}:\n")),
            Value::Object(o) if nested => {
                // A mapping whose every knob is unset would read back as null: write `{}` and
                // keep the (commented) knobs below it.
                if o.values().all(Value::is_null) {
                    out.push_str(&format!("{indent}{key}: {{}}\n"));
                } else {
                    out.push_str(&format!("{indent}{key}:\n"));
                }
                emit(root, sub, v, depth + 1, out);
            }
            other => {
                let y = to_yaml(&json!({ key: other }));
                for line in y.lines() {
                    out.push_str(&format!("{indent}{line}\n"));
                }
            }
        }
    }
}
