//! `schedule` (alias `recurringjob`): RecurringJobs (recurringjobs.longhorn.io) of
//! task `system-backup` — create, list, describe, set, delete, and run now.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::api::{self, Selector};
use crate::cli::{
    DryRun, ScheduleCommand, ScheduleCreateArgs, ScheduleDeleteArgs, ScheduleListArgs,
    ScheduleRunArgs, ScheduleSetArgs,
};
use crate::cron::{self, Schedule};
use crate::deletion::{self, Request, Targets};
use crate::error::{Error, Result};
use crate::listing::{self, Columns, Fetched, RowContext, or_none};
use crate::longhorn::install::{self, explain_missing};
use crate::longhorn::recurring::{self, PARAMETER_POLICY, TASK};
use crate::longhorn::resources::{
    self, GROUP, RECURRING_JOB, SETTING_MAX_RETENTION, SYSTEM_BACKUP, VERSION, labels,
};
use crate::longhorn::systembackup as sb;
use crate::longhorn::wait::{Target, wait_for};
use crate::longhorn::{LonghornVersion, events};
use crate::object;
use crate::output::age::age;
use crate::output::describe::{Describe, map_lines};
use crate::output::{self, Format};
use crate::session::Session;
use crate::style::state_cell;
use crate::watch::Step;

pub async fn run(session: &Session, command: &ScheduleCommand) -> Result<()> {
    match command {
        ScheduleCommand::Create(args) => create(session, args).await,
        ScheduleCommand::List(args) => list(session, args).await,
        ScheduleCommand::Describe(args) => describe(session, &args.name).await,
        ScheduleCommand::Set(args) => set(session, args).await,
        ScheduleCommand::Delete(args) => delete(session, args).await,
        ScheduleCommand::Run(args) => run_now(session, args).await,
    }
}

/// `delete NAME…`: the RecurringJobs go (and with them their CronJobs); the
/// SystemBackups they made stay, which the prompt and the outcome both say.
async fn delete(session: &Session, args: &ScheduleDeleteArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let mut kept = Vec::new();
    for name in &args.names {
        let count = owned_backups(session, namespace, name).await?.len();
        if count > 0 {
            kept.push(format!(
                "The {count} SystemBackup(s) made by {name} stay; delete them with: kubectl longhorn systembackup delete -l {}={name}",
                labels::RECURRING_JOB_SYSTEM_BACKUP
            ));
        }
    }
    if kept.is_empty() {
        kept.push(
            "SystemBackups a RecurringJob made stay when it is deleted; these jobs have made none."
                .into(),
        );
    }
    let request = Request {
        kind: RECURRING_JOB,
        targets: Targets::Names(&args.names),
        yes: args.yes,
        wait: Some(None),
        before_delete: None,
        consequences: kept.clone(),
    };
    deletion::run(session, request).await?;
    if args.yes {
        // Nobody saw the prompt: say it now.
        for line in kept {
            eprintln!("{line}");
        }
    }
    Ok(())
}

/// The cron expression, checked as Longhorn checks it (robfig/cron v1.2.0).
fn parse_cron(expr: &str) -> Result<Schedule> {
    cron::validate(expr).map_err(|e| Error::invalid(e.to_string()))
}

/// Longhorn's ceiling for `retain` in this cluster.
async fn max_retention(session: &Session, namespace: &str) -> Result<i64> {
    let value = install::setting(session, namespace, SETTING_MAX_RETENTION).await?;
    Ok(value
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(recurring::DEFAULT_MAX_RETENTION))
}

async fn create(session: &Session, args: &ScheduleCreateArgs) -> Result<()> {
    recurring::check_name(&args.name)?;
    let schedule = parse_cron(&args.cron)?;
    let namespace = session.namespace().await?;
    let version = install::version(session, namespace).await?;
    recurring::check_version(version)?;
    recurring::check_retain(args.retain, max_retention(session, namespace).await?)?;
    let resource = RECURRING_JOB.api_resource();
    let (existing, ()) = tokio::try_join!(
        api::get_opt(session, &resource, Some(namespace), &args.name),
        install::check_access(session, namespace, "create", RECURRING_JOB.plural),
    )?;
    if existing.is_some() {
        return Err(Error::invalid(format!(
            "recurringjob {:?} already exists in {namespace}; choose another name, or change it with kubectl longhorn systembackup schedule set {}",
            args.name, args.name
        )));
    }
    let object = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": RECURRING_JOB.kind,
        "metadata": {"name": args.name, "namespace": namespace},
        "spec": {
            "name": args.name,
            "task": TASK,
            "cron": args.cron,
            "retain": args.retain,
            "concurrency": 1,
            "groups": [],
            "labels": {},
            "parameters": {PARAMETER_POLICY: args.volume_backup_policy.as_str()},
        },
    });
    let format = Format::from(args.output);
    if args.dry_run == Some(DryRun::Client) {
        return print_changed(&object, format, "created (dry run)");
    }
    let params = PostParams {
        dry_run: args.dry_run == Some(DryRun::Server),
        field_manager: Some("kubectl-longhorn".into()),
    };
    let created = api::create(session, &resource, Some(namespace), &object, &params).await?;
    let suffix = if params.dry_run {
        "created (server dry run)"
    } else {
        "created"
    };
    print_changed(&created, format, suffix)?;
    if format.is_table() && !params.dry_run {
        let zone = cron::time_zone(None).map_err(|e| Error::invalid(e.to_string()))?;
        match schedule.next_runs(Timestamp::now(), &zone, 1).first() {
            Some(next) => eprintln!(
                "First run: {} (Kubernetes runs Longhorn's CronJob in UTC)",
                next.strftime("%Y-%m-%d %H:%M %Z")
            ),
            None => eprintln!(
                "Warning: {:?} matches no date in the next five years, so the job never runs; change it with kubectl longhorn systembackup schedule set {} --cron EXPR",
                args.cron, args.name
            ),
        }
    }
    Ok(())
}

async fn set(session: &Session, args: &ScheduleSetArgs) -> Result<()> {
    if args.cron.is_none() && args.retain.is_none() && args.volume_backup_policy.is_none() {
        return Err(Error::invalid(
            "nothing to change: give --cron, --retain or --volume-backup-policy",
        ));
    }
    if let Some(expr) = &args.cron {
        parse_cron(expr)?;
    }
    let namespace = session.namespace().await?;
    let resource = RECURRING_JOB.api_resource();
    let job = system_backup_job(session, namespace, &args.name).await?;
    if let Some(retain) = args.retain {
        recurring::check_retain(retain, max_retention(session, namespace).await?)?;
    }
    let mut spec = serde_json::Map::new();
    if let Some(expr) = &args.cron {
        spec.insert("cron".into(), json!(expr));
    }
    if let Some(retain) = args.retain {
        spec.insert("retain".into(), json!(retain));
    }
    if let Some(policy) = args.volume_backup_policy {
        spec.insert(
            "parameters".into(),
            json!({PARAMETER_POLICY: policy.as_str()}),
        );
    }
    let patch = Patch::Merge(json!({"spec": spec}));
    let format = Format::from(args.output);
    let dry_run = args.dry_run.is_some();
    if args.dry_run == Some(DryRun::Client) {
        let mut preview = job.clone();
        merge(&mut preview, &json!({"spec": spec}));
        return print_changed(&preview, format, "patched (dry run)");
    }
    let params = PatchParams {
        dry_run,
        field_manager: Some("kubectl-longhorn".into()),
        ..Default::default()
    };
    let patched = api::patch(
        session,
        &resource,
        Some(namespace),
        &args.name,
        &patch,
        &params,
    )
    .await?;
    print_changed(
        &patched,
        format,
        if dry_run {
            "patched (server dry run)"
        } else {
            "patched"
        },
    )
}

/// The RecurringJob `name`, which must exist and be of task system-backup.
async fn system_backup_job(session: &Session, namespace: &str, name: &str) -> Result<Value> {
    let job = api::get_opt(
        session,
        &RECURRING_JOB.api_resource(),
        Some(namespace),
        name,
    )
    .await
    .map_err(explain_missing(RECURRING_JOB))?
    .ok_or_else(|| {
        Error::invalid(format!(
            "recurringjob {name:?} does not exist in {namespace}"
        ))
    })?;
    if recurring::task(&job) != TASK {
        return Err(Error::invalid(format!(
            "recurringjob {name:?} runs task {}, not {TASK}; this command manages system-backup jobs only",
            recurring::task(&job)
        )));
    }
    Ok(job)
}

/// JSON merge patch semantics, for the client-side dry run.
fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

fn print_changed(object: &Value, format: Format, verb: &str) -> Result<()> {
    let name = object::name(object);
    let text = match format {
        Format::Json | Format::Yaml => output::render_objects(vec![object.clone()], true, format)?,
        Format::Name => output::render_names(RECURRING_JOB, [name]),
        Format::Table | Format::Wide => format!("{}/{name} {verb}\n", RECURRING_JOB.kind_group()),
    };
    output::stdout(&text)
}

/// What a row needs besides the job: its CronJob's time zone and the backups it made.
struct JobFacts {
    time_zones: BTreeMap<String, Option<String>>,
    backups: Vec<Value>,
}

impl JobFacts {
    async fn load(session: &Session, namespace: &str) -> Result<Self> {
        let selector = Selector {
            labels: Some(labels::RECURRING_JOB_SYSTEM_BACKUP.to_string()),
            ..Default::default()
        };
        let (cron_jobs, backups) = tokio::try_join!(
            api::list_items(
                session,
                &resources::cron_jobs(),
                Some(namespace),
                Selector::default()
            ),
            api::list_items(
                session,
                &SYSTEM_BACKUP.api_resource(),
                Some(namespace),
                selector
            ),
        )?;
        let time_zones = cron_jobs
            .iter()
            .map(|c| {
                (
                    object::name(c).to_string(),
                    object::str_at(c, "/spec/timeZone").map(str::to_string),
                )
            })
            .collect();
        Ok(JobFacts {
            time_zones,
            backups,
        })
    }

    /// Kubernetes runs Longhorn's CronJob in UTC unless it sets `spec.timeZone`.
    fn zone_name(&self, job: &str) -> String {
        self.time_zones
            .get(job)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "UTC".into())
    }

    fn next_runs(&self, job: &Value, count: usize) -> Vec<String> {
        let zone_name = self.zone_name(object::name(job));
        let (Ok(schedule), Ok(zone)) = (
            cron::validate(recurring::cron(job)),
            cron::time_zone(Some(&zone_name)),
        ) else {
            return Vec::new();
        };
        schedule
            .next_runs(Timestamp::now(), &zone, count)
            .iter()
            .map(|t| format!("{} {zone_name}", t.strftime("%Y-%m-%d %H:%M")))
            .collect()
    }
}

async fn list(session: &Session, args: &ScheduleListArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let mut fetched = listing::fetch(
        session,
        RECURRING_JOB,
        namespace,
        &args.names,
        args.output.selector.clone(),
    )
    .await?;
    if !args.all_tasks && args.names.is_empty() {
        fetched.objects.retain(|job| recurring::task(job) == TASK);
    }
    let facts = JobFacts::load(session, namespace).await?;
    let row = |job: &Value, context: &RowContext| {
        let name = object::name(job);
        let owned = recurring::owned_oldest_first(&facts.backups, name);
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
    let single = args.names.len() == 1;
    listing::print(
        session,
        RECURRING_JOB,
        namespace,
        Fetched {
            objects: fetched.objects,
            missing: fetched.missing,
        },
        single,
        &args.output,
        &columns,
    )
}

async fn describe(session: &Session, name: &str) -> Result<()> {
    let namespace = session.namespace().await?;
    let job = api::get(
        session,
        &RECURRING_JOB.api_resource(),
        Some(namespace),
        name,
    )
    .await
    .map_err(explain_missing(RECURRING_JOB))?;
    let (facts, version, cron_job, job_events) = tokio::try_join!(
        JobFacts::load(session, namespace),
        install::version(session, namespace),
        api::get_opt(session, &resources::cron_jobs(), Some(namespace), name),
        events::for_object(
            session,
            namespace,
            RECURRING_JOB.kind,
            name,
            object::uid(&job)
        ),
    )?;
    output::stdout(&render_description(
        &job,
        &facts,
        version,
        cron_job.as_ref(),
        &job_events,
        Timestamp::now(),
    ))
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
    let owned = recurring::owned_oldest_first(&facts.backups, name);
    let doomed = recurring::deleted_by_next_run(&owned, recurring::retain(job), version);
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
    let rule = if recurring::retention_filters_states(version) {
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

/// `run NAME`: a Job from Longhorn's CronJob for the RecurringJob, as
/// `kubectl create job --from=cronjob/NAME` makes it, so Longhorn's own code runs
/// (retention included).
async fn run_now(session: &Session, args: &ScheduleRunArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    system_backup_job(session, namespace, &args.name).await?;
    let cron_job = api::get_opt(session, &resources::cron_jobs(), Some(namespace), &args.name).await?.ok_or_else(|| {
        Error::invalid(format!(
            "recurringjob {:?} has no CronJob: longhorn-manager creates one named like the job when it handles it; check that longhorn-manager is running in {namespace}",
            args.name
        ))
    })?;
    // The run's backup is the one that was not there before (names are random).
    let before: BTreeSet<String> = if args.wait {
        owned_backups(session, namespace, &args.name)
            .await?
            .iter()
            .map(|b| object::name(b).to_string())
            .collect()
    } else {
        BTreeSet::new()
    };
    let job_object = job_from_cron_job(&cron_job);
    let created = api::create(
        session,
        &resources::jobs(),
        Some(namespace),
        &job_object,
        &PostParams::default(),
    )
    .await?;
    output::stdout(&format!("job.batch/{} created\n", object::name(&created)))?;
    if !args.wait {
        return Ok(());
    }
    let backup = new_backup(
        session,
        namespace,
        &args.name,
        &before,
        args.timeout.as_limit(),
    )
    .await?;
    eprintln!("{}/{backup} started by the run", SYSTEM_BACKUP.kind_group());
    wait_for(
        session,
        namespace,
        &backup,
        Target::Ready,
        args.timeout.as_limit(),
        None,
    )
    .await?;
    output::stdout(&format!(
        "{}/{backup} condition met\n",
        SYSTEM_BACKUP.kind_group()
    ))
}

/// The SystemBackups labelled as made by `job`.
async fn owned_backups(session: &Session, namespace: &str, job: &str) -> Result<Vec<Value>> {
    let selector = Selector {
        labels: Some(format!("{}={job}", labels::RECURRING_JOB_SYSTEM_BACKUP)),
        ..Default::default()
    };
    api::list_items(
        session,
        &SYSTEM_BACKUP.api_resource(),
        Some(namespace),
        selector,
    )
    .await
}

/// The Job `kubectl create job --from=cronjob/NAME` makes: the CronJob's job
/// template, a `-manual-` name, the instantiate annotation, and the CronJob as owner.
pub fn job_from_cron_job(cron_job: &Value) -> Value {
    let name = object::name(cron_job);
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
    let template = cron_job
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // kubectl sets the instantiate annotation first; the template's own win.
    let mut annotations = json!({"cronjob.kubernetes.io/instantiate": "manual"});
    if let Some(Value::Object(own)) = template.pointer("/metadata/annotations") {
        for (key, value) in own {
            annotations[key] = value.clone();
        }
    }
    let job_name: String = format!("{name}-manual-{suffix}").chars().take(63).collect();
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": object::namespace(cron_job),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": annotations,
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": name,
                "uid": object::uid(cron_job).unwrap_or_default(),
                "controller": true,
            }],
        },
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Watches the job's SystemBackups until one that is not in `before` appears.
async fn new_backup(
    session: &Session,
    namespace: &str,
    job: &str,
    before: &BTreeSet<String>,
    timeout: Option<std::time::Duration>,
) -> Result<String> {
    let selector = format!("{}={job}", labels::RECURRING_JOB_SYSTEM_BACKUP);
    crate::watch::until_any(
        session,
        &SYSTEM_BACKUP.api_resource(),
        namespace,
        &selector,
        timeout,
        &format!("{}/{job}", SYSTEM_BACKUP.plural),
        |object| {
            let name = object::name(object);
            if before.contains(name) {
                Step::Continue
            } else {
                Step::Done(name.to_string())
            }
        },
    )
    .await
}
