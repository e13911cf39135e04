//! The spec loader: parse, deserialize and validate. Any bytes give a Platform or errors with a
//! position inside the input; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = yaml_lines(&text);
    if let Err(errs) = datalyptica_platform::load("fuzz.yaml", &text) {
        assert!(!errs.is_empty());
        for e in &errs {
            assert!(e.pos.line >= 1 && e.pos.line <= lines + 1, "{e}");
            let _ = e.to_string();
        }
    }
});

/// Lines as YAML counts them: `\n`, `\r\n` and a lone `\r` each end one (YAML 1.2 §5.4).
fn yaml_lines(text: &str) -> usize {
    1 + text.matches("\r\n").count() + text.matches('\n').count() + text.matches('\r').count()
        - 2 * text.matches("\r\n").count()
}
