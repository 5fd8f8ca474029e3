//! Which fields differ between two versions of an object, as paths a reader can find
//! again (`spec.numberOfReplicas`, `parameters["fs.type"]`, `rules[0].verbs`).
//!
//! A field at its Go zero value (`null`, `false`, `0`, `""`, `"0"`, `[]`, `{}`) counts as
//! absent: Longhorn's rollout decodes objects into Go types, where an unset field and
//! its zero value are the same, and the two sides spell them differently (Longhorn's
//! printer writes a Volume's `spec.Standby: false` that the API server may omit; the
//! webhook sets a RecurringJob's `groups: []` that the printer leaves out).

use serde::Serialize;
use serde_json::Value;

/// One field that differs: its value before and after (absent when unset).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

impl FieldChange {
    /// `path: before → after`, values as compact JSON (strings unquoted when plain).
    pub fn summary(&self) -> String {
        format!(
            "{}: {} → {}",
            self.path,
            show(self.before.as_ref()),
            show(self.after.as_ref())
        )
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "(unset)".into(),
        Some(Value::String(s)) if !s.is_empty() && !s.contains(char::is_whitespace) => s.clone(),
        Some(other) => other.to_string(),
    }
}

/// The fields named by `paths` (top-level keys, e.g. `["spec"]`) that differ between
/// `before` and `after`, in path order.
pub fn changes_in(before: &Value, after: &Value, fields: &[&str]) -> Vec<FieldChange> {
    let mut out = Vec::new();
    for field in fields {
        walk(
            present(before.get(*field)),
            present(after.get(*field)),
            &join(String::new(), field),
            &mut out,
        );
    }
    out
}

/// Every field that differs between `before` and `after`.
#[cfg(test)]
pub fn changes(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk(present(Some(before)), present(Some(after)), "", &mut out);
    out
}

/// Removes the fields at `paths` (dotted, as [`changes`] prints them, without indexes)
/// from `object`: fields one side never carries, such as a Service's cleared
/// `spec.clusterIP` in a bundle.
pub fn without(object: &Value, paths: &[&str]) -> Value {
    let mut object = object.clone();
    for path in paths {
        let mut parts: Vec<&str> = path.split('.').collect();
        let Some(last) = parts.pop() else { continue };
        let mut cursor = Some(&mut object);
        for part in parts {
            cursor = cursor.and_then(|v| v.get_mut(part));
        }
        if let Some(Value::Object(map)) = cursor {
            map.remove(last);
        }
    }
    object
}

fn present(value: Option<&Value>) -> Option<&Value> {
    value.filter(|v| !is_zero(v))
}

fn is_zero(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        // "0": a zero int64 that Go writes as a string (`json:",string"`, e.g. a
        // Volume's spec.snapshotMaxSize).
        Value::String(s) => s.is_empty() || s == "0",
        Value::Array(items) => items.is_empty(),
        // A struct whose fields are all unset is the zero struct.
        Value::Object(map) => map.values().all(is_zero),
    }
}

fn walk(before: Option<&Value>, after: Option<&Value>, path: &str, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (None, None) => {}
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                walk(
                    present(b.get(key)),
                    present(a.get(key)),
                    &join(path.to_string(), key),
                    out,
                );
            }
        }
        (Some(Value::Array(b)), Some(Value::Array(a))) if b.len() == a.len() => {
            for (i, (b, a)) in b.iter().zip(a).enumerate() {
                walk(
                    present(Some(b)),
                    present(Some(a)),
                    &format!("{path}[{i}]"),
                    out,
                );
            }
        }
        (b, a) if b == a => {}
        (b, a) => out.push(FieldChange {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.into()
            },
            before: b.cloned(),
            after: a.cloned(),
        }),
    }
}

/// `path.key`, or `path["key"]` when the key holds characters a dotted path cannot.
fn join(mut path: String, key: &str) -> String {
    let plain = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
    if plain {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(key);
    } else {
        path.push('[');
        path.push_str(&Value::String(key.to_string()).to_string());
        path.push(']');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn paths(changes: &[FieldChange]) -> Vec<&str> {
        changes.iter().map(|c| c.path.as_str()).collect()
    }

    #[test]
    fn nested_fields_are_named_by_path() {
        let before = json!({"spec": {"numberOfReplicas": 3, "labels": {"a": "1"},
            "containers": [{"image": "x:1"}, {"image": "y:1"}], "tags": ["a"]}});
        let after = json!({"spec": {"numberOfReplicas": 2, "labels": {"a": "1", "fs.type": "ext4"},
            "containers": [{"image": "x:2"}, {"image": "y:1"}], "tags": ["a", "b"]}});
        let found = changes_in(&before, &after, &["spec"]);
        assert_eq!(
            paths(&found),
            [
                "spec.containers[0].image",
                "spec.labels[\"fs.type\"]",
                "spec.numberOfReplicas",
                "spec.tags"
            ]
        );
        assert_eq!(found[2].summary(), "spec.numberOfReplicas: 3 → 2");
        assert_eq!(
            found[1].summary(),
            "spec.labels[\"fs.type\"]: (unset) → ext4"
        );
    }

    #[test]
    fn zero_values_are_absent_and_top_level_values_compare() {
        assert!(changes(&json!({"a": null, "b": 1}), &json!({"b": 1})).is_empty());
        let spelled =
            json!({"spec": {"Standby": false, "groups": [], "labels": {}, "n": 0, "s": ""}});
        assert!(changes(&spelled, &json!({"spec": {}})).is_empty());
        assert_eq!(
            changes(
                &json!({"spec": {"Standby": true, "x": 1}}),
                &json!({"spec": {"x": 1}})
            )[0]
            .summary(),
            "spec.Standby: true → (unset)"
        );
        let top = changes(&json!("1"), &json!("2"));
        assert_eq!(paths(&top), ["."]);
        let value = changes_in(&json!({"value": "3"}), &json!({"value": "2"}), &["value"]);
        assert_eq!(value[0].summary(), "value: 3 → 2");
    }

    #[test]
    fn without_drops_fields_one_side_never_has() {
        let live = json!({"spec": {"clusterIP": "10.0.0.1", "ports": [1]}});
        assert_eq!(
            without(&live, &["spec.clusterIP", "spec.nope.x"]),
            json!({"spec": {"ports": [1]}})
        );
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            (0i64..5).prop_map(Value::from),
            "[a-c.]{0,2}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
                proptest::collection::btree_map("[a-c.]{0,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// The value as the comparison sees it: zero values (see the module's note) become
    /// `null`, and fields holding them are dropped.
    fn normalized(value: &Value) -> Value {
        match value {
            Value::Object(map) => {
                let kept: serde_json::Map<String, Value> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), normalized(v)))
                    .filter(|(_, v)| !v.is_null())
                    .collect();
                if kept.is_empty() {
                    Value::Null
                } else {
                    Value::Object(kept)
                }
            }
            Value::Array(items) if items.is_empty() => Value::Null,
            Value::Array(items) => Value::Array(items.iter().map(normalized).collect()),
            other if is_zero(other) => Value::Null,
            other => other.clone(),
        }
    }

    proptest! {
        #[test]
        fn no_changes_exactly_when_equal_up_to_zero_values(a in json_value(), b in json_value()) {
            prop_assert!(changes(&a, &a).is_empty());
            prop_assert_eq!(changes(&a, &b).is_empty(), normalized(&a) == normalized(&b));
        }

        #[test]
        fn changes_are_symmetric(a in json_value(), b in json_value()) {
            let forward = changes(&a, &b);
            let backward = changes(&b, &a);
            prop_assert_eq!(forward.len(), backward.len());
            for (f, r) in forward.iter().zip(&backward) {
                prop_assert_eq!(&f.path, &r.path);
                prop_assert_eq!(&f.before, &r.after);
                prop_assert_eq!(&f.after, &r.before);
            }
        }
    }
}
