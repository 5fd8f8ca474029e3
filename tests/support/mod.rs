//! Helpers for the end-to-end tests: a control plane with Longhorn's CRDs, objects
//! created from JSON (plurals found by discovery), the plugin run as a process, and
//! bundles read back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery;
use longhorn_ground::ControlPlane;
use serde_json::{Value, json};

pub mod fake_longhorn;
pub mod fixture;

pub const NAMESPACE: &str = "longhorn-system";
pub const PLUGIN: &str = env!("CARGO_BIN_EXE_kubectl-longhorn-systembackup");

/// A control plane (with Longhorn's CRDs unless asked otherwise) and a working
/// directory for the files a test writes.
pub struct Cluster {
    pub plane: ControlPlane,
    pub client: kube::Client,
    pub version: String,
    pub crds: Vec<String>,
    pub dir: tempfile::TempDir,
}

impl Cluster {
    pub async fn start() -> Cluster {
        Self::start_with(true).await
    }

    pub async fn start_with(longhorn_crds: bool) -> Cluster {
        let version = longhorn_ground::crds::selected_version().expect("LONGHORN_VERSION");
        let plane = ControlPlane::start().await.expect("control plane");
        let client = plane.client().await.expect("client");
        let crds = if longhorn_crds {
            longhorn_ground::crds::apply(&client, &version)
                .await
                .expect("Longhorn CRDs")
        } else {
            Vec::new()
        };
        Cluster {
            plane,
            client,
            version,
            crds,
            dir: tempfile::tempdir().expect("working directory"),
        }
    }

    /// The resource of an object, its plural found by discovery.
    pub async fn resource(&self, object: &Value) -> ApiResource {
        let api_version = object["apiVersion"].as_str().expect("apiVersion");
        let kind = object["kind"].as_str().expect("kind");
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let gvk = GroupVersionKind::gvk(group, version, kind);
        let (resource, _) = discovery::pinned_kind(&self.client, &gvk)
            .await
            .unwrap_or_else(|e| panic!("discovering {api_version} {kind}: {e}"));
        resource
    }

    async fn api(&self, object: &Value) -> Api<DynamicObject> {
        let resource = self.resource(object).await;
        match object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
        {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        }
    }

    /// Creates the objects in order; a `status` is then written through the status
    /// subresource (where a CRD has one, a create ignores it).
    pub async fn apply(&self, objects: &[Value]) {
        for object in objects {
            let api = self.api(object).await;
            let dynamic: DynamicObject = serde_json::from_value(object.clone()).expect("object");
            let name = dynamic.metadata.name.clone().unwrap_or_default();
            api.create(&PostParams::default(), &dynamic)
                .await
                .unwrap_or_else(|e| panic!("creating {} {name}: {e}", object["kind"]));
            if let Some(status) = object.get("status").filter(|s| s.is_object()) {
                self.patch_status(object, json!({ "status": status })).await;
            }
        }
    }

    pub async fn patch_status(&self, object: &Value, patch: Value) {
        let api = self.api(object).await;
        let name = object["metadata"]["name"].as_str().expect("name");
        api.patch_status(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("status of {} {name}: {e}", object["kind"]));
    }

    /// The objects of a kind as the API server holds them.
    pub async fn list(&self, api_version: &str, kind: &str, namespace: Option<&str>) -> Vec<Value> {
        let probe = json!({"apiVersion": api_version, "kind": kind});
        let resource = self.resource(&probe).await;
        let api: Api<DynamicObject> = match namespace {
            Some(ns) => Api::namespaced_with(self.client.clone(), ns, &resource),
            None => Api::all_with(self.client.clone(), &resource),
        };
        api.list(&Default::default())
            .await
            .expect("list")
            .items
            .into_iter()
            .map(|o| serde_json::to_value(o).expect("json"))
            .collect()
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.plane.kubeconfig_path()
    }

    /// The plugin, run in the working directory against this cluster.
    pub fn plugin(&self) -> Command {
        self.plugin_with(&self.kubeconfig())
    }

    pub fn plugin_with(&self, kubeconfig: &Path) -> Command {
        let mut command = Command::new(PLUGIN);
        command
            .current_dir(self.dir.path())
            .env_remove("KUBECONFIG")
            .env("NO_COLOR", "1")
            .arg("--kubeconfig")
            .arg(kubeconfig);
        command
    }

    /// File names in the working directory (hidden temporary files included).
    pub fn files(&self) -> Vec<String> {
        files_in(self.dir.path())
    }
}

pub fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs a command and returns its output.
pub fn run(command: &mut Command) -> Output {
    command.output().expect("running the plugin")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts success and returns stdout.
pub fn succeeds(command: &mut Command) -> String {
    let output = run(command);
    assert!(
        output.status.success(),
        "expected success, got {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// Asserts failure (exit 1) and returns stderr.
pub fn fails(command: &mut Command) -> String {
    let output = run(command);
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1\nstdout:\n{}\nstderr:\n{}",
        stdout(&output),
        stderr(&output)
    );
    stderr(&output)
}

/// A bundle read back: entry names in order, and each YAML file parsed.
pub struct Bundle {
    pub names: Vec<String>,
    pub files: BTreeMap<String, Value>,
    pub modes: BTreeMap<String, u32>,
}

impl Bundle {
    pub fn read(path: &Path) -> Bundle {
        let mut archive =
            zip::ZipArchive::new(std::fs::File::open(path).expect("bundle")).expect("a zip");
        let mut names = Vec::new();
        let mut files = BTreeMap::new();
        let mut modes = BTreeMap::new();
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).expect("entry");
            let name = entry.name().expect("name").into_owned();
            modes.insert(name.clone(), entry.unix_mode().unwrap_or(0));
            if !entry.is_dir() {
                let mut text = String::new();
                entry.read_to_string(&mut text).expect("utf-8");
                let value: Value = serde_saphyr::from_str(&text)
                    .unwrap_or_else(|e| panic!("{name} does not parse: {e}"));
                files.insert(name.clone(), value);
            }
            names.push(name);
        }
        Bundle {
            names,
            files,
            modes,
        }
    }

    pub fn file(&self, path: &str) -> &Value {
        self.files
            .get(path)
            .unwrap_or_else(|| panic!("{path} is not in the bundle: {:?}", self.names))
    }

    /// `metadata.name` (namespace/name when namespaced) of the items of a file, sorted.
    pub fn item_names(&self, path: &str) -> Vec<String> {
        let mut names: Vec<String> = self.file(path)["items"]
            .as_array()
            .unwrap_or_else(|| panic!("{path} has no items list"))
            .iter()
            .map(qualified_name)
            .collect();
        names.sort();
        names
    }
}

pub fn qualified_name(object: &Value) -> String {
    let name = object["metadata"]["name"].as_str().unwrap_or_default();
    match object["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{ns}/{name}"),
        None => name.to_string(),
    }
}

/// The `yaml-fidelity` Go tool (tests/yaml_fidelity): what Kubernetes' YAML decoding
/// (sigs.k8s.io/yaml, go-yaml v2) makes of each file of a bundle, as JSON.
pub fn decode_like_restore(bundle: &Path) -> BTreeMap<String, Value> {
    let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/yaml_fidelity");
    let binary = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("yaml-fidelity");
    let built = Command::new("go")
        .args(["build", "-o"])
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        .output()
        .unwrap_or_else(|e| {
            panic!("running `go build` for tests/yaml_fidelity failed ({e}); install Go >= 1.22 (https://go.dev/dl) with access to the Go module proxy")
        });
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
