//! Speed and memory of `create --local` (docs/benchmarks.md, "--local bundle").
//!
//! For each volume count: a control plane with Longhorn's CRDs, seeded with that many
//! volumes (each with its PV and PVC), then, a few times each:
//! - the plugin: `create NAME --local --volume-backup-policy disabled` (wall time, and
//!   peak RSS of the process from wait4);
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

use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-longhorn-systembackup");
const NAMESPACE: &str = "longhorn-system";
const LH: &str = "longhorn.io/v1beta2";

struct Options {
    volumes: Vec<usize>,
    runs: usize,
}

fn options() -> Options {
    let mut options = Options {
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
        let plane = longhorn_ground::ControlPlane::start().await.expect("plane");
        let client = plane.client().await.expect("client");
        longhorn_ground::crds::apply(&client, &version)
            .await
            .expect("CRDs");
        let seeding = Instant::now();
        seed(&client, &version, volumes).await;
        eprintln!("seeded {volumes} volumes in {:?}", seeding.elapsed());
        let kubeconfig = plane.kubeconfig_path();
        let dir = tempfile::tempdir().expect("dir");

        // Warm the apiserver's caches and the page cache once, unmeasured.
        plugin(&kubeconfig, dir.path(), "warm");
        let mut plugin_runs = Vec::new();
        let mut kubectl_runs = Vec::new();
        let mut floor_runs = Vec::new();
        let mut bundle_bytes = 0;
        for run in 0..options.runs {
            let (wall, rss) = plugin(&kubeconfig, dir.path(), &format!("run-{run}"));
            bundle_bytes = std::fs::metadata(dir.path().join(format!("run-{run}.zip")))
                .map(|m| m.len())
                .unwrap_or(0);
            plugin_runs.push((wall, rss));
            kubectl_runs.push(kubectl(&kubeconfig));
            floor_runs.push(floor(&client).await);
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

/// Runs a command to completion; wall time and peak RSS (KiB) of that process.
fn measure(command: &mut Command) -> (Duration, u64) {
    let started = Instant::now();
    // Reaped below with wait4, which also gives its rusage.
    #[allow(clippy::zombie_processes)]
    let child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data filled in by the kernel; pid is our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    assert_eq!(waited, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{:?} failed",
        command.get_program()
    );
    (wall, usage.ru_maxrss as u64)
}

fn plugin(kubeconfig: &Path, dir: &Path, name: &str) -> (Duration, u64) {
    measure(
        Command::new(PLUGIN)
            .current_dir(dir)
            .arg("--kubeconfig")
            .arg(kubeconfig)
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
fn kubectl(kubeconfig: &Path) -> Duration {
    let namespaced = "serviceaccounts,roles,rolebindings,daemonsets,deployments,configmaps,services,settings.longhorn.io,engineimages.longhorn.io,volumes.longhorn.io,recurringjobs.longhorn.io,backingimages.longhorn.io,backuptargets.longhorn.io";
    let cluster = "customresourcedefinitions,clusterrolebindings,clusterroles,storageclasses,persistentvolumes";
    let calls: [Vec<&str>; 3] = [
        vec!["get", "-n", NAMESPACE, namespaced, "-o", "yaml"],
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
fn kinds() -> Vec<(ApiResource, Option<&'static str>)> {
    let ns = Some(NAMESPACE);
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
async fn floor(client: &kube::Client) -> Duration {
    let started = Instant::now();
    let lists = kinds().into_iter().map(|(resource, namespace)| {
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

fn object(api_version: &str, kind: &str, metadata: Value, rest: Value) -> Value {
    let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata});
    if let (Some(target), Some(extra)) = (object.as_object_mut(), rest.as_object()) {
        target.extend(extra.clone());
    }
    object
}

/// A Longhorn install of `volumes` volumes, each with a bound PV and PVC, shaped like
/// a real one (specs and statuses as longhorn-manager writes them).
async fn seed(client: &kube::Client, version: &str, volumes: usize) {
    let base = vec![
        object("v1", "Namespace", json!({"name": NAMESPACE}), json!({})),
        object("v1", "Namespace", json!({"name": "apps"}), json!({})),
        object(
            LH,
            "Setting",
            json!({"name": "current-longhorn-version", "namespace": NAMESPACE}),
            json!({"value": version}),
        ),
        object(
            "storage.k8s.io/v1",
            "StorageClass",
            json!({"name": "longhorn"}),
            json!({"provisioner": "driver.longhorn.io"}),
        ),
        object(
            LH,
            "BackupTarget",
            json!({"name": "default", "namespace": NAMESPACE}),
            json!({"spec": {"backupTargetURL": "s3://bucket@us-east-1/", "pollInterval": "5m0s"}}),
        ),
    ];
    for object in base {
        create(client, object).await;
    }
    let per_volume = (0..volumes).flat_map(|i| {
        let name = format!("pvc-{i:08}-1111-4222-8333-444455556666");
        [
            object(LH, "Volume", json!({"name": name, "namespace": NAMESPACE, "labels": {"longhornvolume": name, "recurring-job-group.longhorn.io/default": "enabled"}, "finalizers": ["longhorn.io"]}),
                json!({"spec": {"accessMode": "rwo", "backingImage": "", "backupCompressionMethod": "lz4", "backupTargetName": "default", "dataEngine": "v1", "dataLocality": "disabled", "disableFrontend": false, "diskSelector": [], "encrypted": false, "fromBackup": "", "frontend": "blockdev", "image": "longhornio/longhorn-engine:test", "migratable": false, "nodeID": "", "nodeSelector": [], "numberOfReplicas": 3, "replicaAutoBalance": "ignored", "revisionCounterDisabled": true, "size": "10737418240", "snapshotDataIntegrity": "ignored", "snapshotMaxCount": 250, "snapshotMaxSize": "0", "staleReplicaTimeout": 30, "unmapMarkSnapChainRemoved": "ignored"},
                       "status": {"actualSize": 123456789, "currentImage": "longhornio/longhorn-engine:test", "isStandby": false, "lastBackup": format!("backup-{i:016x}"), "lastBackupAt": "2026-01-01T00:00:00Z", "ownerID": "node-1", "robustness": "healthy", "state": "detached",
                                  "kubernetesStatus": {"namespace": "apps", "pvName": name, "pvStatus": "Bound", "pvcName": format!("data-{i}"), "lastPVCRefAt": "", "lastPodRefAt": ""},
                                  "conditions": [{"type": "Scheduled", "status": "True", "reason": "", "message": "", "lastProbeTime": "", "lastTransitionTime": "2026-01-01T00:00:00Z"}]}})),
            object("v1", "PersistentVolume", json!({"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": "driver.longhorn.io"}}),
                json!({"spec": {"accessModes": ["ReadWriteOnce"], "capacity": {"storage": "10Gi"}, "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "name": format!("data-{i}"), "namespace": "apps"},
                       "csi": {"driver": "driver.longhorn.io", "fsType": "ext4", "volumeAttributes": {"dataEngine": "v1", "numberOfReplicas": "3", "staleReplicaTimeout": "30"}, "volumeHandle": name},
                       "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "longhorn", "volumeMode": "Filesystem"}})),
            object("v1", "PersistentVolumeClaim", json!({"name": format!("data-{i}"), "namespace": "apps", "annotations": {"pv.kubernetes.io/bind-completed": "yes", "volume.kubernetes.io/storage-provisioner": "driver.longhorn.io"}}),
                json!({"spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "longhorn", "volumeMode": "Filesystem", "volumeName": name}})),
        ]
    });
    futures::stream::iter(per_volume)
        .for_each_concurrent(32, |object| create(client, object))
        .await;
}

async fn create(client: &kube::Client, object: Value) {
    let api_version = object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
    let plural = match kind.as_str() {
        "PersistentVolume" => "persistentvolumes".to_string(),
        "PersistentVolumeClaim" => "persistentvolumeclaims".to_string(),
        "StorageClass" => "storageclasses".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    let resource = resource(group, version, &kind, &plural);
    let api: Api<DynamicObject> = match object["metadata"]["namespace"].as_str() {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
        None => Api::all_with(client.clone(), &resource),
    };
    let status = object.get("status").cloned();
    let dynamic: DynamicObject = serde_json::from_value(object).expect("object");
    let name = dynamic.metadata.name.clone().unwrap_or_default();
    api.create(&PostParams::default(), &dynamic)
        .await
        .unwrap_or_else(|e| panic!("creating {kind} {name}: {e}"));
    if let Some(status) = status {
        api.patch_status(
            &name,
            &PatchParams::default(),
            &Patch::Merge(json!({"status": status})),
        )
        .await
        .unwrap_or_else(|e| panic!("status of {kind} {name}: {e}"));
    }
}
