//! Deleting Longhorn objects the way `kubectl delete` does, with a confirmation that
//! lists what goes: resolve the targets (names, `--all`, `-l`), ask, delete, then
//! wait until each object is gone (finalizers included) and print kubectl's
//! `kind.group "NAME" deleted` line. A missing name is reported and the others still
//! go; the exit code is 1 at the end.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::api::{DeleteParams, Patch};
use serde_json::{Value, json};

use super::listing;
use crate::commands::error::{Error, Reported, Result, Usage};
use crate::go::HumanDuration;
use crate::kube::api::patch_params;
use crate::kube::watch::{self, Step};
use crate::kube::{ObjectRef, object};
use crate::longhorn::Longhorn;
use crate::longhorn::resources::{LonghornKind, labels};
use crate::output::{self, Terminal, prompt};

/// The flags of a command that deletes Longhorn objects after asking.
#[derive(Debug, clap::Args)]
pub struct DeletionFlags {
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// Wait until Longhorn has removed each finalizer (--wait=false returns at once)
    #[arg(long, value_name = "BOOL", default_value_t = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", action = clap::ArgAction::Set)]
    pub wait: bool,
    /// How long --wait waits
    #[arg(long, value_name = "DURATION", default_value = "10m")]
    pub timeout: HumanDuration,
}

impl DeletionFlags {
    /// `Request::wait` from `--wait` and `--timeout`.
    pub fn wait(&self) -> Option<Option<Duration>> {
        self.wait.then(|| self.timeout.as_limit())
    }
}

/// What to delete.
pub enum Targets<'a> {
    Names(&'a [String]),
    All,
    Selector(&'a str),
    /// Objects the command already chose (non-empty).
    Chosen(&'a [Value]),
}

pub struct Request<'a> {
    pub kind: LonghornKind,
    pub targets: Targets<'a>,
    pub yes: bool,
    /// `None`: return after the DELETE calls (`--wait=false`).
    pub wait: Option<Option<Duration>>,
    /// A patch applied to each object before its DELETE (e.g. a label Longhorn reads
    /// while deleting).
    pub before_delete: Option<Value>,
    /// Lines after the list of objects, e.g. what happens to remote copies.
    pub consequences: Vec<String>,
}

/// Resolves the targets, reporting missing names; fails when nothing matched.
pub async fn resolve(
    longhorn: &Longhorn,
    request: &Request<'_>,
) -> Result<(Vec<Value>, Vec<String>)> {
    let namespace = longhorn.namespace();
    let kind = request.kind;
    let (names, selector): (&[String], Option<String>) = match &request.targets {
        Targets::Chosen(objects) => return Ok((objects.to_vec(), Vec::new())),
        Targets::Names(names) => (names, None),
        Targets::All => (&[], None),
        Targets::Selector(selector) => (&[], Some(selector.to_string())),
    };
    let fetched = listing::fetch(longhorn, kind, names, selector).await?;
    let missing: Vec<String> = fetched.missing.iter().map(ToString::to_string).collect();
    if fetched.objects.is_empty() {
        for line in &missing {
            eprintln!("{line}");
        }
        return Err(match &request.targets {
            Targets::Selector(selector) => Usage::NoneMatch {
                kind: kind.kind,
                namespace: namespace.to_string(),
                selector: selector.to_string(),
            }
            .into(),
            Targets::All => Usage::NoneThere {
                kind: kind.kind,
                namespace: namespace.to_string(),
            }
            .into(),
            Targets::Names(_) | Targets::Chosen(_) => Reported::NothingToDelete.into(),
        });
    }
    Ok((fetched.objects, missing))
}

pub async fn run(longhorn: &Longhorn, terminal: Terminal, request: Request<'_>) -> Result<()> {
    let namespace = longhorn.namespace();
    let (targets, mut failures) = resolve(longhorn, &request).await?;
    let kind = request.kind;

    let mut question = format!(
        "You are about to delete {} {}(s) in namespace {namespace}:\n",
        targets.len(),
        kind.kind
    );
    for object in &targets {
        let state = object
            .pointer("/status/state")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty());
        let state = state.map(|s| format!(" ({s})")).unwrap_or_default();
        question.push_str(&format!("  {}{state}\n", kind.named(object::name(object))));
    }
    for line in &request.consequences {
        question.push_str(line);
        question.push('\n');
    }
    if !request.yes && !terminal.can_prompt() {
        // No prompt is shown without a terminal: say what would have gone.
        eprint!("{question}");
    }
    question.push_str("Do you want to continue?");
    if !prompt::confirm(terminal, &question, request.yes)? {
        return Err(Usage::Cancelled("deleted").into());
    }

    let mut deleting = FuturesUnordered::new();
    for found in &targets {
        let target = kind.object(namespace, object::name(found));
        match delete_one(longhorn, &target, request.before_delete.as_ref()).await {
            Ok(()) => match request.wait {
                Some(timeout) => {
                    let uid = object::uid(found).map(str::to_string);
                    deleting.push(async move {
                        let gone =
                            watch::until(longhorn.kube(), &target, timeout, |seen| match seen {
                                Some(o) if uid.is_none() || object::uid(o) == uid.as_deref() => {
                                    Step::<_, crate::kube::Error>::Continue
                                }
                                _ => Step::Done(()),
                            })
                            .await;
                        (target.name, gone)
                    });
                }
                None => output::stdout(&deleted_line(kind, &target.name))?,
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    while let Some((name, outcome)) = deleting.next().await {
        match outcome {
            Ok(()) => output::stdout(&deleted_line(kind, &name))?,
            Err(e) => failures.push(format!("{}: {e}", kind.named(&name))),
        }
    }
    if failures.is_empty() {
        return Ok(());
    }
    for failure in &failures {
        eprintln!("{failure}");
    }
    Err(Reported::Failed(failures.len()).into())
}

/// For SystemBackups: the patch `--keep-remote` applies before each DELETE (Longhorn
/// reads the label while deleting; docs/longhorn-behaviour.md, "Labels"), and the line
/// that says what happens to the copies in the backup target.
pub async fn system_backup_copies(
    longhorn: &Longhorn,
    keep_remote: bool,
) -> (Option<Value>, String) {
    if keep_remote {
        let patch = json!({"metadata": {"labels": {labels::DELETE_CUSTOM_RESOURCE_ONLY: "true"}}});
        let line = "Only the custom resources go; their copies in the backup target stay.";
        return (Some(patch), line.to_string());
    }
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
    (
        None,
        format!("Their copies in {place} are deleted too (use --keep-remote to keep them)."),
    )
}

fn deleted_line(kind: LonghornKind, name: &str) -> String {
    format!("{} \"{name}\" deleted\n", kind.kind_group())
}

async fn delete_one(
    longhorn: &Longhorn,
    target: &ObjectRef,
    before_delete: Option<&Value>,
) -> Result<(), Error> {
    if let Some(patch) = before_delete {
        let patch = Patch::Merge(patch.clone());
        longhorn
            .kube()
            .patch(target, &patch, &patch_params(false))
            .await?;
    }
    match longhorn
        .kube()
        .delete(target, &DeleteParams::default())
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Ok(()),
        Err(e) => Err(e.into()),
    }
}
