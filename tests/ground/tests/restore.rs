//! SystemRestore through longhorn-manager's own controller and rollout.

use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use kube::api::{Api, DeleteParams, PostParams};
use longhorn_ground::objects::{system_backup, system_restore};
use longhorn_ground::{Ground, Kind, Longhorn};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(60);

async fn ready_backup(longhorn: &Longhorn, name: &str) {
    let client = longhorn.client().await.unwrap();
    Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_backup(name, Some("disabled")),
        )
        .await
        .unwrap();
    longhorn
        .wait_for_system_backup(name, &["Ready"], WAIT)
        .await
        .unwrap();
}

async fn wait_for_restore(longhorn: &Longhorn, name: &str) -> kube::api::DynamicObject {
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemRestore.api(&client, longhorn.namespace());
    longhorn
        .wait_for(&api, name, WAIT, |r| {
            let state = r
                .data
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let labelled = r
                .metadata
                .labels
                .as_ref()
                .is_some_and(|l| l.contains_key("longhorn.io/system-restore"));
            matches!(state, "Completed" | "Error") && !labelled
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_restore_walks_longhorns_states_to_completed() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    ready_backup(&longhorn, "before-upgrade").await;
    // A volume lost since the backup comes back from the bundle.
    let client = longhorn.client().await.unwrap();
    let volumes = Kind::Volume.api(&client, longhorn.namespace());
    let lost = longhorn.seeded().volume_names[0].clone();
    volumes
        .delete(&lost, &DeleteParams::default())
        .await
        .unwrap();
    longhorn
        .wait_for_deletion(Kind::Volume, &lost, WAIT)
        .await
        .unwrap();

    let restores = Kind::SystemRestore.api(&client, longhorn.namespace());
    restores
        .create(
            &PostParams::default(),
            &system_restore("rollback", "before-upgrade"),
        )
        .await
        .unwrap();
    let restore = wait_for_restore(&longhorn, "rollback").await;
    assert_eq!(
        restore.data["status"]["state"], "Completed",
        "{}",
        restore.data
    );
    assert_eq!(restore.data["status"]["ownerID"], "ground-node-1");

    let events = longhorn
        .events_for(Kind::SystemRestore, "rollback")
        .await
        .unwrap();
    let seen: Vec<(String, String)> = events
        .iter()
        .map(|e| {
            (
                e.reason.clone().unwrap_or_default(),
                e.message.clone().unwrap_or_default(),
            )
        })
        .collect();
    let expect = |reason: &str, message: String| {
        assert!(
            seen.contains(&(reason.to_string(), message.clone())),
            "no {reason}/{message} in {seen:?}"
        );
    };
    expect(
        "Created",
        "Created system restore Job longhorn-system-rollout-rollback".into(),
    );
    expect(
        "Start",
        "Initialized system rollout for before-upgrade".into(),
    );
    expect(
        "Fetched",
        format!("Downloaded from {}", longhorn.backup_target_url()),
    );
    expect("Fetched", "Unpacked /tmp/rollback.zip".into());
    expect(
        "Restored VolumeList",
        "System rollout restored Kind: VolumeList".into(),
    );
    expect("Restored", "System rollout completed".into());

    let restored = volumes.get(&lost).await.unwrap();
    assert!(
        restored
            .metadata
            .annotations
            .unwrap()
            .contains_key("longhorn.io/last-system-restored-at")
    );
    let jobs: Api<Job> = Api::namespaced(client.clone(), longhorn.namespace());
    let job = jobs.get("longhorn-system-rollout-rollback").await.unwrap();
    let container = &job.spec.unwrap().template.spec.unwrap().containers[0];
    assert_eq!(
        container.command.clone().unwrap(),
        ["longhorn-manager", "system-rollout", "rollback"]
    );
    assert_eq!(
        container.image.as_deref(),
        Some(format!("longhornio/longhorn-manager:{}", longhorn.version()).as_str())
    );
}

#[tokio::test]
async fn a_restore_failure_knob_ends_in_error() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    ready_backup(&longhorn, "base").await;
    longhorn
        .knobs()
        .fail_restore_at("Downloading", "checksum mismatched");
    let client = longhorn.client().await.unwrap();
    Kind::SystemRestore
        .api(&client, longhorn.namespace())
        .create(&PostParams::default(), &system_restore("doomed", "base"))
        .await
        .unwrap();
    let restore = wait_for_restore(&longhorn, "doomed").await;
    let condition = &restore.data["status"]["conditions"][0];
    assert_eq!(restore.data["status"]["state"], "Error");
    assert_eq!(condition["type"], "Error");
    assert_eq!(condition["reason"], "Restore");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "failed to restore Longhorn system: error downloading system backup nfs://"
        ) && message.contains("stderr checksum mismatched"),
        "{message}"
    );
    let events = longhorn
        .events_for(Kind::SystemRestore, "doomed")
        .await
        .unwrap();
    let last = events.last().unwrap();
    assert_eq!(last.type_.as_deref(), Some("Warning"));
    assert_eq!(last.reason.as_deref(), Some("Failed"));
    assert_eq!(
        last.message.as_deref(),
        Some("Failed to restore Longhorn system")
    );
    assert_eq!(
        last.source.as_ref().unwrap().component.as_deref(),
        Some("longhorn-system-rollout-controller")
    );
}

/// A rollout Job has a /tmp of its own, as a pod does: what the manager leaves in its
/// own /tmp/<backup> (it removes that directory only once the backup is Ready, while a
/// restore may already be unpacking the same backup) never reaches the rollout.
#[tokio::test]
async fn a_rollout_does_not_see_the_managers_tmp() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    ready_backup(&longhorn, "fresh").await;
    let leftover = longhorn.manager_tmp().join("fresh/yamls/longhorn");
    std::fs::create_dir_all(&leftover).unwrap();
    std::fs::write(leftover.join("half-removed.yaml"), "kind: [unterminated\n").unwrap();
    let client = longhorn.client().await.unwrap();
    Kind::SystemRestore
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_restore("right-away", "fresh"),
        )
        .await
        .unwrap();
    let restore = wait_for_restore(&longhorn, "right-away").await;
    assert_eq!(
        restore.data["status"]["state"], "Completed",
        "{}",
        restore.data
    );
}
