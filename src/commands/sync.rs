//! `sync`: ask Longhorn to re-read the backup target now by setting
//! `spec.syncRequestedAt` of BackupTarget `default` (longhorn-system-backup.md
//! §5.3; longhorn/longhorn#8538 asks for this), and with `--wait`, wait until its
//! `status.lastSyncedAt` moves.

use jiff::Timestamp;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::api;
use crate::cli::SyncArgs;
use crate::error::{Error, Result};
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::{BACKUP_TARGET, DEFAULT_BACKUP_TARGET};
use crate::output;
use crate::session::Session;
use crate::watch::{self, Step};

pub async fn run(session: &Session, args: &SyncArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let resource = BACKUP_TARGET.api_resource();
    let before = api::get(session, &resource, Some(namespace), DEFAULT_BACKUP_TARGET)
        .await
        .map_err(explain_missing(BACKUP_TARGET))
        .map_err(|e| {
            if e.is_not_found() {
                Error::invalid(format!("BackupTarget \"default\" does not exist in {namespace}; is Longhorn running there?"))
            } else {
                e
            }
        })?;
    let previous = last_synced(&before).map(str::to_string);
    // Longhorn syncs when syncRequestedAt is after lastSyncedAt (second precision).
    let now = Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let patch = Patch::Merge(json!({"spec": {"syncRequestedAt": now}}));
    let patched = api::patch(
        session,
        &resource,
        Some(namespace),
        DEFAULT_BACKUP_TARGET,
        &patch,
        &PatchParams::default(),
    )
    .await?;
    let requested_version = resource_version(&patched).to_string();
    output::stdout(&format!(
        "{}/{DEFAULT_BACKUP_TARGET} sync requested at {now}\n",
        BACKUP_TARGET.kind_group()
    ))?;
    if !args.wait {
        return Ok(());
    }
    let synced = watch::until(
        session,
        &resource,
        namespace,
        DEFAULT_BACKUP_TARGET,
        args.timeout.as_limit(),
        &format!("{}/{DEFAULT_BACKUP_TARGET}", BACKUP_TARGET.plural),
        |object| match object {
            None => Step::Fail(Error::invalid(
                "BackupTarget \"default\" was deleted while waiting",
            )),
            Some(object) => match last_synced(object) {
                Some(at) if Some(at) != previous.as_deref() && at >= now.as_str() => {
                    Step::Done(at.to_string())
                }
                // Unavailable after Longhorn looked at our request: it will not sync.
                _ if resource_version(object) != requested_version
                    && object.pointer("/status/available").and_then(Value::as_bool)
                        == Some(false) =>
                {
                    let reason = object
                        .pointer("/status/conditions/0/message")
                        .and_then(Value::as_str)
                        .unwrap_or("no reason given");
                    Step::Fail(Error::invalid(format!(
                        "the backup target is not available: {reason}"
                    )))
                }
                _ => Step::Continue,
            },
        },
    )
    .await?;
    output::stdout(&format!(
        "{}/{DEFAULT_BACKUP_TARGET} synced at {synced}\n",
        BACKUP_TARGET.kind_group()
    ))
}

fn resource_version(object: &Value) -> &str {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

fn last_synced(object: &Value) -> Option<&str> {
    object
        .pointer("/status/lastSyncedAt")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}
