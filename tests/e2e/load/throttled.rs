//! Commands on an API server that throttles: they finish correctly, back off as the
//! 429's `Retry-After` says (never a busy loop), and show their progress.

use std::io::Read;
use std::process::Command;

use longhorn_ground::Options;

use super::{Throttled, longhorn_list_path};
use crate::harness::dedicated;

/// `create --local` on 5,000 volumes builds the whole bundle while every LIST page may
/// be turned away, and shows its per-kind counters on a terminal meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_on_5000_volumes_finishes_and_backs_off() {
    let mut options = Options::default().volumes(5000);
    options.seed.backed_up_every = 0;
    let env = dedicated(options).await;
    // The load reads volumes 100 at a time: each of its requests holds the one slot
    // briefly, so the plugin is turned away often but not starved (a full LIST of
    // 5,000 volumes by three loops kept the slot for seconds at a time, every time).
    let volumes = format!("{}?limit=100", longhorn_list_path(&env, "volumes"));
    let mut throttled = Throttled::start(&env, &[volumes], 3).await;
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("big.zip");

    let args = throttled.args(
        &env,
        &[
            "create",
            "big",
            "--local",
            "--volume-backup-policy",
            "disabled",
            "-o",
            zip.to_str().unwrap(),
        ],
    );
    let screen = tokio::task::spawn_blocking(move || {
        let mut command = Command::new(crate::harness::binary());
        command
            .args(&args)
            .env("NO_COLOR", "1")
            .env("TERM", "xterm");
        let mut session =
            rexpect::session::spawn_command(command, Some(900_000)).expect("spawn on a pty");
        let screen = session.exp_eof().expect("the plugin finishes");
        let status = session.process().wait().expect("exit status");
        (screen, status)
    })
    .await
    .unwrap();
    throttled.stop_load();
    let (screen, status) = screen;
    assert!(
        matches!(status, rexpect::process::WaitStatus::Exited(_, 0)),
        "--local failed ({status:?}):\n{screen}"
    );
    assert!(
        screen.contains("volumes.longhorn.io"),
        "the terminal showed no progress for volumes:\n{screen}"
    );
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&zip).unwrap()).unwrap();
    let mut volumes = String::new();
    archive
        .by_name("big/yamls/longhorn/volumes.yaml")
        .expect("volumes in the bundle")
        .read_to_string(&mut volumes)
        .unwrap();
    // 5,000 volumes are more YAML nodes than serde-saphyr's default budget allows.
    let options = serde_saphyr::options! { budget: None };
    let volumes: serde_json::Value =
        serde_saphyr::from_str_with_options(&volumes, options).unwrap();
    assert_eq!(volumes["items"].as_array().map(Vec::len), Some(5000));
    // The first try and forty retries at most (src/kube/throttle.rs).
    throttled.assert_backed_off(41);
}
