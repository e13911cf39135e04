//! Report formats: human, JSON, SARIF 2.1.0, JUnit XML.
//!
//! JSON shape (stable, `version` bumps on incompatible change):
//! ```text
//! { "version": 1,
//!   "tool": { "name": "datalyptica-lint", "version": "<crate version>" },
//!   "summary": { "files", "objects", "errors", "warnings", "infos", "waived" },
//!   "findings": [ Finding ],   // counted, sorted by file, line, column
//!   "waived":   [ Finding ] }  // same shape, plus "waiver": "<reason>"
//! Finding = { "rule", "severity": "error|warning|info", "category", "title", "message",
//!             "object": { "kind", "namespace"|null, "name" } | null,
//!             "file", "line", "column", "pointer", "hint" }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value, json};

use crate::{Finding, Report, Severity, Source, rules};

pub const TOOL_NAME: &str = "datalyptica-lint";
pub const TOOL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One finding as the JSON report writes it (borrowed: nothing is copied to write it).
#[derive(serde::Serialize)]
struct FindingJson<'a> {
    rule: &'a str,
    severity: &'a str,
    category: Option<&'a str>,
    title: Option<&'a str>,
    message: &'a str,
    object: Option<ObjectJson<'a>>,
    file: std::borrow::Cow<'a, str>,
    line: usize,
    column: usize,
    pointer: &'a str,
    hint: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    waiver: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct ObjectJson<'a> {
    kind: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
}

fn finding_json(f: &Finding) -> FindingJson<'_> {
    let r = rules::rule(f.rule);
    FindingJson {
        rule: f.rule,
        severity: f.severity.as_str(),
        category: r.map(|r| r.category.as_str()),
        title: r.map(|r| r.title),
        message: &f.message,
        object: f.object.as_ref().map(|o| ObjectJson {
            kind: &o.kind,
            namespace: o.namespace.as_deref(),
            name: &o.name,
        }),
        file: f.file.to_string_lossy(),
        line: f.line,
        column: f.column,
        pointer: &f.pointer,
        hint: f.hint,
        waiver: f.waiver.as_deref(),
    }
}

fn summary_json(report: &Report) -> Value {
    json!({
        "files": report.files,
        "objects": report.objects,
        "errors": report.count(Severity::Error),
        "warnings": report.count(Severity::Warning),
        "infos": report.count(Severity::Info),
        "waived": report.waived.len(),
    })
}

/// A list serialized one element at a time, so a large report never exists twice in memory.
struct Findings<'a>(&'a [Finding]);

impl Serialize for Findings<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for f in self.0 {
            seq.serialize_element(&finding_json(f))?;
        }
        seq.end()
    }
}

struct JsonReport<'a>(&'a Report);

impl Serialize for JsonReport<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut m = s.serialize_map(Some(5))?;
        m.serialize_entry("version", &1)?;
        m.serialize_entry(
            "tool",
            &json!({ "name": TOOL_NAME, "version": TOOL_VERSION }),
        )?;
        m.serialize_entry("summary", &summary_json(r))?;
        m.serialize_entry("findings", &Findings(&r.findings))?;
        m.serialize_entry("waived", &Findings(&r.waived))?;
        m.end()
    }
}

/// The JSON report as a value (convenient for small reports and tests).
pub fn json(report: &Report) -> Value {
    serde_json::to_value(JsonReport(report)).unwrap_or(Value::Null)
}

/// Write the JSON report (pretty-printed): the same bytes as serializing [`json`] pretty, with
/// the findings, most of the text, rendered in parallel chunks.
pub fn write_json(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    let nested = |v: &Value| {
        let mut out = Vec::new();
        v.serialize(&mut serde_json::Serializer::with_formatter(
            &mut out,
            Nested::at(1),
        ))
        .map(|()| out)
        .map_err(std::io::Error::other)
    };
    let tool = json!({ "name": TOOL_NAME, "version": TOOL_VERSION });
    w.write_all(b"{\n  \"version\": 1,\n  \"tool\": ")?;
    w.write_all(&nested(&tool)?)?;
    w.write_all(b",\n  \"summary\": ")?;
    w.write_all(&nested(&summary_json(report))?)?;
    w.write_all(b",\n  \"findings\": ")?;
    write_findings(&report.findings, w)?;
    w.write_all(b",\n  \"waived\": ")?;
    write_findings(&report.waived, w)?;
    w.write_all(b"\n}\n")
}

/// A list of findings as the array of `"findings"` (depth 1 of the report) pretty-prints.
fn write_findings(fs: &[Finding], w: &mut dyn std::io::Write) -> std::io::Result<()> {
    use rayon::prelude::*;
    if fs.is_empty() {
        return w.write_all(b"[]");
    }
    let chunks: Vec<std::io::Result<Vec<u8>>> = fs
        .par_chunks(256)
        .map(|chunk| {
            let mut out = Vec::with_capacity(chunk.len() * 768);
            for f in chunk {
                out.extend_from_slice(b",\n    ");
                let mut ser = serde_json::Serializer::with_formatter(&mut out, Nested::at(2));
                finding_json(f)
                    .serialize(&mut ser)
                    .map_err(std::io::Error::other)?;
            }
            Ok(out)
        })
        .collect();
    w.write_all(b"[")?;
    for (i, c) in chunks.into_iter().enumerate() {
        let c = c?;
        // The first item has no comma before it.
        w.write_all(if i == 0 { &c[1..] } else { &c })?;
    }
    w.write_all(b"\n  ]")
}

/// serde_json's pretty layout (two spaces a level) for a value that sits `level` levels deep
/// in the document, written straight into the output.
struct Nested {
    level: usize,
    has_value: bool,
}

impl Nested {
    fn at(level: usize) -> Self {
        Nested {
            level,
            has_value: false,
        }
    }

    fn indent<W: ?Sized + std::io::Write>(&self, w: &mut W) -> std::io::Result<()> {
        for _ in 0..self.level {
            w.write_all(b"  ")?;
        }
        Ok(())
    }

    fn open<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.level += 1;
        self.has_value = false;
        w.write_all(b)
    }

    fn close<W: ?Sized + std::io::Write>(&mut self, w: &mut W, b: &[u8]) -> std::io::Result<()> {
        self.level -= 1;
        if self.has_value {
            w.write_all(b"\n")?;
            self.indent(w)?;
        }
        w.write_all(b)
    }

    fn item<W: ?Sized + std::io::Write>(&mut self, w: &mut W, first: bool) -> std::io::Result<()> {
        w.write_all(if first { b"\n" } else { b",\n" })?;
        self.indent(w)
    }
}

impl serde_json::ser::Formatter for Nested {
    fn begin_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"[")
    }
    fn end_array<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"]")
    }
    fn begin_array_value<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn end_array_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.open(w, b"{")
    }
    fn end_object<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        self.close(w, b"}")
    }
    fn begin_object_key<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> std::io::Result<()> {
        self.item(w, first)
    }
    fn begin_object_value<W: ?Sized + std::io::Write>(&mut self, w: &mut W) -> std::io::Result<()> {
        w.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + std::io::Write>(&mut self, _: &mut W) -> std::io::Result<()> {
        self.has_value = true;
        Ok(())
    }
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// A relative URI reference for a path (SARIF wants URIs, not OS paths).
pub fn path_uri(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    if s == "-" {
        return "stdin".into();
    }
    let mut out = String::new();
    if s.starts_with('/') {
        out.push_str("file://");
    }
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

fn sarif_rules() -> Vec<Value> {
    rules::rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "name": r.title,
                "shortDescription": { "text": r.title },
                "fullDescription": { "text": r.rationale },
                "help": {
                    "text": format!("{}\n\nExample:\n{}", r.hint, r.example),
                    "markdown": format!("{}\n\nExample:\n\n```yaml\n{}\n```", r.hint, r.example),
                },
                "defaultConfiguration": { "level": sarif_level(r.severity) },
                "properties": { "tags": [r.category.as_str()] },
            })
        })
        .collect()
}

fn sarif_result(f: &Finding) -> Value {
    let mut v = json!({
        "ruleId": f.rule,
        "level": sarif_level(f.severity),
        "message": { "text": f.message },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": { "uri": path_uri(&f.file) },
                "region": { "startLine": f.line.max(1), "startColumn": f.column.max(1) },
            },
        }],
        "properties": { "hint": f.hint, "pointer": f.pointer },
    });
    if let Value::Object(m) = &mut v {
        if let Some(i) = rules::rules().iter().position(|r| r.id == f.rule) {
            m.insert("ruleIndex".into(), json!(i));
        }
        if let Some(w) = &f.waiver {
            m.insert(
                "suppressions".into(),
                json!([{ "kind": "inSource", "justification": w }]),
            );
        }
    }
    v
}

struct SarifResults<'a>(&'a Report);

impl Serialize for SarifResults<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let r = self.0;
        let mut seq = s.serialize_seq(Some(r.findings.len() + r.waived.len()))?;
        for f in r.findings.iter().chain(r.waived.iter()) {
            seq.serialize_element(&sarif_result(f))?;
        }
        seq.end()
    }
}

struct SarifRun<'a>(&'a Report);

impl Serialize for SarifRun<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry(
            "tool",
            &json!({ "driver": {
                "name": TOOL_NAME,
                "version": TOOL_VERSION,
                "rules": sarif_rules(),
            }}),
        )?;
        m.serialize_entry("columnKind", "unicodeCodePoints")?;
        m.serialize_entry("results", &SarifResults(self.0))?;
        m.end()
    }
}

struct SarifLog<'a>(&'a Report);

impl Serialize for SarifLog<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("$schema", "https://json.schemastore.org/sarif-2.1.0.json")?;
        m.serialize_entry("version", "2.1.0")?;
        m.serialize_entry("runs", &[SarifRun(self.0)])?;
        m.end()
    }
}

/// The SARIF 2.1.0 log as a value.
pub fn sarif(report: &Report) -> Value {
    serde_json::to_value(SarifLog(report)).unwrap_or(Value::Null)
}

/// Stream the SARIF log (pretty-printed) to a writer.
pub fn write_sarif(report: &Report, w: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, &SarifLog(report)).map_err(std::io::Error::other)?;
    w.write_all(b"\n")
}

/// Escape text for XML 1.0 (attributes and content); drops characters XML cannot carry.
pub fn xml_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            '\t' | '\n' | '\r' => o.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => o.push(c),
        }
    }
    o
}

/// One `<testsuite>` per file, one `<testcase>` per (file, rule) with findings (a failure if
/// any finding reaches `fail_on`), a passing `lint` case for clean files, and `<skipped>`
/// cases for waived findings.
pub fn junit(report: &Report, files: &[&Path], fail_on: Option<Severity>) -> String {
    let mut by_file: BTreeMap<String, BTreeMap<&str, Vec<&Finding>>> = BTreeMap::new();
    for p in files {
        by_file.entry(p.to_string_lossy().into_owned()).or_default();
    }
    for f in report.findings.iter().chain(report.waived.iter()) {
        by_file
            .entry(f.file.to_string_lossy().into_owned())
            .or_default()
            .entry(f.rule)
            .or_default()
            .push(f);
    }
    let mut suites = String::new();
    let (mut total, mut total_fail) = (0usize, 0usize);
    for (file, by_rule) in &by_file {
        let mut cases = String::new();
        let (mut tests, mut failures) = (0usize, 0usize);
        if by_rule.is_empty() {
            tests += 1;
            let _ = writeln!(
                cases,
                "    <testcase classname=\"{}\" name=\"lint\"/>",
                xml_escape(file)
            );
        }
        for (rule, fs) in by_rule {
            tests += 1;
            let title = rules::rule(rule).map_or("", |r| r.title);
            let name = xml_escape(&format!("{rule} {title}"));
            let body: String = fs
                .iter()
                .map(|f| {
                    format!(
                        "{}:{}: {} ({})\nhint: {}\n",
                        f.line, f.column, f.message, f.severity, f.hint
                    )
                })
                .collect();
            let counted: Vec<&&Finding> = fs.iter().filter(|f| f.waiver.is_none()).collect();
            let failing = counted
                .iter()
                .filter(|f| fail_on.is_some_and(|t| f.severity >= t))
                .count();
            let _ = write!(
                cases,
                "    <testcase classname=\"{}\" name=\"{name}\">",
                xml_escape(file)
            );
            if failing > 0 {
                failures += 1;
                let worst = counted
                    .iter()
                    .map(|f| f.severity)
                    .max()
                    .unwrap_or(Severity::Error);
                let _ = write!(
                    cases,
                    "<failure type=\"{}\" message=\"{}\">{}</failure>",
                    worst,
                    xml_escape(&format!("{failing} finding(s)")),
                    xml_escape(&body)
                );
            } else if counted.is_empty() {
                let reasons: Vec<&str> = fs.iter().filter_map(|f| f.waiver.as_deref()).collect();
                let _ = write!(
                    cases,
                    "<skipped message=\"{}\"/>",
                    xml_escape(&format!("waived: {}", reasons.join("; ")))
                );
            } else {
                let _ = write!(cases, "<system-out>{}</system-out>", xml_escape(&body));
            }
            cases.push_str("</testcase>\n");
        }
        total += tests;
        total_fail += failures;
        let _ = write!(
            suites,
            "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">\n{cases}  </testsuite>\n",
            xml_escape(file)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"{TOOL_NAME}\" tests=\"{total}\" failures=\"{total_fail}\" errors=\"0\">\n{suites}</testsuites>\n"
    )
}

struct Palette {
    on: bool,
}

impl Palette {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn sev(&self, s: Severity) -> String {
        let code = match s {
            Severity::Error => "1;31",
            Severity::Warning => "1;33",
            Severity::Info => "1;36",
        };
        self.paint(code, &format!("{:<7}", s.as_str()))
    }
}

/// Grouped by file, with the offending source line and a caret under the column.
pub fn human(report: &Report, sources: &[Source], color: bool) -> String {
    let pal = Palette { on: color };
    let texts: HashMap<&Path, &str> = sources
        .iter()
        .map(|s| (s.path.as_path(), s.text.as_str()))
        .collect();
    let mut out = String::new();
    let mut current: Option<&Path> = None;
    let mut line_cache: (Option<&Path>, Vec<&str>) = (None, Vec::new());
    for f in &report.findings {
        if current != Some(f.file.as_path()) {
            current = Some(f.file.as_path());
            let _ = writeln!(out, "\n{}", pal.paint("1;4", &f.file.to_string_lossy()));
        }
        let _ = writeln!(
            out,
            "  {:>4}:{:<3} {} {}  {}",
            f.line,
            f.column,
            pal.sev(f.severity),
            pal.paint("2", f.rule),
            f.message
        );
        if line_cache.0 != Some(f.file.as_path()) {
            line_cache = (
                Some(f.file.as_path()),
                texts
                    .get(f.file.as_path())
                    .map(|t| t.lines().collect())
                    .unwrap_or_default(),
            );
        }
        if let Some(src) = f.line.checked_sub(1).and_then(|l| line_cache.1.get(l)) {
            let shown: String = src.chars().take(160).collect();
            let _ = writeln!(out, "       {} {}", pal.paint("34", "|"), shown);
        }
        // A caret only under what was shown (a hostile file may have one line of 64 MiB).
        if let Some(src) = f.line.checked_sub(1).and_then(|l| line_cache.1.get(l))
            && f.column <= 161
        {
            let pad: String = src
                .chars()
                .take(f.column.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(
                out,
                "       {} {pad}{}",
                pal.paint("34", "|"),
                pal.paint("1;31", "^")
            );
        }
        let _ = writeln!(
            out,
            "       {} {}",
            pal.paint("34", "="),
            pal.paint("32", &format!("hint: {}", f.hint))
        );
    }
    if !report.waived.is_empty() {
        let _ = writeln!(
            out,
            "\n{}",
            pal.paint("1", &format!("waived ({}):", report.waived.len()))
        );
        for f in &report.waived {
            let _ = writeln!(
                out,
                "  {}:{}:{} {} {} — {}",
                f.file.to_string_lossy(),
                f.line,
                f.column,
                pal.paint("2", f.rule),
                f.object.as_ref().map(|o| o.to_string()).unwrap_or_default(),
                f.waiver.as_deref().unwrap_or("")
            );
        }
    }
    let summary = format!(
        "{} error(s), {} warning(s), {} info, {} waived in {} file(s), {} object(s)",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
        report.waived.len(),
        report.files,
        report.objects
    );
    let _ = writeln!(out, "\n{}", pal.paint("1", &summary));
    out
}

/// `--list-rules`.
pub fn list_rules() -> String {
    let mut out = String::new();
    for r in rules::rules() {
        let _ = writeln!(
            out,
            "{}  {:<8} {:<9} {}",
            r.id,
            r.severity.as_str(),
            r.category.as_str(),
            r.title
        );
    }
    out
}

/// `--explain ID`.
pub fn explain(r: &rules::Rule) -> String {
    format!(
        "{} — {}\ncategory: {}\ndefault severity: {}\n\nWhy:\n  {}\n\nFix:\n  {}\n\nExample:\n{}\n\nWaive on an object with:\n  metadata:\n    annotations:\n      lint.datalyptica.io/waive: \"{}: <reason>\"\n",
        r.id,
        r.title,
        r.category.as_str(),
        r.severity.as_str(),
        r.rationale,
        r.hint,
        r.example
            .lines()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        r.id
    )
}
