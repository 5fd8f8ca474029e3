//! `restore NAME`: a SystemRestore from a SystemBackup, after the checks Longhorn
//! leaves to the user; and `restore list|get|describe|delete` for SystemRestores.

use jiff::Timestamp;
use kube::api::PostParams;
use serde_json::{Value, json};

use crate::api;
use crate::cli::{RestoreArgs, RestoreCommand};
use crate::deletion::{self, Request, Targets};
use crate::error::{Error, Result};
use crate::listing::{self, Columns, RowContext, or_none};
use crate::longhorn::resources::{GROUP, SYSTEM_RESTORE, VERSION};
use crate::longhorn::restore::{self, STATE_COMPLETED, STATE_ERROR};
use crate::longhorn::systembackup as sb;
use crate::longhorn::{events, install};
use crate::object;
use crate::output::age::age;
use crate::output::describe::{Describe, map_lines};
use crate::output::{self};
use crate::progress::StateProgress;
use crate::prompt;
use crate::session::Session;
use crate::store;
use crate::style::state_cell;
use crate::watch::{self, Step};

pub const COLUMNS: Columns<'static> = Columns {
    headers: &["NAME", "BACKUP", "STATE", "AGE"],
    wide_headers: &["OWNER", "MESSAGE"],
    row: &row,
};

fn row(object: &Value, context: &RowContext) -> Vec<String> {
    let mut row = vec![
        object::name(object).to_string(),
        or_none(Some(restore::backup_name(object))),
        state_cell(restore::state(object), context.color),
        age(object::creation_timestamp(object), context.now),
    ];
    if context.wide {
        row.extend([
            or_none(object::str_at(object, "/status/ownerID")),
            or_none(sb::error_message(object)),
        ]);
    }
    row
}

pub async fn run(session: &Session, args: &RestoreArgs) -> Result<()> {
    match &args.command {
        Some(RestoreCommand::List(list)) => {
            listing::run(session, SYSTEM_RESTORE, &list.names, &list.output, &COLUMNS).await
        }
        Some(RestoreCommand::Describe(describe)) => describe_restore(session, &describe.name).await,
        Some(RestoreCommand::Delete(delete)) => {
            let request = Request {
                kind: SYSTEM_RESTORE,
                targets: Targets::Names(&delete.names),
                yes: delete.yes,
                wait: Some(None),
                before_delete: None,
                consequences: vec!["What a restore already restored stays.".into()],
            };
            deletion::run(session, request).await
        }
        None => start(session, args).await,
    }
}

async fn start(session: &Session, args: &RestoreArgs) -> Result<()> {
    let backup_name = args
        .backup
        .as_deref()
        .ok_or_else(|| Error::invalid("name the SystemBackup to restore from"))?;
    let namespace = session.namespace().await?;
    let cluster_version = install::version(session, namespace).await?;
    let backup = restore::ready_backup(session, namespace, backup_name).await?;
    let mut notes = Vec::new();
    if let Some(note) = restore::check_version(&backup, cluster_version, args.allow_version_skew)? {
        notes.push(note);
    }
    restore::check_volumes_detached(session, namespace).await?;
    restore::check_no_restore_running(session, namespace).await?;
    // Longhorn's restore controller does nothing while the target is unreachable.
    install::check_backup_target(session, namespace, cluster_version)
        .await
        .map_err(|e| {
            Error::invalid(format!(
                "{e}; Longhorn's restore would not start until it is"
            ))
        })?;

    // The cfg in the backup target names the images the restore runs with; the zip
    // says what it restores.
    let version = sb::version(&backup).unwrap_or_default().to_string();
    let (config, contents) = match store::open_cluster_target(
        session,
        namespace,
        None,
        args.mount_path.as_deref(),
    )
    .await
    {
        Ok((store, _)) => {
            let config = store.config(&version, backup_name).await?.ok_or_else(|| {
                Error::Store(format!(
                    "systembackup {backup_name:?} has no system-backup.cfg in the backup target ({}): Longhorn cannot restore it (its upload never finished, or it was deleted there)",
                    store.url.display()
                ))
            })?;
            restore::check_engine_image(session, namespace, &config.engine_image).await?;
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

    let mut plan = format!(
        "Restore the Longhorn system in namespace {namespace} from systembackup {backup_name:?}:\n"
    );
    plan.push_str(&format!(
        "  Taken with:    Longhorn {version}, created {}\n",
        or_none(sb::created_at(&backup))
    ));
    if let Some(config) = &config {
        plan.push_str(&format!(
            "  Engine image:  {} (deployed)\n  Manager image: {}\n",
            config.engine_image, config.manager_image
        ));
    }
    match &contents {
        Some(contents) => {
            plan.push_str("  Restores (objects in the bundle, in restore order):\n");
            for (kind, count) in &contents.kinds {
                plan.push_str(&format!("    {kind:<25} {count}\n"));
            }
        }
        None => plan.push_str("  Restores:      CRDs, Longhorn settings, engine images, volumes, recurring jobs, backing images, backup targets,\n                 and Longhorn's DaemonSets, Deployments, Services, ConfigMaps, RBAC, StorageClasses, PVs and PVCs\n"),
    }
    plan.push_str("Existing volumes, PVs and PVCs are not overwritten.\n");
    for note in &notes {
        plan.push_str(&format!("Note: {note}\n"));
    }
    let ask = !args.yes && session.terminal.can_prompt();
    if !ask {
        // No question is drawn: the plan still goes to the log.
        eprint!("{plan}");
    }
    if !prompt::confirm(
        session.terminal,
        &format!("{plan}Start the restore?"),
        args.yes,
    )? {
        return Err(Error::invalid("cancelled; nothing was restored"));
    }

    let name = restore::restore_name(backup_name, Timestamp::now());
    let object = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SYSTEM_RESTORE.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"systemBackup": backup_name},
    });
    let params = PostParams {
        dry_run: false,
        field_manager: Some("kubectl-longhorn".into()),
    };
    api::create(
        session,
        &SYSTEM_RESTORE.api_resource(),
        Some(namespace),
        &object,
        &params,
    )
    .await?;
    output::stdout(&format!("{}/{name} created\n", SYSTEM_RESTORE.kind_group()))?;
    if !args.wait {
        return Ok(());
    }
    follow(session, namespace, &name, args.timeout.as_limit()).await?;
    output::stdout(&format!(
        "{}/{name} condition met\n",
        SYSTEM_RESTORE.kind_group()
    ))
}

/// Downloads the backup's zip to a temporary file and reads what it restores.
async fn read_bundle(
    store: &store::Store,
    version: &str,
    backup: &str,
) -> Result<restore::BundleContents> {
    use std::io::Write;
    let mut file = tempfile::NamedTempFile::new()
        .map_err(Error::io("creating a temporary file for the bundle"))?;
    store
        .download(
            version,
            backup,
            |chunk| {
                file.write_all(chunk)
                    .map_err(Error::io("writing the bundle to a temporary file"))
            },
            |_, _| {},
        )
        .await?;
    let backup = backup.to_string();
    tokio::task::spawn_blocking(move || {
        let contents = restore::read_bundle(file.path(), &backup);
        drop(file);
        contents
    })
    .await
    .map_err(|e| Error::invalid(format!("reading the bundle: {e}")))?
}

/// Pending → Downloading → Unpacking → Restoring → Completed, failing fast on Error.
async fn follow(
    session: &Session,
    namespace: &str,
    name: &str,
    timeout: Option<std::time::Duration>,
) -> Result<()> {
    let mut progress = StateProgress::new(
        format!("{}/{name}", SYSTEM_RESTORE.kind_group()),
        session.terminal.stderr,
    );
    let outcome = watch::until(
        session,
        &SYSTEM_RESTORE.api_resource(),
        namespace,
        name,
        timeout,
        &format!("{}/{name}", SYSTEM_RESTORE.plural),
        |object| match object {
            None => Step::Fail(Error::invalid(format!(
                "{}/{name} was deleted while waiting",
                SYSTEM_RESTORE.kind_group()
            ))),
            Some(object) => {
                progress.observe(restore::state(object));
                match restore::state(object) {
                    STATE_COMPLETED => Step::Done(()),
                    STATE_ERROR => Step::Fail(Error::invalid(format!(
                        "{}/{name} failed: {}",
                        SYSTEM_RESTORE.kind_group(),
                        sb::error_message(object).unwrap_or("no error message was recorded")
                    ))),
                    _ => Step::Continue,
                }
            }
        },
    )
    .await;
    progress.finish();
    outcome
}

async fn describe_restore(session: &Session, name: &str) -> Result<()> {
    let namespace = session.namespace().await?;
    let object = api::get(
        session,
        &SYSTEM_RESTORE.api_resource(),
        Some(namespace),
        name,
    )
    .await
    .map_err(install::explain_missing(SYSTEM_RESTORE))?;
    let events = events::for_object(
        session,
        namespace,
        SYSTEM_RESTORE.kind,
        name,
        object::uid(&object),
    )
    .await?;
    let now = Timestamp::now();
    let mut out = Describe::new();
    out.fields(
        0,
        &[
            ("Name", name.to_string()),
            ("Namespace", namespace.to_string()),
            ("Labels", map_lines(object.pointer("/metadata/labels"))),
            (
                "Created",
                object::creation_timestamp(&object).map_or_else(
                    || or_none(None),
                    |c| format!("{c} ({} ago)", age(Some(c), now)),
                ),
            ),
        ],
    );
    out.heading(0, "Spec").fields(
        2,
        &[(
            "System Backup",
            or_none(Some(restore::backup_name(&object))),
        )],
    );
    out.heading(0, "Status").fields(
        2,
        &[
            ("State", or_none(Some(restore::state(&object)))),
            (
                "Source URL",
                or_none(object::str_at(&object, "/status/sourceURL")),
            ),
            (
                "Owner Node",
                or_none(object::str_at(&object, "/status/ownerID")),
            ),
        ],
    );
    out.conditions(sb::conditions(&object));
    out.table("Events", events::HEADERS, events::rows(&events, now));
    output::stdout(&out.finish())
}
