//! A `system-backup` RecurringJob: its CronJob, and Jobs run from it creating and
//! pruning SystemBackups (Longhorn v1.9.0+; v1.8.1's CRD refuses the task).

use std::time::Duration;

use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::runtime::wait::await_condition;
use longhorn_ground::objects::system_backup_job;
use longhorn_ground::{Ground, Kind};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn a_system_backup_recurring_job_runs_and_prunes() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    let client = longhorn.client().await.unwrap();
    let namespace = longhorn.namespace();
    let jobs_api = Kind::RecurringJob.api(&client, namespace);
    let job = system_backup_job(
        "nightly-sb",
        "0 2 * * *",
        2,
        json!({"volume-backup-policy": "disabled"}),
    );
    let created = jobs_api.create(&PostParams::default(), &job).await;

    if !longhorn.version().at_least(9) {
        match created {
            Err(kube::Error::Api(status)) => {
                assert_eq!(status.code, 422);
                assert!(
                    status
                        .message
                        .contains("spec.task: Unsupported value: \"system-backup\""),
                    "{}",
                    status.message
                );
            }
            other => panic!("v1.8.1's CRD has no system-backup task, got {other:?}"),
        }
        return;
    }
    let recurring = created.unwrap();

    let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), namespace);
    let cron_job = await_condition(cron_jobs.clone(), "nightly-sb", |c: Option<&CronJob>| {
        c.is_some()
    })
    .await
    .unwrap()
    .unwrap();
    let labels = cron_job.metadata.labels.clone().unwrap();
    assert_eq!(
        labels.get("longhorn.io/managed-by").map(String::as_str),
        Some("longhorn-manager")
    );
    assert_eq!(
        labels.get("recurring-job.longhorn.io").map(String::as_str),
        Some("nightly-sb")
    );
    assert_eq!(cron_job.spec.schedule, "0 2 * * *");
    assert_eq!(cron_job.spec.concurrency_policy.as_deref(), Some("Forbid"));
    let owner = &cron_job.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.uid.as_str()),
        ("RecurringJob", recurring.metadata.uid.as_deref().unwrap())
    );
    let pod = cron_job
        .spec
        .job_template
        .spec
        .as_ref()
        .unwrap()
        .template
        .spec
        .clone()
        .unwrap();
    let command = pod.containers[0].command.clone().unwrap();
    assert_eq!(
        command[..4],
        ["longhorn-manager", "-d", "recurring-job", "nightly-sb"]
    );
    assert_eq!(pod.restart_policy.as_deref(), Some("OnFailure"));

    let jobs: Api<Job> = Api::namespaced(client.clone(), namespace);
    for _ in 0..3 {
        let name = longhorn.run_recurring_job("nightly-sb").await.unwrap();
        let complete = |j: Option<&Job>| {
            j.and_then(|j| j.status.as_ref())
                .and_then(|s| s.conditions.as_ref())
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c.type_ == "Complete" && c.status == "True")
                })
        };
        let done = tokio::time::timeout(WAIT, await_condition(jobs.clone(), &name, complete))
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let status = done.status.unwrap();
        assert_eq!(status.succeeded, Some(1));
        assert!(status.completion_time.is_some() && status.start_time.is_some());
    }

    let selector = "recurring-job.longhorn.io/system-backup=nightly-sb";
    let all: Vec<DynamicObject> = Kind::SystemBackup
        .api(&client, namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .unwrap()
        .items;
    // The pruned one may still be on its way out (state Deleting, finalizer pending).
    let (pruned, backups): (Vec<DynamicObject>, Vec<DynamicObject>) = all
        .into_iter()
        .partition(|b| b.metadata.deletion_timestamp.is_some());
    assert_eq!(backups.len(), 2, "retain 2 prunes the oldest of three");
    for backup in pruned {
        longhorn
            .wait_for_deletion(
                Kind::SystemBackup,
                backup.metadata.name.as_deref().unwrap(),
                WAIT,
            )
            .await
            .unwrap();
    }
    for backup in &backups {
        let name = backup.metadata.name.as_deref().unwrap();
        // The first 8 characters of "nightly-sb-c", a dash, a UUID: Longhorn's double dash.
        assert!(
            name.starts_with("nightly--") && name.len() == "nightly--".len() + 36,
            "{name}"
        );
        assert_eq!(backup.data["spec"]["volumeBackupPolicy"], "disabled");
        assert_eq!(backup.data["status"]["state"], "Ready");
    }
    let counted = jobs_api.get("nightly-sb").await.unwrap();
    assert_eq!(counted.data["status"]["executionCount"], 3);
}
