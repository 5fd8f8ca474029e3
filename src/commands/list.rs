//! `list` / `get`: SystemBackups as a kubectl-style table or as objects.

use serde_json::Value;

use crate::cli::ListArgs;
use crate::error::Result;
use crate::listing::{self, Columns, RowContext, or_none};
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output::age::age;
use crate::session::Session;
use crate::style::state_cell;

pub const COLUMNS: Columns<'static> = Columns {
    headers: &["NAME", "VERSION", "STATE", "CREATED", "LAST-SYNCED", "AGE"],
    wide_headers: &["POLICY", "OWNER", "RECURRING-JOB", "MESSAGE"],
    row: &row,
};

pub async fn run(session: &Session, args: &ListArgs) -> Result<()> {
    listing::run(session, SYSTEM_BACKUP, &args.names, &args.output, &COLUMNS).await
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
