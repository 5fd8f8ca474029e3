//! What the schedule commands print, pinned by snapshots and held against kubectl's
//! own output.

use super::*;

/// Normalises what [`normalize`] leaves: run times and the random parts of names, by
/// placeholders of the same width.
fn normalize_schedule(text: &str, env: &Longhorn) -> String {
    let text = normalize(text, env);
    let text = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")
        .unwrap()
        .replace_all(&text, "YYYY-MM-DD hh:mm");
    regex::Regex::new(r"-manual-[0-9a-f]{5}\b")
        .unwrap()
        .replace_all(&text, "-manual-xxxxx")
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
