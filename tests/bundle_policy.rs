//! The volume backup policy of `create --local`: Snapshot and Backup CRs made the way
//! longhorn-manager's CreatingVolumeBackups step makes them, waited for, and their
//! results in the bundle; failures and timeouts leave no file.

mod support;

use serde_json::Value;
use support::fake_longhorn::{self, Backups};
use support::{Bundle, Cluster, NAMESPACE, fails, fixture, succeeds};

async fn cluster_with(
    backups: Backups,
    snapshot_size: i64,
) -> (Cluster, tokio::task::JoinHandle<()>) {
    let cluster = Cluster::start().await;
    cluster.apply(&fixture::install(&cluster.version)).await;
    let fake = fake_longhorn::start(cluster.client.clone(), NAMESPACE, backups, snapshot_size);
    (cluster, fake)
}

/// The `system-backup-…` objects of a Longhorn kind the plugin created.
async fn created(cluster: &Cluster, kind: &str) -> Vec<Value> {
    cluster
        .list("longhorn.io/v1beta2", kind, Some(NAMESPACE))
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

/// A string field of each object (by JSON pointer), sorted.
fn sorted(objects: &[Value], pointer: &str) -> Vec<String> {
    let mut values: Vec<String> = objects
        .iter()
        .map(|o| {
            o.pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    values.sort();
    values
}

/// `create NAME --local --volume-backup-policy POLICY [extra…]`.
fn create_local(
    cluster: &Cluster,
    name: &str,
    policy: &str,
    extra: &[&str],
) -> std::process::Command {
    let mut command = cluster.plugin();
    command
        .args(["create", name, "--local", "--volume-backup-policy", policy])
        .args(extra);
    command
}

/// if-not-present (v1.8+): a `system-backup-<16 hex>` snapshot for every volume but the
/// standby one, then a backup for each volume whose last backup is missing or has
/// newer data; the bundle records the new backups as the volumes' last ones.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_not_present_backs_up_what_is_not_up_to_date() {
    // New snapshots hold no data: pvc-a's backup (backup-a) stays up to date.
    let (cluster, fake) = cluster_with(Backups::Complete, 0).await;
    let out = succeeds(&mut create_local(
        &cluster,
        "b",
        "if-not-present",
        &["-o", "json"],
    ));
    let summary: Value = serde_json::from_str(&out).unwrap();

    let snapshots = created(&cluster, "Snapshot").await;
    assert_eq!(
        sorted(&snapshots, "/spec/volume"),
        ["pvc-a", "vol-b"],
        "a snapshot first for every volume but the standby one"
    );
    for snapshot in &snapshots {
        let name = snapshot["metadata"]["name"].as_str().unwrap();
        let hex = name.strip_prefix("system-backup-").unwrap();
        assert_eq!(hex.len(), 16, "{name}");
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{name}"
        );
        assert_eq!(snapshot["spec"]["createSnapshot"], true);
    }

    let backups = created(&cluster, "Backup").await;
    assert_eq!(backups.len(), 1, "only vol-b needs a backup: {backups:?}");
    let backup = &backups[0];
    let name = backup["metadata"]["name"].as_str().unwrap();
    assert_eq!(backup["metadata"]["labels"]["backup-volume"], "vol-b");
    assert_eq!(backup["metadata"]["labels"]["backup-target"], "default");
    assert_eq!(
        backup["spec"]["snapshotName"], name,
        "the backup is named after its snapshot"
    );
    assert!(snapshots.iter().any(|s| s["metadata"]["name"] == name));

    assert_eq!(
        summary["volumeBackups"]["backups"],
        serde_json::json!([["vol-b", name]])
    );
    assert_eq!(
        summary["volumeBackups"]["upToDate"],
        serde_json::json!(["pvc-a"])
    );
    assert_eq!(
        summary["volumeBackups"]["skipped"],
        serde_json::json!(["dr-c"])
    );
    assert_eq!(summary["volumeBackups"]["snapshots"], 2);

    // The bundle was listed after the backups: vol-b's new backup is its last one.
    let bundle = Bundle::read(&cluster.dir.path().join("b.zip"));
    let volumes = bundle.file("b/yamls/longhorn/volumes.yaml")["items"]
        .as_array()
        .unwrap()
        .clone();
    let last = |volume: &str| {
        volumes
            .iter()
            .find(|v| v["metadata"]["name"] == volume)
            .unwrap()["status"]["lastBackup"]
            .clone()
    };
    assert_eq!(last("vol-b"), name);
    assert_eq!(last("pvc-a"), "backup-a");
    assert_eq!(summary["volumesWithoutBackup"], serde_json::json!([]));
    fake.abort();
}

/// A new snapshot with data makes the last backup outdated; `always` backs up every
/// (non-standby) volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_data_and_always_back_up_every_volume() {
    let (cluster, fake) = cluster_with(Backups::Complete, 1024).await;
    succeeds(&mut create_local(&cluster, "b", "if-not-present", &[]));
    let backups = created(&cluster, "Backup").await;
    assert_eq!(
        sorted(&backups, "/metadata/labels/backup-volume"),
        ["pvc-a", "vol-b"]
    );

    succeeds(
        cluster
            .plugin()
            .args(["create", "c", "--local", "--volume-backup-policy", "always"]),
    );
    let backups = created(&cluster, "Backup").await;
    assert_eq!(backups.len(), 4, "two more");
    fake.abort();
}

/// A Backup in Error fails the command with Longhorn's message; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_volume_backup_fails_clearly() {
    let (cluster, fake) = cluster_with(Backups::Fail("backup target unreachable".into()), 0).await;
    let err = fails(&mut create_local(&cluster, "b", "if-not-present", &[]));
    assert!(
        err.contains("failed creating Volume backup system-backup-"),
        "{err}"
    );
    assert!(
        err.contains("of volume vol-b: backup target unreachable"),
        "{err}"
    );
    assert!(cluster.files().is_empty(), "{:?}", cluster.files());
    fake.abort();
}

/// Backups that never finish hit --timeout; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_backups_time_out() {
    let (cluster, fake) = cluster_with(Backups::Ignore, 0).await;
    let started = std::time::Instant::now();
    let err = fails(&mut create_local(
        &cluster,
        "b",
        "if-not-present",
        &["--timeout", "3s"],
    ));
    assert!(
        err.contains("timed out waiting for the condition on volume backups to complete"),
        "{err}"
    );
    assert!(started.elapsed().as_secs() < 30);
    assert!(cluster.files().is_empty(), "{:?}", cluster.files());
    fake.abort();
}
