//! `status`: the namespace's system backups at a glance, in at most ten lines: the
//! backup target, the newest Ready backup and its age, the next run of each
//! system-backup RecurringJob, what is running now and since when, and how many
//! backups failed. `-o json|yaml` gives the same as data.

use clap::Args;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Context;
use super::error::Result;
use crate::longhorn::Reads;
use crate::longhorn::status::{self, Running, Schedule, Status};
use crate::longhorn::systembackup as sb;
use crate::output::age::age;
use crate::output::describe::Describe;
use crate::output::{self, Format};

/// Lines of a list (schedules, running) shown before `… and N more`.
const SHOWN: usize = 2;

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # Is the namespace's system backup healthy, at a glance
  kubectl longhorn systembackup status

  # The same as data, for scripts
  kubectl longhorn systembackup status -o json")]
pub struct StatusArgs {
    /// Output format: json or yaml (default: text)
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["json", "yaml"])]
    pub output: Option<String>,
}

pub async fn run(context: &Context, args: &StatusArgs) -> Result<()> {
    let format = output::data_format(args.output.as_deref()).unwrap_or(Format::Table);
    let longhorn = context.longhorn(Reads::default()).await?;
    let status = status::read(&longhorn).await?;
    let now = Timestamp::now();
    let text = match format {
        Format::Json | Format::Yaml => {
            output::structured(&data(longhorn.namespace(), &status, now), format)?
        }
        _ => text(longhorn.namespace(), &status, now),
    };
    Ok(output::stdout(&text)?)
}

fn text(namespace: &str, status: &Status, now: Timestamp) -> String {
    let target = match &status.target {
        None => "<none> (BackupTarget \"default\" does not exist)".to_string(),
        Some(t) if t.url.is_empty() => "<not set>".to_string(),
        Some(t) if t.available => format!("{} (available)", t.url),
        Some(t) => format!(
            "{} (unavailable: {})",
            t.url,
            t.unavailable_reason.as_deref().unwrap_or("not reached yet")
        ),
    };
    let last = status.last_ready.as_ref().map_or_else(
        || "<none>".to_string(),
        |b| {
            let taken = sb::taken_at(b).map(|t| t.to_string());
            format!("{} ({} ago)", sb::name(b), age(taken.as_deref(), now))
        },
    );
    let errors = match status.failed.len() {
        0 => "0".to_string(),
        n => format!("{n} SystemBackup(s) in Error: {}", capped(&status.failed)),
    };
    let schedules = listed(&status.schedules, schedule_line);
    let running = listed(&status.running, |r| running_line(r, now));
    Describe::new()
        .multi_fields(&[
            ("Namespace", vec![namespace.to_string()]),
            ("Backup target", vec![target]),
            ("Last backup", vec![last]),
            ("Schedules", schedules),
            ("Running", running),
            ("Errors", vec![errors]),
        ])
        .finish()
}

/// The lines of a list: at most [`SHOWN`], then one that counts the rest; `<none>`
/// when empty.
fn listed<T>(items: &[T], line: impl Fn(&T) -> String) -> Vec<String> {
    let mut lines: Vec<String> = items.iter().take(SHOWN).map(line).collect();
    if items.len() > SHOWN {
        lines.push(format!("… and {} more", items.len() - SHOWN));
    }
    if lines.is_empty() {
        lines.push("<none>".into());
    }
    lines
}

/// Up to [`SHOWN`] names, then how many more.
fn capped(names: &[String]) -> String {
    let mut text = names[..names.len().min(SHOWN)].join(", ");
    if names.len() > SHOWN {
        text.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    text
}

fn schedule_line(schedule: &Schedule) -> String {
    let next = schedule
        .next_run
        .as_deref()
        .map_or_else(|| "never fires".to_string(), |n| format!("next run {n}"));
    format!("{} ({}): {next}", schedule.name, schedule.cron)
}

fn running_line(running: &Running, now: Timestamp) -> String {
    let state = if running.state.is_empty() {
        "<new>"
    } else {
        &running.state
    };
    format!(
        "{} {state} for {}",
        running.kind.named(&running.name),
        age(running.since.as_deref(), now)
    )
}

/// The summary as untyped data.
fn data(namespace: &str, status: &Status, now: Timestamp) -> Value {
    let target = status.target.as_ref().map(|t| {
        json!({
            "url": t.url,
            "available": t.available,
            "message": t.unavailable_reason,
        })
    });
    let last = status.last_ready.as_ref().map(|b| {
        let taken = sb::taken_at(b).map(|t| t.to_string());
        json!({
            "name": sb::name(b),
            "createdAt": taken,
            "age": age(taken.as_deref(), now),
        })
    });
    let schedules: Vec<Value> = status
        .schedules
        .iter()
        .map(|s| json!({"name": s.name, "cron": s.cron, "nextRun": s.next_run}))
        .collect();
    let running: Vec<Value> = status
        .running
        .iter()
        .map(|r| {
            json!({
                "kind": r.kind.kind,
                "name": r.name,
                "state": r.state,
                "since": r.since,
                "for": age(r.since.as_deref(), now),
            })
        })
        .collect();
    json!({
        "namespace": namespace,
        "backupTarget": target,
        "lastReadyBackup": last,
        "schedules": schedules,
        "running": running,
        "errors": {"count": status.failed.len(), "systemBackups": status.failed},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_so_the_summary_stays_short() {
        let names: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
        assert_eq!(capped(&names[..1]), "a");
        assert_eq!(capped(&names), "a, b and 2 more");
        assert_eq!(listed(&names, Clone::clone), ["a", "b", "… and 2 more"]);
        assert_eq!(listed::<String>(&[], Clone::clone), ["<none>"]);
    }
}
