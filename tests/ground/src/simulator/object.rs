//! Small accessors over Longhorn objects held as `DynamicObject`, and Go's time format.

use kube::api::DynamicObject;
use serde_json::Value;

pub(crate) fn name(object: &DynamicObject) -> String {
    object.metadata.name.clone().unwrap_or_default()
}

pub(crate) fn label<'a>(object: &'a DynamicObject, key: &str) -> Option<&'a str> {
    object
        .metadata
        .labels
        .as_ref()?
        .get(key)
        .map(String::as_str)
}

pub(crate) fn is_deleting(object: &DynamicObject) -> bool {
    object.metadata.deletion_timestamp.is_some()
}

/// A string at a JSON pointer into the object's data (`""` when absent).
pub(crate) fn text<'a>(object: &'a DynamicObject, pointer: &str) -> &'a str {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

pub(crate) fn flag(object: &DynamicObject, pointer: &str) -> bool {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// `metav1.Time` / `util.Now()`: RFC 3339, UTC, whole seconds.
pub(crate) fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn now_seconds() -> String {
    rfc3339_seconds(jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_go() {
        let at: jiff::Timestamp = "2025-01-02T03:04:05.120Z".parse().unwrap();
        assert_eq!(rfc3339_seconds(at), "2025-01-02T03:04:05Z");
    }
}
