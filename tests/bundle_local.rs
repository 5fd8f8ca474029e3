//! `create NAME --local` and `inspect` end to end, on a real kube-apiserver with
//! Longhorn's CRDs of the selected version (LONGHORN_VERSION, default the newest).

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::{Value, json};
use support::{Bundle, Cluster, NAMESPACE, fails, fixture, stderr, succeeds};

/// The bundle holds exactly what longhorn-manager selects, laid out as it lays it out,
/// with items as the API server holds them (status kept, Services without cluster IPs),
/// and YAML that Kubernetes' own decoder reads back to the same JSON.
#[tokio::test]
async fn local_bundle_selects_and_lays_out_like_longhorn() {
    let cluster = Cluster::start().await;
    cluster.apply(&[fixture::foreign_crd()]).await;
    cluster.apply(&fixture::install(&cluster.version)).await;

    let out = succeeds(cluster.plugin().args([
        "create",
        "nightly",
        "--local",
        "--volume-backup-policy",
        "disabled",
    ]));
    assert_eq!(
        cluster.files(),
        ["nightly.zip"],
        "only the bundle, no temporary file"
    );
    let path = cluster.dir.path().join("nightly.zip");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "cluster data is private");

    let bundle = Bundle::read(&path);
    let expected = fixture::expected(&cluster.crds);
    // Entries: the single top-level folder, directory entries as `zip -r` writes them,
    // metadata.yaml, then Longhorn's files in its order.
    let mut names = vec![
        "nightly/".to_string(),
        "nightly/metadata.yaml".to_string(),
        "nightly/yamls/".to_string(),
    ];
    let mut folder = "";
    for (file, _) in &expected {
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

    // Each file: one typed List of the kind Longhorn writes there, with exactly the
    // objects longhorn-manager selects.
    let api_versions: std::collections::BTreeMap<&str, (&str, &str)> = [
        (
            "customresourcedefinitions",
            ("apiextensions.k8s.io/v1", "CustomResourceDefinitionList"),
        ),
        ("serviceaccounts", ("v1", "ServiceAccountList")),
        (
            "clusterroles",
            ("rbac.authorization.k8s.io/v1", "ClusterRoleBindingList"),
        ),
        (
            "clusterrolebindings",
            ("rbac.authorization.k8s.io/v1", "ClusterRoleList"),
        ),
        ("roles", ("rbac.authorization.k8s.io/v1", "RoleList")),
        (
            "rolebindings",
            ("rbac.authorization.k8s.io/v1", "RoleBindingList"),
        ),
        ("daemonsets", ("apps/v1", "DaemonSetList")),
        ("deployments", ("apps/v1", "DeploymentList")),
        ("configmaps", ("v1", "ConfigMapList")),
        ("services", ("v1", "ServiceList")),
        ("storageclasses", ("storage.k8s.io/v1", "StorageClassList")),
        ("persistentvolumes", ("v1", "PersistentVolumeList")),
        (
            "persistentvolumeclaims",
            ("v1", "PersistentVolumeClaimList"),
        ),
        ("setting", ("longhorn.io/v1beta2", "SettingList")),
        ("engineimages", ("longhorn.io/v1beta2", "EngineImageList")),
        ("volumes", ("longhorn.io/v1beta2", "VolumeList")),
        ("recurringjobs", ("longhorn.io/v1beta2", "RecurringJobList")),
        ("backingimages", ("longhorn.io/v1beta2", "BackingImageList")),
        ("backuptargets", ("longhorn.io/v1beta2", "BackupTargetList")),
    ]
    .into();
    for (file, objects) in &expected {
        let path = format!("nightly/{file}");
        let list = bundle.file(&path);
        let stem = file.rsplit_once('/').unwrap().1.trim_end_matches(".yaml");
        let (api_version, kind) = api_versions[stem];
        assert_eq!(list["apiVersion"], api_version, "{path}");
        assert_eq!(list["kind"], kind, "{path}");
        assert!(
            list["metadata"]["resourceVersion"]
                .as_str()
                .is_some_and(|rv| !rv.is_empty()),
            "{path}: the LIST's resourceVersion is kept"
        );
        assert_eq!(&bundle.item_names(&path), objects, "{path}");
    }
    let text = serde_json::to_string(&bundle.files).unwrap();
    assert!(!text.contains("not-in-the-bundle"), "no Secret content");
    for absent in [
        "longhorn-manager-abcde",
        "node-1",
        "snap-a",
        "widgets.example.com",
    ] {
        assert!(
            !text.contains(&format!("\"name\":\"{absent}\"")),
            "{absent} must not be in the bundle"
        );
    }

    // Items as the API server holds them: status kept; only Services are changed.
    let volumes = &bundle.file("nightly/yamls/longhorn/volumes.yaml")["items"];
    let volume_a = volumes
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["metadata"]["name"] == "pvc-a")
        .unwrap();
    assert_eq!(volume_a["status"]["lastBackup"], "backup-a");
    assert_eq!(
        volume_a["kind"], "Volume",
        "items of CR lists carry their kind, as the API server sends them"
    );
    let backing = &bundle.file("nightly/yamls/longhorn/backingimages.yaml")["items"][0];
    assert_eq!(backing["status"]["checksum"], "f".repeat(128));
    for service in bundle.file("nightly/yamls/kubernetes/services.yaml")["items"]
        .as_array()
        .unwrap()
    {
        assert!(service["spec"].get("clusterIP").is_none(), "{service}");
        assert!(service["spec"].get("clusterIPs").is_none(), "{service}");
        assert!(service["spec"]["ports"].is_array());
    }
    let live_pvs = cluster.list("v1", "PersistentVolume", None).await;
    let live = live_pvs
        .iter()
        .find(|p| p["metadata"]["name"] == "pvc-a")
        .unwrap();
    let bundled = bundle.file("nightly/yamls/kubernetes/persistentvolumes.yaml")["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["metadata"]["name"] == "pvc-a")
        .unwrap();
    let mut live = live.clone();
    // kube's DynamicObject adds the item's type fields; the built-in list items have none.
    live.as_object_mut().unwrap().remove("apiVersion");
    live.as_object_mut().unwrap().remove("kind");
    assert_eq!(
        bundled, &live,
        "an unchanged item is the API's object, field for field"
    );

    // metadata.yaml: yaml.v2's lower-case keys in Longhorn's struct order.
    let metadata = bundle.file("nightly/metadata.yaml");
    assert_eq!(metadata["longhornversion"], cluster.version.as_str());
    assert_eq!(
        metadata["kubernetesversion"],
        cluster.plane.kubernetes_version.as_str()
    );
    assert_eq!(metadata["managerimage"], "longhornio/longhorn-manager:test");
    assert_eq!(metadata["systembackupcreatedat"], "0001-01-01T00:00:00Z");
    let namespace = cluster.list("v1", "Namespace", None).await;
    let uid = namespace
        .iter()
        .find(|n| n["metadata"]["name"] == NAMESPACE)
        .unwrap()["metadata"]["uid"]
        .clone();
    assert_eq!(metadata["longhornnamespaceuuid"], uid);

    // Kubernetes' decoder (go-yaml v2, YAML 1.1) reads the same values the API holds.
    let decoded = support::decode_like_restore(&path);
    for (name, value) in &bundle.files {
        assert_eq!(
            &decoded[name], value,
            "{name}: YAML 1.1 and 1.2 readings differ"
        );
    }
    let configmaps = &decoded["nightly/yamls/kubernetes/configmaps.yaml"]["items"];
    let tricky = configmaps
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metadata"]["name"] == "tricky")
        .unwrap();
    assert_eq!(tricky["data"], fixture::tricky_data());

    // Longhorn's own restore code (this version's types and schemes) reads every file,
    // finds every kind, and sees the fields it restores from.
    let report =
        longhorn_ground::oracles::bundle_report(&cluster.version, &path, "nightly").unwrap();
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
    assert_eq!(kinds.len(), expected.len(), "{:?}", kinds.keys());
    for (file, objects) in &expected {
        let stem = file.rsplit_once('/').unwrap().1.trim_end_matches(".yaml");
        let kind = &kinds[api_versions[stem].1];
        assert_eq!(
            kind["file"].as_str().map(|f| file.ends_with(f)),
            Some(true),
            "{kind}"
        );
        let mut items: Vec<String> = serde_json::from_value(kind["items"].clone()).unwrap();
        items.sort();
        assert_eq!(&items, objects, "{file}");
        assert_eq!(kind["count"], objects.len(), "{file}");
    }
    let restored_volumes = &kinds["VolumeList"]["volumes"];
    let by_name = |list: &Value, name: &str| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == name)
            .cloned()
            .unwrap()
    };
    assert_eq!(by_name(restored_volumes, "pvc-a")["lastBackup"], "backup-a");
    assert_eq!(by_name(restored_volumes, "dr-c")["isStandby"], true);
    assert_eq!(
        by_name(&kinds["BackingImageList"]["backingImages"], "bi-1")["checksum"],
        "f".repeat(128)
    );
    assert_eq!(
        by_name(&kinds["PersistentVolumeList"]["persistentVolumes"], "pvc-a")["volumeHandle"],
        "pvc-a"
    );
    assert_eq!(
        by_name(
            &kinds["PersistentVolumeClaimList"]["persistentVolumeClaims"],
            "data-a"
        )["volumeName"],
        "pvc-a"
    );
    assert_eq!(
        by_name(
            &kinds["SettingList"]["settings"],
            "current-longhorn-version"
        )["value"],
        cluster.version.as_str()
    );

    // The summary: the counts, the size and SHA-256 of the file written.
    let (bytes, sha) = digest(&path);
    assert!(out.contains(&sha), "{out}");
    assert!(out.contains(&format!("{bytes} bytes")), "{out}");
    assert!(out.contains("yamls/longhorn/volumes.yaml"), "{out}");
    let warnings = stderr(&support::run(cluster.plugin().args([
        "create",
        "again",
        "--local",
        "--volume-backup-policy",
        "disabled",
        "-o",
        "json",
    ])));
    assert!(
        warnings.contains("warning: 1 volume has no backup and will be restored empty: vol-b"),
        "{warnings}"
    );
}

fn digest(path: &std::path::Path) -> (u64, String) {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap();
    (
        bytes.len() as u64,
        hex::encode(sha2::Sha256::digest(&bytes)),
    )
}

/// `-o json` is the same summary, machine-readably; `inspect` reads the bundle back.
#[tokio::test]
async fn json_summary_and_inspect_agree() {
    let cluster = Cluster::start().await;
    cluster.apply(&fixture::install(&cluster.version)).await;
    std::fs::create_dir(cluster.dir.path().join("out")).unwrap();
    let out = succeeds(cluster.plugin().args([
        "create",
        "nightly",
        "--local",
        "--volume-backup-policy",
        "disabled",
        "-o",
        "json",
        "-o",
        "out/b.zip",
    ]));
    let summary: Value = serde_json::from_str(&out).expect("-o json is JSON");
    let path = cluster.dir.path().join("out/b.zip");
    let (bytes, sha) = digest(&path);
    assert_eq!(summary["sha256"], sha);
    assert_eq!(summary["bytes"], bytes);
    assert_eq!(summary["name"], "nightly");
    assert_eq!(summary["longhornVersion"], cluster.version.as_str());
    assert_eq!(summary["volumesWithoutBackup"], json!(["vol-b"]));
    let counts: std::collections::BTreeMap<String, u64> = summary["files"]
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
    for (file, names) in fixture::expected(&cluster.crds) {
        assert_eq!(counts[file], names.len() as u64, "{file}");
    }

    // inspect: the folder is not named like the file (b.zip): restore of "b" restores nothing.
    let mut inspect = cluster.plugin();
    inspect.args(["inspect", "out/b.zip", "-o", "json"]);
    let output = support::run(&mut inspect);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["name"], "nightly");
    assert!(
        report["findings"].to_string().contains("restores nothing"),
        "{report}"
    );

    // Renamed to its name, it is clean but for the volume without a backup.
    std::fs::rename(&path, cluster.dir.path().join("nightly.zip")).unwrap();
    let report: Value = serde_json::from_str(&succeeds(cluster.plugin().args([
        "inspect",
        "nightly.zip",
        "-o",
        "json",
    ])))
    .unwrap();
    assert_eq!(report["sha256"], sha);
    assert_eq!(report["longhornVersion"], cluster.version.as_str());
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert!(
        findings[0]["message"].as_str().unwrap().contains("vol-b"),
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
    let a = volumes.iter().find(|v| v["name"] == "pvc-a").unwrap();
    assert_eq!(a["lastBackup"], "backup-a");
    let text = succeeds(cluster.plugin().args(["inspect", "nightly.zip"]));
    assert!(text.contains("pvc-a   backup-a"), "{text}");
}

/// Every refusal happens before anything is written, and leaves nothing behind.
#[tokio::test]
async fn bad_input_leaves_nothing_behind() {
    let cluster = Cluster::start().await;
    cluster.apply(&fixture::install(&cluster.version)).await;
    let local = ["--local", "--volume-backup-policy", "disabled"];

    let err = fails(cluster.plugin().args(["create", "Bad_Name"]).args(local));
    assert!(
        err.contains("invalid SystemBackup name \"Bad_Name\""),
        "{err}"
    );

    let err = fails(
        cluster
            .plugin()
            .args(["create", "b", "-o", "missing/b.zip"])
            .args(local),
    );
    assert!(
        err.contains("missing") && err.contains("does not exist"),
        "{err}"
    );

    std::fs::write(cluster.dir.path().join("b.zip"), b"precious").unwrap();
    let err = fails(cluster.plugin().args(["create", "b"]).args(local));
    assert!(err.contains("b.zip: already exists; pass --force"), "{err}");
    assert_eq!(
        std::fs::read(cluster.dir.path().join("b.zip")).unwrap(),
        b"precious"
    );
    assert_eq!(cluster.files(), ["b.zip"]);
    succeeds(
        cluster
            .plugin()
            .args(["create", "b", "--force"])
            .args(local),
    );
    assert_eq!(
        Bundle::read(&cluster.dir.path().join("b.zip")).names[0],
        "b/"
    );
    assert_eq!(cluster.files(), ["b.zip"]);

    // A read-only directory. Root writes anywhere, so then the plugin runs as nobody.
    let readonly = cluster.dir.path().join("readonly");
    std::fs::create_dir(&readonly).unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
    let kubeconfig = cluster.dir.path().join("kubeconfig");
    std::fs::copy(cluster.kubeconfig(), &kubeconfig).unwrap();
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(cluster.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut command = as_unprivileged_user(cluster.plugin_with(&kubeconfig));
    command
        .args(["create", "b", "-o"])
        .arg(&readonly)
        .args(local);
    let err = fails(&mut command);
    assert!(
        err.contains("readonly") && err.contains("permission denied"),
        "{err}"
    );
    assert!(support::files_in(&readonly).is_empty());
}

/// Root ignores directory permissions: run the plugin as `nobody` then (setpriv, from
/// util-linux); as any other user, run it as is.
fn as_unprivileged_user(command: std::process::Command) -> std::process::Command {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return command;
    }
    let mut wrapped = std::process::Command::new("setpriv");
    wrapped.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]);
    wrapped.arg(command.get_program()).args(command.get_args());
    if let Some(dir) = command.get_current_dir() {
        wrapped.current_dir(dir);
    }
    for (key, value) in command.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    wrapped
}

/// A full disk (here: a file size limit, `ulimit -f`) fails the write cleanly.
#[tokio::test]
async fn disk_full_leaves_nothing_behind() {
    let cluster = Cluster::start().await;
    cluster.apply(&fixture::install(&cluster.version)).await;
    for blocks in [4, 40] {
        let plugin = cluster.plugin();
        let mut command = std::process::Command::new("sh");
        command
            .arg("-c")
            .arg(format!("ulimit -f {blocks}; exec \"$0\" \"$@\""))
            .arg(plugin.get_program())
            .args(plugin.get_args())
            .args([
                "create",
                "b",
                "--local",
                "--volume-backup-policy",
                "disabled",
            ])
            .current_dir(cluster.dir.path());
        let err = fails(&mut command);
        assert!(err.contains("file size limit was reached"), "{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(cluster.files().is_empty(), "{:?}", cluster.files());
    }
}

/// Ctrl-C in the middle of writing removes the temporary file.
#[tokio::test]
async fn interrupted_mid_write_leaves_nothing_behind() {
    let cluster = Cluster::start().await;
    let mut objects = fixture::install(&cluster.version);
    // Enough volumes that the listing takes a while.
    objects.extend((0..1500).map(|i| {
        json!({"apiVersion": "longhorn.io/v1beta2", "kind": "Volume",
               "metadata": {"name": format!("bulk-{i:05}"), "namespace": NAMESPACE,
                            "labels": {"filler": "x".repeat(60)}, "annotations": {"filler": "y".repeat(2000)}},
               "spec": {"numberOfReplicas": 3, "size": "1073741824", "frontend": "blockdev"}})
    }));
    apply_concurrently(&cluster, objects).await;

    let child = cluster
        .plugin()
        .args([
            "create",
            "b",
            "--local",
            "--volume-backup-policy",
            "disabled",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while it writes: the output's temporary file exists and kinds are
    // being compressed into their (unlinked) spool files in the same directory.
    let started = std::time::Instant::now();
    loop {
        let temporary = cluster.files().iter().any(|f| f.starts_with(".b.zip."));
        let spools = open_files_in(child.id(), cluster.dir.path())
            .iter()
            .filter(|f| f.ends_with("(deleted)"))
            .count();
        if temporary && spools >= 3 {
            break;
        }
        assert!(
            started.elapsed().as_secs() < 60,
            "the plugin never got to writing"
        );
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    // SAFETY: signalling the child this test started.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.code(),
        Some(130),
        "interrupted, not finished ({:?}, signal {:?}): {}",
        output.status,
        output.status.signal(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(cluster.files().is_empty(), "{:?}", cluster.files());
}

/// The files a process has open under `dir` (from /proc/PID/fd).
fn open_files_in(pid: u32, dir: &std::path::Path) -> Vec<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with(&*dir.to_string_lossy()))
        .collect()
}

async fn apply_concurrently(cluster: &Cluster, objects: Vec<Value>) {
    use futures::StreamExt;
    // Namespaces and CRD-backed kinds in order first, then the bulk in parallel.
    let (first, bulk): (Vec<Value>, Vec<Value>) = objects.into_iter().partition(|o| {
        !o["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .starts_with("bulk-")
    });
    cluster.apply(&first).await;
    futures::stream::iter(bulk)
        .for_each_concurrent(16, |object| async move { cluster.apply(&[object]).await })
        .await;
}

/// RBAC refusing one kind names that kind (and its scope); nothing is written.
#[tokio::test]
async fn forbidden_kind_is_named() {
    let cluster = Cluster::start().await;
    cluster.apply(&fixture::install(&cluster.version)).await;
    let everything_but_pvs = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": "bundle-reader"},
        "rules": [
            {"apiGroups": [""], "resources": ["serviceaccounts", "configmaps", "services", "persistentvolumeclaims", "namespaces"], "verbs": ["get", "list"]},
            {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"], "verbs": ["get", "list"]},
            {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
            {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list"]},
            {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list"]},
            {"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["get", "list"]}
        ]
    });
    let binding = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": "bundle-reader"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "bundle-reader"},
        "subjects": [{"kind": "User", "name": longhorn_ground::plane::LIMITED, "apiGroup": "rbac.authorization.k8s.io"}]
    });
    cluster.apply(&[everything_but_pvs, binding]).await;
    let kubeconfig = cluster.dir.path().join("limited.kubeconfig");
    cluster
        .plane
        .write_kubeconfig(&kubeconfig, longhorn_ground::plane::LIMITED)
        .unwrap();
    let err = fails(cluster.plugin_with(&kubeconfig).args([
        "create",
        "b",
        "--local",
        "--volume-backup-policy",
        "disabled",
    ]));
    assert!(
        err.contains(
            "you may not list persistentvolumes (cluster-wide): persistentvolumes is forbidden"
        ),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert_eq!(cluster.files(), ["limited.kubeconfig"]);
}

/// Without Longhorn there is nothing to back up: say so, write nothing.
#[tokio::test]
async fn longhorn_not_installed() {
    let cluster = Cluster::start_with(false).await;
    let err = fails(cluster.plugin().args([
        "create",
        "b",
        "--local",
        "--volume-backup-policy",
        "disabled",
    ]));
    assert!(err.contains("Longhorn is not installed"), "{err}");
    assert!(cluster.files().is_empty(), "{:?}", cluster.files());
}
