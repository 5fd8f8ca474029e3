//! SystemBackup objects (docs/longhorn-behaviour.md, "SystemBackup"): a new one, and
//! the fields of one read from the cluster. They stay untyped JSON; these accessors
//! name the fields.

use clap::ValueEnum;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::backup_target::check_usable;
use super::error::{Error, Result};
use super::install::Longhorn;
use super::resources::{GROUP, SYSTEM_BACKUP, VERSION, labels};
use super::target_url::{TargetUrl, system_backup_dir};
pub use crate::kube::object::{
    creation_timestamp, deletion_timestamp, label, name, namespace, str_at, uid,
};

/// Which volumes a system backup backs up first (`spec.volumeBackupPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VolumeBackupPolicy {
    /// Back up a volume only when its last backup is missing or outdated
    IfNotPresent,
    /// Always back up every volume
    Always,
    /// Take no volume backups
    Disabled,
}

impl VolumeBackupPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IfNotPresent => "if-not-present",
            Self::Always => "always",
            Self::Disabled => "disabled",
        }
    }
}

/// Refuses, before writing anything, what Longhorn would reject or fail on: no
/// Longhorn here, a backup target unset or unavailable, no RBAC, the name taken. The
/// three checks run at once; their errors come in that order.
pub async fn check_create(longhorn: &Longhorn, name: &str) -> Result<()> {
    let namespace = longhorn.namespace();
    let (target, access, existing) = tokio::join!(
        check_usable(longhorn),
        longhorn.check_access("create", SYSTEM_BACKUP),
        longhorn
            .kube()
            .get_opt(&SYSTEM_BACKUP.object(namespace, name)),
    );
    target?;
    access?;
    if existing?.is_some() {
        return Err(Error::BackupExists {
            name: name.to_string(),
            namespace: namespace.to_string(),
        });
    }
    Ok(())
}

/// A new SystemBackup, as the Longhorn UI creates it.
pub fn new_object(name: &str, namespace: &str, policy: VolumeBackupPolicy) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SYSTEM_BACKUP.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"volumeBackupPolicy": policy.as_str()},
    })
}

pub const STATE_READY: &str = "Ready";
pub const STATE_ERROR: &str = "Error";

/// `status.state`; a new object has none yet (Longhorn's `""` state).
pub fn state(object: &Value) -> &str {
    str_at(object, "/status/state").unwrap_or_default()
}

pub fn version(object: &Value) -> Option<&str> {
    str_at(object, "/status/version")
}

/// `status.createdAt`: set when the upload succeeded; zero (or absent) before that
/// and on Error CRs.
pub fn created_at(object: &Value) -> Option<&str> {
    str_at(object, "/status/createdAt").filter(|t| !t.starts_with("0001-01-01"))
}

/// When a backup was taken: `status.createdAt` (the upload, or the store's cfg for one
/// synced from the target), else when its CR was made.
pub fn taken_at(object: &Value) -> Option<Timestamp> {
    created_at(object)
        .or_else(|| creation_timestamp(object))
        .and_then(|t| t.parse().ok())
}

pub fn last_synced_at(object: &Value) -> Option<&str> {
    str_at(object, "/status/lastSyncedAt")
}

pub fn policy(object: &Value) -> Option<&str> {
    str_at(object, "/spec/volumeBackupPolicy")
}

pub fn owner_node(object: &Value) -> Option<&str> {
    str_at(object, "/status/ownerID")
}

pub fn manager_image(object: &Value) -> Option<&str> {
    str_at(object, "/status/managerImage")
}

pub fn recurring_job(object: &Value) -> Option<&str> {
    label(object, labels::RECURRING_JOB_SYSTEM_BACKUP)
}

/// The conditions, as `status.conditions` lists them.
pub fn conditions(object: &Value) -> &[Value] {
    object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The message of the `Error` condition (the only condition type Longhorn sets).
pub fn error_message(object: &Value) -> Option<&str> {
    conditions(object)
        .iter()
        .filter(|c| c.get("type").and_then(Value::as_str) == Some("Error"))
        .filter(|c| c.get("status").and_then(Value::as_str) == Some("True"))
        .find_map(|c| c.get("message").and_then(Value::as_str))
        .filter(|m| !m.is_empty())
}

/// Where Longhorn keeps this backup in the target (docs/longhorn-behaviour.md, "The
/// store").
pub fn remote_location(target_url: &str, version: &str, name: &str) -> String {
    // A directory: the trailing slash before the target's query, if any.
    match TargetUrl::parse(target_url) {
        Ok(mut url) => {
            let query = url
                .query
                .take()
                .map(|q| format!("?{q}"))
                .unwrap_or_default();
            format!("{}/{query}", url.system_backup_url(version, name))
        }
        Err(_) => format!(
            "{}/{}/",
            target_url.trim_end_matches('/'),
            system_backup_dir("", version, name)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_status_fields() {
        let object = json!({
            "metadata": {"name": "demo", "labels": {"recurring-job.longhorn.io/system-backup": "nightly"}},
            "spec": {"volumeBackupPolicy": "always"},
            "status": {"state": "Error", "version": "v1.9.0", "createdAt": "0001-01-01T00:00:00Z",
                        "conditions": [{"type": "Error", "status": "True", "reason": "Upload", "message": "timeout uploading system backup"}]}
        });
        assert_eq!(name(&object), "demo");
        assert_eq!(state(&object), "Error");
        assert_eq!(created_at(&object), None, "a zero time is no time");
        assert_eq!(recurring_job(&object), Some("nightly"));
        assert_eq!(
            error_message(&object),
            Some("timeout uploading system backup")
        );
        assert_eq!(state(&json!({})), "");
    }

    #[test]
    fn remote_location_joins_without_double_slashes() {
        assert_eq!(
            remote_location("s3://bucket@us-east-1/", "v1.9.0", "demo"),
            "s3://bucket@us-east-1/backupstore/system-backups/v1.9.0/demo/"
        );
        assert_eq!(
            remote_location(
                "nfs://10.0.0.1:/exports/lh/?nfsOptions=soft",
                "v1.9.0",
                "demo"
            ),
            "nfs://10.0.0.1:/exports/lh/backupstore/system-backups/v1.9.0/demo/?nfsOptions=soft"
        );
    }
}
