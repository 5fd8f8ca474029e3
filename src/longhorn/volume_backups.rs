//! The Snapshots and Backups a SystemBackup's volume backup policy produced.
//! Longhorn names them `system-backup-<16 hex>` and records no link to the
//! SystemBackup (longhorn-system-backup.md §2.2), so they are matched by that prefix
//! and by creation time within the SystemBackup's life.

use std::collections::HashMap;

use futures::TryStreamExt;
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
    let text = |o: &Value, p: &str| {
        o.pointer(p)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    // Both kinds streamed, keeping only what this SystemBackup made: a cluster keeps
    // every volume's snapshots and backups.
    let snapshots = api::items(
        session,
        &SNAPSHOT.api_resource(),
        Some(namespace),
        Selector::default(),
    )
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
    let backups = api::items(
        session,
        &BACKUP.api_resource(),
        Some(namespace),
        Selector::default(),
    )
    .try_filter_map(|backup| {
        let name = sb::name(&backup);
        let state = name.starts_with(NAME_PREFIX).then(|| {
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
