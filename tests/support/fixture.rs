//! A small Longhorn install with, for every selection rule, objects it must keep and
//! objects it must drop (longhorn-system-backup.md §4). Until the ground's seed lands
//! this stands in for it; the `expected` lists are what longhorn-manager would put in
//! the bundle.

use serde_json::{Value, json};

use super::NAMESPACE;

fn meta(name: &str, namespace: Option<&str>) -> Value {
    match namespace {
        Some(ns) => json!({"name": name, "namespace": ns}),
        None => json!({"name": name}),
    }
}

fn object(
    api_version: &str,
    kind: &str,
    name: &str,
    namespace: Option<&str>,
    rest: Value,
) -> Value {
    let mut object =
        json!({"apiVersion": api_version, "kind": kind, "metadata": meta(name, namespace)});
    if let (Some(target), Some(extra)) = (object.as_object_mut(), rest.as_object()) {
        for (k, v) in extra {
            if k == "labels" {
                target["metadata"]["labels"] = v.clone();
            } else {
                target.insert(k.clone(), v.clone());
            }
        }
    }
    object
}

const NS: Option<&str> = Some(NAMESPACE);
const APPS: Option<&str> = Some("apps");
const LH: &str = "longhorn.io/v1beta2";

fn pod_template(image: &str, args: Value) -> Value {
    json!({
        "metadata": {"labels": {"app": "x"}},
        "spec": {"containers": [{"name": "longhorn-manager", "image": image, "command": args}]}
    })
}

/// Values YAML 1.1 (restore's go-yaml v2) would read as something else if unquoted.
pub fn tricky_data() -> Value {
    json!({
        "on": "yes", "y": "n", "off": "no", "0x1F": "012", "1_000": "1:20", "1e3": "2001-12-14",
        "null": "~", "true": "false", "multi": "line 1\nline 2\n  indented\n", "empty": "",
        "quote": "it's \"quoted\"", "colon": "a: b #c", "unicode": "héllo ☃", "long": "x ".repeat(70)
    })
}

pub fn install(version: &str) -> Vec<Value> {
    let ds_args = json!([
        "longhorn-manager",
        "-d",
        "daemon",
        "--engine-image",
        "longhornio/longhorn-engine:test",
        "--manager-image",
        "longhornio/longhorn-manager:test",
        "--service-account",
        "longhorn-service-account"
    ]);
    vec![
        object("v1", "Namespace", NAMESPACE, None, json!({})),
        object("v1", "Namespace", "apps", None, json!({})),
        // Settings (value is required by the CRD)
        object(
            LH,
            "Setting",
            "current-longhorn-version",
            NS,
            json!({"value": version}),
        ),
        object(
            LH,
            "Setting",
            "default-engine-image",
            NS,
            json!({"value": "longhornio/longhorn-engine:test"}),
        ),
        object(LH, "Setting", "auto-salvage", NS, json!({"value": "true"})),
        // ServiceAccounts: the namespace's only
        object(
            "v1",
            "ServiceAccount",
            "longhorn-service-account",
            NS,
            json!({}),
        ),
        object(
            "v1",
            "ServiceAccount",
            "longhorn-ui-service-account",
            NS,
            json!({}),
        ),
        object("v1", "ServiceAccount", "app-account", APPS, json!({})),
        // ClusterRoles / bindings: only bindings of the namespace's accounts, and their roles
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "longhorn-role",
            None,
            json!({"rules": [{"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["*"]}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "longhorn-ui-role",
            None,
            json!({"rules": []}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRole",
            "unbound-role",
            None,
            json!({"rules": []}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "longhorn-bind",
            None,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "longhorn-role"},
            "subjects": [{"kind": "User", "name": "someone"}, {"kind": "ServiceAccount", "name": "longhorn-service-account", "namespace": NAMESPACE}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "longhorn-ui-bind",
            None,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "longhorn-ui-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "longhorn-ui-service-account", "namespace": NAMESPACE}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "app-bind",
            None,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "unbound-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "app-account", "namespace": "apps"}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "same-name-other-namespace",
            None,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "unbound-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "longhorn-service-account", "namespace": "apps"}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "ClusterRoleBinding",
            "user-named-like-account",
            None,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "unbound-role"},
            "subjects": [{"kind": "User", "name": "longhorn-service-account", "namespace": NAMESPACE}]}),
        ),
        // Roles / bindings in the namespace only
        object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            "longhorn-psp-role",
            NS,
            json!({"rules": []}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "RoleBinding",
            "longhorn-psp-binding",
            NS,
            json!({
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "longhorn-psp-role"},
            "subjects": [{"kind": "ServiceAccount", "name": "longhorn-service-account", "namespace": NAMESPACE}]}),
        ),
        object(
            "rbac.authorization.k8s.io/v1",
            "Role",
            "app-role",
            APPS,
            json!({"rules": []}),
        ),
        // Workloads
        object(
            "apps/v1",
            "DaemonSet",
            "longhorn-manager",
            NS,
            json!({"spec": {
            "selector": {"matchLabels": {"app": "x"}}, "template": pod_template("longhornio/longhorn-manager:test", ds_args)}}),
        ),
        object(
            "apps/v1",
            "Deployment",
            "longhorn-ui",
            NS,
            json!({"spec": {
            "selector": {"matchLabels": {"app": "x"}}, "template": pod_template("longhornio/longhorn-ui:test", json!(["ui"]))}}),
        ),
        object(
            "apps/v1",
            "Deployment",
            "app",
            APPS,
            json!({"spec": {
            "selector": {"matchLabels": {"app": "x"}}, "template": pod_template("nginx", json!(["nginx"]))}}),
        ),
        // ConfigMaps: all of the namespace
        object(
            "v1",
            "ConfigMap",
            "longhorn-default-setting",
            NS,
            json!({"data": {"default-setting.yaml": "backup-target:\n"}}),
        ),
        object(
            "v1",
            "ConfigMap",
            "tricky",
            NS,
            json!({"data": tricky_data()}),
        ),
        object("v1", "ConfigMap", "app-config", APPS, json!({"data": {}})),
        // Services: clusterIP/clusterIPs cleared
        object(
            "v1",
            "Service",
            "longhorn-backend",
            NS,
            json!({"spec": {"ports": [{"port": 9500}], "selector": {"app": "longhorn-manager"}}}),
        ),
        object(
            "v1",
            "Service",
            "longhorn-headless",
            NS,
            json!({"spec": {"clusterIP": "None", "ports": [{"port": 9501}]}}),
        ),
        object(
            "v1",
            "Service",
            "app",
            APPS,
            json!({"spec": {"ports": [{"port": 80}]}}),
        ),
        // Never in a bundle
        object(
            "v1",
            "Secret",
            "longhorn-backup-secret",
            NS,
            json!({"stringData": {"AWS_ACCESS_KEY_ID": "not-in-the-bundle"}}),
        ),
        object(
            "v1",
            "Pod",
            "longhorn-manager-abcde",
            NS,
            json!({"spec": {"containers": [{"name": "m", "image": "x"}]}}),
        ),
        object("v1", "Node", "node-1", None, json!({})),
        // StorageClasses by provisioner
        object(
            "storage.k8s.io/v1",
            "StorageClass",
            "longhorn",
            None,
            json!({"provisioner": "driver.longhorn.io", "parameters": {"numberOfReplicas": "3"}}),
        ),
        object(
            "storage.k8s.io/v1",
            "StorageClass",
            "longhorn-static",
            None,
            json!({"provisioner": "driver.longhorn.io"}),
        ),
        object(
            "storage.k8s.io/v1",
            "StorageClass",
            "local-path",
            None,
            json!({"provisioner": "rancher.io/local-path"}),
        ),
        // PVs by CSI driver; the PVCs follow their classes
        object(
            "v1",
            "PersistentVolume",
            "pvc-a",
            None,
            json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "longhorn", "csi": {"driver": "driver.longhorn.io", "volumeHandle": "pvc-a"}}}),
        ),
        object(
            "v1",
            "PersistentVolume",
            "static-b",
            None,
            json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "csi": {"driver": "driver.longhorn.io", "volumeHandle": "vol-b"}}}),
        ),
        object(
            "v1",
            "PersistentVolume",
            "ebs-1",
            None,
            json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "gp2", "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-123"}}}),
        ),
        object(
            "v1",
            "PersistentVolume",
            "host-1",
            None,
            json!({"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local-path", "hostPath": {"path": "/tmp/x"}}}),
        ),
        object(
            "v1",
            "PersistentVolumeClaim",
            "data-a",
            APPS,
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "longhorn",
            "volumeName": "pvc-a", "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        object(
            "v1",
            "PersistentVolumeClaim",
            "static-b",
            APPS,
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "",
            "volumeName": "static-b", "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        object(
            "v1",
            "PersistentVolumeClaim",
            "on-local-path",
            APPS,
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "local-path",
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        object(
            "v1",
            "PersistentVolumeClaim",
            "on-gp2",
            APPS,
            json!({"spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "gp2",
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        object(
            "v1",
            "PersistentVolumeClaim",
            "default-class",
            APPS,
            json!({"spec": {"accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}}}}),
        ),
        // Longhorn CRs
        object(
            LH,
            "Volume",
            "pvc-a",
            NS,
            json!({"spec": {"numberOfReplicas": 3, "size": "1073741824", "frontend": "blockdev", "backupTargetName": "default"},
            "status": {"lastBackup": "backup-a", "lastBackupAt": "2026-01-01T00:00:00Z", "state": "detached"}}),
        ),
        object(
            LH,
            "Volume",
            "vol-b",
            NS,
            json!({"spec": {"numberOfReplicas": 3, "size": "1073741824", "frontend": "blockdev", "backupTargetName": "default"},
            "status": {"state": "detached"}}),
        ),
        object(
            LH,
            "Volume",
            "dr-c",
            NS,
            json!({"spec": {"numberOfReplicas": 3, "size": "1073741824", "frontend": "blockdev", "backupTargetName": "default"},
            "status": {"isStandby": true, "state": "detached"}}),
        ),
        object(
            LH,
            "EngineImage",
            "ei-test",
            NS,
            json!({"spec": {"image": "longhornio/longhorn-engine:test"}}),
        ),
        object(
            LH,
            "RecurringJob",
            "daily",
            NS,
            json!({"spec": {"name": "daily", "task": "snapshot", "cron": "0 0 * * *", "retain": 3, "concurrency": 1, "groups": ["default"], "labels": {}}}),
        ),
        object(
            LH,
            "BackingImage",
            "bi-1",
            NS,
            json!({"spec": {"sourceType": "download", "sourceParameters": {"url": "http://example.com/image.qcow2"}},
            "status": {"checksum": "f".repeat(128)}}),
        ),
        object(
            LH,
            "BackupTarget",
            "default",
            NS,
            json!({"spec": {"backupTargetURL": "s3://bucket@us-east-1/", "credentialSecret": "longhorn-backup-secret", "pollInterval": "5m0s"},
            "status": {"available": true}}),
        ),
        // Longhorn kinds that are never in a bundle
        object(
            LH,
            "Snapshot",
            "snap-a",
            NS,
            // pvc-a's last backup: up to date unless a newer snapshot holds data.
            json!({"labels": {"longhornvolume": "pvc-a"}, "spec": {"volume": "pvc-a", "createSnapshot": false},
                "status": {"readyToUse": true, "creationTime": "2026-01-01T00:00:00Z", "size": 4096}}),
        ),
        object(
            LH,
            "Backup",
            "backup-a",
            NS,
            json!({"labels": {"backup-volume": "pvc-a"}, "spec": {"snapshotName": "snap-a"},
                "status": {"state": "Completed", "snapshotName": "snap-a"}}),
        ),
    ]
}

/// A CRD of another group: not in the bundle.
pub fn foreign_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]}
    })
}

/// What longhorn-manager puts in each file for [`install`], by file.
pub fn expected(crds: &[String]) -> Vec<(&'static str, Vec<String>)> {
    let names = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let ns = |list: &[&str]| {
        list.iter()
            .map(|s| format!("{NAMESPACE}/{s}"))
            .collect::<Vec<_>>()
    };
    let mut crds = crds.to_vec();
    crds.sort();
    vec![
        ("yamls/apiextensions/customresourcedefinitions.yaml", crds),
        (
            "yamls/kubernetes/serviceaccounts.yaml",
            ns(&["longhorn-service-account", "longhorn-ui-service-account"]),
        ),
        (
            "yamls/kubernetes/clusterroles.yaml",
            names(&["longhorn-bind", "longhorn-ui-bind"]),
        ),
        (
            "yamls/kubernetes/clusterrolebindings.yaml",
            names(&["longhorn-role", "longhorn-ui-role"]),
        ),
        ("yamls/kubernetes/roles.yaml", ns(&["longhorn-psp-role"])),
        (
            "yamls/kubernetes/rolebindings.yaml",
            ns(&["longhorn-psp-binding"]),
        ),
        (
            "yamls/kubernetes/daemonsets.yaml",
            ns(&["longhorn-manager"]),
        ),
        ("yamls/kubernetes/deployments.yaml", ns(&["longhorn-ui"])),
        (
            "yamls/kubernetes/configmaps.yaml",
            ns(&["longhorn-default-setting", "tricky"]),
        ),
        (
            "yamls/kubernetes/services.yaml",
            ns(&["longhorn-backend", "longhorn-headless"]),
        ),
        (
            "yamls/kubernetes/storageclasses.yaml",
            names(&["longhorn", "longhorn-static"]),
        ),
        (
            "yamls/kubernetes/persistentvolumes.yaml",
            names(&["pvc-a", "static-b"]),
        ),
        (
            "yamls/kubernetes/persistentvolumeclaims.yaml",
            vec!["apps/data-a".to_string(), "apps/static-b".to_string()],
        ),
        (
            "yamls/longhorn/setting.yaml",
            ns(&[
                "auto-salvage",
                "current-longhorn-version",
                "default-engine-image",
            ]),
        ),
        ("yamls/longhorn/engineimages.yaml", ns(&["ei-test"])),
        (
            "yamls/longhorn/volumes.yaml",
            ns(&["dr-c", "pvc-a", "vol-b"]),
        ),
        ("yamls/longhorn/recurringjobs.yaml", ns(&["daily"])),
        ("yamls/longhorn/backingimages.yaml", ns(&["bi-1"])),
        ("yamls/longhorn/backuptargets.yaml", ns(&["default"])),
    ]
}
