//! `delete NAME… | --all | -l SELECTOR`: SystemBackups, after a confirmation that
//! lists what goes. Longhorn deletes the copy in the backup target too unless the CR
//! carries `longhorn.io/delete-custom-resource-only` (longhorn-system-backup.md §2.4),
//! which `--keep-remote` sets before deleting: Longhorn reads it while deleting.

use serde_json::json;

use crate::cli::DeleteArgs;
use crate::deletion::{self, Request, Targets};
use crate::error::Result;
use crate::longhorn::install;
use crate::longhorn::resources::{SYSTEM_BACKUP, labels};
use crate::session::Session;

pub async fn run(session: &Session, args: &DeleteArgs) -> Result<()> {
    let targets = match (&args.selector, args.all) {
        (Some(selector), _) => Targets::Selector(selector),
        (None, true) => Targets::All,
        (None, false) => Targets::Names(&args.names),
    };
    let consequence = if args.keep_remote {
        "Only the custom resources go; their copies in the backup target stay.".to_string()
    } else {
        let namespace = session.namespace().await?;
        let url = install::backup_target(session, namespace)
            .await
            .ok()
            .flatten()
            .map(|t| t.url)
            .filter(|u| !u.is_empty());
        let place = url.map_or_else(
            || "the backup target".to_string(),
            |u| format!("the backup target ({u})"),
        );
        format!("Their copies in {place} are deleted too (use --keep-remote to keep them).")
    };
    deletion::run(
        session,
        Request {
            kind: SYSTEM_BACKUP,
            targets,
            yes: args.yes,
            wait: args.wait.then(|| args.timeout.as_limit()),
            before_delete: args.keep_remote.then(
                || json!({"metadata": {"labels": {labels::DELETE_CUSTOM_RESOURCE_ONLY: "true"}}}),
            ),
            consequences: vec![consequence],
        },
    )
    .await
}
