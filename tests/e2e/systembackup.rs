//! The SystemBackup commands (create, list/get, describe, wait, delete) end to end,
//! and every bad input: exit code, one-line message with a hint, and
//! nothing changed.

use longhorn_ground::{Ground, plane};
use serde_json::Value;

use crate::harness::{self, Run, longhorn, normalize, plugin, system_backups};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_wait_list_describe_delete() {
    let env = longhorn().await;
    let version = env.version().to_string();

    let created = plugin(&env, &["create", "nightly", "--wait", "--timeout", "60s"]).await;
    created.success();
    assert_eq!(
        created.stdout,
        "systembackup.longhorn.io/nightly created\nsystembackup.longhorn.io/nightly condition met\n"
    );

    let list = plugin(&env, &["list"]).await;
    list.success();
    let lines: Vec<&str> = list.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "VERSION", "STATE", "CREATED", "LAST-SYNCED", "AGE"]
    );
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    assert_eq!(&row[..3], ["nightly", version.as_str(), "Ready"]);

    let json = plugin(&env, &["get", "nightly", "-o", "json"]).await;
    json.success();
    let object: Value = serde_json::from_str(&json.stdout).expect("-o json is JSON");
    assert_eq!(
        object["kind"], "SystemBackup",
        "one name prints the object itself"
    );
    assert_eq!(object["status"]["state"], "Ready");
    assert!(
        object["metadata"].get("managedFields").is_none(),
        "managedFields are hidden as in kubectl"
    );

    // Longhorn records its events just after the status change they report: describe
    // until the last one (Upload) is there.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let described = loop {
        let described = plugin(&env, &["describe", "nightly"]).await;
        described.success();
        if described
            .stdout
            .contains("Uploaded system backup to backup target")
            || std::time::Instant::now() > deadline
        {
            break described;
        }
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    for expected in [
        "Name:",
        "Volume Backup Policy:  if-not-present",
        "State:",
        "Ready",
        &format!(
            "{}/backupstore/system-backups/{version}/nightly/",
            env.backup_target_url().trim_end_matches('/')
        ),
        "Uploaded system backup to backup target",
    ] {
        assert!(
            described.stdout.contains(expected),
            "describe lacks {expected:?}:\n{}",
            described.stdout
        );
    }

    plugin(&env, &["wait", "nightly"])
        .await
        .success()
        .stdout_has("systembackup.longhorn.io/nightly condition met");

    let remote = env.store_path().join(format!(
        "backupstore/system-backups/{version}/nightly/system-backup.cfg"
    ));
    assert!(remote.exists(), "the simulator uploaded the backup");
    let deleted = plugin(&env, &["delete", "nightly", "--yes"]).await;
    deleted.success();
    assert_eq!(
        deleted.stdout,
        "systembackup.longhorn.io \"nightly\" deleted\n"
    );
    assert!(system_backups(&env).await.is_empty());
    assert!(!remote.exists(), "Longhorn deletes the remote copy too");
    plugin(&env, &["list"]).await.success().stderr_has(&format!(
        "No resources found in {} namespace.",
        env.namespace()
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_formats_are_pinned() {
    let env = longhorn().await;
    for name in ["alpha", "beta"] {
        harness::create_backup(&env, name, true).await;
    }
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(env.version().to_string());
    let _guard = settings.bind_to_scope();
    let shows = [
        ("table", vec!["list"]),
        ("wide", vec!["list", "-o", "wide"]),
        ("json-list", vec!["list", "-o", "json"]),
        ("yaml-one", vec!["get", "alpha", "-o", "yaml"]),
        ("yaml-two", vec!["get", "alpha", "beta", "-o", "yaml"]),
        ("name", vec!["list", "-o", "name"]),
        ("no-headers", vec!["list", "--no-headers"]),
        ("describe", vec!["describe", "alpha"]),
    ];
    harness::pin_outputs!(&env, "systembackup", shows, |text: &str| normalize(
        text, &env
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn selectors_and_missing_names() {
    let env = longhorn().await;
    plugin(
        &env,
        &[
            "create",
            "one",
            "--volume-backup-policy",
            "disabled",
            "--wait",
        ],
    )
    .await
    .success();
    let run = plugin(
        &env,
        &[
            "list",
            "-l",
            "recurring-job.longhorn.io/system-backup=nightly",
        ],
    )
    .await;
    run.success().stderr_has("No resources found");
    let run = plugin(&env, &["get", "one", "nope"]).await;
    run.failure(1)
        .stdout_has("one")
        .stderr_has("Error from server (NotFound): systembackups.longhorn.io \"nope\" not found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_fails_at_once_on_error_and_times_out_when_stuck() {
    let env = longhorn().await;
    // The upload to the store never returns: Longhorn stays in Uploading.
    env.knobs().hang_at("Uploading");
    plugin(
        &env,
        &["create", "stuck", "--volume-backup-policy", "disabled"],
    )
    .await
    .success();
    let run = plugin(&env, &["wait", "stuck", "--timeout", "3s"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("error: timed out waiting for the condition on systembackups/stuck");

    // zip fails while Longhorn generates the bundle: an Error at once.
    env.knobs()
        .fail_at("Generating", "zip I/O error : No space left on device");
    plugin(
        &env,
        &["create", "failing", "--volume-backup-policy", "disabled"],
    )
    .await
    .success();
    let started = std::time::Instant::now();
    let run = plugin(&env, &["wait", "failing", "--timeout", "60s"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("failing failed: failed to archive system backup file: exit status 1");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "fails fast on Error"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_keep_remote_keeps_the_backup_target_copy() {
    let env = longhorn().await;
    let version = env.version().to_string();
    plugin(
        &env,
        &[
            "create",
            "keep",
            "--volume-backup-policy",
            "disabled",
            "--wait",
        ],
    )
    .await
    .success();
    let remote = env.store_path().join(format!(
        "backupstore/system-backups/{version}/keep/system-backup.zip"
    ));
    assert!(remote.exists());
    plugin(&env, &["delete", "keep", "--keep-remote", "-y"])
        .await
        .success();
    assert!(system_backups(&env).await.is_empty());
    assert!(
        remote.exists(),
        "--keep-remote leaves the copy in the backup target"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_asks_and_reports_missing_names() {
    let env = longhorn().await;
    plugin(
        &env,
        &[
            "create",
            "a",
            "--volume-backup-policy",
            "disabled",
            "--wait",
        ],
    )
    .await
    .success();
    // No terminal and no --yes: refuse, delete nothing.
    let run = plugin(&env, &["delete", "a"]).await;
    run.failure(1).one_line_error().stderr_has("pass --yes");
    assert_eq!(system_backups(&env).await, ["a"]);
    // A missing name is reported; the others still go; exit 1 at the end.
    let run = plugin(&env, &["delete", "a", "missing", "-y"]).await;
    run.failure(1)
        .stdout_has("systembackup.longhorn.io \"a\" deleted")
        .stderr_has("\"missing\" not found");
    assert!(system_backups(&env).await.is_empty());
    // Nothing matched.
    let run = plugin(&env, &["delete", "-l", "app=none", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("match -l app=none");
    let run = plugin(&env, &["delete", "--all", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("no SystemBackups");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_runs_create_nothing() {
    let env = longhorn().await;
    let run = plugin(&env, &["create", "dry", "--dry-run", "-o", "yaml"]).await;
    run.success()
        .stdout_has("name: dry")
        .stdout_has("volumeBackupPolicy: if-not-present");
    plugin(&env, &["create", "dry", "--dry-run=server"])
        .await
        .success()
        .stdout_has("created (server dry run)");
    assert!(system_backups(&env).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admission_rejections_show_longhorns_text() {
    let env = longhorn().await;
    env.set_backup_target_available(false)
        .await
        .expect("target unavailable");
    // --dry-run=server asks Longhorn's webhooks directly, without our own checks.
    let run = plugin(&env, &["create", "x", "--dry-run=server"]).await;
    if env.version().at_least(10) {
        run.failure(1).one_line_error().stderr_has(
            "admission webhook \"validator.longhorn.io\" denied the request: backup target default is not available",
        );
    } else {
        // Before v1.10 Longhorn's webhook does not check availability (docs/longhorn-behaviour.md,
        // "SystemBackup").
        run.success().stdout_has("(server dry run)");
    }
    assert!(system_backups(&env).await.is_empty());
}

/// Each bad input: a one-line error with a hint, non-zero exit, no CR.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_changes_nothing() {
    let env = longhorn().await;
    let expect = |run: &Run, code: i32, text: &str| {
        run.failure(code).stderr_has(text);
        if code == 1 {
            run.one_line_error();
        }
    };
    expect(
        &plugin(&env, &["create", "Not_Valid"]).await,
        1,
        "use lower case letters",
    );
    expect(
        &plugin(
            &env,
            &["create", "x", "--volume-backup-policy", "sometimes"],
        )
        .await,
        2,
        "[possible values: if-not-present, always, disabled]",
    );
    expect(
        &plugin(&env, &["create", "x", "--wait", "--timeout", "soon"]).await,
        2,
        "invalid duration",
    );
    expect(
        &plugin(&env, &["wait", "nope"]).await,
        1,
        "\"nope\" not found",
    );
    expect(
        &plugin(&env, &["create"]).await,
        1,
        "a NAME is required when not on a terminal",
    );
    assert!(system_backups(&env).await.is_empty());

    plugin(
        &env,
        &["create", "taken", "--volume-backup-policy", "disabled"],
    )
    .await
    .success();
    expect(
        &plugin(&env, &["create", "taken"]).await,
        1,
        "already exists",
    );
    assert_eq!(system_backups(&env).await, ["taken"]);

    // A namespace without Longhorn.
    let run = harness::run(
        harness::binary(),
        vec![
            "--kubeconfig".into(),
            env.kubeconfig().display().to_string(),
            "-n".into(),
            "default".into(),
            "create".into(),
            "x".into(),
        ],
        &[],
    )
    .await;
    expect(&run, 1, "Longhorn is not installed in namespace default");

    // Backup target unavailable, then unset.
    env.set_backup_target_available(false)
        .await
        .expect("unavailable");
    expect(&plugin(&env, &["create", "x"]).await, 1, "is not available");
    env.set_backup_target_available(true)
        .await
        .expect("available");
    harness::patch(
        &env,
        ("BackupTarget", "backuptargets"),
        "default",
        serde_json::json!({"spec": {"backupTargetURL": ""}}),
    )
    .await;
    expect(
        &plugin(&env, &["create", "x"]).await,
        1,
        "the backup target is not set",
    );
    // Unsetting the URL makes Longhorn delete every SystemBackup CR (docs/longhorn-behaviour.md,
    // "Backup target"),
    // so only check that the refused create added nothing.
    assert!(!system_backups(&env).await.contains(&"x".to_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_and_credential_problems() {
    let env = longhorn().await;
    let expect = |run: &Run, text: &str| {
        run.failure(1).one_line_error().stderr_has(text);
    };
    let args = |kubeconfig: &std::path::Path, rest: &[&str]| {
        let mut all = vec![
            "--kubeconfig".to_string(),
            kubeconfig.display().to_string(),
            "-n".into(),
            env.namespace().to_string(),
        ];
        all.extend(rest.iter().map(|s| s.to_string()));
        all
    };
    let dir = tempfile::tempdir().unwrap();

    // Wrong context.
    expect(
        &plugin(&env, &["--context", "nope", "list"]).await,
        "context \"nope\" is not in the kubeconfig",
    );

    // Expired credentials: a token the server does not know.
    let expired = dir.path().join("expired");
    std::fs::write(
        &expired,
        env.plane()
            .kubeconfig_yaml(plane::ADMIN, Some("expired-token")),
    )
    .unwrap();
    expect(
        &harness::run(harness::binary(), args(&expired, &["list"]), &[]).await,
        "You must be logged in to the server (Unauthorized)",
    );

    // Unreachable API server.
    let port = longhorn_ground::plane::free_port().unwrap();
    let unreachable = dir.path().join("unreachable");
    let text = env
        .plane()
        .kubeconfig_yaml(plane::ADMIN, None)
        .replace(&env.plane().server, &format!("https://127.0.0.1:{port}"));
    std::fs::write(&unreachable, text).unwrap();
    expect(
        &harness::run(harness::binary(), args(&unreachable, &["list"]), &[]).await,
        "Unable to connect to the server",
    );

    // RBAC: a user who may read but not create.
    env.grant(plane::LIMITED, serde_json::json!([{"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["get", "list", "watch"]}]))
        .await
        .expect("grant read access");
    let limited = env.kubeconfig_for(plane::LIMITED).unwrap();
    let run = harness::run(harness::binary(), args(&limited, &["create", "x"]), &[]).await;
    expect(
        &run,
        "you are not allowed to create systembackups.longhorn.io",
    );
    assert!(system_backups(&env).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longhorn_not_installed() {
    // A plane with no Longhorn CRDs at all.
    let plane = longhorn_ground::ControlPlane::start().await.expect("plane");
    let run = harness::run(
        harness::binary(),
        vec![
            "--kubeconfig".into(),
            plane.kubeconfig_path().display().to_string(),
            "list".into(),
        ],
        &[],
    )
    .await;
    run.failure(1)
        .one_line_error()
        .stderr_has("Longhorn is not installed in this cluster");
    let run = harness::run(
        harness::binary(),
        vec![
            "--kubeconfig".into(),
            plane.kubeconfig_path().display().to_string(),
            "-n".into(),
            "longhorn-system".into(),
            "create".into(),
            "x".into(),
        ],
        &[],
    )
    .await;
    run.failure(1)
        .one_line_error()
        .stderr_has("Longhorn is not installed");
    let _ = Ground::default_version();
}

/// `-o json|yaml|name` are shaped exactly like `kubectl get -o …` on the same objects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_output_matches_kubectl() {
    let env = longhorn().await;
    for name in ["first", "second"] {
        harness::create_backup(&env, name, true).await;
    }
    harness::assert_get_matches_kubectl(&env, &[], "systembackups.longhorn.io").await;
}
