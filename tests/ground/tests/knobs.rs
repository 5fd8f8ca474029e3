//! Knobs that steer the faults and the simulated engines, and environment helpers around them.

use std::time::Duration;

use kube::api::{DeleteParams, ListParams, PostParams};
use longhorn_ground::objects::{system_backup, system_restore};
use longhorn_ground::plane::LIMITED;
use longhorn_ground::{Ground, Kind, Longhorn};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);

async fn ground() -> Longhorn {
    Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap()
}

fn state(object: &kube::api::DynamicObject) -> String {
    object
        .data
        .pointer("/status/state")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_hung_backup_stays_in_its_state_and_can_still_be_deleted() {
    let longhorn = ground().await;
    longhorn.knobs().hang_at("Generating");
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("stuck", Some("disabled")),
    )
    .await
    .unwrap();
    longhorn
        .wait_for_system_backup("stuck", &["Generating"], WAIT)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(state(&api.get("stuck").await.unwrap()), "Generating");

    api.delete("stuck", &DeleteParams::default()).await.unwrap();
    longhorn
        .wait_for_deletion(Kind::SystemBackup, "stuck", WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_failing_volume_backup_fails_the_system_backup() {
    let longhorn = ground().await;
    longhorn
        .knobs()
        .fail_volume_backups(Some("backup store is full"));
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("volumes", Some("always")),
    )
    .await
    .unwrap();
    let failed = longhorn
        .wait_for_system_backup("volumes", &["Error", "Ready"], WAIT)
        .await
        .unwrap();
    let condition = &failed.data["status"]["conditions"][0];
    assert_eq!(condition["reason"], "Start");
    let message = condition["message"].as_str().unwrap();
    assert!(
        message.starts_with("failed creating Volume backup system-backup-"),
        "{message}"
    );
    assert!(message.ends_with(": backup store is full"), "{message}");
}

#[tokio::test]
async fn a_restore_waits_for_its_engine_image_to_be_deployed() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_backup("source", Some("disabled")),
        )
        .await
        .unwrap();
    longhorn
        .wait_for_system_backup("source", &["Ready"], WAIT)
        .await
        .unwrap();

    longhorn.knobs().set_engine_image_deployed(false);
    let images = Kind::EngineImage.api(&client, longhorn.namespace());
    let image_name = longhorn_ground::seed::engine_image_name(&longhorn.seeded().engine_image);
    longhorn
        .wait_for(&images, &image_name, WAIT, |i| state(i) == "deploying")
        .await
        .unwrap();
    let restores = Kind::SystemRestore.api(&client, longhorn.namespace());
    restores
        .create(&PostParams::default(), &system_restore("patient", "source"))
        .await
        .unwrap();
    longhorn
        .wait_for(&restores, "patient", WAIT, |r| state(r) == "Pending")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        state(&restores.get("patient").await.unwrap()),
        "Pending",
        "engine image not deployed yet"
    );

    longhorn.knobs().set_engine_image_deployed(true);
    longhorn
        .wait_for(&restores, "patient", WAIT, |r| state(r) == "Completed")
        .await
        .unwrap();
}

#[tokio::test]
async fn a_stopped_manager_leaves_webhooks_that_fail() {
    let mut longhorn = ground().await;
    longhorn.stop_longhorn_manager();
    let client = longhorn.client().await.unwrap();
    let created = Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(&PostParams::default(), &system_backup("nobody-home", None))
        .await;
    match created {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 500);
            assert!(
                status
                    .message
                    .contains("failed calling webhook \"mutator.longhorn.io\""),
                "{}",
                status.message
            );
        }
        other => panic!("expected the webhook call to fail, got {other:?}"),
    }
}

#[tokio::test]
async fn the_limited_user_sees_what_it_was_granted() {
    let longhorn = ground().await;
    let kubeconfig = longhorn.kubeconfig_for(LIMITED).unwrap();
    let yaml = std::fs::read_to_string(&kubeconfig).unwrap();
    let client = longhorn_ground::plane::client_from_yaml(&yaml)
        .await
        .unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    match api.list(&ListParams::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 403),
        other => panic!("the limited user should be forbidden, got {other:?}"),
    }
    longhorn
        .grant(LIMITED, json!([{"apiGroups": ["longhorn.io"], "resources": ["systembackups"], "verbs": ["get", "list"]}]))
        .await
        .unwrap();
    assert!(
        api.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
}

#[tokio::test]
async fn a_ready_backup_gone_from_the_store_is_dropped_on_sync() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("vanishing", Some("disabled")),
    )
    .await
    .unwrap();
    longhorn
        .wait_for_system_backup("vanishing", &["Ready"], WAIT)
        .await
        .unwrap();
    let remote = longhorn.store_path().join(format!(
        "backupstore/system-backups/{}/vanishing",
        longhorn.version()
    ));
    std::fs::remove_dir_all(&remote).unwrap();

    longhorn.request_backup_target_sync().await.unwrap();
    longhorn
        .wait_for_deletion(Kind::SystemBackup, "vanishing", WAIT)
        .await
        .unwrap();
}
