//! SystemBackup mutator and validator (simulator-spec.md §2).

use serde_json::json;

use super::{Admission, AdmitError, Operation, PatchOps, finalizer_op, go_url_scheme, replace};
use crate::longhorn::{API_VERSION, DEFAULT_BACKUP_TARGET, Kind};
use crate::simulator::Sim;
use crate::simulator::object::{flag, text};

/// Finalizer and policy default on Create and Update; the ownerRef to BackupTarget
/// `default` on Create, whose lookup error reaches the client raw, as a 500 (§2.1).
pub(super) async fn mutate(sim: &Sim, admission: &Admission) -> Result<PatchOps, AdmitError> {
    let mut ops: PatchOps = finalizer_op(&admission.object).into_iter().collect();
    if admission.str_at("/spec/volumeBackupPolicy").is_empty() {
        ops.push(replace("/spec/volumeBackupPolicy", json!("if-not-present")));
    }
    let has_owners = admission
        .object
        .pointer("/metadata/ownerReferences")
        .and_then(|o| o.as_array())
        .is_some_and(|o| !o.is_empty());
    if admission.operation == Operation::Create && !has_owners {
        let target = sim
            .get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET)
            .await
            .map_err(AdmitError::internal)?;
        let Some(target) = target else {
            return Err(AdmitError::internal(
                Kind::BackupTarget.not_found(DEFAULT_BACKUP_TARGET),
            ));
        };
        ops.push(replace(
            "/metadata/ownerReferences",
            json!([{
                "apiVersion": API_VERSION,
                "kind": "BackupTarget",
                "name": DEFAULT_BACKUP_TARGET,
                "uid": target.metadata.uid.clone().unwrap_or_default(),
            }]),
        ));
    }
    Ok(ops)
}

/// CREATE only: the default backup target must exist (400), be available (v1.10+,
/// 422; v1.12 also rejects an empty URL) and have credentials where the scheme needs
/// them (400) (§2.2).
pub(super) async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    if admission.operation != Operation::Create {
        return Ok(());
    }
    let target = sim
        .get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET)
        .await
        .map_err(AdmitError::bad_request)?;
    let Some(target) = target else {
        return Err(AdmitError::bad_request(
            Kind::BackupTarget.not_found(DEFAULT_BACKUP_TARGET),
        ));
    };
    let url = text(&target, "/spec/backupTargetURL");
    let available = flag(&target, "/status/available");
    let empty_url_rejected = sim.version.at_least(12) && url.is_empty();
    if sim.version.at_least(10) && (empty_url_rejected || !available) {
        return Err(AdmitError::invalid(format!(
            "backup target {DEFAULT_BACKUP_TARGET} is not available"
        )));
    }
    let scheme = go_url_scheme(url).map_err(AdmitError::bad_request)?;
    if requires_credential(&scheme) && text(&target, "/spec/credentialSecret").is_empty() {
        return Err(AdmitError::bad_request(format!(
            "cannot access {scheme} without credential secret"
        )));
    }
    Ok(())
}

/// `types.BackupStoreRequireCredential`.
pub(crate) fn requires_credential(scheme: &str) -> bool {
    matches!(scheme, "s3" | "cifs" | "azblob")
}
