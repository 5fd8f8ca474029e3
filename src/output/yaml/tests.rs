use serde_json::json;

use super::*;

fn yaml(value: Value) -> String {
    to_string(&value)
}

#[test]
fn layout_is_go_yamls() {
    assert_eq!(
        yaml(json!({"b": {"c": [1, {"d": "e", "f": []}], "g": {}}, "a": null, "h": [[1, 2]]})),
        "a: null\nb:\n  c:\n  - 1\n  - d: e\n    f: []\n  g: {}\nh:\n- - 1\n  - 2\n"
    );
}

#[test]
fn strings_take_the_style_go_yaml_gives_them() {
    for (text, shown) in [
        ("plain", "plain"),
        ("", "\"\""),
        ("true", "\"true\""),
        ("yes", "\"yes\""),
        ("on", "\"on\""),
        ("null", "\"null\""),
        ("~", "\"~\""),
        ("123", "\"123\""),
        ("0x1F", "\"0x1F\""),
        ("08", "\"08\""),
        ("1e3", "\"1e3\""),
        ("1e400", "1e400"),
        (".5", "\".5\""),
        ("1:20", "\"1:20\""),
        ("2026-11-27T19:19:11Z", "\"2026-11-27T19:19:11Z\""),
        ("2026-1-2", "\"2026-1-2\""),
        ("2026-13-02", "2026-13-02"),
        ("v1.12.0", "v1.12.0"),
        ("0 2 * * *", "0 2 * * *"),
        ("*/30 9-17 * * mon-fri", "'*/30 9-17 * * mon-fri'"),
        ("@every 12h", "'@every 12h'"),
        ("a: b", "'a: b'"),
        ("a:b", "a:b"),
        ("- x", "'- x'"),
        ("-x", "-x"),
        ("a #b", "'a #b'"),
        ("a#b", "a#b"),
        (" lead", "' lead'"),
        ("trail ", "'trail '"),
        ("it's: x", "'it''s: x'"),
        ("tab\there", "\"tab\\there\""),
        ("emoji 😀", "\"emoji \\U0001F600\""),
        ("é", "é"),
        ("<<", "<<"),
        ("{x}", "'{x}'"),
    ] {
        assert_eq!(
            yaml(json!({"k": text})),
            format!("k: {shown}\n"),
            "{text:?}"
        );
    }
}

#[test]
fn long_strings_fold_past_column_80() {
    let text = "failed to unpack system backup from file: unzip: cannot find zipfile directory";
    assert_eq!(
        yaml(json!({"status": {"conditions": [{"message": text}]}})),
        "status:\n  conditions:\n  - message: 'failed to unpack system backup from file: unzip: cannot find zipfile\n      directory'\n"
    );
    let plain = "word ".repeat(20);
    let plain = plain.trim_end();
    assert_eq!(
        yaml(json!({"k": plain})),
        format!(
            "k: {}\n  {}\n",
            "word ".repeat(16).trim_end(),
            "word ".repeat(4).trim_end()
        )
    );
}

#[test]
fn multi_line_text_is_a_literal_block() {
    assert_eq!(yaml(json!({"k": "a\nb"})), "k: |-\n  a\n  b\n");
    assert_eq!(yaml(json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
    // No `...` after a kept final line break, as go-yaml v2.4 writes it (found by the
    // differential test, src/output/yaml/differential.rs).
    assert_eq!(yaml(json!({"k": "a\n\n"})), "k: |+\n  a\n\n");
    assert_eq!(yaml(json!({"k": " a\nb"})), "k: |2-\n   a\n  b\n");
    assert_eq!(yaml(json!({"k": "a \nb"})), "k: \"a \\nb\"\n");
}

#[test]
fn numbers_print_as_go_formats_them() {
    assert_eq!(
        yaml(
            json!({"a": 1, "b": 1.5, "c": 1e21, "d": 0.00001, "e": 1000000.0, "f": -2.0, "g": 123456.0, "h": 0.0001})
        ),
        "a: 1\nb: 1.5\nc: 1e+21\nd: 1e-05\ne: 1e+06\nf: -2\ng: 123456\nh: 0.0001\n"
    );
}

#[test]
fn keys_sort_naturally() {
    assert_eq!(
        yaml(json!({"a10": 1, "a9": 2, "_x": 3, "Z": 4, "b": 5})),
        "_x: 3\nZ: 4\na9: 2\na10: 1\nb: 5\n"
    );
}

/// What the full analysis writes for a scalar, skipping the fast path.
fn analysed(value: &str) -> String {
    let mut emitter = Emitter::new();
    emitter.key("k", 0);
    let style = select(requested_style(value), &analyze(value), false);
    emitter.write_scalar(value, style, INDENT, true);
    emitter.end_document();
    into_string(emitter.out)
}

#[test]
fn the_fast_path_writes_what_the_analysis_would() {
    let samples = [
        "v1.12.0",
        "longhorn-system",
        "driver.longhorn.io",
        "/var/lib/longhorn",
        "_x",
        "a:b",
        "longhornio/longhorn-manager:v1.9.0",
        "Always",
        "nightly",
        "no",
        "No",
        "on",
        "yes",
        "y",
        "n",
        "true",
        "True",
        "false",
        "null",
        "Null",
        "off",
        "ok",
        "onwards",
        "falsey",
        "nope",
        "tr",
        "f",
        "T",
        "O",
        "x@y",
        "a+b=c",
        "a.b-c_d/e",
        "aVeryLongNameWithoutSpacesThatGoesPastEightyColumnsForSureAndThenSomeMoreText/x",
    ];
    for sample in samples {
        let fast = yaml(json!({"k": sample}));
        assert_eq!(fast, analysed(sample), "{sample:?}");
        if style::is_simple_plain(sample) {
            assert_eq!(fast, format!("k: {sample}\n"), "{sample:?}");
        }
    }
    for quoted in [
        "yes", "no", "on", "null", "true", "y", "N", "a:", "-x", "1a",
    ] {
        assert!(!style::is_simple_plain(quoted), "{quoted}");
    }
}

#[test]
fn keys_already_in_order_are_not_resorted_and_others_are() {
    let map: Map<String, Value> = serde_json::from_str(
        r#"{"b": 1, "a10": 2, "a9": 3, "_x": 4, "Z": 5, "metadata": 6, "apiVersion": 7}"#,
    )
    .unwrap();
    let keys: Vec<&str> = order::sorted_keys(&map)
        .into_iter()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        ["_x", "Z", "a9", "a10", "apiVersion", "b", "metadata"]
    );
    assert_eq!(order::natural_order("é1", "é10"), std::cmp::Ordering::Less);
}

#[test]
fn a_list_written_item_by_item_is_the_whole_list() {
    let items = vec![
        json!({"metadata": {"name": "a", "labels": {"app": "x"}}, "spec": {"text": "line\n\n"}}),
        json!({"metadata": {"name": "b"}, "status": {"message": "word ".repeat(30)}}),
        json!({"metadata": {"name": "c"}, "spec": {"list": [[1, 2], {"k": "on"}]}}),
    ];
    for items in [items.clone(), vec![]] {
        let metadata = json!({"resourceVersion": "123"});
        let whole = json!({"apiVersion": "longhorn.io/v1beta2", "items": items, "kind": "VolumeList", "metadata": metadata});
        let mut list = ListDocument::new("longhorn.io/v1beta2");
        let mut streamed = Vec::new();
        for item in &items {
            list.item(item);
            streamed.extend(list.take());
        }
        list.finish("VolumeList", &metadata);
        streamed.extend(list.take());
        assert_eq!(String::from_utf8(streamed).unwrap(), to_string(&whole));
    }
}

#[test]
fn fields_keep_their_order() {
    assert_eq!(
        fields_in_order(&[
            ("zeta", "v1.9.0"),
            ("alpha", ""),
            ("at", "0001-01-01T00:00:00Z")
        ]),
        "zeta: v1.9.0\nalpha: \"\"\nat: \"0001-01-01T00:00:00Z\"\n"
    );
}

/// Every value reads back the same through a YAML 1.2 reader (serde-saphyr); the
/// end-to-end tests check the YAML 1.1 reader restore uses. (U+2028 and U+2029 are
/// line breaks to YAML 1.1 and go-yaml writes them as such, see
/// `yaml_1_1_line_separators_break_lines`: a YAML 1.2 reader reads those differently.)
#[test]
fn round_trips() {
    let tricky = [
        "on",
        "off",
        "y",
        "N",
        "yes",
        "TRUE",
        "null",
        "~",
        "",
        " lead",
        "trail ",
        "a: b",
        "a #b",
        "#c",
        "- x",
        "? x",
        ": x",
        "---",
        "...",
        "0x1F",
        "0o17",
        "012",
        "1_000",
        "1:20",
        "1e3",
        ".5",
        "+1",
        "-0",
        "2001-12-14",
        "2001-12-14T21:59:43.10-05:00",
        "<<",
        "=",
        "!tag",
        "&anchor",
        "*alias",
        "|",
        ">",
        "%x",
        "@x",
        "`x",
        "'q'",
        "\"d\"",
        "{a: 1}",
        "[1]",
        "a,b",
        "multi\nline\n",
        "\ttab",
        "\u{0}",
        "\u{7f}",
        "\u{85}",
        "\u{feff}x",
        "héllo ☃ 🎉",
        "f:metadata",
        "k:{\"port\":9500}",
        "a\\b",
    ];
    let mut object = Map::new();
    for (i, text) in tricky.iter().enumerate() {
        // `<<` is YAML's merge key: never a key of a Kubernetes object.
        if *text != "<<" {
            object.insert(text.to_string(), json!(text));
        }
        let nested_key = if *text == "<<" { "merge" } else { text };
        object.insert(format!("n{i}"), json!([text, {nested_key: [text]}]));
    }
    let value = json!({
        "strings": object,
        "numbers": [0, -1, 1.5, 1e300, -2.5e-7, 12345678901234567890u64, -9223372036854775808i64],
        "nested": [[[]], [{}], [[1, [2, {"a": [3]}]]], {"deep": {"deeper": [{"x": null}]}}],
        "bools": [true, false, null]
    });
    let text = to_string(&value);
    let parsed: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(parsed, value, "{text}");
}

/// go-yaml (YAML 1.1) takes U+2028 and U+2029 for line breaks: printable, so a string
/// with one is single-quoted and the line after it indented, as kubectl prints it.
#[test]
fn yaml_1_1_line_separators_break_lines() {
    assert_eq!(yaml(json!({"k": "a\u{2028}b"})), "k: 'a\u{2028}  b'\n");
    assert_eq!(yaml(json!({"k": "a\u{85}b"})), "k: \"a\\Nb\"\n");
}

#[test]
fn keys_go_yaml_cannot_order_still_come_out() {
    let mut object = Map::new();
    for key in [
        "0x1F", "012", "1_000", "n0", "n012", "n1", "n01", "a00b", "a0b", "a000",
    ] {
        object.insert(key.to_string(), json!(1));
    }
    let text = to_string(&Value::Object(object));
    assert_eq!(text.lines().count(), 10, "{text}");
}
