//! BackupTarget `default`, where every system backup goes: reading it, checking that
//! Longhorn can use it, and asking Longhorn to re-read it now (`spec.syncRequestedAt`,
//! which Longhorn honours when it is after `status.lastSyncedAt`, compared to the
//! second; docs/longhorn-behaviour.md, "Backup target").

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kube::api::Patch;
use serde_json::{Value, json};

use super::error::{Error, Result};
pub use super::install::BackupTarget;
use super::install::{Longhorn, explain_missing};
use super::resources::{BACKUP_TARGET, DEFAULT_BACKUP_TARGET, SETTING_BACKUP_TARGET};
use crate::kube::api::patch_params;
use crate::kube::object;
use crate::kube::watch::{self, Step};

/// Whether a backup target of `scheme` needs a credential secret (Longhorn refuses
/// these without one).
pub fn needs_credentials(scheme: &str) -> bool {
    matches!(scheme, "s3" | "cifs" | "azblob")
}

/// Refuses, with the fix, when Longhorn would reject or fail a system backup because
/// of its backup target: unset (a Setting up to v1.7, the CR from v1.8), without the
/// credential secret its scheme needs, or unavailable.
pub async fn check_usable(longhorn: &Longhorn) -> Result<&BackupTarget> {
    let version = longhorn.version().await?;
    let namespace = longhorn.namespace();
    if !version.at_least(1, 8) {
        let url = longhorn
            .setting(SETTING_BACKUP_TARGET)
            .await?
            .unwrap_or_default();
        if url.is_empty() {
            return Err(Error::BackupTargetSettingEmpty {
                namespace: namespace.to_string(),
                version,
            });
        }
    }
    let Some(target) = longhorn.backup_target().await? else {
        return Err(Error::NoBackupTarget(namespace.to_string()));
    };
    if target.url.is_empty() {
        return Err(Error::BackupTargetUnset {
            namespace: namespace.to_string(),
            version,
        });
    }
    if needs_credentials(target.scheme()) && target.credential_secret.is_none() {
        return Err(Error::NoCredentialSecret {
            url: target.url.clone(),
            scheme: target.scheme().to_string(),
            namespace: namespace.to_string(),
        });
    }
    if !target.available {
        let reason = target
            .unavailable_reason
            .as_deref()
            .unwrap_or("Longhorn has not reached it yet");
        return Err(Error::BackupTargetUnavailable {
            url: target.url.clone(),
            reason: reason.to_string(),
            namespace: namespace.to_string(),
        });
    }
    Ok(target)
}

/// A sync request that was made: what to wait for.
pub struct SyncRequest {
    pub requested_at: String,
    previous: Option<String>,
    resource_version: String,
}

/// Sets `syncRequestedAt` to now, or one second after the last sync when that is not
/// earlier (a request in the same second would be ignored).
pub async fn request_sync(longhorn: &Longhorn) -> Result<SyncRequest> {
    let namespace = longhorn.namespace();
    let target = BACKUP_TARGET.object(namespace, DEFAULT_BACKUP_TARGET);
    let before = longhorn
        .kube()
        .get(&target)
        .await
        .map_err(explain_missing(BACKUP_TARGET))
        .map_err(|e| match e {
            Error::Kube(e) if e.is_not_found() => {
                Error::NoBackupTargetToSync(namespace.to_string())
            }
            e => e,
        })?;
    let previous = last_synced(&before).map(str::to_string);
    let mut at = Timestamp::now();
    if let Some(last) = previous
        .as_deref()
        .and_then(|p| p.parse::<Timestamp>().ok())
        && last.as_second() >= at.as_second()
    {
        at = last + SignedDuration::from_secs(1);
    }
    let requested_at = at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let patch = Patch::Merge(json!({"spec": {"syncRequestedAt": requested_at}}));
    let patched = longhorn
        .kube()
        .patch(&target, &patch, &patch_params(false))
        .await?;
    Ok(SyncRequest {
        requested_at,
        previous,
        resource_version: object::str_at(&patched, "/metadata/resourceVersion")
            .unwrap_or_default()
            .to_string(),
    })
}

/// Waits until `status.lastSyncedAt` moves past the request; fails at once when
/// Longhorn, having seen the request, reports the target unavailable.
pub async fn wait_synced(
    longhorn: &Longhorn,
    request: &SyncRequest,
    timeout: Option<Duration>,
) -> Result<String> {
    let target = BACKUP_TARGET.object(longhorn.namespace(), DEFAULT_BACKUP_TARGET);
    watch::until(longhorn.kube(), &target, timeout, |found| match found {
        None => Step::Fail(Error::BackupTargetDeleted),
        Some(found) => match last_synced(found) {
            Some(at)
                if Some(at) != request.previous.as_deref()
                    && at >= request.requested_at.as_str() =>
            {
                Step::Done(at.to_string())
            }
            _ if object::str_at(found, "/metadata/resourceVersion")
                != Some(request.resource_version.as_str())
                && found.pointer("/status/available").and_then(Value::as_bool) == Some(false) =>
            {
                let reason = object::str_at(found, "/status/conditions/0/message")
                    .unwrap_or("no reason given");
                Step::Fail(Error::SyncFailed(reason.to_string()))
            }
            _ => Step::Continue,
        },
    })
    .await
}

fn last_synced(target: &Value) -> Option<&str> {
    object::str_at(target, "/status/lastSyncedAt")
}
