//! `create NAME --local` and `inspect`, end to end on the test ground: the bundle
//! holds exactly what longhorn-manager selects, laid out as it lays it out, and
//! Longhorn's own restore code reads it (bundle-oracle); the volume backup policy runs
//! against the simulator's snapshot and backup controllers; bad input, a full disk,
//! Ctrl-C, RBAC and a missing Longhorn leave no file behind.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::GroupVersionKind;
use kube::discovery;
use longhorn_ground::{Longhorn, Options};
use serde_json::{Value, json};

use crate::harness::{self, Run, dedicated};
use selection::FILES;

// ---------------------------------------------------------------- helpers

/// Creates objects from JSON (plurals by discovery); a `status` is then written
/// through the status subresource.
async fn apply(env: &Longhorn, objects: &[Value]) {
    let client = env.client().await.expect("client");
    for object in objects {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let (resource, _) =
            discovery::pinned_kind(&client, &GroupVersionKind::gvk(group, version, kind))
                .await
                .unwrap_or_else(|e| panic!("discovering {kind}: {e}"));
        let api: Api<DynamicObject> = match object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &resource),
            None => Api::all_with(client.clone(), &resource),
        };
        let dynamic: DynamicObject = serde_json::from_value(object.clone()).expect("object");
        let name = dynamic.metadata.name.clone().unwrap_or_default();
        api.create(&PostParams::default(), &dynamic)
            .await
            .unwrap_or_else(|e| panic!("creating {kind} {name}: {e}"));
        if let Some(status) = object.get("status") {
            api.patch_status(
                &name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": status})),
            )
            .await
            .unwrap_or_else(|e| panic!("status of {kind} {name}: {e}"));
        }
    }
}

/// The objects of a kind as the API server holds them.
async fn list(
    env: &Longhorn,
    api_version: &str,
    kind: &str,
    namespace: Option<&str>,
) -> Vec<Value> {
    let client = env.client().await.expect("client");
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let (resource, _) =
        discovery::pinned_kind(&client, &GroupVersionKind::gvk(group, version, kind))
            .await
            .expect("discovery");
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client, ns, &resource),
        None => Api::all_with(client, &resource),
    };
    api.list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).expect("json"))
        .collect()
}

fn qualified_name(object: &Value) -> String {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

fn files_in(dir: &Path) -> Vec<String> {
    sorted(
        std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
    )
}

fn digest(path: &Path) -> (u64, String) {
    use sha2::Digest;
    let bytes = std::fs::read(path).expect("bundle");
    (
        bytes.len() as u64,
        hex::encode(sha2::Sha256::digest(&bytes)),
    )
}

/// A bundle read back: entry names in order, each YAML file parsed, entry modes.
struct Bundle {
    names: Vec<String>,
    files: BTreeMap<String, Value>,
    modes: BTreeMap<String, u32>,
}

impl Bundle {
    fn read(path: &Path) -> Bundle {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(path).expect("bundle")).expect("a zip");
        let mut bundle = Bundle {
            names: Vec::new(),
            files: BTreeMap::new(),
            modes: BTreeMap::new(),
        };
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).expect("entry");
            let name = entry.name().expect("name").into_owned();
            bundle
                .modes
                .insert(name.clone(), entry.unix_mode().unwrap_or(0));
            if !entry.is_dir() {
                let mut text = String::new();
                entry.read_to_string(&mut text).expect("utf-8");
                let value: Value =
                    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
                bundle.files.insert(name.clone(), value);
            }
            bundle.names.push(name);
        }
        bundle
    }

    fn file(&self, path: &str) -> &Value {
        self.files
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the bundle: {:?}", self.names))
    }

    fn items(&self, path: &str) -> &Vec<Value> {
        self.file(path)["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{path}: no items"))
    }

    fn item_names(&self, path: &str) -> Vec<String> {
        sorted(self.items(path).iter().map(qualified_name).collect())
    }
}

/// The `yaml-fidelity` Go tool (tests/yaml_fidelity): what Kubernetes' YAML decoding
/// (sigs.k8s.io/yaml on go-yaml v2, as restore's UniversalDeserializer) makes of each
/// file of a bundle, as JSON.
fn decode_like_restore(bundle: &Path) -> BTreeMap<String, Value> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_fidelity");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yaml-fidelity");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        .output()
        .unwrap_or_else(|e| panic!("running `go build` in tests/yaml_fidelity failed ({e}); install Go >= 1.22 (https://go.dev/dl) with access to the Go module proxy"));
    assert!(
        built.status.success(),
        "building tests/yaml_fidelity: {}",
        String::from_utf8_lossy(&built.stderr)
    );
    let output = Command::new(&binary)
        .arg(bundle)
        .output()
        .expect("yaml-fidelity");
    assert!(
        output.status.success(),
        "yaml-fidelity: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).expect("json line");
            (
                record["path"].as_str().expect("path").to_string(),
                record["json"].clone(),
            )
        })
        .collect()
}

const LOCAL_DISABLED: [&str; 5] = [
    "create",
    "b",
    "--local",
    "--volume-backup-policy",
    "disabled",
];

/// `--kubeconfig K -n NS create b --local --volume-backup-policy disabled EXTRA…`.
fn local_args(kubeconfig: &Path, namespace: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "--kubeconfig".to_string(),
        kubeconfig.display().to_string(),
        "-n".into(),
        namespace.into(),
    ];
    args.extend(
        [
            "create",
            "b",
            "--local",
            "--volume-backup-policy",
            "disabled",
        ]
        .iter()
        .chain(extra)
        .map(|a| a.to_string()),
    );
    args
}

/// `inspect ARGS…` in `dir` (no cluster needed).
async fn inspect(dir: &Path, args: &[&str]) -> Run {
    let mut full = vec!["inspect".to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    harness::run_in(harness::binary(), full, &[], Some(dir)).await
}

async fn local(env: &Longhorn, dir: &Path, name: &str, policy: &str, extra: &[&str]) -> Run {
    let mut args = vec!["create", name, "--local", "--volume-backup-policy", policy];
    args.extend_from_slice(extra);
    harness::plugin_in(env, dir, &args).await
}

// ---------------------------------------------------------------- output

/// `-o json` is the same summary, machine-readably; `inspect` reads the bundle back
/// and lints it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_summary_and_inspect_agree() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("out")).unwrap();
    let run = local(
        &env,
        dir.path(),
        "nightly",
        "disabled",
        &["-o", "json", "-o", "out/b.zip"],
    )
    .await;
    run.success();
    let summary: Value = serde_json::from_str(&run.stdout).expect("-o json is JSON");
    let path = dir.path().join("out/b.zip");
    let (bytes, sha) = digest(&path);
    assert_eq!(summary["sha256"], sha);
    assert_eq!(summary["bytes"], bytes);
    assert_eq!(summary["name"], "nightly");
    assert_eq!(summary["longhornVersion"], env.version().as_str());
    // The seed backs up every other volume: volume 1 of 3 has none.
    let unbacked = json!([env.seeded().volume_names[1]]);
    assert_eq!(summary["volumesWithoutBackup"], unbacked);
    run.stderr_has(&format!(
        "warning: 1 volume has no backup and will be restored empty: {}",
        env.seeded().volume_names[1]
    ));
    let counts: BTreeMap<String, u64> = summary["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(counts.len(), FILES.len());
    assert_eq!(counts["yamls/longhorn/volumes.yaml"], 3);

    // The top-level folder is not named like the file (b.zip): it restores as
    // "nightly" only, which inspect warns about (a renamed download is fine).
    let linted = inspect(dir.path(), &["out/b.zip", "-o", "json"]).await;
    linted.success();
    let report: Value = serde_json::from_str(&linted.stdout).unwrap();
    assert_eq!(report["name"], "nightly");
    assert!(
        report["findings"]
            .to_string()
            .contains("would restore nothing"),
        "{report}"
    );

    // Named after its folder it is clean but for the volume without a backup.
    std::fs::rename(&path, dir.path().join("nightly.zip")).unwrap();
    let linted = inspect(dir.path(), &["nightly.zip", "-o", "json"]).await;
    linted.success();
    let report: Value = serde_json::from_str(&linted.stdout).unwrap();
    assert_eq!(report["sha256"], sha);
    assert_eq!(report["longhornVersion"], env.version().as_str());
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains(&env.seeded().volume_names[1]),
        "{findings:?}"
    );
    for file in report["files"].as_array().unwrap() {
        let relative = file["path"]
            .as_str()
            .unwrap()
            .trim_start_matches("nightly/");
        assert_eq!(file["count"].as_u64(), Some(counts[relative]), "{file}");
        assert_eq!(file["restored"], true, "{file}");
    }
    let volumes = report["volumes"].as_array().unwrap();
    assert_eq!(volumes.len(), 3);
    let text = inspect(dir.path(), &["nightly.zip"]).await;
    text.success()
        .stdout_has("SHA-256:")
        .stdout_has(&sha)
        .stdout_has(&env.seeded().volume_names[0]);
}

mod faults;
mod policy;
mod selection;
