//! `--local` volume backup policy against the simulator's snapshot and backup
//! controllers.

use super::*;

/// The `system-backup-…` objects of a Longhorn kind.
async fn created(env: &Longhorn, kind: &str) -> Vec<Value> {
    list(env, "longhorn.io/v1beta2", kind, Some(env.namespace()))
        .await
        .into_iter()
        .filter(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("system-backup-")
        })
        .collect()
}

fn field(objects: &[Value], pointer: &str) -> Vec<String> {
    sorted(
        objects
            .iter()
            .map(|o| {
                o.pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect(),
    )
}

/// if-not-present (v1.8+): a `system-backup-<16 hex>` snapshot for every volume, then
/// a backup for each volume whose last backup is missing or has newer data; the
/// bundle, listed afterwards, records the new backups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_not_present_backs_up_what_is_not_up_to_date() {
    let env = harness::longhorn().await;
    // New snapshots hold no data, so the seeded backups (volumes 0 and 2) stay current.
    env.knobs().set_snapshot_size(0);
    let dir = tempfile::tempdir().unwrap();
    let run = local(&env, dir.path(), "b", "if-not-present", &["-o", "json"]).await;
    run.success();
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    let volumes = &env.seeded().volume_names;

    let snapshots = created(&env, "Snapshot").await;
    assert_eq!(
        field(&snapshots, "/spec/volume"),
        sorted(volumes.clone()),
        "a snapshot first for every volume"
    );
    for snapshot in &snapshots {
        let name = snapshot["metadata"]["name"].as_str().unwrap();
        let hex = name.strip_prefix("system-backup-").unwrap();
        assert!(
            hex.len() == 16
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{name}"
        );
        assert_eq!(snapshot["spec"]["createSnapshot"], true);
    }
    let backups = created(&env, "Backup").await;
    assert_eq!(
        backups.len(),
        1,
        "only volume 1 needs a backup: {backups:?}"
    );
    let backup = &backups[0];
    let name = backup["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        backup["metadata"]["labels"]["backup-volume"],
        volumes[1].as_str()
    );
    assert_eq!(backup["metadata"]["labels"]["backup-target"], "default");
    assert_eq!(
        backup["spec"]["snapshotName"], name,
        "named after its snapshot"
    );
    assert_eq!(
        summary["volumeBackups"]["backups"],
        json!([[volumes[1], name]])
    );
    assert_eq!(
        summary["volumeBackups"]["upToDate"],
        json!(sorted(vec![volumes[0].clone(), volumes[2].clone()]))
    );
    assert_eq!(summary["volumeBackups"]["snapshots"], 3);

    let bundle = Bundle::read(&dir.path().join("b.zip"));
    let bundled = bundle.items("b/yamls/longhorn/volumes.yaml");
    let last = |volume: &str| {
        bundled
            .iter()
            .find(|v| v["metadata"]["name"] == volume)
            .unwrap()["status"]["lastBackup"]
            .clone()
    };
    assert_eq!(last(&volumes[1]), name, "the fresh backup is in the bundle");
    assert_eq!(summary["volumesWithoutBackup"], json!([]));
}

/// A new snapshot with data makes a last backup outdated; `always` backs up every
/// volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_data_and_always_back_up_every_volume() {
    let env = harness::longhorn().await;
    env.knobs().set_snapshot_size(4096);
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "if-not-present", &[])
        .await
        .success();
    let volumes = sorted(env.seeded().volume_names.clone());
    assert_eq!(
        field(
            &created(&env, "Backup").await,
            "/metadata/labels/backup-volume"
        ),
        volumes
    );
    local(&env, dir.path(), "c", "always", &[]).await.success();
    assert_eq!(created(&env, "Backup").await.len(), 6, "three more");
}

/// A Backup in Error fails the command with Longhorn's message; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_volume_backup_fails_clearly() {
    let env = harness::longhorn().await;
    env.knobs()
        .fail_volume_backups(Some("backup target unreachable"));
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "always", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("failed creating Volume backup system-backup-")
        .stderr_has(": backup target unreachable");
    assert!(files_in(dir.path()).is_empty());
}

/// Volume backups that do not finish in --timeout fail the command; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_backups_time_out() {
    let env = harness::longhorn().await;
    env.knobs().set_step_delay(Duration::from_secs(120));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    local(
        &env,
        dir.path(),
        "b",
        "if-not-present",
        &["--timeout", "3s"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("timed out waiting for the condition on volume snapshots to be ready");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(files_in(dir.path()).is_empty());
}

/// With longhorn-manager down, `disabled` still builds the bundle (nothing goes
/// through Longhorn's webhooks), while a policy that needs Longhorn fails clearly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longhorn_manager_down() {
    let mut env = harness::longhorn().await;
    env.stop_longhorn_manager();
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "disabled", &[])
        .await
        .success();
    assert_eq!(
        Bundle::read(&dir.path().join("b.zip"))
            .item_names("b/yamls/longhorn/volumes.yaml")
            .len(),
        3
    );
    local(&env, dir.path(), "c", "if-not-present", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("failed to create Volume")
        .stderr_has("failed calling webhook");
    assert_eq!(files_in(dir.path()), ["b.zip"]);
}
