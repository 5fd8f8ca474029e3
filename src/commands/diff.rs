//! `diff A B` and `diff A --live`: how two system backups differ, or one backup and the
//! cluster now. Both bundles are read as Longhorn's rollout reads them (what it would
//! restore, per kind); `--live` compares against the bundle `create --local` would
//! build now (without volume backups), so both sides follow Longhorn's selection.
//! Only what a restore acts on is compared ([`crate::bundle::diff`]).

use std::path::Path;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use serde_json::json;
use tempfile::TempDir;

use super::Context;
use super::error::{Error, Result, Usage};
use super::shared::fetch;
use super::shared::names::system_backup_names;
use crate::bundle::diff::{self, Diff, ObjectSet};
use crate::bundle::inspect::restored_objects;
use crate::bundle::{self, Request};
use crate::kube::names::check_object_name;
use crate::longhorn::systembackup::VolumeBackupPolicy;
use crate::longhorn::{Longhorn, Reads};
use crate::output::file::FileError;
use crate::output::progress::Counters;
use crate::output::{self, AtomicFile, table};
use crate::store::{self, Location, Store};

/// The name the live side's bundle is built under (never uploaded or kept).
const LIVE: &str = "live";

#[derive(Debug, Args)]
#[command(after_help = "\
Examples:
  # What changed between last night's system backup and tonight's
  kubectl longhorn systembackup diff nightly-1 nightly-2

  # What changed in the cluster since a system backup, as data
  kubectl longhorn systembackup diff nightly-2 --live -o json")]
pub struct DiffArgs {
    /// The SystemBackup compared from
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub from: String,
    /// The SystemBackup compared to
    #[arg(conflicts_with = "live", add = ArgValueCompleter::new(system_backup_names))]
    pub to: Option<String>,
    /// Compare FROM with the cluster as it is now
    #[arg(long)]
    pub live: bool,
    /// Output format: json or yaml (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT", value_parser = ["json", "yaml"])]
    pub output: Option<String>,
    /// Where the NFS or SMB backup target is mounted on this machine
    #[arg(long, value_name = "DIR")]
    pub mount_path: Option<std::path::PathBuf>,
}

pub async fn run(context: &Context, args: &DiffArgs) -> Result<()> {
    if args.to.is_none() && !args.live {
        return Err(Usage::DiffNeedsSecond.into());
    }
    check_object_name("SystemBackup", &args.from)?;
    if let Some(to) = &args.to {
        check_object_name("SystemBackup", to)?;
    }
    let location = Location {
        url_override: None,
        mount_path: args.mount_path.as_deref(),
    };
    location.check()?;
    let reads = Reads {
        version: args.live,
        backup_target: true,
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    let (store, _) = store::open_cluster_target(&longhorn, location).await?;
    let to = async {
        match &args.to {
            Some(to) => backup_objects(&longhorn, &store, to).await,
            None => live_objects(&longhorn).await,
        }
    };
    let (from, to) = tokio::try_join!(backup_objects(&longhorn, &store, &args.from), to)?;
    let diff = diff::diff(&from, &to);
    let to_name = args.to.clone().unwrap_or_else(|| "the cluster now".into());
    let text = match output::data_format(args.output.as_deref()) {
        Some(format) => {
            let data = json!({"from": args.from, "to": args.to, "live": args.live, "diff": diff});
            output::structured(&data, format)?
        }
        None => render(&args.from, &to_name, &diff),
    };
    Ok(output::stdout(&text)?)
}

/// The objects SystemBackup `name` would restore, read from the backup target.
async fn backup_objects(longhorn: &Longhorn, store: &Store, name: &str) -> Result<ObjectSet> {
    let version = fetch::backup_version(longhorn, store, name).await?;
    let file = fetch::bundle_to_temp(store, &version, name).await?;
    read_objects(file.path(), name).await
}

/// The objects of the bundle `create --local` would build now, without volume backups.
async fn live_objects(longhorn: &Longhorn) -> Result<ObjectSet> {
    let dir = TempDir::new().map_err(|source| FileError::NotWritable {
        path: std::env::temp_dir(),
        source,
    })?;
    let request = Request {
        name: LIVE.to_string(),
        output: Some(dir.path().join(format!("{LIVE}.zip"))),
        force: false,
        policy: VolumeBackupPolicy::Disabled,
        timeout: None,
    };
    let file = AtomicFile::create(&bundle::output_path(LIVE, request.output.as_deref()), false)?;
    let counters = Counters::new(false);
    let outcome = bundle::build(longhorn, &request, file, &counters).await?;
    let objects = read_objects(&outcome.file, LIVE).await;
    drop(dir);
    objects
}

async fn read_objects(path: &Path, backup: &str) -> Result<ObjectSet> {
    let (path, backup) = (path.to_path_buf(), backup.to_string());
    let kinds = tokio::task::spawn_blocking(move || restored_objects(&path, &backup))
        .await
        .map_err(|source| Error::Internal {
            what: "reading a bundle",
            source,
        })??;
    Ok(ObjectSet::from_kinds(kinds))
}

/// Per kind, the objects added, removed and changed (with the changed fields), then the
/// totals; kinds without a difference are left out.
fn render(from: &str, to: &str, diff: &Diff) -> String {
    let mut rows = Vec::new();
    for kind in diff.kinds.iter().filter(|k| !k.is_empty()) {
        for name in &kind.removed {
            rows.push(vec![
                kind.kind.clone(),
                name.clone(),
                "removed".into(),
                String::new(),
            ]);
        }
        for name in &kind.added {
            rows.push(vec![
                kind.kind.clone(),
                name.clone(),
                "added".into(),
                String::new(),
            ]);
        }
        for changed in &kind.changed {
            for (i, change) in changed.changes.iter().enumerate() {
                let (kind_cell, name_cell, what) = if i == 0 {
                    (
                        kind.kind.clone(),
                        changed.name.clone(),
                        "changed".to_string(),
                    )
                } else {
                    (String::new(), String::new(), String::new())
                };
                rows.push(vec![kind_cell, name_cell, what, change.summary()]);
            }
        }
    }
    let totals = &diff.totals;
    let summary = format!(
        "From {from} to {to}: {} added, {} removed, {} changed, {} unchanged.\n",
        totals.added, totals.removed, totals.changed, totals.unchanged
    );
    if diff.is_empty() {
        return summary;
    }
    let mut text = table::render(&["KIND", "NAME", "DIFFERENCE", "FIELD"], rows, false);
    text.push_str(&summary);
    text
}
