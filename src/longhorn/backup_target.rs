//! Asking Longhorn to re-read the backup target now: `spec.syncRequestedAt` of
//! BackupTarget `default` (longhorn-system-backup.md §5.3, §10.6). Longhorn syncs when
//! it is after `status.lastSyncedAt`, compared to the second.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use super::install::explain_missing;
use super::resources::{BACKUP_TARGET, DEFAULT_BACKUP_TARGET};
use crate::api;
use crate::error::{Error, Result};
use crate::object;
use crate::session::Session;
use crate::watch::{self, Step};

/// A sync request that was made: what to wait for.
pub struct SyncRequest {
    pub requested_at: String,
    previous: Option<String>,
    resource_version: String,
}

/// Sets `syncRequestedAt` to now, or one second after the last sync when that is not
/// earlier (a request in the same second would be ignored).
pub async fn request_sync(session: &Session, namespace: &str) -> Result<SyncRequest> {
    let resource = BACKUP_TARGET.api_resource();
    let before = api::get(session, &resource, Some(namespace), DEFAULT_BACKUP_TARGET)
        .await
        .map_err(explain_missing(BACKUP_TARGET))
        .map_err(|e| {
            if e.is_not_found() {
                Error::invalid(format!(
                    "BackupTarget \"default\" does not exist in {namespace}; is Longhorn running there?"
                ))
            } else {
                e
            }
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
    let patched = api::patch(
        session,
        &resource,
        Some(namespace),
        DEFAULT_BACKUP_TARGET,
        &patch,
        &PatchParams::default(),
    )
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
    session: &Session,
    namespace: &str,
    request: &SyncRequest,
    timeout: Option<Duration>,
) -> Result<String> {
    watch::until(
        session,
        &BACKUP_TARGET.api_resource(),
        namespace,
        DEFAULT_BACKUP_TARGET,
        timeout,
        &format!("{}/{DEFAULT_BACKUP_TARGET}", BACKUP_TARGET.plural),
        |target| match target {
            None => Step::Fail(Error::invalid(
                "BackupTarget \"default\" was deleted while waiting",
            )),
            Some(target) => match last_synced(target) {
                Some(at)
                    if Some(at) != request.previous.as_deref()
                        && at >= request.requested_at.as_str() =>
                {
                    Step::Done(at.to_string())
                }
                _ if object::str_at(target, "/metadata/resourceVersion")
                    != Some(request.resource_version.as_str())
                    && target.pointer("/status/available").and_then(Value::as_bool)
                        == Some(false) =>
                {
                    let reason = object::str_at(target, "/status/conditions/0/message")
                        .unwrap_or("no reason given");
                    Step::Fail(Error::invalid(format!(
                        "the backup target is not available: {reason}"
                    )))
                }
                _ => Step::Continue,
            },
        },
    )
    .await
}

fn last_synced(target: &Value) -> Option<&str> {
    object::str_at(target, "/status/lastSyncedAt")
}
