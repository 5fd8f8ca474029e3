//! The Snapshots and Backups a SystemBackup's volume backup policy makes. Longhorn
//! names them `system-backup-<16 hex>` and records no link to the SystemBackup
//! (docs/longhorn-behaviour.md, "Volume backup policy"), so they are matched by that
//! name and by creation time within the SystemBackup's life.

use std::collections::HashMap;

use futures::TryStreamExt;
use serde_json::Value;

use super::install::Longhorn;
use super::resources::{BACKUP, SNAPSHOT};
use super::systembackup as sb;
use crate::kube::{Result, Selector};

/// The prefix longhorn-manager passes to `bsutil.GenerateName` for a volume backup's
/// Snapshot and Backup (longhorn/longhorn-manager:controller/system_backup_controller.go
/// `createVolumeBackup`); GenerateName appends `-` and 16 hex digits.
pub const NAME_PREFIX: &str = "system-backup";

/// A name like Longhorn's: `system-backup-` and 16 hex digits of a random UUID.
pub fn generate_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{NAME_PREFIX}-{}", &id[..16])
}

/// Whether `name` is one [`generate_name`] (or Longhorn) could have made.
pub fn is_volume_backup_name(name: &str) -> bool {
    name.strip_prefix(NAME_PREFIX)
        .is_some_and(|rest| rest.starts_with('-'))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeBackup {
    pub volume: String,
    pub snapshot: String,
    /// `None` when the policy kept an up-to-date backup and made only the snapshot.
    pub backup_state: Option<String>,
    pub created: String,
}

/// Matches by prefix and by `[creationTimestamp, createdAt or lastSyncedAt]` of the
/// SystemBackup (open-ended while it is still running).
pub async fn produced_by(longhorn: &Longhorn, system_backup: &Value) -> Result<Vec<VolumeBackup>> {
    let namespace = longhorn.namespace();
    let from = sb::creation_timestamp(system_backup)
        .unwrap_or_default()
        .to_string();
    let until = sb::created_at(system_backup)
        .or(sb::last_synced_at(system_backup))
        .map(str::to_string);
    let in_window = |object: &Value| {
        let name = sb::name(object);
        let created = sb::creation_timestamp(object).unwrap_or_default();
        is_volume_backup_name(name)
            && created >= from.as_str()
            && until.as_deref().is_none_or(|u| created <= u)
    };
    let text = |o: &Value, p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    // Both kinds streamed, keeping only what this SystemBackup made: a cluster keeps
    // every volume's snapshots and backups.
    let snapshots = longhorn
        .kube()
        .items(&SNAPSHOT.collection(namespace), Selector::default())
        .try_filter_map(|snapshot| {
            let made = in_window(&snapshot).then(|| VolumeBackup {
                volume: text(&snapshot, "/spec/volume"),
                snapshot: sb::name(&snapshot).to_string(),
                backup_state: None,
                created: sb::creation_timestamp(&snapshot)
                    .unwrap_or_default()
                    .to_string(),
            });
            async move { Ok(made) }
        })
        .try_collect::<Vec<_>>();
    let backups = longhorn
        .kube()
        .items(&BACKUP.collection(namespace), Selector::default())
        .try_filter_map(|backup| {
            let name = sb::name(&backup);
            let state = is_volume_backup_name(name).then(|| {
                let state = Some(text(&backup, "/status/state"))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "Pending".into());
                (name.to_string(), state)
            });
            async move { Ok(state) }
        })
        .try_collect::<HashMap<String, String>>();
    let (mut found, backup_states) = tokio::try_join!(snapshots, backups)?;
    // A Backup has its Snapshot's name.
    for made in &mut found {
        made.backup_state = backup_states.get(&made.snapshot).cloned();
    }
    found.sort_by(|a, b| (&a.volume, &a.created).cmp(&(&b.volume, &b.created)));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_look_like_longhorns() {
        let name = generate_name();
        assert_eq!(name.len(), "system-backup-".len() + 16);
        assert!(
            name[14..]
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{name}"
        );
        assert_ne!(generate_name(), name);
        assert!(is_volume_backup_name(&name));
        assert!(!is_volume_backup_name("system-backupx"));
        assert!(!is_volume_backup_name("backup-1"));
    }
}
