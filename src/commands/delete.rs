//! `delete NAME… | --all | -l SELECTOR`: SystemBackups, after a confirmation that
//! lists what goes. Longhorn deletes the copy in the backup target too unless the CR
//! carries `longhorn.io/delete-custom-resource-only` (longhorn-system-backup.md §2.4),
//! which `--keep-remote` sets before deleting.

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};

use crate::api::{self, Selector};
use crate::cli::DeleteArgs;
use crate::error::{Error, Result};
use crate::longhorn::install::{self, explain_missing};
use crate::longhorn::resources::{SYSTEM_BACKUP, labels};
use crate::longhorn::systembackup as sb;
use crate::longhorn::wait::{Target, wait_for};
use crate::output;
use crate::prompt;
use crate::session::Session;

pub async fn run(session: &Session, args: &DeleteArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let resource = SYSTEM_BACKUP.api_resource();
    let mut failures = Vec::new();
    let targets = if args.names.is_empty() {
        let selector = Selector {
            labels: args.selector.clone(),
            ..Default::default()
        };
        api::list_items(session, &resource, Some(namespace), selector)
            .await
            .map_err(explain_missing(SYSTEM_BACKUP))?
    } else {
        let mut found = Vec::new();
        for name in &args.names {
            match api::get(session, &resource, Some(namespace), name)
                .await
                .map_err(explain_missing(SYSTEM_BACKUP))
            {
                Ok(object) => found.push(object),
                Err(e) if e.is_not_found() => failures.push(e.to_string()),
                Err(e) => return Err(e),
            }
        }
        found
    };
    if targets.is_empty() {
        for failure in &failures {
            eprintln!("{failure}");
        }
        return Err(match &args.selector {
            Some(selector) => Error::invalid(format!(
                "no SystemBackups in namespace {namespace} match -l {selector}; nothing was deleted"
            )),
            None if args.all => Error::invalid(format!(
                "there are no SystemBackups in namespace {namespace}; nothing was deleted"
            )),
            None => Error::Reported("nothing to delete".into()),
        });
    }

    let question = confirmation(session, namespace, &targets, args.keep_remote, args.yes).await?;
    if !prompt::confirm(session.terminal, &question, args.yes)? {
        return Err(Error::invalid("cancelled; nothing was deleted"));
    }

    let mut deleting = FuturesUnordered::new();
    for object in &targets {
        let name = sb::name(object).to_string();
        match delete_one(session, namespace, &name, args.keep_remote).await {
            Ok(()) if args.wait => {
                let uid = sb::uid(object).map(str::to_string);
                let timeout = args.timeout.as_limit();
                deleting.push(async move {
                    let outcome = wait_for(
                        session,
                        namespace,
                        &name,
                        Target::Deleted,
                        timeout,
                        uid.as_deref(),
                    )
                    .await;
                    (name, outcome.map(|_| ()))
                });
            }
            Ok(()) => output::stdout(&deleted_line(&name))?,
            Err(e) => failures.push(e.to_string()),
        }
    }
    while let Some((name, outcome)) = deleting.next().await {
        match outcome {
            Ok(()) => output::stdout(&deleted_line(&name))?,
            Err(e) => failures.push(format!("{name}: {e}")),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    Err(Error::Reported(format!("{} failed", failures.len())))
}

fn deleted_line(name: &str) -> String {
    format!("{} \"{name}\" deleted\n", SYSTEM_BACKUP.kind_group())
}

/// The question lists every object and says where the remote copies go.
async fn confirmation(
    session: &Session,
    namespace: &str,
    targets: &[Value],
    keep_remote: bool,
    yes: bool,
) -> Result<String> {
    let mut text = format!(
        "You are about to delete {} SystemBackup(s) in namespace {namespace}:\n",
        targets.len()
    );
    for object in targets {
        let state = Some(sb::state(object))
            .filter(|s| !s.is_empty())
            .unwrap_or("no state yet");
        text.push_str(&format!(
            "  {}/{} ({state})\n",
            SYSTEM_BACKUP.kind_group(),
            sb::name(object)
        ));
    }
    if keep_remote {
        text.push_str("Only the custom resources go; the copies in the backup target stay.\n");
    } else {
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
        text.push_str(&format!(
            "Their copies in {place} are deleted too (use --keep-remote to keep them).\n"
        ));
    }
    text.push_str("Do you want to continue?");
    if !yes && !session.terminal.can_prompt() {
        // The question is not shown without a terminal; list what would have gone.
        eprintln!(
            "{}",
            text.trim_end_matches("Do you want to continue?").trim_end()
        );
    }
    Ok(text)
}

async fn delete_one(
    session: &Session,
    namespace: &str,
    name: &str,
    keep_remote: bool,
) -> Result<()> {
    let resource = SYSTEM_BACKUP.api_resource();
    if keep_remote {
        // The label must be there before the deletion starts: Longhorn reads it when
        // it processes the Deleting state.
        let patch = Patch::Merge(
            json!({"metadata": {"labels": {labels::DELETE_CUSTOM_RESOURCE_ONLY: "true"}}}),
        );
        api::patch(
            session,
            &resource,
            Some(namespace),
            name,
            &patch,
            &PatchParams::default(),
        )
        .await?;
    }
    match api::delete(
        session,
        &resource,
        Some(namespace),
        name,
        &DeleteParams::default(),
    )
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e),
    }
}
