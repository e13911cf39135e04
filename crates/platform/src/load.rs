//! Spec text → typed [`Platform`], or every problem with file, line, column and field path.

use datalyptica_yaml::{Document, Pos};
use serde_json::Value;

use crate::spec::Platform;
use crate::validate::{suggest, validate};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    pub file: String,
    pub pos: Pos,
    /// Dotted field path (`spec.components.etcd.replicas`), empty for the document itself.
    pub path: String,
    pub message: String,
}

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.pos.line, self.pos.column)?;
        if !self.path.is_empty() {
            write!(f, "{}: ", self.path)?;
        }
        f.write_str(&self.message)
    }
}

/// `/spec/items/0/name` → `spec.items[0].name`.
pub fn dotted(pointer: &str) -> String {
    let mut out = String::new();
    for seg in pointer.split('/').skip(1) {
        let seg = seg.replace("~1", "/").replace("~0", "~");
        if !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{seg}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&seg);
        }
    }
    out
}

/// Parse and validate a spec. `file` is only used in messages.
pub fn load(file: &str, text: &str) -> Result<Platform, Vec<SpecError>> {
    let err = |pos: Pos, pointer: &str, message: String| SpecError {
        file: file.to_string(),
        pos,
        path: dotted(pointer),
        message,
    };
    let docs = datalyptica_yaml::parse(text)
        .map_err(|e| vec![err(e.pos, "", format!("invalid YAML: {}", e.message))])?;
    let mut docs: Vec<Document> = docs.into_iter().filter(|d| !d.value.is_null()).collect();
    let doc = match docs.len() {
        1 => docs.remove(0),
        0 => {
            return Err(vec![err(
                Pos { line: 1, column: 1 },
                "",
                "empty spec (expected one `kind: Platform` document; `datalyptica init` writes one)".into(),
            )]);
        }
        n => {
            return Err(vec![err(
                docs[1].start,
                "",
                format!("{n} documents (expected exactly one `kind: Platform` document)"),
            )]);
        }
    };
    if !doc.value.is_object() {
        return Err(vec![err(
            doc.start,
            "",
            format!(
                "the document is a {} (expected a mapping with apiVersion, kind, metadata, spec)",
                type_name(&doc.value)
            ),
        )]);
    }
    let platform: Platform =
        match serde_path_to_error::deserialize(without_nulls(doc.value.clone())) {
            Ok(p) => p,
            Err(e) => {
                let mut pointer = pointer_of(e.path());
                let inner = e.inner().to_string();
                let message = explain_serde(&inner, &mut pointer, &doc.value);
                return Err(vec![err(doc.locate(&pointer), &pointer, message)]);
            }
        };
    let issues = validate(&platform);
    if issues.is_empty() {
        Ok(platform)
    } else {
        Err(issues
            .into_iter()
            .map(|i| err(doc.locate(&i.pointer), &i.pointer, i.message))
            .collect())
    }
}

/// Kubernetes reads `key:` (null) as absent; so do we.
pub(crate) fn without_nulls(v: Value) -> Value {
    match v {
        Value::Object(o) => Value::Object(
            o.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.into_iter().map(without_nulls).collect()),
        other => other,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "list",
        Value::Object(_) => "mapping",
    }
}

fn pointer_of(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut p = String::new();
    for seg in path.iter() {
        match seg {
            Segment::Seq { index } => p.push_str(&format!("/{index}")),
            Segment::Map { key } => {
                p.push('/');
                p.push_str(&datalyptica_yaml::escape_segment(key));
            }
            Segment::Enum { variant } => {
                p.push('/');
                p.push_str(variant);
            }
            Segment::Unknown => {}
        }
    }
    p
}

/// Backticked words of a serde message, in order.
fn backticked(msg: &str) -> Vec<&str> {
    msg.split('`').skip(1).step_by(2).collect()
}

/// Turn serde's message into ours: say what was expected, suggest the closest known name, and
/// point at the offending key itself.
fn explain_serde(msg: &str, pointer: &mut String, root: &Value) -> String {
    if let Some(rest) = msg.strip_prefix("unknown field ") {
        let words = backticked(rest);
        let (unknown, expected) = match words.split_first() {
            Some((u, e)) => (*u, e.to_vec()),
            None => ("?", vec![]),
        };
        let seg = datalyptica_yaml::escape_segment(unknown);
        if !pointer.ends_with(&format!("/{seg}")) {
            pointer.push('/');
            pointer.push_str(&seg);
        }
        let mut m = format!("unknown field `{unknown}`");
        if let Some(s) = suggest(unknown, expected.iter().copied()) {
            m.push_str(&format!(" (did you mean `{s}`?)"));
        }
        if !expected.is_empty() {
            m.push_str(&format!("; expected one of: {}", expected.join(", ")));
        }
        return m;
    }
    if let Some(rest) = msg.strip_prefix("unknown variant ") {
        let words = backticked(rest);
        if let Some((u, e)) = words.split_first() {
            let mut m = format!("unknown value `{u}`");
            if let Some(s) = suggest(u, e.iter().copied()) {
                m.push_str(&format!(" (did you mean `{s}`?)"));
            }
            m.push_str(&format!("; expected one of: {}", e.join(", ")));
            return m;
        }
    }
    if let Some(rest) = msg.strip_prefix("missing field ") {
        return format!("missing required field {rest}");
    }
    if msg.starts_with("invalid type") || msg.starts_with("invalid value") {
        // serde says "invalid type: string \"x\", expected u32": make the expectation human.
        let human = msg
            .replace("expected u32", "expected a whole number")
            .replace("expected u64", "expected a whole number")
            .replace("expected f64", "expected a number")
            .replace("expected a boolean", "expected true or false");
        let _ = root;
        return human;
    }
    msg.to_string()
}
