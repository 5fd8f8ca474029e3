//! `create [NAME]`: a SystemBackup, after checking that Longhorn will accept and can
//! complete it. On a terminal without NAME it asks for the name and the volume backup
//! policy, as the Longhorn UI's dialog does. With `--local` the bundle is built on this
//! machine instead ([`local`]).

mod local;

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::error::{Result, Usage};
use super::shared::created::{WaitFlags, print_created, wait_ready};
use super::{Context, DryRun};
use crate::go::HumanDuration;
use crate::kube::api::post_params;
use crate::kube::names::check_object_name;
use crate::longhorn::Reads;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup::{self as sb, VolumeBackupPolicy};
use crate::longhorn::wait::Target;
use crate::output::{Format, OutputFormat, Terminal, prompt};

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

pub async fn run(context: &Context, args: &CreateArgs) -> Result<()> {
    let (format, file) = split_output(&args.output)?;
    if file.is_some() && !args.local.local {
        return Err(Usage::FileWithoutLocal.into());
    }
    let (name, policy) = name_and_policy(context.terminal, args)?;
    check_object_name("SystemBackup", &name)?;
    if args.local.local {
        let request = local::Local {
            name,
            policy,
            format,
            file,
        };
        return local::run(context, args, request).await;
    }
    // --dry-run=server asks the API server and Longhorn's webhooks exactly what they
    // say; otherwise, everything Longhorn would reject or fail on is checked first.
    let check = args.dry_run != Some(DryRun::Server);
    let reads = Reads {
        version: check,
        backup_target: check,
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    if check {
        sb::check_create(&longhorn, &name).await?;
    }
    let object = sb::new_object(&name, longhorn.namespace(), policy);
    if args.dry_run == Some(DryRun::Client) {
        return print_created(&object, format, " (dry run)");
    }
    let params = post_params(args.dry_run == Some(DryRun::Server));
    let created = longhorn
        .kube()
        .create(
            &SYSTEM_BACKUP.collection(longhorn.namespace()),
            &object,
            &params,
        )
        .await?;
    if params.dry_run {
        return print_created(&created, format, " (server dry run)");
    }
    print_created(&created, format, "")?;
    if args.wait {
        let uid = sb::uid(&created);
        let waited = WaitFlags {
            timeout: args.timeout,
            format,
            live: context.terminal.stderr,
        };
        wait_ready(&longhorn, &name, Target::Ready, uid, &waited).await?;
    }
    Ok(())
}

/// `-o` may carry one format and (with --local) one file.
pub fn split_output(targets: &[OutputTarget]) -> Result<(Format, Option<PathBuf>)> {
    let mut format = None;
    let mut file = None;
    for target in targets {
        match target {
            OutputTarget::Format(f) if format.is_none() => format = Some(*f),
            OutputTarget::File(path) if file.is_none() => file = Some(path.clone()),
            _ => return Err(Usage::TooManyOutputs.into()),
        }
    }
    Ok((Format::from(format), file))
}

/// NAME and policy from the flags, or asked for on a terminal.
fn name_and_policy(terminal: Terminal, args: &CreateArgs) -> Result<(String, VolumeBackupPolicy)> {
    if let Some(name) = &args.name {
        return Ok((
            name.clone(),
            args.volume_backup_policy
                .unwrap_or(VolumeBackupPolicy::IfNotPresent),
        ));
    }
    if !terminal.can_prompt() {
        return Err(Usage::NameRequired.into());
    }
    let name = prompt::text("Name", |input| {
        check_object_name("SystemBackup", input).map_err(|e| e.to_string())
    })?;
    let policy = match args.volume_backup_policy {
        Some(policy) => policy,
        None => {
            let choices = [
                "if-not-present: back up volumes whose last backup is missing or outdated",
                "always: back up every volume",
                "disabled: no volume backups",
            ];
            match prompt::choose("Volume backup policy", &choices, 0)? {
                1 => VolumeBackupPolicy::Always,
                2 => VolumeBackupPolicy::Disabled,
                _ => VolumeBackupPolicy::IfNotPresent,
            }
        }
    };
    Ok((name, policy))
}
