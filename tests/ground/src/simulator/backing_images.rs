//! What a backing-image manager does for a BackupBackingImage that the SystemBackup
//! controller creates: the backup completes (or fails, per knob) after the step delay.
//! Its data is not written anywhere: the ground has no backing-image data to copy.

use std::sync::Arc;

use kube::api::{DynamicObject, Patch, PatchParams};
use kube::runtime::controller::Action;
use serde_json::json;

use super::object::{is_deleting, name, now_seconds, text};
use super::volumes::release;
use super::{Retry, Sim, run_controller};
use crate::knobs::Knobs;
use crate::longhorn::Kind;

pub(crate) async fn run_backups(sim: Arc<Sim>) {
    run_controller(
        &sim.clone(),
        Kind::BackupBackingImage,
        sim,
        |backup: Arc<DynamicObject>, sim: Arc<Sim>| async move {
            if is_deleting(&backup) {
                release(&sim, Kind::BackupBackingImage, &backup).await?;
                return Ok(Action::await_change());
            }
            // Only the backups this cluster takes: those a sync pulls from the store are
            // already complete there (spec.userCreated false).
            let user_created = backup
                .data
                .pointer("/spec/userCreated")
                .and_then(serde_json::Value::as_bool)
                == Some(true);
            if !text(&backup, "/status/state").is_empty() || !user_created {
                return Ok(Action::await_change());
            }
            let failure = sim.knobs.pass_step(Knobs::backing_image_backup_fault).await;
            complete(&sim, &backup, failure).await?;
            Ok(Action::await_change())
        },
    )
    .await;
}

async fn complete(sim: &Sim, backup: &DynamicObject, failure: Option<String>) -> Result<(), Retry> {
    let image = text(backup, "/spec/backingImage").to_string();
    let checksum = match sim.get(Kind::BackingImage, &image).await? {
        Some(found) => text(&found, "/spec/checksum").to_string(),
        None => String::new(),
    };
    let status = match failure {
        Some(error) => json!({"status": {
            "ownerID": sim.node_id, "state": "Error", "error": error, "backingImage": image,
        }}),
        None => json!({"status": {
            "ownerID": sim.node_id,
            "state": "Completed",
            "progress": 100,
            "backingImage": image,
            "checksum": checksum,
            "backupCreatedAt": now_seconds(),
        }}),
    };
    sim.api(Kind::BackupBackingImage)
        .patch_status(
            &name(backup),
            &PatchParams::default(),
            &Patch::Merge(status),
        )
        .await?;
    Ok(())
}
