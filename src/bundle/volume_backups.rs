//! The volume backup policy of a local bundle: before listing, create the Snapshot and
//! Backup CRs longhorn-manager's `CreatingVolumeBackups` step creates, and wait until
//! every backup is Completed and recorded as its volume's `status.lastBackup`, so the
//! bundle restores each volume from a fresh backup (longhorn-system-backup.md §2.2,
//! simulator-spec.md §3.4). Longhorn itself (its snapshot and backup controllers) does
//! the work; this needs longhorn-manager running. `disabled` skips the step.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use jiff::Timestamp;
use kube::api::PostParams;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::api::{self, Selector};
use crate::cli::VolumeBackupPolicy;
use crate::error::{Error, Result};
use crate::longhorn::LonghornVersion;
use crate::longhorn::resources::{BACKUP, GROUP, SNAPSHOT, VERSION, VOLUME};
use crate::progress::Counters;
use crate::session::Session;
use crate::watch;

/// Prefix of the Snapshot and Backup names (`bsutil.GenerateName("system-backup")`).
pub const NAME_PREFIX: &str = "system-backup";
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

/// A name like Longhorn's: `system-backup-` and 16 hex digits of a random UUID.
pub fn generate_name() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("{NAME_PREFIX}-{}", &id[..16])
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
    let mut labels = serde_json::Map::new();
    if version.at_least(1, 8) {
        labels.insert("backup-target".into(), json!(volume.backup_target));
    }
    labels.insert("backup-volume".into(), json!(volume.name));
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": BACKUP.kind,
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
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
                .pointer("/metadata/labels/longhornvolume")
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

/// Go's `time.Parse(time.RFC3339, …)`, with Go's error text.
fn parse_rfc3339(text: &str) -> std::result::Result<Timestamp, String> {
    text.parse::<Timestamp>().map_err(|_| {
        format!("parsing time {text:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {text:?}")
    })
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
        Err(message) => return Err(Error::invalid(message)),
    };
    for snapshot in snapshots
        .values()
        .filter(|s| s.volume_label == volume.name && s.size != 0)
    {
        let time = parse_rfc3339(&snapshot.creation_time).map_err(Error::invalid)?;
        if time > last_time {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Runs the policy and waits for its backups; `timeout` bounds the whole step.
pub async fn run(
    session: &Session,
    namespace: &str,
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
    let volumes = list_facts(session, namespace, &VOLUME.api_resource(), |v| {
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
        session,
        named.iter().map(|(name, volume)| {
            (
                snapshot_object(name, namespace, &volume.name),
                format!("failed to create Volume {} snapshot {name}", volume.name),
            )
        }),
        &SNAPSHOT.api_resource(),
        namespace,
    )
    .await?;
    report.snapshots = created;
    let wanted: HashSet<String> = named.iter().map(|(n, _)| n.clone()).collect();
    within(
        deadline,
        "volume snapshots to be ready",
        wait_snapshots(session, namespace, &wanted, &snapshot_counter),
    )
    .await??;
    snapshot_counter.done("ready");

    // 2. The up-to-date check (if-not-present from v1.8), then Backups.
    let mut to_back_up = Vec::new();
    if policy == VolumeBackupPolicy::IfNotPresent && version.at_least(1, 8) {
        let backup_snapshots = list_facts(session, namespace, &BACKUP.api_resource(), |b| {
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
        let snapshots = list_facts(session, namespace, &SNAPSHOT.api_resource(), |s| {
            (
                s.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                SnapshotFacts::from_object(s),
            )
        })
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
        session,
        to_back_up.iter().map(|(name, volume)| {
            (
                backup_object(name, namespace, volume, version),
                format!("failed to create Volume {} backup {name}", volume.name),
            )
        }),
        &BACKUP.api_resource(),
        namespace,
    )
    .await?;
    let pending: HashMap<String, String> = to_back_up
        .iter()
        .map(|(name, volume)| (name.clone(), volume.name.clone()))
        .collect();
    within(
        deadline,
        "volume backups to complete",
        wait_backups(session, namespace, &pending, &backup_counter),
    )
    .await??;
    backup_counter.done("completed");
    report.backups = to_back_up.into_iter().map(|(n, v)| (v.name, n)).collect();
    Ok(report)
}

/// A few fields of every object of a kind, read page by page.
async fn list_facts<T>(
    session: &Session,
    namespace: &str,
    resource: &kube::core::ApiResource,
    extract: impl Fn(&Value) -> T,
) -> Result<Vec<T>> {
    let pages = api::list_raw_pages(session, resource, Some(namespace), Selector::default());
    let mut pages = std::pin::pin!(pages);
    let mut found = Vec::new();
    while let Some(page) = pages.try_next().await? {
        for raw in page.items() {
            let object: Value = serde_json::from_str(raw.get()).map_err(|e| {
                Error::invalid(format!(
                    "the server sent an unreadable {}: {e}",
                    resource.kind
                ))
            })?;
            found.push(extract(&object));
        }
    }
    Ok(found)
}

/// Creates the objects, a few at a time; the first failure stops the step.
async fn create_all(
    session: &Session,
    objects: impl Iterator<Item = (Value, String)>,
    resource: &kube::core::ApiResource,
    namespace: &str,
) -> Result<usize> {
    let params = PostParams {
        dry_run: false,
        field_manager: Some("kubectl-longhorn".into()),
    };
    let creates = futures::stream::iter(objects.map(|(object, context)| {
        let params = &params;
        async move {
            api::create(session, resource, Some(namespace), &object, params)
                .await
                .map_err(|e| Error::invalid(format!("{context}: {e}")))
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
    what: &str,
    future: impl Future<Output = T>,
) -> Result<T> {
    match deadline {
        None => Ok(future.await),
        Some(deadline) => tokio::time::timeout_at(deadline, future).await.map_err(|_| {
            Error::Timeout(format!(
                "{what} (raise --timeout, or check longhorn-manager: kubectl -n <namespace> get snapshots.longhorn.io,backups.longhorn.io)"
            ))
        }),
    }
}

async fn wait_snapshots(
    session: &Session,
    namespace: &str,
    wanted: &HashSet<String>,
    counter: &crate::progress::Counter,
) -> Result<()> {
    let mut ready = HashSet::new();
    let mut events = std::pin::pin!(watch::applied(session, &SNAPSHOT.api_resource(), namespace));
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
    Err(Error::invalid("the watch of snapshots ended unexpectedly"))
}

/// Until every backup is Completed and is its volume's `status.lastBackup`
/// (`WaitForVolumeBackupToComplete`); a backup in Error fails at once.
async fn wait_backups(
    session: &Session,
    namespace: &str,
    pending: &HashMap<String, String>,
    counter: &crate::progress::Counter,
) -> Result<()> {
    let volumes_of: HashSet<&str> = pending.values().map(String::as_str).collect();
    let mut completed: HashSet<String> = HashSet::new();
    let mut last_backup: HashMap<String, String> = HashMap::new();
    let backups = watch::applied(session, &BACKUP.api_resource(), namespace).map(Change::Backup);
    let volumes = watch::applied(session, &VOLUME.api_resource(), namespace).map(Change::Volume);
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
                        return Err(Error::invalid(format!(
                            "failed creating Volume backup {name} of volume {volume}: {message}"
                        )));
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
    Err(Error::invalid("the watch of backups ended unexpectedly"))
}

enum Change {
    Backup(Value),
    Volume(Value),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> LonghornVersion {
        text.parse().unwrap()
    }

    fn volume(name: &str, last_backup: &str) -> VolumeFacts {
        VolumeFacts {
            name: name.into(),
            standby: false,
            linked_clone: false,
            backup_target: "default".into(),
            last_backup: last_backup.into(),
        }
    }

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
    }

    #[test]
    fn which_volumes_longhorn_skips() {
        let dr = VolumeFacts {
            standby: true,
            ..volume("dr", "")
        };
        let clone = VolumeFacts {
            linked_clone: true,
            ..volume("c", "")
        };
        assert!(skipped_by_longhorn(&dr, v("v1.8.1")));
        assert!(!skipped_by_longhorn(&dr, v("v1.7.3")));
        assert!(!skipped_by_longhorn(&clone, v("v1.9.0")));
        assert!(skipped_by_longhorn(&clone, v("v1.10.0")));
        assert!(!skipped_by_longhorn(&volume("a", ""), v("v1.12.0")));
    }

    #[test]
    fn snapshots_per_policy_and_version() {
        let backed = volume("a", "backup-1");
        let fresh = volume("b", "");
        use VolumeBackupPolicy::*;
        assert!(
            takes_snapshot(&backed, IfNotPresent, v("v1.8.1")),
            "v1.8+: snapshot first, check after"
        );
        assert!(!takes_snapshot(&backed, IfNotPresent, v("v1.7.3")));
        assert!(takes_snapshot(&fresh, IfNotPresent, v("v1.7.3")));
        assert!(takes_snapshot(&backed, Always, v("v1.12.0")));
        assert!(!takes_snapshot(&fresh, Disabled, v("v1.12.0")));
    }

    #[test]
    fn objects_carry_longhorns_names_and_labels() {
        let snapshot = snapshot_object("system-backup-0123456789abcdef", "lh", "vol-1");
        assert_eq!(
            snapshot["spec"],
            json!({"volume": "vol-1", "createSnapshot": true})
        );
        assert!(
            snapshot["metadata"].get("labels").is_none(),
            "the webhook labels snapshots"
        );
        let backup = backup_object(
            "system-backup-0123456789abcdef",
            "lh",
            &volume("vol-1", ""),
            v("v1.9.0"),
        );
        assert_eq!(
            backup["metadata"]["labels"],
            json!({"backup-target": "default", "backup-volume": "vol-1"})
        );
        assert_eq!(
            backup["spec"],
            json!({"snapshotName": "system-backup-0123456789abcdef"})
        );
        assert_eq!(backup["metadata"]["name"], "system-backup-0123456789abcdef");
    }

    fn snap(volume: &str, time: &str, size: i64) -> SnapshotFacts {
        SnapshotFacts {
            volume_label: volume.into(),
            creation_time: time.into(),
            size,
        }
    }

    #[test]
    fn up_to_date_rule() {
        let backups: HashMap<String, String> =
            [("backup-1".to_string(), "snap-1".to_string())].into();
        let mut snapshots: HashMap<String, SnapshotFacts> = [
            ("snap-1".to_string(), snap("a", "2026-01-01T00:00:00Z", 100)),
            (
                "system-backup-new".to_string(),
                snap("a", "2026-01-02T00:00:00Z", 0),
            ),
            (
                "other-volume".to_string(),
                snap("b", "2026-01-03T00:00:00Z", 5),
            ),
        ]
        .into();
        let a = volume("a", "backup-1");
        assert!(
            is_up_to_date(&a, &backups, &snapshots, v("v1.12.0")).unwrap(),
            "the new snapshot has no data"
        );
        assert!(!is_up_to_date(&volume("a", ""), &backups, &snapshots, v("v1.12.0")).unwrap());
        assert!(!is_up_to_date(&volume("a", "gone"), &backups, &snapshots, v("v1.12.0")).unwrap());
        snapshots.insert(
            "system-backup-new".into(),
            snap("a", "2026-01-02T00:00:00Z", 4096),
        );
        assert!(
            !is_up_to_date(&a, &backups, &snapshots, v("v1.12.0")).unwrap(),
            "new data since"
        );
        // Unparsable last-backup time: error before v1.10, "not up to date" after.
        snapshots.insert("snap-1".into(), snap("a", "", 100));
        assert!(!is_up_to_date(&a, &backups, &snapshots, v("v1.10.0")).unwrap());
        let err = is_up_to_date(&a, &backups, &snapshots, v("v1.9.0"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("parsing time \"\""), "{err}");
        // A missing snapshot of the last backup: not up to date (#10215).
        snapshots.remove("snap-1");
        assert!(!is_up_to_date(&a, &backups, &snapshots, v("v1.8.1")).unwrap());
    }
}
