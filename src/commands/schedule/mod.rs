//! `schedule` (alias `recurringjob`): RecurringJobs (recurringjobs.longhorn.io) of
//! task `system-backup` — create, list, describe, set, delete, and run now. The rules
//! are Longhorn's ([`crate::longhorn::recurring`]); this module reads flags, calls
//! them and prints.

mod view;

use std::collections::BTreeSet;

use clap::{Args, Subcommand};
use clap_complete::engine::ArgValueCompleter;
use kube::api::Patch;
use serde_json::{Value, json};

use super::error::{Result, Usage};
use super::shared::deletion::{self, Request, Targets};
use super::shared::listing::ListOutputArgs;
use super::shared::names::recurring_job_names;
use super::{Context, DryRun};
use crate::go::HumanDuration;
use crate::kube::api::{patch_params, post_params};
use crate::kube::object;
use crate::longhorn::Reads;
use crate::longhorn::recurring::{self, NewJob, run as job_run, schedule::first_run};
use crate::longhorn::resources::{RECURRING_JOB, SETTING_MAX_RETENTION, SYSTEM_BACKUP, labels};
use crate::longhorn::systembackup::VolumeBackupPolicy;
use crate::longhorn::wait::{Target, Wait, wait_for};
use crate::output::{self, Format, OutputFormat};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Create a RecurringJob of task system-backup
    Create(ScheduleCreateArgs),
    /// List RecurringJobs of task system-backup
    #[command(visible_alias = "get", alias = "ls")]
    List(ScheduleListArgs),
    /// Show a RecurringJob: spec, next runs, the backups it owns, what retention deletes next
    Describe(JobNameArgs),
    /// Change the cron, retain or policy of a RecurringJob
    #[command(alias = "update")]
    Set(ScheduleSetArgs),
    /// Delete RecurringJobs (the backups they made stay)
    #[command(alias = "rm")]
    Delete(ScheduleDeleteArgs),
    /// Start a run now from the job's CronJob, as `kubectl create job --from=cronjob/NAME` does
    Run(ScheduleRunArgs),
}

#[derive(Debug, Args)]
pub struct ScheduleCreateArgs {
    /// Name of the RecurringJob: 2 to 40 lower case letters, digits, '-' or '.'
    pub name: String,
    /// When to run: a 5-field cron expression or a descriptor such as @daily or "@every 12h"
    #[arg(long, value_name = "EXPR")]
    pub cron: String,
    /// How many system backups made by this job to keep: 1 to the cluster's recurring-job-max-retention (default 100)
    #[arg(
        long,
        value_name = "N",
        default_value_t = 1,
        allow_negative_numbers = true
    )]
    pub retain: i64,
    /// Volume backup policy of the backups it makes
    #[arg(long, value_name = "POLICY", default_value = "if-not-present")]
    pub volume_backup_policy: VolumeBackupPolicy,
    /// client: only print the object; server: have Longhorn's webhooks check it, persist nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format for the created object: wide, json, yaml or name
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub names: Vec<String>,
    /// Show RecurringJobs of every task, not only system-backup
    #[arg(long)]
    pub all_tasks: bool,
    #[command(flatten)]
    pub output: ListOutputArgs,
}

#[derive(Debug, Args)]
pub struct JobNameArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
}

#[derive(Debug, Args)]
pub struct ScheduleSetArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
    /// New schedule: a 5-field cron expression or a descriptor such as @daily or "@every 12h"
    #[arg(long, value_name = "EXPR")]
    pub cron: Option<String>,
    /// New number of system backups made by this job to keep
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub retain: Option<i64>,
    /// New volume backup policy of the backups it makes
    #[arg(long, value_name = "POLICY")]
    pub volume_backup_policy: Option<VolumeBackupPolicy>,
    /// client: only print the changed object; server: have Longhorn's webhooks check it, change nothing
    #[arg(long, value_name = "MODE", num_args = 0..=1, require_equals = true, default_missing_value = "client")]
    pub dry_run: Option<DryRun>,
    /// Output format for the changed object: wide, json, yaml or name
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

#[derive(Debug, Args)]
pub struct ScheduleDeleteArgs {
    #[arg(required = true, add = ArgValueCompleter::new(recurring_job_names))]
    pub names: Vec<String>,
    /// Don't ask for confirmation
    #[arg(short = 'y', long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ScheduleRunArgs {
    #[arg(add = ArgValueCompleter::new(recurring_job_names))]
    pub name: String,
    /// Wait until the SystemBackup the run makes is Ready (fails at once on Error) and
    /// the run has ended (Longhorn applies retention last)
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, e.g. 30m, 2h; 0 waits forever
    #[arg(long, value_name = "DURATION", default_value = "1h")]
    pub timeout: HumanDuration,
}

pub async fn run(context: &Context, command: &ScheduleCommand) -> Result<()> {
    match command {
        ScheduleCommand::Create(args) => create(context, args).await,
        ScheduleCommand::List(args) => {
            args.output.check()?;
            view::list(context, args).await
        }
        ScheduleCommand::Describe(args) => {
            recurring::check_name(&args.name)?;
            view::describe(context, &args.name).await
        }
        ScheduleCommand::Set(args) => set(context, args).await,
        ScheduleCommand::Delete(args) => delete(context, args).await,
        ScheduleCommand::Run(args) => run_now(context, args).await,
    }
}

async fn create(context: &Context, args: &ScheduleCreateArgs) -> Result<()> {
    recurring::check_name(&args.name)?;
    let schedule = recurring::parse_cron(&args.cron)?;
    recurring::check_retain_floor(args.retain)?;
    let reads = Reads {
        version: true,
        settings: &[SETTING_MAX_RETENTION],
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    recurring::check_version(longhorn.version().await?)?;
    recurring::check_retain(args.retain, recurring::max_retention(&longhorn).await?)?;
    let namespace = longhorn.namespace();
    let (existing, access) = tokio::join!(
        longhorn
            .kube()
            .get_opt(&RECURRING_JOB.object(namespace, &args.name)),
        longhorn.check_access("create", RECURRING_JOB),
    );
    let existing = existing?;
    access?;
    if existing.is_some() {
        return Err(crate::longhorn::Error::JobExists {
            name: args.name.clone(),
            namespace: namespace.to_string(),
        }
        .into());
    }
    let job = NewJob {
        name: &args.name,
        cron: &args.cron,
        retain: args.retain,
        policy: args.volume_backup_policy,
    };
    let object = recurring::new_object(&job, namespace);
    let format = Format::from(args.output);
    if args.dry_run == Some(DryRun::Client) {
        return print_changed(&object, format, "created (dry run)");
    }
    let params = post_params(args.dry_run == Some(DryRun::Server));
    let created = longhorn
        .kube()
        .create(&RECURRING_JOB.collection(namespace), &object, &params)
        .await?;
    let suffix = if params.dry_run {
        "created (server dry run)"
    } else {
        "created"
    };
    print_changed(&created, format, suffix)?;
    if format.is_table() && !params.dry_run {
        match first_run(&schedule) {
            Some(next) => {
                eprintln!("First run: {next} (Kubernetes runs Longhorn's CronJob in UTC)")
            }
            None => eprintln!(
                "Warning: {:?} matches no date in the next five years, so the job never runs; change it with kubectl longhorn systembackup schedule set {} --cron EXPR",
                args.cron, args.name
            ),
        }
    }
    Ok(())
}

async fn set(context: &Context, args: &ScheduleSetArgs) -> Result<()> {
    if args.cron.is_none() && args.retain.is_none() && args.volume_backup_policy.is_none() {
        return Err(Usage::NothingToChange.into());
    }
    recurring::check_name(&args.name)?;
    if let Some(expr) = &args.cron {
        recurring::parse_cron(expr)?;
    }
    if let Some(retain) = args.retain {
        recurring::check_retain_floor(retain)?;
    }
    let longhorn = context.longhorn(Reads::default()).await?;
    let job = recurring::system_backup_job(&longhorn, &args.name).await?;
    if let Some(retain) = args.retain {
        recurring::check_retain(retain, recurring::max_retention(&longhorn).await?)?;
    }
    let spec =
        recurring::changed_spec(args.cron.as_deref(), args.retain, args.volume_backup_policy);
    let patch = json!({"spec": spec});
    let format = Format::from(args.output);
    let dry_run = args.dry_run.is_some();
    if args.dry_run == Some(DryRun::Client) {
        let mut preview = job.clone();
        object::merge_patch(&mut preview, &patch);
        return print_changed(&preview, format, "patched (dry run)");
    }
    let patched = longhorn
        .kube()
        .patch(
            &RECURRING_JOB.object(longhorn.namespace(), &args.name),
            &Patch::Merge(patch),
            &patch_params(dry_run),
        )
        .await?;
    let verb = if dry_run {
        "patched (server dry run)"
    } else {
        "patched"
    };
    print_changed(&patched, format, verb)
}

/// `delete NAME…`: the RecurringJobs go (and with them their CronJobs); the
/// SystemBackups they made stay, which the prompt and the outcome both say.
async fn delete(context: &Context, args: &ScheduleDeleteArgs) -> Result<()> {
    args.names
        .iter()
        .try_for_each(|name| recurring::check_name(name))?;
    let longhorn = context.longhorn(Reads::default()).await?;
    let mut kept = Vec::new();
    for name in &args.names {
        let count = recurring::owned_backups(&longhorn, name).await?.len();
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
    deletion::run(&longhorn, context.terminal, request).await?;
    if args.yes {
        // Nobody saw the prompt: say it now.
        for line in kept {
            eprintln!("{line}");
        }
    }
    Ok(())
}

/// `run NAME`: a Job from Longhorn's CronJob for the RecurringJob, so Longhorn's own
/// code runs (retention included); with `--wait`, the backup it makes until Ready.
async fn run_now(context: &Context, args: &ScheduleRunArgs) -> Result<()> {
    recurring::check_name(&args.name)?;
    let longhorn = context.longhorn(Reads::default()).await?;
    recurring::system_backup_job(&longhorn, &args.name).await?;
    let cron_job = job_run::cron_job(&longhorn, &args.name).await?;
    job_run::check_none_running(&longhorn, &cron_job).await?;
    // The run's backup is the one that was not there before (names are random).
    let before: BTreeSet<String> = if args.wait {
        recurring::owned_backups(&longhorn, &args.name)
            .await?
            .iter()
            .map(|b| object::name(b).to_string())
            .collect()
    } else {
        BTreeSet::new()
    };
    let job = job_run::start(&longhorn, &cron_job).await?;
    output::stdout(&format!("job.batch/{job} created\n"))?;
    if !args.wait {
        return Ok(());
    }
    let timeout = args.timeout.as_limit();
    let backup = job_run::new_backup(&longhorn, &args.name, &before, timeout).await?;
    eprintln!("{} started by the run", SYSTEM_BACKUP.named(&backup));
    let wait = Wait {
        namespace: longhorn.namespace(),
        name: &backup,
        target: Target::Ready,
        uid: None,
        timeout,
        live: context.terminal.stderr,
    };
    wait_for(longhorn.kube(), wait).await?;
    // The Job prunes by `retain` once the backup is Ready: the run is over only then.
    job_run::until_ended(&longhorn, &job, timeout).await?;
    output::stdout(&output::condition_met(&SYSTEM_BACKUP.kind_group(), &backup))?;
    Ok(())
}

fn print_changed(object: &Value, format: Format, verb: &str) -> Result<()> {
    let name = object::name(object);
    let text = match format {
        Format::Json | Format::Yaml => output::render_objects(vec![object.clone()], true, format)?,
        Format::Name => output::render_names(&RECURRING_JOB.kind_group(), [name]),
        Format::Table | Format::Wide => format!("{} {verb}\n", RECURRING_JOB.named(name)),
    };
    Ok(output::stdout(&text)?)
}
