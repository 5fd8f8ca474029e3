//! What engines and replicas would do for the snapshots and volume backups that
//! longhorn-manager's SystemBackup controller asks for: Snapshots become ready to use,
//! Backups complete (or fail, per knob) and become their volume's `status.lastBackup`, and
//! deleted ones lose their finalizer as Longhorn's snapshot and backup controllers would
//! let them go.

use std::sync::Arc;

use kube::api::{DynamicObject, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};

use super::object::{flag, is_deleting, label, name, now_seconds, text};
use super::{Retry, Sim, is_conflict, is_not_found, kube_message, run_controller};
use crate::knobs::Knobs;
use crate::longhorn::{DEFAULT_BACKUP_TARGET, FINALIZER, Kind};

/// Removes the `longhorn.io` finalizer so a deleted object goes away.
pub(crate) async fn release(sim: &Sim, kind: Kind, object: &DynamicObject) -> Result<(), Retry> {
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

/// Lets deleted objects go, for the kinds whose Longhorn controller would remove the
/// finalizer its mutator added once the object's engines, replicas or pods are gone
/// (volumes, backing images, engine images, nodes, instance managers, backup volumes).
pub(crate) async fn run_releases(sim: Arc<Sim>, kind: Kind) {
    run_controller(
        &sim.clone(),
        kind,
        sim,
        move |object: Arc<DynamicObject>, sim: Arc<Sim>| async move {
            if is_deleting(&object) {
                release(&sim, kind, &object).await?;
            }
            Ok(Action::await_change())
        },
    )
    .await;
}

/// What the volume controller does for a volume it has not seen: reports it detached on
/// this node (no engine runs here). A volume that has a state keeps it.
pub(crate) async fn run_volumes(sim: Arc<Sim>) {
    run_controller(
        &sim.clone(),
        Kind::Volume,
        sim,
        |volume: Arc<DynamicObject>, sim: Arc<Sim>| async move {
            if is_deleting(&volume) {
                release(&sim, Kind::Volume, &volume).await?;
                return Ok(Action::await_change());
            }
            if volume.data.pointer("/status/state").is_some() {
                return Ok(Action::await_change());
            }
            let status = json!({"status": {
                "ownerID": sim.node_id,
                "state": "detached",
                "robustness": "unknown",
                "currentImage": text(&volume, "/spec/image"),
            }});
            sim.api(Kind::Volume)
                .patch_status(
                    &name(&volume),
                    &PatchParams::default(),
                    &Patch::Merge(status),
                )
                .await?;
            Ok(Action::await_change())
        },
    )
    .await;
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
            tokio::time::sleep(sim.knobs.get().step_delay).await;
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
            let failure = sim.knobs.pass_step(Knobs::volume_backup_fault).await;
            complete_backup(&sim, &backup, failure).await?;
            Ok(Action::await_change())
        },
    )
    .await;
}

/// Finishes a Backup as the engine would, and records it on its volume (what Longhorn
/// copies from the BackupVolume).
async fn complete_backup(
    sim: &Sim,
    backup: &DynamicObject,
    failure: Option<String>,
) -> Result<(), Retry> {
    let backup_name = name(backup);
    let snapshot_name = text(backup, "/spec/snapshotName").to_string();
    let volume = match label(backup, "backup-volume") {
        Some(volume) => volume.to_string(),
        None => match sim.get(Kind::Snapshot, &snapshot_name).await? {
            Some(snapshot) => text(&snapshot, "/spec/volume").to_string(),
            None => String::new(),
        },
    };
    let target = label(backup, "backup-target").unwrap_or(DEFAULT_BACKUP_TARGET);
    let snapshot = sim.get(Kind::Snapshot, &snapshot_name).await?;
    let snapshot_created = snapshot
        .as_ref()
        .map(|s| text(s, "/status/creationTime").to_string())
        .filter(|t| !t.is_empty())
        .unwrap_or_else(now_seconds);
    let labels: Vec<(String, String)> = backup
        .data
        .pointer("/spec/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let written = match failure {
        Some(error) => Err(error),
        None => {
            super::write_volume_backup(
                &sim.client,
                &sim.namespace,
                &sim.layout.mounts(),
                &sim.engine_binary,
                &super::VolumeBackup {
                    backup: &backup_name,
                    snapshot: &snapshot_name,
                    snapshot_created_at: &snapshot_created,
                    volume: &volume,
                    target,
                    labels,
                },
            )
            .await
        }
    };
    let status = match written {
        Err(error) => {
            json!({"status": {"ownerID": sim.node_id, "state": "Error", "error": error, "snapshotName": snapshot_name}})
        }
        Ok(url) => {
            let now = now_seconds();
            json!({"status": {
                "ownerID": sim.node_id,
                "state": "Completed",
                "progress": 100,
                "snapshotName": snapshot_name,
                "snapshotCreatedAt": snapshot_created,
                "backupCreatedAt": now,
                "lastSyncedAt": now,
                "url": url,
                "volumeName": volume,
                "backupTargetName": target,
                "labels": backup.data.pointer("/spec/labels").cloned().unwrap_or(Value::Null),
                "size": "0",
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
        // The Backup controller then has the target pull the backup volume.
        let _ = super::request_sync(&sim.client, &sim.namespace, target).await;
    }
    Ok(())
}
