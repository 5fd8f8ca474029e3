//! Restores that follow what Longhorn's rollout does: an engine image it deploys is a
//! wait, another minor version is its documented limitation, and a bundle whose folder
//! is not the backup's name restores nothing.

use super::*;

/// An engine image still deploying is a wait, not a refusal: Longhorn's rollout
/// waits until the image the cfg names is deployed (and creates it when there is
/// none). The plan says so; the restore waits, then completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_image_still_deploying_is_a_wait() {
    let env = longhorn().await;
    ready_backup(&env, "good").await;
    let image = env.seeded().engine_image.clone();
    let image_object = longhorn_ground::seed::engine_image_name(&image);
    env.knobs().set_engine_image_deployed(false);
    wait_state(&env, Kind::EngineImage, &image_object, "deploying").await;

    let run = restore(&env, "good", &["-y"]).await;
    run.success().stderr_has(&format!(
        "engine image {image} is deploying; the restore waits until it is deployed"
    ));
    let restore = created_restore(&run, "good");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_ne!(
        state_of(&env, Kind::SystemRestore, &restore).await,
        "Completed",
        "Longhorn's rollout waits for the engine image"
    );
    env.knobs().set_engine_image_deployed(true);
    wait_restore_done(&env, &restore).await;
    assert_eq!(
        state_of(&env, Kind::SystemRestore, &restore).await,
        "Completed"
    );
}

/// Copies (or moves) a backup in the store and has Longhorn sync the copy back.
async fn copy_remote(env: &Longhorn, from: (&str, &str), to: (&str, &str), keep_source: bool) {
    harness::copy_remote_backup(env, from, to, keep_source, None).await;
}

/// A backup of another minor version is refused, citing Longhorn's documented
/// limitation, unless --allow-version-skew; a bundle whose folder does not match the
/// backup's name (which Longhorn would "restore" as nothing) is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn version_skew_and_a_misnamed_bundle() {
    let env = longhorn().await;
    let version = env.version().to_string();
    ready_backup(&env, "source").await;

    // The same zip under another name: its folder is still "source".
    copy_remote(&env, (&version, "source"), (&version, "renamed"), true).await;
    let run = restore(&env, "renamed", &["-y"]).await;
    run.failure(1).one_line_error().stderr_has(
        "the bundle's top-level folder is source, not \"renamed\"; Longhorn's restore reads renamed/yamls/ and would restore nothing while reporting Completed",
    );
    assert!(restores(&env).await.is_empty());

    // The backup as an older minor version of Longhorn would have stored it.
    let minor: u32 = version.split('.').nth(1).unwrap().parse().unwrap();
    let older = format!("v1.{}.0", minor - 1);
    plugin(&env, &["delete", "source", "--keep-remote", "-y"])
        .await
        .success();
    copy_remote(&env, (&version, "source"), (&older, "source"), false).await;
    let client = env.client().await.unwrap();
    let synced = api(&env, client, Kind::SystemBackup)
        .get("source")
        .await
        .unwrap();
    assert_eq!(synced.data["status"]["version"], older.as_str());

    let run = restore(&env, "source", &["-y"]).await;
    run.failure(1).one_line_error().stderr_has(&format!(
        "the backup was taken with Longhorn {older} and this cluster runs {version}: Longhorn does not support cross-major/minor version system restore except for upgrade failures (Longhorn docs, \"Restore Longhorn System\"; longhorn/longhorn#10205, #10206); pass --allow-version-skew to restore anyway"
    ));
    assert!(restores(&env).await.is_empty());

    let run = restore(
        &env,
        "source",
        &["-y", "--allow-version-skew", "--wait", "--timeout", "180s"],
    )
    .await;
    run.success()
        .stderr_has(&format!(
            "Note: the backup was taken with Longhorn {older} and this cluster runs {version}"
        ))
        .stderr_has("going on because of --allow-version-skew");
    let name = created_restore(&run, "source");
    assert_eq!(
        state_of(&env, Kind::SystemRestore, &name).await,
        "Completed"
    );
}
