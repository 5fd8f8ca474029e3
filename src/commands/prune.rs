//! `prune --keep-last N | --older-than D`: deletes the SystemBackups beyond the rule
//! ([`crate::longhorn::prune`] decides), after a confirmation that lists what goes and
//! why the rest stays. `--dry-run` shows the whole plan and deletes nothing. The
//! deletion itself is `delete`'s (`shared::deletion`), `--keep-remote` included.

use clap::Args;
use jiff::Timestamp;
use serde_json::json;

use super::Context;
use super::error::{Result, Usage};
use super::shared::deletion::{self, DeletionFlags};
use super::shared::listing::{self, check_selector};
use super::shared::plan::{self, Execution, Step};
use crate::go::HumanDuration;
use crate::longhorn::Reads;
use crate::longhorn::prune::{self, Decision, Rules};
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output;
use crate::output::age::age;

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
    /// Delete only the custom resources; keep their copies in the backup target
    #[arg(long)]
    pub keep_remote: bool,
    #[command(flatten)]
    pub deletion: DeletionFlags,
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
    if backups.is_empty() {
        eprintln!("{}", output::no_resources_found(longhorn.namespace()));
        return Ok(());
    }
    let now = Timestamp::now();
    let steps: Vec<Step> = prune::plan(backups, rules, now)
        .into_iter()
        .map(|decision| step(decision, now))
        .collect();
    if args.dry_run {
        let format = output::data_format(args.output.as_deref());
        let text = plan::render(&["NAME", "STATE", "AGE"], &steps, format)?;
        return Ok(output::stdout(&text)?);
    }
    let (before_delete, copies) = deletion::system_backup_copies(&longhorn, args.keep_remote).await;
    let execution = Execution {
        kind: SYSTEM_BACKUP,
        flags: &args.deletion,
        nothing_to_do: format!(
            "Nothing to prune in namespace {}: the rules keep all {} SystemBackup(s).",
            longhorn.namespace(),
            steps.len()
        ),
        consequences: vec![copies],
        before_delete,
    };
    plan::carry_out(&longhorn, context.terminal, &steps, execution).await?;
    Ok(())
}

fn step(decision: Decision, now: Timestamp) -> Step {
    let taken = decision.taken.map(|t| t.to_string());
    let name = sb::name(&decision.backup).to_string();
    let state = sb::state(&decision.backup).to_string();
    let mut fields = serde_json::Map::new();
    fields.insert("name".into(), json!(name));
    fields.insert("state".into(), json!(state));
    fields.insert("takenAt".into(), json!(taken));
    Step {
        cells: vec![name, state, age(taken.as_deref(), now)],
        fields,
        deletes: decision.reason.prunes(),
        reason: decision.reason.describe(),
        object: decision.backup,
    }
}
