//! The schedule commands (RecurringJobs of task system-backup) end to end, and every
//! bad input: exit code, one-line message, nothing changed.
//!
//! The task exists from Longhorn v1.9.0: these tests run on the version under test
//! when it has the task, else on v1.9.0, the oldest that has it; the refusal on older
//! versions is tested on v1.8.1.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use longhorn_ground::objects::recurring_job;
use longhorn_ground::{Ground, Kind, Longhorn, Version};
use serde_json::{Value, json};

use crate::harness::{self, Run, kubectl, normalize, plugin};
use crate::prompts::answer;

pub(super) const WAIT: Duration = Duration::from_secs(60);
pub(super) const LABEL: &str = "recurring-job.longhorn.io/system-backup";

/// One cron expression of every class robfig/cron v1.2.0 refuses (the plugin's message
/// for each is a unit test of src/cron), and `@every` below a minute, which the plugin
/// refuses and Longhorn does not (tests/e2e/longhorn_rules.rs holds both to Longhorn).
pub(crate) const BAD_CRONS: [&str; 21] = [
    "",
    "0 2 * *",
    "0 0 0 * * *",
    "0 25 * * *",
    "60 * * * *",
    "0 0 32 * *",
    "0 0 * * 7",
    "0 22-2 * * *",
    "*/0 * * * *",
    "0 0 * * 1/x",
    "0 0 1-2-3 * *",
    "0 0 * foo *",
    "0 0 * mon *",
    "0 0 * * funday",
    "@fortnightly",
    "@Daily",
    "@every 1d",
    "@every 5",
    "TZ=UTC 0 2 * * *",
    "CRON_TZ=Europe/Berlin 0 2 * * *",
    "@every 30s",
];

/// RecurringJob names the plugin refuses: upper case, an underscore, too short, a dash at
/// either end, over 40 characters.
pub(crate) fn bad_names() -> [String; 6] {
    [
        "Nightly",
        "has_underscore",
        "x",
        "-lead",
        "trail-",
        &"a".repeat(41),
    ]
    .map(str::to_string)
}

/// The version under test when it has the system-backup task, else v1.9.0.
pub(crate) fn task_version() -> String {
    let version = Ground::default_version().expect("a supported LONGHORN_VERSION");
    if Version::parse(&version).expect("a version").at_least(9) {
        version
    } else {
        "v1.9.0".into()
    }
}

pub(super) async fn with_task() -> Longhorn {
    Ground::shared(&task_version())
        .await
        .expect("the test ground starts (see docs/testing.md)")
}

pub(super) async fn recurring_jobs(env: &Longhorn) -> Vec<String> {
    harness::names(env, "RecurringJob", "recurringjobs").await
}

pub(super) fn recurring_api(client: kube::Client, env: &Longhorn) -> Api<DynamicObject> {
    Kind::RecurringJob.api(&client, env.namespace())
}

pub(super) async fn spec_of(env: &Longhorn, name: &str) -> Value {
    let client = env.client().await.unwrap();
    recurring_api(client, env).get(name).await.unwrap().data["spec"].clone()
}

/// Longhorn's CronJob for the RecurringJob, once the controller has made it.
pub(super) async fn cron_job(env: &Longhorn, name: &str) -> CronJob {
    let client = env.client().await.unwrap();
    let api: Api<CronJob> = Api::namespaced(client, env.namespace());
    let wait = kube::runtime::wait::await_condition(api, name, |c: Option<&CronJob>| c.is_some());
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("longhorn-manager makes the CronJob")
        .unwrap()
        .unwrap()
}

pub(super) async fn jobs(env: &Longhorn) -> Vec<Job> {
    let client = env.client().await.unwrap();
    Api::<Job>::namespaced(client, env.namespace())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

/// SystemBackups labelled as made by `job`, leaving out those on their way out.
pub(super) async fn owned(env: &Longhorn, job: &str) -> Vec<String> {
    let client = env.client().await.unwrap();
    let mut names: Vec<String> = Kind::SystemBackup
        .api(&client, env.namespace())
        .list(&ListParams::default().labels(&format!("{LABEL}={job}")))
        .await
        .unwrap()
        .items
        .into_iter()
        .filter(|b| b.metadata.deletion_timestamp.is_none())
        .filter_map(|b| b.metadata.name)
        .collect();
    names.sort();
    names
}

/// The cells of a table row: columns are at least three spaces apart, cells (like
/// NEXT-RUN) may hold single spaces.
pub(super) fn cells(line: &str) -> Vec<String> {
    regex::Regex::new(r" {3,}")
        .unwrap()
        .split(line.trim())
        .map(str::to_string)
        .collect()
}

/// The row of `name` in a table.
pub(super) fn row(table: &str, name: &str) -> Vec<String> {
    table
        .lines()
        .map(cells)
        .find(|c| c[0] == name)
        .unwrap_or_else(|| panic!("no row {name}:\n{table}"))
}

pub(super) async fn create_job(env: &Longhorn, name: &str, cron: &str, retain: &str) {
    plugin(
        env,
        &[
            "schedule",
            "create",
            name,
            "--cron",
            cron,
            "--retain",
            retain,
            "--volume-backup-policy",
            "disabled",
        ],
    )
    .await
    .success();
}

/// `schedule run NAME --wait`: the Job's name and the SystemBackup's.
pub(super) async fn run_and_wait(env: &Longhorn, job: &str) -> (String, String) {
    let run = plugin(env, &["schedule", "run", job, "--wait", "--timeout", "60s"]).await;
    run.success();
    let pattern = regex::Regex::new(&format!(
        r"^job\.batch/({job}-manual-[0-9a-f]{{5}}) created\nsystembackup\.longhorn\.io/(\S+) condition met\n$"
    ))
    .unwrap();
    let captures = pattern
        .captures(&run.stdout)
        .unwrap_or_else(|| panic!("unexpected output:\n{}", run.stdout));
    let backup = captures[2].to_string();
    run.stderr_has(&format!(
        "systembackup.longhorn.io/{backup} started by the run"
    ));
    (captures[1].to_string(), backup)
}

/// Today's or tomorrow's 02:00 in `zone`, whichever is next after `after`, as the
/// NEXT-RUN column shows it.
pub(super) fn next_two_oclock(after: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).expect("tzdata");
    let now = after.to_zoned(tz.clone());
    let mut date = now.date();
    loop {
        let run = date.at(2, 0, 0, 0).to_zoned(tz.clone()).unwrap();
        if run.timestamp() > after {
            return format!("{} {zone}", run.strftime("%Y-%m-%d %H:%M"));
        }
        date = date.tomorrow().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_list_set_describe_delete() {
    let env = with_task().await;
    let created = plugin(
        &env,
        &[
            "schedule",
            "create",
            "nightly",
            "--cron",
            "0 2 * * *",
            "--retain",
            "3",
            "--volume-backup-policy",
            "disabled",
        ],
    )
    .await;
    created.success();
    assert_eq!(created.stdout, "recurringjob.longhorn.io/nightly created\n");
    assert!(
        regex::Regex::new(
            r"^First run: \d{4}-\d{2}-\d{2} 02:00 UTC \(Kubernetes runs Longhorn's CronJob in UTC\)\n$"
        )
        .unwrap()
        .is_match(&created.stderr),
        "{}",
        created.stderr
    );
    assert_eq!(
        spec_of(&env, "nightly").await,
        json!({
            "name": "nightly", "task": "system-backup", "cron": "0 2 * * *", "retain": 3,
            "concurrency": 1, "groups": [], "labels": {},
            "parameters": {"volume-backup-policy": "disabled"},
        })
    );
    let cron = cron_job(&env, "nightly").await;
    assert_eq!(cron.spec.schedule, "0 2 * * *");

    // The alias names the CR; the columns are the documented ones (docs/reference.md).
    let list = plugin(&env, &["recurringjob", "list"]).await;
    list.success();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(
        cells(lines[0]),
        [
            "NAME",
            "CRON",
            "NEXT-RUN",
            "RETAIN",
            "POLICY",
            "BACKUPS",
            "LAST-BACKUP",
            "AGE"
        ]
    );
    let nightly = row(&list.stdout, "nightly");
    assert_eq!(nightly[1], "0 2 * * *");
    assert!(nightly[2].ends_with(" 02:00 UTC"), "{nightly:?}");
    assert_eq!(&nightly[3..7], ["3", "disabled", "0", "<none>"]);

    // set (alias update): every field, same validation, and the CronJob follows.
    let set = plugin(
        &env,
        &[
            "schedule",
            "set",
            "nightly",
            "--cron",
            "30 3 * * mon-fri",
            "--retain",
            "5",
            "--volume-backup-policy",
            "always",
        ],
    )
    .await;
    set.success();
    assert_eq!(set.stdout, "recurringjob.longhorn.io/nightly patched\n");
    plugin(&env, &["schedule", "update", "nightly", "--retain", "4"])
        .await
        .success();
    let spec = spec_of(&env, "nightly").await;
    assert_eq!(
        (&spec["cron"], &spec["retain"], &spec["parameters"]),
        (
            &json!("30 3 * * mon-fri"),
            &json!(4),
            &json!({"volume-backup-policy": "always"})
        )
    );
    let client = env.client().await.unwrap();
    let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), env.namespace());
    let followed = kube::runtime::wait::await_condition(
        cron_jobs.clone(),
        "nightly",
        |c: Option<&CronJob>| c.is_some_and(|c| c.spec.schedule == "30 3 * * mon-fri"),
    );
    tokio::time::timeout(WAIT, followed)
        .await
        .expect("longhorn-manager updates the CronJob")
        .unwrap();

    let described = plugin(&env, &["schedule", "describe", "nightly"]).await;
    described.success();
    for expected in [
        "Task:                  system-backup",
        "Cron:                  30 3 * * mon-fri",
        "Retain:                4",
        "Volume Backup Policy:  always",
        "CronJob:",
        "nightly (schedule 30 3 * * mon-fri, time zone UTC, last scheduled never)",
        "Next Runs:",
        "keeps the newest 4 by status.createdAt",
    ] {
        described.stdout_has(expected);
    }
    let next_runs: Vec<&str> = described
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Next Runs:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .collect();
    assert_eq!(next_runs.len(), 5, "{}", described.stdout);
    for run in &next_runs {
        let date = &run.trim()[..10];
        let weekday = jiff::civil::Date::strptime("%Y-%m-%d", date)
            .unwrap()
            .weekday()
            .to_monday_one_offset();
        assert!(
            run.ends_with(" 03:30 UTC") && weekday <= 5,
            "{run} is not a weekday at 03:30 UTC"
        );
    }

    let deleted = plugin(&env, &["schedule", "delete", "nightly", "-y"]).await;
    deleted.success();
    assert_eq!(
        deleted.stdout,
        "recurringjob.longhorn.io \"nightly\" deleted\n"
    );
    deleted.stderr_has("SystemBackups a RecurringJob made stay when it is deleted");
    assert!(recurring_jobs(&env).await.is_empty());
    let gone = kube::runtime::wait::await_condition(cron_jobs, "nightly", |c: Option<&CronJob>| {
        c.is_none()
    });
    tokio::time::timeout(WAIT, gone)
        .await
        .expect("the CronJob goes with its RecurringJob")
        .unwrap();
    plugin(&env, &["schedule", "list"])
        .await
        .success()
        .stderr_has("No resources found");

    // A valid expression that never fires (robfig looks five years ahead).
    let never = plugin(
        &env,
        &["schedule", "create", "feb-30", "--cron", "0 0 30 2 *"],
    )
    .await;
    never
        .success()
        .stderr_has("\"0 0 30 2 *\" matches no date in the next five years, so the job never runs");
    let list = plugin(&env, &["schedule", "list"]).await;
    assert_eq!(row(&list.stdout, "feb-30")[2], "<none>");
}

/// NEXT-RUN is when Kubernetes fires Longhorn's CronJob: in UTC, or in the CronJob's
/// spec.timeZone when someone set one; the zone is shown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_run_follows_the_cron_jobs_time_zone() {
    let env = with_task().await;
    create_job(&env, "two-am", "0 2 * * *", "1").await;
    cron_job(&env, "two-am").await;

    let next_run = |zone: &'static str| {
        let env = &env;
        async move {
            let before = Timestamp::now();
            let list = plugin(env, &["schedule", "list"]).await;
            let after = Timestamp::now();
            list.success();
            let shown = row(&list.stdout, "two-am")[2].clone();
            let expected = [next_two_oclock(before, zone), next_two_oclock(after, zone)];
            assert!(expected.contains(&shown), "{shown} is not in {expected:?}");
        }
    };
    next_run("UTC").await;

    let client = env.client().await.unwrap();
    let cron_jobs: Api<CronJob> = Api::namespaced(client, env.namespace());
    cron_jobs
        .patch(
            "two-am",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"timeZone": "Asia/Kolkata"}})),
        )
        .await
        .unwrap();
    next_run("Asia/Kolkata").await;

    let described = plugin(&env, &["schedule", "describe", "two-am"]).await;
    described
        .success()
        .stdout_has("two-am (schedule 0 2 * * *, time zone Asia/Kolkata, last scheduled never)");
    let runs: Vec<&str> = described
        .stdout
        .lines()
        .filter(|l| l.ends_with(" 02:00 Asia/Kolkata"))
        .collect();
    assert_eq!(runs.len(), 5, "{}", described.stdout);
}

/// `retain` may not exceed the cluster's recurring-job-max-retention, read at each call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retain_is_bounded_by_the_clusters_setting() {
    let env = with_task().await;
    let expect = |run: &Run, text: &str| {
        run.failure(1).one_line_error().stderr_has(text);
    };
    expect(
        &plugin(
            &env,
            &[
                "schedule", "create", "cap", "--cron", "@daily", "--retain", "101",
            ],
        )
        .await,
        "--retain 101 is above the cluster's recurring-job-max-retention (100)",
    );
    harness::patch(
        &env,
        ("Setting", "settings"),
        "recurring-job-max-retention",
        json!({"value": "5"}),
    )
    .await;
    expect(
        &plugin(
            &env,
            &[
                "schedule", "create", "cap", "--cron", "@daily", "--retain", "6",
            ],
        )
        .await,
        "--retain 6 is above the cluster's recurring-job-max-retention (5); Longhorn would reject it",
    );
    assert!(recurring_jobs(&env).await.is_empty());
    plugin(
        &env,
        &[
            "schedule", "create", "cap", "--cron", "@daily", "--retain", "5",
        ],
    )
    .await
    .success();
    expect(
        &plugin(&env, &["schedule", "set", "cap", "--retain", "6"]).await,
        "(5)",
    );
    assert_eq!(spec_of(&env, "cap").await["retain"], 5);
}

/// Longhorn before v1.9.0 has no system-backup task: said before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_longhorn_is_refused() {
    let version = Ground::default_version().unwrap();
    let version = if Version::parse(&version).unwrap().at_least(9) {
        "v1.8.1".to_string()
    } else {
        version
    };
    let env = Ground::shared(&version).await.unwrap();
    for args in [
        vec!["schedule", "create", "nightly", "--cron", "@daily"],
        vec![
            "schedule",
            "create",
            "nightly",
            "--cron",
            "@daily",
            "--dry-run=server",
        ],
    ] {
        plugin(&env, &args)
            .await
            .failure(1)
            .one_line_error()
            .stderr_has(&format!(
                "this cluster runs Longhorn {version}; recurring system backups (RecurringJob task system-backup) exist from Longhorn v1.9.0"
            ));
    }
    assert!(recurring_jobs(&env).await.is_empty());
    plugin(&env, &["schedule", "list"])
        .await
        .success()
        .stderr_has("No resources found");
}

/// delete follows the SystemBackup delete's rules: no terminal and no --yes refuses;
/// a terminal asks, "n" keeps the job; missing names are reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_asks_and_says_the_backups_stay() {
    let env = with_task().await;
    create_job(&env, "keep-me", "@daily", "2").await;
    cron_job(&env, "keep-me").await;
    let (_, backup) = run_and_wait(&env, "keep-me").await;

    let run = plugin(&env, &["schedule", "delete", "keep-me"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("recurringjob.longhorn.io/keep-me")
        .stderr_has("The 1 SystemBackup(s) made by keep-me stay")
        .stderr_has("pass --yes");
    assert_eq!(recurring_jobs(&env).await, ["keep-me"]);

    let declined = answer(
        &env,
        &["schedule", "delete", "keep-me"],
        &[
            "The 1 SystemBackup(s) made by keep-me stay",
            "Do you want to continue?",
        ],
        "n",
    );
    assert!(declined.contains("nothing was deleted"), "{declined}");
    assert_eq!(recurring_jobs(&env).await, ["keep-me"]);

    let accepted = answer(
        &env,
        &["schedule", "delete", "keep-me", "missing"],
        &["Do you want to continue?"],
        "y",
    );
    assert!(
        accepted.contains("recurringjob.longhorn.io \"keep-me\" deleted")
            && accepted.contains("\"missing\" not found"),
        "{accepted}"
    );
    assert!(recurring_jobs(&env).await.is_empty());
    assert_eq!(owned(&env, "keep-me").await, [backup]);
}

mod bad_input;
mod output;
mod runs;
