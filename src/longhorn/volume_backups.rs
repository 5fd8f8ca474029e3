//! The Snapshots and Backups a SystemBackup's volume backup policy produced.
//! Longhorn names them `system-backup-<16 hex>` and records no link to the
//! SystemBackup (longhorn-system-backup.md §2.2), so they are matched by that prefix
//! and by creation time within the SystemBackup's life.

use serde_json::Value;

use super::resources::{BACKUP, SNAPSHOT};
use super::systembackup as sb;
use crate::api::{self, Selector};
use crate::error::Result;
use crate::session::Session;

pub const NAME_PREFIX: &str = "system-backup-";

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
pub async fn produced_by(
    session: &Session,
    namespace: &str,
    system_backup: &Value,
) -> Result<Vec<VolumeBackup>> {
    let from = sb::creation_timestamp(system_backup)
        .unwrap_or_default()
        .to_string();
    let until = sb::created_at(system_backup)
        .or(sb::last_synced_at(system_backup))
        .map(str::to_string);
    let in_window = |object: &Value| {
        let name = sb::name(object);
        let created = sb::creation_timestamp(object).unwrap_or_default();
        name.starts_with(NAME_PREFIX)
            && created >= from.as_str()
            && until.as_deref().is_none_or(|u| created <= u)
    };
    let (snapshots, backups) = tokio::try_join!(
        api::list_items(
            session,
            &SNAPSHOT.api_resource(),
            Some(namespace),
            Selector::default()
        ),
        api::list_items(
            session,
            &BACKUP.api_resource(),
            Some(namespace),
            Selector::default()
        ),
    )?;
    let text = |o: &Value, p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let mut found: Vec<VolumeBackup> = snapshots
        .iter()
        .filter(|s| in_window(s))
        .map(|snapshot| {
            let name = sb::name(snapshot);
            let backup = backups.iter().find(|b| sb::name(b) == name);
            VolumeBackup {
                volume: text(snapshot, "/spec/volume"),
                snapshot: name.to_string(),
                backup_state: backup.map(|b| {
                    Some(text(b, "/status/state"))
                        .filter(|s| !s.is_empty())
                        .unwrap_or_else(|| "Pending".into())
                }),
                created: sb::creation_timestamp(snapshot)
                    .unwrap_or_default()
                    .to_string(),
            }
        })
        .collect();
    found.sort_by(|a, b| (&a.volume, &a.created).cmp(&(&b.volume, &b.created)));
    Ok(found)
}
