//! The schedule commands (RecurringJobs of task system-backup) end to end, and every
//! bad input of issue 4: exit code, one-line message, nothing changed.
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

const WAIT: Duration = Duration::from_secs(60);
const LABEL: &str = "recurring-job.longhorn.io/system-backup";

/// Every class of cron error robfig/cron v1.2.0 makes, and what the plugin's refusal
/// says about each (pointing at the field).
pub(crate) const BAD_CRONS: [(&str, &[&str]); 20] = [
    ("", &["is empty; expected 5 fields"]),
    ("0 2 * *", &["found 4"]),
    ("0 0 0 * * *", &["found 6; there is no seconds field"]),
    ("0 25 * * *", &["hour field \"25\" is out of range (0-23)"]),
    ("60 * * * *", &["minute field \"60\""]),
    ("0 0 32 * *", &["day-of-month field \"32\""]),
    (
        "0 0 * * 7",
        &["day-of-week field \"7\"", "7 is not allowed"],
    ),
    (
        "0 22-2 * * *",
        &["hour field", "use a list such as 22-23,0-2"],
    ),
    (
        "*/0 * * * *",
        &["minute field", "a step must be a positive number"],
    ),
    ("0 0 * * 1/x", &["day-of-week field"]),
    ("0 0 1-2-3 * *", &["day-of-month field"]),
    ("0 0 * foo *", &["month field \"foo\""]),
    ("0 0 * mon *", &["day names go in the day-of-week field"]),
    ("0 0 * * funday", &["day-of-week field \"funday\""]),
    ("@fortnightly", &["@fortnightly"]),
    ("@Daily", &["descriptors are lower-case: \"@daily\""]),
    (
        "@every 1d",
        &["@every duration \"1d\" has the unknown unit \"d\""],
    ),
    ("@every 5", &["@every"]),
    (
        "TZ=UTC 0 2 * * *",
        &["time-zone prefix \"TZ=UTC\" is not supported"],
    ),
    (
        "CRON_TZ=Europe/Berlin 0 2 * * *",
        &["time-zone prefix \"CRON_TZ=Europe/Berlin\" is not supported"],
    ),
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

async fn with_task() -> Longhorn {
    Ground::shared(&task_version())
        .await
        .expect("the test ground starts (see docs/testing.md)")
}

async fn recurring_jobs(env: &Longhorn) -> Vec<String> {
    harness::names(env, "RecurringJob", "recurringjobs").await
}

fn recurring_api(client: kube::Client, env: &Longhorn) -> Api<DynamicObject> {
    Kind::RecurringJob.api(&client, env.namespace())
}

async fn spec_of(env: &Longhorn, name: &str) -> Value {
    let client = env.client().await.unwrap();
    recurring_api(client, env).get(name).await.unwrap().data["spec"].clone()
}

/// Longhorn's CronJob for the RecurringJob, once the controller has made it.
async fn cron_job(env: &Longhorn, name: &str) -> CronJob {
    let client = env.client().await.unwrap();
    let api: Api<CronJob> = Api::namespaced(client, env.namespace());
    let wait = kube::runtime::wait::await_condition(api, name, |c: Option<&CronJob>| c.is_some());
    tokio::time::timeout(WAIT, wait)
        .await
        .expect("longhorn-manager makes the CronJob")
        .unwrap()
        .unwrap()
}

async fn jobs(env: &Longhorn) -> Vec<Job> {
    let client = env.client().await.unwrap();
    Api::<Job>::namespaced(client, env.namespace())
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
}

/// SystemBackups labelled as made by `job`, leaving out those on their way out.
async fn owned(env: &Longhorn, job: &str) -> Vec<String> {
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
fn cells(line: &str) -> Vec<String> {
    regex::Regex::new(r" {3,}")
        .unwrap()
        .split(line.trim())
        .map(str::to_string)
        .collect()
}

/// The row of `name` in a table.
fn row(table: &str, name: &str) -> Vec<String> {
    table
        .lines()
        .map(cells)
        .find(|c| c[0] == name)
        .unwrap_or_else(|| panic!("no row {name}:\n{table}"))
}

async fn create_job(env: &Longhorn, name: &str, cron: &str, retain: &str) {
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
async fn run_and_wait(env: &Longhorn, job: &str) -> (String, String) {
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
fn next_two_oclock(after: Timestamp, zone: &str) -> String {
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

    // The alias names the CR; the columns are those of issue 4.
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

/// `run --wait` follows the backup its Job makes; retention prunes through Longhorn's
/// own job, and deletes the backup `describe` said it would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_make_backups_and_retention_deletes_what_describe_predicted() {
    let env = with_task().await;
    create_job(&env, "hourly-sb", "0 * * * *", "2").await;
    cron_job(&env, "hourly-sb").await;
    let mut made = Vec::new();
    for _ in 0..2 {
        let (_, backup) = run_and_wait(&env, "hourly-sb").await;
        // Longhorn's name: the first 8 characters of "<job>-c", a dash, a UUID.
        assert!(
            backup.starts_with("hourly-s-") && backup.len() == "hourly-s-".len() + 36,
            "{backup}"
        );
        made.push(backup);
        // status.createdAt has second precision: keep the runs apart so that
        // "oldest" is well defined.
        tokio::time::sleep(Duration::from_millis(1100)).await;
    }
    let list = plugin(&env, &["schedule", "list"]).await;
    list.success();
    assert_eq!(&row(&list.stdout, "hourly-sb")[5..7], ["2", "Ready"]);

    let described = plugin(&env, &["schedule", "describe", "hourly-sb"]).await;
    described.success();
    let line_of = |name: &str| {
        described
            .stdout
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("describe lacks {name}:\n{}", described.stdout))
            .to_string()
    };
    assert!(
        line_of(&made[0]).ends_with("deleted by the next run"),
        "{}",
        described.stdout
    );
    assert!(!line_of(&made[1]).contains("deleted"));
    let oldest_first =
        described.stdout.find(&made[0]).unwrap() < described.stdout.find(&made[1]).unwrap();
    assert!(oldest_first, "backups are listed oldest first");

    let (_, third) = run_and_wait(&env, "hourly-sb").await;
    env.wait_for_deletion(Kind::SystemBackup, &made[0], WAIT)
        .await
        .expect("retain 2 prunes the oldest");
    let mut kept = vec![made[1].clone(), third.clone()];
    kept.sort();
    assert_eq!(owned(&env, "hourly-sb").await, kept);
    let client = env.client().await.unwrap();
    let job = recurring_api(client, &env).get("hourly-sb").await.unwrap();
    assert_eq!(job.data["status"]["executionCount"], 3);
    let list = plugin(&env, &["schedule", "get", "hourly-sb"]).await;
    list.success();
    assert_eq!(&row(&list.stdout, "hourly-sb")[5..7], ["2", "Ready"]);

    // Deleting the job leaves its backups.
    let deleted = plugin(&env, &["schedule", "delete", "hourly-sb", "-y"]).await;
    deleted.success().stderr_has(&format!(
        "The 2 SystemBackup(s) made by hourly-sb stay; delete them with: kubectl longhorn systembackup delete -l {LABEL}=hourly-sb"
    ));
    assert!(recurring_jobs(&env).await.is_empty());
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(owned(&env, "hourly-sb").await, kept);
    plugin(&env, &["list", "-l", &format!("{LABEL}=hourly-sb")])
        .await
        .success()
        .stdout_has(&third);
}

/// The Job `run` makes is the one `kubectl create job --from=cronjob/NAME` (kubectl
/// 1.32) makes from the same CronJob: same labels, annotations, owner and spec.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_makes_the_job_kubectl_makes() {
    let env = with_task().await;
    create_job(&env, "weekly", "@weekly", "1").await;
    cron_job(&env, "weekly").await;

    let client_side = kubectl(
        &env,
        &[
            "create",
            "job",
            "--from=cronjob/weekly",
            "from-kubectl",
            "--dry-run=client",
            "-o",
            "json",
        ],
    )
    .await;
    client_side.success();
    let client_side: Value = serde_json::from_str(&client_side.stdout).unwrap();
    let server_side = kubectl(
        &env,
        &[
            "create",
            "job",
            "--from=cronjob/weekly",
            "from-kubectl",
            "--dry-run=server",
            "-o",
            "json",
        ],
    )
    .await;
    server_side.success();
    let server_side: Value = serde_json::from_str(&server_side.stdout).unwrap();

    let run = plugin(&env, &["schedule", "run", "weekly"]).await;
    run.success();
    let name = run
        .stdout
        .strip_prefix("job.batch/")
        .and_then(|s| s.strip_suffix(" created\n"))
        .unwrap_or_else(|| panic!("{}", run.stdout))
        .to_string();
    assert!(name.starts_with("weekly-manual-"), "{name}");
    let ours = kubectl(&env, &["get", "job", &name, "-o", "json"]).await;
    ours.success();
    let ours: Value = serde_json::from_str(&ours.stdout).unwrap();

    // What kubectl sends: the apiserver keeps these as they are (the Job's labels
    // are defaulted from its pod template when empty, as kubectl leaves them).
    for field in ["annotations", "ownerReferences"] {
        assert_eq!(
            ours["metadata"][field], client_side["metadata"][field],
            "metadata.{field}"
        );
    }
    assert_eq!(
        ours["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"],
        "manual"
    );
    // What the apiserver makes of it: the same Job but for its own name and uid.
    let project = |job: &Value| {
        let uid = job["metadata"]["uid"].as_str().unwrap();
        let name = job["metadata"]["name"].as_str().unwrap();
        let text = json!({
            "labels": job["metadata"]["labels"],
            "annotations": job["metadata"]["annotations"],
            "ownerReferences": job["metadata"]["ownerReferences"],
            "spec": job["spec"],
        })
        .to_string()
        .replace(uid, "[UID]")
        .replace(name, "[JOB]");
        serde_json::from_str::<Value>(&text).unwrap()
    };
    assert_eq!(project(&ours), project(&server_side));

    // Dry runs made nothing; the simulator ran ours to completion.
    let names: Vec<String> = jobs(&env)
        .await
        .into_iter()
        .filter_map(|j| j.metadata.name)
        .collect();
    assert_eq!(names, std::slice::from_ref(&name));
    let client = env.client().await.unwrap();
    let done = kube::runtime::wait::await_condition(
        Api::<Job>::namespaced(client, env.namespace()),
        &name,
        |j: Option<&Job>| {
            j.and_then(|j| j.status.as_ref())
                .and_then(|s| s.succeeded)
                .is_some_and(|n| n == 1)
        },
    );
    tokio::time::timeout(WAIT, done).await.unwrap().unwrap();
    assert_eq!(owned(&env, "weekly").await.len(), 1);
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

/// Each bad input of issue 4: a one-line error, non-zero exit, nothing created or
/// changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_changes_nothing() {
    let env = with_task().await;
    let expect = |run: &Run, code: i32, texts: &[&str]| {
        run.failure(code);
        if code == 1 {
            run.one_line_error();
        }
        for text in texts {
            run.stderr_has(text);
        }
    };
    let create = |cron: &'static str, retain: &'static str| {
        let env = &env;
        async move {
            plugin(
                env,
                &[
                    "schedule", "create", "bad", "--cron", cron, "--retain", retain,
                ],
            )
            .await
        }
    };
    for (cron, texts) in BAD_CRONS {
        let run = create(cron, "1").await;
        expect(&run, 1, texts);
        run.stderr_has(&format!("invalid cron expression {cron:?}"));
    }
    expect(
        &create("@daily", "0").await,
        1,
        &["--retain 0 keeps no backup"],
    );
    expect(
        &create("@daily", "-2").await,
        1,
        &["--retain -2 keeps no backup"],
    );
    expect(
        &create("@daily", "101").await,
        1,
        &["recurring-job-max-retention (100)"],
    );
    expect(
        &plugin(
            &env,
            &[
                "schedule",
                "create",
                "bad",
                "--cron",
                "@daily",
                "--volume-backup-policy",
                "sometimes",
            ],
        )
        .await,
        2,
        &["[possible values: if-not-present, always, disabled]"],
    );
    expect(
        &plugin(&env, &["schedule", "create", "bad", "--retain", "1"]).await,
        2,
        &["--cron <EXPR>"],
    );
    for name in &bad_names() {
        expect(
            &plugin(
                &env,
                &["schedule", "create", "--cron", "@daily", "--", name],
            )
            .await,
            1,
            &[&format!("invalid RecurringJob name {name:?}"), "lower case"],
        );
    }
    assert!(recurring_jobs(&env).await.is_empty(), "nothing was created");

    // A duplicate name, then set with bad values: the job stays as it was.
    create_job(&env, "taken", "0 1 * * *", "2").await;
    let original = spec_of(&env, "taken").await;
    let client = env.client().await.unwrap();
    let generation = || {
        let api = recurring_api(client.clone(), &env);
        async move { api.get("taken").await.unwrap().metadata.generation }
    };
    let before = generation().await;
    expect(
        &plugin(&env, &["schedule", "create", "taken", "--cron", "@hourly"]).await,
        1,
        &[
            "recurringjob \"taken\" already exists",
            "schedule set taken",
        ],
    );
    for (args, text) in [
        (vec!["--cron", "0 24 * * *"], "hour field \"24\""),
        (vec!["--cron", "TZ=UTC @daily"], "time-zone prefix"),
        (vec!["--retain", "0"], "keeps no backup"),
        (
            vec!["--retain", "1000"],
            "recurring-job-max-retention (100)",
        ),
        (vec![], "nothing to change"),
    ] {
        let mut full = vec!["schedule", "set", "taken"];
        full.extend(args);
        expect(&plugin(&env, &full).await, 1, &[text]);
    }
    expect(
        &plugin(
            &env,
            &[
                "schedule",
                "set",
                "taken",
                "--volume-backup-policy",
                "often",
            ],
        )
        .await,
        2,
        &["[possible values"],
    );
    expect(
        &plugin(&env, &["schedule", "set", "missing", "--retain", "2"]).await,
        1,
        &["recurringjob \"missing\" does not exist"],
    );
    assert_eq!(spec_of(&env, "taken").await, original);
    assert_eq!(generation().await, before, "the job was not written");

    // Jobs of other tasks are not ours to change or run.
    recurring_api(client.clone(), &env)
        .create(
            &PostParams::default(),
            &recurring_job("volume-backups", "backup", "0 3 * * *", 1, json!({})),
        )
        .await
        .unwrap();
    for args in [
        vec!["schedule", "run", "volume-backups"],
        vec!["schedule", "set", "volume-backups", "--retain", "2"],
    ] {
        expect(
            &plugin(&env, &args).await,
            1,
            &["runs task backup, not system-backup"],
        );
    }
    let list = plugin(&env, &["schedule", "list"]).await;
    list.success();
    assert!(!list.stdout.contains("volume-backups"), "{}", list.stdout);
    let all = plugin(&env, &["schedule", "list", "--all-tasks", "-o", "wide"]).await;
    all.success();
    assert_eq!(row(&all.stdout, "volume-backups")[8], "backup");

    // run: a missing job, then a job whose CronJob is gone.
    expect(
        &plugin(&env, &["schedule", "run", "missing"]).await,
        1,
        &["recurringjob \"missing\" does not exist"],
    );
    cron_job(&env, "taken").await;
    Api::<CronJob>::namespaced(client.clone(), env.namespace())
        .delete("taken", &DeleteParams::default())
        .await
        .unwrap();
    let gone = kube::runtime::wait::await_condition(
        Api::<CronJob>::namespaced(client.clone(), env.namespace()),
        "taken",
        |c: Option<&CronJob>| c.is_none(),
    );
    tokio::time::timeout(WAIT, gone).await.unwrap().unwrap();
    expect(
        &plugin(&env, &["schedule", "run", "taken", "--wait"]).await,
        1,
        &[
            "recurringjob \"taken\" has no CronJob",
            "check that longhorn-manager is running",
        ],
    );
    assert!(jobs(&env).await.is_empty(), "no Job was created");
    assert!(owned(&env, "taken").await.is_empty());
    assert_eq!(recurring_jobs(&env).await, ["taken", "volume-backups"]);
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

/// Normalises what [`normalize`] leaves: run times and the random parts of names.
fn normalize_schedule(text: &str, env: &Longhorn) -> String {
    let text = normalize(text, env);
    let text = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
        .unwrap()
        .replace_all(&text, "[RUN-TIME]");
    regex::Regex::new(r"-manual-[0-9a-f]{5}\b")
        .unwrap()
        .replace_all(&text, "-manual-[HEX]")
        .into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_formats_are_pinned() {
    let env = with_task().await;
    create_job(&env, "alpha", "0 2 * * *", "2").await;
    plugin(
        &env,
        &[
            "schedule",
            "create",
            "beta",
            "--cron",
            "*/30 9-17 * * mon-fri",
        ],
    )
    .await
    .success();
    cron_job(&env, "alpha").await;
    cron_job(&env, "beta").await;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(task_version());
    let _guard = settings.bind_to_scope();

    let (_, backup) = run_and_wait(&env, "alpha").await;
    env.wait_for_system_backup(&backup, &["Ready"], WAIT)
        .await
        .unwrap();
    let shows = [
        ("table", vec!["schedule", "list"]),
        ("wide", vec!["schedule", "list", "-o", "wide"]),
        ("json-list", vec!["schedule", "list", "-o", "json"]),
        ("json-one", vec!["schedule", "get", "alpha", "-o", "json"]),
        ("yaml-one", vec!["schedule", "get", "alpha", "-o", "yaml"]),
        (
            "yaml-two",
            vec!["schedule", "get", "alpha", "beta", "-o", "yaml"],
        ),
        ("name", vec!["schedule", "list", "-o", "name"]),
        ("no-headers", vec!["schedule", "list", "--no-headers"]),
        ("describe", vec!["schedule", "describe", "alpha"]),
        ("describe-empty", vec!["schedule", "describe", "beta"]),
        (
            "create-dry-run-yaml",
            vec![
                "schedule",
                "create",
                "gamma",
                "--cron",
                "@every 12h",
                "--retain",
                "7",
                "--dry-run",
                "-o",
                "yaml",
            ],
        ),
        (
            "create-dry-run-server-name",
            vec![
                "schedule",
                "create",
                "gamma",
                "--cron",
                "@hourly",
                "--dry-run=server",
                "-o",
                "name",
            ],
        ),
        (
            "set-dry-run-json",
            vec![
                "schedule",
                "set",
                "alpha",
                "--retain",
                "3",
                "--dry-run",
                "-o",
                "json",
            ],
        ),
        (
            "set-dry-run-server",
            vec![
                "schedule",
                "set",
                "alpha",
                "--cron",
                "@daily",
                "--dry-run=server",
            ],
        ),
    ];
    harness::pin_outputs!(&env, "schedule", shows, |text: &str| normalize_schedule(
        text, &env
    ));
    assert_eq!(
        recurring_jobs(&env).await,
        ["alpha", "beta"],
        "dry runs create nothing"
    );
    assert_eq!(
        spec_of(&env, "alpha").await["retain"],
        2,
        "dry runs change nothing"
    );
    plugin(&env, &["schedule", "list", "-l", "app=none"])
        .await
        .success()
        .stderr_has("No resources found");
    let run = plugin(&env, &["schedule", "get", "alpha", "nope"]).await;
    run.failure(1)
        .stdout_has("alpha")
        .stderr_has("Error from server (NotFound): recurringjobs.longhorn.io \"nope\" not found");
}

/// `-o json|yaml|name` are shaped exactly like `kubectl get -o …` on the same objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_matches_kubectl() {
    let env = with_task().await;
    create_job(&env, "first", "0 1 * * *", "1").await;
    create_job(&env, "second", "0 2 * * *", "2").await;
    let client = env.client().await.unwrap();
    recurring_api(client, &env)
        .patch(
            "second",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"tier": "gold"}}})),
        )
        .await
        .unwrap();
    let selected = plugin(&env, &["schedule", "list", "-l", "tier=gold", "-o", "name"]).await;
    assert_eq!(
        selected.success().stdout,
        "recurringjob.longhorn.io/second\n"
    );
    harness::assert_get_matches_kubectl(&env, &["schedule"], "recurringjobs.longhorn.io").await;
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

/// `-o yaml` is byte for byte kubectl's on strings go-yaml quotes, folds or writes as
/// blocks, and on keys it sorts its own way (annotations can hold any text).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn yaml_matches_kubectl_on_awkward_strings() {
    let env = with_task().await;
    create_job(&env, "first", "*/5 * * * *", "1").await;
    create_job(&env, "second", "@every 1h30m", "1").await;
    let long = "failed to unpack system backup from file: unzip: cannot find zipfile directory";
    let values = [
        "plain",
        "",
        "true",
        "yes",
        "on",
        "null",
        "~",
        "123",
        "0x1F",
        "08",
        "1e3",
        "1e400",
        ".5",
        "1:20",
        "2026-11-27T19:19:11Z",
        "2026-1-2",
        "2026-13-02",
        "2026-11-27 10:00:00",
        "a: b",
        "a:b",
        "- x",
        "-x",
        "a #b",
        "a#b",
        " lead",
        "trail ",
        "it's: x",
        "tab\there",
        "emoji 😀",
        "é",
        "<<",
        "{x}",
        "[x]",
        "*x",
        "&x",
        "!x",
        "%x",
        "@x",
        "`x",
        "|x",
        ">x",
        "'x'",
        "\"x\"",
        "?x",
        "? x",
        ":x",
        ",x",
        "x,y",
        "---",
        "...",
        "a\nb",
        "a\nb\n",
        "a\n\n",
        " a\nb",
        "a \nb",
        "a\n b",
        "\nx",
        "x\r",
        long,
        "word word word word word word word word word word word word word word word word word word",
        "tab\tand a long text that goes on past the eightieth column of the line, surely",
        "two  spaces  between  words  in  a  text  that  is  longer  than  eighty  characters",
        "0b101",
        "-0x10",
        "+12",
        "1_000",
        "0o17",
        ".inf",
        "-.Inf",
        ".NaN",
        "1.",
        "-",
        "+",
    ];
    let mut annotations = serde_json::Map::new();
    for (i, value) in values.iter().enumerate() {
        annotations.insert(format!("example.com/k{i}"), json!(value));
    }
    for key in ["k-a10", "k-a9", "k-_x", "k-Z", "k-b", "k-0", "k-00"] {
        annotations.insert(format!("sort.example.com/{key}"), json!("v"));
    }
    let client = env.client().await.unwrap();
    recurring_api(client, &env)
        .patch(
            "first",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"annotations": annotations}})),
        )
        .await
        .unwrap();
    harness::assert_get_matches_kubectl(&env, &["schedule"], "recurringjobs.longhorn.io").await;
}
