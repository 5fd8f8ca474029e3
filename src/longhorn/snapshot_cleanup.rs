//! Which `system-backup-*` Snapshots `cleanup snapshots` deletes. Longhorn's volume
//! backup policy leaves one Snapshot per volume and SystemBackup, and never removes
//! them (docs/longhorn-behaviour.md, "Volume backup policy"). A Snapshot goes when its
//! Backup is Completed (the data is in the backup target) or when no Backup uses it.
//! It stays when a Backup still in progress reads it, when the newest Completed Backup
//! of its volume was taken from it (Longhorn's next backup of that volume is an
//! incremental one against it), when its Backup failed (nothing else holds that point
//! in time), or when it is younger than `--older-than`.

use std::collections::HashMap;
use std::time::Duration;

use futures::TryStreamExt;
use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::install::Longhorn;
use super::resources::{BACKUP, SNAPSHOT, labels};
use super::volume_backups::is_volume_backup_name;
use crate::kube::object::{self, str_at};
use crate::kube::{Result, Selector};

/// Backup states that are final (`longhorn.BackupState`).
const BACKUP_COMPLETED: &str = "Completed";
const BACKUP_ERROR: &str = "Error";

/// What the flags narrow the cleanup to.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Only these volumes (all when empty).
    pub volumes: Vec<String>,
    /// Only snapshots taken longer ago than this.
    pub older_than: Option<Duration>,
}

/// Why a snapshot stays or goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Backed up by this Completed Backup.
    BackedUp(String),
    /// No Backup uses it.
    Unused,
    /// This Backup, still in progress, reads it.
    InProgress(String),
    /// This Backup, the newest Completed one of the volume, was taken from it.
    NewestOfVolume(String),
    /// This Backup of it failed.
    BackupFailed(String),
    /// Younger than `--older-than`.
    Younger(Duration),
    /// Already being deleted.
    Deleting,
}

impl Reason {
    pub fn deletes(&self) -> bool {
        matches!(self, Reason::BackedUp(_) | Reason::Unused)
    }

    pub fn describe(&self) -> String {
        match self {
            Reason::BackedUp(backup) => format!("backed up by {backup} (Completed)"),
            Reason::Unused => "no backup uses it".into(),
            Reason::InProgress(backup) => format!("backup {backup} is still reading it"),
            Reason::NewestOfVolume(backup) => format!(
                "the volume's newest backup {backup} was taken from it (the next backup is incremental against it)"
            ),
            Reason::BackupFailed(backup) => {
                format!("its backup {backup} failed: nothing else holds this point in time")
            }
            Reason::Younger(limit) => format!("younger than {}", crate::go::HumanDuration(*limit)),
            Reason::Deleting => "already being deleted".into(),
        }
    }
}

/// A snapshot and what cleanup does with it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub snapshot: Value,
    pub volume: String,
    /// `status.size` in bytes.
    pub size: u64,
    pub taken: Option<Timestamp>,
    pub reason: Reason,
}

/// The Snapshot's volume: `spec.volume`, else the label Longhorn's webhook sets.
fn snapshot_volume(snapshot: &Value) -> &str {
    str_at(snapshot, "/spec/volume")
        .or_else(|| object::label(snapshot, labels::SNAPSHOT_VOLUME))
        .unwrap_or_default()
}

fn snapshot_taken(snapshot: &Value) -> Option<Timestamp> {
    str_at(snapshot, "/status/creationTime")
        .filter(|t| !t.is_empty())
        .or_else(|| object::creation_timestamp(snapshot))
        .and_then(|t| t.parse().ok())
}

/// `status.size`: Longhorn writes a number; a string of digits is read too.
fn snapshot_size(snapshot: &Value) -> u64 {
    match snapshot.pointer("/status/size") {
        Some(Value::Number(n)) => n.as_u64().unwrap_or_default(),
        Some(Value::String(s)) => s.parse().unwrap_or_default(),
        _ => 0,
    }
}

fn backup_snapshot(backup: &Value) -> Option<&str> {
    str_at(backup, "/spec/snapshotName")
        .or_else(|| str_at(backup, "/status/snapshotName"))
        .filter(|s| !s.is_empty())
}

fn backup_volume(backup: &Value) -> Option<&str> {
    str_at(backup, "/status/volumeName")
        .filter(|v| !v.is_empty())
        .or_else(|| object::label(backup, labels::BACKUP_VOLUME))
}

fn backup_state(backup: &Value) -> &str {
    str_at(backup, "/status/state").unwrap_or_default()
}

fn backup_taken(backup: &Value) -> Option<Timestamp> {
    str_at(backup, "/status/backupCreatedAt")
        .filter(|t| !t.is_empty())
        .or_else(|| object::creation_timestamp(backup))
        .and_then(|t| t.parse().ok())
}

/// The decision for each `system-backup-*` snapshot in `scope`, by volume then age.
pub fn plan(
    snapshots: &[Value],
    backups: &[Value],
    scope: &Scope,
    now: Timestamp,
) -> Vec<Decision> {
    // Per volume, the newest Completed backup (of any kind: Longhorn's next backup of
    // the volume is incremental against whichever was last).
    let mut newest: HashMap<&str, (&Value, Option<Timestamp>)> = HashMap::new();
    for backup in backups
        .iter()
        .filter(|b| backup_state(b) == BACKUP_COMPLETED)
    {
        let Some(volume) = backup_volume(backup) else {
            continue;
        };
        let taken = backup_taken(backup);
        let entry = newest.entry(volume).or_insert((backup, taken));
        if taken > entry.1 {
            *entry = (backup, taken);
        }
    }
    // The Backups of each snapshot, looked up once per snapshot rather than scanned.
    let mut by_snapshot: HashMap<&str, Vec<&Value>> = HashMap::new();
    for backup in backups {
        if let Some(snapshot) = backup_snapshot(backup) {
            by_snapshot.entry(snapshot).or_default().push(backup);
        }
    }
    let mut decisions: Vec<Decision> = snapshots
        .iter()
        .filter(|s| is_volume_backup_name(object::name(s)))
        .filter(|s| {
            scope.volumes.is_empty() || scope.volumes.iter().any(|v| v == snapshot_volume(s))
        })
        .map(|snapshot| {
            let name = object::name(snapshot);
            let volume = snapshot_volume(snapshot);
            let taken = snapshot_taken(snapshot);
            let using: Vec<&Value> = by_snapshot
                .get(name)
                .into_iter()
                .flatten()
                .copied()
                .filter(|b| backup_volume(b).is_none_or(|v| v == volume))
                .collect();
            let reason = decide(
                snapshot,
                taken,
                &using,
                newest.get(volume).map(|n| n.0),
                scope,
                now,
            );
            Decision {
                snapshot: snapshot.clone(),
                volume: volume.to_string(),
                size: snapshot_size(snapshot),
                taken,
                reason,
            }
        })
        .collect();
    decisions.sort_by(|a, b| (&a.volume, a.taken).cmp(&(&b.volume, b.taken)));
    decisions
}

fn decide(
    snapshot: &Value,
    taken: Option<Timestamp>,
    using: &[&Value],
    newest_of_volume: Option<&Value>,
    scope: &Scope,
    now: Timestamp,
) -> Reason {
    if object::deletion_timestamp(snapshot).is_some() {
        return Reason::Deleting;
    }
    let live: Vec<&&Value> = using
        .iter()
        .filter(|b| object::deletion_timestamp(b).is_none())
        .collect();
    if let Some(busy) = live
        .iter()
        .find(|b| !matches!(backup_state(b), BACKUP_COMPLETED | BACKUP_ERROR))
    {
        return Reason::InProgress(object::name(busy).to_string());
    }
    if let Some(newest) = newest_of_volume.filter(|n| using.iter().any(|b| std::ptr::eq(*b, *n))) {
        return Reason::NewestOfVolume(object::name(newest).to_string());
    }
    let completed = live.iter().find(|b| backup_state(b) == BACKUP_COMPLETED);
    if completed.is_none()
        && let Some(failed) = live.iter().find(|b| backup_state(b) == BACKUP_ERROR)
    {
        return Reason::BackupFailed(object::name(failed).to_string());
    }
    if let Some(older_than) = scope.older_than {
        let limit = SignedDuration::try_from(older_than).unwrap_or(SignedDuration::MAX);
        if taken.is_none_or(|t| now.duration_since(t) < limit) {
            return Reason::Younger(older_than);
        }
    }
    match completed {
        Some(backup) => Reason::BackedUp(object::name(backup).to_string()),
        None => Reason::Unused,
    }
}

/// Every Snapshot and Backup of the namespace, streamed page by page (a cluster keeps
/// all volumes' snapshots and backups), read concurrently.
pub async fn read(longhorn: &Longhorn) -> Result<(Vec<Value>, Vec<Value>)> {
    let namespace = longhorn.namespace();
    let snapshots = longhorn
        .kube()
        .items(&SNAPSHOT.collection(namespace), Selector::default())
        .try_filter(|s| std::future::ready(is_volume_backup_name(object::name(s))))
        .try_collect::<Vec<_>>();
    let backups = longhorn
        .kube()
        .items(&BACKUP.collection(namespace), Selector::default())
        .try_collect::<Vec<_>>();
    tokio::try_join!(snapshots, backups)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: &str = "2026-12-04T12:00:00Z";

    fn at(days_ago: i64) -> String {
        let now: Timestamp = NOW.parse().unwrap();
        (now - SignedDuration::from_hours(24 * days_ago)).to_string()
    }

    fn snapshot(name: &str, volume: &str, days_ago: i64, size: u64) -> Value {
        json!({
            "metadata": {"name": name, "labels": {"longhornvolume": volume}},
            "spec": {"volume": volume},
            "status": {"creationTime": at(days_ago), "size": size},
        })
    }

    fn backup(name: &str, snapshot: &str, volume: &str, state: &str, days_ago: i64) -> Value {
        json!({
            "metadata": {"name": name, "labels": {"backup-volume": volume}},
            "spec": {"snapshotName": snapshot},
            "status": {"state": state, "volumeName": volume, "backupCreatedAt": at(days_ago)},
        })
    }

    fn reasons(snapshots: &[Value], backups: &[Value], scope: Scope) -> Vec<(String, Reason)> {
        plan(snapshots, backups, &scope, NOW.parse().unwrap())
            .into_iter()
            .map(|d| (object::name(&d.snapshot).to_string(), d.reason))
            .collect()
    }

    #[test]
    fn backed_up_and_unused_snapshots_go_the_rest_stay() {
        let snapshots = [
            snapshot("system-backup-aaaa", "vol-a", 9, 10),
            snapshot("system-backup-bbbb", "vol-a", 5, 20),
            snapshot("system-backup-cccc", "vol-a", 1, 30),
            snapshot("system-backup-dddd", "vol-b", 3, 40),
            snapshot("system-backup-eeee", "vol-b", 2, 50),
            snapshot("my-own", "vol-b", 2, 60),
        ];
        let backups = [
            backup(
                "system-backup-aaaa",
                "system-backup-aaaa",
                "vol-a",
                "Completed",
                9,
            ),
            backup(
                "system-backup-bbbb",
                "system-backup-bbbb",
                "vol-a",
                "Completed",
                5,
            ),
            backup(
                "system-backup-cccc",
                "system-backup-cccc",
                "vol-a",
                "InProgress",
                1,
            ),
            backup(
                "system-backup-dddd",
                "system-backup-dddd",
                "vol-b",
                "Error",
                3,
            ),
            // A backup made by hand is vol-b's newest: system-backup-eeee is unused.
            backup("by-hand", "my-own", "vol-b", "Completed", 1),
        ];
        assert_eq!(
            reasons(&snapshots, &backups, Scope::default()),
            vec![
                (
                    "system-backup-aaaa".into(),
                    Reason::BackedUp("system-backup-aaaa".into())
                ),
                (
                    "system-backup-bbbb".into(),
                    Reason::NewestOfVolume("system-backup-bbbb".into())
                ),
                (
                    "system-backup-cccc".into(),
                    Reason::InProgress("system-backup-cccc".into())
                ),
                (
                    "system-backup-dddd".into(),
                    Reason::BackupFailed("system-backup-dddd".into())
                ),
                ("system-backup-eeee".into(), Reason::Unused),
            ]
        );
    }

    #[test]
    fn scope_narrows_by_volume_and_age() {
        let snapshots = [
            snapshot("system-backup-old", "vol-a", 9, 1),
            snapshot("system-backup-new", "vol-a", 1, 1),
            snapshot("system-backup-other", "vol-b", 9, 1),
        ];
        let scope = Scope {
            volumes: vec!["vol-a".into()],
            older_than: Some(Duration::from_secs(3 * 24 * 3600)),
        };
        assert_eq!(
            reasons(&snapshots, &[], scope),
            vec![
                ("system-backup-old".into(), Reason::Unused),
                (
                    "system-backup-new".into(),
                    Reason::Younger(Duration::from_secs(3 * 24 * 3600))
                ),
            ]
        );
    }

    #[test]
    fn sizes_are_read_as_longhorn_writes_them() {
        let mut as_text = snapshot("system-backup-t", "v", 1, 0);
        as_text["status"]["size"] = json!("2048");
        let decisions = plan(
            &[snapshot("system-backup-n", "v", 2, 4096), as_text],
            &[],
            &Scope::default(),
            NOW.parse().unwrap(),
        );
        let sizes: Vec<u64> = decisions.iter().map(|d| d.size).collect();
        assert_eq!(sizes, [4096, 2048]);
    }
}
