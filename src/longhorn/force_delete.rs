//! Ending a deletion Longhorn does not finish. Longhorn removes the finalizer `longhorn.io`
//! of a SystemBackup or SystemRestore only after its own cleanup
//! (`longhorn/longhorn-manager:controller/system_backup_controller.go@v1.12.0`,
//! `controller/system_restore_controller.go@v1.12.0`); when that never happens (no
//! manager responsible for it, a store that never answers), removing the finalizer by
//! hand lets Kubernetes delete the object, and what the cleanup would have removed stays.

use kube::api::Patch;
use serde_json::{Value, json};

use super::error::{Error, Result};
use super::install::Longhorn;
use super::resources::{FINALIZER, LonghornKind, SYSTEM_BACKUP, labels};
use super::systembackup as sb;
use crate::kube::api::patch_params;
use crate::kube::object;

/// The Job Longhorn runs a SystemRestore's rollout in, named after the restore
/// (`longhorn/longhorn-manager:controller/system_rollout_controller.go@v1.12.0`).
const ROLLOUT_JOB_PREFIX: &str = "longhorn-system-rollout-";

/// The object `name` of `kind`, refused unless its deletion was asked for and Longhorn
/// still holds it.
pub async fn stuck_object(longhorn: &Longhorn, kind: LonghornKind, name: &str) -> Result<Value> {
    let found = longhorn
        .kube()
        .get(&kind.object(longhorn.namespace(), name))
        .await?;
    if object::deletion_timestamp(&found).is_none() {
        return Err(Error::NotBeingDeleted {
            object: kind.named(name),
            name: name.to_string(),
            verb: if kind == SYSTEM_BACKUP {
                "delete"
            } else {
                "restore delete"
            },
        });
    }
    Ok(found)
}

/// Removes Longhorn's finalizer from `object`, only if nobody changed it since it was
/// read (its resourceVersion); other finalizers stay.
pub async fn remove_finalizer(
    longhorn: &Longhorn,
    kind: LonghornKind,
    object: &Value,
) -> Result<()> {
    let kept: Vec<&Value> = object
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .map(|all| {
            all.iter()
                .filter(|f| f.as_str() != Some(FINALIZER))
                .collect()
        })
        .unwrap_or_default();
    let patch = json!({"metadata": {
        "finalizers": kept,
        "resourceVersion": object.pointer("/metadata/resourceVersion"),
    }});
    longhorn
        .kube()
        .patch(
            &kind.object(longhorn.namespace(), object::name(object)),
            &Patch::Merge(patch),
            &patch_params(false),
        )
        .await?;
    Ok(())
}

/// What Longhorn's cleanup would have removed and may still be there.
#[derive(Debug, PartialEq, Eq)]
pub enum Remains {
    /// The SystemBackup's copy in the backup target, at this location.
    StoreCopy(String),
    /// Nothing in the backup target: the copy was to be kept (`--keep-remote`), or
    /// Longhorn had not recorded a version, so it never reached the target.
    NoStoreCopy(&'static str),
    /// A SystemRestore's rollout Job (owned by the restore, so Kubernetes' garbage
    /// collector removes it), and whatever the rollout had already restored.
    RolloutJob(String),
}

/// What may remain once `object` of `kind` is gone without Longhorn's cleanup.
pub fn remains(kind: LonghornKind, object: &Value, target_url: Option<&str>) -> Remains {
    if kind != SYSTEM_BACKUP {
        return Remains::RolloutJob(format!("{ROLLOUT_JOB_PREFIX}{}", object::name(object)));
    }
    if object::label(object, labels::DELETE_CUSTOM_RESOURCE_ONLY) == Some("true") {
        return Remains::NoStoreCopy("it was deleted with --keep-remote");
    }
    match (sb::version(object).filter(|v| !v.is_empty()), target_url) {
        (None, _) => Remains::NoStoreCopy("it never reached the backup target"),
        (Some(version), Some(url)) if !url.is_empty() => {
            Remains::StoreCopy(sb::remote_location(url, version, object::name(object)))
        }
        (Some(_), _) => Remains::NoStoreCopy("the backup target is not set"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::longhorn::resources::SYSTEM_RESTORE;

    #[test]
    fn a_backup_in_the_store_leaves_its_copy() {
        let backup = json!({"metadata": {"name": "b"}, "status": {"version": "v1.12.0"}});
        assert_eq!(
            remains(SYSTEM_BACKUP, &backup, Some("s3://bucket@us-east-1/")),
            Remains::StoreCopy(
                "s3://bucket@us-east-1/backupstore/system-backups/v1.12.0/b/".into()
            )
        );
        let kept = json!({"metadata": {"name": "b", "labels": {"longhorn.io/delete-custom-resource-only": "true"}},
                          "status": {"version": "v1.12.0"}});
        assert!(matches!(
            remains(SYSTEM_BACKUP, &kept, Some("s3://bucket@us-east-1/")),
            Remains::NoStoreCopy(_)
        ));
        let unsent = json!({"metadata": {"name": "b"}, "status": {"state": "Generating"}});
        assert!(matches!(
            remains(SYSTEM_BACKUP, &unsent, Some("s3://bucket@us-east-1/")),
            Remains::NoStoreCopy(_)
        ));
    }

    #[test]
    fn a_restore_leaves_its_rollout_job() {
        let restore = json!({"metadata": {"name": "r"}});
        assert_eq!(
            remains(SYSTEM_RESTORE, &restore, None),
            Remains::RolloutJob("longhorn-system-rollout-r".into())
        );
    }
}
