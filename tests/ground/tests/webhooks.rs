//! Longhorn's admission webhooks as a client sees them through the apiserver.

use std::time::Duration;

use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use longhorn_ground::objects::{recurring_job, system_backup, system_restore};
use longhorn_ground::{Ground, Kind, Longhorn};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

async fn ground() -> Longhorn {
    Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap()
}

/// (code, reason, message) of a rejected request.
fn rejection(result: Result<DynamicObject, kube::Error>) -> (u16, String, String) {
    match result {
        Err(kube::Error::Api(status)) => {
            (status.code, status.reason.clone(), status.message.clone())
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn an_unavailable_backup_target_is_refused_from_v1_10_and_fails_later_before() {
    let longhorn = ground().await;
    longhorn.set_backup_target_available(false).await.unwrap();
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    let created = api
        .create(&PostParams::default(), &system_backup("unreachable", None))
        .await;
    if longhorn.version().at_least(10) {
        let (code, reason, message) = rejection(created);
        assert_eq!((code, reason.as_str()), (422, "Invalid"));
        assert_eq!(
            message,
            "admission webhook \"validator.longhorn.io\" denied the request: backup target default is not available"
        );
    } else {
        created.unwrap();
        let failed = longhorn
            .wait_for_system_backup("unreachable", &["Error", "Ready"], WAIT)
            .await
            .unwrap();
        let condition = &failed.data["status"]["conditions"][0];
        assert_eq!(condition["reason"], "Start");
        // Longhorn's exec helper words the failed command per release (v1.8.1 repeats the
        // binary inside the brackets and keeps the stderr's newline): check its parts.
        let url = longhorn.backup_target_url();
        let binary = format!(
            "/var/lib/longhorn/engine-binaries/longhornio-longhorn-engine-{}/longhorn",
            longhorn.version()
        );
        let message = condition["message"].as_str().unwrap_or_default();
        let prefix = format!(
            "failed to list system backups in backup target: error listing system backup in {url}: failed to execute: {binary} ["
        );
        assert!(message.starts_with(&prefix), "{message}");
        assert!(
            message.contains(&format!(
                "system-backup list {url}], output , stderr mount failed: Connection refused"
            )),
            "{message}"
        );
        assert!(message.ends_with(": exit status 1"), "{message}");
    }
    let target = Kind::BackupTarget
        .api(&client, longhorn.namespace())
        .get("default")
        .await
        .unwrap();
    let condition = &target.data["status"]["conditions"][0];
    assert_eq!(
        (condition["type"].as_str(), condition["status"].as_str()),
        (Some("Unavailable"), Some("True"))
    );
    assert!(
        condition["message"]
            .as_str()
            .unwrap()
            .contains("mount failed: Connection refused")
    );

    longhorn.set_backup_target_available(true).await.unwrap();
    api.create(
        &PostParams::default(),
        &system_backup("reachable", Some("disabled")),
    )
    .await
    .unwrap();
    longhorn
        .wait_for_system_backup("reachable", &["Ready"], WAIT)
        .await
        .unwrap();
}

#[tokio::test]
async fn without_backup_target_default_the_mutator_fails_with_500() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let targets = Kind::BackupTarget.api(&client, longhorn.namespace());

    let refused = targets.delete("default", &DeleteParams::default()).await;
    match refused {
        Err(kube::Error::Api(status)) => assert_eq!(
            status.message,
            "admission webhook \"validator.longhorn.io\" denied the request: deleting default backup target is not allowed"
        ),
        other => panic!("deleting the default target should be refused, got {other:?}"),
    }
    // Longhorn's uninstaller marks it first; then the controller lets it go.
    let mark = json!({"metadata": {"annotations": {"longhorn.io/delete-backup-target-from-longhorn": ""}}});
    targets
        .patch("default", &PatchParams::default(), &Patch::Merge(mark))
        .await
        .unwrap();
    targets
        .delete("default", &DeleteParams::default())
        .await
        .unwrap();
    longhorn
        .wait_for_deletion(Kind::BackupTarget, "default", WAIT)
        .await
        .unwrap();

    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    let (code, reason, message) = rejection(
        api.create(&PostParams::default(), &system_backup("orphan", None))
            .await,
    );
    assert_eq!((code, reason.as_str()), (500, "InternalError"));
    assert_eq!(
        message,
        "admission webhook \"mutator.longhorn.io\" denied the request: backuptarget.longhorn.io \"default\" not found"
    );
}

#[tokio::test]
async fn recurring_jobs_are_validated_like_longhorn() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::RecurringJob.api(&client, longhorn.namespace());

    let (code, _, message) = rejection(
        api.create(
            &PostParams::default(),
            &recurring_job("weekly", "snapshot", "0 0 * * 7", 1, json!({})),
        )
        .await,
    );
    assert_eq!(code, 422);
    assert_eq!(
        message,
        "admission webhook \"validator.longhorn.io\" denied the request: invalid cron format(0 0 * * 7): End of range (7) above maximum (6): 7"
    );
    let (_, _, message) = rejection(
        api.create(
            &PostParams::default(),
            &recurring_job("hoarder", "snapshot", "@daily", 101, json!({})),
        )
        .await,
    );
    assert!(
        message.ends_with("denied the request: retain value should be less than or equal to 100"),
        "{message}"
    );

    // Setting recurring-job-max-retention moves the bound.
    let settings = Kind::Setting.api(&client, longhorn.namespace());
    settings
        .patch(
            "recurring-job-max-retention",
            &PatchParams::default(),
            &Patch::Merge(json!({"value": "5"})),
        )
        .await
        .unwrap();
    let (_, _, message) = rejection(
        api.create(
            &PostParams::default(),
            &recurring_job("six", "snapshot", "@daily", 6, json!({})),
        )
        .await,
    );
    assert!(
        message.ends_with("retain value should be less than or equal to 5"),
        "{message}"
    );
    let out_of_range = settings
        .patch(
            "recurring-job-max-retention",
            &PatchParams::default(),
            &Patch::Merge(json!({"value": "0"})),
        )
        .await;
    assert!(matches!(out_of_range, Err(kube::Error::Api(status)) if status.code == 422));

    // The mutator fills the defaults; retain 0 becomes 1 for snapshot tasks.
    let created = api
        .create(
            &PostParams::default(),
            &recurring_job("Hourly", "snapshot", "0 * * * *", 0, json!(null)),
        )
        .await
        .unwrap();
    assert_eq!(created.metadata.name.as_deref(), Some("hourly"));
    assert_eq!(created.data["spec"]["retain"], 1);
    assert_eq!(created.data["spec"]["groups"], json!([]));
    assert_eq!(created.data["spec"]["parameters"], json!({}));
    assert_eq!(
        created.data["spec"]["name"], "Hourly",
        "spec.name keeps the uncorrected name"
    );
}

#[tokio::test]
async fn recurring_job_without_spec_name_is_rejected_on_v1_8_only() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::RecurringJob.api(&client, longhorn.namespace());
    let mut job = recurring_job("nameless", "snapshot", "@hourly", 2, json!({}));
    job.data["spec"].as_object_mut().unwrap().remove("name");
    let created = api.create(&PostParams::default(), &job).await;
    if longhorn.version().at_least(9) {
        assert_eq!(created.unwrap().data["spec"]["name"], "nameless");
    } else {
        let (code, _, message) = rejection(created);
        assert_eq!(code, 422);
        assert!(
            message.ends_with(
                "invalid job {Name: Groups:[] Task:snapshot Cron:@hourly Retain:2 Concurrency:1 Labels:map[] Parameters:map[]}"
            ),
            "{message}"
        );
    }
}

#[tokio::test]
async fn a_restore_needs_an_existing_system_backup() {
    let longhorn = ground().await;
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemRestore.api(&client, longhorn.namespace());
    let (code, reason, message) = rejection(
        api.create(&PostParams::default(), &system_restore("back", "nope"))
            .await,
    );
    assert_eq!((code, reason.as_str()), (422, "Invalid"));
    assert_eq!(
        message,
        "admission webhook \"validator.longhorn.io\" denied the request: systembackup.longhorn.io \"nope\" not found"
    );
}
