//! The store throttles or fails: S3 answers `503 SlowDown` for a while (a fault proxy
//! in front of s3s-fs, tests/ground/src/faults.rs), and the upload retries with backoff
//! and succeeds; S3 answers `500 InternalError` to every write, and the upload fails in
//! one line with no cfg in the store, and a later run succeeds.

use std::time::Duration;

use longhorn_ground::faults::{Answer, Filter, Seen, Times};

use super::*;

/// The gaps between successive attempts at the same write.
fn retry_gaps(seen: &[Seen], path_part: &str) -> Vec<Duration> {
    let attempts: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.method == "PUT" && s.path.contains(path_part))
        .collect();
    attempts
        .windows(2)
        .map(|pair| pair[1].at.duration_since(pair[0].at))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn slow_down_is_waited_out_and_the_upload_succeeds() {
    let s3 = S3Server::start_with_faults().await.expect("s3s-fs starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    env.use_backup_target(&target, &s3.secret())
        .await
        .expect("BackupTarget default on S3");
    let dir = tempfile::tempdir().unwrap();

    // Every write is turned away for five seconds, as a throttling S3 does.
    s3.faults().inject(
        Filter::method("PUT"),
        Answer::SlowDown,
        Times::For(Duration::from_secs(5)),
    );
    let run = upload(&env, dir.path(), "patient", &[]).await;
    run.success();
    let zip = dir.path().join("patient.zip");
    backupstore_verdict(&env, &target, &s3.secret(), "patient", &zip);

    let seen = s3.faults().seen();
    let refused = seen.iter().filter(|s| s.injected).count();
    assert!(refused >= 2, "the store refused {refused} writes");
    let gaps = retry_gaps(&seen, "system-backup.zip");
    assert!(!gaps.is_empty(), "the zip was written once: {seen:#?}");
    // object_store's backoff starts at 100 ms and grows: never a tight loop.
    for gap in &gaps {
        assert!(
            *gap >= Duration::from_millis(90),
            "a retry came {gap:?} after the previous attempt: {gaps:?}"
        );
    }
    assert!(
        gaps.len() <= 12,
        "{} attempts at the zip in five seconds: {gaps:?}",
        gaps.len() + 1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_store_leaves_no_cfg_and_a_later_run_succeeds() {
    let s3 = S3Server::start_with_faults().await.expect("s3s-fs starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    env.use_backup_target(&target, &s3.secret())
        .await
        .expect("BackupTarget default on S3");
    let dir = tempfile::tempdir().unwrap();
    let stored = s3.bucket_dir().join(format!(
        "backupstore/system-backups/{}/unlucky",
        env.version().as_str()
    ));

    s3.faults()
        .inject(Filter::method("PUT"), Answer::InternalError, Times::Always);
    let run = upload(&env, dir.path(), "unlucky", &[]).await;
    run.failure(1).one_line_error().stderr_has("InternalError");
    assert!(
        !stored.join("system-backup.cfg").exists(),
        "a cfg was written for a failed upload"
    );
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() <= 1,
        "only the bundle itself may stay"
    );
    assert!(
        state(&env, "unlucky").await.is_none(),
        "Longhorn lists nothing"
    );

    s3.faults().clear();
    let again = upload(&env, dir.path(), "unlucky", &["--force"]).await;
    again.success();
    backupstore_verdict(
        &env,
        &target,
        &s3.secret(),
        "unlucky",
        &dir.path().join("unlucky.zip"),
    );
}
