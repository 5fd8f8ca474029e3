//! `retry NAME`: a failed SystemBackup (Longhorn leaves it in Error) is made again under
//! a new name with its spec and labels, by longhorn-manager's own controller.

use longhorn_ground::Longhorn;
use serde_json::{Value, json};

use super::failed_backup;
use crate::harness::{self, Run, longhorn, plugin, system_backups};

async fn get(env: &Longhorn, name: &str) -> Value {
    let run = plugin(env, &["get", name, "-o", "json"]).await;
    run.success();
    serde_json::from_str(&run.stdout).expect("JSON")
}

async fn state(env: &Longhorn, name: &str) -> String {
    get(env, name).await["status"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_makes_the_failed_backup_again_under_the_first_free_name() {
    let env = longhorn().await;
    failed_backup(&env, "nightly", "disabled", json!({"team": "storage"})).await;

    let run = plugin(&env, &["retry", "nightly", "--wait"]).await;
    run.success()
        .stdout_has("systembackup.longhorn.io/nightly-retry-1 created")
        .stdout_has("systembackup.longhorn.io/nightly-retry-1 condition met");
    let retried = get(&env, "nightly-retry-1").await;
    assert_eq!(retried["status"]["state"], "Ready");
    assert_eq!(retried["spec"]["volumeBackupPolicy"], "disabled");
    assert_eq!(retried["metadata"]["labels"]["team"], "storage");
    assert_eq!(
        state(&env, "nightly").await,
        "Error",
        "the failed one stays"
    );

    // The first free number, also when retrying a retry; --name picks the name.
    harness::create_backup(&env, "nightly-retry-3", false).await;
    let run = plugin(&env, &["retry", "nightly", "-o", "name"]).await;
    run.success();
    assert_eq!(run.stdout, "systembackup.longhorn.io/nightly-retry-2\n");
    plugin(&env, &["retry", "nightly", "--name", "by-hand", "--wait"])
        .await
        .success();
    assert_eq!(
        get(&env, "by-hand").await["metadata"]["labels"]["team"],
        "storage"
    );
    plugin(&env, &["wait", "nightly-retry-2", "nightly-retry-3"])
        .await
        .success();
    assert_eq!(
        system_backups(&env).await,
        [
            "by-hand",
            "nightly",
            "nightly-retry-1",
            "nightly-retry-2",
            "nightly-retry-3"
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replace_deletes_the_failed_backup_only_once_the_retry_is_ready() {
    let env = longhorn().await;
    failed_backup(&env, "weekly", "disabled", json!({})).await;

    // The retry fails too: the failed backup stays, and so does the new one.
    env.knobs()
        .fail_at("Generating", "zip I/O error: No space left on device");
    let run = plugin(&env, &["retry", "weekly", "--replace", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stdout_has("systembackup.longhorn.io/weekly-retry-1 created")
        .stderr_has("weekly-retry-1 failed: ")
        .stderr_has("kubectl longhorn systembackup retry weekly-retry-1");
    assert_eq!(system_backups(&env).await, ["weekly", "weekly-retry-1"]);
    env.knobs().clear_faults();

    // The retry of the retry is Ready: then, and only then, the failed one goes.
    let run = plugin(&env, &["retry", "weekly-retry-1", "--replace", "-y"]).await;
    run.success();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "systembackup.longhorn.io/weekly-retry-2 created",
            "systembackup.longhorn.io/weekly-retry-2 condition met",
            "systembackup.longhorn.io \"weekly-retry-1\" deleted",
        ]
    );
    assert_eq!(system_backups(&env).await, ["weekly", "weekly-retry-2"]);
    assert_eq!(state(&env, "weekly-retry-2").await, "Ready");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_refuses_what_it_cannot_retry_and_creates_nothing() {
    let env = longhorn().await;
    harness::create_backup(&env, "fine", true).await;
    failed_backup(&env, "broken", "disabled", json!({})).await;
    let refused = |run: &Run, code: i32, text: &str| {
        run.failure(code).stderr_has(text);
        if code == 1 {
            run.one_line_error();
        }
    };
    refused(
        &plugin(&env, &["retry", "fine"]).await,
        1,
        "systembackup \"fine\" is Ready, not Error; only a failed system backup can be retried",
    );
    refused(
        &plugin(&env, &["retry", "missing"]).await,
        1,
        "systembackups.longhorn.io \"missing\" not found",
    );
    refused(
        &plugin(&env, &["retry", "broken", "--name", "fine"]).await,
        1,
        "systembackup \"fine\" already exists",
    );
    refused(
        &plugin(&env, &["retry", "broken", "--name", "broken"]).await,
        1,
        "the failed backup's own name",
    );
    refused(
        &plugin(&env, &["retry", "broken", "--name", "Not_Valid"]).await,
        1,
        "use lower case letters",
    );
    refused(
        &plugin(&env, &["retry", "broken", "--replace"]).await,
        1,
        "pass -y to confirm",
    );
    refused(
        &plugin(&env, &["retry", "broken", "-y"]).await,
        2,
        "--replace",
    );
    refused(&plugin(&env, &["retry"]).await, 2, "<NAME>");
    assert_eq!(system_backups(&env).await, ["broken", "fine"]);

    // Arguments are checked before anything is sent: a cluster nobody serves is never
    // reached.
    let unreachable = tempfile::tempdir().expect("temp dir");
    let kubeconfig = unreachable.path().join("config");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:9'}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers: [{name: u, user: {token: t}}]\n",
    )
    .expect("kubeconfig");
    let kubeconfig = kubeconfig.display().to_string();
    for (args, text) in [
        (
            vec!["retry", "broken", "--name", "Not_Valid"],
            "use lower case letters",
        ),
        (vec!["retry", "broken", "--replace"], "pass -y to confirm"),
    ] {
        let mut full = vec!["--kubeconfig", kubeconfig.as_str()];
        full.extend(args);
        let run = harness::run(
            harness::binary(),
            full.iter().map(|a| a.to_string()).collect(),
            &[],
        )
        .await;
        refused(&run, 1, text);
    }
}
