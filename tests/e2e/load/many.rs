//! Many objects: `describe` of a SystemBackup that made 5,000 volume backups.

use std::collections::BTreeSet;
use std::time::Duration;

use longhorn_ground::Options;

use super::dedicated;
use crate::harness;

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
