//! Events recorded for an object (core/v1 Events, as Longhorn's recorder writes them).

use jiff::Timestamp;
use serde_json::Value;

use super::resources;
use crate::kube::{Collection, Kube, ObjectRef, Result, Selector};
use crate::output::age::age;

/// Events about `object` (and its `uid` when given), oldest first.
pub async fn for_object(kube: &Kube, object: &ObjectRef, uid: Option<&str>) -> Result<Vec<Value>> {
    let mut fields = format!(
        "involvedObject.kind={},involvedObject.name={}",
        object.resource().kind,
        object.name
    );
    if let Some(uid) = uid {
        fields.push_str(&format!(",involvedObject.uid={uid}"));
    }
    let events_here = Collection::new(resources::events(), object.namespace());
    let mut events = kube
        .list_items(&events_here, Selector::fields(fields))
        .await?;
    // Timestamps have second precision; within a second, write order.
    events.sort_by(|a, b| {
        last_seen(a)
            .cmp(last_seen(b))
            .then_with(|| written(a).cmp(&written(b)))
    });
    Ok(events)
}

fn written(event: &Value) -> u64 {
    event
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// When the event was last seen (RFC 3339), from whichever time field it has.
pub fn last_seen(event: &Value) -> &str {
    [
        "/lastTimestamp",
        "/eventTime",
        "/firstTimestamp",
        "/metadata/creationTimestamp",
    ]
    .iter()
    .find_map(|p| event.pointer(p).and_then(Value::as_str))
    .unwrap_or_default()
}

/// kubectl describe's event columns: TYPE REASON AGE FROM MESSAGE.
pub const HEADERS: &[&str] = &["TYPE", "REASON", "AGE", "FROM", "MESSAGE"];

pub fn rows(events: &[Value], now: Timestamp) -> Vec<Vec<String>> {
    let text = |e: &Value, p: &str| {
        e.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    events
        .iter()
        .map(|e| {
            let count = e.get("count").and_then(Value::as_u64).unwrap_or(1);
            let seen = age(Some(last_seen(e)).filter(|s| !s.is_empty()), now);
            let seen = if count > 1 {
                format!("{seen} (x{count})")
            } else {
                seen
            };
            let from = Some(text(e, "/source/component"))
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| text(e, "/reportingComponent"));
            vec![
                text(e, "/type"),
                text(e, "/reason"),
                seen,
                from,
                text(e, "/message"),
            ]
        })
        .collect()
}
