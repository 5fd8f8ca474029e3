//! The volume backup policy of a local bundle: before listing, create the Snapshot and
//! Backup CRs longhorn-manager's `CreatingVolumeBackups` step creates, and wait until
//! every backup is Completed and recorded as its volume's `status.lastBackup`, so the
//! bundle restores each volume from a fresh backup (docs/longhorn-behaviour.md,
//! "Volume backup policy"). Longhorn itself (its snapshot and backup controllers) does
//! the work; this needs longhorn-manager running. `disabled` skips the step.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::error::{Error, Result};
use crate::kube::api::post_params;
use crate::kube::{Collection, Selector, watch};
use crate::longhorn::resources::{BACKUP, GROUP, SNAPSHOT, VERSION, VOLUME, labels};
use crate::longhorn::systembackup::VolumeBackupPolicy;
use crate::longhorn::volume_backups::generate_name;
use crate::longhorn::{Longhorn, LonghornVersion};
use crate::output::progress::{Counter, Counters};
/// How many creates are in flight at once.
const PARALLEL_CREATES: usize = 16;

/// What the step did, for the summary.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// Snapshots created (`system-backup-…`), one per volume backed up or checked.
    pub snapshots: usize,
    /// Backups created and completed: (volume, backup).
    pub backups: Vec<(String, String)>,
    /// Volumes whose last backup was up to date (if-not-present).
    pub up_to_date: Vec<String>,
    /// Volumes Longhorn skips: standby (DR) and linked clones.
    pub skipped: Vec<String>,
}

/// The fields of a Volume the step reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolumeFacts {
    pub name: String,
    pub standby: bool,
    pub linked_clone: bool,
    pub backup_target: String,
    pub last_backup: String,
}

impl VolumeFacts {
    pub fn from_object(volume: &Value) -> Self {
        let text = |p: &str| {
            volume
                .pointer(p)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        VolumeFacts {
            name: text("/metadata/name"),
            standby: volume.pointer("/status/isStandby").and_then(Value::as_bool) == Some(true),
            linked_clone: text("/spec/cloneMode") == "linked-clone",
            backup_target: text("/spec/backupTargetName"),
            last_backup: text("/status/lastBackup"),
        }
    }
}

/// Volumes Longhorn leaves out of every policy: standby (DR) volumes, restored from
/// their source's backups (v1.8+), and linked clones (v1.10+).
pub fn skipped_by_longhorn(volume: &VolumeFacts, version: LonghornVersion) -> bool {
    (volume.standby && version.at_least(1, 8)) || (volume.linked_clone && version.at_least(1, 10))
}

/// Whether a volume gets a `system-backup-…` snapshot. From v1.8 every volume does
/// (the up-to-date check comes after it, #6027); before, if-not-present backs up only
/// volumes without a last backup, and makes no snapshot for the others.
pub fn takes_snapshot(
    volume: &VolumeFacts,
    policy: VolumeBackupPolicy,
    version: LonghornVersion,
) -> bool {
    match policy {
        VolumeBackupPolicy::Disabled => false,
        VolumeBackupPolicy::Always => true,
        VolumeBackupPolicy::IfNotPresent => version.at_least(1, 8) || volume.last_backup.is_empty(),
    }
}

/// The Snapshot the step creates (the Snapshot webhook adds the `longhornvolume`
/// label, the finalizer and the owner).
pub fn snapshot_object(name: &str, namespace: &str, volume: &str) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SNAPSHOT.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"volume": volume, "createSnapshot": true},
    })
}

/// The Backup of that snapshot, same name; `backup-target` is the volume's own
/// target (v1.8+, multiple targets), `backup-volume` is added by `ds.CreateBackup`.
pub fn backup_object(
    name: &str,
    namespace: &str,
    volume: &VolumeFacts,
    version: LonghornVersion,
) -> Value {
    let mut backup_labels = serde_json::Map::new();
    if version.at_least(1, 8) {
        backup_labels.insert(labels::BACKUP_TARGET.into(), json!(volume.backup_target));
    }
    backup_labels.insert(labels::BACKUP_VOLUME.into(), json!(volume.name));
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": BACKUP.kind,
        "metadata": {"name": name, "namespace": namespace, "labels": backup_labels},
        "spec": {"snapshotName": name},
    })
}

/// A Snapshot as the up-to-date check reads it.
#[derive(Debug, Clone)]
pub struct SnapshotFacts {
    pub volume_label: String,
    pub creation_time: String,
    pub size: i64,
}

impl SnapshotFacts {
    pub fn from_object(snapshot: &Value) -> Self {
        SnapshotFacts {
            volume_label: snapshot
                .pointer(&format!("/metadata/labels/{}", labels::SNAPSHOT_VOLUME))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            creation_time: snapshot
                .pointer("/status/creationTime")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            size: snapshot
                .pointer("/status/size")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        }
    }
}

/// Go's `time.Parse(time.RFC3339, …)`; the error has Go's text.
fn parse_rfc3339(text: &str) -> Result<Timestamp> {
    text.parse::<Timestamp>()
        .map_err(|_| Error::UnparsableTime(text.to_string()))
}

/// `isVolumeBackupUpToDate` (v1.8+): skip the backup only when the last backup, its
/// Backup and Snapshot exist, and no snapshot with data (`status.size != 0`),
/// including the one just taken, is newer than the last backup's snapshot. An
/// unparsable last-backup time is an error up to v1.9 and "not up to date" from v1.10
/// (#11232); an unparsable time of a newer snapshot is an error in every version.
pub fn is_up_to_date(
    volume: &VolumeFacts,
    backup_snapshots: &HashMap<String, String>,
    snapshots: &HashMap<String, SnapshotFacts>,
    version: LonghornVersion,
) -> Result<bool> {
    if volume.last_backup.is_empty() {
        return Ok(false);
    }
    let Some(snapshot_name) = backup_snapshots.get(&volume.last_backup) else {
        return Ok(false);
    };
    let Some(last) = snapshots.get(snapshot_name) else {
        return Ok(false);
    };
    let last_time = match parse_rfc3339(&last.creation_time) {
        Ok(time) => time,
        Err(_) if version.at_least(1, 10) => return Ok(false),
        Err(error) => return Err(error),
    };
    for snapshot in snapshots
        .values()
        .filter(|s| s.volume_label == volume.name && s.size != 0)
    {
        let time = parse_rfc3339(&snapshot.creation_time)?;
        if time > last_time {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs the policy and waits for its backups; `timeout` bounds the whole step.
pub async fn run(
    longhorn: &Longhorn,
    version: LonghornVersion,
    policy: VolumeBackupPolicy,
    timeout: Option<Duration>,
    counters: &Counters,
) -> Result<Report> {
    let mut report = Report::default();
    if policy == VolumeBackupPolicy::Disabled {
        return Ok(report);
    }
    let deadline = timeout.map(|t| Instant::now() + t);
    let namespace = longhorn.namespace();
    let volumes = list_facts(longhorn, VOLUME.kind, VOLUME.collection(namespace), |v| {
        VolumeFacts::from_object(v)
    })
    .await?;
    let mut chosen = Vec::new();
    for volume in volumes {
        if skipped_by_longhorn(&volume, version) {
            report.skipped.push(volume.name.clone());
        } else if takes_snapshot(&volume, policy, version) {
            chosen.push(volume);
        } else {
            report.up_to_date.push(volume.name.clone());
        }
    }
    if chosen.is_empty() {
        return Ok(report);
    }

    // 1. Snapshots, and wait until each is ready to use.
    let named: Vec<(String, VolumeFacts)> =
        chosen.into_iter().map(|v| (generate_name(), v)).collect();
    let snapshot_counter = counters.add("volume snapshots (system-backup-…)");
    snapshot_counter.message(format!("of {}", named.len()));
    let created = create_all(
        longhorn,
        named.iter().map(|(name, volume)| Creation {
            object: snapshot_object(name, namespace, &volume.name),
            what: "snapshot",
            volume: &volume.name,
            name,
        }),
        &SNAPSHOT.collection(namespace),
    )
    .await?;
    report.snapshots = created;
    let wanted: HashSet<String> = named.iter().map(|(n, _)| n.clone()).collect();
    within(
        deadline,
        "volume snapshots to be ready",
        wait_snapshots(longhorn, &wanted, &snapshot_counter),
    )
    .await??;
    snapshot_counter.done("ready");

    // 2. The up-to-date check (if-not-present from v1.8), then Backups.
    let mut to_back_up = Vec::new();
    if policy == VolumeBackupPolicy::IfNotPresent && version.at_least(1, 8) {
        let backup_snapshots =
            list_facts(longhorn, BACKUP.kind, BACKUP.collection(namespace), |b| {
                (
                    b.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    b.pointer("/status/snapshotName")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                )
            })
            .await?
            .into_iter()
            .collect::<HashMap<_, _>>();
        let snapshots = list_facts(
            longhorn,
            SNAPSHOT.kind,
            SNAPSHOT.collection(namespace),
            |s| {
                (
                    s.pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    SnapshotFacts::from_object(s),
                )
            },
        )
        .await?
        .into_iter()
        .collect::<HashMap<_, _>>();
        for (name, volume) in named {
            if is_up_to_date(&volume, &backup_snapshots, &snapshots, version)? {
                report.up_to_date.push(volume.name);
            } else {
                to_back_up.push((name, volume));
            }
        }
    } else {
        to_back_up = named;
    }
    if to_back_up.is_empty() {
        return Ok(report);
    }
    let backup_counter = counters.add("volume backups (system-backup-…)");
    backup_counter.message(format!("of {}", to_back_up.len()));
    create_all(
        longhorn,
        to_back_up.iter().map(|(name, volume)| Creation {
            object: backup_object(name, namespace, volume, version),
            what: "backup",
            volume: &volume.name,
            name,
        }),
        &BACKUP.collection(namespace),
    )
    .await?;
    let pending: HashMap<String, String> = to_back_up
        .iter()
        .map(|(name, volume)| (name.clone(), volume.name.clone()))
        .collect();
    within(
        deadline,
        "volume backups to complete",
        wait_backups(longhorn, &pending, &backup_counter),
    )
    .await??;
    backup_counter.done("completed");
    report.backups = to_back_up.into_iter().map(|(n, v)| (v.name, n)).collect();
    Ok(report)
}

/// A few fields of every object of a kind, read page by page.
async fn list_facts<T>(
    longhorn: &Longhorn,
    kind: &str,
    listed: Collection,
    extract: impl Fn(&Value) -> T,
) -> Result<Vec<T>> {
    let pages = longhorn.kube().list_raw_pages(&listed, Selector::default());
    let mut pages = std::pin::pin!(pages);
    let mut found = Vec::new();
    while let Some(page) = pages.try_next().await? {
        for raw in page.items() {
            let object: Value =
                serde_json::from_str(raw.get()).map_err(|source| Error::UnreadableItem {
                    kind: kind.to_string(),
                    source,
                })?;
            found.push(extract(&object));
        }
    }
    Ok(found)
}

/// One object the step creates, and what a failure says about it.
struct Creation<'a> {
    object: Value,
    what: &'static str,
    volume: &'a str,
    name: &'a str,
}

/// Creates the objects, a few at a time; the first failure stops the step.
async fn create_all<'a>(
    longhorn: &Longhorn,
    objects: impl Iterator<Item = Creation<'a>>,
    into: &Collection,
) -> Result<usize> {
    let params = post_params(false);
    let creates = futures::stream::iter(objects.map(|creation| {
        let params = &params;
        async move {
            longhorn
                .kube()
                .create(into, &creation.object, params)
                .await
                .map_err(|source| Error::CreateFailed {
                    what: creation.what,
                    volume: creation.volume.to_string(),
                    name: creation.name.to_string(),
                    source: Box::new(source),
                })
        }
    }));
    let created: Vec<Value> = creates
        .buffer_unordered(PARALLEL_CREATES)
        .try_collect()
        .await?;
    Ok(created.len())
}

/// `future` or a timeout error naming what was waited for.
async fn within<T>(
    deadline: Option<Instant>,
    what: &'static str,
    future: impl Future<Output = T>,
) -> Result<T> {
    match deadline {
        None => Ok(future.await),
        Some(deadline) => tokio::time::timeout_at(deadline, future)
            .await
            .map_err(|_| Error::StepTimeout(what)),
    }
}

async fn wait_snapshots(
    longhorn: &Longhorn,
    wanted: &HashSet<String>,
    counter: &Counter,
) -> Result<()> {
    let mut ready = HashSet::new();
    let snapshots = SNAPSHOT.collection(longhorn.namespace());
    let mut events = std::pin::pin!(watch::applied(longhorn.kube(), &snapshots));
    while let Some(snapshot) = events.next().await {
        let name = snapshot
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if wanted.contains(name)
            && snapshot
                .pointer("/status/readyToUse")
                .and_then(Value::as_bool)
                == Some(true)
        {
            ready.insert(name.to_string());
            counter.set(ready.len() as u64);
            if ready.len() == wanted.len() {
                return Ok(());
            }
        }
    }
    Err(crate::kube::Error::WatchEnded("snapshots".into()).into())
}

/// Until every backup is Completed and is its volume's `status.lastBackup`
/// (`WaitForVolumeBackupToComplete`); a backup in Error fails at once.
async fn wait_backups(
    longhorn: &Longhorn,
    pending: &HashMap<String, String>,
    counter: &Counter,
) -> Result<()> {
    let namespace = longhorn.namespace();
    let volumes_of: HashSet<&str> = pending.values().map(String::as_str).collect();
    let mut completed: HashSet<String> = HashSet::new();
    let mut last_backup: HashMap<String, String> = HashMap::new();
    let backups =
        watch::applied(longhorn.kube(), &BACKUP.collection(namespace)).map(Change::Backup);
    let volumes =
        watch::applied(longhorn.kube(), &VOLUME.collection(namespace)).map(Change::Volume);
    let mut changes = std::pin::pin!(futures::stream::select(backups, volumes));
    while let Some(change) = changes.next().await {
        match change {
            Change::Backup(backup) => {
                let name = backup
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let Some(volume) = pending.get(name) else {
                    continue;
                };
                match backup.pointer("/status/state").and_then(Value::as_str) {
                    Some("Completed") => {
                        completed.insert(name.to_string());
                    }
                    Some("Error") => {
                        let message = backup
                            .pointer("/status/error")
                            .and_then(Value::as_str)
                            .unwrap_or("no error message");
                        return Err(Error::VolumeBackupFailed {
                            name: name.to_string(),
                            volume: volume.clone(),
                            message: message.to_string(),
                        });
                    }
                    _ => {}
                }
            }
            Change::Volume(volume) => {
                let name = volume
                    .pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if volumes_of.contains(name) {
                    let last = volume
                        .pointer("/status/lastBackup")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    last_backup.insert(name.to_string(), last.to_string());
                }
            }
        }
        let done = pending
            .iter()
            .filter(|(backup, volume)| {
                completed.contains(*backup) && last_backup.get(*volume) == Some(*backup)
            })
            .count();
        counter.set(done as u64);
        if done == pending.len() {
            return Ok(());
        }
    }
    Err(crate::kube::Error::WatchEnded("backups".into()).into())
}

enum Change {
    Backup(Value),
    Volume(Value),
}

#[cfg(test)]
mod tests;
