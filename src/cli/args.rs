//! The command line: the global flags (kubectl's cluster flags) and the verbs, whose
//! own flags each command module defines. What the flags resolve to lives in the
//! commands; the help text is the reference in `docs/reference.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands::cleanup::CleanupCommand;
use crate::commands::create::CreateArgs;
use crate::commands::delete::DeleteArgs;
use crate::commands::describe::DescribeArgs;
use crate::commands::diff::DiffArgs;
use crate::commands::download::DownloadArgs;
use crate::commands::inspect::InspectArgs;
use crate::commands::list::ListArgs;
use crate::commands::prune::PruneArgs;
use crate::commands::restore::RestoreArgs;
use crate::commands::retry::RetryArgs;
use crate::commands::schedule::ScheduleCommand;
use crate::commands::status::StatusArgs;
use crate::commands::sync::SyncArgs;
use crate::commands::wait::WaitArgs;
use crate::go::{HumanDuration, parse_request_timeout};

const LONG_ABOUT: &str = "\
Manage Longhorn system backups from the terminal: create, list, describe, wait for,
delete and restore SystemBackup custom resources (systembackups.longhorn.io), schedule
them with RecurringJobs of task system-backup, and build the system-backup bundle on
this machine (--local) when longhorn-manager cannot.

Without -n, the namespace is the one Longhorn is installed in (longhorn-system, or
found from the cluster).";

/// The verb-level command line: `kubectl longhorn systembackup <verb> ...`.
#[derive(Debug, Parser)]
#[command(
    name = "kubectl longhorn systembackup",
    about = "Manage Longhorn system backups (SystemBackup, SystemRestore, RecurringJob)",
    long_about = LONG_ABOUT,
    version,
    propagate_version = true,
    disable_help_subcommand = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// kubectl passes none of its flags to plugins, so the plugin takes them itself. They
/// may appear anywhere after the plugin name.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Cluster options (as in kubectl)")]
pub struct GlobalArgs {
    /// Path to the kubeconfig file to use (default: $KUBECONFIG, then ~/.kube/config)
    #[arg(long, global = true, value_name = "PATH")]
    pub kubeconfig: Option<PathBuf>,
    /// The name of the kubeconfig context to use
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// The name of the kubeconfig cluster to use
    #[arg(long, global = true, value_name = "NAME")]
    pub cluster: Option<String>,
    /// The name of the kubeconfig user to use
    #[arg(long, global = true, value_name = "NAME")]
    pub user: Option<String>,
    /// Namespace Longhorn is installed in (default: longhorn-system, or found from the cluster)
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Time to wait for a single server request, e.g. 10s, 2m, or whole seconds; 0 means no limit
    #[arg(
        long,
        global = true,
        value_name = "DURATION",
        default_value = "0",
        value_parser = parse_request_timeout
    )]
    pub request_timeout: HumanDuration,
    /// Log verbosity as in kubectl: -v=2 requests, -v=4 debug, -v=6 HTTP traffic (never credentials)
    #[arg(
        short = 'v',
        long = "v",
        global = true,
        value_name = "LEVEL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "2",
        default_value = "0"
    )]
    pub verbosity: u8,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a SystemBackup, or build its bundle on this machine with --local
    Create(CreateArgs),
    /// List SystemBackups
    #[command(visible_alias = "get", alias = "ls")]
    List(ListArgs),
    /// Show a SystemBackup in detail: status, conditions, events, volume backups, remote location
    Describe(DescribeArgs),
    /// Wait until SystemBackups are Ready (or deleted)
    Wait(WaitArgs),
    /// Delete SystemBackups and, unless --keep-remote, their copy in the backup target
    #[command(alias = "rm")]
    Delete(DeleteArgs),
    /// Delete the SystemBackups beyond --keep-last / --older-than, after showing the plan
    Prune(PruneArgs),
    /// Remove what system backups leave behind: the system-backup-* Snapshots
    #[command(subcommand)]
    Cleanup(CleanupCommand),
    /// The namespace's system backups at a glance: target, last backup, schedules, runs, errors
    Status(StatusArgs),
    /// Retry a failed SystemBackup: a new one with its spec and labels (NAME-retry-N)
    Retry(RetryArgs),
    /// Recurring system backups: RecurringJobs (recurringjobs.longhorn.io) of task system-backup
    #[command(visible_alias = "recurringjob", subcommand)]
    Schedule(ScheduleCommand),
    /// Restore the Longhorn system from a SystemBackup (SystemRestore), or manage restores
    Restore(RestoreArgs),
    /// Show how two system backups differ, or one and the cluster now (--live)
    Diff(DiffArgs),
    /// Summarise and lint a system-backup bundle (.zip) made by Longhorn or by --local
    Inspect(InspectArgs),
    /// Download a system backup's bundle from the backup target and verify its checksum
    Download(DownloadArgs),
    /// Ask Longhorn to re-read the backup target now (BackupTarget spec.syncRequestedAt)
    Sync(SyncArgs),
    /// Print a shell completion script
    Completion(CompletionArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    pub shell: Shell,
}
