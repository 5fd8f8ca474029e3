//! `--local` selects what longhorn-manager selects and lays it out as it does, and
//! Longhorn's restore code reads it (bundle-oracle).

use super::*;

/// Values YAML 1.1 (restore's go-yaml v2) would read as something else if unquoted.
fn tricky_data() -> Value {
    json!({
        "on": "yes", "y": "n", "off": "no", "0x1F": "012", "1_000": "1:20", "1e3": "2001-12-14",
        "null": "~", "true": "false", "multi": "line 1\nline 2\n  indented\n", "empty": "",
        "quote": "it's \"quoted\"", "colon": "a: b #c", "unicode": "héllo ☃", "long": "x ".repeat(70)
    })
}

/// Next to the seed's install: for every selection rule an object it keeps and
/// objects it drops (docs/longhorn-behaviour.md, "The bundle").
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
pub(super) const FILES: [(&str, &str, &str); 19] = [
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
