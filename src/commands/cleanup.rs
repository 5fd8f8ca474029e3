//! `cleanup snapshots`: deletes the `system-backup-*` Snapshots that Longhorn's volume
//! backup policy leaves behind once they are backed up or unused
//! ([`crate::longhorn::snapshot_cleanup`] decides), after a confirmation that lists
//! what goes and why the rest stays, and says how much space they hold.

use clap::{Args, Subcommand};
use jiff::Timestamp;
use serde_json::json;

use super::Context;
use super::error::Result;
use super::shared::deletion::DeletionFlags;
use super::shared::plan::{self, Execution, Step};
use crate::go::HumanDuration;
use crate::kube::names::check_object_names;
use crate::kube::object;
use crate::longhorn::Reads;
use crate::longhorn::resources::SNAPSHOT;
use crate::longhorn::snapshot_cleanup::{self, Decision, Scope};
use crate::output::age::age;
use crate::output::{self, human_bytes};

#[derive(Debug, Subcommand)]
pub enum CleanupCommand {
    /// Delete the system-backup-* Snapshots whose backup is Completed or that no backup
    /// uses, after showing the plan
    Snapshots(SnapshotsArgs),
}

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # What would go, what stays, and why
  kubectl longhorn systembackup cleanup snapshots --dry-run

  # Delete those of two volumes taken more than a week ago, without asking
  kubectl longhorn systembackup cleanup snapshots --volume pvc-1,pvc-2 --older-than 168h -y")]
pub struct SnapshotsArgs {
    /// Only the snapshots of these volumes (comma-separated, or repeated)
    #[arg(long = "volume", value_name = "VOLUME", value_delimiter = ',')]
    pub volumes: Vec<String>,
    /// Only the snapshots taken longer ago than this, e.g. 168h (7 days)
    #[arg(long, value_name = "DURATION")]
    pub older_than: Option<HumanDuration>,
    /// Show the plan (what goes, what stays, and why); delete nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Output format of the --dry-run plan: json or yaml (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["json", "yaml"], requires = "dry_run")]
    pub output: Option<String>,
    #[command(flatten)]
    pub deletion: DeletionFlags,
}

pub async fn run(context: &Context, command: &CleanupCommand) -> Result<()> {
    match command {
        CleanupCommand::Snapshots(args) => snapshots(context, args).await,
    }
}

async fn snapshots(context: &Context, args: &SnapshotsArgs) -> Result<()> {
    check_object_names("Volume", &args.volumes)?;
    let scope = Scope {
        volumes: args.volumes.clone(),
        older_than: args.older_than.map(|d| d.0),
    };
    let longhorn = context.longhorn(Reads::default()).await?;
    let (snapshots, backups) = snapshot_cleanup::read(&longhorn).await?;
    let now = Timestamp::now();
    let plan = snapshot_cleanup::plan(&snapshots, &backups, &scope, now);
    if plan.is_empty() {
        eprintln!(
            "No system-backup snapshots in namespace {}{}.",
            longhorn.namespace(),
            match args.volumes.as_slice() {
                [] => String::new(),
                volumes => format!(" for volume(s) {}", volumes.join(", ")),
            }
        );
        return Ok(());
    }
    let steps: Vec<Step> = plan
        .into_iter()
        .map(|decision| step(decision, now))
        .collect();
    if args.dry_run {
        let format = output::data_format(args.output.as_deref());
        let text = plan::render(&["NAME", "VOLUME", "SIZE", "AGE"], &steps, format)?;
        return Ok(output::stdout(&text)?);
    }
    let held: u64 = steps
        .iter()
        .filter(|s| s.deletes)
        .map(|s| s.fields["size"].as_u64().unwrap_or_default())
        .sum();
    let execution = Execution {
        kind: SNAPSHOT,
        flags: &args.deletion,
        nothing_to_do: format!(
            "Nothing to clean up in namespace {}: all {} system-backup snapshot(s) stay.",
            longhorn.namespace(),
            steps.len()
        ),
        consequences: vec![format!(
            "They hold {} of snapshot data, which Longhorn frees as it purges them; their volumes and backups stay.",
            human_bytes(held)
        )],
        before_delete: None,
    };
    let deleted = plan::carry_out(&longhorn, context.terminal, &steps, execution).await?;
    if deleted > 0 {
        output::stdout(&format!(
            "{deleted} snapshot(s) deleted, {} of snapshot data freed\n",
            human_bytes(held)
        ))?;
    }
    Ok(())
}

fn step(decision: Decision, now: Timestamp) -> Step {
    let taken = decision.taken.map(|t| t.to_string());
    let name = object::name(&decision.snapshot).to_string();
    let mut fields = serde_json::Map::new();
    fields.insert("name".into(), json!(name));
    fields.insert("volume".into(), json!(decision.volume));
    fields.insert("size".into(), json!(decision.size));
    fields.insert("takenAt".into(), json!(taken));
    Step {
        cells: vec![
            name,
            decision.volume,
            human_bytes(decision.size),
            age(taken.as_deref(), now),
        ],
        fields,
        deletes: decision.reason.deletes(),
        reason: decision.reason.describe(),
        object: decision.snapshot,
    }
}
