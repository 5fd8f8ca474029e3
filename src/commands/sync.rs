//! `sync`: ask Longhorn to re-read the backup target now (longhorn/longhorn#8538 asks
//! for exactly this) and, with `--wait`, wait until it has.

use crate::cli::SyncArgs;
use crate::error::Result;
use crate::longhorn::backup_target;
use crate::longhorn::resources::{BACKUP_TARGET, DEFAULT_BACKUP_TARGET};
use crate::output;
use crate::session::Session;

pub async fn run(session: &Session, args: &SyncArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let request = backup_target::request_sync(session, namespace).await?;
    let target = format!("{}/{DEFAULT_BACKUP_TARGET}", BACKUP_TARGET.kind_group());
    output::stdout(&format!(
        "{target} sync requested at {}\n",
        request.requested_at
    ))?;
    if args.wait {
        let synced =
            backup_target::wait_synced(session, namespace, &request, args.timeout.as_limit())
                .await?;
        output::stdout(&format!("{target} synced at {synced}\n"))?;
    }
    Ok(())
}
