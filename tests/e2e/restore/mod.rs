//! `restore` (SystemRestore) end to end: the pre-checks, each refusing with
//! one line and creating nothing; the plan read from the bundle; confirmation on a
//! terminal; `--wait` following Longhorn's states; list/get/describe/delete.

use std::time::{Duration, Instant};

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use longhorn_ground::objects::system_restore;
use longhorn_ground::{Kind, Longhorn};
use serde_json::{Value, json};

use crate::harness::{self, Run, longhorn, normalize, plugin};
use crate::prompts::answer;

pub(super) const WAIT: Duration = Duration::from_secs(180);

pub(super) async fn restores(env: &Longhorn) -> Vec<String> {
    harness::names(env, "SystemRestore", "systemrestores").await
}

/// A Ready SystemBackup made by the plugin.
pub(super) async fn ready_backup(env: &Longhorn, name: &str) {
    plugin(
        env,
        &[
            "create",
            name,
            "--volume-backup-policy",
            "disabled",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .await
    .success();
}

/// `restore BACKUP --mount-path <the ground's NFS export> ARGS…`.
pub(super) async fn restore(env: &Longhorn, backup: &str, args: &[&str]) -> Run {
    let mount = env.store_path().display().to_string();
    let mut all = vec!["restore", backup, "--mount-path", &mount];
    all.extend(args);
    plugin(env, &all).await
}

pub(super) fn api(env: &Longhorn, client: kube::Client, kind: Kind) -> Api<DynamicObject> {
    kind.api(&client, env.namespace())
}

pub(super) async fn state_of(env: &Longhorn, kind: Kind, name: &str) -> String {
    let client = env.client().await.unwrap();
    api(env, client, kind).get(name).await.unwrap().data["status"]["state"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub(super) async fn wait_state(env: &Longhorn, kind: Kind, name: &str, state: &str) {
    let client = env.client().await.unwrap();
    env.wait_for(&api(env, client, kind), name, WAIT, |o| {
        o.data["status"]["state"] == state
    })
    .await
    .unwrap_or_else(|e| panic!("{name} never reached {state}: {e}"));
}

/// A finished restore, once the in-progress label is gone too.
pub(super) async fn wait_restore_done(env: &Longhorn, name: &str) {
    let client = env.client().await.unwrap();
    env.wait_for(&api(env, client, Kind::SystemRestore), name, WAIT, |r| {
        matches!(
            r.data["status"]["state"].as_str(),
            Some("Completed" | "Error")
        ) && r
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| !l.contains_key("longhorn.io/system-restore"))
    })
    .await
    .unwrap();
}

pub(super) async fn set_status(env: &Longhorn, kind: Kind, name: &str, status: Value) {
    let client = env.client().await.unwrap();
    api(env, client, kind)
        .patch_status(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({ "status": status })),
        )
        .await
        .unwrap();
}

/// The count a plan line gives for `kind` (`    Volume     3`).
pub(super) fn planned(stderr: &str, kind: &str) -> Option<usize> {
    stderr.lines().find_map(|l| {
        let mut words = l.split_whitespace();
        (words.next() == Some(kind))
            .then(|| words.next()?.parse().ok())
            .flatten()
            .filter(|_| l.starts_with("    "))
    })
}

/// The states a non-terminal `--wait` reported, in order.
pub(super) fn progress(stderr: &str, restore: &str) -> Vec<String> {
    let prefix = format!("systemrestore.longhorn.io/{restore}: ");
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The SystemRestore `restore --wait` created and followed.
pub(super) fn created_restore(run: &Run, backup: &str) -> String {
    let pattern = regex::Regex::new(&format!(
        r"^systemrestore\.longhorn\.io/({backup}-restore-\d{{8}}-\d{{6}}) created\n"
    ))
    .unwrap();
    pattern
        .captures(&run.stdout)
        .unwrap_or_else(|| panic!("no created line:\n{}", run.stdout))[1]
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restore_shows_the_bundle_and_follows_the_states_to_completed() {
    let env = longhorn().await;
    let version = env.version().to_string();
    ready_backup(&env, "before-upgrade").await;
    // A volume lost since the backup comes back from it.
    let client = env.client().await.unwrap();
    let volumes = api(&env, client, Kind::Volume);
    let lost = env.seeded().volume_names[0].clone();
    volumes
        .delete(&lost, &DeleteParams::default())
        .await
        .unwrap();
    env.wait_for_deletion(Kind::Volume, &lost, WAIT)
        .await
        .unwrap();

    let run = restore(
        &env,
        "before-upgrade",
        &["-y", "--wait", "--timeout", "180s"],
    )
    .await;
    run.success();
    let name = created_restore(&run, "before-upgrade");
    assert_eq!(
        run.stdout,
        format!(
            "systemrestore.longhorn.io/{name} created\nsystemrestore.longhorn.io/{name} condition met\n"
        )
    );
    // The plan goes to the log even when -y skips the question.
    for expected in [
        format!(
            "Restore the Longhorn system in namespace {} from systembackup \"before-upgrade\":",
            env.namespace()
        ),
        format!("  Taken with:    Longhorn {version}, created "),
        format!("  Engine image:  {} (deployed)", env.seeded().engine_image),
        format!("  Manager image: longhornio/longhorn-manager:{version}"),
        "  Restores (objects in the bundle, in restore order):".into(),
        "Existing volumes, PVs and PVCs are not overwritten.".into(),
    ] {
        run.stderr_has(&expected);
    }
    // Counts read from the bundle, against what the cluster held at backup time.
    let seeded = env.seeded().volume_names.len();
    assert_eq!(
        planned(&run.stderr, "Volume"),
        Some(seeded),
        "{}",
        run.stderr
    );
    // PVs and PVCs are those of every Longhorn volume in the cluster (the shared
    // plane has other tests' too).
    assert!(planned(&run.stderr, "PersistentVolumeClaim").unwrap() >= seeded);
    assert_eq!(planned(&run.stderr, "EngineImage"), Some(1));
    assert_eq!(
        planned(&run.stderr, "BackupTarget"),
        Some(1).filter(|_| env.version().at_least(8))
    );
    assert_eq!(planned(&run.stderr, "DaemonSet"), Some(1));
    assert!(planned(&run.stderr, "CustomResourceDefinition").unwrap() > 10);
    let order: Vec<usize> = [
        "CustomResourceDefinition",
        "DaemonSet",
        "EngineImage",
        "Setting",
        "Volume",
        "PersistentVolume",
        "PersistentVolumeClaim",
    ]
    .iter()
    .map(|k| {
        run.stderr
            .find(&format!("    {k} "))
            .unwrap_or_else(|| panic!("no {k} line"))
    })
    .collect();
    assert!(
        order.is_sorted(),
        "plan is not in restore order:\n{}",
        run.stderr
    );

    // --wait reported each of Longhorn's states, in order.
    let states = progress(&run.stderr, &name);
    let expected = [
        "Pending",
        "Downloading",
        "Unpacking",
        "Restoring",
        "Completed",
    ];
    assert_eq!(states, expected, "the states --wait reported");

    volumes.get(&lost).await.expect("the lost volume is back");
    let list = plugin(&env, &["restore", "list"]).await;
    list.success();
    let row: Vec<&str> = list
        .stdout
        .lines()
        .find(|l| l.starts_with(&name))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..3], [name.as_str(), "before-upgrade", "Completed"]);

    // One restore finished: another may start.
    wait_restore_done(&env, &name).await;
    let again = restore(&env, "before-upgrade", &["-y"]).await;
    again.success();
    assert_eq!(restores(&env).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_fails_fast_with_the_condition_message() {
    let env = longhorn().await;
    ready_backup(&env, "base").await;
    // The store breaks while Longhorn downloads the bundle.
    env.knobs()
        .fail_restore_at("Downloading", "connection reset by peer");
    let started = Instant::now();
    let run = restore(&env, "base", &["-y", "--wait", "--timeout", "120s"]).await;
    run.failure(1).one_line_error();
    assert!(started.elapsed() < Duration::from_secs(60), "fails fast");
    let name = created_restore(&run, "base");
    run.stderr_has(&format!(
        "error: systemrestore.longhorn.io/{name} failed: failed to restore Longhorn system: error downloading system backup nfs://"
    ))
    .stderr_has("stderr connection reset by peer");
    assert_eq!(
        progress(&run.stderr, &name).last().map(String::as_str),
        Some("Error")
    );
    assert_eq!(state_of(&env, Kind::SystemRestore, &name).await, "Error");
    let described = plugin(&env, &["restore", "describe", &name]).await;
    described
        .success()
        .stdout_has("Error")
        .stdout_has("failed to restore Longhorn system: error downloading system backup");
}

/// Each bad input: a one-line error, exit 1, no SystemRestore created.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_creates_nothing() {
    let env = longhorn().await;
    let refused = |run: &Run, texts: &[&str]| {
        run.failure(1).one_line_error();
        for text in texts {
            run.stderr_has(text);
        }
    };
    ready_backup(&env, "good").await;

    refused(
        &restore(&env, "nope", &["-y"]).await,
        &[&format!(
            "systembackup \"nope\" does not exist in {}",
            env.namespace()
        )],
    );
    // No name at all: clap's usage error.
    plugin(&env, &["restore"])
        .await
        .failure(2)
        .stderr_has("<BACKUP>");

    // Not Ready: still running, then failed. It waits for its volume backups: Longhorn
    // starts a Generating goroutine on every reconcile, and two can race on the same zip
    // (longhorn/longhorn-manager:controller/system_backup_controller.go@v1.8.1), so a
    // backup held later may end in Error instead.
    env.knobs().hang_at("CreatingVolumeBackups");
    plugin(
        &env,
        &["create", "unfinished", "--volume-backup-policy", "always"],
    )
    .await
    .success();
    wait_state(
        &env,
        Kind::SystemBackup,
        "unfinished",
        "CreatingVolumeBackups",
    )
    .await;
    refused(
        &restore(&env, "unfinished", &["-y"]).await,
        &["systembackup \"unfinished\" is CreatingVolumeBackups, not Ready; wait for it first"],
    );
    env.knobs().clear_faults();
    env.knobs()
        .fail_at("Generating", "zip I/O error: No space left on device");
    plugin(
        &env,
        &["create", "broken", "--volume-backup-policy", "disabled"],
    )
    .await
    .success();
    wait_state(&env, Kind::SystemBackup, "broken", "Error").await;
    refused(
        &restore(&env, "broken", &["-y"]).await,
        &["systembackup \"broken\" is Error, not Ready; it failed and cannot be restored"],
    );
    env.knobs().clear_faults();

    // An attached volume.
    let volume = env.seeded().volume_names[1].clone();
    set_status(&env, Kind::Volume, &volume, json!({"state": "attached"})).await;
    refused(
        &restore(&env, "good", &["-y"]).await,
        &[&format!(
            "1 volume(s) are not detached: {volume} (attached); Longhorn restores only with every volume detached"
        )],
    );
    // A volume whose state is not set yet (a new Volume's status has `state: ""`):
    // Longhorn's webhook wants `detached` there too.
    set_status(&env, Kind::Volume, &volume, json!({"state": ""})).await;
    refused(
        &restore(&env, "good", &["-y"]).await,
        &[&format!(
            "1 volume(s) are not detached: {volume} (no state yet); Longhorn restores only with every volume detached"
        )],
    );
    set_status(&env, Kind::Volume, &volume, json!({"state": "detached"})).await;

    // Another restore in progress.
    env.knobs().hang_restore_at("Downloading");
    let client = env.client().await.unwrap();
    api(&env, client.clone(), Kind::SystemRestore)
        .create(&PostParams::default(), &system_restore("stuck", "good"))
        .await
        .unwrap();
    wait_state(&env, Kind::SystemRestore, "stuck", "Downloading").await;
    refused(
        &restore(&env, "good", &["-y"]).await,
        &["another system restore is in progress: stuck (Downloading)"],
    );
    assert_eq!(restores(&env).await, ["stuck"]);
    plugin(&env, &["restore", "delete", "stuck", "-y"])
        .await
        .success()
        .stdout_has("systemrestore.longhorn.io \"stuck\" deleted");
    env.knobs().clear_faults();

    // The backup target unavailable: Longhorn's controller would wait forever.
    env.set_backup_target_available(false).await.unwrap();
    refused(
        &restore(&env, "good", &["-y"]).await,
        &[
            "is not available",
            "Longhorn's restore would not start until it is",
        ],
    );
    env.set_backup_target_available(true).await.unwrap();

    // No terminal and no --yes: the plan, then a refusal.
    let run = restore(&env, "good", &[]).await;
    refused(&run, &["pass --yes (-y)"]);
    run.stderr_has("  Restores (objects in the bundle, in restore order):");

    // An NFS target this machine has not mounted: said in the plan.
    let run = plugin(&env, &["restore", "good"]).await;
    refused(&run, &["pass --yes (-y)"]);
    run.stderr_has("Note: the backup target could not be read here (")
        .stderr_has("--mount-path DIR); the engine image and the bundle were not checked");

    // The cfg gone from the backup target: Longhorn fails without a word (#5072).
    ready_backup(&env, "cfg-less").await;
    std::fs::remove_file(env.store_path().join(format!(
        "backupstore/system-backups/{}/cfg-less/system-backup.cfg",
        env.version()
    )))
    .unwrap();
    refused(
        &restore(&env, "cfg-less", &["-y"]).await,
        &[
            "systembackup \"cfg-less\" has no system-backup.cfg in the backup target (nfs://",
            "Longhorn cannot restore it",
        ],
    );
    assert!(restores(&env).await.is_empty(), "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_is_asked_first() {
    let env = longhorn().await;
    ready_backup(&env, "asked").await;
    let mount = env.store_path().display().to_string();
    let args = ["restore", "asked", "--mount-path", &mount];
    let declined = answer(&env, &args, &["Volume", "Start the restore?"], "n");
    assert!(
        declined.contains("cancelled; nothing was restored"),
        "{declined}"
    );
    assert!(restores(&env).await.is_empty());
    let accepted = answer(&env, &args, &["Start the restore?"], "y");
    assert!(
        accepted.contains("systemrestore.longhorn.io/asked-restore-"),
        "{accepted}"
    );
    assert_eq!(restores(&env).await.len(), 1);
}

/// Creates SystemRestore `name` of `backup` as Longhorn's UI does. Right after another
/// restore ends, Longhorn's webhook may still see it in progress (it reads
/// longhorn-manager's informer cache): asked again, as the plugin's `restore` does, it
/// admits the new one.
async fn create_restore(env: &Longhorn, name: &str, backup: &str) {
    let client = env.client().await.unwrap();
    let restores_api = api(env, client, Kind::SystemRestore);
    let started = Instant::now();
    loop {
        match restores_api
            .create(&PostParams::default(), &system_restore(name, backup))
            .await
        {
            Ok(_) => return,
            Err(kube::Error::Api(status))
                if status.message.contains("SystemRestore in progress")
                    && started.elapsed() < Duration::from_secs(10) =>
            {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("creating SystemRestore {name}: {e}"),
        }
    }
}

/// Two restores made the way Longhorn's UI makes them: one Completed, one Error.
async fn two_restores(env: &Longhorn) {
    ready_backup(env, "nightly").await;
    create_restore(env, "first", "nightly").await;
    wait_restore_done(env, "first").await;
    env.knobs()
        .fail_restore_at("Unpacking", "unzip: cannot find zipfile directory");
    create_restore(env, "second", "nightly").await;
    wait_restore_done(env, "second").await;
    env.knobs().clear_faults();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_formats_are_pinned_and_match_kubectl() {
    let env = longhorn().await;
    two_restores(&env).await;
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_suffix(env.version().to_string());
    let _guard = settings.bind_to_scope();
    let shows = [
        ("table", vec!["restore", "list"]),
        ("wide", vec!["restore", "list", "-o", "wide"]),
        ("json-list", vec!["restore", "list", "-o", "json"]),
        ("json-one", vec!["restore", "get", "first", "-o", "json"]),
        ("yaml-one", vec!["restore", "get", "first", "-o", "yaml"]),
        (
            "yaml-two",
            vec!["restore", "get", "first", "second", "-o", "yaml"],
        ),
        ("name", vec!["restore", "list", "-o", "name"]),
        ("no-headers", vec!["restore", "list", "--no-headers"]),
        ("describe-completed", vec!["restore", "describe", "first"]),
        ("describe-error", vec!["restore", "describe", "second"]),
    ];
    harness::pin_outputs!(&env, "restore", shows, |text: &str| normalize(text, &env));
    harness::assert_get_matches_kubectl(&env, &["restore"], "systemrestores.longhorn.io").await;
    let run = plugin(&env, &["restore", "get", "first", "nope"]).await;
    run.failure(1)
        .stdout_has("first")
        .stderr_has("Error from server (NotFound): systemrestores.longhorn.io \"nope\" not found");
}

/// delete follows the SystemBackup delete's rules.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_asks_and_reports_missing_names() {
    let env = longhorn().await;
    two_restores(&env).await;
    let run = plugin(&env, &["restore", "delete", "first"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("systemrestore.longhorn.io/first (Completed)")
        .stderr_has("What a restore already restored stays.")
        .stderr_has("pass --yes");
    assert_eq!(restores(&env).await, ["first", "second"]);
    let declined = answer(
        &env,
        &["restore", "delete", "second"],
        &[
            "systemrestore.longhorn.io/second (Error)",
            "Do you want to continue?",
        ],
        "n",
    );
    assert!(declined.contains("nothing was deleted"), "{declined}");
    let run = plugin(&env, &["restore", "delete", "first", "missing", "-y"]).await;
    run.failure(1)
        .stdout_has("systemrestore.longhorn.io \"first\" deleted")
        .stderr_has("\"missing\" not found");
    assert_eq!(restores(&env).await, ["second"]);
    let accepted = answer(
        &env,
        &["restore", "delete", "second"],
        &["Do you want to continue?"],
        "y",
    );
    assert!(
        accepted.contains("systemrestore.longhorn.io \"second\" deleted"),
        "{accepted}"
    );
    assert!(restores(&env).await.is_empty());
}

mod longhorn_rules;
