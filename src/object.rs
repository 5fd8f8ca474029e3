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

pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    object
        .pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(Value::as_str)
}

pub fn deletion_requested(object: &Value) -> bool {
    object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
}
