//! `wait NAME…`: until Ready (failing at once on Error) or deleted, watch-based.
//! Prints kubectl's `systembackup.longhorn.io/NAME condition met` per object.

use clap::{Args, ValueEnum};
use clap_complete::engine::ArgValueCompleter;
use futures::StreamExt;
use futures::stream::FuturesUnordered;

use super::Context;
use super::error::Result;
use super::shared::names::system_backup_names;
use crate::go::HumanDuration;
use crate::kube::names::check_object_names;
use crate::longhorn::Reads;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::wait::{Target, Wait, wait_for};
use crate::output;

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

pub async fn run(context: &Context, args: &WaitArgs) -> Result<()> {
    check_object_names("SystemBackup", &args.names)?;
    let longhorn = context.longhorn(Reads::default()).await?;
    let target = match args.condition {
        WaitFor::Ready => Target::Ready,
        WaitFor::Delete => Target::Deleted,
    };
    let longhorn = &longhorn;
    let mut waits: FuturesUnordered<_> = args
        .names
        .iter()
        .map(|name| async move {
            let wait = Wait {
                namespace: longhorn.namespace(),
                name,
                target,
                uid: None,
                timeout: args.timeout.as_limit(),
                live: context.terminal.stderr,
            };
            wait_for(longhorn.kube(), wait).await.map(|_| name)
        })
        .collect();
    // The first failure ends the command: a backup in Error will not recover.
    while let Some(outcome) = waits.next().await {
        let name = outcome?;
        output::stdout(&output::condition_met(&SYSTEM_BACKUP.kind_group(), name))?;
    }
    Ok(())
}
