//! The ground for the plugin's benchmarks (tests/tools/bench.sh, docs/benchmarks.md):
//!
//! ```sh
//! # a ground with N Ready SystemBackups in longhorn-system; prints KUBECONFIG and
//! # NAMESPACE lines, then `ready`, and stays up until stdin closes
//! cargo run --release -p longhorn-ground --example bench_ground -- serve 200
//!
//! # wait's delay from the status turning Ready to the plugin's exit, RUNS times
//! cargo run --release -p longhorn-ground --example bench_ground -- wait PLUGIN [RUNS]
//! ```
//!
//! For `wait`, each SystemBackup is held in `Generating` (a simulator knob). The plugin
//! runs `wait NAME`; once it has reported the first state (its watch is running), the
//! status is patched to Ready and the time from sending that patch to the plugin's exit
//! is measured. The patch's own round trip is part of that figure, so it is an upper
//! bound; the patch round trip is reported beside it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams, PostParams};
use longhorn_ground::objects::system_backup;
use longhorn_ground::{Ground, Kind, Longhorn, Options};
use serde_json::json;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200)).await,
        Some("wait") => {
            let plugin = args.get(1).expect("wait PLUGIN [RUNS]").clone();
            let runs = args.get(2).and_then(|n| n.parse().ok()).unwrap_or(20);
            wait(&plugin, runs).await
        }
        _ => {
            eprintln!("usage: bench_ground serve [N] | wait PLUGIN [RUNS]");
            std::process::exit(2);
        }
    }
}

async fn ground() -> Longhorn {
    let version = Ground::default_version().expect("a supported LONGHORN_VERSION");
    let options = Options::default().namespace("longhorn-system");
    Ground::dedicated_with(&version, options)
        .await
        .expect("the ground starts")
}

async fn serve(count: usize) {
    let longhorn = ground().await;
    longhorn.knobs().set_step_delay(Duration::ZERO);
    let client = longhorn.client().await.expect("client");
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    let started = Instant::now();
    let names: Vec<String> = (0..count).map(|i| format!("bench-{i:04}")).collect();
    for chunk in names.chunks(16) {
        let creates = chunk.iter().map(|name| {
            let api = api.clone();
            async move {
                api.create(
                    &PostParams::default(),
                    &system_backup(name, Some("disabled")),
                )
                .await
                .expect("create a SystemBackup")
            }
        });
        futures::future::join_all(creates).await;
    }
    for name in &names {
        longhorn
            .wait_for_system_backup(name, &["Ready"], Duration::from_secs(600))
            .await
            .expect("the SystemBackup gets Ready");
    }
    eprintln!(
        "bench_ground: {count} Ready SystemBackups in {:.1?}",
        started.elapsed()
    );
    println!("KUBECONFIG={}", longhorn.kubeconfig().display());
    println!("NAMESPACE={}", longhorn.namespace());
    println!("ready");
    // Until the caller closes stdin.
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).unwrap_or(0) > 0 {}
    })
    .await;
}

async fn wait(plugin: &str, runs: usize) {
    let longhorn = ground().await;
    longhorn.knobs().hang_at("Generating");
    let client = longhorn.client().await.expect("client");
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    let kubeconfig = longhorn.kubeconfig().display().to_string();
    let mut exits = Vec::new();
    let mut patches = Vec::new();
    for run in 0..runs {
        let name = format!("wait-{run:02}");
        api.create(
            &PostParams::default(),
            &system_backup(&name, Some("disabled")),
        )
        .await
        .expect("create a SystemBackup");
        longhorn
            .wait_for_system_backup(&name, &["Generating"], Duration::from_secs(60))
            .await
            .expect("held in Generating");
        let mut child = Command::new(plugin)
            .args(["--kubeconfig", &kubeconfig, "-n", longhorn.namespace()])
            .args(["wait", &name, "--timeout", "60s"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the plugin");
        // Not on a terminal, wait prints a line per state it sees: the first one means
        // the initial LIST is done and the watch follows from its resourceVersion.
        let stderr = child.stderr.take().expect("stderr");
        let mut lines = BufReader::new(stderr).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        assert!(
            first.contains("Generating"),
            "unexpected first line {first:?}"
        );
        std::thread::sleep(Duration::from_millis(300));
        let status = json!({"status": {"state": "Ready", "lastSyncedAt": jiff::Timestamp::now().to_string()}});
        let sent = Instant::now();
        api.patch_status(&name, &PatchParams::default(), &Patch::Merge(&status))
            .await
            .expect("patch the status");
        let acknowledged = sent.elapsed();
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .expect("join")
            .expect("the plugin ends");
        let exited = sent.elapsed();
        assert!(output.status.success(), "wait failed: {output:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("condition met"),
            "{output:?}"
        );
        exits.push(exited);
        patches.push(acknowledged);
        eprintln!(
            "bench_ground: run {run:2}: exit {:6.1} ms after the patch was sent (patch round trip {:5.1} ms)",
            ms(exited),
            ms(acknowledged)
        );
    }
    println!(
        "wait: {runs} runs; from sending the Ready patch to exit: median {:.1} ms, p95 {:.1} ms, max {:.1} ms; patch round trip median {:.1} ms",
        ms(percentile(&exits, 50)),
        ms(percentile(&exits, 95)),
        ms(percentile(&exits, 100)),
        ms(percentile(&patches, 50)),
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Nearest-rank percentile.
fn percentile(samples: &[Duration], p: usize) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let rank = (p * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}
