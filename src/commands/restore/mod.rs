//! `restore NAME`: a SystemRestore from a SystemBackup, after the checks Longhorn
//! leaves to the user ([`start`]); and `restore list|get|describe|delete` for
//! SystemRestores.

mod start;

use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCompleter;
use jiff::Timestamp;
use serde_json::Value;

use super::Context;
use super::error::Result;
use super::shared::deletion::{self, Request, Targets};
use super::shared::force::{self, ForceRequest};
use super::shared::listing::{self, Columns, ListOutputArgs, RowContext, or_none};
use super::shared::names::{system_backup_names, system_restore_names};
use crate::go::HumanDuration;
use crate::kube::names::{check_object_name, check_object_names};
use crate::kube::object;
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::SYSTEM_RESTORE;
use crate::longhorn::systembackup as sb;
use crate::longhorn::{Reads, events, restore};
use crate::output;
use crate::output::age::age;
use crate::output::describe::{Describe, map_lines};
use crate::output::style::state_cell;

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
    pub mount_path: Option<std::path::PathBuf>,
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
    /// For a SystemRestore whose deletion never ends: remove Longhorn's finalizer, so it goes
    /// without Longhorn's cleanup (asks first, loudly; -y skips)
    #[arg(long)]
    pub force: bool,
}

pub const COLUMNS: Columns<'static> = Columns {
    headers: &["NAME", "BACKUP", "STATE", "AGE"],
    wide_headers: &["OWNER", "MESSAGE"],
    row: &row,
};

fn row(object: &Value, context: &RowContext) -> Vec<String> {
    let mut row = vec![
        object::name(object).to_string(),
        or_none(Some(restore::backup_name(object))),
        state_cell(restore::state(object), context.color),
        age(object::creation_timestamp(object), context.now),
    ];
    if context.wide {
        row.extend([
            or_none(object::str_at(object, "/status/ownerID")),
            or_none(sb::error_message(object)),
        ]);
    }
    row
}

pub async fn run(context: &Context, args: &RestoreArgs) -> Result<()> {
    let Some(command) = &args.command else {
        return start::run(context, args).await;
    };
    match command {
        RestoreCommand::List(list) => {
            check_object_names("SystemRestore", &list.names)?;
            list.output.check()?;
        }
        RestoreCommand::Describe(describe) => check_object_name("SystemRestore", &describe.name)?,
        RestoreCommand::Delete(delete) => check_object_names("SystemRestore", &delete.names)?,
    }
    let longhorn = context.longhorn(Reads::default()).await?;
    match command {
        RestoreCommand::List(list) => {
            let color = context.terminal.color();
            listing::run(
                &longhorn,
                SYSTEM_RESTORE,
                &list.names,
                &list.output,
                &COLUMNS,
                color,
            )
            .await
        }
        RestoreCommand::Describe(describe) => describe_restore(&longhorn, &describe.name).await,
        RestoreCommand::Delete(delete) if delete.force => {
            let request = ForceRequest {
                kind: SYSTEM_RESTORE,
                names: &delete.names,
                yes: delete.yes,
            };
            force::run(&longhorn, context.terminal, request).await
        }
        RestoreCommand::Delete(delete) => {
            let request = Request {
                kind: SYSTEM_RESTORE,
                targets: Targets::Names(&delete.names),
                yes: delete.yes,
                wait: Some(None),
                before_delete: None,
                consequences: vec!["What a restore already restored stays.".into()],
            };
            deletion::run(&longhorn, context.terminal, request).await
        }
    }
}

async fn describe_restore(longhorn: &crate::longhorn::Longhorn, name: &str) -> Result<()> {
    let namespace = longhorn.namespace();
    let reference = SYSTEM_RESTORE.object(namespace, name);
    let object = longhorn
        .kube()
        .get(&reference)
        .await
        .map_err(explain_missing(SYSTEM_RESTORE))?;
    let events = events::for_object(longhorn.kube(), &reference, object::uid(&object)).await?;
    let now = Timestamp::now();
    let mut out = Describe::new();
    out.fields(
        0,
        &[
            ("Name", name.to_string()),
            ("Namespace", namespace.to_string()),
            ("Labels", map_lines(object.pointer("/metadata/labels"))),
            (
                "Created",
                object::creation_timestamp(&object).map_or_else(
                    || or_none(None),
                    |c| format!("{c} ({} ago)", age(Some(c), now)),
                ),
            ),
        ],
    );
    out.heading(0, "Spec").fields(
        2,
        &[(
            "System Backup",
            or_none(Some(restore::backup_name(&object))),
        )],
    );
    out.heading(0, "Status").fields(
        2,
        &[
            ("State", or_none(Some(restore::state(&object)))),
            (
                "Source URL",
                or_none(object::str_at(&object, "/status/sourceURL")),
            ),
            (
                "Owner Node",
                or_none(object::str_at(&object, "/status/ownerID")),
            ),
        ],
    );
    out.conditions(sb::conditions(&object));
    out.table("Events", events::HEADERS, events::rows(&events, now));
    output::stdout(&out.finish())?;
    Ok(())
}
