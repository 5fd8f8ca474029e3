//! The bundle oracle runs the decode loop of Longhorn's restore (the version chosen by
//! LONGHORN_VERSION) on hand-built bundles: what it restores, and what fails Unpack.

mod common;

use std::path::Path;

use common::{build_zip, version};
use longhorn_ground::oracles;

fn write_zip(dir: &Path, files: &[(&str, &str)]) -> std::path::PathBuf {
    let path = dir.join("bundle.zip");
    std::fs::write(&path, build_zip(files)).unwrap();
    path
}

const VOLUMES: &str = r#"apiVersion: longhorn.io/v1beta2
kind: VolumeList
items:
- apiVersion: longhorn.io/v1beta2
  kind: Volume
  metadata:
    name: pvc-aaa
    namespace: longhorn-system
  spec:
    size: "1073741824"
    numberOfReplicas: 3
  status:
    lastBackup: backup-1234
    isStandby: false
- apiVersion: longhorn.io/v1beta2
  kind: Volume
  metadata:
    name: pvc-standby
    namespace: longhorn-system
  spec:
    size: "1073741824"
  status:
    lastBackup: ""
    isStandby: true
metadata:
  resourceVersion: "42"
"#;

const SETTINGS: &str = r#"apiVersion: longhorn.io/v1beta2
kind: SettingList
items:
- apiVersion: longhorn.io/v1beta2
  kind: Setting
  metadata:
    name: backup-target
    namespace: longhorn-system
  value: s3://bucket@us-east-1/
"#;

const BACKING_IMAGES: &str = r#"apiVersion: longhorn.io/v1beta2
kind: BackingImageList
items:
- apiVersion: longhorn.io/v1beta2
  kind: BackingImage
  metadata:
    name: image-1
    namespace: longhorn-system
  spec: {}
  status:
    checksum: 0f1e2d
"#;

const PVS: &str = r#"apiVersion: v1
kind: PersistentVolumeList
items:
- metadata:
    name: pvc-aaa
  spec:
    capacity:
      storage: 1Gi
    accessModes: [ReadWriteOnce]
    csi:
      driver: driver.longhorn.io
      volumeHandle: pvc-aaa
"#;

const PVCS: &str = r#"apiVersion: v1
kind: PersistentVolumeClaimList
items:
- metadata:
    name: data
    namespace: apps
  spec:
    volumeName: pvc-aaa
    accessModes: [ReadWriteOnce]
    resources:
      requests:
        storage: 1Gi
"#;

// The swap quirk: clusterroles.yaml holds the ClusterRoleBindingList. Restore
// dispatches on the kind, so it does not care.
const CLUSTER_ROLE_BINDINGS: &str = r#"apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBindingList
items:
- metadata:
    name: longhorn-bind
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: longhorn-role
  subjects:
  - kind: ServiceAccount
    name: longhorn-service-account
    namespace: longhorn-system
"#;

const CRDS: &str = r#"apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinitionList
items:
- metadata:
    name: volumes.longhorn.io
  spec:
    group: longhorn.io
    names: {kind: Volume, plural: volumes}
    scope: Namespaced
    versions:
    - name: v1beta2
      served: true
      storage: true
"#;

fn bundle_files(name: &str) -> Vec<(String, &'static str)> {
    vec![
        (format!("{name}/metadata.yaml"), "longhornversion: v1.9.0\n"),
        (format!("{name}/yamls/longhorn/volumes.yaml"), VOLUMES),
        (format!("{name}/yamls/longhorn/setting.yaml"), SETTINGS),
        (
            format!("{name}/yamls/longhorn/backingimages.yaml"),
            BACKING_IMAGES,
        ),
        (
            format!("{name}/yamls/kubernetes/persistentvolumes.yaml"),
            PVS,
        ),
        (
            format!("{name}/yamls/kubernetes/persistentvolumeclaims.yaml"),
            PVCS,
        ),
        (
            format!("{name}/yamls/kubernetes/clusterroles.yaml"),
            CLUSTER_ROLE_BINDINGS,
        ),
        (
            format!("{name}/yamls/kubernetes/pods.yaml"),
            "apiVersion: v1\nkind: PodList\nitems: []\n",
        ),
        (
            format!("{name}/yamls/apiextensions/customresourcedefinitions.yaml"),
            CRDS,
        ),
    ]
}

fn as_refs<'a>(files: &'a [(String, &'static str)]) -> Vec<(&'a str, &'static str)> {
    files.iter().map(|(p, c)| (p.as_str(), *c)).collect()
}

#[test]
fn bundle_oracle_decodes_a_hand_built_bundle() {
    let version = version();
    let dir = tempfile::tempdir().unwrap();
    let files = bundle_files("sb-1");
    let zip = write_zip(dir.path(), &as_refs(&files));
    let report = oracles::bundle_report(&version, &zip, "sb-1").unwrap();

    assert_eq!(report["longhornVersion"], version.as_str());
    assert_eq!(report["topLevelFolderFound"], true);
    assert_eq!(report["restoresNothing"], false);
    assert_eq!(report["unpackError"], "");
    assert_eq!(report["decodeErrors"], serde_json::json!([]));
    let kinds = &report["kinds"];
    let mut names: Vec<&String> = kinds.as_object().unwrap().keys().collect();
    names.sort();
    assert_eq!(
        names,
        [
            "BackingImageList",
            "ClusterRoleBindingList",
            "CustomResourceDefinitionList",
            "PersistentVolumeClaimList",
            "PersistentVolumeList",
            "SettingList",
            "VolumeList"
        ]
    );
    assert_eq!(kinds["VolumeList"]["count"], 2);
    assert_eq!(
        kinds["VolumeList"]["items"],
        serde_json::json!(["longhorn-system/pvc-aaa", "longhorn-system/pvc-standby"])
    );
    assert_eq!(
        kinds["VolumeList"]["volumes"][0]["lastBackup"],
        "backup-1234"
    );
    assert_eq!(kinds["VolumeList"]["volumes"][1]["isStandby"], true);
    assert_eq!(
        kinds["BackingImageList"]["backingImages"][0]["checksum"],
        "0f1e2d"
    );
    assert_eq!(
        kinds["PersistentVolumeList"]["persistentVolumes"][0]["volumeHandle"],
        "pvc-aaa"
    );
    assert_eq!(
        kinds["PersistentVolumeClaimList"]["items"],
        serde_json::json!(["apps/data"])
    );
    assert_eq!(
        kinds["PersistentVolumeClaimList"]["persistentVolumeClaims"][0]["volumeName"],
        "pvc-aaa"
    );
    assert_eq!(
        kinds["SettingList"]["settings"][0]["value"],
        "s3://bucket@us-east-1/"
    );
    assert_eq!(
        kinds["ClusterRoleBindingList"]["file"],
        "kubernetes/clusterroles.yaml"
    );
    assert_eq!(
        kinds["CustomResourceDefinitionList"]["items"],
        serde_json::json!(["volumes.longhorn.io"])
    );
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("Unknown resource kind PodList"),
        "{warnings}"
    );
}

#[test]
fn bundle_oracle_reports_a_wrong_top_level_folder_as_restoring_nothing() {
    let version = version();
    let dir = tempfile::tempdir().unwrap();
    let files = bundle_files("not-the-name");
    let zip = write_zip(dir.path(), &as_refs(&files));
    let report = oracles::bundle_report(&version, &zip, "sb-1").unwrap();
    // Longhorn ignores the missing directories: no error, nothing restored.
    assert_eq!(report["unpackError"], "");
    assert_eq!(report["topLevelFolderFound"], false);
    assert_eq!(report["restoresNothing"], true);
    assert_eq!(report["kinds"], serde_json::json!({}));
    assert_eq!(report["topLevel"], serde_json::json!(["not-the-name/"]));
}

#[test]
fn bundle_oracle_reports_decode_failures_that_fail_unpack() {
    let version = version();
    let dir = tempfile::tempdir().unwrap();
    // A Kubernetes list under longhorn/: the Longhorn scheme cannot decode it.
    let mut files = bundle_files("sb-1");
    files.push(("sb-1/yamls/longhorn/persistentvolumes.yaml".into(), PVS));
    let zip = write_zip(dir.path(), &as_refs(&files));
    let report = oracles::bundle_report(&version, &zip, "sb-1").unwrap();
    let error = report["unpackError"].as_str().unwrap();
    assert!(
        error.contains("failed to extract Longhorn resources"),
        "{error}"
    );
    assert_eq!(report["decodeErrors"][0]["file"], "persistentvolumes.yaml");
    assert_eq!(report["decodeErrors"][0]["directory"], "longhorn");

    // Not a zip at all: unzip fails, so does Unpack.
    let junk = dir.path().join("junk.zip");
    std::fs::write(&junk, b"not a zip").unwrap();
    let report = oracles::bundle_report(&version, &junk, "sb-1").unwrap();
    assert!(
        report["unpackError"]
            .as_str()
            .unwrap()
            .contains("failed to unzip")
    );
}
