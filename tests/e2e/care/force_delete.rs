//! `delete --force`: a SystemBackup whose deletion Longhorn does not finish (its cleanup
//! waits on a backup store that never answers) goes once its finalizer is removed, after
//! a confirmation; the copy left in the store is removed by the command printed.

use std::time::Duration;

use longhorn_ground::Kind;
use longhorn_ground::objects::system_restore;

use crate::harness::{self, Run, longhorn, plugin, system_backups};
use crate::restore::wait_state;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_ends_a_deletion_that_never_ends_and_says_what_remains() {
    let env = longhorn().await;
    let version = env.version().to_string();
    harness::create_backup(&env, "stuck", true).await;
    let remote = env.store_path().join(format!(
        "backupstore/system-backups/{version}/stuck/system-backup.zip"
    ));
    assert!(remote.exists());

    // Not being deleted: nothing to force.
    let run = plugin(&env, &["delete", "--force", "stuck", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("systembackup.longhorn.io/stuck is not being deleted")
        .stderr_has("kubectl longhorn systembackup delete stuck");
    let run = plugin(&env, &["delete", "--force", "missing", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("\"missing\" not found");
    let run = plugin(&env, &["delete", "--force", "--all"]).await;
    run.failure(2).stderr_has("cannot be used with");

    // The store stops answering: Longhorn's cleanup waits on it, in Deleting.
    env.knobs().set_store_hanging(true);
    plugin(&env, &["delete", "stuck", "-y", "--wait=false"])
        .await
        .success();
    wait_state(&env, Kind::SystemBackup, "stuck", "Deleting").await;

    // No terminal and no -y: the warning, a refusal, nothing changed.
    let run = plugin(&env, &["delete", "--force", "stuck"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("WARNING: this removes Longhorn's finalizer")
        .stderr_has("systembackup.longhorn.io/stuck (Deleting; deletion asked ")
        .stderr_has("may remain: its copy in the backup target")
        .stderr_has("pass --yes");
    assert_eq!(system_backups(&env).await, ["stuck"]);

    let run = plugin(&env, &["delete", "--force", "stuck", "-y"]).await;
    run.success()
        .stdout_has("systembackup.longhorn.io \"stuck\" deleted (finalizer removed)")
        .stdout_has(&format!(
            "May remain: its copy in the backup target, {}backupstore/system-backups/{version}/stuck/",
            env.backup_target_url().trim_end_matches('/').to_string() + "/"
        ));
    assert!(system_backups(&env).await.is_empty());
    assert!(remote.exists(), "Longhorn's cleanup never ran");
    let cleanup = run
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Clean it up with: "))
        .expect("a cleanup command")
        .to_string();

    // Longhorn's own cleanup gives up on the store after its backup-execution-timeout
    // (1 minute); then the store answers again, and the printed command removes the copy.
    tokio::time::sleep(Duration::from_secs(70)).await;
    env.knobs().set_store_hanging(false);
    assert!(remote.exists(), "the copy is still in the store");
    for command in cleanup.split(" && ") {
        let words: Vec<&str> = command.split_whitespace().collect();
        assert_eq!(
            words[..3],
            ["kubectl", "longhorn", "systembackup"],
            "{cleanup}"
        );
        let mut args = vec![
            "--kubeconfig".to_string(),
            env.kubeconfig().display().to_string(),
        ];
        args.extend(words[3..].iter().map(|w| w.to_string()));
        let run: Run = harness::run(harness::binary(), args, &[]).await;
        run.success();
    }
    assert!(!remote.exists(), "the cleanup removed the copy");
    assert!(system_backups(&env).await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn force_refuses_a_restore_that_is_not_being_deleted() {
    let env = longhorn().await;
    harness::create_backup(&env, "source", true).await;
    env.knobs().hang_restore_at("Downloading");
    let client = env.client().await.expect("client");
    Kind::SystemRestore
        .api(&client, env.namespace())
        .create(&Default::default(), &system_restore("restoring", "source"))
        .await
        .expect("create the SystemRestore");
    wait_state(&env, Kind::SystemRestore, "restoring", "Downloading").await;
    let run = plugin(&env, &["restore", "delete", "--force", "restoring", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("systemrestore.longhorn.io/restoring is not being deleted")
        .stderr_has("kubectl longhorn systembackup restore delete restoring");
    let run = plugin(&env, &["restore", "delete", "--force", "nope", "-y"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("systemrestores.longhorn.io \"nope\" not found");
    plugin(&env, &["restore", "delete", "restoring", "-y"])
        .await
        .success();
    env.knobs().clear_faults();
}
