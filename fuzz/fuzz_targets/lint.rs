//! The lint loader and every rule: any bytes (one file, or split in two at the first `\0` to
//! exercise cross-file rules) give a report whose findings point inside their file.
#![no_main]

use datalyptica_lint::{Config, Source, lint_sources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let sources: Vec<Source> = match text.split_once('\0') {
        Some((a, b)) => vec![Source::new("a.yaml", a), Source::new("b.yaml", b)],
        None => vec![Source::new("a.yaml", text.as_ref())],
    };
    let report = lint_sources(&sources, &Config::default());
    for f in report.findings.iter().chain(&report.waived) {
        let src = sources
            .iter()
            .find(|s| s.path == f.file)
            .expect("finding of a known file");
        let lines = yaml_lines(&src.text);
        assert!(f.line >= 1 && f.line <= lines + 1, "{f:?}");
    }
    let mut out = Vec::new();
    let _ = datalyptica_lint::output::write_json(&report, &mut out);
    let _ = datalyptica_lint::output::human(&report, &sources, false);
});

/// Lines as YAML counts them: `\n`, `\r\n` and a lone `\r` each end one (YAML 1.2 §5.4).
fn yaml_lines(text: &str) -> usize {
    1 + text.matches("\r\n").count() + text.matches('\n').count() + text.matches('\r').count()
        - 2 * text.matches("\r\n").count()
}
