//! Reading any Kubernetes object kept as untyped JSON: the metadata every kind has.

use serde_json::Value;

/// A non-empty string at a JSON pointer.
pub fn str_at<'a>(object: &'a Value, pointer: &str) -> Option<&'a str> {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

pub fn name(object: &Value) -> &str {
    str_at(object, "/metadata/name").unwrap_or_default()
}

pub fn namespace(object: &Value) -> &str {
    str_at(object, "/metadata/namespace").unwrap_or_default()
}

pub fn uid(object: &Value) -> Option<&str> {
    str_at(object, "/metadata/uid")
}

pub fn creation_timestamp(object: &Value) -> Option<&str> {
    str_at(object, "/metadata/creationTimestamp")
}

/// `metadata.deletionTimestamp`: when the deletion was asked for.
pub fn deletion_timestamp(object: &Value) -> Option<&str> {
    str_at(object, "/metadata/deletionTimestamp")
}

pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

/// JSON merge patch (RFC 7386) applied to `target`, as the API server would: a null
/// removes the key, objects merge, anything else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge_patch(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patches_as_the_api_server_does() {
        let mut object = json!({"spec": {"cron": "@daily", "retain": 1, "labels": {"a": "b"}}});
        merge_patch(
            &mut object,
            &json!({"spec": {"retain": 3, "labels": null, "new": [1]}}),
        );
        assert_eq!(
            object,
            json!({"spec": {"cron": "@daily", "retain": 3, "new": [1]}})
        );
    }
}
