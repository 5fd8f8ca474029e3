//! What a system backup's `system-backup.cfg` says of the running longhorn-manager:
//! its images, which Longhorn's restore job runs with, and its git commit
//! (docs/longhorn-behaviour.md, "Finding the install" and "The store").

use futures::TryStreamExt;
use serde_json::Value;

use super::error::{Error, Result};
use super::install::Longhorn;
use super::resources::{
    CSI_PLUGIN, SETTING_DEFAULT_ENGINE_IMAGE, SYSTEM_BACKUP, annotations, daemon_sets,
};
use super::systembackup as sb;
use crate::kube::{Collection, Selector, object};

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

/// What the cfg says when no source names the running manager's commit (restore does
/// not read the field; docs/compatibility.md).
pub const UNKNOWN_GIT_COMMIT: &str = "unknown";

/// The git commit of the running longhorn-manager `version`, as Longhorn writes it into
/// the cfg. longhorn-manager's CSI deployer annotates the CSI plugin DaemonSet with its
/// build's commit and version (`driver.longhorn.io/git-commit`, `…/version`:
/// `longhorn/longhorn-manager:csi/deployment_util.go@v1.12.0`, `deploy`); without it, a
/// SystemBackup Longhorn made at the same version records it. `None` when neither says.
pub async fn git_commit(longhorn: &Longhorn, version: &str) -> Result<Option<String>> {
    let namespace = longhorn.namespace();
    let csi_plugin = longhorn
        .kube()
        .get_opt(&Collection::new(daemon_sets(), Some(namespace)).object(CSI_PLUGIN))
        .await?;
    if let Some(commit) = csi_plugin.as_ref().and_then(|d| csi_git_commit(d, version)) {
        return Ok(Some(commit));
    }
    let backups = longhorn
        .kube()
        .items(&SYSTEM_BACKUP.collection(namespace), Selector::default());
    let mut backups = std::pin::pin!(backups);
    while let Some(backup) = backups.try_next().await? {
        let commit = object::str_at(&backup, "/status/gitCommit").filter(|c| !c.is_empty());
        if let Some(commit) = commit.filter(|_| sb::version(&backup) == Some(version)) {
            return Ok(Some(commit.to_string()));
        }
    }
    Ok(None)
}

/// The commit on a CSI object deployed by longhorn-manager `version`.
fn csi_git_commit(object: &Value, version: &str) -> Option<String> {
    let annotation = |key: &str| {
        object::str_at(
            object,
            &format!("/metadata/annotations/{}", key.replace('/', "~1")),
        )
    };
    if annotation(annotations::CSI_VERSION) != Some(version) {
        return None;
    }
    annotation(annotations::CSI_GIT_COMMIT)
        .filter(|c| !c.is_empty())
        .map(str::to_string)
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

    #[test]
    fn the_commit_is_the_csi_deployers_for_the_same_version() {
        let plugin = json!({"metadata": {"annotations": {
            "driver.longhorn.io/git-commit": "93227d264f38c85c7ed3d2204dc6e924d508cc35",
            "driver.longhorn.io/version": "v1.12.0",
        }}});
        assert_eq!(
            csi_git_commit(&plugin, "v1.12.0").as_deref(),
            Some("93227d264f38c85c7ed3d2204dc6e924d508cc35")
        );
        assert_eq!(
            csi_git_commit(&plugin, "v1.11.1"),
            None,
            "another version's deployer"
        );
        assert_eq!(csi_git_commit(&json!({"metadata": {}}), "v1.12.0"), None);
    }
}
