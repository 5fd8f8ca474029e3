//! `delete NAME… | --all | -l SELECTOR`: SystemBackups, after a confirmation that
//! lists what goes. Longhorn deletes the copy in the backup target too unless the CR
//! carries `longhorn.io/delete-custom-resource-only` (docs/longhorn-behaviour.md,
//! "Labels"), which `--keep-remote` sets before deleting: Longhorn reads it while
//! deleting. `--force` ends a deletion Longhorn does not finish (`shared::force`).

use clap::Args;
use clap_complete::engine::ArgValueCompleter;

use super::Context;
use super::error::Result;
use super::shared::deletion::{self, DeletionFlags, Request, Targets};
use super::shared::force::{self, ForceRequest};
use super::shared::listing::check_selector;
use super::shared::names::system_backup_names;
use crate::kube::names::check_object_names;
use crate::longhorn::Reads;
use crate::longhorn::resources::SYSTEM_BACKUP;

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
    /// Delete only the custom resources; keep their copies in the backup target
    #[arg(long)]
    pub keep_remote: bool,
    #[command(flatten)]
    pub deletion: DeletionFlags,
    /// For a SystemBackup whose deletion never ends (stuck in Deleting): remove Longhorn's
    /// finalizer, so it goes without Longhorn's cleanup. Asks first, loudly (-y skips), then
    /// says what may remain in the backup target and how to remove it
    #[arg(long, conflicts_with_all = ["all", "selector", "keep_remote"])]
    pub force: bool,
}

pub async fn run(context: &Context, args: &DeleteArgs) -> Result<()> {
    check_object_names("SystemBackup", &args.names)?;
    check_selector(args.selector.as_deref())?;
    let longhorn = context.longhorn(Reads::default()).await?;
    if args.force {
        let request = ForceRequest {
            kind: SYSTEM_BACKUP,
            names: &args.names,
            yes: args.deletion.yes,
        };
        return force::run(&longhorn, context.terminal, request).await;
    }
    let targets = match (&args.selector, args.all) {
        (Some(selector), _) => Targets::Selector(selector),
        (None, true) => Targets::All,
        (None, false) => Targets::Names(&args.names),
    };
    let (before_delete, consequence) =
        deletion::system_backup_copies(&longhorn, args.keep_remote).await;
    let request = Request {
        kind: SYSTEM_BACKUP,
        targets,
        yes: args.deletion.yes,
        wait: args.deletion.wait(),
        before_delete,
        consequences: vec![consequence],
    };
    deletion::run(&longhorn, context.terminal, request).await
}
