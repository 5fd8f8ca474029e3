//! `schedule run`: the Job Longhorn's CronJob would make, the backups its runs make,
//! Longhorn's retention, and one run at a time.

use super::*;

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

/// Longhorn's CronJob forbids overlapping runs. `run` holds to that for its manual
/// Job: while a Job of the CronJob is active it refuses, with one line naming the
/// Job, and creates nothing. (The active Job here runs another image, which the
/// ground leaves alone, so it stays active for as long as the test needs.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_while_a_run_is_active() {
    let env = with_task().await;
    create_job(&env, "forbid-sb", "0 3 * * *", "1").await;
    let cron = cron_job(&env, "forbid-sb").await;
    let client = env.client().await.unwrap();
    let job_api = Api::<Job>::namespaced(client, env.namespace());
    let active: Job = serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "forbid-sb-29000000",
            "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "forbid-sb",
                "uid": cron.metadata.uid.clone().unwrap(), "controller": true,
            }],
        },
        "spec": {"template": {"spec": {
            "restartPolicy": "Never",
            "containers": [{"name": "other", "image": "busybox:1.37", "command": ["sleep", "3600"]}],
        }}},
    }))
    .unwrap();
    let created = job_api
        .create(&PostParams::default(), &active)
        .await
        .unwrap();
    let before = jobs(&env).await.len();

    let refused = plugin(&env, &["schedule", "run", "forbid-sb", "--wait"]).await;
    refused.failure(1).one_line_error();
    refused.stderr_has(
        "a run of recurringjob \"forbid-sb\" is still in progress (job.batch/forbid-sb-29000000)",
    );
    assert_eq!(jobs(&env).await.len(), before, "no Job is created");
    assert!(owned(&env, "forbid-sb").await.is_empty());

    job_api
        .delete("forbid-sb-29000000", &DeleteParams::background())
        .await
        .unwrap();
    let uid = created.metadata.uid.unwrap();
    let deleted = kube::runtime::wait::await_condition(
        job_api.clone(),
        "forbid-sb-29000000",
        kube::runtime::conditions::is_deleted(&uid),
    );
    tokio::time::timeout(WAIT, deleted).await.unwrap().unwrap();
    let (job, backup) = run_and_wait(&env, "forbid-sb").await;
    // `--wait` returns once the run's Job has ended, not only its backup.
    let ended = job_api.get(&job).await.unwrap();
    let complete = ended
        .status
        .and_then(|s| s.conditions)
        .unwrap_or_default()
        .iter()
        .any(|c| c.type_ == "Complete" && c.status == "True");
    assert!(complete, "job {job} has ended when run --wait returns");
    assert_eq!(owned(&env, "forbid-sb").await, [backup]);
}
