//! RecurringJob controller (its CronJob, simulator-spec.md §7.4) and the recurring-job
//! pod acted out for Jobs made from that CronJob (§7.5): no kube-controller-manager
//! runs on the ground, so nothing else would run them.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::wait::await_condition;
use kube::runtime::watcher;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::engine::now_seconds;
use super::object::{integer, name, status_mut, text, uid};
use super::steps::Steps;
use super::{Retry, Sim, is_conflict, kube_message, run_controller};
use crate::longhorn::{
    API_VERSION, Kind, LABEL_MANAGED_BY, LABEL_RECURRING_JOB, LABEL_RECURRING_SYSTEM_BACKUP,
};

const LAST_APPLIED_ANNOTATION: &str = "longhorn.io/last-applied-cronjob-spec";
/// `CronJobBackoffLimit`.
const BACKOFF_LIMIT: i32 = 3;

pub(crate) async fn run(sim: Arc<Sim>) {
    tokio::spawn(collect_cron_jobs(sim.clone()));
    run_controller(&sim.clone(), Kind::RecurringJob, sim, reconcile).await;
}

fn cron_job_labels(job: &str) -> serde_json::Map<String, Value> {
    let mut labels = serde_json::Map::new();
    labels.insert(LABEL_MANAGED_BY.into(), json!("longhorn-manager"));
    labels.insert(LABEL_RECURRING_JOB.into(), json!(job));
    labels
}

/// `newCronJob`.
async fn cron_job_for(sim: &Sim, recurring: &DynamicObject) -> Result<CronJob, Retry> {
    let job = name(recurring);
    let successful = sim
        .setting_as_int("recurring-successful-jobs-history-limit", "1")
        .await?;
    let failed = sim
        .setting_as_int("recurring-failed-jobs-history-limit", "1")
        .await?;
    let priority_class = sim.setting("priority-class", "").await?;
    let labels = cron_job_labels(&job);
    let mut pod_spec = json!({
        "containers": [{
            "name": job,
            "image": sim.manager_image,
            "command": ["longhorn-manager", "-d", "recurring-job", job, "--manager-url", "http://longhorn-backend:9500/v1"],
            "env": [{"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}}],
            "volumeMounts": [{"name": "engine-binaries", "mountPath": "/var/lib/longhorn/engine-binaries/"}],
        }],
        "volumes": [{"name": "engine-binaries", "hostPath": {"path": "/var/lib/longhorn/engine-binaries/"}}],
        "serviceAccountName": sim.service_account,
        "restartPolicy": "OnFailure",
    });
    if !priority_class.is_empty() {
        pod_spec["priorityClassName"] = json!(priority_class);
    }
    let registry_secret = sim.setting("registry-secret", "").await?;
    if !registry_secret.is_empty() {
        pod_spec["imagePullSecrets"] = json!([{"name": registry_secret}]);
    }
    let mut cron_job: CronJob = serde_json::from_value(json!({
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {
            "name": job,
            "namespace": sim.namespace,
            "labels": labels,
            "ownerReferences": [{"apiVersion": API_VERSION, "kind": "RecurringJob", "name": job, "uid": uid(recurring)}],
        },
        "spec": {
            "schedule": text(recurring, "/spec/cron"),
            "concurrencyPolicy": "Forbid",
            "successfulJobsHistoryLimit": successful,
            "failedJobsHistoryLimit": failed,
            "jobTemplate": {"spec": {
                "backoffLimit": BACKOFF_LIMIT,
                "template": {"metadata": {"name": job, "labels": labels}, "spec": pod_spec},
            }},
        },
    }))
    .map_err(|e| Retry(e.to_string()))?;
    let spec = serde_json::to_string(&cron_job.spec).map_err(|e| Retry(e.to_string()))?;
    cron_job.metadata.annotations = Some([(LAST_APPLIED_ANNOTATION.to_string(), spec)].into());
    Ok(cron_job)
}

async fn reconcile(recurring: Arc<DynamicObject>, sim: Arc<Sim>) -> Result<Action, Retry> {
    let mut recurring = (*recurring).clone();
    if text(&recurring, "/status/ownerID") != sim.node_id {
        let status = status_mut(&mut recurring);
        status.insert("ownerID".into(), json!(sim.node_id));
        status.entry("executionCount").or_insert(json!(0));
        match sim
            .api(Kind::RecurringJob)
            .replace_status(&name(&recurring), &PostParams::default(), &recurring)
            .await
        {
            Ok(updated) => recurring = updated,
            Err(e) if is_conflict(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(e.into()),
        }
    }
    let desired = cron_job_for(&sim, &recurring).await?;
    let api: Api<CronJob> = Api::namespaced(sim.client.clone(), &sim.namespace);
    let selector = format!(
        "{LABEL_MANAGED_BY}=longhorn-manager,{LABEL_RECURRING_JOB}={}",
        name(&recurring)
    );
    let existing = api.list(&ListParams::default().labels(&selector)).await?;
    match existing.items.into_iter().next() {
        None => {
            if let Err(e) = api.create(&PostParams::default(), &desired).await {
                // Longhorn only logs (e.g. a schedule the apiserver rejects).
                warn!(
                    "creating cron job {}: {}",
                    name(&recurring),
                    kube_message(&e)
                );
            }
        }
        Some(applied) => {
            let last = applied
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(LAST_APPLIED_ANNOTATION));
            let wanted = desired
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(LAST_APPLIED_ANNOTATION));
            if last != wanted {
                let mut updated = desired;
                updated.metadata.resource_version = applied.metadata.resource_version;
                if let Err(e) = api
                    .replace(&name(&recurring), &PostParams::default(), &updated)
                    .await
                {
                    warn!(
                        "updating cron job {}: {}",
                        name(&recurring),
                        kube_message(&e)
                    );
                }
            }
        }
    }
    Ok(Action::await_change())
}

/// Stands in for the garbage collector: a deleted RecurringJob takes its CronJob along.
async fn collect_cron_jobs(sim: Arc<Sim>) {
    let stream = watcher(sim.api(Kind::RecurringJob), watcher::Config::default());
    let mut stream = std::pin::pin!(stream);
    while let Some(event) = stream.next().await {
        let Ok(watcher::Event::Delete(recurring)) = event else {
            continue;
        };
        let api: Api<CronJob> = Api::namespaced(sim.client.clone(), &sim.namespace);
        if let Ok(Some(cron_job)) = api.get_opt(&name(&recurring)).await
            && cron_job
                .metadata
                .owner_references
                .iter()
                .flatten()
                .any(|o| o.uid == uid(&recurring))
        {
            let _ = api
                .delete(&name(&recurring), &DeleteParams::background())
                .await;
        }
    }
}

struct JobRunner {
    sim: Arc<Sim>,
    steps: Arc<Steps>,
}

/// Acts out Jobs created from a RecurringJob's CronJob (by the CronJob controller or
/// `kubectl create job --from=cronjob/<name>`).
pub(crate) async fn run_jobs(sim: Arc<Sim>) {
    let runner = Arc::new(JobRunner {
        sim: sim.clone(),
        steps: Arc::default(),
    });
    let api: Api<Job> = Api::namespaced(sim.client.clone(), &sim.namespace);
    Controller::new(api, watcher::Config::default())
        .run(
            reconcile_job,
            |_, error: &Retry, _| {
                warn!("job: {error}");
                Action::requeue(Duration::from_millis(500))
            },
            runner,
        )
        .for_each(|_| async {})
        .await;
}

/// The RecurringJob a Job runs: the owning CronJob's name, else the Job's labels.
fn recurring_job_of(job: &Job) -> Option<String> {
    let from_owner = job
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.kind == "CronJob")
        .map(|o| o.name.clone());
    let from_labels = || {
        let template_labels = job
            .spec
            .as_ref()
            .and_then(|s| s.template.metadata.as_ref())
            .and_then(|m| m.labels.as_ref());
        job.metadata
            .labels
            .as_ref()
            .or(template_labels)?
            .get(LABEL_RECURRING_JOB)
            .cloned()
    };
    from_owner.or_else(from_labels)
}

fn is_finished(job: &Job) -> bool {
    job.status
        .iter()
        .flat_map(|s| s.conditions.iter().flatten())
        .any(|c| matches!(c.type_.as_str(), "Complete" | "Failed") && c.status == "True")
}

async fn reconcile_job(job: Arc<Job>, runner: Arc<JobRunner>) -> Result<Action, Retry> {
    if is_finished(&job) || job.metadata.deletion_timestamp.is_some() {
        return Ok(Action::await_change());
    }
    let Some(recurring) = recurring_job_of(&job) else {
        return Ok(Action::await_change());
    };
    let Some(job_uid) = job.metadata.uid.clone() else {
        return Ok(Action::await_change());
    };
    let work = runner.clone().run_job((*job).clone(), recurring);
    runner.steps.launch(&job_uid, "run", work);
    Ok(Action::await_change())
}

impl JobRunner {
    async fn run_job(self: Arc<Self>, job: Job, recurring: String) {
        let sim = &self.sim;
        let job_name = job.metadata.name.clone().unwrap_or_default();
        if let Err(e) = start_job(sim, &job).await {
            warn!("starting job {job_name}: {e}");
            return;
        }
        let backoff_limit = job
            .spec
            .as_ref()
            .and_then(|s| s.backoff_limit)
            .unwrap_or(BACKOFF_LIMIT);
        let mut failures = 0;
        loop {
            // restartPolicy OnFailure: a failed run restarts the container, up to the
            // backoff limit.
            match self.run_pod(&recurring).await {
                Ok(()) => return finish_job(sim, &job_name, JobOutcome::Succeeded).await,
                Err(e) => {
                    failures += 1;
                    debug!("job {job_name} run failed: {e}");
                    if failures > backoff_limit {
                        return finish_job(sim, &job_name, JobOutcome::Failed(failures)).await;
                    }
                    tokio::time::sleep(sim.knobs.get().step_delay).await;
                }
            }
        }
    }

    /// One run of `longhorn-manager recurring-job <name>`.
    async fn run_pod(&self, recurring_name: &str) -> Result<(), String> {
        let sim = &self.sim;
        let Some(mut recurring) = sim.get(Kind::RecurringJob, recurring_name).await? else {
            debug!("recurring job {recurring_name} is gone; the pod exits 0");
            return Ok(());
        };
        let count = integer(&recurring, "/status/executionCount") + 1;
        status_mut(&mut recurring).insert("executionCount".into(), json!(count));
        sim.api(Kind::RecurringJob)
            .replace_status(recurring_name, &PostParams::default(), &recurring)
            .await
            .map_err(|e| kube_message(&e))?;
        match text(&recurring, "/spec/task") {
            "system-backup" => self.system_backup(&recurring).await,
            // The ground does not simulate snapshot, backup or trim tasks.
            _ => Ok(()),
        }
    }

    /// `StartSystemBackupJob` (app/recurringjob/systembackup.go).
    async fn system_backup(&self, recurring: &DynamicObject) -> Result<(), String> {
        let sim = &self.sim;
        let job = name(recurring);
        let prefix: String = format!("{job}-c").chars().take(8).collect();
        let backup_name = format!("{prefix}-{}", uuid::Uuid::new_v4());
        let policy = text(recurring, "/spec/parameters/volume-backup-policy");
        let backup: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": "SystemBackup",
            "metadata": {"name": backup_name, "namespace": sim.namespace, "labels": {LABEL_RECURRING_SYSTEM_BACKUP: job}},
            "spec": {"volumeBackupPolicy": policy},
        }))
        .expect("a valid SystemBackup");
        let result = match sim
            .api(Kind::SystemBackup)
            .create(&PostParams::default(), &backup)
            .await
        {
            Err(e) => Err(kube_message(&e)),
            Ok(_) => {
                let finished = |b: Option<&DynamicObject>| {
                    b.is_none_or(|b| matches!(text(b, "/status/state"), "Ready" | "Error"))
                };
                match await_condition(sim.api(Kind::SystemBackup), &backup_name, finished).await {
                    Ok(Some(_)) => Ok(()),
                    Ok(None) => Err(Kind::SystemBackup.not_found(&backup_name)),
                    Err(e) => Err(e.to_string()),
                }
            }
        };
        self.prune(&job, integer(recurring, "/spec/retain")).await;
        result
    }

    /// The deferred cleanup: every CR of the job (no state filter in these versions),
    /// oldest `createdAt` first (unset first), beyond `retain` deleted.
    async fn prune(&self, job: &str, retain: i64) {
        let api = self.sim.api(Kind::SystemBackup);
        let selector = format!("{LABEL_RECURRING_SYSTEM_BACKUP}={job}");
        let Ok(list) = api.list(&ListParams::default().labels(&selector)).await else {
            return;
        };
        let mut backups: Vec<(String, String)> = list
            .items
            .iter()
            .map(|b| (text(b, "/status/createdAt").to_string(), name(b)))
            .collect();
        backups.sort_by(|a, b| a.0.cmp(&b.0));
        let excess = backups.len().saturating_sub(retain.max(0) as usize);
        for (_, backup) in backups.into_iter().take(excess) {
            if let Err(e) = api.delete(&backup, &DeleteParams::default()).await {
                warn!(
                    "deleting expired system backup {backup}: {}",
                    kube_message(&e)
                );
            }
        }
    }
}

pub(crate) enum JobOutcome {
    Succeeded,
    /// Failed after this many pod failures.
    Failed(i32),
}

/// Writes the final status the Job controller of Kubernetes 1.33 would: success or
/// failure criteria first, then the terminal condition.
pub(crate) async fn finish_job(sim: &Sim, job_name: &str, outcome: JobOutcome) {
    let now = now_seconds();
    let condition = |kind: &str, reason: &str, message: &str| {
        json!({
            "type": kind, "status": "True", "reason": reason, "message": message,
            "lastProbeTime": now, "lastTransitionTime": now,
        })
    };
    let status = match outcome {
        JobOutcome::Succeeded => {
            let message = "Reached expected number of succeeded pods";
            json!({"status": {
                "active": 0, "ready": 0, "succeeded": 1, "completionTime": now,
                "conditions": [
                    condition("SuccessCriteriaMet", "CompletionsReached", message),
                    condition("Complete", "CompletionsReached", message),
                ],
            }})
        }
        JobOutcome::Failed(failures) => {
            let message = "Job has reached the specified backoff limit";
            json!({"status": {
                "active": 0, "ready": 0, "failed": failures,
                "conditions": [
                    condition("FailureTarget", "BackoffLimitExceeded", message),
                    condition("Failed", "BackoffLimitExceeded", message),
                ],
            }})
        }
    };
    let api: Api<Job> = Api::namespaced(sim.client.clone(), &sim.namespace);
    if let Err(e) = api
        .patch_status(job_name, &PatchParams::default(), &Patch::Merge(status))
        .await
    {
        warn!("finishing job {job_name}: {}", kube_message(&e));
    }
}

/// Marks a Job as started (`startTime`, one active pod).
pub(crate) async fn start_job(sim: &Sim, job: &Job) -> Result<(), String> {
    let job_name = job.metadata.name.clone().unwrap_or_default();
    let started = job
        .status
        .as_ref()
        .and_then(|s| s.start_time.clone())
        .map(|t| t.0.to_string());
    let running =
        json!({"status": {"startTime": started.unwrap_or_else(now_seconds), "active": 1}});
    let api: Api<Job> = Api::namespaced(sim.client.clone(), &sim.namespace);
    api.patch_status(&job_name, &PatchParams::default(), &Patch::Merge(running))
        .await
        .map_err(|e| kube_message(&e))?;
    Ok(())
}
