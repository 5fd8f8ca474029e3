//! longhorn-manager's images, which a system backup's `system-backup.cfg` names for
//! Longhorn's restore job (docs/longhorn-behaviour.md, "The store").

use serde_json::Value;

use super::error::{Error, Result};
use super::install::Longhorn;
use super::resources::{SETTING_DEFAULT_ENGINE_IMAGE, daemon_sets};
use crate::kube::Collection;

/// The DaemonSet longhorn-manager runs as, and its container.
pub const MANAGER: &str = "longhorn-manager";

/// The manager image longhorn-manager records (its `--manager-image` flag), else the
/// image of its container.
pub fn manager_image(daemon_set: &Value) -> Option<String> {
    let containers = daemon_set
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)?;
    let container = containers
        .iter()
        .find(|c| c.get("name").and_then(Value::as_str) == Some(MANAGER))
        .or(containers.first())?;
    let words: Vec<&str> = ["command", "args"]
        .iter()
        .filter_map(|k| container.get(*k).and_then(Value::as_array))
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let flag = words.iter().enumerate().find_map(|(i, word)| {
        if let Some(value) = word.strip_prefix("--manager-image=") {
            Some(value.to_string())
        } else if *word == "--manager-image" {
            words.get(i + 1).map(|v| v.to_string())
        } else {
            None
        }
    });
    flag.or_else(|| {
        container
            .get("image")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
    .filter(|image| !image.is_empty())
}

/// The manager image of the longhorn-manager DaemonSet: the image Longhorn's restore
/// job runs with.
pub async fn read_manager_image(longhorn: &Longhorn) -> Result<String> {
    let namespace = longhorn.namespace();
    let daemon_set = longhorn
        .kube()
        .get_opt(&Collection::new(daemon_sets(), Some(namespace)).object(MANAGER))
        .await?
        .ok_or_else(|| Error::NoManagerDaemonSet(namespace.to_string()))?;
    manager_image(&daemon_set).ok_or_else(|| Error::NoManagerImage(namespace.to_string()))
}

/// Setting `default-engine-image`: the engine image Longhorn's restore downloads with.
pub async fn read_engine_image(longhorn: &Longhorn) -> Result<String> {
    longhorn
        .setting(SETTING_DEFAULT_ENGINE_IMAGE)
        .await?
        .filter(|image| !image.is_empty())
        .ok_or_else(|| Error::NoEngineImageSetting {
            setting: SETTING_DEFAULT_ENGINE_IMAGE,
            namespace: longhorn.namespace().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn manager_image_from_the_flag_or_the_container() {
        let daemon_set =
            |container: Value| json!({"spec": {"template": {"spec": {"containers": [container]}}}});
        let flagged = daemon_set(json!({
            "name": "longhorn-manager", "image": "longhornio/longhorn-manager:v1.9.0",
            "command": ["longhorn-manager", "-d", "daemon", "--manager-image", "registry.local/longhorn-manager:v1.9.0", "--service-account", "longhorn-service-account"]
        }));
        assert_eq!(
            manager_image(&flagged).as_deref(),
            Some("registry.local/longhorn-manager:v1.9.0")
        );
        let equals =
            daemon_set(json!({"name": "longhorn-manager", "args": ["--manager-image=a:b"]}));
        assert_eq!(manager_image(&equals).as_deref(), Some("a:b"));
        let plain = daemon_set(
            json!({"name": "longhorn-manager", "image": "longhornio/longhorn-manager:v1.8.1"}),
        );
        assert_eq!(
            manager_image(&plain).as_deref(),
            Some("longhornio/longhorn-manager:v1.8.1")
        );
        assert_eq!(manager_image(&json!({})), None);
    }
}
