//! `create NAME --local [--upload]`: the bundle built on this machine
//! ([`crate::bundle::build`]), then, with `--upload`, put in the backup target
//! ([`crate::store::publish`]); the command composes the two. Its summary goes to
//! stdout, warnings to stderr.

use std::path::PathBuf;

use super::CreateArgs;
use crate::bundle::inspect::unbacked_warning;
use crate::bundle::{self, Outcome};
use crate::commands::Context;
use crate::commands::error::{Result, Usage};
use crate::commands::shared::created::{WaitFlags, wait_ready};
use crate::longhorn::resources::SETTING_DEFAULT_ENGINE_IMAGE;
use crate::longhorn::wait::Target;
use crate::longhorn::{Longhorn, Reads};
use crate::output::describe::Describe;
use crate::output::progress::{Counters, Transfer};
use crate::output::{self, Format, human_bytes, table};
use crate::store::publish::{Bundle, Destination, Uploaded};
use crate::store::{self, Location};

/// What the command line asked for, resolved.
pub(super) struct Local {
    pub name: String,
    pub policy: crate::longhorn::systembackup::VolumeBackupPolicy,
    pub format: Format,
    pub file: Option<PathBuf>,
}

pub(super) async fn run(context: &Context, args: &CreateArgs, local: Local) -> Result<()> {
    if args.dry_run.is_some() {
        return Err(Usage::NotWithLocal {
            flag: "--dry-run",
            why: "it writes nothing to the cluster except volume backups; use --volume-backup-policy disabled to write nothing at all",
        }
        .into());
    }
    if args.wait && !args.local.upload {
        return Err(Usage::NotWithLocal {
            flag: "--wait",
            why: "the bundle is complete when the command returns; --wait goes with --upload",
        }
        .into());
    }
    if args.local.upload {
        location(args).check()?;
    }
    let request = bundle::Request {
        name: local.name,
        output: local.file,
        force: args.local.force,
        policy: local.policy,
        timeout: args.timeout.as_limit(),
    };
    // The file problems come before anything is sent.
    let output_file = bundle::open_output(&request)?;
    let upload = args.local.upload;
    let reads = Reads {
        version: true,
        backup_target: upload,
        settings: if upload {
            &[SETTING_DEFAULT_ENGINE_IMAGE]
        } else {
            &[]
        },
    };
    let longhorn = context.longhorn(reads).await?;
    // Everything the upload needs is checked before the bundle is built.
    let destination = match upload {
        true => Some(prepare_upload(&longhorn, args, &request.name).await?),
        false => None,
    };
    let counters = Counters::new(context.terminal.stderr);
    let built = bundle::build(&longhorn, &request, output_file, &counters).await;
    counters.clear();
    let outcome = built?;
    let uploaded = match &destination {
        Some(destination) => {
            Some(upload_bundle(&longhorn, destination, &outcome, context.terminal.stderr).await?)
        }
        None => None,
    };
    output::stdout(&render(&outcome, uploaded.as_ref(), local.format)?)?;
    if let Some(warning) = unbacked_warning(&outcome.volumes_without_backup) {
        eprintln!("warning: {warning}");
    }
    if args.wait {
        // Longhorn creates the SystemBackup when it syncs, then reads the cfg.
        let flags = WaitFlags {
            timeout: args.timeout,
            format: local.format,
            live: context.terminal.stderr,
        };
        wait_ready(
            &longhorn,
            &outcome.name,
            Target::ReadyOnceSynced,
            None,
            &flags,
        )
        .await?;
    }
    Ok(())
}

/// Opens the backup target and checks the name is free there and in the cluster.
async fn prepare_upload(longhorn: &Longhorn, args: &CreateArgs, name: &str) -> Result<Destination> {
    let destination = Destination::prepare(longhorn, name, location(args)).await?;
    if args.wait && !destination.is_cluster_target {
        return Err(Usage::WaitNeedsClusterTarget(destination.store.url.display()).into());
    }
    Ok(destination)
}

/// Where `--upload` goes: `--target` (else the cluster's), `--mount-path`.
fn location(args: &CreateArgs) -> Location<'_> {
    Location {
        url_override: args.local.target.as_deref(),
        mount_path: args.local.mount_path.as_deref(),
    }
}

/// Uploads the built bundle, with the bytes sent and the rate on a terminal.
async fn upload_bundle(
    longhorn: &Longhorn,
    destination: &Destination,
    outcome: &Outcome,
    live: bool,
) -> Result<Uploaded> {
    let transfer = Transfer::new(
        format!("uploading {}", outcome.name),
        Some(outcome.bytes),
        live,
    );
    let bundle = Bundle {
        name: &outcome.name,
        version: &outcome.longhorn_version,
        zip: &outcome.file,
        checksum: &outcome.sha256,
    };
    let uploaded = destination
        .publish(longhorn, &bundle, |sent| transfer.set(sent, None))
        .await;
    transfer.finish();
    // The bundle itself is complete: say where it is, so a retry need not rebuild it
    // from a cluster that may have changed.
    uploaded.map_err(|e| match e {
        e if e.is_access() => store::Error::UploadFailed {
            kept: outcome.file.clone(),
            source: Box::new(e),
        }
        .into(),
        other => other.into(),
    })
}

/// The summary: the bundle's files, then what was built and where it went; or the same
/// as data with `-o json|yaml`.
fn render(outcome: &Outcome, uploaded: Option<&Uploaded>, format: Format) -> Result<String> {
    /// The outcome with where the upload went, as one object.
    #[derive(serde::Serialize)]
    struct Summary<'a> {
        #[serde(flatten)]
        outcome: &'a Outcome,
        #[serde(skip_serializing_if = "Option::is_none")]
        uploaded: Option<&'a Uploaded>,
    }
    let text = match format {
        Format::Json | Format::Yaml => output::structured(&Summary { outcome, uploaded }, format)?,
        Format::Name => format!("{}\n", outcome.file.display()),
        Format::Table | Format::Wide => render_table(outcome, uploaded, format == Format::Wide),
    };
    Ok(text)
}

fn render_table(outcome: &Outcome, uploaded: Option<&Uploaded>, wide: bool) -> String {
    let rows = outcome
        .files
        .iter()
        .map(|f| {
            let mut row = vec![f.path.clone(), f.kind.clone(), f.count.to_string()];
            if wide {
                row.insert(2, f.api_version.clone());
            }
            row
        })
        .collect();
    let headers: &[&str] = if wide {
        &["FILE", "KIND", "API-VERSION", "COUNT"]
    } else {
        &["FILE", "KIND", "COUNT"]
    };
    let mut text = table::render(headers, rows, false);
    let backups = &outcome.volume_backups;
    let mut fields = vec![
        ("Name", outcome.name.clone()),
        (
            "Longhorn",
            format!(
                "{} (namespace {})",
                outcome.longhorn_version, outcome.namespace
            ),
        ),
    ];
    if outcome.volume_backup_policy != "disabled" {
        fields.push((
            "Volume backups",
            format!(
                "{}: {} created, {} up to date, {} skipped (standby or linked clone)",
                outcome.volume_backup_policy,
                backups.backups.len(),
                backups.up_to_date.len(),
                backups.skipped.len()
            ),
        ));
    }
    fields.push((
        "Bundle",
        format!(
            "{} ({}, {} bytes)",
            outcome.file.display(),
            human_bytes(outcome.bytes),
            outcome.bytes
        ),
    ));
    fields.push(("SHA-256", outcome.sha256.clone()));
    if let Some(uploaded) = uploaded {
        let sync = match &uploaded.sync_requested_at {
            Some(at) => format!("Longhorn asked to sync at {at}"),
            None => "not the cluster's backup target: Longhorn will not list it".into(),
        };
        fields.push(("Uploaded", format!("{} ({sync})", uploaded.location)));
    }
    text.push('\n');
    text.push_str(&Describe::new().fields(0, &fields).finish());
    text
}
