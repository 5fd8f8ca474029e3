//! Names of SystemBackups, RecurringJobs and SystemRestores, completed live from the
//! cluster for the shells (clap_complete's dynamic engine calls these), using the
//! cluster flags typed on the same line.

use std::ffi::OsStr;
use std::sync::OnceLock;
use std::time::Duration;

use clap_complete::engine::CompletionCandidate;

use crate::kube::{ConnectOptions, Kube, Selector, object};
use crate::longhorn::recurring;
use crate::longhorn::resources::{LonghornKind, RECURRING_JOB, SYSTEM_BACKUP, SYSTEM_RESTORE};
use crate::longhorn::{Longhorn, Reads};

/// Completion must not hang the shell when the cluster is slow or gone.
const CLUSTER_TIMEOUT: Duration = Duration::from_secs(3);

/// The cluster flags typed on the line being completed.
#[derive(Debug, Clone, Default)]
pub struct LineFlags {
    pub connect: ConnectOptions,
    pub namespace: Option<String>,
}

static LINE_FLAGS: OnceLock<LineFlags> = OnceLock::new();

/// Sets the flags the completers use (once per run: the line is completed once).
pub fn use_line_flags(flags: LineFlags) {
    let _ = LINE_FLAGS.set(flags);
}

/// Names of `kind` in the cluster starting with `current` whose object passes `keep`;
/// empty on any failure.
fn live_names(
    kind: LonghornKind,
    current: &OsStr,
    keep: fn(&serde_json::Value) -> bool,
) -> Vec<CompletionCandidate> {
    let prefix = current.to_string_lossy().into_owned();
    let flags = LINE_FLAGS.get().cloned().unwrap_or_default();
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    else {
        return Vec::new();
    };
    let names = runtime.block_on(async {
        tokio::time::timeout(CLUSTER_TIMEOUT, async {
            let kube = Kube::connect(&flags.connect).await.ok()?;
            let longhorn = Longhorn::open(kube, flags.namespace, Reads::default())
                .await
                .ok()?;
            let items = longhorn
                .kube()
                .list_items(&kind.collection(longhorn.namespace()), Selector::default())
                .await
                .ok()?;
            Some(
                items
                    .iter()
                    .filter(|o| keep(o))
                    .map(|o| object::name(o).to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .await
        .ok()
        .flatten()
        .unwrap_or_default()
    });
    names
        .into_iter()
        .filter(|n| n.starts_with(&prefix))
        .map(CompletionCandidate::new)
        .collect()
}

pub fn system_backup_names(current: &OsStr) -> Vec<CompletionCandidate> {
    live_names(SYSTEM_BACKUP, current, |_| true)
}

/// Only jobs of task system-backup: `schedule` refuses the others.
pub fn recurring_job_names(current: &OsStr) -> Vec<CompletionCandidate> {
    live_names(RECURRING_JOB, current, |job| {
        recurring::task(job) == recurring::TASK
    })
}

pub fn system_restore_names(current: &OsStr) -> Vec<CompletionCandidate> {
    live_names(SYSTEM_RESTORE, current, |_| true)
}
