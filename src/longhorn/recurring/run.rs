//! Running a job now: a Job from Longhorn's CronJob for the RecurringJob, as
//! `kubectl create job --from=cronjob/NAME` makes it, so that Longhorn's own code runs
//! (retention included); then the SystemBackup that run makes.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::kube::api::post_params;
use crate::kube::watch::{self, Step};
use crate::kube::{Collection, object};
use crate::longhorn::error::{Error, Result};
use crate::longhorn::install::Longhorn;
use crate::longhorn::resources::{SYSTEM_BACKUP, annotations, cron_jobs, jobs, labels};

/// The CronJob longhorn-manager made for job `name`.
pub async fn cron_job(longhorn: &Longhorn, name: &str) -> Result<Value> {
    let namespace = longhorn.namespace();
    longhorn
        .kube()
        .get_opt(&Collection::new(cron_jobs(), Some(namespace)).object(name))
        .await?
        .ok_or_else(|| Error::NoCronJob {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })
}

/// Creates the Job of a run from `cron_job`; returns its name.
pub async fn start(longhorn: &Longhorn, cron_job: &Value) -> Result<String> {
    let job = job_from_cron_job(cron_job);
    let created = longhorn
        .kube()
        .create(
            &Collection::new(jobs(), Some(longhorn.namespace())),
            &job,
            &post_params(false),
        )
        .await?;
    Ok(object::name(&created).to_string())
}

/// The Job `kubectl create job --from=cronjob/NAME` makes: the CronJob's job
/// template, a `-manual-` name, the instantiate annotation, and the CronJob as owner.
pub fn job_from_cron_job(cron_job: &Value) -> Value {
    let name = object::name(cron_job);
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
    let template = cron_job
        .pointer("/spec/jobTemplate")
        .cloned()
        .unwrap_or_else(|| json!({}));
    // kubectl sets the instantiate annotation first; the template's own win.
    let mut job_annotations = json!({annotations::CRONJOB_INSTANTIATE: "manual"});
    if let Some(Value::Object(own)) = template.pointer("/metadata/annotations") {
        for (key, value) in own {
            job_annotations[key] = value.clone();
        }
    }
    let job_name: String = format!("{name}-manual-{suffix}").chars().take(63).collect();
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": object::namespace(cron_job),
            "labels": template.pointer("/metadata/labels").cloned().unwrap_or_else(|| json!({})),
            "annotations": job_annotations,
            "ownerReferences": [{
                "apiVersion": "batch/v1",
                "kind": "CronJob",
                "name": name,
                "uid": object::uid(cron_job).unwrap_or_default(),
                "controller": true,
            }],
        },
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    })
}

/// Watches the job's SystemBackups until one that is not in `before` appears (names
/// are random, so the run's backup is the new one).
pub async fn new_backup(
    longhorn: &Longhorn,
    job: &str,
    before: &BTreeSet<String>,
    timeout: Option<Duration>,
) -> Result<String> {
    let selector = format!("{}={job}", labels::RECURRING_JOB_SYSTEM_BACKUP);
    watch::until_any(
        longhorn.kube(),
        &SYSTEM_BACKUP.collection(longhorn.namespace()),
        &selector,
        timeout,
        &format!("{}/{job}", SYSTEM_BACKUP.plural),
        |found| {
            let name = object::name(found);
            if before.contains(name) {
                Step::<_, Error>::Continue
            } else {
                Step::Done(name.to_string())
            }
        },
    )
    .await
}
