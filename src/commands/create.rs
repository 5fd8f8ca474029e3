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
use crate::progress::Counters;
use crate::prompt;
use crate::session::Session;

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
        wait_for(
            session,
            namespace,
            &name,
            Target::Ready,
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
    if args.wait {
        return refuse("--wait", "the bundle is complete when the command returns");
    }
    if args.local.upload {
        return Err(Error::invalid(
            "--upload is not available yet; upload the bundle to the backup target yourself",
        ));
    }
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
    let outcome = built?;
    output::stdout(&summary::render_outcome(&outcome, format)?)?;
    if let Some(warning) = summary::unbacked_warning(&outcome.volumes_without_backup) {
        eprintln!("warning: {warning}");
    }
    Ok(())
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
