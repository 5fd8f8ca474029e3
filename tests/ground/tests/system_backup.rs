//! SystemBackups run by longhorn-manager's own controller (the simulator plays the
//! engines), end to end against a real kube-apiserver.

use std::io::Read;
use std::time::Duration;

use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use longhorn_ground::objects::system_backup;
use longhorn_ground::{Ground, Kind, Longhorn};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn ground() -> Longhorn {
    Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap()
}

fn reasons(events: &[k8s_openapi::api::core::v1::Event]) -> Vec<(String, String, String)> {
    events
        .iter()
        .map(|e| {
            (
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_system_backup_reaches_ready_with_longhorn_status_and_events() {
    let longhorn = ground().await;
    let version = longhorn.version().to_string();
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());

    let created = api
        .create(&PostParams::default(), &system_backup("nightly", None))
        .await
        .unwrap();
    assert_eq!(
        created.metadata.finalizers,
        Some(vec!["longhorn.io".to_string()])
    );
    assert_eq!(created.data["spec"]["volumeBackupPolicy"], "if-not-present");
    let owner = &created.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("BackupTarget", "default")
    );

    let ready = longhorn
        .wait_for_system_backup("nightly", &["Ready", "Error"], WAIT)
        .await
        .unwrap();
    let status = &ready.data["status"];
    assert_eq!(status["state"], "Ready", "{status}");
    assert_eq!(status["version"], version.as_str());
    assert_eq!(status["ownerID"], "ground-node-1");
    assert_eq!(
        status["managerImage"],
        format!("longhornio/longhorn-manager:{version}")
    );
    assert_eq!(status["gitCommit"].as_str().unwrap().len(), 40);
    assert!(status["createdAt"].as_str().unwrap().ends_with('Z'));
    assert!(status["lastSyncedAt"].is_string());
    assert_eq!(status["conditions"], Value::Null);

    let events = longhorn
        .events_for(Kind::SystemBackup, "nightly")
        .await
        .unwrap();
    let starting = (
        "Normal".to_string(),
        "Start".to_string(),
        "Starting system backup".to_string(),
    );
    // Longhorn records Start three times (CreatingVolumeBackups, CreatingBackingImageBackups,
    // Generating); client-go's recorder folds the repeats into one Event counted 3.
    let expected = vec![
        starting,
        (
            "Normal".into(),
            "Generate".into(),
            "Created system backup file: /tmp/nightly.zip".into(),
        ),
        (
            "Normal".into(),
            "Upload".into(),
            "Uploaded system backup to backup target".into(),
        ),
    ];
    assert_eq!(reasons(&events), expected);
    assert_eq!(events[0].count, Some(3));
    let event = &events[0];
    assert_eq!(
        event.source.as_ref().unwrap().component.as_deref(),
        Some("longhorn-system-backup-controller")
    );
    assert_eq!(event.involved_object.uid, created.metadata.uid);
    assert_eq!(event.involved_object.kind.as_deref(), Some("SystemBackup"));

    let remote = longhorn
        .store_path()
        .join(format!("backupstore/system-backups/{version}/nightly"));
    let zip = std::fs::read(remote.join("system-backup.zip")).unwrap();
    let cfg: Value =
        serde_json::from_slice(&std::fs::read(remote.join("system-backup.cfg")).unwrap()).unwrap();
    assert_eq!(cfg["Name"], "nightly");
    assert_eq!(cfg["LonghornVersion"], version.as_str());
    assert_eq!(cfg["BackupTargetURL"], longhorn.backup_target_url());
    assert_eq!(
        cfg["EngineImage"],
        format!("longhornio/longhorn-engine:{version}")
    );
    use sha2::Digest;
    assert_eq!(cfg["Checksum"], hex::encode(sha2::Sha256::digest(&zip)));
}

#[tokio::test]
async fn a_failure_knob_ends_in_error_with_condition_and_warning() {
    let longhorn = ground().await;
    // zip fails while Longhorn generates the bundle.
    longhorn
        .knobs()
        .fail_at("Generating", "zip I/O error: No space left on device");
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("broken", Some("disabled")),
    )
    .await
    .unwrap();

    let failed = longhorn
        .wait_for_system_backup("broken", &["Ready", "Error"], WAIT)
        .await
        .unwrap();
    let status = &failed.data["status"];
    assert_eq!(status["state"], "Error");
    let condition = &status["conditions"][0];
    assert_eq!(condition["type"], "Error");
    assert_eq!(condition["status"], "True");
    assert_eq!(condition["reason"], "Generate");
    assert_eq!(
        condition["message"],
        "failed to archive system backup file: exit status 1"
    );
    assert_eq!(condition["lastProbeTime"], "");
    assert!(
        condition["lastTransitionTime"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert!(
        status.get("createdAt").is_none_or(Value::is_null),
        "{status}"
    );

    let events = longhorn
        .events_for(Kind::SystemBackup, "broken")
        .await
        .unwrap();
    let last = reasons(&events).pop().unwrap();
    assert_eq!(
        last,
        (
            "Warning".into(),
            "Failed".into(),
            "Failed to archive system backup file: exit status 1".into()
        )
    );
    assert!(
        !longhorn
            .store_path()
            .join(format!(
                "backupstore/system-backups/{}/broken",
                longhorn.version()
            ))
            .exists()
    );
}

#[tokio::test]
async fn deleting_removes_the_finalizer_and_the_remote_copy() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("doomed", Some("disabled")),
    )
    .await
    .unwrap();
    longhorn
        .wait_for_system_backup("doomed", &["Ready"], WAIT)
        .await
        .unwrap();
    let remote = longhorn.store_path().join(format!(
        "backupstore/system-backups/{}/doomed",
        longhorn.version()
    ));
    assert!(remote.join("system-backup.cfg").is_file());

    api.delete("doomed", &DeleteParams::default())
        .await
        .unwrap();
    longhorn
        .wait_for_deletion(Kind::SystemBackup, "doomed", WAIT)
        .await
        .unwrap();
    assert!(!remote.exists(), "{} should be gone", remote.display());
    let events = longhorn
        .events_for(Kind::SystemBackup, "doomed")
        .await
        .unwrap();
    let deleting = (
        "Normal".into(),
        "Deleting".into(),
        "Deleting system backup in backup target".into(),
    );
    assert!(reasons(&events).contains(&deleting));
}

#[tokio::test]
async fn the_bundle_has_longhorns_layout() {
    // PVs and StorageClasses are cluster-scoped: only a plane of its own holds exactly
    // this install's ones.
    let longhorn = Ground::dedicated(&Ground::default_version().unwrap())
        .await
        .unwrap();
    let version = longhorn.version().to_string();
    let client = longhorn.client().await.unwrap();
    Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_backup("layout", Some("disabled")),
        )
        .await
        .unwrap();
    longhorn
        .wait_for_system_backup("layout", &["Ready"], WAIT)
        .await
        .unwrap();
    let zip = std::fs::read(longhorn.store_path().join(format!(
        "backupstore/system-backups/{version}/layout/system-backup.zip"
    )))
    .unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().to_string())
        .collect();
    assert!(names.iter().all(|n| n.starts_with("layout/")), "{names:?}");
    for file in [
        "metadata.yaml",
        "yamls/apiextensions/customresourcedefinitions.yaml",
        "yamls/kubernetes/serviceaccounts.yaml",
        "yamls/kubernetes/clusterroles.yaml",
        "yamls/kubernetes/clusterrolebindings.yaml",
        "yamls/kubernetes/roles.yaml",
        "yamls/kubernetes/rolebindings.yaml",
        "yamls/kubernetes/daemonsets.yaml",
        "yamls/kubernetes/deployments.yaml",
        "yamls/kubernetes/configmaps.yaml",
        "yamls/kubernetes/services.yaml",
        "yamls/kubernetes/storageclasses.yaml",
        "yamls/kubernetes/persistentvolumes.yaml",
        "yamls/kubernetes/persistentvolumeclaims.yaml",
        "yamls/longhorn/setting.yaml",
        "yamls/longhorn/engineimages.yaml",
        "yamls/longhorn/volumes.yaml",
        "yamls/longhorn/recurringjobs.yaml",
        "yamls/longhorn/backingimages.yaml",
        "yamls/longhorn/backuptargets.yaml",
    ] {
        assert!(
            names.contains(&format!("layout/{file}")),
            "missing {file} in {names:?}"
        );
    }
    let mut read = |file: &str| {
        let mut text = String::new();
        archive
            .by_name(&format!("layout/{file}"))
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        text
    };
    let metadata = read("metadata.yaml");
    assert!(
        metadata.starts_with(&format!("longhornversion: {version}\nlonghorngitcommit: ")),
        "{metadata}"
    );
    assert!(
        metadata.contains("systembackupcreatedat: \"0001-01-01T00:00:00Z\"\nmanagerimage: "),
        "{metadata}"
    );
    let list = |text: String| -> Value { serde_saphyr::from_str(&text).unwrap() };
    // Longhorn's swap: clusterroles.yaml holds the bindings.
    let bindings = list(read("yamls/kubernetes/clusterroles.yaml"));
    assert_eq!(bindings["kind"], "ClusterRoleBindingList");
    assert_eq!(
        bindings["items"].as_array().unwrap().len(),
        1,
        "only the Longhorn service account's binding"
    );
    assert_eq!(
        list(read("yamls/kubernetes/clusterrolebindings.yaml"))["kind"],
        "ClusterRoleList"
    );
    let services = list(read("yamls/kubernetes/services.yaml"));
    assert_eq!(services["apiVersion"], "v1");
    for service in services["items"].as_array().unwrap() {
        assert!(
            service["spec"].get("clusterIP").is_none()
                && service["spec"].get("clusterIPs").is_none()
        );
    }
    let volumes = longhorn.seeded().volume_names.len();
    assert_eq!(
        list(read("yamls/kubernetes/persistentvolumes.yaml"))["items"]
            .as_array()
            .unwrap()
            .len(),
        volumes
    );
    assert_eq!(
        list(read("yamls/kubernetes/persistentvolumeclaims.yaml"))["items"]
            .as_array()
            .unwrap()
            .len(),
        volumes
    );
    let settings = list(read("yamls/longhorn/setting.yaml"));
    assert_eq!(settings["kind"], "SettingList");
    assert_eq!(settings["apiVersion"], "longhorn.io/v1beta2");
    let current = settings["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["metadata"]["name"] == "current-longhorn-version");
    assert_eq!(current.unwrap()["value"], version.as_str());
    let crds = list(read("yamls/apiextensions/customresourcedefinitions.yaml"));
    assert!(
        crds["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["spec"]["group"] == "longhorn.io")
    );
}

#[tokio::test]
async fn a_remote_backup_without_a_custom_resource_is_synced_back() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("roundtrip", Some("disabled")),
    )
    .await
    .unwrap();
    let original = longhorn
        .wait_for_system_backup("roundtrip", &["Ready"], WAIT)
        .await
        .unwrap();

    // Remove the CR but keep the remote copy, as Longhorn does for vanished backups.
    let label =
        json!({"metadata": {"labels": {"longhorn.io/delete-custom-resource-only": "true"}}});
    api.patch("roundtrip", &PatchParams::default(), &Patch::Merge(label))
        .await
        .unwrap();
    api.delete("roundtrip", &DeleteParams::default())
        .await
        .unwrap();
    longhorn
        .wait_for_deletion(Kind::SystemBackup, "roundtrip", WAIT)
        .await
        .unwrap();
    assert!(
        longhorn
            .store_path()
            .join(format!(
                "backupstore/system-backups/{}/roundtrip",
                longhorn.version()
            ))
            .exists()
    );

    longhorn.request_backup_target_sync().await.unwrap();
    let synced = longhorn
        .wait_for_system_backup("roundtrip", &["Ready", "Error"], WAIT)
        .await
        .unwrap();
    assert_eq!(synced.data["status"]["state"], "Ready", "{}", synced.data);
    let labels = synced.metadata.labels.as_ref().unwrap();
    assert_eq!(
        labels.get("longhorn.io/version").map(String::as_str),
        Some(longhorn.version().as_str())
    );
    // The synced CR takes createdAt from the cfg, which backupstore wrote during the
    // upload; the original CR took the time the upload finished: a second or two apart.
    let time = |o: &kube::api::DynamicObject| {
        o.data["status"]["createdAt"]
            .as_str()
            .unwrap()
            .parse::<jiff::Timestamp>()
            .unwrap()
    };
    let apart = time(&original).duration_since(time(&synced)).abs();
    assert!(
        apart <= jiff::SignedDuration::from_secs(5),
        "createdAt {} vs {}",
        synced.data["status"]["createdAt"],
        original.data["status"]["createdAt"]
    );
    assert_eq!(
        synced.data["status"]["managerImage"],
        original.data["status"]["managerImage"]
    );
    let events = longhorn
        .events_for(Kind::SystemBackup, "roundtrip")
        .await
        .unwrap();
    let messages: Vec<String> = reasons(&events)
        .into_iter()
        .map(|(_, reason, _)| reason)
        .collect();
    assert!(
        messages.ends_with(&["Syncing".to_string(), "Synced".to_string()]),
        "{messages:?}"
    );
}
