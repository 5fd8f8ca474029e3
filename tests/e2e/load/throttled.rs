//! Commands on an API server that throttles: they finish correctly, back off as the
//! 429's `Retry-After` says (never a busy loop), and show their progress.

use std::io::Read;
use std::process::Command;
use std::time::Duration;

use longhorn_ground::Options;

use super::{
    Throttled, create_system_backups, dedicated, eventually, longhorn_list_path, remaining,
    streamed,
};

/// `list` of 2,000 SystemBackups: four pages of 500 (the LIST `continue` chain), every
/// name once, the first rows printed before the last page is asked for, and every 429
/// waited out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn list_of_2000_is_paged_and_streamed_and_backs_off() {
    let env = dedicated(Options::default()).await;
    // Held as created: 2,000 bundles made by the simulator would cost minutes.
    env.knobs().hang_at("");
    let mut names = create_system_backups(&env, "many", 2000).await;
    let mut throttled =
        Throttled::start(&env, &[longhorn_list_path(&env, "systembackups")], 3).await;
    let dir = tempfile::tempdir().unwrap();

    // The load's own client backs off after its 429s too, so four pages can now and
    // then pass untouched; a run that met no 429 proves nothing about backing off, so
    // it is run again (at most three times). More load starves the plugin instead.
    let mut since = jiff::Timestamp::now();
    let mut out = streamed(throttled.args(&env, &["list"]), dir.path()).await;
    for _ in 1..3 {
        let met_429 = throttled
            .audit
            .of(super::PLUGIN_USER)
            .iter()
            .any(|e| e.received >= since && e.throttled());
        if met_429 || out.run.code != 0 {
            break;
        }
        since = jiff::Timestamp::now();
        out = streamed(throttled.args(&env, &["list"]), dir.path()).await;
    }
    throttled.stop_load();
    out.run.success();

    let mut listed: Vec<String> = out
        .lines
        .iter()
        .skip(1)
        .filter_map(|(_, line)| line.split_whitespace().next().map(str::to_string))
        .collect();
    assert_eq!(out.lines[0].1.split_whitespace().next(), Some("NAME"));
    listed.sort();
    names.sort();
    assert_eq!(listed.len(), 2000, "rows");
    assert_eq!(listed, names, "every SystemBackup once");

    let events = throttled.assert_backed_off(16);
    let pages: Vec<_> = events
        .iter()
        .filter(|e| e.received >= since)
        .filter(|e| e.verb == "list" && e.code == 200 && e.uri.contains("/systembackups"))
        .collect();
    assert_eq!(pages.len(), 4, "pages of 500: {pages:#?}");
    assert!(
        pages.iter().all(|p| p.uri.contains("limit=500")),
        "{pages:#?}"
    );
    assert!(
        pages[1..].iter().all(|p| p.uri.contains("continue=")),
        "{pages:#?}"
    );
    // Streamed: rows are on stdout before the last page is even requested.
    let first_row = out.lines[1].0;
    let last_page = pages[3].received;
    assert!(
        first_row < last_page,
        "the first row came at {first_row}, after the last page was requested at {last_page}: the list is collected before it is printed"
    );
}

/// `wait` sees its SystemBackup through to Ready, reporting each state, and `delete
/// --all -y` over 100 (each with Longhorn's finalizer) reports every one and leaves
/// none, while reads and writes are throttled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_and_delete_all_finish_and_back_off() {
    let env = dedicated(Options::default()).await;
    env.knobs().hang_at("");
    let names = create_system_backups(&env, "doomed", 100).await;
    let mut throttled = Throttled::start(
        &env,
        &[
            longhorn_list_path(&env, "systembackups"),
            longhorn_list_path(&env, "settings"),
        ],
        3,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();

    let waiting = {
        let args = throttled.args(&env, &["wait", &names[0], "--timeout", "5m"]);
        let dir = dir.path().to_path_buf();
        tokio::spawn(async move {
            crate::harness::run_in(crate::harness::binary(), args, &[], Some(&dir)).await
        })
    };
    tokio::time::sleep(Duration::from_secs(3)).await;
    env.knobs().update(|k| k.system_backup_faults.clear());
    let wait = waiting.await.unwrap();
    wait.success().stdout_has(&format!(
        "systembackup.longhorn.io/{} condition met",
        names[0]
    ));
    assert!(
        wait.stderr
            .lines()
            .filter(|l| l.contains(&names[0]))
            .count()
            >= 2,
        "wait reports the states it sees:\n{}",
        wait.stderr
    );

    eprintln!("wait done after {:?}", started.elapsed());
    let delete = throttled
        .plugin(&env, dir.path(), &["delete", "--all", "-y"])
        .await;
    eprintln!("delete done after {:?}", started.elapsed());
    throttled.stop_load();
    delete.success();
    for name in &names {
        let line = format!("systembackup.longhorn.io \"{name}\" deleted");
        assert_eq!(
            delete.stdout.lines().filter(|l| *l == line).count(),
            1,
            "{name} is reported once:\n{}",
            delete.stdout
        );
    }
    eventually(
        Duration::from_secs(60),
        "every SystemBackup is gone",
        || async { remaining(&env).await.is_empty() },
    )
    .await;
    throttled.assert_backed_off(16);
}

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
    throttled.assert_backed_off(16);
}
