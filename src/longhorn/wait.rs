//! Waiting for SystemBackups: Ready (fail fast on Error) or gone. Shared by `wait`,
//! `create --wait`, `delete` and `schedule run --wait`.

use std::time::Duration;

use serde_json::Value;

use super::resources::SYSTEM_BACKUP;
use super::systembackup::{self as sb, STATE_ERROR, STATE_READY};
use crate::error::{Error, Result};
use crate::progress::StateProgress;
use crate::session::Session;
use crate::watch::{self, Step};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Ready,
    /// Ready, for a SystemBackup Longhorn has yet to create from the backup target.
    ReadyOnceSynced,
    Deleted,
}

/// Waits for one SystemBackup. `uid` pins the object a deletion wait is about, so a
/// new object with the same name does not count as "still there".
pub async fn wait_for(
    session: &Session,
    namespace: &str,
    name: &str,
    target: Target,
    timeout: Option<Duration>,
    uid: Option<&str>,
) -> Result<Option<Value>> {
    let live = session.terminal.stderr;
    let mut progress = StateProgress::new(format!("{}/{name}", SYSTEM_BACKUP.kind_group()), live);
    let mut seen = false;
    let outcome = watch::until(
        session,
        &SYSTEM_BACKUP.api_resource(),
        namespace,
        name,
        timeout,
        &format!("{}/{name}", SYSTEM_BACKUP.plural),
        |object| {
            let object = object.filter(|o| uid.is_none() || sb::uid(o) == uid);
            match (target, object) {
                (Target::Deleted, None) => Step::Done(None),
                (Target::Deleted, Some(object)) => {
                    progress.observe(sb::state(object));
                    Step::Continue
                }
                (_, None) if seen => Step::Fail(Error::invalid(format!(
                    "{}/{name} was deleted while waiting for it",
                    SYSTEM_BACKUP.kind_group()
                ))),
                (Target::ReadyOnceSynced, None) => Step::Continue,
                (Target::Ready, None) => Step::Fail(not_found(name)),
                (Target::Ready | Target::ReadyOnceSynced, Some(object)) => {
                    seen = true;
                    let state = sb::state(object);
                    progress.observe(state);
                    match state {
                        STATE_READY => Step::Done(Some(object.clone())),
                        STATE_ERROR => Step::Fail(failed(name, object)),
                        _ => Step::Continue,
                    }
                }
            }
        },
    )
    .await;
    progress.finish();
    outcome
}

fn not_found(name: &str) -> Error {
    Error::invalid(format!(
        "systembackups.longhorn.io \"{name}\" not found (list them with: kubectl longhorn systembackup list)"
    ))
}

/// Longhorn's Error state is terminal (no retry): report the condition's message.
fn failed(name: &str, object: &Value) -> Error {
    let message = sb::error_message(object).unwrap_or("no error message was recorded");
    Error::invalid(format!(
        "{}/{name} failed: {message} (Longhorn does not retry a failed system backup; create a new one)",
        SYSTEM_BACKUP.kind_group()
    ))
}
