//! `list` / `get`: SystemBackups as a kubectl-style table or as objects.

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use serde_json::Value;

use super::Context;
use super::error::Result;
use super::shared::listing::{self, Columns, ListOutputArgs, RowContext, or_none};
use super::shared::names::system_backup_names;
use crate::kube::names::check_object_names;
use crate::longhorn::Reads;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output::age::age;
use crate::output::style::state_cell;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Names to show (default: all)
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub names: Vec<String>,
    #[command(flatten)]
    pub output: ListOutputArgs,
}

pub const COLUMNS: Columns<'static> = Columns {
    headers: &["NAME", "VERSION", "STATE", "CREATED", "LAST-SYNCED", "AGE"],
    wide_headers: &["POLICY", "OWNER", "RECURRING-JOB", "MESSAGE"],
    row: &row,
};

pub async fn run(context: &Context, args: &ListArgs) -> Result<()> {
    check_object_names("SystemBackup", &args.names)?;
    args.output.check()?;
    let longhorn = context.longhorn(Reads::default()).await?;
    let color = context.terminal.color();
    listing::run(
        &longhorn,
        SYSTEM_BACKUP,
        &args.names,
        &args.output,
        &COLUMNS,
        color,
    )
    .await
}

fn row(object: &Value, context: &RowContext) -> Vec<String> {
    let mut row = vec![
        sb::name(object).to_string(),
        or_none(sb::version(object)),
        state_cell(sb::state(object), context.color),
        or_none(sb::created_at(object)),
        sb::last_synced_at(object).map_or_else(|| or_none(None), |t| age(Some(t), context.now)),
        age(sb::creation_timestamp(object), context.now),
    ];
    if context.wide {
        row.extend([
            or_none(sb::policy(object)),
            or_none(sb::owner_node(object)),
            or_none(sb::recurring_job(object)),
            or_none(sb::error_message(object)),
        ]);
    }
    row
}
