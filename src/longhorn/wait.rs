//! Waiting for SystemBackups: Ready (fail fast on Error) or gone. Shared by `wait`,
//! `create --wait`, `delete` and `schedule run --wait`.

use std::time::Duration;

use serde_json::Value;

use super::error::{Error, Result};
use super::resources::SYSTEM_BACKUP;
use super::systembackup::{self as sb, STATE_ERROR, STATE_READY};
use crate::kube::Kube;
use crate::kube::watch::{self, Step};
use crate::output::progress::StateProgress;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Ready,
    /// Ready, for a SystemBackup Longhorn has yet to create from the backup target.
    ReadyOnceSynced,
    Deleted,
}

/// One SystemBackup to wait for. `uid` pins the object a deletion wait is about, so a
/// new object with the same name does not count as "still there".
pub struct Wait<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub target: Target,
    pub uid: Option<&'a str>,
    /// `None` = no limit.
    pub timeout: Option<Duration>,
    /// Draw the progress live (a terminal is watching).
    pub live: bool,
}

/// Waits for one SystemBackup; returns it when Ready.
pub async fn wait_for(kube: &Kube, wait: Wait<'_>) -> Result<Option<Value>> {
    let Wait {
        namespace,
        name,
        target,
        uid,
        timeout,
        live,
    } = wait;
    let shown = SYSTEM_BACKUP.named(name);
    let mut progress = StateProgress::new(shown.clone(), live);
    let mut seen = false;
    let object = SYSTEM_BACKUP.object(namespace, name);
    let outcome = watch::until(kube, &object, timeout, |found| {
        let found = found.filter(|o| uid.is_none() || sb::uid(o) == uid);
        match (target, found) {
            (Target::Deleted, None) => Step::Done(None),
            (Target::Deleted, Some(found)) => {
                progress.observe(sb::state(found));
                Step::Continue
            }
            (_, None) if seen => Step::Fail(Error::DeletedWhileWaiting(shown.clone())),
            (Target::ReadyOnceSynced, None) => Step::Continue,
            (Target::Ready, None) => Step::Fail(Error::BackupNotFound(name.to_string())),
            (Target::Ready | Target::ReadyOnceSynced, Some(found)) => {
                seen = true;
                let state = sb::state(found);
                progress.observe(state);
                match state {
                    STATE_READY => Step::Done(Some(found.clone())),
                    // Longhorn's Error state is terminal (no retry): report the condition.
                    STATE_ERROR => Step::Fail(Error::BackupFailed {
                        object: shown.clone(),
                        name: name.to_string(),
                        message: sb::error_message(found)
                            .unwrap_or("no error message was recorded")
                            .to_string(),
                    }),
                    _ => Step::Continue,
                }
            }
        }
    })
    .await;
    progress.finish();
    outcome
}
