//! SystemRestore validator, CREATE only (simulator-spec.md §8.1).

use kube::api::ListParams;

use super::{Admission, AdmitError, Operation};
use crate::longhorn::{Kind, LABEL_SYSTEM_RESTORE};
use crate::simulator::Sim;
use crate::simulator::object::text;

pub(super) async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    if admission.operation != Operation::Create {
        return Ok(());
    }
    let volumes = sim
        .api(Kind::Volume)
        .list(&ListParams::default())
        .await
        .map_err(|e| {
            AdmitError::invalid(format!(
                "failed to list volumes: {}",
                super::super::kube_message(&e)
            ))
        })?;
    if volumes
        .items
        .iter()
        .any(|v| text(v, "/status/state") != "detached")
    {
        return Err(AdmitError::invalid(
            "all volumes need to be detached before creating SystemRestore",
        ));
    }
    let in_progress = sim
        .api(Kind::SystemRestore)
        .list(&ListParams::default().labels(&format!("{LABEL_SYSTEM_RESTORE}=InProgress")))
        .await
        .map_err(|e| AdmitError::invalid(super::super::kube_message(&e)))?;
    if !in_progress.items.is_empty() {
        return Err(AdmitError::invalid(format!(
            "found {} SystemRestore in progress",
            in_progress.items.len()
        )));
    }
    let backup = admission.str_at("/spec/systemBackup");
    match sim
        .get(Kind::SystemBackup, backup)
        .await
        .map_err(AdmitError::invalid)?
    {
        Some(_) => Ok(()),
        None => Err(AdmitError::invalid(Kind::SystemBackup.not_found(backup))),
    }
}
