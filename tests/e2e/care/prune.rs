//! `prune`: SystemBackups beyond `--keep-last` / `--older-than` go, after the plan is
//! shown; those a RecurringJob made, those Longhorn is still working on, and the newest
//! Ready one stay. The old backups are real store backups (their cfg's CreatedAt set in
//! the past) that longhorn-manager's own BackupTarget controller syncs back as CRs.

use jiff::{SignedDuration, Timestamp};
use longhorn_ground::{Kind, Longhorn};
use serde_json::{Value, json};

use crate::harness::{self, Run, create_backup, longhorn, plugin, system_backups};

fn days_ago(days: i64) -> String {
    (Timestamp::now() - SignedDuration::from_hours(24 * days)).to_string()
}

/// `base` (made by Longhorn now), `day-10`, `day-20`, `day-40` (synced from the store,
/// taken that many days ago) and `scheduled` (made now, labelled as a RecurringJob's).
async fn backups_of_several_ages(env: &Longhorn) {
    let version = env.version().to_string();
    create_backup(env, "base", true).await;
    for days in [10, 20, 40] {
        let name = format!("day-{days}");
        let taken = days_ago(days);
        harness::copy_remote_backup(
            env,
            (&version, "base"),
            (&version, &name),
            true,
            Some(&taken),
        )
        .await;
    }
    let client = env.client().await.unwrap();
    Kind::SystemBackup
        .api(&client, env.namespace())
        .create(
            &Default::default(),
            &serde_json::from_value(json!({
                "apiVersion": "longhorn.io/v1beta2",
                "kind": "SystemBackup",
                "metadata": {"name": "scheduled", "labels": {"recurring-job.longhorn.io/system-backup": "nightly"}},
                "spec": {"volumeBackupPolicy": "disabled"},
            }))
            .unwrap(),
        )
        .await
        .unwrap();
    plugin(env, &["wait", "scheduled"]).await.success();
}

fn plan(run: &Run) -> Vec<(String, String)> {
    let plan: Value = serde_json::from_str(&run.stdout).expect("the plan as JSON");
    plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(n, a)| (n.to_string(), a.to_string()))
        .collect()
}

fn store_dir(env: &Longhorn, name: &str) -> std::path::PathBuf {
    env.store_path()
        .join("backupstore/system-backups")
        .join(env.version().to_string())
        .join(name)
}

fn in_store(env: &Longhorn, name: &str) -> bool {
    store_dir(env, name).exists()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_shows_its_plan_and_deletes_only_what_the_rules_let_go() {
    let env = longhorn().await;
    backups_of_several_ages(&env).await;
    let rule = ["prune", "--keep-last", "1", "--older-than", "360h"];

    // The plan, newest first: the scheduled one is its RecurringJob's, base is the
    // newest of the rest, day-10 is younger than 15 days.
    let run = plugin(&env, &[&rule[..], &["--dry-run", "-o", "json"]].concat()).await;
    run.success();
    assert_eq!(
        plan(&run),
        pairs(&[
            ("scheduled", "keep"),
            ("base", "keep"),
            ("day-10", "keep"),
            ("day-20", "delete"),
            ("day-40", "delete"),
        ])
    );
    let run = plugin(&env, &[&rule[..], &["--dry-run"]].concat()).await;
    run.success()
        .stdout_has("made by RecurringJob nightly: its retain prunes it")
        .stdout_has("one of the 1 newest")
        .stdout_has("younger than 360h")
        .stdout_has("not one of the 1 newest, older than 360h");
    insta::assert_snapshot!("prune-plan", harness::aligned_table(&run.stdout));

    // Without a terminal and without -y: the list of what would go, and nothing goes.
    let run = plugin(&env, &rule).await;
    run.failure(1)
        .stderr_has("systembackup.longhorn.io/day-20 (Ready)")
        .stderr_has("systembackup.longhorn.io/day-10: younger than 360h");
    insta::assert_snapshot!("prune-question", harness::normalize(&run.stderr, &env));
    assert_eq!(system_backups(&env).await.len(), 5);

    // --keep-remote: the CRs go, their copies stay in the store.
    let run = plugin(&env, &[&rule[..], &["-y", "--keep-remote"]].concat()).await;
    run.success()
        .stdout_has("systembackup.longhorn.io \"day-20\" deleted")
        .stdout_has("systembackup.longhorn.io \"day-40\" deleted");
    assert_eq!(system_backups(&env).await, ["base", "day-10", "scheduled"]);
    assert!(in_store(&env, "day-20") && in_store(&env, "day-40"));
    // Gone from the store too, so that no sync brings them back meanwhile.
    for name in ["day-20", "day-40"] {
        std::fs::remove_dir_all(store_dir(&env, name)).unwrap();
    }

    // Everything may go, scheduled ones too: the newest Ready backup still stays, and
    // Longhorn deletes the copies of the others in the store.
    let run = plugin(
        &env,
        &["prune", "--older-than", "0s", "--include-scheduled", "-y"],
    )
    .await;
    run.success()
        .stdout_has("systembackup.longhorn.io \"base\" deleted")
        .stdout_has("systembackup.longhorn.io \"day-10\" deleted");
    assert_eq!(system_backups(&env).await, ["scheduled"]);
    assert!(!in_store(&env, "day-10"), "Longhorn deleted the store copy");

    let run = plugin(
        &env,
        &["prune", "--older-than", "0s", "-y", "--include-scheduled"],
    )
    .await;
    run.success()
        .stderr_has("Nothing to prune")
        .stderr_has("systembackup.longhorn.io/scheduled: the newest Ready backup");
    assert_eq!(system_backups(&env).await, ["scheduled"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_prunes_nothing() {
    let env = longhorn().await;
    create_backup(&env, "old", true).await;
    create_backup(&env, "new", true).await;
    let cases: [(&[&str], i32, &str); 6] = [
        (&["prune"], 1, "prune needs a rule: --keep-last N"),
        (&["prune", "--older-than", "soon"], 2, "invalid duration"),
        (&["prune", "--keep-last", "-1"], 2, "--keep-last"),
        (&["prune", "--keep-last", "1", "-o", "json"], 2, "--dry-run"),
        (&["prune", "--keep-last", "0", "-l", "a in"], 1, "selector"),
        (
            &["prune", "--keep-last", "0", "-o", "wide", "--dry-run"],
            2,
            "json",
        ),
    ];
    harness::assert_bad_inputs(&env, &cases).await;
    assert_eq!(system_backups(&env).await, ["new", "old"]);
}
