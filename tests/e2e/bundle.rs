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
use longhorn_ground::{Ground, Longhorn, Options};
use serde_json::{Value, json};

use crate::harness::{self, Run};

// ---------------------------------------------------------------- helpers

async fn dedicated(options: Options) -> Longhorn {
    let version = Ground::default_version().expect("a supported LONGHORN_VERSION");
    Ground::dedicated_with(&version, options)
        .await
        .expect("the test ground starts (see docs/testing.md)")
}

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

// ---------------------------------------------------------------- the selection

/// Values YAML 1.1 (restore's go-yaml v2) would read as something else if unquoted.
fn tricky_data() -> Value {
    json!({
        "on": "yes", "y": "n", "off": "no", "0x1F": "012", "1_000": "1:20", "1e3": "2001-12-14",
        "null": "~", "true": "false", "multi": "line 1\nline 2\n  indented\n", "empty": "",
        "quote": "it's \"quoted\"", "colon": "a: b #c", "unicode": "héllo ☃", "long": "x ".repeat(70)
    })
}

/// Next to the seed's install: for every selection rule an object it keeps and
/// objects it drops (longhorn-system-backup.md §4).
fn edge_cases(ns: &str, apps: &str) -> Vec<Value> {
    let lh = "longhorn.io/v1beta2";
    let rbac = "rbac.authorization.k8s.io/v1";
    let role_ref = |name: &str| json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name});
    let pod = json!({"metadata": {"labels": {"app": "x"}}, "spec": {"containers": [{"name": "x", "image": "x"}]}});
    let claim = |name: &str, class: Option<&str>, volume: Option<&str>| {
        let mut spec = json!({"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}});
        if let Some(class) = class {
            spec["storageClassName"] = json!(class);
        }
        if let Some(volume) = volume {
            spec["volumeName"] = json!(volume);
        }
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": apps}, "spec": spec})
    };
    let volume = |name: String, class: Option<&str>, source: Value| {
        let mut spec = json!({"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]});
        spec.as_object_mut()
            .unwrap()
            .extend(source.as_object().unwrap().clone());
        if let Some(class) = class {
            spec["storageClassName"] = json!(class);
        }
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec})
    };
    vec![
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "longhorn-ui-service-account", "namespace": ns}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app-account", "namespace": apps}}),
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("{ns}-longhorn-ui-role")}, "rules": []}),
        json!({"apiVersion": rbac, "kind": "ClusterRole", "metadata": {"name": format!("{ns}-unbound-role")}, "rules": []}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-longhorn-ui-bind")},
            "roleRef": role_ref(&format!("{ns}-longhorn-ui-role")),
            "subjects": [{"kind": "User", "name": "someone"}, {"kind": "ServiceAccount", "name": "longhorn-ui-service-account", "namespace": ns}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-app-bind")},
            "roleRef": role_ref(&format!("{ns}-unbound-role")), "subjects": [{"kind": "ServiceAccount", "name": "app-account", "namespace": apps}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-same-name-other-namespace")},
            "roleRef": role_ref(&format!("{ns}-unbound-role")), "subjects": [{"kind": "ServiceAccount", "name": "longhorn-service-account", "namespace": apps}]}),
        json!({"apiVersion": rbac, "kind": "ClusterRoleBinding", "metadata": {"name": format!("{ns}-user-named-like-account")},
            "roleRef": role_ref(&format!("{ns}-unbound-role")), "subjects": [{"kind": "User", "name": "longhorn-service-account", "namespace": ns}]}),
        json!({"apiVersion": rbac, "kind": "Role", "metadata": {"name": "app-role", "namespace": apps}, "rules": []}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": apps},
            "spec": {"selector": {"matchLabels": {"app": "x"}}, "template": pod}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "tricky", "namespace": ns}, "data": tricky_data()}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app-config", "namespace": apps}, "data": {}}),
        json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "longhorn-headless", "namespace": ns}, "spec": {"clusterIP": "None", "ports": [{"port": 9501}]}}),
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "longhorn-backup-secret", "namespace": ns}, "stringData": {"AWS_ACCESS_KEY_ID": "not-in-the-bundle"}}),
        json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": format!("{ns}-node")}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": format!("{ns}-static")}, "provisioner": "driver.longhorn.io"}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": format!("{ns}-local-path")}, "provisioner": "rancher.io/local-path"}),
        volume(
            format!("{ns}-static-b"),
            None,
            json!({"csi": {"driver": "driver.longhorn.io", "volumeHandle": "static-b"}}),
        ),
        volume(
            format!("{ns}-ebs-1"),
            Some("gp2"),
            json!({"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-123"}}),
        ),
        volume(
            format!("{ns}-host-1"),
            Some(&format!("{ns}-local-path")),
            json!({"hostPath": {"path": "/tmp/x"}}),
        ),
        claim("static-b", Some(""), Some(&format!("{ns}-static-b"))),
        claim("on-local-path", Some(&format!("{ns}-local-path")), None),
        claim("on-gp2", Some("gp2"), None),
        claim("default-class", None, None),
        json!({"apiVersion": lh, "kind": "Volume", "metadata": {"name": "dr-c", "namespace": ns},
            "spec": {"numberOfReplicas": 3, "size": "1073741824", "frontend": "blockdev", "backupTargetName": "default"},
            "status": {"isStandby": true, "state": "detached"}}),
        json!({"apiVersion": lh, "kind": "BackingImage", "metadata": {"name": "bi-1", "namespace": ns},
            "spec": {"sourceType": "download", "sourceParameters": {"url": "http://example.com/image.qcow2"}},
            "status": {"checksum": "f".repeat(128)}}),
        json!({"apiVersion": lh, "kind": "RecurringJob", "metadata": {"name": "daily", "namespace": ns},
            "spec": {"name": "daily", "task": "snapshot", "cron": "0 0 * * *", "retain": 3, "concurrency": 1, "groups": ["default"], "labels": {}}}),
        json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
                "versions": [{"name": "v1", "served": true, "storage": true,
                    "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}}),
    ]
}

/// (file, apiVersion, kind) of every file of a v1.8+ bundle, in Longhorn's order.
const FILES: [(&str, &str, &str); 19] = [
    (
        "yamls/apiextensions/customresourcedefinitions.yaml",
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinitionList",
    ),
    (
        "yamls/kubernetes/serviceaccounts.yaml",
        "v1",
        "ServiceAccountList",
    ),
    (
        "yamls/kubernetes/clusterroles.yaml",
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBindingList",
    ),
    (
        "yamls/kubernetes/clusterrolebindings.yaml",
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleList",
    ),
    (
        "yamls/kubernetes/roles.yaml",
        "rbac.authorization.k8s.io/v1",
        "RoleList",
    ),
    (
        "yamls/kubernetes/rolebindings.yaml",
        "rbac.authorization.k8s.io/v1",
        "RoleBindingList",
    ),
    (
        "yamls/kubernetes/daemonsets.yaml",
        "apps/v1",
        "DaemonSetList",
    ),
    (
        "yamls/kubernetes/deployments.yaml",
        "apps/v1",
        "DeploymentList",
    ),
    ("yamls/kubernetes/configmaps.yaml", "v1", "ConfigMapList"),
    ("yamls/kubernetes/services.yaml", "v1", "ServiceList"),
    (
        "yamls/kubernetes/storageclasses.yaml",
        "storage.k8s.io/v1",
        "StorageClassList",
    ),
    (
        "yamls/kubernetes/persistentvolumes.yaml",
        "v1",
        "PersistentVolumeList",
    ),
    (
        "yamls/kubernetes/persistentvolumeclaims.yaml",
        "v1",
        "PersistentVolumeClaimList",
    ),
    (
        "yamls/longhorn/setting.yaml",
        "longhorn.io/v1beta2",
        "SettingList",
    ),
    (
        "yamls/longhorn/engineimages.yaml",
        "longhorn.io/v1beta2",
        "EngineImageList",
    ),
    (
        "yamls/longhorn/volumes.yaml",
        "longhorn.io/v1beta2",
        "VolumeList",
    ),
    (
        "yamls/longhorn/recurringjobs.yaml",
        "longhorn.io/v1beta2",
        "RecurringJobList",
    ),
    (
        "yamls/longhorn/backingimages.yaml",
        "longhorn.io/v1beta2",
        "BackingImageList",
    ),
    (
        "yamls/longhorn/backuptargets.yaml",
        "longhorn.io/v1beta2",
        "BackupTargetList",
    ),
];

/// What longhorn-manager puts in each file: explicit for the filtering rules; for
/// "everything in the namespace", what the namespace holds.
async fn expected(env: &Longhorn) -> BTreeMap<&'static str, Vec<String>> {
    let ns = env.namespace();
    let apps = env.apps_namespace();
    let seeded = env.seeded();
    let crds = longhorn_ground::crds::load(env.version().as_str()).expect("CRDs");
    let all_in = |api_version: &'static str, kind: &'static str| async move {
        sorted(
            list(env, api_version, kind, Some(ns))
                .await
                .iter()
                .map(qualified_name)
                .collect(),
        )
    };
    let mut volumes: Vec<String> = seeded.volume_names.clone();
    volumes.push(format!("{ns}-static-b"));
    let mut claims: Vec<String> = (0..seeded.volume_names.len())
        .map(|i| format!("{apps}/data-{i}"))
        .collect();
    claims.push(format!("{apps}/static-b"));
    BTreeMap::from([
        (
            FILES[0].0,
            sorted(
                crds.iter()
                    .map(|c| c["metadata"]["name"].as_str().unwrap().to_string())
                    .collect(),
            ),
        ),
        (FILES[1].0, all_in("v1", "ServiceAccount").await),
        (
            FILES[2].0,
            sorted(vec![
                seeded.cluster_role_binding.clone(),
                format!("{ns}-longhorn-ui-bind"),
            ]),
        ),
        (
            FILES[3].0,
            sorted(vec![
                seeded.cluster_role.clone(),
                format!("{ns}-longhorn-ui-role"),
            ]),
        ),
        (
            FILES[4].0,
            all_in("rbac.authorization.k8s.io/v1", "Role").await,
        ),
        (
            FILES[5].0,
            all_in("rbac.authorization.k8s.io/v1", "RoleBinding").await,
        ),
        (FILES[6].0, all_in("apps/v1", "DaemonSet").await),
        (FILES[7].0, all_in("apps/v1", "Deployment").await),
        (FILES[8].0, all_in("v1", "ConfigMap").await),
        (FILES[9].0, all_in("v1", "Service").await),
        (
            FILES[10].0,
            sorted(vec![seeded.storage_class.clone(), format!("{ns}-static")]),
        ),
        (FILES[11].0, sorted(volumes)),
        (FILES[12].0, sorted(claims)),
        (FILES[13].0, all_in("longhorn.io/v1beta2", "Setting").await),
        (
            FILES[14].0,
            all_in("longhorn.io/v1beta2", "EngineImage").await,
        ),
        (FILES[15].0, all_in("longhorn.io/v1beta2", "Volume").await),
        (
            FILES[16].0,
            all_in("longhorn.io/v1beta2", "RecurringJob").await,
        ),
        (
            FILES[17].0,
            all_in("longhorn.io/v1beta2", "BackingImage").await,
        ),
        (
            FILES[18].0,
            all_in("longhorn.io/v1beta2", "BackupTarget").await,
        ),
    ])
}

/// The bundle holds exactly what longhorn-manager selects, laid out as it lays it out,
/// with items as the API server holds them (status kept, Services without cluster
/// IPs); Kubernetes' own YAML decoder reads the same values, and Longhorn's restore
/// code finds every kind, item and restore field.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_bundle_selects_and_lays_out_like_longhorn() {
    let env = dedicated(Options::default().volumes(3)).await;
    let ns = env.namespace().to_string();
    apply(&env, &edge_cases(&ns, env.apps_namespace())).await;
    let dir = tempfile::tempdir().unwrap();
    let run = local(&env, dir.path(), "nightly", "disabled", &[]).await;
    run.success();
    assert_eq!(
        files_in(dir.path()),
        ["nightly.zip"],
        "only the bundle, no temporary file"
    );
    let path = dir.path().join("nightly.zip");
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // Entries: one top-level folder, directory entries as `zip -r` writes them,
    // metadata.yaml, then Longhorn's files in its order.
    let bundle = Bundle::read(&path);
    let mut names = vec![
        "nightly/".to_string(),
        "nightly/metadata.yaml".to_string(),
        "nightly/yamls/".to_string(),
    ];
    let mut folder = "";
    for (file, _, _) in FILES {
        let dir = file.rsplit_once('/').unwrap().0;
        if dir != folder {
            names.push(format!("nightly/{dir}/"));
            folder = dir;
        }
        names.push(format!("nightly/{file}"));
    }
    assert_eq!(bundle.names, names);
    assert_eq!(
        bundle.modes["nightly/yamls/longhorn/volumes.yaml"] & 0o777,
        0o644
    );

    // Each file: one typed List, exactly longhorn-manager's selection.
    let expected = expected(&env).await;
    for (file, api_version, kind) in FILES {
        let path = format!("nightly/{file}");
        let list = bundle.file(&path);
        assert_eq!(list["apiVersion"], api_version, "{path}");
        assert_eq!(list["kind"], kind, "{path}");
        assert!(
            list["metadata"]["resourceVersion"]
                .as_str()
                .is_some_and(|rv| !rv.is_empty()),
            "{path}"
        );
        assert_eq!(bundle.item_names(&path), expected[file], "{path}");
    }
    for must in [
        format!("{ns}/longhorn-ui-service-account"),
        format!("{ns}/tricky"),
        format!("{ns}/longhorn-headless"),
        format!("{ns}/dr-c"),
        format!("{ns}/bi-1"),
        format!("{ns}/daily"),
    ] {
        assert!(
            expected.values().any(|names| names.contains(&must)),
            "{must} is expected"
        );
    }
    let everything = serde_json::to_string(&bundle.files).unwrap();
    assert!(
        !everything.contains("not-in-the-bundle"),
        "no Secret content"
    );
    for absent in [
        format!("{ns}-node"),
        "widgets.example.com".to_string(),
        "longhorn-backup-secret".to_string(),
    ] {
        assert!(
            !everything.contains(&format!("\"name\":\"{absent}\"")),
            "{absent} must not be in the bundle"
        );
    }

    // Items are the API's objects; only Services change.
    for service in bundle.items("nightly/yamls/kubernetes/services.yaml") {
        assert!(
            service["spec"].get("clusterIP").is_none()
                && service["spec"].get("clusterIPs").is_none(),
            "{service}"
        );
    }
    let live: Vec<Value> = list(&env, "v1", "PersistentVolume", None).await;
    let name = &env.seeded().volume_names[0];
    let mut live = live
        .into_iter()
        .find(|p| p["metadata"]["name"] == name.as_str())
        .unwrap();
    live.as_object_mut().unwrap().remove("apiVersion"); // kube's DynamicObject adds type fields;
    live.as_object_mut().unwrap().remove("kind"); // built-in list items have none
    let bundled = bundle
        .items("nightly/yamls/kubernetes/persistentvolumes.yaml")
        .iter()
        .find(|p| p["metadata"]["name"] == name.as_str())
        .unwrap();
    assert_eq!(
        bundled, &live,
        "an item is the API's object, field for field"
    );
    let volumes = bundle.items("nightly/yamls/longhorn/volumes.yaml");
    let live_volumes = list(&env, "longhorn.io/v1beta2", "Volume", Some(&ns)).await;
    for volume in volumes {
        assert_eq!(volume["kind"], "Volume", "CR list items carry their kind");
        let live = live_volumes
            .iter()
            .find(|v| v["metadata"]["name"] == volume["metadata"]["name"])
            .unwrap();
        assert_eq!(volume["status"], live["status"], "status is kept");
    }

    // metadata.yaml: yaml.v2's lower-case keys.
    let metadata = bundle.file("nightly/metadata.yaml");
    assert_eq!(metadata["longhornversion"], env.version().as_str());
    assert_eq!(
        metadata["kubernetesversion"],
        env.plane().kubernetes_version.as_str()
    );
    assert_eq!(
        metadata["managerimage"],
        env.version().manager_image().as_str()
    );
    assert_eq!(metadata["systembackupcreatedat"], "0001-01-01T00:00:00Z");
    let namespaces = list(&env, "v1", "Namespace", None).await;
    let uid = &namespaces
        .iter()
        .find(|n| n["metadata"]["name"] == ns.as_str())
        .unwrap()["metadata"]["uid"];
    assert_eq!(&metadata["longhornnamespaceuuid"], uid);

    // Kubernetes' decoder (go-yaml v2, YAML 1.1) reads what a YAML 1.2 reader reads.
    let decoded = decode_like_restore(&path);
    for (name, value) in &bundle.files {
        assert_eq!(
            &decoded[name], value,
            "{name}: YAML 1.1 and 1.2 readings differ"
        );
    }
    let tricky = bundle
        .items("nightly/yamls/kubernetes/configmaps.yaml")
        .iter()
        .find(|c| c["metadata"]["name"] == "tricky")
        .unwrap();
    assert_eq!(tricky["data"], tricky_data());

    // Longhorn's own restore code, this version's types and schemes.
    let report =
        longhorn_ground::oracles::bundle_report(env.version().as_str(), &path, "nightly").unwrap();
    assert_eq!(report["unpackError"], "", "{report}");
    assert_eq!(report["topLevelFolderFound"], true, "{report}");
    assert_eq!(report["restoresNothing"], false, "{report}");
    assert_eq!(
        report["decodeErrors"].as_array().map_or(0, Vec::len),
        0,
        "{report}"
    );
    assert_eq!(
        report["warnings"].as_array().map_or(0, Vec::len),
        0,
        "{report}"
    );
    let kinds = report["kinds"].as_object().unwrap();
    assert_eq!(kinds.len(), FILES.len(), "{:?}", kinds.keys());
    for (file, _, kind) in FILES {
        let restored = &kinds[kind];
        assert_eq!(
            restored["file"].as_str().map(|f| file.ends_with(f)),
            Some(true),
            "{restored}"
        );
        let items: Vec<String> = serde_json::from_value(restored["items"].clone()).unwrap();
        assert_eq!(sorted(items), expected[file], "{file}");
    }
    let find = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap()
    };
    for volume in volumes {
        let name = volume["metadata"]["name"].as_str().unwrap();
        let restored = find(&kinds["VolumeList"]["volumes"], name);
        assert_eq!(
            restored["lastBackup"],
            volume["status"]["lastBackup"].as_str().unwrap_or_default(),
            "{name}"
        );
    }
    assert_eq!(
        find(&kinds["VolumeList"]["volumes"], "dr-c")["isStandby"],
        true
    );
    assert_eq!(
        find(&kinds["BackingImageList"]["backingImages"], "bi-1")["checksum"],
        "f".repeat(128)
    );
    assert_eq!(
        find(&kinds["PersistentVolumeList"]["persistentVolumes"], name)["volumeHandle"],
        name.as_str()
    );
    assert_eq!(
        find(
            &kinds["PersistentVolumeClaimList"]["persistentVolumeClaims"],
            "data-0"
        )["volumeName"],
        name.as_str()
    );
    assert_eq!(
        find(
            &kinds["SettingList"]["settings"],
            "current-longhorn-version"
        )["value"],
        env.version().as_str()
    );

    // The summary names the file's size and SHA-256.
    let (bytes, sha) = digest(&path);
    run.stdout_has(&sha)
        .stdout_has(&format!("{bytes} bytes"))
        .stdout_has("yamls/longhorn/volumes.yaml");
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

// ---------------------------------------------------------------- bad input

/// Every refusal comes before anything is written, and leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_leaves_nothing_behind() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();

    local(&env, path, "Bad_Name", "disabled", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("invalid SystemBackup name \"Bad_Name\"");
    local(&env, path, "b", "disabled", &["-o", "missing/b.zip"])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("does not exist");

    std::fs::write(path.join("b.zip"), b"precious").unwrap();
    local(&env, path, "b", "disabled", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("b.zip: already exists; pass --force");
    assert_eq!(std::fs::read(path.join("b.zip")).unwrap(), b"precious");
    assert_eq!(files_in(path), ["b.zip"]);
    local(&env, path, "b", "disabled", &["--force"])
        .await
        .success();
    assert_eq!(Bundle::read(&path.join("b.zip")).names[0], "b/");
    assert_eq!(files_in(path), ["b.zip"]);

    // A read-only directory. Root writes anywhere, so as root the plugin runs as
    // nobody (setpriv, from util-linux).
    let readonly = path.join("readonly");
    std::fs::create_dir(&readonly).unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
    let kubeconfig = path.join("kubeconfig");
    std::fs::copy(env.kubeconfig(), &kubeconfig).unwrap();
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let readonly_text = readonly.display().to_string();
    let args = local_args(&kubeconfig, env.namespace(), &["-o", &readonly_text]);
    // SAFETY: geteuid has no preconditions.
    let run = if unsafe { libc::geteuid() } == 0 {
        let mut wrapped: Vec<String> = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            .map(String::from)
            .to_vec();
        wrapped.push(harness::binary().display().to_string());
        wrapped.extend(args);
        harness::run_in("setpriv", wrapped, &[], Some(path)).await
    } else {
        harness::run_in(harness::binary(), args, &[], Some(path)).await
    };
    run.failure(1)
        .one_line_error()
        .stderr_has("readonly")
        .stderr_has("permission denied");
    assert!(files_in(&readonly).is_empty());
}

/// A full disk (here: a file size limit, `ulimit -f`) fails the write cleanly, whether
/// it hits a kind's file (4 blocks) or the bundle itself (40 blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_leaves_nothing_behind() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    for blocks in [4, 40] {
        let mut args = vec![
            "-c".to_string(),
            format!("ulimit -f {blocks}; exec \"$0\" \"$@\""),
            harness::binary().display().to_string(),
        ];
        args.extend(harness::plugin_args(&env, &LOCAL_DISABLED));
        harness::run_in("sh", args, &[], Some(dir.path()))
            .await
            .failure(1)
            .one_line_error()
            .stderr_has("file size limit was reached");
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }
}

/// The files a process has open under `dir` (from /proc/PID/fd).
fn open_files_in(pid: u32, dir: &Path) -> Vec<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with(&*dir.to_string_lossy()))
        .collect()
}

/// Ctrl-C while the kinds are being written removes the temporary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_mid_write_leaves_nothing_behind() {
    let mut options = Options::default();
    options.seed.volumes = 1000;
    options.seed.backed_up_every = 0;
    let env = harness::longhorn_with(options).await;
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(harness::binary())
        .args(harness::plugin_args(&env, &LOCAL_DISABLED))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while it writes: the output's temporary file exists and kinds are being
    // compressed into their (unlinked) spool files in the same directory.
    let started = Instant::now();
    loop {
        let temporary = files_in(dir.path())
            .iter()
            .any(|f| f.starts_with(".b.zip."));
        let spools = open_files_in(child.id(), dir.path())
            .iter()
            .filter(|f| f.ends_with("(deleted)"))
            .count();
        if temporary && spools >= 3 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the plugin never got to writing"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.code(),
        Some(130),
        "interrupted, not finished ({:?}, signal {:?}): {}",
        output.status,
        output.status.signal(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// RBAC refusing one kind names that kind and its scope; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_kind_is_named() {
    // A plane of its own: the grant goes to the plane-wide "limited" user.
    let env = dedicated(Options::default()).await;
    let user = longhorn_ground::plane::LIMITED;
    env.grant_cluster(user, json!([
        {"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["serviceaccounts", "configmaps", "services", "persistentvolumeclaims", "namespaces"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list"]}
    ]))
    .await
    .unwrap();
    let kubeconfig = env.kubeconfig_for(user).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = local_args(&kubeconfig, env.namespace(), &[]);
    harness::run_in(harness::binary(), args, &[], Some(dir.path()))
        .await
        .failure(1)
        .one_line_error()
        .stderr_has(
            "you may not list persistentvolumes (cluster-wide): persistentvolumes is forbidden",
        );
    assert!(files_in(dir.path()).is_empty());
}

/// Without Longhorn there is nothing to back up: say so, write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_without_longhorn() {
    let plane = longhorn_ground::ControlPlane::start().await.expect("plane");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--kubeconfig",
        &plane.kubeconfig_path().display().to_string(),
        "create",
        "b",
        "--local",
        "--volume-backup-policy",
        "disabled",
    ]
    .map(String::from)
    .to_vec();
    harness::run_in(harness::binary(), args, &[], Some(dir.path()))
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("Longhorn is not installed");
    assert!(files_in(dir.path()).is_empty());
}

// ---------------------------------------------------------------- volume backups

/// The `system-backup-…` objects of a Longhorn kind.
async fn created(env: &Longhorn, kind: &str) -> Vec<Value> {
    list(env, "longhorn.io/v1beta2", kind, Some(env.namespace()))
        .await
        .into_iter()
        .filter(|o| {
            o["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .starts_with("system-backup-")
        })
        .collect()
}

fn field(objects: &[Value], pointer: &str) -> Vec<String> {
    sorted(
        objects
            .iter()
            .map(|o| {
                o.pointer(pointer)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string()
            })
            .collect(),
    )
}

/// if-not-present (v1.8+): a `system-backup-<16 hex>` snapshot for every volume, then
/// a backup for each volume whose last backup is missing or has newer data; the
/// bundle, listed afterwards, records the new backups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn if_not_present_backs_up_what_is_not_up_to_date() {
    let env = harness::longhorn().await;
    // New snapshots hold no data, so the seeded backups (volumes 0 and 2) stay current.
    env.knobs().set_snapshot_size(0);
    let dir = tempfile::tempdir().unwrap();
    let run = local(&env, dir.path(), "b", "if-not-present", &["-o", "json"]).await;
    run.success();
    let summary: Value = serde_json::from_str(&run.stdout).unwrap();
    let volumes = &env.seeded().volume_names;

    let snapshots = created(&env, "Snapshot").await;
    assert_eq!(
        field(&snapshots, "/spec/volume"),
        sorted(volumes.clone()),
        "a snapshot first for every volume"
    );
    for snapshot in &snapshots {
        let name = snapshot["metadata"]["name"].as_str().unwrap();
        let hex = name.strip_prefix("system-backup-").unwrap();
        assert!(
            hex.len() == 16
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{name}"
        );
        assert_eq!(snapshot["spec"]["createSnapshot"], true);
    }
    let backups = created(&env, "Backup").await;
    assert_eq!(
        backups.len(),
        1,
        "only volume 1 needs a backup: {backups:?}"
    );
    let backup = &backups[0];
    let name = backup["metadata"]["name"].as_str().unwrap();
    assert_eq!(
        backup["metadata"]["labels"]["backup-volume"],
        volumes[1].as_str()
    );
    assert_eq!(backup["metadata"]["labels"]["backup-target"], "default");
    assert_eq!(
        backup["spec"]["snapshotName"], name,
        "named after its snapshot"
    );
    assert_eq!(
        summary["volumeBackups"]["backups"],
        json!([[volumes[1], name]])
    );
    assert_eq!(
        summary["volumeBackups"]["upToDate"],
        json!(sorted(vec![volumes[0].clone(), volumes[2].clone()]))
    );
    assert_eq!(summary["volumeBackups"]["snapshots"], 3);

    let bundle = Bundle::read(&dir.path().join("b.zip"));
    let bundled = bundle.items("b/yamls/longhorn/volumes.yaml");
    let last = |volume: &str| {
        bundled
            .iter()
            .find(|v| v["metadata"]["name"] == volume)
            .unwrap()["status"]["lastBackup"]
            .clone()
    };
    assert_eq!(last(&volumes[1]), name, "the fresh backup is in the bundle");
    assert_eq!(summary["volumesWithoutBackup"], json!([]));
}

/// A new snapshot with data makes a last backup outdated; `always` backs up every
/// volume.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_data_and_always_back_up_every_volume() {
    let env = harness::longhorn().await;
    env.knobs().set_snapshot_size(4096);
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "if-not-present", &[])
        .await
        .success();
    let volumes = sorted(env.seeded().volume_names.clone());
    assert_eq!(
        field(
            &created(&env, "Backup").await,
            "/metadata/labels/backup-volume"
        ),
        volumes
    );
    local(&env, dir.path(), "c", "always", &[]).await.success();
    assert_eq!(created(&env, "Backup").await.len(), 6, "three more");
}

/// A Backup in Error fails the command with Longhorn's message; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_volume_backup_fails_clearly() {
    let env = harness::longhorn().await;
    env.knobs()
        .fail_volume_backups(Some("backup target unreachable"));
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "always", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("failed creating Volume backup system-backup-")
        .stderr_has(": backup target unreachable");
    assert!(files_in(dir.path()).is_empty());
}

/// Volume backups that do not finish in --timeout fail the command; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn volume_backups_time_out() {
    let env = harness::longhorn().await;
    env.knobs().set_step_delay(Duration::from_secs(120));
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    local(
        &env,
        dir.path(),
        "b",
        "if-not-present",
        &["--timeout", "3s"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("timed out waiting for the condition on volume snapshots to be ready");
    assert!(started.elapsed() < Duration::from_secs(60));
    assert!(files_in(dir.path()).is_empty());
}

/// With longhorn-manager down, `disabled` still builds the bundle (nothing goes
/// through Longhorn's webhooks), while a policy that needs Longhorn fails clearly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longhorn_manager_down() {
    let mut env = harness::longhorn().await;
    env.stop_simulator();
    let dir = tempfile::tempdir().unwrap();
    local(&env, dir.path(), "b", "disabled", &[])
        .await
        .success();
    assert_eq!(
        Bundle::read(&dir.path().join("b.zip"))
            .item_names("b/yamls/longhorn/volumes.yaml")
            .len(),
        3
    );
    local(&env, dir.path(), "c", "if-not-present", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("failed to create Volume")
        .stderr_has("failed calling webhook");
    assert_eq!(files_in(dir.path()), ["b.zip"]);
}
