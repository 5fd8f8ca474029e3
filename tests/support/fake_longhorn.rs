//! A stand-in for longhorn-manager's snapshot and backup controllers (and the Snapshot
//! webhook's label), enough for the volume backup policy of `create --local`: it marks
//! each new Snapshot ready, completes (or fails, or ignores) each new Backup and records
//! it as its volume's last backup — the fields simulator-spec.md §10 lists.

use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{Config, watcher};
use serde_json::{Value, json};

/// What the fake does with new Backups.
#[derive(Clone, Debug)]
pub enum Backups {
    Complete,
    Fail(String),
    /// Never touch them (a backup that never finishes).
    Ignore,
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("longhorn.io", "v1beta2", kind),
        plural,
    )
}

fn now() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Runs until the returned handle is aborted (or the test's runtime ends).
pub fn start(
    client: kube::Client,
    namespace: &str,
    backups: Backups,
    snapshot_size: i64,
) -> tokio::task::JoinHandle<()> {
    let namespace = namespace.to_string();
    let snapshots: Api<DynamicObject> = Api::namespaced_with(
        client.clone(),
        &namespace,
        &resource("Snapshot", "snapshots"),
    );
    let backup_api: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), &namespace, &resource("Backup", "backups"));
    let volumes: Api<DynamicObject> =
        Api::namespaced_with(client, &namespace, &resource("Volume", "volumes"));
    let backups = Arc::new(backups);
    tokio::spawn(async move {
        let snapshot_events = watcher(snapshots.clone(), Config::default())
            .default_backoff()
            .applied_objects();
        let backup_events = watcher(backup_api.clone(), Config::default())
            .default_backoff()
            .applied_objects();
        let mut events = std::pin::pin!(futures::stream::select(
            snapshot_events.map(|e| (true, e)),
            backup_events.map(|e| (false, e))
        ));
        let params = PatchParams::default();
        while let Some((is_snapshot, event)) = events.next().await {
            let Ok(object) = event else { continue };
            let object = serde_json::to_value(object).unwrap();
            let name = object["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if is_snapshot {
                if object.pointer("/status/readyToUse").is_some() {
                    continue;
                }
                let volume = object["spec"]["volume"].as_str().unwrap_or_default();
                let label = json!({"metadata": {"labels": {"longhornvolume": volume}}});
                let _ = snapshots.patch(&name, &params, &Patch::Merge(&label)).await;
                let status = json!({"status": {"readyToUse": true, "creationTime": now(), "size": snapshot_size}});
                let _ = snapshots
                    .patch_status(&name, &params, &Patch::Merge(&status))
                    .await;
                continue;
            }
            if object
                .pointer("/status/state")
                .and_then(Value::as_str)
                .is_some_and(|s| !s.is_empty())
            {
                continue;
            }
            let volume = object
                .pointer("/metadata/labels/backup-volume")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let snapshot = object["spec"]["snapshotName"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            match backups.as_ref() {
                Backups::Ignore => {}
                Backups::Fail(message) => {
                    let status = json!({"status": {"state": "Error", "error": message, "snapshotName": snapshot}});
                    let _ = backup_api
                        .patch_status(&name, &params, &Patch::Merge(&status))
                        .await;
                }
                Backups::Complete => {
                    let status = json!({"status": {"state": "Completed", "snapshotName": snapshot, "progress": 100}});
                    let _ = backup_api
                        .patch_status(&name, &params, &Patch::Merge(&status))
                        .await;
                    let last = json!({"status": {"lastBackup": name, "lastBackupAt": now()}});
                    let _ = volumes
                        .patch_status(&volume, &params, &Patch::Merge(&last))
                        .await;
                }
            }
        }
    })
}
