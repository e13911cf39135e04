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

/// Nine levels of nine aliases: 9^9 copies of "lol" (the classic "billion laughs").
pub(crate) fn billion_laughs() -> String {
    let mut s = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for i in 1..10 {
        let p = i - 1;
        s.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    s
}

#[test]
fn billion_laughs_stops_at_the_alias_budget_with_its_line() {
    let e = parse(&billion_laughs()).expect_err("alias bomb");
    assert!(e.message.contains("max_alias_nodes"), "{e}");
    assert!(e.message.contains("400000"), "{e}");
    // Line i+1 copies about 20 × 9^i nodes: the budget runs out around line 6, at once.
    assert!((5..=8).contains(&e.pos.line), "{e}");
    // The same shape, small, is fine.
    let ok = parse("a: &a [x, y]\nb: &b [*a, *a]\nc: [*b, *b]\n").expect("small aliasing");
    assert_eq!(
        ok[0].value["c"],
        json!([[["x", "y"], ["x", "y"]], [["x", "y"], ["x", "y"]]])
    );
}

#[test]
fn alias_count_and_copied_text_are_bounded() {
    let limits = Limits {
        max_aliases: 3,
        ..Limits::default()
    };
    assert!(parse_with("a: &a 1\nb: [*a, *a, *a]\n", &limits).is_ok());
    let e = parse_with("a: &a 1\nb: [*a, *a,\n  *a, *a]\n", &limits).expect_err("4 aliases");
    assert!(e.message.contains("more than 3 aliases"), "{e}");
    assert_eq!(e.pos, Pos { line: 3, column: 7 });
    // A few aliases of one long string pass the node count but not the text budget.
    let big = "x".repeat(1 << 20);
    let src = format!("a: &a {big}\nb: [{}]\n", vec!["*a"; 20].join(", "));
    let e = parse(&src).expect_err("20 MiB of copied text");
    assert!(e.message.contains("max_alias_bytes"), "{e}");
    assert_eq!(e.pos.line, 2);
    // The budget is per document: the next document starts afresh.
    let doc = "a: &a 1\nb: [*a, *a, *a]\n";
    assert_eq!(
        parse_with(&format!("{doc}---\n{doc}"), &limits)
            .expect("two docs")
            .len(),
        2
    );
}

#[test]
fn nesting_depth_is_bounded_also_through_aliases() {
    let deep = |n: usize| format!("{}1{}\n", "[".repeat(n), "]".repeat(n));
    assert!(parse(&deep(100)).is_ok());
    let e = parse(&deep(101)).expect_err("101 levels");
    assert!(e.message.contains("deeper than 100 levels"), "{e}");
    assert_eq!(
        e.pos,
        Pos {
            line: 1,
            column: 101
        }
    );
    // 60 levels anchored, then aliased 60 levels down: 120 levels from 2 lines.
    let src = format!(
        "a: &a {}1{}\nb: {}*a{}\n",
        "[".repeat(60),
        "]".repeat(60),
        "[".repeat(59),
        "]".repeat(59)
    );
    let e = parse(&src).expect_err("deep through an alias");
    assert!(e.message.contains("max_depth"), "{e}");
    assert_eq!(e.pos.line, 2);
}

#[test]
fn input_size_is_bounded_with_the_line_of_the_cut() {
    let limits = Limits {
        max_bytes: 20,
        ..Limits::default()
    };
    assert!(parse_with("a: 1\nb: 2\n", &limits).is_ok());
    let e = parse_with("a: 1\nb: 2\nc: 3\nd: 4\ne: 5\n", &limits).expect_err("25 bytes");
    assert!(e.message.contains("limit of 20 bytes"), "{e}");
    assert_eq!(e.pos, Pos { line: 5, column: 1 });
}

#[test]
fn reading_a_path_that_never_ends_stops_past_the_limit() {
    let text = read_bounded(std::path::Path::new("/dev/zero"), 1000).expect("readable");
    assert_eq!(text.len(), 1001);
    let limits = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    let e = parse_with(&text, &limits).expect_err("too long");
    assert!(e.message.contains("max_bytes"), "{e}");
    let missing = read_bounded(std::path::Path::new("/nonexistent/x.yaml"), 10).expect_err("gone");
    assert!(
        missing.to_string().starts_with("/nonexistent/x.yaml: "),
        "{missing}"
    );
}

#[test]
fn merge_keys_stay_linear() {
    // Many merged keys, each overridden: the bookkeeping is a set, not a list scanned per key.
    let mut src = String::from("base: &b {");
    for i in 0..5_000 {
        src.push_str(&format!("k{i}: 1, "));
    }
    src.push_str("}\nm:\n  <<: *b\n");
    for i in 0..5_000 {
        src.push_str(&format!("  k{i}: 2\n"));
    }
    let d = one(&src);
    assert_eq!(d.value["m"]["k4999"], json!(2));
}

#[test]
fn long_keys_nested_deep_are_bounded_by_the_path_budget() {
    // 40 levels of 1 KB keys, then 5,000 items: 5,000 pointers of 40 KB each (200 MB) from
    // 60 KB of input.
    let key = "k".repeat(1000);
    let mut src = String::new();
    for d in 0..40 {
        src.push_str(&" ".repeat(d));
        src.push_str(&format!("{key}{d}:\n"));
    }
    src.push_str(&" ".repeat(40));
    src.push_str(&format!("[{}]\n", vec!["1"; 5000].join(",")));
    let e = parse(&src).expect_err("path budget");
    assert!(e.message.contains("path_factor"), "{e}");
    assert_eq!(e.pos.line, 41);
}

#[test]
fn values_only_and_one_at_a_time_parse_alike() {
    let src = "a: &x [1, 2]\nb: *x\n---\n---\nc: {d: 3}\n";
    let all = parse(src).expect("valid");
    let values = parse_values(src, &Limits::default()).expect("valid");
    assert_eq!(values.len(), all.len());
    for (v, a) in values.iter().zip(&all) {
        assert_eq!((&v.value, v.start), (&a.value, a.start));
        assert!(v.positions.is_empty());
    }
    let mut each = Vec::new();
    parse_each(src, &Limits::default(), &mut |d| each.push(d)).expect("valid");
    assert_eq!(each.len(), 3);
    assert_eq!(each[2].locate("/c/d"), all[2].locate("/c/d"));
    // The same refusals, and the documents before an error are handed over.
    let bad = format!("a: 1\n---\n{}", billion_laughs());
    assert_eq!(
        parse_values(&bad, &Limits::default()).expect_err("bomb"),
        parse(&bad).expect_err("bomb")
    );
    let mut before = 0;
    assert!(parse_each(&bad, &Limits::default(), &mut |_| before += 1).is_err());
    assert_eq!(before, 1);
}

/// Every node of every document of `src`: [`Document::locate_by_order`] and a positions-only
/// parse ([`parse_each_keeping`] asked for that one pointer and its ancestors) agree with the
/// full index; and a document with an alias or a merge key has no order.
fn three_ways_agree(name: &str, src: &str) -> usize {
    let Ok(full) = parse(src) else { return 0 };
    let ordered = parse_values(src, &Limits::default()).expect("parses as parse does");
    let mut checked = 0;
    for (k, (f, o)) in full.iter().zip(&ordered).enumerate() {
        let copies = src.contains('*') || src.contains("<<");
        if o.order.is_empty() {
            assert!(
                copies || f.value.is_null(),
                "{name} doc {k}: no order without an alias or merge key"
            );
            continue;
        }
        for pointer in f.positions.keys() {
            let want = f.locate(pointer);
            assert_eq!(
                o.locate_by_order(pointer),
                Some(want),
                "{name} doc {k} {pointer}"
            );
            // A pointer below a scalar, and a missing key, fall back like `locate`.
            for extra in ["/no-such-key", "/0/x"] {
                let p = format!("{pointer}{extra}");
                assert_eq!(o.locate_by_order(&p), Some(f.locate(&p)), "{name} {p}");
            }
            checked += 1;
        }
    }
    // Positions only, for one pointer per document (with its ancestors).
    for (k, f) in full.iter().enumerate() {
        let Some(pointer) = f.positions.keys().max_by_key(|p| p.len()) else {
            continue;
        };
        let mut wanted: HashSet<&str> = pointer
            .match_indices('/')
            .map(|(at, _)| &pointer[..at])
            .collect();
        wanted.insert(pointer);
        let mut docs = Vec::new();
        parse_each_keeping(
            src,
            &Limits::default(),
            &|d, p| d == k && wanted.contains(p),
            &mut |d| docs.push(d),
        )
        .expect("valid");
        assert_eq!(
            docs[k].locate(pointer),
            f.locate(pointer),
            "{name} doc {k} {pointer}"
        );
        assert!(
            docs[k].positions.len() <= wanted.len(),
            "{name}: kept more than asked"
        );
    }
    checked
}

#[test]
fn document_order_and_kept_positions_locate_as_the_full_index() {
    let cases = [
        "a: 1\nb:\n  c: [x, {y: 2}]\n  'd/e~f': q\n---\n- 1\n- [2, 3]\n",
        "a: &x {p: 1}\nb: *x\n",
        "base: &b {p: 1}\nderived:\n  <<: *b\n  q: 2\n",
        "---\n---\nk: v\n",
        "k: v\n...\n--- |\n  text\n",
    ];
    let mut checked = 0;
    for (i, c) in cases.iter().enumerate() {
        checked += three_ways_agree(&format!("case {i}"), c);
    }
    // The lint crate's rule fixtures: real-world manifest shapes.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../lint/tests/fixtures");
    let mut files = 0;
    for dir in std::fs::read_dir(&root).expect("lint fixtures").flatten() {
        for f in std::fs::read_dir(dir.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let Ok(text) = std::fs::read_to_string(f.path()) else {
                continue;
            };
            files += 1;
            checked += three_ways_agree(&f.path().display().to_string(), &text);
        }
    }
    assert!(files > 100, "only {files} fixture files");
    assert!(checked > 2000, "only {checked} nodes checked");
}

/// Mappings of any size, below and above the number of entries kept aside before they move
/// into the map: order kept, duplicates refused on either side, merge keys after many entries.
#[test]
fn mappings_small_and_large_keep_order_and_refuse_duplicates() {
    for n in [1usize, SPILL - 1, SPILL, SPILL + 1, 3 * SPILL] {
        let src: String = (0..n).map(|i| format!("k{i}: {i}\n")).collect();
        let d = one(&src);
        let keys: Vec<&String> = d.value.as_object().expect("map").keys().collect();
        let want: Vec<String> = (0..n).map(|i| format!("k{i}")).collect();
        assert_eq!(keys, want.iter().collect::<Vec<_>>(), "{n} entries");
        // A repeat of the first key, as the last entry: refused with the repeat's line.
        let e = parse(&format!("{src}k0: again\n")).expect_err("duplicate");
        assert!(e.message.contains("duplicate key `k0`"), "{n}: {e}");
        assert_eq!(e.pos.line, n + 1, "{n}");
    }
    // A merge key after many explicit entries: the explicit ones win, merged ones fill in,
    // and an explicit key after the merge overrides its merged value once.
    let many: String = (0..SPILL + 2).map(|i| format!("  k{i}: {i}\n")).collect();
    let d = one(&format!(
        "base: &b {{k0: merged, extra: merged, late: merged}}\nm:\n{many}  <<: *b\n  late: explicit\n"
    ));
    let m = &d.value["m"];
    assert_eq!(m["k0"], 0);
    assert_eq!(m["extra"], "merged");
    assert_eq!(m["late"], "explicit");
    assert_eq!(m.as_object().expect("map").len(), SPILL + 4);
    let e = parse(&format!("m:\n{many}  <<: {{x: 1}}\n  x: 2\n  x: 3\n")).expect_err("dup");
    assert!(e.message.contains("duplicate key `x`"), "{e}");
    // Nested mappings and sequences keep to their own entries.
    let d = one("a: {x: 1, y: [1, {x: 2, y: 3}, 4]}\nb: [[], {}, [5]]\nx: 6\n");
    assert_eq!(
        d.value,
        json!({"a": {"x": 1, "y": [1, {"x": 2, "y": 3}, 4]}, "b": [[], {}, [5]], "x": 6})
    );
}
