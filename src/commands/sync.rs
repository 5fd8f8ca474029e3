//! `sync`: ask Longhorn to re-read the backup target now (longhorn/longhorn#8538 asks
//! for exactly this) and, with `--wait`, wait until it has.

use clap::Args;

use super::Context;
use super::error::Result;
use crate::go::HumanDuration;
use crate::longhorn::Reads;
use crate::longhorn::backup_target;
use crate::longhorn::resources::{BACKUP_TARGET, DEFAULT_BACKUP_TARGET};
use crate::output;

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Wait until the backup target's status.lastSyncedAt moves
    #[arg(long)]
    pub wait: bool,
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub timeout: HumanDuration,
}

pub async fn run(context: &Context, args: &SyncArgs) -> Result<()> {
    let longhorn = context.longhorn(Reads::default()).await?;
    let request = backup_target::request_sync(&longhorn).await?;
    let target = BACKUP_TARGET.named(DEFAULT_BACKUP_TARGET);
    output::stdout(&format!(
        "{target} sync requested at {}\n",
        request.requested_at
    ))?;
    if args.wait {
        let synced =
            backup_target::wait_synced(&longhorn, &request, args.timeout.as_limit()).await?;
        output::stdout(&format!("{target} synced at {synced}\n"))?;
    }
    Ok(())
}
