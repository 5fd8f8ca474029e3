//! `delete --force` and `restore delete --force`: end a deletion Longhorn does not
//! finish by removing its finalizer, after a loud confirmation that says what Longhorn's
//! cleanup would have removed; then say what may remain and how to clean it up.

use std::time::Duration;

use crate::commands::error::{Result, Usage};
use crate::kube::object;
use crate::kube::watch::{self, Step};
use crate::longhorn::Longhorn;
use crate::longhorn::force_delete::{Remains, remains, remove_finalizer, stuck_object};
use crate::longhorn::resources::LonghornKind;
use crate::output::age::age;
use crate::output::{self, Terminal, prompt};
use jiff::Timestamp;

/// How long Kubernetes gets to remove an object once its last finalizer is gone.
const GONE_TIMEOUT: Duration = Duration::from_secs(60);

pub struct ForceRequest<'a> {
    pub kind: LonghornKind,
    pub names: &'a [String],
    pub yes: bool,
}

pub async fn run(longhorn: &Longhorn, terminal: Terminal, request: ForceRequest<'_>) -> Result<()> {
    let kind = request.kind;
    let mut stuck = Vec::new();
    for name in request.names {
        stuck.push(stuck_object(longhorn, kind, name).await?);
    }
    // Only to say where a copy is: a failure to read the target changes nothing.
    let target_url = longhorn
        .backup_target()
        .await
        .ok()
        .flatten()
        .map(|t| t.url.clone());
    let now = Timestamp::now();
    let left: Vec<Remains> = stuck
        .iter()
        .map(|o| remains(kind, o, target_url.as_deref()))
        .collect();

    let mut question = format!(
        "WARNING: this removes Longhorn's finalizer, so Kubernetes deletes {} {}(s) in namespace {} WITHOUT Longhorn's cleanup:\n",
        stuck.len(),
        kind.kind,
        longhorn.namespace()
    );
    for (object, remains) in stuck.iter().zip(&left) {
        let state = object::str_at(object, "/status/state").unwrap_or("no state");
        question.push_str(&format!(
            "  {} ({state}; deletion asked {} ago)\n    may remain: {}\n",
            kind.named(object::name(object)),
            age(object::deletion_timestamp(object), now),
            what_remains(remains),
        ));
    }
    if !request.yes && !terminal.can_prompt() {
        // No prompt is shown without a terminal: say what would have happened.
        eprint!("{question}");
    }
    question.push_str("Remove the finalizer(s)?");
    if !prompt::confirm(terminal, &question, request.yes)? {
        return Err(Usage::Cancelled("changed").into());
    }

    for (object, remains) in stuck.iter().zip(&left) {
        let name = object::name(object);
        remove_finalizer(longhorn, kind, object).await?;
        let uid = object::uid(object).map(str::to_string);
        watch::until(
            longhorn.kube(),
            &kind.object(longhorn.namespace(), name),
            Some(GONE_TIMEOUT),
            |seen| match seen {
                Some(o) if object::uid(o) == uid.as_deref() => {
                    Step::<_, crate::kube::Error>::Continue
                }
                _ => Step::Done(()),
            },
        )
        .await?;
        let mut text = format!(
            "{} \"{name}\" deleted (finalizer removed)\n",
            kind.kind_group()
        );
        text.push_str(&format!("May remain: {}\n", what_remains(remains)));
        if let Some(command) = cleanup(remains, name, longhorn.namespace()) {
            text.push_str(&format!("Clean it up with: {command}\n"));
        }
        output::stdout(&text)?;
    }
    Ok(())
}

fn what_remains(remains: &Remains) -> String {
    match remains {
        Remains::StoreCopy(location) => format!("its copy in the backup target, {location}"),
        Remains::NoStoreCopy(why) => format!("nothing in the backup target ({why})"),
        Remains::RolloutJob(job) => format!(
            "its rollout job.batch/{job} (owned by the restore, so Kubernetes' garbage collector removes it), and what the rollout had already restored"
        ),
    }
}

/// The command that removes what remains. A copy in the store comes back as a
/// SystemBackup on Longhorn's next sync of the target; deleting that one then removes
/// the copy too (docs/longhorn-behaviour.md, "Backup target").
fn cleanup(remains: &Remains, name: &str, namespace: &str) -> Option<String> {
    match remains {
        Remains::StoreCopy(_) => Some(format!(
            "kubectl longhorn systembackup sync --wait -n {namespace} && kubectl longhorn systembackup wait {name} -n {namespace} && kubectl longhorn systembackup delete {name} -y -n {namespace}"
        )),
        Remains::NoStoreCopy(_) => None,
        Remains::RolloutJob(job) => Some(format!(
            "kubectl -n {namespace} delete job.batch/{job} --ignore-not-found"
        )),
    }
}
