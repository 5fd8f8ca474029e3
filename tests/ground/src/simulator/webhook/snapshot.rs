//! Snapshot and Backup mutators, CREATE: what the system-backup controller relies on
//! (simulator-spec.md §3.4, §10).

use serde_json::json;

use super::{Admission, AdmitError, Operation, PatchOps, finalizer_op, replace};
use crate::longhorn::{API_VERSION, Kind};
use crate::simulator::Sim;
use crate::simulator::object::text;

/// Finalizer; on Create also `spec.dataEngine` from the volume, label
/// `longhornvolume: <volume>` and an ownerRef to the Volume.
pub(super) async fn mutate_snapshot(
    sim: &Sim,
    admission: &Admission,
) -> Result<PatchOps, AdmitError> {
    let mut ops: PatchOps = finalizer_op(&admission.object).into_iter().collect();
    if admission.operation != Operation::Create {
        return Ok(ops);
    }
    let volume_name = admission.str_at("/spec/volume");
    let volume = sim
        .get(Kind::Volume, volume_name)
        .await
        .map_err(AdmitError::internal)?;
    let Some(volume) = volume else {
        return Err(AdmitError::bad_request(format!(
            "volume {volume_name} is invalid: {}",
            Kind::Volume.not_found(volume_name)
        )));
    };
    let data_engine = match text(&volume, "/spec/dataEngine") {
        "" => "v1",
        engine => engine,
    };
    ops.push(replace("/spec/dataEngine", json!(data_engine)));
    let mut labels = admission
        .object
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or(json!({}));
    if !labels.is_object() {
        labels = json!({});
    }
    labels["longhornvolume"] = json!(volume_name);
    ops.push(replace("/metadata/labels", labels));
    ops.push(replace(
        "/metadata/ownerReferences",
        json!([{"apiVersion": API_VERSION, "kind": "Volume", "name": volume_name, "uid": volume.metadata.uid}]),
    ));
    Ok(ops)
}

/// Finalizer; on Create also `spec.labels` with the volume's access mode and
/// `spec.backupMode: incremental` when empty.
pub(super) async fn mutate_backup(
    sim: &Sim,
    admission: &Admission,
) -> Result<PatchOps, AdmitError> {
    let mut ops: PatchOps = finalizer_op(&admission.object).into_iter().collect();
    if admission.operation != Operation::Create {
        return Ok(ops);
    }
    let volume_name = admission
        .object
        .pointer("/metadata/labels/backup-volume")
        .and_then(|v| v.as_str())
        .unwrap_or_default();
    let access_mode = match sim
        .get(Kind::Volume, volume_name)
        .await
        .map_err(AdmitError::internal)?
    {
        Some(volume) if !text(&volume, "/spec/accessMode").is_empty() => {
            text(&volume, "/spec/accessMode").to_string()
        }
        _ => "rwo".to_string(),
    };
    let mut labels = admission
        .object
        .pointer("/spec/labels")
        .cloned()
        .unwrap_or(json!({}));
    if !labels.is_object() {
        labels = json!({});
    }
    labels["longhorn.io/volume-access-mode"] = json!(access_mode);
    ops.push(replace("/spec/labels", labels));
    if admission.str_at("/spec/backupMode").is_empty() {
        ops.push(replace("/spec/backupMode", json!("incremental")));
    }
    Ok(ops)
}
