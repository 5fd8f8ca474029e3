//! `cleanup snapshots`: the `system-backup-*` Snapshots that longhorn-manager's own
//! SystemBackup controller leaves behind go once backed up; the one each volume's
//! newest backup was taken from, and those whose backup failed, stay.

use std::collections::BTreeMap;

use longhorn_ground::Longhorn;
use serde_json::Value;

use crate::harness::{self, Run, longhorn, plugin};

const MIB: i64 = 1024 * 1024;

/// The names of the namespace's `system-backup-*` Snapshots, sorted.
async fn system_backup_snapshots(env: &Longhorn) -> Vec<String> {
    let mut names = harness::names(env, "Snapshot", "snapshots").await;
    names.retain(|n| n.starts_with("system-backup-"));
    names
}

async fn backup_with_volume_backups(env: &Longhorn, name: &str) -> Run {
    plugin(
        env,
        &[
            "create",
            name,
            "--volume-backup-policy",
            "always",
            "--wait",
            "--timeout",
            "120s",
        ],
    )
    .await
}

/// One snapshot of the plan.
struct Step {
    volume: String,
    deletes: bool,
    reason: String,
}

fn plan(run: &Run) -> BTreeMap<String, Step> {
    let plan: Value = serde_json::from_str(&run.stdout).expect("the plan as JSON");
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = |key: &str| i[key].as_str().unwrap().to_string();
            let step = Step {
                volume: text("volume"),
                deletes: text("action") == "delete",
                reason: text("reason"),
            };
            (text("name"), step)
        })
        .collect()
}

fn freed(count: usize) -> String {
    format!(
        "{count} snapshot(s) deleted, {}.0 MiB of snapshot data freed",
        3 * count
    )
}

/// Longhorn's SystemBackup controller makes a snapshot and a Backup per volume each time
/// it handles the backup in CreatingVolumeBackups, and a busy API server can have it
/// handle it more than once, so a backup may leave more than one snapshot per volume
/// (longhorn/longhorn-manager:controller/system_backup_controller.go@v1.12.0,
/// `backupVolumesAlways`): the checks below hold however many there are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backed_up_snapshots_go_and_the_ones_still_needed_stay() {
    let env = longhorn().await;
    let volumes = env.seeded().volume_names.clone();
    env.knobs().set_snapshot_size(3 * MIB);
    backup_with_volume_backups(&env, "first").await.success();
    let first = system_backup_snapshots(&env).await;
    assert!(first.len() >= volumes.len(), "{first:?}");
    backup_with_volume_backups(&env, "second").await.success();
    let mut second = system_backup_snapshots(&env).await;
    second.retain(|n| !first.contains(n));
    env.knobs()
        .fail_volume_backups(Some("backup target unreachable"));
    backup_with_volume_backups(&env, "broken").await.failure(1);
    env.knobs().fail_volume_backups(None);
    let mut broken = system_backup_snapshots(&env).await;
    broken.retain(|n| !first.contains(n) && !second.contains(n));
    assert!(broken.len() >= volumes.len(), "{broken:?}");

    let run = plugin(&env, &["cleanup", "snapshots", "--dry-run", "-o", "json"]).await;
    run.success();
    let plan = plan(&run);
    assert_eq!(plan.len(), first.len() + second.len() + broken.len());
    for name in &first {
        let step = &plan[name];
        assert!(step.deletes, "{name}: {}", step.reason);
        assert!(
            step.reason.starts_with("backed up by system-backup-"),
            "{}",
            step.reason
        );
    }
    // Per volume, the newest backup's snapshot stays; older ones of `second` go.
    for volume in &volumes {
        let kept: Vec<&String> = second
            .iter()
            .filter(|n| plan[*n].volume == *volume && !plan[*n].deletes)
            .collect();
        assert_eq!(kept.len(), 1, "{volume}: {kept:?}");
        assert!(
            plan[kept[0]]
                .reason
                .starts_with("the volume's newest backup")
        );
    }
    for name in &broken {
        let step = &plan[name];
        assert!(!step.deletes, "{name}");
        assert!(
            step.reason
                .ends_with("failed: nothing else holds this point in time")
        );
    }
    let going: Vec<&String> = plan.keys().filter(|n| plan[*n].deletes).collect();

    // Without a terminal and without -y: the list of what would go, and nothing goes.
    let run = plugin(&env, &["cleanup", "snapshots"]).await;
    run.failure(1)
        .stderr_has(&format!("snapshot.longhorn.io/{}", first[0]))
        .stderr_has(&format!(
            "They hold {}.0 MiB of snapshot data",
            3 * going.len()
        ))
        .stderr_has("pass --yes");
    assert_eq!(system_backup_snapshots(&env).await.len(), plan.len());

    // Younger than --older-than: nothing goes.
    let run = plugin(&env, &["cleanup", "snapshots", "--older-than", "1h", "-y"]).await;
    run.success().stderr_has("Nothing to clean up");
    assert_eq!(system_backup_snapshots(&env).await.len(), plan.len());

    // One volume only, then all of them; each time the space they held.
    let of_volume = going
        .iter()
        .filter(|n| plan[**n].volume == volumes[0])
        .count();
    let run = plugin(
        &env,
        &["cleanup", "snapshots", "--volume", &volumes[0], "-y"],
    )
    .await;
    run.success().stdout_has(&freed(of_volume));
    let run = plugin(&env, &["cleanup", "snapshots", "-y"]).await;
    run.success().stdout_has(&freed(going.len() - of_volume));
    let left = system_backup_snapshots(&env).await;
    let kept: Vec<String> = plan
        .iter()
        .filter(|(_, step)| !step.deletes)
        .map(|(name, _)| name.clone())
        .collect();
    assert_eq!(left, kept);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_cleans_up_nothing() {
    let env = longhorn().await;
    backup_with_volume_backups(&env, "only").await.success();
    let before = system_backup_snapshots(&env).await;
    let cases: [(&[&str], i32, &str); 5] = [
        (&["cleanup"], 2, "snapshots"),
        (
            &["cleanup", "snapshots", "--older-than", "soon"],
            2,
            "invalid duration",
        ),
        (&["cleanup", "snapshots", "-o", "json"], 2, "--dry-run"),
        (
            &["cleanup", "snapshots", "--volume", "Not_A_Volume"],
            1,
            "Not_A_Volume",
        ),
        (
            &["cleanup", "snapshots", "--timeout", "x"],
            2,
            "invalid duration",
        ),
    ];
    harness::assert_bad_inputs(&env, &cases).await;
    assert_eq!(system_backup_snapshots(&env).await, before);
}
