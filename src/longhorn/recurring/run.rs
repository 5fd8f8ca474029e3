//! Running a job now: a Job from Longhorn's CronJob for the RecurringJob, as
//! `kubectl create job --from=cronjob/NAME` makes it, so that Longhorn's own code runs
//! (retention included); then the SystemBackup that run makes, and the end of the
//! Job, after which Longhorn has applied retention (docs/longhorn-behaviour.md,
//! "RecurringJobs"). Longhorn's CronJob forbids overlapping runs; a manual Job is not
//! held by that, so a run is refused while another Job of the CronJob is active.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Value, json};

use crate::kube::api::post_params;
use crate::kube::watch::{self, Step};
use crate::kube::{Collection, Selector, object};
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

/// How a Job ended, from the condition Kubernetes' Job controller sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobEnd {
    Complete,
    Failed(String),
}

/// The end of `job`, `None` while it runs.
pub fn job_end(job: &Value) -> Option<JobEnd> {
    let conditions = job.pointer("/status/conditions")?.as_array()?;
    conditions.iter().find_map(|c| {
        if c.get("status").and_then(Value::as_str) != Some("True") {
            return None;
        }
        match c.get("type").and_then(Value::as_str) {
            Some("Complete") => Some(JobEnd::Complete),
            Some("Failed") => Some(JobEnd::Failed(
                object::str_at(c, "/message")
                    .filter(|m| !m.is_empty())
                    .or_else(|| object::str_at(c, "/reason"))
                    .unwrap_or("no message was recorded")
                    .to_string(),
            )),
            _ => None,
        }
    })
}

/// Whether `job` was made from the CronJob `cron_job` (its controller owner), by
/// Kubernetes' schedule or by hand.
fn made_from(job: &Value, cron_job: &str) -> bool {
    job.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|owners| {
            owners.iter().any(|o| {
                o.get("kind").and_then(Value::as_str) == Some("CronJob")
                    && o.get("name").and_then(Value::as_str) == Some(cron_job)
            })
        })
}

/// Refuses to start a run while a Job of `cron_job` has not ended.
pub async fn check_none_running(longhorn: &Longhorn, cron_job: &Value) -> Result<()> {
    let name = object::name(cron_job);
    let namespace = longhorn.namespace();
    let jobs_here = Collection::new(jobs(), Some(namespace));
    let all = longhorn
        .kube()
        .list_items(&jobs_here, Selector::default())
        .await?;
    match all
        .iter()
        .find(|job| made_from(job, name) && job_end(job).is_none())
    {
        Some(running) => Err(Error::RunInProgress {
            name: name.to_string(),
            job: object::name(running).to_string(),
            namespace: namespace.to_string(),
        }),
        None => Ok(()),
    }
}

/// Waits until Job `job` ends; a failed Job is an error with Kubernetes' message.
pub async fn until_ended(longhorn: &Longhorn, job: &str, timeout: Option<Duration>) -> Result<()> {
    let namespace = longhorn.namespace();
    let object = Collection::new(jobs(), Some(namespace)).object(job);
    watch::until(longhorn.kube(), &object, timeout, |found| match found {
        None => Step::Fail(Error::RunDeleted(job.to_string())),
        Some(found) => match job_end(found) {
            None => Step::Continue,
            Some(JobEnd::Complete) => Step::Done(()),
            Some(JobEnd::Failed(message)) => Step::Fail(Error::RunFailed {
                job: job.to_string(),
                message,
                namespace: namespace.to_string(),
            }),
        },
    })
    .await
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{JobEnd, job_end, made_from};

    #[test]
    fn a_job_ends_with_kubernetes_condition() {
        let job = |conditions| json!({"status": {"conditions": conditions}});
        assert_eq!(job_end(&json!({"status": {"active": 1}})), None);
        assert_eq!(
            job_end(&job(json!([{"type": "Complete", "status": "True"}]))),
            Some(JobEnd::Complete)
        );
        assert_eq!(
            job_end(&job(json!([{"type": "Complete", "status": "False"}]))),
            None
        );
        assert_eq!(
            job_end(&job(json!([
                {"type": "FailureTarget", "status": "True"},
                {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit"}
            ]))),
            Some(JobEnd::Failed(
                "Job has reached the specified backoff limit".into()
            ))
        );
        assert_eq!(
            job_end(&job(
                json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}])
            )),
            Some(JobEnd::Failed("DeadlineExceeded".into()))
        );
    }

    #[test]
    fn runs_are_the_cron_jobs_own() {
        let owned_by = |kind: &str, name: &str| json!({"metadata": {"ownerReferences": [{"kind": kind, "name": name}]}});
        assert!(made_from(&owned_by("CronJob", "nightly"), "nightly"));
        assert!(!made_from(&owned_by("CronJob", "weekly"), "nightly"));
        assert!(!made_from(&owned_by("ReplicaSet", "nightly"), "nightly"));
        assert!(!made_from(&json!({"metadata": {}}), "nightly"));
    }
}
