//! Rewrites a Kubernetes `openAPIV3Schema` into a draft-4 JSON Schema that rejects what the API
//! server (with strict field validation) would reject.

use serde_json::{Map, Value, json};

/// Junctors only add value validations: in a structural schema they must not declare new fields,
/// and their branches routinely list a subset of `properties` (e.g. Strimzi's `oneOf`), so
/// making those branches strict would reject every other field.
const JUNCTORS: &[&str] = &["allOf", "anyOf", "oneOf"];

pub(crate) fn to_json_schema(openapi: &Value) -> Value {
    let mut schema = openapi.clone();
    rewrite(&mut schema, true);
    tighten_root(&mut schema);
    schema
}

fn flag(node: &Map<String, Value>, key: &str) -> bool {
    node.get(key).and_then(Value::as_bool) == Some(true)
}

/// Replaces `pattern`: jsonschema checks `pattern` against ECMA-262 when compiling, which
/// rejects RE2 syntax Kubernetes accepts (PGO's `[[:print:]]`, prometheus-operator's `(?i)`).
pub(crate) const RE2_PATTERN: &str = "x-datalyptica-re2-pattern";

fn rewrite(node: &mut Value, structural: bool) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    // Go decodes `anyOf: null` (as in the Route CRD) as an absent list; the meta-schema would not.
    obj.retain(|_, v| !v.is_null());
    if let Some(pattern) = obj.remove("pattern") {
        obj.insert(RE2_PATTERN.into(), pattern);
    }

    for key in ["properties", "patternProperties"] {
        if let Some(Value::Object(props)) = obj.get_mut(key) {
            props.values_mut().for_each(|s| rewrite(s, structural));
        }
    }
    match obj.get_mut("items") {
        Some(Value::Array(items)) => items.iter_mut().for_each(|s| rewrite(s, structural)),
        Some(items) => rewrite(items, structural),
        None => {}
    }
    if let Some(sub) = obj.get_mut("additionalProperties") {
        rewrite(sub, structural);
    }
    for key in JUNCTORS {
        if let Some(Value::Array(branches)) = obj.get_mut(*key) {
            branches.iter_mut().for_each(|s| rewrite(s, false));
        }
    }
    if let Some(sub) = obj.get_mut("not") {
        rewrite(sub, false);
    }

    let preserve = flag(obj, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(obj, "x-kubernetes-embedded-resource");

    if flag(obj, "x-kubernetes-int-or-string") {
        obj.insert("type".into(), json!(["integer", "string"]));
    }

    let is_object =
        obj.get("type").and_then(Value::as_str) == Some("object") || obj.contains_key("properties");
    if structural && is_object && !preserve && !obj.contains_key("additionalProperties") {
        // Even when empty: without `properties`, jsonschema reports a nameless "False schema"
        // error instead of listing the unexpected fields.
        let props = obj
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if embedded {
            // The API server always keeps these on an embedded object, whatever its schema says.
            if let Value::Object(props) = props {
                for (name, schema) in [
                    ("apiVersion", json!({"type": "string"})),
                    ("kind", json!({"type": "string"})),
                    ("metadata", json!({"type": "object"})),
                ] {
                    props.entry(name).or_insert(schema);
                }
            }
        }
        obj.insert("additionalProperties".into(), Value::Bool(false));
    }

    if flag(obj, "nullable") {
        allow_null(obj);
    }

    obj.retain(|k, _| k != "nullable" && !k.starts_with("x-kubernetes-"));
}

fn allow_null(obj: &mut Map<String, Value>) {
    match obj.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            obj.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) if !ts.contains(&json!("null")) => ts.push(json!("null")),
        _ => {}
    }
    if let Some(Value::Array(values)) = obj.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
    // Junctor branches like `{type: integer}` would still reject null, so null gets its own branch.
    let mut moved = Map::new();
    for key in JUNCTORS.iter().chain(&["not"]) {
        if let Some(v) = obj.remove(*key) {
            moved.insert((*key).into(), v);
        }
    }
    if !moved.is_empty() {
        obj.insert("anyOf".into(), json!([{"type": "null"}, moved]));
    }
}

/// CRD schemas leave `metadata` open (the API server validates it itself), so we check the few
/// fields renderers set, and demand what every applied object needs.
fn tighten_root(root: &mut Value) {
    let Some(obj) = root.as_object_mut() else {
        return;
    };
    let string_map = json!({"type": "object", "additionalProperties": {"type": "string"}});
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(props) = props {
        props.insert("apiVersion".into(), json!({"type": "string"}));
        props.insert("kind".into(), json!({"type": "string"}));
        props.insert(
            "metadata".into(),
            json!({
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "namespace": {"type": "string"},
                    "labels": string_map,
                    "annotations": string_map,
                },
            }),
        );
    }
    let required = obj
        .entry("required")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Value::Array(required) = required {
        for name in ["apiVersion", "kind", "metadata"] {
            if !required.iter().any(|r| r == name) {
                required.push(json!(name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nullable_int_or_string_and_strictness() {
        let s = to_json_schema(&json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": {"x-kubernetes-int-or-string": true, "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "mode": {"type": "string", "enum": ["a"], "nullable": true},
                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"x": {"type": "string"}}},
                    },
                    "oneOf": [{"required": ["port"], "properties": {"port": {}}}],
                    "x-kubernetes-validations": [{"rule": "self.x"}],
                },
            },
        }));
        let spec = &s["properties"]["spec"];
        assert_eq!(spec["additionalProperties"], json!(false));
        assert!(spec["oneOf"][0].get("additionalProperties").is_none());
        assert!(spec.get("x-kubernetes-validations").is_none());
        assert_eq!(
            spec["properties"]["port"]["type"],
            json!(["integer", "string"])
        );
        assert_eq!(
            spec["properties"]["mode"],
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        assert!(
            spec["properties"]["free"]
                .get("additionalProperties")
                .is_none()
        );
        assert_eq!(
            s["required"],
            json!(["apiVersion", "kind", "metadata"]),
            "root must demand the identity fields"
        );
    }
}
