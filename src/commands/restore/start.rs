//! `restore NAME`, in three steps: check what Longhorn leaves to the user (the backup
//! Ready, the versions, volumes detached, no restore running, the backup target
//! usable), plan (what the backup's cfg and bundle say will be restored, shown before
//! the question), and act (the SystemRestore, followed with `--wait`).

use jiff::Timestamp;
use serde_json::Value;

use super::RestoreArgs;
use crate::bundle::inspect::{RestoredContents, restored_contents};
use crate::commands::Context;
use crate::commands::error::{Error, Result, Usage};
use crate::commands::shared::fetch;
use crate::commands::shared::listing::or_none;
use crate::kube::names::check_object_name;
use crate::longhorn::backup_target::check_usable;
use crate::longhorn::resources::SYSTEM_RESTORE;
use crate::longhorn::restore::EngineImageStep;
use crate::longhorn::systembackup as sb;
use crate::longhorn::{Longhorn, Reads, restore};
use crate::output::{self, prompt};
use crate::store::{self, Location, Store, SystemBackupConfig};

pub(super) async fn run(context: &Context, args: &RestoreArgs) -> Result<()> {
    let backup_name = args.backup.as_deref().ok_or(Usage::NoBackupNamed)?;
    check_object_name("SystemBackup", backup_name)?;
    Location {
        url_override: None,
        mount_path: args.mount_path.as_deref(),
    }
    .check()?;
    let reads = Reads {
        version: true,
        backup_target: true,
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    let checked = check(&longhorn, backup_name, args.allow_version_skew).await?;
    let plan = plan(&longhorn, backup_name, args, checked).await?;
    let text = plan.describe(longhorn.namespace(), backup_name);
    let ask = !args.yes && context.terminal.can_prompt();
    if !ask {
        // No question is drawn: the plan still goes to the log.
        eprint!("{text}");
    }
    if !prompt::confirm(
        context.terminal,
        &format!("{text}Start the restore?"),
        args.yes,
    )? {
        return Err(Usage::Cancelled("restored").into());
    }
    act(context, &longhorn, backup_name, args).await
}

/// What the checks found: the backup, and notes for the plan.
struct Checked {
    backup: Value,
    notes: Vec<String>,
}

/// Refuses what Longhorn would reject, or accept and then fail or never start.
async fn check(longhorn: &Longhorn, backup_name: &str, allow_skew: bool) -> Result<Checked> {
    let cluster_version = longhorn.version().await?;
    let backup = restore::ready_backup(longhorn, backup_name).await?;
    let mut notes = Vec::new();
    if let Some(note) = restore::check_version(&backup, cluster_version, allow_skew)? {
        notes.push(note);
    }
    restore::check_volumes_detached(longhorn).await?;
    restore::check_no_restore_running(longhorn).await?;
    // Longhorn's restore controller does nothing while the target is unreachable.
    check_usable(longhorn)
        .await
        .map_err(|e| crate::longhorn::Error::TargetBlocksRestore(Box::new(e)))?;
    Ok(Checked { backup, notes })
}

/// What the restore will do, as far as this machine can read it.
struct Plan {
    version: String,
    created: String,
    /// The images the backup's cfg names for the restore.
    config: Option<SystemBackupConfig>,
    /// What the bundle restores.
    contents: Option<RestoredContents>,
    notes: Vec<String>,
}

/// Reads the cfg in the backup target (the images the restore runs with; its engine
/// image must be deployed) and the zip (what it restores). A target this machine
/// cannot read is a note, not a refusal.
async fn plan(
    longhorn: &Longhorn,
    backup_name: &str,
    args: &RestoreArgs,
    checked: Checked,
) -> Result<Plan> {
    let Checked { backup, mut notes } = checked;
    let version = sb::version(&backup).unwrap_or_default().to_string();
    let location = Location {
        url_override: None,
        mount_path: args.mount_path.as_deref(),
    };
    let (config, contents) = match store::open_cluster_target(longhorn, location).await {
        Ok((store, _)) => {
            let config = store.config(&version, backup_name).await?.ok_or_else(|| {
                store::Error::NotRestorable {
                    name: backup_name.to_string(),
                    url: store.url.display(),
                }
            })?;
            match restore::engine_image_step(longhorn, &config.engine_image).await? {
                EngineImageStep::Ready => {}
                EngineImageStep::Deploy => notes.push(format!(
                    "Longhorn will deploy engine image {} first; the restore waits for it",
                    config.engine_image
                )),
                EngineImageStep::WaitFor(state) => notes.push(format!(
                    "engine image {} is {state}; the restore waits until it is deployed",
                    config.engine_image
                )),
            }
            let contents = read_bundle(&store, &version, backup_name).await?;
            (Some(config), Some(contents))
        }
        Err(e) => {
            notes.push(format!(
                "the backup target could not be read here ({e}); the engine image and the bundle were not checked"
            ));
            (None, None)
        }
    };
    Ok(Plan {
        version,
        created: or_none(sb::created_at(&backup)),
        config,
        contents,
        notes,
    })
}

impl Plan {
    /// The plan as the question shows it.
    fn describe(&self, namespace: &str, backup_name: &str) -> String {
        let mut plan = format!(
            "Restore the Longhorn system in namespace {namespace} from systembackup {backup_name:?}:\n"
        );
        plan.push_str(&format!(
            "  Taken with:    Longhorn {}, created {}\n",
            self.version, self.created
        ));
        if let Some(config) = &self.config {
            plan.push_str(&format!(
                "  Engine image:  {} (deployed)\n  Manager image: {}\n",
                config.engine_image, config.manager_image
            ));
        }
        match &self.contents {
            Some(contents) => {
                plan.push_str("  Restores (objects in the bundle, in restore order):\n");
                for (kind, count) in &contents.kinds {
                    plan.push_str(&format!("    {kind:<25} {count}\n"));
                }
            }
            None => plan.push_str("  Restores:      CRDs, Longhorn settings, engine images, volumes, recurring jobs, backing images, backup targets,\n                 and Longhorn's DaemonSets, Deployments, Services, ConfigMaps, RBAC, StorageClasses, PVs and PVCs\n"),
        }
        plan.push_str("Existing volumes, PVs and PVCs are not overwritten.\n");
        for note in &self.notes {
            plan.push_str(&format!("Note: {note}\n"));
        }
        plan
    }
}

/// Creates the SystemRestore and, with `--wait`, follows it to Completed.
async fn act(
    context: &Context,
    longhorn: &Longhorn,
    backup_name: &str,
    args: &RestoreArgs,
) -> Result<()> {
    let name = restore::restore_name(backup_name, Timestamp::now());
    restore::create(longhorn, &name, backup_name).await?;
    output::stdout(&format!("{} created\n", SYSTEM_RESTORE.named(&name)))?;
    if !args.wait {
        return Ok(());
    }
    let live = context.terminal.stderr;
    restore::wait_completed(longhorn, &name, args.timeout.as_limit(), live).await?;
    output::stdout(&output::condition_met(&SYSTEM_RESTORE.kind_group(), &name))?;
    Ok(())
}

/// Downloads the backup's zip to a temporary file and reads what it restores.
async fn read_bundle(store: &Store, version: &str, backup: &str) -> Result<RestoredContents> {
    let file = fetch::bundle_to_temp(store, version, backup).await?;
    let backup = backup.to_string();
    let contents = tokio::task::spawn_blocking(move || {
        let contents = restored_contents(file.path(), &backup);
        drop(file);
        contents
    })
    .await
    .map_err(|source| Error::Internal {
        what: "reading the bundle",
        source,
    })??;
    Ok(contents)
}
