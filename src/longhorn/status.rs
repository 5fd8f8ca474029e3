//! What `status` summarises about a namespace's system backups: the backup target, the
//! newest Ready backup, when each system-backup RecurringJob runs next, what is running
//! now and since when, and the backups that failed. Everything is read at once.

use serde_json::Value;

use super::error::Result;
use super::events;
use super::install::Longhorn;
use super::recurring::schedule::JobFacts;
use super::recurring::{self, TASK};
use super::resources::{LonghornKind, RECURRING_JOB, SYSTEM_BACKUP, SYSTEM_RESTORE};
use super::restore;
use super::systembackup::{self as sb, STATE_ERROR, STATE_READY};
use super::target_state::BackupTarget;
use crate::kube::object;

/// The summary, as read.
#[derive(Debug)]
pub struct Status {
    /// BackupTarget `default`, if it exists.
    pub target: Option<BackupTarget>,
    /// The newest Ready SystemBackup.
    pub last_ready: Option<Value>,
    pub schedules: Vec<Schedule>,
    pub running: Vec<Running>,
    /// Names of the SystemBackups in Error, oldest first.
    pub failed: Vec<String>,
}

/// A RecurringJob of task system-backup and its next run.
#[derive(Debug)]
pub struct Schedule {
    pub name: String,
    pub cron: String,
    /// `YYYY-MM-DD HH:MM ZONE`; `None` when the cron never fires.
    pub next_run: Option<String>,
}

/// A SystemBackup or SystemRestore not in a final state.
#[derive(Debug)]
pub struct Running {
    pub kind: LonghornKind,
    pub name: String,
    /// `status.state`; empty before Longhorn has handled it.
    pub state: String,
    /// When it entered that state, as far as Longhorn records it (RFC 3339): a
    /// SystemBackup's `lastSyncedAt` (set on every status change), a SystemRestore's
    /// newest event (Longhorn records one per state), else its creation.
    pub since: Option<String>,
}

fn created(object: &Value) -> Option<String> {
    object::creation_timestamp(object).map(str::to_string)
}

pub async fn read(longhorn: &Longhorn) -> Result<Status> {
    let namespace = longhorn.namespace();
    let kube = longhorn.kube();
    let (target, backups, restores, jobs, facts) = tokio::try_join!(
        longhorn.backup_target(),
        async {
            Ok(kube
                .list_items(&SYSTEM_BACKUP.collection(namespace), Default::default())
                .await?)
        },
        async {
            Ok(kube
                .list_items(&SYSTEM_RESTORE.collection(namespace), Default::default())
                .await?)
        },
        async {
            Ok(kube
                .list_items(&RECURRING_JOB.collection(namespace), Default::default())
                .await?)
        },
        JobFacts::load(longhorn),
    )?;

    let last_ready = backups
        .iter()
        .filter(|b| sb::state(b) == STATE_READY)
        .max_by_key(|b| (sb::taken_at(b), created(b)))
        .cloned();
    let mut failed: Vec<&Value> = backups
        .iter()
        .filter(|b| sb::state(b) == STATE_ERROR)
        .collect();
    failed.sort_by_key(|b| {
        object::creation_timestamp(b)
            .unwrap_or_default()
            .to_string()
    });
    let schedules = jobs
        .iter()
        .filter(|j| recurring::task(j) == TASK)
        .map(|job| Schedule {
            name: object::name(job).to_string(),
            cron: recurring::cron(job).to_string(),
            next_run: facts.next_runs(job, 1).into_iter().next(),
        })
        .collect();

    let mut running: Vec<Running> = backups
        .iter()
        .filter(|b| !matches!(sb::state(b), STATE_READY | STATE_ERROR))
        .map(|b| Running {
            kind: SYSTEM_BACKUP,
            name: sb::name(b).to_string(),
            state: sb::state(b).to_string(),
            since: sb::last_synced_at(b)
                .filter(|t| !t.starts_with("0001-01-01"))
                .map(str::to_string)
                .or_else(|| created(b)),
        })
        .collect();
    for restore in restores.iter().filter(|r| {
        !matches!(
            restore::state(r),
            restore::STATE_COMPLETED | restore::STATE_ERROR
        )
    }) {
        let name = object::name(restore);
        let seen = events::for_object(
            kube,
            &SYSTEM_RESTORE.object(namespace, name),
            object::uid(restore),
        )
        .await?;
        running.push(Running {
            kind: SYSTEM_RESTORE,
            name: name.to_string(),
            state: restore::state(restore).to_string(),
            since: seen
                .last()
                .map(events::last_seen)
                .filter(|t| !t.is_empty())
                .map(str::to_string)
                .or_else(|| created(restore)),
        });
    }
    // Backups, then restores, each oldest first.
    running.sort_by(|a, b| {
        (a.kind != SYSTEM_BACKUP, &a.since, &a.name).cmp(&(
            b.kind != SYSTEM_BACKUP,
            &b.since,
            &b.name,
        ))
    });

    Ok(Status {
        target: target.cloned(),
        last_ready,
        schedules,
        running,
        failed: failed.iter().map(|b| sb::name(b).to_string()).collect(),
    })
}
