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

fn plan(run: &Run) -> BTreeMap<String, (String, String)> {
    let plan: Value = serde_json::from_str(&run.stdout).expect("the plan as JSON");
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                (
                    i["action"].as_str().unwrap().to_string(),
                    i["reason"].as_str().unwrap().to_string(),
                ),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backed_up_snapshots_go_and_the_ones_still_needed_stay() {
    let env = longhorn().await;
    let volumes = env.seeded().volume_names.len();
    env.knobs().set_snapshot_size(3 * MIB);
    backup_with_volume_backups(&env, "first").await.success();
    let first = system_backup_snapshots(&env).await;
    assert_eq!(first.len(), volumes);
    backup_with_volume_backups(&env, "second").await.success();
    let mut second = system_backup_snapshots(&env).await;
    second.retain(|n| !first.contains(n));
    env.knobs()
        .fail_volume_backups(Some("backup target unreachable"));
    backup_with_volume_backups(&env, "broken").await.failure(1);
    env.knobs().fail_volume_backups(None);
    let mut broken = system_backup_snapshots(&env).await;
    broken.retain(|n| !first.contains(n) && !second.contains(n));
    assert_eq!((second.len(), broken.len()), (volumes, volumes));

    let run = plugin(&env, &["cleanup", "snapshots", "--dry-run", "-o", "json"]).await;
    run.success();
    let plan = plan(&run);
    assert_eq!(plan.len(), 3 * volumes, "{plan:?}");
    for name in &first {
        let (action, reason) = &plan[name];
        assert_eq!(action, "delete", "{name}");
        assert_eq!(reason, &format!("backed up by {name} (Completed)"));
    }
    for name in &second {
        assert_eq!(plan[name].0, "keep", "{name}");
        assert!(
            plan[name].1.starts_with("the volume's newest backup"),
            "{:?}",
            plan[name]
        );
    }
    for name in &broken {
        assert_eq!(plan[name].0, "keep", "{name}");
        assert!(
            plan[name]
                .1
                .ends_with("failed: nothing else holds this point in time")
        );
    }
    let run = plugin(&env, &["cleanup", "snapshots", "--dry-run"]).await;
    run.success();
    insta::assert_snapshot!(
        "cleanup-plan",
        harness::normalize(&harness::aligned_table(&run.stdout), &env)
    );

    // Without a terminal and without -y: the list of what would go, and nothing goes.
    let run = plugin(&env, &["cleanup", "snapshots"]).await;
    run.failure(1)
        .stderr_has(&format!("snapshot.longhorn.io/{}", first[0]))
        .stderr_has(&format!("They hold {}.0 MiB of snapshot data", 3 * volumes))
        .stderr_has("pass --yes");
    assert_eq!(system_backup_snapshots(&env).await.len(), 3 * volumes);

    // Younger than --older-than: nothing goes.
    let run = plugin(&env, &["cleanup", "snapshots", "--older-than", "1h", "-y"]).await;
    run.success().stderr_has("Nothing to clean up");
    assert_eq!(system_backup_snapshots(&env).await.len(), 3 * volumes);

    // One volume only, then all of them; each time the space they held.
    let volume = env.seeded().volume_names[0].clone();
    let run = plugin(&env, &["cleanup", "snapshots", "--volume", &volume, "-y"]).await;
    run.success()
        .stdout_has("1 snapshot(s) deleted, 3.0 MiB of snapshot data freed");
    let run = plugin(&env, &["cleanup", "snapshots", "-y"]).await;
    run.success().stdout_has(&format!(
        "{} snapshot(s) deleted, {}.0 MiB of snapshot data freed",
        volumes - 1,
        3 * (volumes - 1)
    ));
    let left = system_backup_snapshots(&env).await;
    assert!(first.iter().all(|n| !left.contains(n)), "{left:?}");
    assert_eq!(left.len(), 2 * volumes);
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
    for (args, code, text) in cases {
        let run = plugin(&env, args).await;
        run.failure(code).stderr_has(text);
        if code == 1 {
            run.one_line_error();
        }
    }
    assert_eq!(system_backup_snapshots(&env).await, before);
    let run = plugin(&env, &["cleanup", "snapshots"]).await;
    run.success().stderr_has("Nothing to clean up");
}
