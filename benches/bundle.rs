//! Speed and memory of `create --local` (docs/benchmarks.md, "--local bundle").
//!
//! For each volume count: a control plane of its own with Longhorn's CRDs, seeded by the
//! ground's seed with that many volumes (each with its PV and PVC, every other one
//! backed up), the simulator then stopped so nothing else runs; then, a few times each:
//! - the plugin: `create NAME --local --volume-backup-policy disabled` (wall time, and
//!   peak RSS of the process, from GNU time);
//! - kubectl: `kubectl get <the same kinds> -o yaml` (three calls: the Longhorn
//!   namespace's kinds, the cluster-scoped ones, PVCs of all namespaces);
//! - the floor: the same LISTs, 500 a page, every kind at once, bodies read and
//!   dropped (no parsing beyond the continue token, no YAML, no zip).
//!
//! `cargo bench --bench bundle -- [--volumes 1000,5000,10000] [--runs 3]`
//! (LONGHORN_VERSION picks the CRDs, default the newest). Not a test: it asserts
//! nothing and prints a Markdown table.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use kube::api::DynamicObject;
use kube::core::{ApiResource, GroupVersionKind};
use longhorn_ground::Ground;

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-longhorn-systembackup");

struct BenchOptions {
    volumes: Vec<usize>,
    runs: usize,
}

fn options() -> BenchOptions {
    let mut options = BenchOptions {
        volumes: vec![1000, 5000, 10000],
        runs: 3,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--volumes" => {
                options.volumes = args[i + 1]
                    .split(',')
                    .map(|n| n.parse().expect("--volumes N,N"))
                    .collect();
                i += 1;
            }
            "--runs" => {
                options.runs = args[i + 1].parse().expect("--runs N");
                i += 1;
            }
            _ => {} // cargo bench passes --bench
        }
        i += 1;
    }
    options
}

#[tokio::main]
async fn main() {
    let options = options();
    let version = longhorn_ground::crds::selected_version().expect("LONGHORN_VERSION");
    require(
        "kubectl",
        "install kubectl (https://kubernetes.io/docs/tasks/tools/)",
    );
    println!(
        "| volumes | bundle | plugin wall | plugin peak RSS | kubectl get -o yaml | floor (paged LIST) | plugin / kubectl | plugin / floor |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &volumes in &options.volumes {
        let mut seed = longhorn_ground::Options::default();
        seed.seed.volumes = volumes;
        let seeding = Instant::now();
        let mut env = Ground::dedicated_with(&version, seed)
            .await
            .expect("ground");
        env.stop_longhorn_manager();
        eprintln!("seeded {volumes} volumes in {:?}", seeding.elapsed());
        let client = env.client().await.expect("client");
        let kubeconfig = env.kubeconfig().to_path_buf();
        let namespace = env.namespace().to_string();
        let dir = tempfile::tempdir().expect("dir");

        // Warm the apiserver's caches and the page cache once, unmeasured.
        plugin(&kubeconfig, &namespace, dir.path(), "warm");
        let mut plugin_runs = Vec::new();
        let mut kubectl_runs = Vec::new();
        let mut floor_runs = Vec::new();
        let mut bundle_bytes = 0;
        for run in 0..options.runs {
            let (wall, rss) = plugin(&kubeconfig, &namespace, dir.path(), &format!("run-{run}"));
            bundle_bytes = std::fs::metadata(dir.path().join(format!("run-{run}.zip")))
                .map(|m| m.len())
                .unwrap_or(0);
            plugin_runs.push((wall, rss));
            kubectl_runs.push(kubectl(&kubeconfig, &namespace));
            floor_runs.push(floor(&client, &namespace).await);
        }
        let median = |mut v: Vec<Duration>| {
            v.sort();
            v[v.len() / 2]
        };
        let plugin_wall = median(plugin_runs.iter().map(|r| r.0).collect());
        let plugin_rss = plugin_runs.iter().map(|r| r.1).max().unwrap_or(0);
        let kubectl_wall = median(kubectl_runs);
        let floor_wall = median(floor_runs);
        println!(
            "| {volumes} | {:.1} MiB | {:.2} s | {:.1} MB | {:.2} s | {:.2} s | {:.2}× | {:.2}× |",
            bundle_bytes as f64 / 1048576.0,
            plugin_wall.as_secs_f64(),
            plugin_rss as f64 / 1024.0,
            kubectl_wall.as_secs_f64(),
            floor_wall.as_secs_f64(),
            plugin_wall.as_secs_f64() / kubectl_wall.as_secs_f64(),
            plugin_wall.as_secs_f64() / floor_wall.as_secs_f64(),
        );
    }
}

fn require(tool: &str, how: &str) {
    let found = Command::new(tool)
        .arg("version")
        .arg("--client")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    assert!(found, "{tool} is not installed: {how}");
}

/// Runs a command to completion; wall time and peak RSS (KiB) of that process, as
/// GNU time reports it (`%M`, from the rusage `wait4` returns; Debian package `time`).
fn measure(command: &mut Command) -> (Duration, u64) {
    let report = tempfile::NamedTempFile::new().expect("temp file");
    let mut timed = Command::new("/usr/bin/time");
    timed
        .args(["-f", "%M", "-o"])
        .arg(report.path())
        .arg(command.get_program())
        .args(command.get_args())
        .envs(command.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(dir) = command.get_current_dir() {
        timed.current_dir(dir);
    }
    let started = Instant::now();
    let status = timed
        .status()
        .expect("run /usr/bin/time (Debian package time)");
    let wall = started.elapsed();
    assert!(status.success(), "{:?} failed", command.get_program());
    let peak = std::fs::read_to_string(report.path()).expect("time's report");
    let peak = peak.lines().last().unwrap_or_default().trim();
    (wall, peak.parse().expect("peak RSS in KiB"))
}

fn plugin(kubeconfig: &Path, namespace: &str, dir: &Path, name: &str) -> (Duration, u64) {
    measure(
        Command::new(PLUGIN)
            .current_dir(dir)
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(["-n", namespace])
            .args([
                "create",
                name,
                "--local",
                "--volume-backup-policy",
                "disabled",
            ]),
    )
}

/// The same kinds with kubectl (default --chunk-size 500), output discarded.
fn kubectl(kubeconfig: &Path, namespace: &str) -> Duration {
    let namespaced = "serviceaccounts,roles,rolebindings,daemonsets,deployments,configmaps,services,settings.longhorn.io,engineimages.longhorn.io,volumes.longhorn.io,recurringjobs.longhorn.io,backingimages.longhorn.io,backuptargets.longhorn.io";
    let cluster = "customresourcedefinitions,clusterrolebindings,clusterroles,storageclasses,persistentvolumes";
    let calls: [Vec<&str>; 3] = [
        vec!["get", "-n", namespace, namespaced, "-o", "yaml"],
        vec!["get", cluster, "-o", "yaml"],
        vec!["get", "persistentvolumeclaims", "-A", "-o", "yaml"],
    ];
    calls
        .iter()
        .map(|args| {
            measure(
                Command::new("kubectl")
                    .env("KUBECONFIG", kubeconfig)
                    .args(args),
            )
            .0
        })
        .sum()
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// The kinds of a bundle and where they are listed (`None` = cluster-wide).
fn kinds(namespace: &str) -> Vec<(ApiResource, Option<&str>)> {
    let ns = Some(namespace);
    vec![
        (
            resource(
                "apiextensions.k8s.io",
                "v1",
                "CustomResourceDefinition",
                "customresourcedefinitions",
            ),
            None,
        ),
        (resource("", "v1", "ServiceAccount", "serviceaccounts"), ns),
        (
            resource(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
                "clusterrolebindings",
            ),
            None,
        ),
        (
            resource(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRole",
                "clusterroles",
            ),
            None,
        ),
        (
            resource("rbac.authorization.k8s.io", "v1", "Role", "roles"),
            ns,
        ),
        (
            resource(
                "rbac.authorization.k8s.io",
                "v1",
                "RoleBinding",
                "rolebindings",
            ),
            ns,
        ),
        (resource("apps", "v1", "DaemonSet", "daemonsets"), ns),
        (resource("apps", "v1", "Deployment", "deployments"), ns),
        (resource("", "v1", "ConfigMap", "configmaps"), ns),
        (resource("", "v1", "Service", "services"), ns),
        (
            resource("storage.k8s.io", "v1", "StorageClass", "storageclasses"),
            None,
        ),
        (
            resource("", "v1", "PersistentVolume", "persistentvolumes"),
            None,
        ),
        (
            resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
            None,
        ),
        (
            resource("longhorn.io", "v1beta2", "Setting", "settings"),
            ns,
        ),
        (
            resource("longhorn.io", "v1beta2", "EngineImage", "engineimages"),
            ns,
        ),
        (resource("longhorn.io", "v1beta2", "Volume", "volumes"), ns),
        (
            resource("longhorn.io", "v1beta2", "RecurringJob", "recurringjobs"),
            ns,
        ),
        (
            resource("longhorn.io", "v1beta2", "BackingImage", "backingimages"),
            ns,
        ),
        (
            resource("longhorn.io", "v1beta2", "BackupTarget", "backuptargets"),
            ns,
        ),
    ]
}

#[derive(serde::Deserialize)]
struct Continue {
    metadata: ContinueMeta,
}

#[derive(serde::Deserialize)]
struct ContinueMeta {
    #[serde(default, rename = "continue")]
    token: Option<String>,
}

/// Every kind listed at once, 500 a page, bodies read and dropped.
async fn floor(client: &kube::Client, namespace: &str) -> Duration {
    let started = Instant::now();
    let lists = kinds(namespace).into_iter().map(|(resource, namespace)| {
        let client = client.clone();
        async move {
            let mut token = String::new();
            loop {
                let mut url = format!(
                    "{}?limit=500",
                    <DynamicObject as kube::Resource>::url_path(&resource, namespace)
                );
                if !token.is_empty() {
                    url.push_str(&format!("&continue={token}"));
                }
                let request = http::Request::get(url).body(Vec::new()).expect("request");
                let text = client.request_text(request).await.expect("list");
                let page: Continue = serde_json::from_str(&text).expect("page");
                match page.metadata.token.filter(|t| !t.is_empty()) {
                    Some(next) => token = next,
                    None => break,
                }
            }
        }
    });
    futures::future::join_all(lists).await;
    started.elapsed()
}
