//! Bad input to the schedule commands: one line, non-zero exit, nothing changed.

use super::*;

/// Each bad input: a one-line error, non-zero exit, nothing created or changed.
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
    // Through the binary, one cron error of each source: a field, a descriptor's
    // duration, a time-zone prefix. Every class of cron error is a unit test
    // (src/longhorn/recurring/mod.rs, `cron_errors_point_at_the_field`).
    for (cron, texts) in [
        (
            "0 25 * * *",
            &["hour field \"25\" is out of range (0-23)"][..],
        ),
        (
            "@every 1d",
            &["@every duration \"1d\" has the unknown unit \"d\""],
        ),
        (
            "TZ=UTC 0 2 * * *",
            &["time-zone prefix \"TZ=UTC\" is not supported"],
        ),
    ] {
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
