//! `describe NAME`: everything about one SystemBackup in one screen: spec, status,
//! conditions, the volume backups its policy produced, where it lives in the backup
//! target, and its events.

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use jiff::Timestamp;
use serde_json::Value;

use super::Context;
use super::error::Result;
use super::shared::names::system_backup_names;
use crate::kube::names::check_object_name;
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::longhorn::{Reads, events, volume_backups};
use crate::output;
use crate::output::age::age;
use crate::output::describe::{Describe, map_lines};

#[derive(Debug, Args)]
pub struct DescribeArgs {
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub name: String,
}

pub async fn run(context: &Context, args: &DescribeArgs) -> Result<()> {
    check_object_name("SystemBackup", &args.name)?;
    let longhorn = context.longhorn(Reads::default()).await?;
    let backup = SYSTEM_BACKUP.object(longhorn.namespace(), &args.name);
    let object = longhorn
        .kube()
        .get(&backup)
        .await
        .map_err(explain_missing(SYSTEM_BACKUP))?;
    let (events, backups, target) = tokio::join!(
        events::for_object(longhorn.kube(), &backup, sb::uid(&object)),
        volume_backups::produced_by(&longhorn, &object),
        longhorn.backup_target(),
    );
    let target_url = target?.map(|t| t.url.clone());
    output::stdout(&render(
        &object,
        &events?,
        &backups?,
        target_url,
        Timestamp::now(),
    ))?;
    Ok(())
}

pub fn render(
    object: &Value,
    events: &[Value],
    backups: &[volume_backups::VolumeBackup],
    target_url: Option<String>,
    now: Timestamp,
) -> String {
    let none = || "<none>".to_string();
    let text = |v: Option<&str>| v.map_or_else(none, str::to_string);
    let created = sb::creation_timestamp(object);
    let mut out = Describe::new();
    out.fields(
        0,
        &[
            ("Name", sb::name(object).to_string()),
            ("Namespace", sb::namespace(object).to_string()),
            ("Labels", map_lines(object.pointer("/metadata/labels"))),
            (
                "Created",
                created.map_or_else(none, |c| format!("{c} ({} ago)", age(Some(c), now))),
            ),
            (
                "Finalizers",
                object
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .map(|f| {
                        f.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .filter(|f| !f.is_empty())
                    .unwrap_or_else(none),
            ),
        ],
    );
    out.heading(0, "Spec")
        .fields(2, &[("Volume Backup Policy", text(sb::policy(object)))]);
    out.heading(0, "Status").fields(
        2,
        &[
            (
                "State",
                text(Some(sb::state(object)).filter(|s| !s.is_empty())),
            ),
            ("Version", text(sb::version(object))),
            (
                "Git Commit",
                text(
                    object
                        .pointer("/status/gitCommit")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty()),
                ),
            ),
            ("Manager Image", text(sb::manager_image(object))),
            ("Created At", text(sb::created_at(object))),
            ("Last Synced At", text(sb::last_synced_at(object))),
            ("Owner Node", text(sb::owner_node(object))),
            ("Recurring Job", text(sb::recurring_job(object))),
        ],
    );
    out.conditions(sb::conditions(object));
    let location = match (target_url.filter(|u| !u.is_empty()), sb::version(object)) {
        (Some(url), Some(version)) => sb::remote_location(&url, version, sb::name(object)),
        (None, _) => "<none> (the backup target is not set)".into(),
        (Some(_), None) => "<none> (not generated yet)".into(),
    };
    out.fields(0, &[("Remote Location", location)]);
    let rows = backups
        .iter()
        .map(|b| {
            vec![
                b.volume.clone(),
                b.snapshot.clone(),
                b.backup_state
                    .clone()
                    .unwrap_or_else(|| "skipped (up to date)".into()),
                age(Some(&b.created), now),
            ]
        })
        .collect();
    out.table(
        "Volume Backups",
        &["VOLUME", "SNAPSHOT/BACKUP", "BACKUP-STATE", "AGE"],
        rows,
    );
    out.table("Events", events::HEADERS, events::rows(events, now));
    out.finish()
}
