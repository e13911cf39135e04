use super::*;
use serde_json::json;

fn one(src: &str) -> Document {
    let mut docs = parse(src).expect("valid yaml");
    assert_eq!(docs.len(), 1, "{docs:?}");
    docs.remove(0)
}

#[test]
fn core_schema_scalars() {
    let d = one(
        "a: 1\nb: -0x10\nc: 1.5\nd: true\ne: ~\nf: 'true'\ng: yes\nh: 0o17\ni: .inf\nj: 08\nk: \"3\"\n",
    );
    assert_eq!(
        d.value,
        json!({"a":1,"b":-16,"c":1.5,"d":true,"e":null,"f":"true","g":"yes","h":15,"i":".inf","j":8,"k":"3"})
    );
}

#[test]
fn positions_of_keys_and_values() {
    let d = one("spec:\n  items:\n    - name: x\n      size: 10Gi\n");
    let n = d.positions["/spec/items/0/size"];
    assert_eq!(n.key, Some(Pos { line: 4, column: 7 }));
    assert_eq!(
        n.value,
        Pos {
            line: 4,
            column: 13
        }
    );
    assert_eq!(
        d.locate("/spec/items/0/missing"),
        Pos { line: 3, column: 7 }
    );
    assert_eq!(d.locate("/spec"), Pos { line: 1, column: 1 });
}

#[test]
fn multi_document_with_empty_docs() {
    let docs = parse("a: 1\n---\n---\nb: 2\n").expect("valid");
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[1].value, Value::Null);
    assert_eq!(docs[2].start.line, 3);
    assert_eq!(docs[2].positions["/b"].value.line, 4);
}

#[test]
fn anchors_aliases_and_merge_keys() {
    let d = one("base: &b\n  x: 1\n  y: 2\nuse:\n  <<: *b\n  y: 3\nlist: [*b]\n");
    assert_eq!(d.value["use"], json!({"x":1,"y":3}));
    assert_eq!(d.value["list"], json!([{"x":1,"y":2}]));
    let tagged = one("m:\n  !!merge <<: [{a: 1}, {a: 2, b: 2}]\n");
    assert_eq!(tagged.value["m"], json!({"a":1,"b":2}));
}

#[test]
fn duplicate_keys_are_errors_with_position() {
    let e = parse("a: 1\nb:\n  c: 1\n  c: 2\n").expect_err("duplicate");
    assert!(e.message.contains("duplicate key `c`"), "{e}");
    assert_eq!(e.pos, Pos { line: 4, column: 3 });
}

#[test]
fn syntax_errors_have_positions() {
    let e = parse("a: [1, 2\nb: 3\n").expect_err("unclosed flow");
    assert!(e.pos.line >= 1, "{e}");
    let e = parse("a: b: c\n").expect_err("nested plain mapping");
    assert_eq!(e.pos.line, 1);
}

#[test]
fn explicit_tags() {
    let d = one("a: !!str 1\nb: !!int \"7\"\n");
    assert_eq!(d.value, json!({"a":"1","b":7}));
    assert!(parse("a: !!int x\n").is_err());
}

#[test]
fn pointer_segments_are_escaped() {
    let d = one("metadata:\n  annotations:\n    example.com/x~y: v\n");
    assert!(
        d.positions
            .contains_key("/metadata/annotations/example.com~1x~0y")
    );
}

#[test]
fn any_number_of_comments_between_a_key_and_its_value() {
    // A long commented-out block under a key (common in upstream examples).
    let mut src = String::from("spec:\n");
    for i in 0..500 {
        src.push_str(&format!("  # option {i}: commented out\n"));
    }
    src.push_str("  replicas: 3\n");
    let d = one(&src);
    assert_eq!(d.value, json!({"spec": {"replicas": 3}}));
    assert_eq!(d.positions["/spec/replicas"].value.line, 502);
    // Also between list items and before a document's first key.
    let mut src = String::from("items:\n- a\n");
    src.push_str(&"# x\n".repeat(300));
    src.push_str("- b\n");
    assert_eq!(one(&src).value, json!({"items": ["a", "b"]}));
}

#[test]
fn decoded_utf16_parses_and_duplicate_keys_stay_errors() {
    let mut bytes = vec![0xFF, 0xFE];
    for u in "kind: ConfigMap\nname: ü\n".encode_utf16() {
        bytes.extend(u.to_le_bytes());
    }
    let d = one(&decode(&bytes));
    assert_eq!(d.value, json!({"kind": "ConfigMap", "name": "ü"}));
    let e = parse("a: 1\n# c\nb: 2\na: 3\n").expect_err("duplicate key");
    assert!(e.message.contains("duplicate key `a`"), "{e}");
    assert_eq!(e.pos.line, 4);
}
