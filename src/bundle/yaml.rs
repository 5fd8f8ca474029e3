//! JSON values as YAML for the bundle's files, the way `sigs.k8s.io/yaml` lays them
//! out (block style, keys sorted — serde_json's map is ordered —, sequences at their
//! key's indentation), and safe for the reader restore uses: go-yaml v2, which follows
//! YAML 1.1 (`on`, `y`, `0x1F`, `1:20`, `012` are not strings there).
//!
//! Why not serde-saphyr (used for every other YAML here): the bundle's items are the
//! bulk of the work of `create --local`, and serde-saphyr's careful scalar analysis
//! made YAML the largest CPU cost of a bundle (docs/benchmarks.md). This writer handles
//! only what JSON holds, and its rule for strings is deliberately narrow: a string is
//! written plain only when it starts with a letter, `_` or `/`, uses only
//! `[A-Za-z0-9._/@+=-]` (and `:` in values, never last), and is not one of YAML 1.1's
//! boolean or null words; everything else is double-quoted with escapes. Both readers,
//! YAML 1.1 and 1.2, then read back the same JSON; tests check it against serde-saphyr
//! and, end to end, against Kubernetes' own decoder.

use serde_json::Value;

/// Appends `value` as the element of a block sequence at column 0 (`- …`).
pub fn write_item(out: &mut Vec<u8>, value: &Value) {
    out.extend_from_slice(b"- ");
    write_block(out, value, 2, true);
}

/// Appends `value` (a mapping) as a top-level document body.
pub fn write_document(out: &mut Vec<u8>, value: &Value) {
    write_block(out, value, 0, false);
}

/// A value whose block starts at `column`; `inline` = its first line continues the
/// current one (after `- `). Scalars and empty collections end the line.
fn write_block(out: &mut Vec<u8>, value: &Value, column: usize, inline: bool) {
    match value {
        Value::Object(map) if !map.is_empty() => write_map(out, map, column, inline),
        Value::Array(items) if !items.is_empty() => write_seq(out, items, column, inline),
        scalar => {
            write_scalar(out, scalar);
            out.push(b'\n');
        }
    }
}

fn indent(out: &mut Vec<u8>, width: usize) {
    out.resize(out.len() + width, b' ');
}

/// A mapping at `column`; `inline` = the first key continues the current line (after
/// `- `).
fn write_map(out: &mut Vec<u8>, map: &serde_json::Map<String, Value>, column: usize, inline: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, column);
        }
        write_string(out, key, true);
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.extend_from_slice(b":\n");
                write_map(out, inner, column + 2, false);
            }
            // Sequences under a key sit at the key's column (`key:\n- a`), as go-yaml writes.
            Value::Array(items) if !items.is_empty() => {
                out.extend_from_slice(b":\n");
                write_seq(out, items, column, false);
            }
            scalar => {
                out.extend_from_slice(b": ");
                write_scalar(out, scalar);
                out.push(b'\n');
            }
        }
    }
}

fn write_seq(out: &mut Vec<u8>, items: &[Value], column: usize, inline: bool) {
    for (i, item) in items.iter().enumerate() {
        if i > 0 || !inline {
            indent(out, column);
        }
        out.extend_from_slice(b"- ");
        write_block(out, item, column + 2, true);
    }
}

/// Scalars and empty collections, on the current line.
fn write_scalar(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => out.extend_from_slice(number.to_string().as_bytes()),
        Value::String(text) => write_string(out, text, false),
        Value::Array(_) => out.extend_from_slice(b"[]"),
        Value::Object(_) => out.extend_from_slice(b"{}"),
    }
}

/// YAML 1.1 words a plain scalar must not be (go-yaml v2 resolves them to bool or
/// null), compared case-insensitively.
const RESERVED: [&str; 11] = [
    "y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf",
];

/// Whether `text` may be written without quotes (see the module's rule).
pub fn is_plain(text: &str, key: bool) -> bool {
    let bytes = text.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    let allowed = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'_' | b'/' | b'@' | b'+' | b'=' | b'-')
            || (b == b':' && !key)
    };
    bytes.iter().all(|&b| allowed(b))
        && !text.ends_with(':')
        && !(text.len() <= 5 && RESERVED.iter().any(|w| w.eq_ignore_ascii_case(text)))
}

fn write_string(out: &mut Vec<u8>, text: &str, key: bool) {
    if is_plain(text, key) {
        out.extend_from_slice(text.as_bytes());
        return;
    }
    out.push(b'"');
    let mut start = 0;
    for (i, c) in text.char_indices() {
        let escape: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\t' => Some(b"\\t"),
            '\r' => Some(b"\\r"),
            _ => None,
        };
        // Line and paragraph separators, NEL and the BOM would be line breaks or
        // stripped inside quotes; control characters are not allowed raw.
        let numeric = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}');
        if escape.is_none() && !numeric {
            continue;
        }
        out.extend_from_slice(&text.as_bytes()[start..i]);
        match escape {
            Some(bytes) => out.extend_from_slice(bytes),
            None => out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes()),
        }
        start = i + c.len_utf8();
    }
    out.extend_from_slice(&text.as_bytes()[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(value: &Value) -> String {
        let mut out = Vec::new();
        write_document(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    fn item(value: &Value) -> String {
        let mut out = Vec::new();
        write_item(&mut out, value);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn lays_out_like_sigs_yaml() {
        let value = json!({
            "apiVersion": "v1",
            "metadata": {"name": "a", "labels": {"app": "x"}, "finalizers": ["longhorn.io"]},
            "spec": {"ports": [{"port": 9500, "protocol": "TCP"}], "empty": {}, "none": [], "n": null, "ok": true},
            "nested": [[1, 2], []]
        });
        assert_eq!(
            document(&value),
            "apiVersion: v1\nmetadata:\n  finalizers:\n  - longhorn.io\n  labels:\n    app: x\n  name: a\nnested:\n- - 1\n  - 2\n- []\nspec:\n  empty: {}\n  \"n\": null\n  none: []\n  ok: true\n  ports:\n  - port: 9500\n    protocol: TCP\n"
        );
        assert_eq!(
            item(&json!({"metadata": {"name": "b"}, "kind": "Volume"})),
            "- kind: Volume\n  metadata:\n    name: b\n"
        );
    }

    #[test]
    fn plain_only_when_no_reader_could_misread() {
        for plain in [
            "v1.9.0",
            "longhorn-system",
            "driver.longhorn.io",
            "/var/lib",
            "a:b",
            "longhornio/longhorn-manager:v1.9.0",
            "_x",
            "Always",
        ] {
            assert!(is_plain(plain, false), "{plain}");
        }
        for quoted in [
            "",
            "on",
            "ON",
            "y",
            "No",
            "true",
            "Null",
            "nan",
            "1",
            "0x1F",
            "1:20",
            "012",
            "1_000",
            "2001-12-14",
            "-a",
            ".inf",
            "~",
            "a b",
            "a: b",
            "a #b",
            "x:",
            "é",
            "*a",
            "&a",
            "!a",
            "%a",
            "@a",
            "'a'",
            "[a]",
            "{a}",
            "a,b",
            "a\nb",
        ] {
            assert!(!is_plain(quoted, false), "{quoted}");
        }
        assert!(!is_plain("f:metadata", true), "keys with ':' are quoted");
        assert_eq!(
            document(&json!({"k": "a\"b\\c\nd\te\u{1}f\u{2028}g\u{85}h☃"})),
            "k: \"a\\\"b\\\\c\\nd\\te\\u0001f\\u2028g\\u0085h☃\"\n"
        );
    }

    /// Every value reads back the same through a YAML 1.2 reader (serde-saphyr); the
    /// end-to-end tests check the YAML 1.1 reader restore uses.
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
            "\u{2028}",
            "\u{feff}x",
            "héllo ☃ 🎉",
            "f:metadata",
            "k:{\"port\":9500}",
            "a\\b",
        ];
        let mut object = serde_json::Map::new();
        for (i, text) in tricky.iter().enumerate() {
            object.insert(text.to_string(), json!(text));
            object.insert(format!("n{i}"), json!([text, {text.to_string(): [text]}]));
        }
        let value = json!({
            "strings": object,
            "numbers": [0, -1, 1.5, 1e300, -2.5e-7, 12345678901234567890u64, -9223372036854775808i64],
            "nested": [[[]], [{}], [[1, [2, {"a": [3]}]]], {"deep": {"deeper": [{"x": null}]}}],
            "bools": [true, false, null]
        });
        let text = document(&value);
        let parsed: Value = serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(parsed, value, "{text}");
        let text = item(&value);
        let parsed: Vec<Value> = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(parsed, [value]);
    }
}
