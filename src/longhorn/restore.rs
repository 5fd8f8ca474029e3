//! Restoring the Longhorn system from a SystemBackup (SystemRestore,
//! docs/longhorn-behaviour.md, "SystemRestore"). Longhorn's webhook checks little
//! (volumes detached, no restore labelled in progress, the backup exists) and its
//! restore can fail silently or never start. The checks here refuse those cases first;
//! then the restore is created and followed.

use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value, json};

use super::error::{Error, Result};
use super::install::{Longhorn, explain_missing};
use super::resources::{
    ENGINE_IMAGE, GROUP, SYSTEM_BACKUP, SYSTEM_RESTORE, VERSION, VOLUME, labels,
};
use super::systembackup::{self as sb, STATE_READY};
use super::version::LonghornVersion;
use crate::kube::api::post_params;
use crate::kube::watch::{self, Step};
use crate::kube::{Selector, object};
use crate::output::progress::StateProgress;

pub const STATE_COMPLETED: &str = "Completed";
pub const STATE_ERROR: &str = "Error";

pub fn state(restore: &Value) -> &str {
    object::str_at(restore, "/status/state").unwrap_or_default()
}

pub fn backup_name(restore: &Value) -> &str {
    object::str_at(restore, "/spec/systemBackup").unwrap_or_default()
}

/// The SystemBackup must exist and be Ready (Longhorn checks only that it exists).
pub async fn ready_backup(longhorn: &Longhorn, name: &str) -> Result<Value> {
    let namespace = longhorn.namespace();
    let backup = longhorn
        .kube()
        .get_opt(&SYSTEM_BACKUP.object(namespace, name))
        .await
        .map_err(explain_missing(SYSTEM_BACKUP))?
        .ok_or_else(|| Error::NoSuchBackup {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })?;
    let state = sb::state(&backup);
    if state != STATE_READY {
        let shown = if state.is_empty() {
            "not started"
        } else {
            state
        };
        let hint = match state {
            sb::STATE_ERROR => "it failed and cannot be restored; choose another backup",
            _ => "wait for it first: kubectl longhorn systembackup wait NAME",
        };
        return Err(Error::BackupNotReady {
            name: name.to_string(),
            state: shown.to_string(),
            hint,
        });
    }
    Ok(backup)
}

/// All volumes must be detached (Longhorn's webhook rejects otherwise).
pub async fn check_volumes_detached(longhorn: &Longhorn) -> Result<()> {
    // Streamed: a cluster may have thousands of volumes, and only attached ones matter.
    let attached: Vec<String> = longhorn
        .kube()
        .items(
            &VOLUME.collection(longhorn.namespace()),
            Selector::default(),
        )
        .try_filter_map(|v| async move {
            // Longhorn's webhook requires the state `detached`; a volume whose state is
            // not set yet (just created) blocks it too (`AreAllVolumesDetachedState`,
            // `longhorn/longhorn-manager:datastore/longhorn.go@v1.12.0`, same from v1.8.1).
            let state = object::str_at(&v, "/status/state").unwrap_or("");
            let shown = if state.is_empty() {
                "no state yet"
            } else {
                state
            };
            Ok((state != "detached").then(|| format!("{} ({shown})", object::name(&v))))
        })
        .try_collect()
        .await?;
    if attached.is_empty() {
        return Ok(());
    }
    Err(Error::VolumesAttached { attached })
}

/// No other restore may be running: Longhorn checks the in-progress label, which the
/// restore job sets only once it runs, so unfinished states count too.
pub async fn check_no_restore_running(longhorn: &Longhorn) -> Result<()> {
    let restores = longhorn
        .kube()
        .list_items(
            &SYSTEM_RESTORE.collection(longhorn.namespace()),
            Selector::default(),
        )
        .await
        .map_err(explain_missing(SYSTEM_RESTORE))?;
    let running: Vec<String> = restores
        .iter()
        .filter(|r| {
            object::label(r, labels::SYSTEM_RESTORE) == Some("InProgress")
                || !matches!(state(r), STATE_COMPLETED | STATE_ERROR)
        })
        .map(|r| {
            format!(
                "{} ({})",
                object::name(r),
                Some(state(r))
                    .filter(|s| !s.is_empty())
                    .unwrap_or("Pending")
            )
        })
        .collect();
    if running.is_empty() {
        return Ok(());
    }
    Err(Error::RestoreRunning(running))
}

/// Refuses a backup from a different major.minor version unless allowed.
pub fn check_version(
    backup: &Value,
    cluster: LonghornVersion,
    allow_skew: bool,
) -> Result<Option<String>> {
    let Some(text) = sb::version(backup) else {
        return Ok(Some(
            "the backup records no Longhorn version; the version check was skipped".into(),
        ));
    };
    let backup_version: LonghornVersion = text.parse().map_err(Error::UnreadableBackupVersion)?;
    if backup_version.same_minor(cluster) {
        return Ok(None);
    }
    if allow_skew {
        Ok(Some(Error::version_skew_note(backup_version, cluster)))
    } else {
        Err(Error::VersionSkew {
            backup: backup_version,
            cluster,
        })
    }
}

/// What a restore will do about the engine image the backup's cfg names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineImageStep {
    /// Deployed: nothing to wait for.
    Ready,
    /// No EngineImage has that image: Longhorn's rollout creates one and waits.
    Deploy,
    /// An EngineImage in this state: the rollout waits until it is deployed.
    WaitFor(String),
}

/// Longhorn's rollout creates the EngineImage of the cfg's image when none exists and
/// retries until it is deployed
/// (`longhorn/longhorn-manager:controller/system_rollout_controller.go@v1.12.0`,
/// `createSystemBackupEngineImage`; the same from v1.8.1): a missing or deploying image
/// is a wait. One the engine image controller marked incompatible is never deployed
/// (`controller/engine_image_controller.go@v1.12.0`), so that restore would never start:
/// refused.
pub async fn engine_image_step(longhorn: &Longhorn, image: &str) -> Result<EngineImageStep> {
    let images = longhorn
        .kube()
        .list_items(
            &ENGINE_IMAGE.collection(longhorn.namespace()),
            Selector::default(),
        )
        .await?;
    let found = images
        .iter()
        .find(|i| object::str_at(i, "/spec/image") == Some(image));
    let Some(found) = found else {
        return Ok(EngineImageStep::Deploy);
    };
    if found
        .pointer("/status/incompatible")
        .and_then(Value::as_bool)
        == Some(true)
    {
        return Err(Error::EngineImageIncompatible {
            image: image.to_string(),
            name: object::name(found).to_string(),
        });
    }
    Ok(match object::str_at(found, "/status/state") {
        Some("deployed") => EngineImageStep::Ready,
        state => EngineImageStep::WaitFor(state.unwrap_or("not deployed yet").to_string()),
    })
}

/// Creates SystemRestore `name` of `backup`.
pub async fn create(longhorn: &Longhorn, name: &str, backup: &str) -> Result<()> {
    let namespace = longhorn.namespace();
    let object = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SYSTEM_RESTORE.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"systemBackup": backup},
    });
    let collection = SYSTEM_RESTORE.collection(namespace);
    let started = std::time::Instant::now();
    loop {
        match longhorn
            .kube()
            .create(&collection, &object, &post_params(false))
            .await
        {
            Ok(_) => return Ok(()),
            // The plugin saw no restore in progress (`check_no_restore_running`), but
            // Longhorn's webhook reads longhorn-manager's informer cache, which holds the
            // in-progress label of a restore that has just ended for a moment longer
            // (`longhorn/longhorn-manager:webhook/resources/systemrestore/validator.go@v1.12.0`,
            // same in v1.8.1): asked again, it admits the restore.
            Err(e)
                if started.elapsed() < CACHE_LAG
                    && e.api_message()
                        .is_some_and(|m| m.contains("SystemRestore in progress")) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// How long a rejection for a restore in progress that the API server no longer shows
/// is asked again.
const CACHE_LAG: Duration = Duration::from_secs(10);

/// Follows SystemRestore `name`: Pending → Downloading → Unpacking → Restoring →
/// Completed, failing at once on Error. `live` draws the progress on a terminal.
pub async fn wait_completed(
    longhorn: &Longhorn,
    name: &str,
    timeout: Option<Duration>,
    live: bool,
) -> Result<()> {
    let shown = SYSTEM_RESTORE.named(name);
    let mut progress = StateProgress::new(shown.clone(), live);
    let object = SYSTEM_RESTORE.object(longhorn.namespace(), name);
    let outcome = watch::until(longhorn.kube(), &object, timeout, |found| match found {
        None => Step::Fail(Error::RestoreDeleted(shown.clone())),
        Some(found) => {
            progress.observe(state(found));
            match state(found) {
                STATE_COMPLETED => Step::Done(()),
                STATE_ERROR => Step::Fail(Error::RestoreFailed {
                    object: shown.clone(),
                    message: sb::error_message(found)
                        .unwrap_or("no error message was recorded")
                        .to_string(),
                }),
                _ => Step::Continue,
            }
        }
    })
    .await;
    progress.finish();
    outcome
}

/// A name for a new SystemRestore of `backup`: `<backup>-restore-<UTC time>`.
pub fn restore_name(backup: &str, now: jiff::Timestamp) -> String {
    let stamp = now.strftime("%Y%m%d-%H%M%S").to_string();
    let keep = 253 - "-restore-".len() - stamp.len();
    let backup: String = backup.chars().take(keep).collect();
    format!("{}-restore-{stamp}", backup.trim_end_matches(['-', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_skew_is_refused_unless_allowed() {
        let backup = json!({"status": {"version": "v1.9.2"}});
        let cluster: LonghornVersion = "v1.10.0".parse().unwrap();
        let error = check_version(&backup, cluster, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("v1.9.2")
                && error.contains("--allow-version-skew")
                && error.contains("cross-major/minor")
        );
        assert!(check_version(&backup, cluster, true).unwrap().is_some());
        assert!(
            check_version(&backup, "v1.9.0".parse().unwrap(), false)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn restore_names_are_valid_object_names() {
        let now: jiff::Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        assert_eq!(
            restore_name("nightly", now),
            "nightly-restore-20261127-100000"
        );
        let long = restore_name(&"a".repeat(300), now);
        assert!(long.len() <= 253);
        crate::kube::names::check_object_name("SystemRestore", &long).unwrap();
    }
}
