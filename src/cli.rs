//! Flag definitions only. What the flags resolve to (a client, a namespace, an output
//! format) lives in `session.rs` and in each command; this file says what the user can
//! type, and its help text is the reference in `docs/reference.md`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use clap_complete::engine::ArgValueCompleter;

use crate::completion::{recurring_job_names, system_backup_names, system_restore_names};

use crate::duration::HumanDuration;

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
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// kubectl passes none of its flags to plugins, so the plugin takes them itself
/// (kubectl-plugin-conventions.md §2.1). They may appear anywhere after the plugin name.
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
        value_parser = crate::duration::parse_request_timeout
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
    /// Recurring system backups: RecurringJobs (recurringjobs.longhorn.io) of task system-backup
    #[command(visible_alias = "recurringjob", subcommand)]
    Schedule(ScheduleCommand),
    /// Restore the Longhorn system from a SystemBackup (SystemRestore), or manage restores
    Restore(RestoreArgs),
    /// Summarise and lint a system-backup bundle (.zip) made by Longhorn or by --local
    Inspect(InspectArgs),
    /// Download a system backup's bundle from the backup target and verify its checksum
    Download(DownloadArgs),
    /// Ask Longhorn to re-read the backup target now (BackupTarget spec.syncRequestedAt)
    Sync(SyncArgs),
    /// Print a shell completion script
    Completion(CompletionArgs),
}

/// `-o` values, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Wide,
    Json,
    Yaml,
    Name,
}

/// Output flags shared by every listing command.
#[derive(Debug, Clone, Default, Args)]
pub struct ListOutputArgs {
    /// Output format: wide, json, yaml or name (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// Don't print the table header
    #[arg(long)]
    pub no_headers: bool,
    /// Label selector to filter on, e.g. -l key=value
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VolumeBackupPolicy {
    /// Back up a volume only when its last backup is missing or outdated
    IfNotPresent,
    /// Always back up every volume
    Always,
    /// Take no volume backups
    Disabled,
}

impl VolumeBackupPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IfNotPresent => "if-not-present",
            Self::Always => "always",
            Self::Disabled => "disabled",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print what would be sent; send nothing
    Client,
    /// Have the server (and Longhorn's webhooks) check the request; persist nothing
    Server,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Create a system backup and wait until it is Ready
  kubectl longhorn systembackup create nightly --wait

  # Build the bundle on this machine without longhorn-manager's help
  kubectl longhorn systembackup create offline --local --volume-backup-policy disabled

  # Build it locally and upload it to the backup target so Longhorn lists it
  kubectl longhorn systembackup create offline --local --upload --wait")]
pub struct CreateArgs {
    /// Name of the SystemBackup (asked for on a terminal when omitted)
    pub name: Option<String>,
    /// Which volumes to back up first: if-not-present, always or disabled (Longhorn's default:
    /// if-not-present). With --local the backups are made by longhorn-manager, so use
    /// disabled when longhorn-manager is down (the bundle then keeps each volume's last backup)
    #[arg(long, value_name = "POLICY")]
    pub volume_backup_policy: Option<VolumeBackupPolicy>,
    /// Wait until the backup is Ready (fails at once on Error); with --local --upload,
    /// until Longhorn has synced the upload and lists it Ready
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits (with --local: how long the volume backups may take), e.g. 30m,
    /// 2h; 0 waits forever
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: HumanDuration,
    /// client: only print the object; server: have Longhorn's webhooks check it, persist nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format (wide, json, yaml, name) for the created object or the --local summary;
    /// with --local, a value that is not a format is the file the bundle goes to (default
    /// ./NAME.zip). Give -o twice for both, e.g. -o json -o /backups/x.zip
    #[arg(short = 'o', long = "output", value_name = "FORMAT|FILE", action = clap::ArgAction::Append)]
    pub output: Vec<OutputTarget>,
    #[command(flatten)]
    pub local: LocalArgs,
}

/// A value of `-o/--output` where a file is also possible: kubectl's format names win,
/// anything else is a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputTarget {
    Format(OutputFormat),
    File(PathBuf),
}

impl std::str::FromStr for OutputTarget {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(match OutputFormat::from_str(value, true) {
            Ok(format) => Self::Format(format),
            Err(_) => Self::File(PathBuf::from(value)),
        })
    }
}

#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Local bundle (--local)")]
pub struct LocalArgs {
    /// Collect the resources and write the bundle (a zip Longhorn's restore reads) on this
    /// machine instead of asking longhorn-manager. With --volume-backup-policy disabled it
    /// works while longhorn-manager is down. The file is written whole or not at all (mode 0600)
    #[arg(long)]
    pub local: bool,
    /// Overwrite the output file if it exists
    #[arg(long, requires = "local")]
    pub force: bool,
    /// Upload the bundle to the backup target (zip, then system-backup.cfg) and ask
    /// Longhorn to sync, so that it lists and restores it. The bundle stays in the file too
    #[arg(long, requires = "local")]
    pub upload: bool,
    /// Backup target URL to upload to (default: BackupTarget "default" of the cluster)
    #[arg(long, value_name = "URL", requires = "upload")]
    pub target: Option<String>,
    /// Where the nfs:// or cifs:// backup target is mounted on this machine
    #[arg(long, value_name = "DIR", requires = "upload")]
    pub mount_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Names to show (default: all)
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub names: Vec<String>,
    #[command(flatten)]
    pub output: ListOutputArgs,
}

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct JobNameArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RestoreNameArgs {
    #[arg(add = ArgValueCompleter::new(system_restore_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct RestoreListArgs {
    /// Names to show (default: all)
    #[arg(add = ArgValueCompleter::new(system_restore_names))]
    pub names: Vec<String>,
    #[command(flatten)]
    pub output: ListOutputArgs,
}

#[derive(Debug, Args)]
pub struct RestoreDeleteArgs {
    #[arg(required = true, add = ArgValueCompleter::new(system_restore_names))]
    pub names: Vec<String>,
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WaitFor {
    /// status.state is Ready
    Ready,
    /// the object is gone
    Delete,
}

#[derive(Debug, Args)]
pub struct WaitArgs {
    /// SystemBackups to wait for
    #[arg(required = true, add = ArgValueCompleter::new(system_backup_names))]
    pub names: Vec<String>,
    /// Condition to wait for
    #[arg(long = "for", value_name = "CONDITION", default_value = "ready")]
    pub condition: WaitFor,
    /// How long to wait in total, e.g. 30m, 2h; 0 waits forever (kubectl's 30s is too short for backups)
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: HumanDuration,
}

#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// SystemBackups to delete
    #[arg(
        required_unless_present_any = ["all", "selector"],
        conflicts_with_all = ["all", "selector"],
        add = ArgValueCompleter::new(system_backup_names)
    )]
    pub names: Vec<String>,
    /// Delete every SystemBackup in the namespace
    #[arg(long)]
    pub all: bool,
    /// Delete the SystemBackups matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR", conflicts_with = "all")]
    pub selector: Option<String>,
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Delete only the custom resource; keep the copy in the backup target
    #[arg(long)]
    pub keep_remote: bool,
    /// Wait until Longhorn has removed the finalizer (--wait=false returns at once)
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: HumanDuration,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create a RecurringJob of task system-backup
    Create(ScheduleCreateArgs),
    /// List RecurringJobs of task system-backup
    #[command(visible_alias = "get", alias = "ls")]
    List(ScheduleListArgs),
    /// Show a RecurringJob: spec, next runs, the backups it owns, what retention deletes next
    Describe(JobNameArgs),
    /// Change the cron, retain or policy of a RecurringJob
    #[command(alias = "update")]
    Set(ScheduleSetArgs),
    /// Delete RecurringJobs (the backups they made stay)
    #[command(alias = "rm")]
    Delete(ScheduleDeleteArgs),
    /// Start a run now from the job's CronJob, as `kubectl create job --from=cronjob/NAME` does
    Run(ScheduleRunArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleCreateArgs {
    /// Name of the RecurringJob: 2 to 40 lower case letters, digits, '-' or '.'
    pub name: String,
    /// When to run: a 5-field cron expression or a descriptor such as @daily or "@every 12h"
    #[arg(long, value_name = "EXPR")]
    pub cron: String,
    /// How many system backups made by this job to keep: 1 to the cluster's recurring-job-max-retention (default 100)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub retain: i64,
    /// Volume backup policy of the backups it makes
    #[arg(long, value_name = "POLICY", default_value = "if-not-present")]
    pub volume_backup_policy: VolumeBackupPolicy,
    /// client: only print the object; server: have Longhorn's webhooks check it, persist nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format for the created object: wide, json, yaml or name
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub names: Vec<String>,
    /// Show RecurringJobs of every task, not only system-backup
    #[arg(long)]
    pub all_tasks: bool,
    #[command(flatten)]
    pub output: ListOutputArgs,
}

#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
    /// New schedule: a 5-field cron expression or a descriptor such as @daily or "@every 12h"
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// New number of system backups made by this job to keep
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub retain: Option<i64>,
    /// New volume backup policy of the backups it makes
    #[arg(long, value_name = "POLICY")]
    pub volume_backup_policy: Option<VolumeBackupPolicy>,
    /// client: only print the changed object; server: have Longhorn's webhooks check it, change nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format for the changed object: wide, json, yaml or name
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct ScheduleDeleteArgs {
    #[arg(required = true, add = ArgValueCompleter::new(recurring_job_names))]
    pub names: Vec<String>,
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleRunArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
    /// Wait until the SystemBackup the run makes is Ready (fails at once on Error)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, e.g. 30m, 2h; 0 waits forever
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: HumanDuration,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct RestoreArgs {
    /// SystemBackup to restore from
    #[arg(required = true, add = ArgValueCompleter::new(system_backup_names))]
    pub backup: Option<String>,
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Follow the restore until Completed (fails at once on Error)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, e.g. 30m, 2h; 0 waits forever
    #[arg(long, value_name = "DURATION", default_value = "2h")]
    pub timeout: HumanDuration,
    /// Restore a backup taken by a different Longhorn minor version (Longhorn does not support it)
    #[arg(long)]
    pub allow_version_skew: bool,
    /// Where an nfs:// or cifs:// backup target is mounted here, to read the backup's cfg and
    /// bundle (the engine image check, and what will be restored)
    #[arg(long, value_name = "DIR")]
    pub mount_path: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Option<RestoreCommand>,
}

#[derive(Debug, Subcommand)]
pub enum RestoreCommand {
    /// List SystemRestores
    #[command(visible_alias = "get", alias = "ls")]
    List(RestoreListArgs),
    /// Show a SystemRestore in detail
    Describe(RestoreNameArgs),
    /// Delete SystemRestores
    #[command(alias = "rm")]
    Delete(RestoreDeleteArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Reads the zip without extracting it and reports what Longhorn's restore would make of it:
the backup name (the top-level folder), the Longhorn version, each file's kind and count,
the volumes and their last backup, the size and SHA-256. Exits 1 when restore would fail or
restore nothing (e.g. the top-level folder is not the backup's name), 0 otherwise.

Examples:
  kubectl longhorn systembackup inspect nightly.zip
  kubectl longhorn systembackup inspect system-backup.zip -o json")]
pub struct InspectArgs {
    /// The bundle to read (made by --local, or downloaded from the backup target)
    pub file: PathBuf,
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// SystemBackup to download
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub name: String,
    /// Where to write the zip (default: ./NAME.zip)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    #[arg(long, value_name = "DIR")]
    pub mount_path: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Wait until the backup target's status.lastSyncedAt moves
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: HumanDuration,
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
