//! `schedule list` and `schedule describe`: the jobs as a table with their next run,
//! and one job in full (its CronJob, next runs, the backups it owns and which of them
//! the next run's retention deletes).

use jiff::Timestamp;
use serde_json::Value;

use super::ScheduleListArgs;
use crate::commands::Context;
use crate::commands::error::Result;
use crate::commands::shared::listing::{self, Columns, Listing, RowContext, or_none};
use crate::kube::{Collection, object};
use crate::longhorn::install::explain_missing;
use crate::longhorn::recurring::schedule::JobFacts;
use crate::longhorn::recurring::{self, TASK, retention};
use crate::longhorn::resources::{RECURRING_JOB, cron_jobs};
use crate::longhorn::systembackup as sb;
use crate::longhorn::{LonghornVersion, Reads, events};
use crate::output;
use crate::output::age::age;
use crate::output::describe::{Describe, map_lines};
use crate::output::style::state_cell;

pub(super) async fn list(context: &Context, args: &ScheduleListArgs) -> Result<()> {
    let longhorn = context.longhorn(Reads::default()).await?;
    let mut fetched = listing::fetch(
        &longhorn,
        RECURRING_JOB,
        &args.names,
        args.output.selector.clone(),
    )
    .await?;
    if !args.all_tasks && args.names.is_empty() {
        fetched.objects.retain(|job| recurring::task(job) == TASK);
    }
    let facts = JobFacts::load(&longhorn).await?;
    let row = |job: &Value, context: &RowContext| {
        let name = object::name(job);
        let owned = retention::owned_oldest_first(&facts.backups, name);
        let newest = owned
            .iter()
            .max_by_key(|b| object::creation_timestamp(b).unwrap_or_default());
        let mut row = vec![
            name.to_string(),
            recurring::cron(job).to_string(),
            facts
                .next_runs(job, 1)
                .into_iter()
                .next()
                .unwrap_or_else(|| "<none>".into()),
            recurring::retain(job).to_string(),
            or_none(recurring::policy(job)),
            owned.len().to_string(),
            newest.map_or_else(
                || or_none(None),
                |b| state_cell(sb::state(b), context.color),
            ),
            age(object::creation_timestamp(job), context.now),
        ];
        if context.wide {
            row.extend([
                recurring::task(job).to_string(),
                newest.map_or_else(|| or_none(None), |b| sb::name(b).to_string()),
            ]);
        }
        row
    };
    let columns = Columns {
        headers: &[
            "NAME",
            "CRON",
            "NEXT-RUN",
            "RETAIN",
            "POLICY",
            "BACKUPS",
            "LAST-BACKUP",
            "AGE",
        ],
        wide_headers: &["TASK", "LAST-BACKUP-NAME"],
        row: &row,
    };
    let listing = Listing {
        kind: RECURRING_JOB,
        single: args.names.len() == 1,
        output: &args.output,
        columns: &columns,
        color: context.terminal.color(),
    };
    listing::print(longhorn.namespace(), fetched, &listing)
}

pub(super) async fn describe(context: &Context, name: &str) -> Result<()> {
    let longhorn = context.longhorn(Reads::default()).await?;
    let namespace = longhorn.namespace();
    let reference = RECURRING_JOB.object(namespace, name);
    let job = longhorn
        .kube()
        .get(&reference)
        .await
        .map_err(explain_missing(RECURRING_JOB))?;
    let cron_job = Collection::new(cron_jobs(), Some(namespace)).object(name);
    let (facts, version, cron_job, job_events) = tokio::join!(
        JobFacts::load(&longhorn),
        longhorn.version(),
        longhorn.kube().get_opt(&cron_job),
        events::for_object(longhorn.kube(), &reference, object::uid(&job)),
    );
    output::stdout(&render_description(
        &job,
        &facts?,
        version?,
        cron_job?.as_ref(),
        &job_events?,
        Timestamp::now(),
    ))?;
    Ok(())
}

fn render_description(
    job: &Value,
    facts: &JobFacts,
    version: LonghornVersion,
    cron_job: Option<&Value>,
    job_events: &[Value],
    now: Timestamp,
) -> String {
    let name = object::name(job);
    let mut out = Describe::new();
    out.fields(
        0,
        &[
            ("Name", name.to_string()),
            ("Namespace", object::namespace(job).to_string()),
            ("Labels", map_lines(job.pointer("/metadata/labels"))),
            (
                "Created",
                object::creation_timestamp(job).map_or_else(
                    || or_none(None),
                    |c| format!("{c} ({} ago)", age(Some(c), now)),
                ),
            ),
        ],
    );
    out.heading(0, "Spec").fields(
        2,
        &[
            ("Task", recurring::task(job).to_string()),
            ("Cron", recurring::cron(job).to_string()),
            ("Retain", recurring::retain(job).to_string()),
            ("Volume Backup Policy", or_none(recurring::policy(job))),
            (
                "Concurrency",
                job.pointer("/spec/concurrency")
                    .map_or_else(|| or_none(None), ToString::to_string),
            ),
        ],
    );
    let cron_job_line = match cron_job {
        Some(c) => format!(
            "{name} (schedule {}, time zone {}, last scheduled {})",
            object::str_at(c, "/spec/schedule").unwrap_or_default(),
            facts.zone_name(name),
            object::str_at(c, "/status/lastScheduleTime").unwrap_or("never")
        ),
        None => "<none> (longhorn-manager creates it when it handles the RecurringJob)".into(),
    };
    out.fields(0, &[("CronJob", cron_job_line)]);
    let next = facts.next_runs(job, 5);
    if next.is_empty() {
        out.fields(0, &[("Next Runs", "<none>".into())]);
    } else {
        out.heading(0, "Next Runs");
        for run in next {
            out.line(&format!("  {run}"));
        }
    }
    let owned = retention::owned_oldest_first(&facts.backups, name);
    let doomed = retention::deleted_by_next_run(&owned, recurring::retain(job), version);
    let rows = owned
        .iter()
        .map(|b| {
            vec![
                sb::name(b).to_string(),
                state_cell(sb::state(b), false),
                or_none(sb::created_at(b)),
                if doomed.iter().any(|d| sb::name(d) == sb::name(b)) {
                    "deleted by the next run".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    out.table(
        "Backups (oldest first)",
        &["NAME", "STATE", "CREATED", "RETENTION"],
        rows,
    );
    let rule = if retention::filters_states(version) {
        "only Ready and Error backups count"
    } else {
        "every backup counts, in-progress ones too (longhorn/longhorn#13203, fixed in v1.11.3 and v1.12.1)"
    };
    out.fields(
        0,
        &[(
            "Retention",
            format!(
                "keeps the newest {} by status.createdAt; in Longhorn {version} {rule}",
                recurring::retain(job)
            ),
        )],
    );
    out.table("Events", events::HEADERS, events::rows(job_events, now));
    out.finish()
}
