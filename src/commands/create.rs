//! `create [NAME]`: a SystemBackup, after checking that Longhorn will accept and can
//! complete it. On a terminal without NAME it asks for the name and the volume backup
//! policy, as the Longhorn UI's dialog does. With `--local` the bundle is built on this
//! machine instead (`bundle::build`).

use kube::api::PostParams;
use serde_json::{Value, json};

use crate::api;
use crate::bundle::{self, summary};
use crate::cli::{CreateArgs, DryRun, OutputTarget, VolumeBackupPolicy};
use crate::error::{Error, Result};
use crate::longhorn::install;
use crate::longhorn::resources::{GROUP, SYSTEM_BACKUP, VERSION};
use crate::longhorn::wait::{Target, wait_for};
use crate::names::check_object_name;
use crate::output::{self, Format};
use crate::progress::{Counters, Transfer};
use crate::prompt;
use crate::session::Session;
use crate::store::publish::{Destination, Uploaded};

pub async fn run(session: &Session, args: &CreateArgs) -> Result<()> {
    let (format, file) = split_output(&args.output)?;
    if file.is_some() && !args.local.local {
        return Err(Error::invalid(
            "-o/--output takes json, yaml, name or wide; a file only goes with --local",
        ));
    }
    let (name, policy) = name_and_policy(session, args)?;
    check_object_name("SystemBackup", &name)?;
    if args.local.local {
        return run_local(session, args, name, policy, format, file).await;
    }
    let namespace = session.namespace().await?;

    let resource = SYSTEM_BACKUP.api_resource();
    // --dry-run=server asks the API server and Longhorn's webhooks exactly what they
    // say; otherwise, everything Longhorn would reject or fail on is checked first.
    if args.dry_run != Some(DryRun::Server) {
        check_before_create(session, namespace, &name).await?;
    }

    let object = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SYSTEM_BACKUP.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"volumeBackupPolicy": policy.as_str()},
    });
    if args.dry_run == Some(DryRun::Client) {
        return print_created(&object, format, " (dry run)");
    }
    let params = PostParams {
        dry_run: args.dry_run == Some(DryRun::Server),
        field_manager: Some("kubectl-longhorn".into()),
    };
    let created = api::create(session, &resource, Some(namespace), &object, &params).await?;
    if params.dry_run {
        return print_created(&created, format, " (server dry run)");
    }
    print_created(&created, format, "")?;
    if args.wait {
        let uid = created.pointer("/metadata/uid").and_then(Value::as_str);
        wait_ready(session, args, namespace, &name, Target::Ready, uid, format).await?;
    }
    Ok(())
}

/// `create NAME --local`: the bundle, then its summary (stdout) and warnings (stderr).
async fn run_local(
    session: &Session,
    args: &CreateArgs,
    name: String,
    policy: VolumeBackupPolicy,
    format: Format,
    file: Option<std::path::PathBuf>,
) -> Result<()> {
    let refuse = |flag: &str, why: &str| {
        Err(Error::invalid(format!(
            "{flag} does not apply to --local: {why}"
        )))
    };
    if args.dry_run.is_some() {
        return refuse(
            "--dry-run",
            "it writes nothing to the cluster except volume backups; use --volume-backup-policy disabled to write nothing at all",
        );
    }
    if args.wait && !args.local.upload {
        return refuse(
            "--wait",
            "the bundle is complete when the command returns; --wait goes with --upload",
        );
    }
    // Everything the upload needs is checked before the bundle is built.
    let destination = match args.local.upload {
        true => Some(prepare_upload(session, args, &name).await?),
        false => None,
    };
    let request = bundle::Request {
        name,
        output: file,
        force: args.local.force,
        policy,
        timeout: args.timeout.as_limit(),
    };
    let counters = Counters::new(session.terminal.stderr);
    let built = bundle::build(session, &request, &counters).await;
    counters.clear();
    let mut outcome = built?;
    if let Some(destination) = &destination {
        outcome.uploaded = Some(upload(session, destination, &outcome).await?);
    }
    output::stdout(&summary::render_outcome(&outcome, format)?)?;
    if let Some(warning) = summary::unbacked_warning(&outcome.volumes_without_backup) {
        eprintln!("warning: {warning}");
    }
    if args.wait {
        // Longhorn creates the SystemBackup when it syncs, then reads the cfg.
        let target = Target::ReadyOnceSynced;
        wait_ready(
            session,
            args,
            &outcome.namespace,
            &outcome.name,
            target,
            None,
            format,
        )
        .await?;
    }
    Ok(())
}

/// `--wait`: until SystemBackup `name` is Ready, then kubectl's `condition met`.
async fn wait_ready(
    session: &Session,
    args: &CreateArgs,
    namespace: &str,
    name: &str,
    target: Target,
    uid: Option<&str>,
    format: Format,
) -> Result<()> {
    wait_for(
        session,
        namespace,
        name,
        target,
        args.timeout.as_limit(),
        uid,
    )
    .await?;
    if format == Format::Table {
        output::stdout(&format!(
            "{}/{name} condition met\n",
            SYSTEM_BACKUP.kind_group()
        ))?;
    }
    Ok(())
}

/// Opens the backup target and checks the name is free there and in the cluster.
async fn prepare_upload(session: &Session, args: &CreateArgs, name: &str) -> Result<Destination> {
    let namespace = session.namespace().await?;
    let destination = Destination::prepare(
        session,
        namespace,
        name,
        args.local.target.as_deref(),
        args.local.mount_path.as_deref(),
    )
    .await?;
    if args.wait && !destination.is_cluster_target {
        return Err(Error::invalid(format!(
            "--wait needs the cluster's own backup target: Longhorn lists only backups in BackupTarget \"default\", and {} is not it; drop --wait, or drop --target",
            destination.store.url.display()
        )));
    }
    Ok(destination)
}

/// Uploads the built bundle, with the bytes sent and the rate on a terminal.
async fn upload(
    session: &Session,
    destination: &Destination,
    outcome: &bundle::Outcome,
) -> Result<Uploaded> {
    let transfer = Transfer::new(
        format!("uploading {}", outcome.name),
        Some(outcome.bytes),
        session.terminal.stderr,
    );
    let uploaded = destination
        .publish(
            session,
            &outcome.name,
            &outcome.longhorn_version,
            &outcome.file,
            &outcome.sha256,
            |sent| transfer.set(sent, None),
        )
        .await;
    transfer.finish();
    // The bundle itself is complete: say where it is, so a retry need not rebuild it
    // from a cluster that may have changed.
    uploaded.map_err(|e| match e {
        Error::Store(message) => Error::Store(format!(
            "{message}; the bundle is kept in {} (retry with --force)",
            outcome.file.display()
        )),
        other => other,
    })
}

/// Refuses, before writing anything, what Longhorn would reject or fail on: no
/// Longhorn here, a backup target unset or unavailable, no RBAC, the name taken.
async fn check_before_create(session: &Session, namespace: &str, name: &str) -> Result<()> {
    let version = install::version(session, namespace).await?;
    let resource = SYSTEM_BACKUP.api_resource();
    let (_target, (), existing) = tokio::try_join!(
        install::check_backup_target(session, namespace, version),
        install::check_access(session, namespace, "create", SYSTEM_BACKUP.plural),
        api::get_opt(session, &resource, Some(namespace), name),
    )?;
    if existing.is_some() {
        return Err(Error::invalid(format!(
            "systembackup {name:?} already exists in namespace {namespace}; choose another name, or delete it first (kubectl longhorn systembackup delete {name})"
        )));
    }
    Ok(())
}

/// `-o` may carry one format and (with --local) one file.
pub fn split_output(targets: &[OutputTarget]) -> Result<(Format, Option<std::path::PathBuf>)> {
    let mut format = None;
    let mut file = None;
    for target in targets {
        match target {
            OutputTarget::Format(f) if format.is_none() => format = Some(*f),
            OutputTarget::File(path) if file.is_none() => file = Some(path.clone()),
            _ => {
                return Err(Error::invalid(
                    "give -o/--output at most twice: one format (json, yaml, name, wide) and one file",
                ));
            }
        }
    }
    Ok((Format::from(format), file))
}

/// NAME and policy from the flags, or asked for on a terminal.
fn name_and_policy(session: &Session, args: &CreateArgs) -> Result<(String, VolumeBackupPolicy)> {
    if let Some(name) = &args.name {
        return Ok((
            name.clone(),
            args.volume_backup_policy
                .unwrap_or(VolumeBackupPolicy::IfNotPresent),
        ));
    }
    if !session.terminal.can_prompt() {
        return Err(Error::invalid(
            "a NAME is required when not on a terminal: kubectl longhorn systembackup create NAME",
        ));
    }
    let name = prompt::text("Name", |input| {
        check_object_name("SystemBackup", input).map_err(|e| e.to_string())
    })?;
    let policy = match args.volume_backup_policy {
        Some(policy) => policy,
        None => {
            let choices = [
                "if-not-present: back up volumes whose last backup is missing or outdated",
                "always: back up every volume",
                "disabled: no volume backups",
            ];
            match prompt::choose("Volume backup policy", &choices, 0)? {
                1 => VolumeBackupPolicy::Always,
                2 => VolumeBackupPolicy::Disabled,
                _ => VolumeBackupPolicy::IfNotPresent,
            }
        }
    };
    Ok((name, policy))
}

/// kubectl's `created` line, or the object in the `-o` format.
fn print_created(object: &Value, format: Format, suffix: &str) -> Result<()> {
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = match format {
        Format::Json | Format::Yaml => output::render_objects(vec![object.clone()], true, format)?,
        Format::Name => output::render_names(SYSTEM_BACKUP, [name]),
        Format::Table | Format::Wide => {
            format!("{}/{name} created{suffix}\n", SYSTEM_BACKUP.kind_group())
        }
    };
    output::stdout(&text)
}
