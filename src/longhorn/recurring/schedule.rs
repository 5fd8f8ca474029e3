//! When a job runs: Kubernetes fires Longhorn's CronJob for the RecurringJob, in UTC
//! unless someone set the CronJob's `spec.timeZone`.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::Value;

use super::cron as job_cron;
use crate::cron;
use crate::kube::{Collection, Selector, object};
use crate::longhorn::error::Result;
use crate::longhorn::install::Longhorn;
use crate::longhorn::resources::{SYSTEM_BACKUP, cron_jobs, labels};

/// What a job's row or description needs besides the job: its CronJob's time zone and
/// the backups jobs made.
pub struct JobFacts {
    time_zones: BTreeMap<String, Option<String>>,
    pub backups: Vec<Value>,
}

impl JobFacts {
    /// The CronJobs and the SystemBackups made by any job, both listed at once.
    pub async fn load(longhorn: &Longhorn) -> Result<Self> {
        let namespace = longhorn.namespace();
        let (cron_jobs, backups) = tokio::try_join!(
            longhorn.kube().list_items(
                &Collection::new(cron_jobs(), Some(namespace)),
                Selector::default()
            ),
            longhorn.kube().list_items(
                &SYSTEM_BACKUP.collection(namespace),
                Selector::labels(labels::RECURRING_JOB_SYSTEM_BACKUP)
            ),
        )?;
        let time_zones = cron_jobs
            .iter()
            .map(|c| {
                (
                    object::name(c).to_string(),
                    object::str_at(c, "/spec/timeZone").map(str::to_string),
                )
            })
            .collect();
        Ok(JobFacts {
            time_zones,
            backups,
        })
    }

    /// Kubernetes runs Longhorn's CronJob in UTC unless it sets `spec.timeZone`.
    pub fn zone_name(&self, job: &str) -> String {
        self.time_zones
            .get(job)
            .cloned()
            .flatten()
            .unwrap_or_else(|| "UTC".into())
    }

    /// The next `count` runs of `job`, as `YYYY-MM-DD HH:MM ZONE`.
    pub fn next_runs(&self, job: &Value, count: usize) -> Vec<String> {
        let zone_name = self.zone_name(object::name(job));
        let (Ok(schedule), Ok(zone)) = (
            cron::validate(job_cron(job)),
            cron::time_zone(Some(&zone_name)),
        ) else {
            return Vec::new();
        };
        schedule
            .next_runs(Timestamp::now(), &zone, count)
            .iter()
            .map(|t| format!("{} {zone_name}", t.strftime("%Y-%m-%d %H:%M")))
            .collect()
    }
}

/// The first run of a new job: its CronJob has no time zone yet, so UTC.
pub fn first_run(schedule: &cron::Schedule) -> Option<String> {
    schedule
        .next_runs(Timestamp::now(), &jiff::tz::TimeZone::UTC, 1)
        .first()
        .map(|next| next.strftime("%Y-%m-%d %H:%M %Z").to_string())
}
