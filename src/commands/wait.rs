//! `wait NAME…`: until Ready (failing at once on Error) or deleted, watch-based.
//! Prints kubectl's `systembackup.longhorn.io/NAME condition met` per object.

use futures::StreamExt;
use futures::stream::FuturesUnordered;

use crate::cli::{WaitArgs, WaitFor};
use crate::error::Result;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::wait::{Target, wait_for};
use crate::output;
use crate::session::Session;

pub async fn run(session: &Session, args: &WaitArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let target = match args.condition {
        WaitFor::Ready => Target::Ready,
        WaitFor::Delete => Target::Deleted,
    };
    let timeout = args.timeout.as_limit();
    let mut waits: FuturesUnordered<_> = args
        .names
        .iter()
        .map(|name| async move {
            wait_for(session, namespace, name, target, timeout, None)
                .await
                .map(|_| name)
        })
        .collect();
    // The first failure ends the command: a backup in Error will not recover.
    while let Some(outcome) = waits.next().await {
        let name = outcome?;
        output::stdout(&format!(
            "{}/{name} condition met\n",
            SYSTEM_BACKUP.kind_group()
        ))?;
    }
    Ok(())
}
