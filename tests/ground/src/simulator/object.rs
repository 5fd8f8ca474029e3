//! Small accessors over Longhorn objects held as `DynamicObject`, and Longhorn's
//! condition bookkeeping (`types.SetCondition`).

use kube::api::DynamicObject;
use serde_json::{Value, json};

use super::engine::now_seconds;

pub(crate) fn name(object: &DynamicObject) -> String {
    object.metadata.name.clone().unwrap_or_default()
}

pub(crate) fn uid(object: &DynamicObject) -> String {
    object.metadata.uid.clone().unwrap_or_default()
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

pub(crate) fn integer(object: &DynamicObject, pointer: &str) -> i64 {
    object
        .data
        .pointer(pointer)
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

/// The `status` object, created empty when missing.
pub(crate) fn status_mut(object: &mut DynamicObject) -> &mut serde_json::Map<String, Value> {
    if !object.data.get("status").is_some_and(Value::is_object) {
        object.data["status"] = json!({});
    }
    object.data["status"]
        .as_object_mut()
        .expect("status is an object")
}

/// `types.SetCondition`: update or append the condition of this type; the transition
/// time changes only when the status value changes.
pub(crate) fn set_condition(
    status: &mut serde_json::Map<String, Value>,
    kind: &str,
    value: &str,
    reason: &str,
    message: &str,
) {
    let conditions = status.entry("conditions").or_insert(Value::Null);
    if !conditions.is_array() {
        *conditions = json!([]);
    }
    let list = conditions.as_array_mut().expect("conditions is an array");
    let position = list
        .iter()
        .position(|c| c.get("type").and_then(Value::as_str) == Some(kind));
    let previous = position
        .map(|i| list[i].clone())
        .unwrap_or_else(|| json!({"type": kind, "status": "Unknown"}));
    let mut condition = json!({
        "type": kind,
        "status": value,
        "lastProbeTime": previous.get("lastProbeTime").cloned().unwrap_or(json!("")),
        "lastTransitionTime": previous.get("lastTransitionTime").cloned().unwrap_or(json!("")),
        "reason": reason,
        "message": message,
    });
    if previous.get("status").and_then(Value::as_str) != Some(value) {
        condition["lastTransitionTime"] = json!(now_seconds());
    }
    match position {
        Some(i) => list[i] = condition,
        None => list.push(condition),
    }
}

/// A finalizer list with `finalizer` appended if missing.
pub(crate) fn with_finalizer(object: &Value, finalizer: &str) -> Vec<String> {
    let mut finalizers: Vec<String> = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if !finalizers.iter().any(|f| f == finalizer) {
        finalizers.push(finalizer.to_string());
    }
    finalizers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_keep_their_transition_time_while_the_status_holds() {
        let mut status = serde_json::Map::new();
        set_condition(&mut status, "Error", "True", "Start", "first");
        let first = status["conditions"][0].clone();
        assert_eq!(first["reason"], "Start");
        assert_eq!(first["lastProbeTime"], "");
        assert_ne!(first["lastTransitionTime"], "");
        status["conditions"][0]["lastTransitionTime"] = json!("2000-01-01T00:00:00Z");
        set_condition(&mut status, "Error", "True", "Upload", "second");
        assert_eq!(
            status["conditions"][0]["lastTransitionTime"],
            "2000-01-01T00:00:00Z"
        );
        assert_eq!(status["conditions"][0]["message"], "second");
        assert_eq!(status["conditions"].as_array().unwrap().len(), 1);
    }
}
