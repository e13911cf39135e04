//! The YAML-with-positions loader: any bytes give documents or a positioned error, within the
//! limits, and every recorded position lies inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let lines = yaml_lines(&text);
    match datalyptica_yaml::parse(&text) {
        Ok(docs) => {
            for d in &docs {
                for (pointer, p) in &d.positions {
                    // A merge key's own entry has no node of its own: it merged into its map.
                    let merged = pointer.split('/').any(|s| s == "<<");
                    assert!(
                        p.value.line >= 1 && p.value.line <= lines,
                        "{pointer}: {p:?}"
                    );
                    assert!(p.value.column >= 1, "{pointer}: {p:?}");
                    // Every pointer resolves to a node of the value it indexes.
                    assert!(
                        merged || d.value.pointer(pointer).is_some(),
                        "{pointer} not in the value"
                    );
                    let _ = d.locate(&format!("{pointer}/missing"));
                }
            }
        }
        Err(e) => {
            assert!(e.pos.line >= 1 && e.pos.line <= lines + 1, "{e}");
        }
    }
});

/// Lines as YAML counts them: `\n`, `\r\n` and a lone `\r` each end one (YAML 1.2 §5.4).
fn yaml_lines(text: &str) -> usize {
    1 + text.matches("\r\n").count() + text.matches('\n').count() + text.matches('\r').count()
        - 2 * text.matches("\r\n").count()
}
