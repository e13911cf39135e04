//! YAML documents as `serde_json::Value`s, with the source position of every node.
//!
//! Both the platform spec loader and `lint` must point at the exact line and column of a
//! field, which typed deserializers cannot do once a value has been converted. So we build the
//! value ourselves from parser events and keep a map from JSON pointer to position beside it.
//! Scalars are resolved with the YAML 1.2 core schema (what Kubernetes' own parser accepts
//! for manifests); anchors, aliases and `<<` merge keys are resolved; duplicate keys are errors.
//!
//! Parsing is bounded ([`Limits`]): input size, nesting depth (counted through aliases) and
//! alias expansion (count, copied nodes and copied text per document), so a hostile file is an
//! [`Error`] with a position, never an exhausted machine.

use std::collections::{HashMap, HashSet};

mod limits;
pub use limits::{Limits, ReadError, read_bounded, read_bounded_bytes};

use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, Span};
use serde_json::{Map, Number, Value};

mod encoding;
pub use encoding::{decode, plain_utf8};

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
    /// From [`parse_values`]: the position of every node in document order, when the document
    /// has no anchor, alias or merge key (else empty). Its value's nodes are then in the same
    /// order, which [`Document::locate_by_order`] walks: positions without a second parse and
    /// without a pointer per node.
    pub order: Vec<PackedPos>,
}

/// A [`NodePos`] in 16 bytes instead of 40: one is held for every node of every document a
/// caller keeps (lines and columns beyond `u32::MAX` saturate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackedPos {
    value: (u32, u32),
    /// (0, 0): none (positions are 1-based).
    key: (u32, u32),
}

impl PackedPos {
    fn pack(n: NodePos) -> Self {
        let p = |p: Pos| {
            (
                u32::try_from(p.line).unwrap_or(u32::MAX),
                u32::try_from(p.column).unwrap_or(u32::MAX),
            )
        };
        PackedPos {
            value: p(n.value),
            key: n.key.map(p).unwrap_or((0, 0)),
        }
    }

    pub fn unpack(self) -> NodePos {
        let p = |(line, column): (u32, u32)| Pos {
            line: line as usize,
            column: column as usize,
        };
        NodePos {
            value: p(self.value),
            key: (self.key != (0, 0)).then(|| p(self.key)),
        }
    }
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

    /// [`Document::locate`] from [`Document::order`]; None when the document has no order (it
    /// used anchors, aliases or merge keys, or came without it).
    pub fn locate_by_order(&self, pointer: &str) -> Option<Pos> {
        // Nodes of a subtree, itself included.
        fn size(v: &Value) -> usize {
            match v {
                Value::Array(a) => 1 + a.iter().map(size).sum::<usize>(),
                Value::Object(m) => 1 + m.values().map(size).sum::<usize>(),
                _ => 1,
            }
        }
        let node = |i: usize| {
            self.order.get(i).map(|n| {
                let n = n.unpack();
                n.key.unwrap_or(n.value)
            })
        };
        if self.order.is_empty() {
            return None;
        }
        let mut at = 0;
        let mut v = &self.value;
        for seg in pointer.split('/').skip(1) {
            let seg = seg.replace("~1", "/").replace("~0", "~");
            let mut before = 0;
            let next = match v {
                Value::Object(m) => m.iter().find_map(|(k, c)| {
                    if *k == seg {
                        Some(c)
                    } else {
                        before += size(c);
                        None
                    }
                }),
                Value::Array(a) => match seg.parse::<usize>() {
                    Ok(i) if i < a.len() => {
                        before = a[..i].iter().map(size).sum();
                        Some(&a[i])
                    }
                    _ => None,
                },
                _ => None,
            };
            let Some(next) = next else { break };
            at += 1 + before;
            v = next;
        }
        node(at)
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

/// Parse a (multi-document) YAML stream within the default [`Limits`]. Empty documents are
/// kept as `Value::Null` so that document numbering matches what the user sees.
pub fn parse(src: &str) -> Result<Vec<Document>, Error> {
    parse_with(src, &Limits::default())
}

/// [`parse`] within explicit limits.
pub fn parse_with(src: &str, limits: &Limits) -> Result<Vec<Document>, Error> {
    let mut docs = Vec::new();
    run(src, limits, Keep::All, &mut |d| docs.push(d))?;
    Ok(docs)
}

/// [`parse_with`], handing each document to `each` as soon as it is complete instead of
/// collecting them: a caller that needs one document at a time holds one at a time. On an
/// error, the documents before it have been handed over.
pub fn parse_each(src: &str, limits: &Limits, each: &mut dyn FnMut(Document)) -> Result<(), Error> {
    run(src, limits, Keep::All, each)
}

/// [`parse_with`] without the position index (every `positions` map empty), for a caller that
/// holds many documents and locates a few nodes later (with [`parse_each`]). Accepts and
/// refuses exactly the inputs [`parse_with`] does, with the same errors.
pub fn parse_values(src: &str, limits: &Limits) -> Result<Vec<Document>, Error> {
    let mut docs = Vec::new();
    run(src, limits, Keep::Order, &mut |d| docs.push(d))?;
    Ok(docs)
}

/// Positions only, of the nodes `keep(document index, pointer)` asks for: the documents carry
/// no values (`Value::Null`, or partial), only positions. `keep` must be closed under
/// prefixes: a node it refuses is not asked about again, nor are any of its descendants (whose
/// pointers are not even built). For a caller that locates a few nodes of a stream it parsed
/// before: a set of pointers and all their ancestors (`""` included). The limits hold as in
/// [`parse_with`].
pub fn parse_each_keeping(
    src: &str,
    limits: &Limits,
    keep: &dyn Fn(usize, &str) -> bool,
    each: &mut dyn FnMut(Document),
) -> Result<(), Error> {
    run(src, limits, Keep::Some(keep), each)
}

/// Which positions a parse records.
#[derive(Clone, Copy, Default)]
enum Keep<'a> {
    /// No pointers; every node's position in document order (see `Document::order`).
    #[default]
    Order,
    All,
    Some(&'a dyn Fn(usize, &str) -> bool),
}

fn run(
    src: &str,
    limits: &Limits,
    keep: Keep<'_>,
    each: &mut dyn FnMut(Document),
) -> Result<(), Error> {
    limits.check_size(src)?;
    let mut b = Builder {
        limits: *limits,
        path_budget: limits.path_budget(src.len()),
        keep,
        ..Builder::default()
    };
    // The scanner enforces the depth limit on the source (before any event of a too-deep
    // collection), the builder the depth that aliases add.
    let mut options = granit_parser::options! {
        flow_nesting_limit: limits.max_depth,
        block_nesting_limit: limits.max_depth,
    };
    // Comments carry no data here. Without emitting them the parser also buffers none while
    // it looks ahead, so any number of comment lines between a key and its value is valid YAML
    // (with comment events on, granit-parser stops after 96 buffered comments). Another crate
    // of the workspace enables granit-parser's `comments` feature, so say it explicitly.
    options.set_emit_comments(false);
    for ev in Parser::new_from_str_with_options(src, options) {
        let (event, span) = ev.map_err(|e| Error {
            message: match e.kind() {
                ErrorKind::RecursionLimitExceeded => limits.depth_message(),
                _ => e.info(),
            },
            pos: Pos {
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
        })?;
        b.event(event, span)?;
        for d in b.docs.drain(..) {
            each(d);
        }
    }
    Ok(())
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// What a node costs once built: nodes, scalar and key text, nesting depth (0 for a scalar).
#[derive(Debug, Clone, Copy, Default)]
struct Size {
    nodes: usize,
    bytes: usize,
    depth: usize,
}

impl Size {
    fn scalar(text: &str) -> Size {
        Size {
            nodes: 1,
            bytes: text.len(),
            depth: 0,
        }
    }

    fn add_child(&mut self, c: Size) {
        self.nodes = self.nodes.saturating_add(c.nodes);
        self.bytes = self.bytes.saturating_add(c.bytes);
        self.depth = self.depth.max(c.depth + 1);
    }
}

enum Frame {
    Seq {
        /// Where this sequence's items start in [`Builder::items`].
        start: usize,
        /// Items so far (also when they are not kept: see `build`).
        count: usize,
        /// Whether the node's value is built: always, except in a positions-only parse
        /// ([`parse_each_keeping`]) outside anchored nodes, whose values aliases copy.
        build: bool,
        anchor: usize,
        /// Built only while positions are kept for this node; `plen` always (the path budget).
        pointer: String,
        plen: usize,
        live: bool,
        size: Size,
    },
    Map {
        /// Where this mapping's entries start in [`Builder::entries`], while it has few and no
        /// merge key: they move into `map` past [`SPILL`] entries or at a merge key.
        start: usize,
        map: Map<String, Value>,
        /// Keys that came from merge keys may be overridden by explicit keys, once.
        merged: HashSet<String>,
        build: bool,
        anchor: usize,
        pointer: String,
        plen: usize,
        live: bool,
        pending_key: Option<(String, Pos)>,
        size: Size,
    },
}

/// Decimal digits of a sequence index (its length in a pointer).
fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// Length of a key once escaped as a pointer segment.
fn escaped_len(k: &str) -> usize {
    k.len() + k.bytes().filter(|b| matches!(b, b'~' | b'/')).count()
}

impl Frame {
    fn size_mut(&mut self) -> &mut Size {
        match self {
            Frame::Seq { size, .. } | Frame::Map { size, .. } => size,
        }
    }
}

/// Alias expansion spent in the current document.
#[derive(Default)]
struct Spent {
    aliases: usize,
    nodes: usize,
    bytes: usize,
}

#[derive(Default)]
struct Builder<'k> {
    limits: Limits,
    /// The items and entries of the open collections, innermost last: a finished collection
    /// takes its own off the top at its exact size. Growing each Vec and IndexMap in place
    /// instead over-allocates up to twice and copies on every doubling, and page faults on
    /// fresh memory are the largest share of a parse.
    items: Vec<Value>,
    entries: Vec<(String, Value)>,
    docs: Vec<Document>,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Value, Size)>,
    spent: Spent,
    /// Bytes of all pointers recorded in the stream, and their budget.
    path_bytes: usize,
    path_budget: usize,
    keep: Keep<'k>,
    positions: HashMap<String, NodePos>,
    order: Vec<PackedPos>,
    /// Whether the document so far has no anchor, alias or merge key (its order is usable).
    plain: bool,
    /// Index in the stream of the document being built.
    doc_index: usize,
    doc_start: Pos,
    root_done: bool,
}

const MERGE_KEY: &str = "<<";
/// Entries a mapping keeps in [`Builder::entries`] (duplicate keys found by a linear scan)
/// before they move into its IndexMap.
const SPILL: usize = 16;

/// Where the node about to be produced is: its pointer's length (always: the path budget
/// counts it), the pointer itself when its position is kept (else empty, not built), and the
/// key position if it is a map value.
struct Child {
    len: usize,
    pointer: Option<String>,
    key: Option<Pos>,
}

impl Builder<'_> {
    fn child_pointer(&self) -> Child {
        let (len, key, parent_live) = match self.stack.last() {
            None => (0, None, true),
            Some(Frame::Seq {
                count, plen, live, ..
            }) => (plen + 1 + digits(*count), None, *live),
            Some(Frame::Map {
                plen,
                live,
                pending_key: Some((k, kp)),
                ..
            }) => (plen + 1 + escaped_len(k), Some(*kp), *live),
            Some(Frame::Map { plen, live, .. }) => (*plen, None, *live),
        };
        let pointer = match self.keep {
            Keep::Order => None,
            Keep::All => Some(self.build_pointer()),
            Keep::Some(keep) if parent_live => {
                Some(self.build_pointer()).filter(|p| keep(self.doc_index, p))
            }
            Keep::Some(_) => None,
        };
        Child { len, pointer, key }
    }

    /// Whether a node about to start (with this anchor) needs its value built: always, except
    /// in a positions-only parse (`Keep::Some`, see `Frame::Seq::build`).
    fn builds(&self, anchor: usize) -> bool {
        !matches!(self.keep, Keep::Some(_))
            || anchor != 0
            || match self.stack.last() {
                Some(Frame::Seq { build, .. } | Frame::Map { build, .. }) => *build,
                None => false,
            }
    }

    fn build_pointer(&self) -> String {
        match self.stack.last() {
            None => String::new(),
            Some(Frame::Seq { count, pointer, .. }) => format!("{pointer}/{count}"),
            Some(Frame::Map {
                pointer,
                pending_key: Some((k, _)),
                ..
            }) => format!("{pointer}/{}", escape_segment(k)),
            Some(Frame::Map { pointer, .. }) => pointer.clone(),
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
                self.order.clear();
                self.plain = true;
                self.spent = Spent::default();
            }
            // An empty document produces no node at all; keep it so numbering matches.
            Event::DocumentEnd if !std::mem::take(&mut self.root_done) => {
                self.docs.push(Document {
                    value: Value::Null,
                    start: self.doc_start,
                    positions: std::mem::take(&mut self.positions),
                    order: Vec::new(),
                });
                self.doc_index += 1;
            }
            Event::Scalar(text, style, anchor, tag) => {
                if self.expecting_key() {
                    if let Some(Frame::Map {
                        pending_key, size, ..
                    }) = self.stack.last_mut()
                    {
                        size.bytes = size.bytes.saturating_add(text.len());
                        *pending_key = Some((text.into_owned(), pos));
                    }
                    return Ok(());
                }
                let v = if self.builds(anchor) {
                    let tag_suffix = tag
                        .as_ref()
                        .and_then(|t| t.core_suffix().map(str::to_owned));
                    resolve_scalar(&text, style, tag_suffix.as_deref(), pos)?
                } else {
                    Value::Null
                };
                let size = Size::scalar(&text);
                if anchor != 0 {
                    self.copy(size, pos)?;
                    self.anchors.insert(anchor, (v.clone(), size));
                }
                self.push_value(v, size, pos)?;
            }
            Event::Alias(id) => {
                // A copy of another subtree: the value's nodes no longer follow the events.
                self.plain = false;
                let size = match self.anchors.get(&id) {
                    Some((_, size)) => *size,
                    None => {
                        return Err(Error {
                            message: "alias to an unknown anchor".into(),
                            pos,
                        });
                    }
                };
                self.spent.aliases += 1;
                if self.spent.aliases > self.limits.max_aliases {
                    return Err(Error {
                        message: format!(
                            "more than {} aliases in one document (limit max_aliases)",
                            self.limits.max_aliases
                        ),
                        pos,
                    });
                }
                self.copy(size, pos)?;
                self.check_depth(self.stack.len() + size.depth, pos)?;
                let v = if self.expecting_key() || self.builds(0) {
                    self.anchors
                        .get(&id)
                        .map(|(v, _)| v.clone())
                        .unwrap_or_default()
                } else {
                    Value::Null
                };
                if self.expecting_key() {
                    let key = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    if let Some(Frame::Map {
                        pending_key, size, ..
                    }) = self.stack.last_mut()
                    {
                        size.bytes = size.bytes.saturating_add(key.len());
                        *pending_key = Some((key, pos));
                    }
                    return Ok(());
                }
                self.push_value(v, size, pos)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                self.reject_complex_key(pos)?;
                self.check_depth(self.stack.len() + 1, pos)?;
                let c = self.child_pointer();
                let live = c.pointer.is_some();
                let pointer = self.record(c, pos)?;
                let build = self.builds(anchor);
                self.stack.push(Frame::Seq {
                    start: self.items.len(),
                    count: 0,
                    build,
                    anchor,
                    pointer: pointer.0,
                    plen: pointer.1,
                    live,
                    size: Size::scalar(""),
                });
            }
            Event::MappingStart(_, anchor, _) => {
                self.reject_complex_key(pos)?;
                self.check_depth(self.stack.len() + 1, pos)?;
                let c = self.child_pointer();
                let live = c.pointer.is_some();
                let pointer = self.record(c, pos)?;
                let build = self.builds(anchor);
                self.stack.push(Frame::Map {
                    start: self.entries.len(),
                    map: Map::new(),
                    merged: HashSet::new(),
                    build,
                    anchor,
                    pointer: pointer.0,
                    plen: pointer.1,
                    live,
                    pending_key: None,
                    size: Size::scalar(""),
                });
            }
            Event::SequenceEnd => {
                if let Some(Frame::Seq {
                    start,
                    anchor,
                    mut size,
                    ..
                }) = self.stack.pop()
                {
                    size.depth += 1;
                    let v = Value::Array(self.items.drain(start..).collect());
                    if anchor != 0 {
                        self.copy(size, pos)?;
                        self.anchors.insert(anchor, (v.clone(), size));
                    }
                    self.attach(v, size, pos)?;
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map {
                    start,
                    mut map,
                    anchor,
                    mut size,
                    ..
                }) = self.stack.pop()
                {
                    size.depth += 1;
                    let few = self.entries.drain(start..);
                    let v = Value::Object(if map.is_empty() {
                        few.collect()
                    } else {
                        map.extend(few);
                        map
                    });
                    if anchor != 0 {
                        self.copy(size, pos)?;
                        self.anchors.insert(anchor, (v.clone(), size));
                    }
                    self.attach(v, size, pos)?;
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

    /// Charge a copy of a node (an alias, or the anchor's own stored copy) to the document's
    /// expansion budget: what stops "billion laughs" long before memory runs out.
    fn copy(&mut self, size: Size, pos: Pos) -> Result<(), Error> {
        let l = &self.limits;
        self.spent.nodes = self.spent.nodes.saturating_add(size.nodes);
        self.spent.bytes = self.spent.bytes.saturating_add(size.bytes);
        let over = if self.spent.nodes > l.max_alias_nodes {
            Some(format!(
                "{} nodes (limit max_alias_nodes)",
                l.max_alias_nodes
            ))
        } else if self.spent.bytes > l.max_alias_bytes {
            Some(format!(
                "{} bytes of text (limit max_alias_bytes)",
                l.max_alias_bytes
            ))
        } else {
            None
        };
        match over {
            Some(what) => Err(Error {
                message: format!("anchors and aliases expand to more than {what} in one document"),
                pos,
            }),
            None => Ok(()),
        }
    }

    /// Remember where a node is. The pointers are the index's memory: bounded against the input
    /// (long keys nested deep would otherwise make it grow with the square of the input).
    /// Returns the pointer (empty when not kept) and its length, for a collection's frame.
    fn record(&mut self, c: Child, pos: Pos) -> Result<(String, usize), Error> {
        if matches!(self.keep, Keep::Order) && self.plain {
            self.order.push(PackedPos::pack(NodePos {
                key: c.key,
                value: pos,
            }));
        }
        self.path_bytes = self.path_bytes.saturating_add(c.len);
        if self.path_bytes > self.path_budget {
            return Err(Error {
                message: format!(
                    "node paths total more than {} bytes, {} times the input (limit path_factor: long keys nested deep)",
                    self.path_budget, self.limits.path_factor
                ),
                pos,
            });
        }
        Ok(match c.pointer {
            Some(p) => {
                self.positions.insert(
                    p.clone(),
                    NodePos {
                        key: c.key,
                        value: pos,
                    },
                );
                (p, c.len)
            }
            None => (String::new(), c.len),
        })
    }

    fn check_depth(&self, depth: usize, pos: Pos) -> Result<(), Error> {
        if depth > self.limits.max_depth {
            return Err(Error {
                message: self.limits.depth_message(),
                pos,
            });
        }
        Ok(())
    }

    /// A scalar or alias value: record its position, then attach it to its parent.
    fn push_value(&mut self, v: Value, size: Size, pos: Pos) -> Result<(), Error> {
        let c = self.child_pointer();
        self.record(c, pos)?;
        self.attach(v, size, pos)
    }

    /// Attach a finished node to its parent (or make it the document root).
    fn attach(&mut self, v: Value, size: Size, pos: Pos) -> Result<(), Error> {
        // Merged entries are copies and `<<` itself is no entry: the value's nodes no longer
        // follow the events.
        if let Some(Frame::Map {
            pending_key: Some((k, _)),
            ..
        }) = self.stack.last()
            && k == MERGE_KEY
        {
            self.plain = false;
        }
        if let Some(f) = self.stack.last_mut() {
            f.size_mut().add_child(size);
        }
        match self.stack.last_mut() {
            None => {
                let mut order = std::mem::take(&mut self.order);
                // Held as long as the document: no spare capacity.
                order.shrink_to_fit();
                self.docs.push(Document {
                    value: v,
                    start: self.doc_start,
                    positions: std::mem::take(&mut self.positions),
                    order: if self.plain { order } else { Vec::new() },
                });
                self.doc_index += 1;
                self.root_done = true;
            }
            Some(Frame::Seq { count, build, .. }) => {
                *count += 1;
                if *build {
                    self.items.push(v);
                }
            }
            Some(Frame::Map {
                start,
                map,
                merged,
                pending_key,
                build,
                ..
            }) => {
                let Some((key, kpos)) = pending_key.take() else {
                    return Err(Error {
                        message: "mapping value without a key".into(),
                        pos,
                    });
                };
                if !*build {
                    return Ok(());
                }
                let few = &mut self.entries;
                if map.is_empty() && key != MERGE_KEY && few.len() - *start < SPILL {
                    if few[*start..].iter().any(|(k, _)| *k == key) {
                        return Err(Error {
                            message: format!("duplicate key `{key}`"),
                            pos: kpos,
                        });
                    }
                    few.push((key, v));
                    return Ok(());
                }
                // Many entries or a merge key: the IndexMap from here on.
                if map.is_empty() {
                    *map = Map::with_capacity(2 * SPILL);
                }
                map.extend(few.drain(*start..));
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
                                merged.insert(k.clone());
                                map.insert(k, v);
                            }
                        }
                    }
                } else if map.contains_key(&key) {
                    if merged.remove(&key) {
                        // Explicit keys win over merged ones (YAML merge semantics).
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
