//! `retry NAME`: a new SystemBackup with the spec and labels of NAME, which failed.
//! Longhorn never retries one (`Error` is final), so the retry gets a new name:
//! `NAME-retry-N` with the first free N, or `--name`. `--replace` deletes the failed one
//! once the retry is Ready, and keeps it when the retry fails.

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use kube::api::DeleteParams;

use super::Context;
use super::error::{Result, Usage};
use super::shared::created::{WaitFlags, print_created, wait_ready};
use super::shared::names::system_backup_names;
use crate::go::HumanDuration;
use crate::kube::api::post_params;
use crate::kube::names::check_object_name;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::retry::{failed_backup, retry_name, retry_object, taken_names};
use crate::longhorn::systembackup::{self as sb, check_create};
use crate::longhorn::wait::{Target, Wait, wait_for};
use crate::longhorn::{Longhorn, Reads};
use crate::output::{self, Format, OutputFormat, prompt};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Retry a failed system backup as nightly-retry-1 and wait until it is Ready
  kubectl longhorn systembackup retry nightly --wait

  # Retry it under a name of your own, and delete the failed one once the retry is Ready
  kubectl longhorn systembackup retry nightly --name nightly-2 --replace -y")]
pub struct RetryArgs {
    /// The SystemBackup in state Error to retry
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub name: String,
    /// Name of the new SystemBackup (default: NAME-retry-N, the first N that is free)
    #[arg(long = "name", value_name = "NEW")]
    pub new_name: Option<String>,
    /// Wait until the new backup is Ready (fails at once on Error)
    #[arg(long)]
    pub wait: bool,
    /// Delete the failed SystemBackup once the new one is Ready (implies --wait); it stays
    /// when the new one fails
    #[arg(long)]
    pub replace: bool,
    /// Don't ask before --replace deletes the failed backup
    #[arg(short = 'y', long, requires = "replace")]
    pub yes: bool,
    /// How long --wait waits, e.g. 30m, 2h; 0 waits forever
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: HumanDuration,
    /// Output format for the created object (json, yaml, name, wide)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

pub async fn run(context: &Context, args: &RetryArgs) -> Result<()> {
    check_object_name("SystemBackup", &args.name)?;
    if let Some(new_name) = &args.new_name {
        check_object_name("SystemBackup", new_name)?;
        if new_name == &args.name {
            return Err(Usage::RetrySameName(new_name.clone()).into());
        }
    }
    if args.replace && !args.yes && !context.terminal.can_prompt() {
        return Err(Usage::ReplaceNeedsYes(args.name.clone()).into());
    }
    let format = Format::from(args.output);
    let reads = Reads {
        version: true,
        backup_target: true,
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    let failed = failed_backup(&longhorn, &args.name).await?;
    let new_name = match &args.new_name {
        Some(name) => name.clone(),
        None => {
            let name = retry_name(&args.name, &taken_names(&longhorn).await?);
            check_object_name("SystemBackup", &name)?;
            name
        }
    };
    check_create(&longhorn, &new_name).await?;
    if args.replace {
        let question = format!(
            "{} (Error) will be deleted, with its copy in the backup target, once {} is Ready. Do you want to continue?",
            SYSTEM_BACKUP.named(&args.name),
            SYSTEM_BACKUP.named(&new_name),
        );
        if !prompt::confirm(context.terminal, &question, args.yes)? {
            return Err(Usage::Cancelled("created").into());
        }
    }
    let object = retry_object(&failed, &new_name, longhorn.namespace());
    let created = longhorn
        .kube()
        .create(
            &SYSTEM_BACKUP.collection(longhorn.namespace()),
            &object,
            &post_params(false),
        )
        .await?;
    print_created(&created, format, "")?;
    if args.wait || args.replace {
        let flags = WaitFlags {
            timeout: args.timeout,
            format,
            live: context.terminal.stderr,
        };
        wait_ready(
            &longhorn,
            &new_name,
            Target::Ready,
            sb::uid(&created),
            &flags,
        )
        .await?;
    }
    if args.replace {
        delete_failed(&longhorn, &failed, args.timeout).await?;
    }
    Ok(())
}

/// Deletes the failed backup (Longhorn removes its copy in the backup target too) and
/// waits until Longhorn has let it go.
async fn delete_failed(
    longhorn: &Longhorn,
    failed: &serde_json::Value,
    timeout: HumanDuration,
) -> Result<()> {
    let name = sb::name(failed);
    let target = SYSTEM_BACKUP.object(longhorn.namespace(), name);
    match longhorn
        .kube()
        .delete(&target, &DeleteParams::default())
        .await
    {
        Ok(_) => {}
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    let wait = Wait {
        namespace: longhorn.namespace(),
        name,
        target: Target::Deleted,
        uid: sb::uid(failed),
        timeout: timeout.as_limit(),
        live: false,
    };
    wait_for(longhorn.kube(), wait).await?;
    output::stdout(&format!(
        "{} \"{name}\" deleted\n",
        SYSTEM_BACKUP.kind_group()
    ))?;
    Ok(())
}
