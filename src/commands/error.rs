//! Every failure a command reports: the layers' own errors, and the refusals of flag
//! combinations that only a command knows about. The binary prints it on one line
//! (`-v=6` adds its chain of causes) and exits 1.

use std::path::PathBuf;

/// The error of a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kube(#[from] crate::kube::Error),
    #[error(transparent)]
    Longhorn(#[from] crate::longhorn::Error),
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    /// Boxed: the bundle's errors are the largest, and every command's `Result` carries this.
    #[error(transparent)]
    Bundle(Box<crate::bundle::Error>),
    #[error(transparent)]
    Output(#[from] crate::output::Error),
    #[error(transparent)]
    Name(#[from] crate::kube::names::InvalidName),
    #[error(transparent)]
    Selector(#[from] crate::kube::selector::InvalidSelector),
    #[error(transparent)]
    Usage(#[from] Usage),
    /// Failures already reported, one line each; this is their summary.
    #[error(transparent)]
    Reported(#[from] Reported),
    #[error("interrupted")]
    Interrupted,
    #[error("internal error: {what} stopped ({source}); please report it")]
    Internal {
        what: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::bundle::Error> for Error {
    fn from(error: crate::bundle::Error) -> Self {
        Error::Bundle(Box::new(error))
    }
}

impl From<crate::output::FileError> for Error {
    fn from(error: crate::output::FileError) -> Self {
        Error::Output(error.into())
    }
}

impl From<crate::cron::CronError> for Error {
    fn from(error: crate::cron::CronError) -> Self {
        Error::Longhorn(error.into())
    }
}

/// Flags that do not go together, or input a command needs and did not get.
#[derive(Debug, thiserror::Error)]
pub enum Usage {
    #[error("-o/--output takes json, yaml, name or wide; a file only goes with --local")]
    FileWithoutLocal,
    #[error("give -o/--output at most twice: one format (json, yaml, name, wide) and one file")]
    TooManyOutputs,
    #[error("{flag} does not apply to --local: {why}")]
    NotWithLocal {
        flag: &'static str,
        why: &'static str,
    },
    #[error(
        "--wait needs the cluster's own backup target: Longhorn lists only backups in BackupTarget \"default\", and {0} is not it; drop --wait, or drop --target"
    )]
    WaitNeedsClusterTarget(String),
    #[error("a NAME is required when not on a terminal: kubectl longhorn systembackup create NAME")]
    NameRequired,
    #[error("nothing to change: give --cron, --retain or --volume-backup-policy")]
    NothingToChange,
    #[error("name the SystemBackup to restore from")]
    NoBackupNamed,
    #[error("--name {0} is the failed backup's own name; give the retry a new one")]
    RetrySameName(String),
    #[error(
        "--replace deletes systembackup {0:?} once the retry is Ready: pass -y to confirm when not on a terminal"
    )]
    ReplaceNeedsYes(String),
    #[error(
        "prune needs a rule: --keep-last N (keep the N newest), --older-than DURATION (keep the younger ones), or both"
    )]
    PruneNeedsRule,
    #[error(
        "diff compares two system backups or one with the cluster: give a second NAME, or --live"
    )]
    DiffNeedsSecond,
    #[error("cancelled; nothing was {0}")]
    Cancelled(&'static str),
    #[error("no {kind}s in namespace {namespace} match -l {selector}; nothing was deleted")]
    NoneMatch {
        kind: &'static str,
        namespace: String,
        selector: String,
    },
    #[error("there are no {kind}s in namespace {namespace}; nothing was deleted")]
    NoneThere {
        kind: &'static str,
        namespace: String,
    },
}

/// The summary after failures that were each reported on their own line.
#[derive(Debug, thiserror::Error)]
pub enum Reported {
    #[error("nothing to delete")]
    NothingToDelete,
    #[error("{0} not found")]
    NotFound(usize),
    #[error("{0} failed")]
    Failed(usize),
    #[error("{}: restore would fail or restore nothing (see the errors above)", .0.display())]
    NotRestorable(PathBuf),
}

impl Error {
    /// The kube-level error inside, if any.
    pub fn kube(&self) -> Option<&crate::kube::Error> {
        match self {
            Error::Kube(e) => Some(e),
            Error::Longhorn(e) => e.kube(),
            Error::Store(crate::store::Error::Kube(e)) => Some(e),
            Error::Store(crate::store::Error::Longhorn(e)) => e.kube(),
            Error::Bundle(bundle) => match &**bundle {
                crate::bundle::Error::Kube(e) => Some(e),
                crate::bundle::Error::Longhorn(e) => e.kube(),
                _ => None,
            },
            _ => None,
        }
    }

    /// Printed as kubectl prints it (`Error from server …`, `Unable to connect …`),
    /// without the `error: ` prefix.
    pub fn is_kubectl_form(&self) -> bool {
        self.kube().is_some_and(crate::kube::Error::is_kubectl_form)
    }

    /// Ctrl-C, or a prompt interrupted.
    pub fn is_interrupted(&self) -> bool {
        match self {
            Error::Interrupted | Error::Output(crate::output::Error::Interrupted) => true,
            Error::Bundle(bundle) => matches!(**bundle, crate::bundle::Error::Interrupted),
            _ => false,
        }
    }

    /// The reader of stdout went away: not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Output(crate::output::Error::BrokenPipe))
    }
}
