//! Deleting Longhorn objects the way `kubectl delete` does, with a confirmation that
//! lists what goes: resolve the targets (names, `--all`, `-l`), ask, delete, then
//! wait until each object is gone (finalizers included) and print kubectl's
//! `kind.group "NAME" deleted` line. A missing name is reported and the others still
//! go; the exit code is 1 at the end.

use std::time::Duration;

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::Value;

use crate::api;
use crate::error::{Error, Result};
use crate::listing;
use crate::longhorn::resources::LonghornKind;
use crate::object;
use crate::output;
use crate::prompt;
use crate::session::Session;
use crate::watch::{self, Step};

/// What to delete.
pub enum Targets<'a> {
    Names(&'a [String]),
    All,
    Selector(&'a str),
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
    session: &Session,
    namespace: &str,
    request: &Request<'_>,
) -> Result<(Vec<Value>, Vec<String>)> {
    let kind = request.kind;
    let (names, selector): (&[String], Option<String>) = match &request.targets {
        Targets::Names(names) => (names, None),
        Targets::All => (&[], None),
        Targets::Selector(selector) => (&[], Some(selector.to_string())),
    };
    let fetched = listing::fetch(session, kind, namespace, names, selector).await?;
    let missing: Vec<String> = fetched.missing.iter().map(ToString::to_string).collect();
    if fetched.objects.is_empty() {
        for line in &missing {
            eprintln!("{line}");
        }
        return Err(match &request.targets {
            Targets::Selector(selector) => Error::invalid(format!(
                "no {}s in namespace {namespace} match -l {selector}; nothing was deleted",
                kind.kind
            )),
            Targets::All => Error::invalid(format!(
                "there are no {}s in namespace {namespace}; nothing was deleted",
                kind.kind
            )),
            Targets::Names(_) => Error::Reported("nothing to delete".into()),
        });
    }
    Ok((fetched.objects, missing))
}

pub async fn run(session: &Session, request: Request<'_>) -> Result<()> {
    let namespace = session.namespace().await?;
    let (targets, mut failures) = resolve(session, namespace, &request).await?;
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
        question.push_str(&format!(
            "  {}/{}{state}\n",
            kind.kind_group(),
            object::name(object)
        ));
    }
    for line in &request.consequences {
        question.push_str(line);
        question.push('\n');
    }
    if !request.yes && !session.terminal.can_prompt() {
        // No prompt is shown without a terminal: say what would have gone.
        eprint!("{question}");
    }
    question.push_str("Do you want to continue?");
    if !prompt::confirm(session.terminal, &question, request.yes)? {
        return Err(Error::invalid("cancelled; nothing was deleted"));
    }

    let resource = kind.api_resource();
    let mut deleting = FuturesUnordered::new();
    for object in &targets {
        let name = object::name(object).to_string();
        match delete_one(
            session,
            namespace,
            kind,
            &name,
            request.before_delete.as_ref(),
        )
        .await
        {
            Ok(()) => match request.wait {
                Some(timeout) => {
                    let uid = object::uid(object).map(str::to_string);
                    let resource = resource.clone();
                    deleting.push(async move {
                        let gone = watch::until(
                            session,
                            &resource,
                            namespace,
                            &name,
                            timeout,
                            &format!("{}/{name}", kind.plural),
                            |object| match object {
                                Some(o) if uid.is_none() || object::uid(o) == uid.as_deref() => {
                                    Step::Continue
                                }
                                _ => Step::Done(()),
                            },
                        )
                        .await;
                        (name, gone)
                    });
                }
                None => output::stdout(&deleted_line(kind, &name))?,
            },
            Err(e) => failures.push(e.to_string()),
        }
    }
    while let Some((name, outcome)) = deleting.next().await {
        match outcome {
            Ok(()) => output::stdout(&deleted_line(kind, &name))?,
            Err(e) => failures.push(format!("{}/{name}: {e}", kind.kind_group())),
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

fn deleted_line(kind: LonghornKind, name: &str) -> String {
    format!("{} \"{name}\" deleted\n", kind.kind_group())
}

async fn delete_one(
    session: &Session,
    namespace: &str,
    kind: LonghornKind,
    name: &str,
    before_delete: Option<&Value>,
) -> Result<()> {
    let resource = kind.api_resource();
    if let Some(patch) = before_delete {
        let patch = Patch::Merge(patch.clone());
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
