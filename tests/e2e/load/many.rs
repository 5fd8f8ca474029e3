//! Many objects: `delete --all -y` over 500 SystemBackups with Longhorn's finalizer,
//! interrupted and run again, and `describe` of a SystemBackup that made 5,000 volume
//! backups.

use std::collections::BTreeSet;
use std::io::BufRead;
use std::process::{Command, Stdio};
use std::time::Duration;

use longhorn_ground::Options;

use super::{create_system_backups, dedicated, eventually, remaining, system_backup_api};
use crate::harness::{self, Run};

fn deleted_names(stdout: &str) -> Vec<String> {
    stdout
        .lines()
        .filter_map(|l| {
            l.strip_prefix("systembackup.longhorn.io \"")?
                .strip_suffix("\" deleted")
                .map(str::to_string)
        })
        .collect()
}

#[track_caller]
fn assert_each_once(names: &[String], run: &str) {
    let unique: BTreeSet<&String> = names.iter().collect();
    assert_eq!(unique.len(), names.len(), "{run} reported a name twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_all_over_500_can_be_interrupted_and_run_again() {
    let env = harness::longhorn().await;
    // Held as created, so the test is about deleting, not about 500 bundles.
    env.knobs().hang_at("");
    let names = create_system_backups(&env, "bulk", 500).await;
    let api = system_backup_api(&env).await;
    let listed = api.list(&Default::default()).await.unwrap();
    assert!(
        listed.items.iter().all(|o| o
            .metadata
            .finalizers
            .as_deref()
            .unwrap_or_default()
            .iter()
            .any(|f| f == "longhorn.io")),
        "Longhorn's mutator gave every SystemBackup its finalizer"
    );

    // Interrupted (Ctrl-C) once a hundred are gone.
    let mut child = Command::new(harness::binary())
        .args(harness::plugin_args(&env, &["delete", "--all", "-y"]))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
            .join("\n")
    });
    eventually(
        Duration::from_secs(120),
        "a hundred SystemBackups go",
        || async { remaining(&env).await.len() <= 400 },
    )
    .await;
    // Ctrl-C, as a user would press it.
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(interrupted.success(), "kill -INT {}", child.id());
    let status = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let first = Run {
        code: status.status.code().unwrap_or(-1),
        stdout: reader.join().unwrap(),
        stderr: String::from_utf8_lossy(&status.stderr).into_owned(),
    };
    harness::check_secrets(&first);
    assert_eq!(first.code, 130, "interrupted:\n{}", first.stderr);
    let first_deleted = deleted_names(&first.stdout);
    assert_each_once(&first_deleted, "the interrupted run");

    // What it left: objects it never reached, and none half-deleted for long
    // (Longhorn's controller finishes what was asked).
    eventually(
        Duration::from_secs(60),
        "no SystemBackup is left terminating",
        || async {
            api.list(&Default::default())
                .await
                .unwrap()
                .items
                .iter()
                .all(|o| o.metadata.deletion_timestamp.is_none())
        },
    )
    .await;
    let left = remaining(&env).await;
    assert!(!left.is_empty() && left.len() < 500, "{} left", left.len());
    for name in &first_deleted {
        assert!(
            !left.contains(name),
            "{name} was reported deleted but exists"
        );
    }

    // Run again: it deletes and reports exactly what was left.
    let second = harness::plugin(&env, &["delete", "--all", "-y"]).await;
    second.success();
    let mut second_deleted = deleted_names(&second.stdout);
    assert_each_once(&second_deleted, "the second run");
    second_deleted.sort();
    assert_eq!(
        second_deleted, left,
        "the second run reports each it deleted"
    );
    assert!(remaining(&env).await.is_empty());
    let all: BTreeSet<&String> = names.iter().collect();
    assert!(
        first_deleted
            .iter()
            .chain(&second_deleted)
            .all(|n| all.contains(n))
    );
}

/// `describe` of a SystemBackup whose policy backed up 5,000 volumes lists each volume
/// once, in bounded memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn describe_lists_5000_volume_backups() {
    let mut options = Options::default().volumes(5000);
    options.seed.backed_up_every = 0;
    let env = dedicated(options).await;
    env.knobs().set_step_delay(Duration::from_millis(10));
    harness::plugin(
        &env,
        &[
            "create",
            "everything",
            "--volume-backup-policy",
            "always",
            "--wait",
            "--timeout",
            "30m",
        ],
    )
    .await
    .success();

    let dir = tempfile::tempdir().unwrap();
    let rss_file = dir.path().join("rss");
    let mut args = vec![
        "-f".to_string(),
        "%M".to_string(),
        "-o".to_string(),
        rss_file.display().to_string(),
        harness::binary().display().to_string(),
    ];
    args.extend(harness::plugin_args(&env, &["describe", "everything"]));
    let run = harness::run("/usr/bin/time", args, &[]).await;
    run.success();
    let rss_kib: u64 = std::fs::read_to_string(&rss_file)
        .expect("GNU time wrote the peak RSS (apt-get install time)")
        .trim()
        .lines()
        .last()
        .and_then(|l| l.parse().ok())
        .expect("KiB");

    let section = run
        .stdout
        .split("Volume Backups:")
        .nth(1)
        .expect("a Volume Backups section");
    let rows: Vec<&str> = section
        .lines()
        .skip(2) // the blank line after the title, then the header
        .take_while(|l| !l.trim().is_empty() && !l.starts_with(|c: char| c.is_alphabetic()))
        .collect();
    let volumes: BTreeSet<String> = rows
        .iter()
        .filter_map(|r| r.split_whitespace().next().map(str::to_string))
        .collect();
    let seeded: BTreeSet<String> = env.seeded().volume_names.iter().cloned().collect();
    assert_eq!(rows.len(), 5000, "one row per volume backup");
    assert_eq!(volumes, seeded, "each volume once");
    assert!(
        rows.iter().all(|r| r.contains("Completed")),
        "every backup completed"
    );
    assert!(
        rss_kib < 128 * 1024,
        "describe peaked at {} MiB",
        rss_kib / 1024
    );
}
