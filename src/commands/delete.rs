//! `delete NAME… | --all | -l SELECTOR`: SystemBackups, after a confirmation that
//! lists what goes. Longhorn deletes the copy in the backup target too unless the CR
//! carries `longhorn.io/delete-custom-resource-only` (docs/longhorn-behaviour.md,
//! "Labels"), which `--keep-remote` sets before deleting: Longhorn reads it while
//! deleting. `--force` ends a deletion Longhorn does not finish (`shared::force`).

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use serde_json::json;

use super::Context;
use super::error::Result;
use super::shared::deletion::{self, Request, Targets};
use super::shared::force::{self, ForceRequest};
use super::shared::listing::check_selector;
use super::shared::names::system_backup_names;
use crate::go::HumanDuration;
use crate::kube::names::check_object_names;
use crate::longhorn::Reads;
use crate::longhorn::resources::{SYSTEM_BACKUP, labels};

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
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Delete only the custom resource; keep the copy in the backup target
    #[arg(long)]
    pub keep_remote: bool,
    /// Wait until Longhorn has removed the finalizer (--wait=false returns at once)
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: HumanDuration,
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
            yes: args.yes,
        };
        return force::run(&longhorn, context.terminal, request).await;
    }
    let targets = match (&args.selector, args.all) {
        (Some(selector), _) => Targets::Selector(selector),
        (None, true) => Targets::All,
        (None, false) => Targets::Names(&args.names),
    };
    let consequence = if args.keep_remote {
        "Only the custom resources go; their copies in the backup target stay.".to_string()
    } else {
        // Only to say where the copies are: a failure to read it changes nothing.
        let url = longhorn
            .backup_target()
            .await
            .ok()
            .flatten()
            .map(|t| t.url.clone())
            .filter(|u| !u.is_empty());
        let place = url.map_or_else(
            || "the backup target".to_string(),
            |u| format!("the backup target ({u})"),
        );
        format!("Their copies in {place} are deleted too (use --keep-remote to keep them).")
    };
    let request = Request {
        kind: SYSTEM_BACKUP,
        targets,
        yes: args.yes,
        wait: args.wait.then(|| args.timeout.as_limit()),
        before_delete: args.keep_remote.then(
            || json!({"metadata": {"labels": {labels::DELETE_CUSTOM_RESOURCE_ONLY: "true"}}}),
        ),
        consequences: vec![consequence],
    };
    deletion::run(&longhorn, context.terminal, request).await
}
