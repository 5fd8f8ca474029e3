//! core/v1 Events as client-go's legacy recorder writes them (`record.EventRecorder`),
//! with the component names of Longhorn's controllers.

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, DynamicObject, PostParams};
use tracing::warn;

use crate::longhorn::{API_VERSION, Kind, Version};

pub(crate) const SYSTEM_BACKUP_COMPONENT: &str = "longhorn-system-backup-controller";
pub(crate) const SYSTEM_RESTORE_COMPONENT: &str = "longhorn-system-restore-controller";
pub(crate) const SYSTEM_ROLLOUT_COMPONENT: &str = "longhorn-system-rollout-controller";

#[derive(Clone)]
pub(crate) struct EventRecorder {
    client: kube::Client,
    component: &'static str,
    /// v1.8.1–v1.11.1 record through `Eventf(obj, type, reason, message)`, so a `%` in
    /// the message is read as a format verb (simulator-spec.md §3.2).
    formats_message: bool,
}

impl EventRecorder {
    pub fn new(client: kube::Client, component: &'static str, version: &Version) -> Self {
        Self {
            client,
            component,
            formats_message: !version.at_least(12),
        }
    }

    pub async fn normal(&self, object: &DynamicObject, kind: Kind, reason: &str, message: &str) {
        self.record(object, kind, "Normal", reason, message).await;
    }

    pub async fn warning(&self, object: &DynamicObject, kind: Kind, reason: &str, message: &str) {
        self.record(object, kind, "Warning", reason, message).await;
    }

    async fn record(
        &self,
        object: &DynamicObject,
        kind: Kind,
        event_type: &str,
        reason: &str,
        message: &str,
    ) {
        let now = jiff::Timestamp::now();
        let name = object.metadata.name.clone().unwrap_or_default();
        let namespace = object
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let message = if self.formats_message {
            go_sprintf_without_arguments(message)
        } else {
            message.to_string()
        };
        let event = Event {
            metadata: ObjectMeta {
                name: Some(format!("{name}.{:x}", now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                ..Default::default()
            },
            involved_object: ObjectReference {
                api_version: Some(API_VERSION.into()),
                kind: Some(kind.name().into()),
                name: Some(name),
                namespace: Some(namespace.clone()),
                uid: object.metadata.uid.clone(),
                resource_version: object.metadata.resource_version.clone(),
                ..Default::default()
            },
            reason: Some(reason.into()),
            message: Some(message),
            type_: Some(event_type.into()),
            count: Some(1),
            first_timestamp: Some(Time(now)),
            last_timestamp: Some(Time(now)),
            source: Some(EventSource {
                component: Some(self.component.into()),
                host: None,
            }),
            reporting_component: Some(self.component.into()),
            ..Default::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &event).await {
            warn!("recording event {reason}: {e}");
        }
    }
}

/// Go's `fmt.Sprintf(message)` with no arguments: `%%` becomes `%`, any other verb
/// becomes `%!<verb>(MISSING)`, a trailing `%` becomes `%!(NOVERB)`.
pub(crate) fn go_sprintf_without_arguments(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut chars = message.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // Flags, width and precision come before the verb.
        let mut spec = String::new();
        while let Some(&next) = chars.peek() {
            if "+-# 0123456789.".contains(next) {
                spec.push(next);
                chars.next();
            } else {
                break;
            }
        }
        match chars.next() {
            None => out.push_str("%!(NOVERB)"),
            Some('%') if spec.is_empty() => out.push('%'),
            Some(verb) => {
                out.push_str("%!");
                out.push(verb);
                out.push_str("(MISSING)");
            }
        }
    }
    out
}

/// `util.CapitalizeFirstLetter`: the first letter in upper case.
pub(crate) fn capitalize_first_letter(message: &str) -> String {
    let mut chars = message.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_signs_render_like_go_eventf() {
        assert_eq!(
            go_sprintf_without_arguments("100% done"),
            "100%!d(MISSING)one"
        );
        assert_eq!(go_sprintf_without_arguments("50%% off"), "50% off");
        assert_eq!(go_sprintf_without_arguments("end %"), "end %!(NOVERB)");
        assert_eq!(go_sprintf_without_arguments("plain"), "plain");
    }

    #[test]
    fn capitalizes_only_the_first_letter() {
        assert_eq!(
            capitalize_first_letter("failed to get backup target"),
            "Failed to get backup target"
        );
    }
}
