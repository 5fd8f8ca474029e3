//! Volume and backing-image backups taken by a SystemBackup (simulator-spec.md §3.4,
//! §3.5), and a fake snapshot/backup engine that completes the Snapshot and Backup CRs
//! as Longhorn's own controllers would (§10).

use std::sync::Arc;
use std::time::Duration;

use kube::api::{DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::wait::await_condition;
use serde_json::{Value, json};
use tracing::warn;

use super::engine::now_seconds;
use super::object::{flag, integer, is_deleting, label, name, text};
use super::{Retry, Sim, is_conflict, is_not_found, kube_message, run_controller};
use crate::longhorn::{API_VERSION, DEFAULT_BACKUP_TARGET, FINALIZER, Kind};

const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(3600);
const VOLUME_BACKUP_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// `bsutil.GenerateName("system-backup")`: 16 hex characters of a UUID.
fn generate_name() -> String {
    format!(
        "system-backup-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..16]
    )
}

/// `BackupVolumes`: per policy, a snapshot (and a backup, unless `if-not-present`
/// finds the last one up to date) per volume, one volume after the other. Returns the
/// names of the Backup CRs created.
pub(crate) async fn back_up_volumes(sim: &Sim, policy: &str) -> Result<Vec<String>, String> {
    let if_not_present = match policy {
        "if-not-present" => true,
        "always" => false,
        _ => return Ok(Vec::new()),
    };
    let volumes = sim
        .api(Kind::Volume)
        .list(&ListParams::default())
        .await
        .map_err(|e| kube_message(&e))?;
    let mut backups = Vec::new();
    for volume in volumes.items {
        if flag(&volume, "/status/isStandby") {
            continue;
        }
        if sim.version.at_least(10) && text(&volume, "/spec/cloneMode") == "linked-clone" {
            continue;
        }
        let volume_name = name(&volume);
        let snapshot = generate_name();
        create_snapshot(sim, &volume_name, &snapshot).await?;
        if if_not_present && is_volume_backup_up_to_date(sim, &volume).await? {
            continue;
        }
        let backup: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": "Backup",
            "metadata": {
                "name": snapshot,
                "labels": {
                    "backup-target": text(&volume, "/spec/backupTargetName"),
                    "backup-volume": volume_name,
                },
            },
            "spec": {"snapshotName": snapshot},
        }))
        .expect("a valid Backup");
        sim.api(Kind::Backup)
            .create(&PostParams::default(), &backup)
            .await
            .map_err(|e| {
                format!(
                    "failed to create Volume {volume_name} backup {snapshot}: {}",
                    kube_message(&e)
                )
            })?;
        backups.push(snapshot);
    }
    Ok(backups)
}

async fn create_snapshot(sim: &Sim, volume: &str, snapshot: &str) -> Result<(), String> {
    let object: DynamicObject = serde_json::from_value(json!({
        "apiVersion": API_VERSION,
        "kind": "Snapshot",
        "metadata": {"name": snapshot},
        "spec": {"volume": volume, "createSnapshot": true},
    }))
    .expect("a valid Snapshot");
    sim.api(Kind::Snapshot)
        .create(&PostParams::default(), &object)
        .await
        .map_err(|e| {
            format!(
                "failed to create Volume {volume} snapshot {snapshot}: {}",
                kube_message(&e)
            )
        })?;
    let ready = |s: Option<&DynamicObject>| s.is_some_and(|s| flag(s, "/status/readyToUse"));
    match tokio::time::timeout(
        SNAPSHOT_TIMEOUT,
        await_condition(sim.api(Kind::Snapshot), snapshot, ready),
    )
    .await
    {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err("timeout taking volume snapshot for system backup".into()),
    }
}

/// Go's error for `time.Parse(time.RFC3339, value)`.
fn parse_time(value: &str) -> Result<jiff::Timestamp, String> {
    value.parse::<jiff::Timestamp>().map_err(|_| {
        let element = if value.is_empty() { "\"\"".to_string() } else { format!("{value:?}") };
        format!("parsing time {value:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {element} as \"2006\"")
    })
}

/// `isVolumeBackupUpToDate`: the last backup's snapshot exists and no snapshot with
/// data (`size != 0`, the one just taken included) is newer.
async fn is_volume_backup_up_to_date(sim: &Sim, volume: &DynamicObject) -> Result<bool, String> {
    let last_backup = text(volume, "/status/lastBackup");
    if last_backup.is_empty() {
        return Ok(false);
    }
    let Some(backup) = sim.get(Kind::Backup, last_backup).await? else {
        return Ok(false);
    };
    let Some(snapshot) = sim
        .get(Kind::Snapshot, text(&backup, "/status/snapshotName"))
        .await?
    else {
        return Ok(false);
    };
    let last_backup_time = match parse_time(text(&snapshot, "/status/creationTime")) {
        Ok(time) => time,
        Err(e) if !sim.version.at_least(10) => return Err(e),
        Err(_) => return Ok(false),
    };
    let selector = format!("longhornvolume={}", name(volume));
    let snapshots = sim
        .api(Kind::Snapshot)
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(|e| kube_message(&e))?;
    for other in snapshots
        .items
        .iter()
        .filter(|s| integer(s, "/status/size") != 0)
    {
        if parse_time(text(other, "/status/creationTime"))? > last_backup_time {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `WaitForVolumeBackupToComplete`: every Backup Completed and recorded as its volume's
/// last backup, or the first Backup error.
pub(crate) async fn wait_for_backups(sim: &Sim, backups: &[String]) -> Result<(), String> {
    let wait = async {
        for backup in backups {
            let done = |b: Option<&DynamicObject>| {
                b.is_some_and(|b| matches!(text(b, "/status/state"), "Completed" | "Error"))
            };
            let finished = await_condition(sim.api(Kind::Backup), backup, done)
                .await
                .map_err(|e| e.to_string())?;
            let Some(finished) = finished else { continue };
            if text(&finished, "/status/state") == "Error" {
                return Err(format!(
                    "failed creating Volume backup {backup}: {}",
                    text(&finished, "/status/error")
                ));
            }
            let snapshot = sim
                .get(Kind::Snapshot, text(&finished, "/status/snapshotName"))
                .await?;
            let volume = snapshot
                .map(|s| text(&s, "/spec/volume").to_string())
                .unwrap_or_default();
            let synced = |v: Option<&DynamicObject>| {
                v.is_some_and(|v| text(v, "/status/lastBackup") == backup)
            };
            await_condition(sim.api(Kind::Volume), &volume, synced)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    };
    tokio::time::timeout(VOLUME_BACKUP_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| Err("timed out waiting for Volume backups to complete".into()))
}

/// `BackupBackingImage` + its wait: a BackupBackingImage per v1 backing image on
/// target `default`; failures of the backups themselves are only logged.
pub(crate) async fn back_up_backing_images(sim: &Sim) -> Result<(), String> {
    let images = sim
        .api(Kind::BackingImage)
        .list(&ListParams::default())
        .await
        .map_err(|e| kube_message(&e))?;
    let api = sim.api(Kind::BackupBackingImage);
    let mut created = Vec::new();
    for image in images
        .items
        .iter()
        .filter(|i| text(i, "/spec/dataEngine") != "v2")
    {
        let image_name = name(image);
        let selector = format!("backing-image={image_name},backup-target={DEFAULT_BACKUP_TARGET}");
        let existing = api
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| kube_message(&e))?;
        match existing.items.len() {
            0 => {}
            1 => {
                created.push(name(&existing.items[0]));
                continue;
            }
            n => {
                return Err(format!(
                    "found {n} backup backing images for backing image {image_name}"
                ));
            }
        }
        let backup_name = format!(
            "{image_name}-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": "BackupBackingImage",
            "metadata": {
                "name": backup_name,
                "labels": {"backing-image": image_name, "backup-target": DEFAULT_BACKUP_TARGET},
                "finalizers": [FINALIZER],
            },
            "spec": {"userCreated": true, "backingImage": image_name, "backupTargetName": DEFAULT_BACKUP_TARGET},
        }))
        .expect("a valid BackupBackingImage");
        match api.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => {
                return Err(format!(
                    "failed to create backup backing image {image_name}: {}",
                    kube_message(&e)
                ));
            }
        }
        // No backing-image manager runs on the ground: the backup completes at once.
        let status =
            json!({"status": {"state": "Completed", "backingImage": image_name, "progress": 100}});
        let _ = api
            .patch_status(&backup_name, &PatchParams::default(), &Patch::Merge(status))
            .await;
        created.push(backup_name);
    }
    for backup in created {
        let done = |b: Option<&DynamicObject>| {
            b.is_some_and(|b| matches!(text(b, "/status/state"), "Completed" | "Error"))
        };
        if let Ok(Ok(Some(b))) = tokio::time::timeout(
            VOLUME_BACKUP_TIMEOUT,
            await_condition(api.clone(), &backup, done),
        )
        .await
            && text(&b, "/status/state") == "Error"
        {
            warn!(
                "backup backing image {backup} failed: {}",
                text(&b, "/status/error")
            );
        }
    }
    Ok(())
}

/// Removes the `longhorn.io` finalizer so a deleted object goes away.
async fn release(sim: &Sim, kind: Kind, object: &DynamicObject) -> Result<(), Retry> {
    if !object
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
    {
        return Ok(());
    }
    let mut latest = object.clone();
    latest
        .metadata
        .finalizers
        .get_or_insert_with(Vec::new)
        .retain(|f| f != FINALIZER);
    match sim
        .api(kind)
        .replace(&name(object), &PostParams::default(), &latest)
        .await
    {
        Err(e) if is_not_found(&e) => Ok(()),
        Err(e) if is_conflict(&e) => Err(Retry(kube_message(&e))),
        Err(e) => Err(e.into()),
        Ok(_) => Ok(()),
    }
}

/// A short pause so states are observable, well under the step delay.
async fn engine_pause(sim: &Sim) {
    tokio::time::sleep(sim.knobs.get().step_delay / 2).await;
}

pub(crate) async fn run_snapshots(sim: Arc<Sim>) {
    run_controller(
        &sim.clone(),
        Kind::Snapshot,
        sim,
        |snapshot: Arc<DynamicObject>, sim: Arc<Sim>| async move {
            if is_deleting(&snapshot) {
                release(&sim, Kind::Snapshot, &snapshot).await?;
                return Ok(Action::await_change());
            }
            if flag(&snapshot, "/status/readyToUse") {
                return Ok(Action::await_change());
            }
            engine_pause(&sim).await;
            let status = json!({"status": {
                "ownerID": sim.node_id,
                "readyToUse": true,
                "creationTime": now_seconds(),
                "size": sim.knobs.get().snapshot_size,
                "userCreated": true,
                "markRemoved": false,
                "parent": "",
                "children": {},
                "labels": {},
                "error": "",
            }});
            sim.api(Kind::Snapshot)
                .patch_status(
                    &name(&snapshot),
                    &PatchParams::default(),
                    &Patch::Merge(status),
                )
                .await?;
            Ok(Action::await_change())
        },
    )
    .await;
}

pub(crate) async fn run_backups(sim: Arc<Sim>) {
    run_controller(
        &sim.clone(),
        Kind::Backup,
        sim,
        |backup: Arc<DynamicObject>, sim: Arc<Sim>| async move {
            if is_deleting(&backup) {
                release(&sim, Kind::Backup, &backup).await?;
                return Ok(Action::await_change());
            }
            if !text(&backup, "/status/state").is_empty() {
                return Ok(Action::await_change());
            }
            engine_pause(&sim).await;
            complete_backup(&sim, &backup).await?;
            Ok(Action::await_change())
        },
    )
    .await;
}

/// Finishes a Backup as the engine would, and records it on its volume (what Longhorn
/// copies from the BackupVolume).
async fn complete_backup(sim: &Sim, backup: &DynamicObject) -> Result<(), Retry> {
    let backup_name = name(backup);
    let snapshot_name = text(backup, "/spec/snapshotName").to_string();
    let volume = match label(backup, "backup-volume") {
        Some(volume) => volume.to_string(),
        None => match sim.get(Kind::Snapshot, &snapshot_name).await? {
            Some(snapshot) => text(&snapshot, "/spec/volume").to_string(),
            None => String::new(),
        },
    };
    let status = match sim.knobs.get().volume_backup_error {
        Some(error) => {
            json!({"status": {"ownerID": sim.node_id, "state": "Error", "error": error, "snapshotName": snapshot_name}})
        }
        None => {
            let target = sim.get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET).await?;
            let url = target
                .as_ref()
                .map(|t| text(t, "/spec/backupTargetURL").to_string())
                .unwrap_or_default();
            let now = now_seconds();
            json!({"status": {
                "ownerID": sim.node_id,
                "state": "Completed",
                "progress": 100,
                "snapshotName": snapshot_name,
                "snapshotCreatedAt": now,
                "backupCreatedAt": now,
                "lastSyncedAt": now,
                "url": format!("{url}?backup={backup_name}&volume={volume}"),
                "volumeName": volume,
                "backupTargetName": label(backup, "backup-target").unwrap_or(DEFAULT_BACKUP_TARGET),
                "labels": backup.data.pointer("/spec/labels").cloned().unwrap_or(Value::Null),
                "size": "2097152",
                "compressionMethod": "lz4",
            }})
        }
    };
    let completed = status["status"]["state"] == "Completed";
    let backup_time = status["status"]["backupCreatedAt"].clone();
    sim.api(Kind::Backup)
        .patch_status(&backup_name, &PatchParams::default(), &Patch::Merge(status))
        .await?;
    if completed && !volume.is_empty() {
        let last = json!({"status": {"lastBackup": backup_name, "lastBackupAt": backup_time}});
        sim.api(Kind::Volume)
            .patch_status(&volume, &PatchParams::default(), &Patch::Merge(last))
            .await?;
    }
    Ok(())
}
