//! `prune --keep-last N | --older-than D`: deletes the SystemBackups beyond the rule
//! ([`crate::longhorn::prune`] decides), after a confirmation that lists what goes and
//! why the rest stays. `--dry-run` shows the whole plan and deletes nothing. The
//! deletion itself is `delete`'s (`shared::deletion`), `--keep-remote` included.

use clap::Args;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::Context;
use super::error::{Result, Usage};
use super::shared::deletion::{self, Request, SystemBackupDeletionFlags, Targets};
use super::shared::listing::{self, check_selector};
use crate::go::HumanDuration;
use crate::longhorn::Reads;
use crate::longhorn::prune::{self, Decision, Rules};
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output::age::age;
use crate::output::{self, Format, OutputFormat, table};

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # See what keeping the 5 newest hand-made system backups would delete
  kubectl longhorn systembackup prune --keep-last 5 --dry-run

  # Delete the ones older than 30 days, except the 3 newest, without asking
  kubectl longhorn systembackup prune --older-than 720h --keep-last 3 -y

  # Delete the CRs only, keeping their copies in the backup target
  kubectl longhorn systembackup prune --keep-last 10 --keep-remote")]
pub struct PruneArgs {
    /// Keep the N newest SystemBackups the rule applies to
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub keep_last: Option<usize>,
    /// Keep the SystemBackups younger than this, e.g. 168h (7 days); with --keep-last, a
    /// backup goes only when both rules let it
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<HumanDuration>,
    /// Apply the rule only to the SystemBackups matching this label selector
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Prune SystemBackups made by RecurringJobs too (by default their retain does)
    #[arg(long)]
    pub include_scheduled: bool,
    /// Show the plan (what goes, what stays, and why); delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the --dry-run plan: json or yaml (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["json", "yaml"], requires = "dry_run")]
    pub output: Option<String>,
    #[command(flatten)]
    pub deletion: SystemBackupDeletionFlags,
}

pub async fn run(context: &Context, args: &PruneArgs) -> Result<()> {
    if args.keep_last.is_none() && args.older_than.is_none() {
        return Err(Usage::PruneNeedsRule.into());
    }
    check_selector(args.selector.as_deref())?;
    let rules = Rules {
        keep_last: args.keep_last,
        older_than: args.older_than.map(|d| d.0),
        include_scheduled: args.include_scheduled,
    };
    let longhorn = context.longhorn(Reads::default()).await?;
    let backups = listing::fetch(&longhorn, SYSTEM_BACKUP, &[], args.selector.clone())
        .await?
        .objects;
    let now = Timestamp::now();
    if backups.is_empty() {
        eprintln!(
            "No SystemBackups found in namespace {}.",
            longhorn.namespace()
        );
        return Ok(());
    }
    let plan = prune::plan(backups, rules, now);

    if args.dry_run {
        let text = match args.output.as_deref() {
            Some("json") => {
                output::structured(&plan_data(&plan), Format::from(Some(OutputFormat::Json)))?
            }
            Some("yaml") => {
                output::structured(&plan_data(&plan), Format::from(Some(OutputFormat::Yaml)))?
            }
            _ => plan_table(&plan, now),
        };
        return Ok(output::stdout(&text)?);
    }

    let (going, kept): (Vec<&Decision>, Vec<&Decision>) =
        plan.iter().partition(|d| d.reason.prunes());
    let mut kept_lines = vec!["They stay:".to_string()];
    kept_lines.extend(kept.iter().map(|d| {
        let name = SYSTEM_BACKUP.named(sb::name(&d.backup));
        format!("  {name}: {}", d.reason.describe())
    }));
    if going.is_empty() {
        eprintln!(
            "Nothing to prune in namespace {}: the rules keep all {} SystemBackup(s).",
            longhorn.namespace(),
            plan.len()
        );
        for line in &kept_lines {
            eprintln!("{line}");
        }
        return Ok(());
    }
    let chosen: Vec<Value> = going.iter().map(|d| d.backup.clone()).collect();
    let (before_delete, copies) =
        deletion::system_backup_copies(&longhorn, args.deletion.keep_remote).await;
    let mut consequences = vec![copies];
    consequences.extend(kept_lines);
    let request = Request {
        kind: SYSTEM_BACKUP,
        targets: Targets::Chosen(&chosen),
        yes: args.deletion.yes,
        wait: args.deletion.wait(),
        before_delete,
        consequences,
    };
    deletion::run(&longhorn, context.terminal, request).await
}

fn action(decision: &Decision) -> &'static str {
    if decision.reason.prunes() {
        "delete"
    } else {
        "keep"
    }
}

fn plan_table(plan: &[Decision], now: Timestamp) -> String {
    let rows = plan
        .iter()
        .map(|d| {
            let taken = d.taken.map(|t| t.to_string());
            vec![
                sb::name(&d.backup).to_string(),
                sb::state(&d.backup).to_string(),
                age(taken.as_deref(), now),
                action(d).to_string(),
                d.reason.describe(),
            ]
        })
        .collect();
    table::render(&["NAME", "STATE", "AGE", "ACTION", "WHY"], rows, false)
}

fn plan_data(plan: &[Decision]) -> Value {
    let items: Vec<Value> = plan
        .iter()
        .map(|d| {
            json!({
                "name": sb::name(&d.backup),
                "state": sb::state(&d.backup),
                "takenAt": d.taken.map(|t| t.to_string()),
                "action": action(d),
                "reason": d.reason.describe(),
            })
        })
        .collect();
    json!({ "items": items })
}
