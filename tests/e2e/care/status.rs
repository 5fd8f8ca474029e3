//! `status`: the namespace at a glance, read from what longhorn-manager's controllers
//! recorded.

use serde_json::Value;

use crate::harness::{self, longhorn, normalize, plugin};

/// Ages and next-run times vary between runs.
fn normalize_status(text: &str, env: &longhorn_ground::Longhorn) -> String {
    let text = normalize(text, env);
    let age = regex::Regex::new(r"\b\d+(\.\d+)?[smhdy](\d+[smhd])?( ago|\b)").expect("regex");
    let text = age.replace_all(&text, "[AGE]$3");
    let minute = regex::Regex::new(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}").expect("regex");
    minute.replace_all(&text, "YYYY-MM-DD hh:mm").into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_sums_up_the_namespace() {
    let env = longhorn().await;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(env.version().to_string());
    let _guard = settings.bind_to_scope();

    // Nothing yet.
    let shows = [("status-empty", vec!["status"])];
    harness::pin_outputs!(&env, "care", shows, |text: &str| normalize_status(
        text, &env
    ));

    // One failed, two Ready (the newest counts), one running, and a schedule where
    // Longhorn has the system-backup task (v1.9+).
    super::failed_backup(&env, "broken", "disabled", serde_json::json!({})).await;
    harness::create_backup(&env, "older", true).await;
    // Longhorn's times have whole seconds: the newest is newer by one at least.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    harness::create_backup(&env, "newest", true).await;
    env.knobs().hang_at("Uploading");
    harness::create_backup(&env, "running", false).await;
    crate::restore::wait_state(
        &env,
        longhorn_ground::Kind::SystemBackup,
        "running",
        "Uploading",
    )
    .await;
    env.knobs().hang_restore_at("Downloading");
    let client = env.client().await.expect("client");
    longhorn_ground::Kind::SystemRestore
        .api(&client, env.namespace())
        .create(
            &Default::default(),
            &longhorn_ground::objects::system_restore("restoring", "older"),
        )
        .await
        .expect("create the SystemRestore");
    crate::restore::wait_state(
        &env,
        longhorn_ground::Kind::SystemRestore,
        "restoring",
        "Downloading",
    )
    .await;
    if env.version().at_least(9) {
        plugin(
            &env,
            &[
                "schedule",
                "create",
                "nightly",
                "--cron",
                "0 3 * * *",
                "--retain",
                "3",
            ],
        )
        .await
        .success();
    }

    let shows = [("status", vec!["status"])];
    harness::pin_outputs!(&env, "care", shows, |text: &str| normalize_status(
        text, &env
    ));
    let run = plugin(&env, &["status"]).await;
    assert!(run.stdout.lines().count() <= 10, "fits in ten lines");

    let run = plugin(&env, &["status", "-o", "json"]).await;
    run.success();
    let data: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(data["namespace"], env.namespace());
    assert_eq!(data["backupTarget"]["available"], true);
    assert_eq!(data["backupTarget"]["url"], env.backup_target_url());
    assert_eq!(data["lastReadyBackup"]["name"], "newest");
    assert_eq!(data["errors"]["count"], 1);
    assert_eq!(data["errors"]["systemBackups"][0], "broken");
    assert_eq!(data["running"][0]["kind"], "SystemBackup");
    assert_eq!(data["running"][0]["name"], "running");
    assert_eq!(data["running"][0]["state"], "Uploading");
    assert!(data["running"][0]["since"].as_str().is_some());
    assert_eq!(data["running"][1]["kind"], "SystemRestore");
    assert_eq!(data["running"][1]["name"], "restoring");
    assert_eq!(data["running"][1]["state"], "Downloading");
    if env.version().at_least(9) {
        assert_eq!(data["schedules"][0]["name"], "nightly");
        assert!(
            data["schedules"][0]["nextRun"]
                .as_str()
                .is_some_and(|n| n.ends_with(" 03:00 UTC")),
            "{data}"
        );
    } else {
        assert_eq!(data["schedules"], serde_json::json!([]));
    }
    let yaml = plugin(&env, &["status", "-o", "yaml"]).await;
    yaml.success().stdout_has("lastReadyBackup:\n  age: ");

    let run = plugin(&env, &["status", "-o", "wide"]).await;
    run.failure(2).stderr_has("[possible values: json, yaml]");
    env.knobs().clear_faults();
    plugin(&env, &["restore", "delete", "restoring", "-y"])
        .await
        .success();
}
