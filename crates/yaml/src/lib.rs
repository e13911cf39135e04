//! YAML documents as `serde_json::Value`s, with the source position of every node.
//!
//! Both the platform spec loader and `lint` must point at the exact line and column of a
//! field, which typed deserializers cannot do once a value has been converted. So we build the
//! value ourselves from parser events and keep a map from JSON pointer to position beside it.
//! Scalars are resolved with the YAML 1.2 core schema (what Kubernetes' own parser accepts
//! for manifests); anchors, aliases and `<<` merge keys are resolved; duplicate keys are errors.

use std::collections::HashMap;

use granit_parser::{Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

mod encoding;
pub use encoding::decode;

/// 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Where a node is: its own position, and for a mapping value, the position of its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodePos {
    pub key: Option<Pos>,
    pub value: Pos,
}

/// One YAML document of a stream.
#[derive(Debug, Clone)]
pub struct Document {
    pub value: Value,
    /// First line of the document's content (or of its `---` marker).
    pub start: Pos,
    /// JSON pointer (RFC 6901, `""` for the root) → position.
    pub positions: HashMap<String, NodePos>,
}

impl Document {
    /// The best position for a JSON pointer: the node itself, else its nearest ancestor
    /// (a missing field is reported where it should have been written).
    pub fn locate(&self, pointer: &str) -> Pos {
        let mut p = pointer;
        loop {
            if let Some(n) = self.positions.get(p) {
                return n.key.unwrap_or(n.value);
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return self.start,
            }
        }
    }

    /// Position of a node's value (not its key), falling back like [`Document::locate`].
    pub fn locate_value(&self, pointer: &str) -> Pos {
        match self.positions.get(pointer) {
            Some(n) => n.value,
            None => self.locate(pointer),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {}, column {}", pos.line, pos.column)]
pub struct Error {
    pub message: String,
    pub pos: Pos,
}

/// Escape one JSON-pointer segment. Borrowed when nothing needs escaping, which is almost
/// always: this runs for every mapping key of every document.
pub fn escape_segment(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(['~', '/']) {
        std::borrow::Cow::Owned(s.replace('~', "~0").replace('/', "~1"))
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// Parse a (multi-document) YAML stream. Empty documents are kept as `Value::Null`
/// so that document numbering matches what the user sees.
pub fn parse(src: &str) -> Result<Vec<Document>, Error> {
    let mut b = Builder::default();
    // Comments carry no data here. Without emitting them the parser also buffers none while
    // it looks ahead, so any number of comment lines between a key and its value is valid YAML
    // (with comment events on, granit-parser stops after 96 buffered comments). Another crate
    // of the workspace enables granit-parser's `comments` feature, so say it explicitly.
    let mut options = granit_parser::Options::default();
    options.set_emit_comments(false);
    for ev in Parser::new_from_str_with_options(src, options) {
        let (event, span) = ev.map_err(|e| Error {
            message: e.info(),
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
        })?;
        b.event(event, span)?;
    }
    Ok(b.docs)
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

enum Frame {
    Seq {
        items: Vec<Value>,
        anchor: usize,
        pointer: String,
    },
    Map {
        map: Map<String, Value>,
        /// Keys that came from merge keys may be overridden by explicit keys, once.
        merged: Vec<String>,
        anchor: usize,
        pointer: String,
        pending_key: Option<(String, Pos)>,
    },
}

#[derive(Default)]
struct Builder {
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, Value>,
    positions: HashMap<String, NodePos>,
    doc_start: Pos,
    root_done: bool,
}

const MERGE_KEY: &str = "<<";

impl Builder {
    /// Pointer of the node about to be produced, and the key position if it is a map value.
    fn child_pointer(&self) -> (String, Option<Pos>) {
        match self.stack.last() {
            None => (String::new(), None),
            Some(Frame::Seq { items, pointer, .. }) => (format!("{pointer}/{}", items.len()), None),
            Some(Frame::Map {
                pointer,
                pending_key: Some((k, kp)),
                ..
            }) => (format!("{pointer}/{}", escape_segment(k)), Some(*kp)),
            Some(Frame::Map { pointer, .. }) => (pointer.clone(), None),
        }
    }

    fn expecting_key(&self) -> bool {
        matches!(
            self.stack.last(),
            Some(Frame::Map {
                pending_key: None,
                ..
            })
        )
    }

    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), Error> {
        let pos = pos_of(&span);
        match event {
            Event::DocumentStart(..) => {
                self.doc_start = pos;
                self.anchors.clear();
                self.positions.clear();
            }
            // An empty document produces no node at all; keep it so numbering matches.
            Event::DocumentEnd if !std::mem::take(&mut self.root_done) => {
                self.docs.push(Document {
                    value: Value::Null,
                    start: self.doc_start,
                    positions: std::mem::take(&mut self.positions),
                });
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some((text.into_owned(), pos));
                    }
                    return Ok(());
                }
                let tag_suffix = tag
                    .as_ref()
                    .and_then(|t| t.core_suffix().map(str::to_owned));
                let v = resolve_scalar(&text, style, tag_suffix.as_deref(), pos)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, v.clone());
                }
                self.push_value(v, pos)?;
            }
            Event::Alias(id) => {
                let v = self.anchors.get(&id).cloned().ok_or(Error {
                    message: "alias to an unknown anchor".into(),
                    pos,
                })?;
                if self.expecting_key() {
                    let key = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(Frame::Map { pending_key, .. }) = self.stack.last_mut() {
                        *pending_key = Some((key, pos));
                    }
                    return Ok(());
                }
                self.push_value(v, pos)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.reject_complex_key(pos)?;
                let (pointer, key) = self.child_pointer();
                self.positions
                    .insert(pointer.clone(), NodePos { key, value: pos });
                self.stack.push(Frame::Seq {
                    items: Vec::new(),
                    anchor,
                    pointer,
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.reject_complex_key(pos)?;
                let (pointer, key) = self.child_pointer();
                self.positions
                    .insert(pointer.clone(), NodePos { key, value: pos });
                self.stack.push(Frame::Map {
                    map: Map::new(),
                    merged: Vec::new(),
                    anchor,
                    pointer,
                    pending_key: None,
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq { items, anchor, .. }) = self.stack.pop() {
                    let v = Value::Array(items);
                    if anchor != 0 {
                        self.anchors.insert(anchor, v.clone());
                    }
                    self.attach(v, pos)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map { map, anchor, .. }) = self.stack.pop() {
                    let v = Value::Object(map);
                    if anchor != 0 {
                        self.anchors.insert(anchor, v.clone());
                    }
                    self.attach(v, pos)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn reject_complex_key(&self, pos: Pos) -> Result<(), Error> {
        if self.expecting_key() {
            return Err(Error {
                message: "complex (non-scalar) mapping keys are not supported".into(),
                pos,
            });
        }
        Ok(())
    }

    /// A scalar or alias value: record its position, then attach it to its parent.
    fn push_value(&mut self, v: Value, pos: Pos) -> Result<(), Error> {
        let (pointer, key) = self.child_pointer();
        self.positions.insert(pointer, NodePos { key, value: pos });
        self.attach(v, pos)
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn attach(&mut self, v: Value, pos: Pos) -> Result<(), Error> {
        match self.stack.last_mut() {
            None => {
                self.docs.push(Document {
                    value: v,
                    start: self.doc_start,
                    positions: std::mem::take(&mut self.positions),
                });
                self.root_done = true;
            }
            Some(Frame::Seq { items, .. }) => items.push(v),
            Some(Frame::Map {
                map,
                merged,
                pending_key,
                ..
            }) => {
                let Some((key, kpos)) = pending_key.take() else {
                    return Err(Error {
                        message: "mapping value without a key".into(),
                        pos,
                    });
                };
                if key == MERGE_KEY {
                    let sources = match v {
                        Value::Array(a) => a,
                        other => vec![other],
                    };
                    for src in sources {
                        let Value::Object(src) = src else {
                            return Err(Error {
                                message: "merge key `<<` needs a mapping or a list of mappings"
                                    .into(),
                                pos: kpos,
                            });
                        };
                        for (k, v) in src {
                            if !map.contains_key(&k) {
                                merged.push(k.clone());
                                map.insert(k, v);
                            }
                        }
                    }
                } else if map.contains_key(&key) {
                    if let Some(i) = merged.iter().position(|m| *m == key) {
                        // Explicit keys win over merged ones (YAML merge semantics).
                        merged.swap_remove(i);
                        map.insert(key, v);
                    } else {
                        return Err(Error {
                            message: format!("duplicate key `{key}`"),
                            pos: kpos,
                        });
                    }
                } else {
                    map.insert(key, v);
                }
            }
        }
        Ok(())
    }
}

fn resolve_scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&str>,
    pos: Pos,
) -> Result<Value, Error> {
    let bad = |what: &str| Error {
        message: format!("`{text}` is not a valid {what}"),
        pos,
    };
    match tag {
        Some("str") => return Ok(Value::String(text.to_owned())),
        Some("null") => return Ok(Value::Null),
        Some("bool") => return parse_bool(text).map(Value::Bool).ok_or_else(|| bad("bool")),
        Some("int") => return parse_int(text).ok_or_else(|| bad("integer")),
        Some("float") => return parse_float(text).ok_or_else(|| bad("float")),
        _ => {}
    }
    if style != ScalarStyle::Plain {
        return Ok(Value::String(text.to_owned()));
    }
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Ok(Value::Null);
    }
    if let Some(b) = parse_bool(text) {
        return Ok(Value::Bool(b));
    }
    if let Some(n) = parse_int(text) {
        return Ok(n);
    }
    if let Some(f) = parse_float(text) {
        return Ok(f);
    }
    Ok(Value::String(text.to_owned()))
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

fn parse_int(s: &str) -> Option<Value> {
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = if let Some(h) = digits.strip_prefix("0x") {
        (16, h)
    } else if let Some(o) = digits.strip_prefix("0o") {
        (8, o)
    } else {
        (10, digits)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let mag = u64::from_str_radix(body, radix).ok()?;
    if neg {
        let v = i64::try_from(mag).ok()?.checked_neg()?;
        Some(Value::Number(v.into()))
    } else {
        Some(Value::Number(mag.into()))
    }
}

fn parse_float(s: &str) -> Option<Value> {
    // YAML 1.2 core: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?, plus .inf/.nan, which
    // JSON cannot hold: keep those as strings rather than inventing a number.
    let body = s.trim_start_matches(['-', '+']);
    let first = body.chars().next()?;
    if !(first.is_ascii_digit() || first == '.') {
        return None;
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+'))
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests;
