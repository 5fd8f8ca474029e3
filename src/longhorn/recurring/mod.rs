//! RecurringJobs of task `system-backup` (docs/longhorn-behaviour.md, "RecurringJobs"):
//! a new one, the rules Longhorn applies to it (checked before anything is sent), the
//! jobs the plugin manages, the SystemBackups they own, which of those Longhorn's
//! retention deletes next ([`retention`]), when they run ([`schedule`]) and how to run
//! one now ([`run`]).

pub mod retention;
pub mod run;
pub mod schedule;

use serde_json::{Value, json};

use super::error::{Error, Result};
use super::install::{Longhorn, explain_missing};
use super::resources::{
    GROUP, RECURRING_JOB, SETTING_MAX_RETENTION, SYSTEM_BACKUP, VERSION, labels,
};
use super::systembackup::VolumeBackupPolicy;
use super::version::LonghornVersion;
use crate::cron::{self, Schedule};
use crate::kube::{Selector, object};

pub use super::resources::{
    RECURRING_JOB_NAME_MAX_LEN as NAME_MAX_LEN, SYSTEM_BACKUP_TASK as TASK,
};
pub const PARAMETER_POLICY: &str = "volume-backup-policy";
/// Longhorn's default for `recurring-job-max-retention`.
pub const DEFAULT_MAX_RETENTION: i64 = 100;

pub fn task(job: &Value) -> &str {
    object::str_at(job, "/spec/task").unwrap_or_default()
}

pub fn cron(job: &Value) -> &str {
    object::str_at(job, "/spec/cron").unwrap_or_default()
}

pub fn retain(job: &Value) -> i64 {
    job.pointer("/spec/retain")
        .and_then(Value::as_i64)
        .unwrap_or(0)
}

pub fn policy(job: &Value) -> Option<&str> {
    object::str_at(job, &format!("/spec/parameters/{PARAMETER_POLICY}"))
}

/// What a new job is made of.
pub struct NewJob<'a> {
    pub name: &'a str,
    pub cron: &'a str,
    pub retain: i64,
    pub policy: VolumeBackupPolicy,
}

/// A new RecurringJob of task system-backup, as the Longhorn UI creates it.
pub fn new_object(job: &NewJob<'_>, namespace: &str) -> Value {
    json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": RECURRING_JOB.kind,
        "metadata": {"name": job.name, "namespace": namespace},
        "spec": {
            "name": job.name,
            "task": TASK,
            "cron": job.cron,
            "retain": job.retain,
            "concurrency": 1,
            "groups": [],
            "labels": {},
            "parameters": {PARAMETER_POLICY: job.policy.as_str()},
        },
    })
}

/// The spec fields a change sets, as a merge patch's `spec`.
pub fn changed_spec(
    cron: Option<&str>,
    retain: Option<i64>,
    policy: Option<VolumeBackupPolicy>,
) -> serde_json::Map<String, Value> {
    let mut spec = serde_json::Map::new();
    if let Some(cron) = cron {
        spec.insert("cron".into(), json!(cron));
    }
    if let Some(retain) = retain {
        spec.insert("retain".into(), json!(retain));
    }
    if let Some(policy) = policy {
        spec.insert(
            "parameters".into(),
            json!({PARAMETER_POLICY: policy.as_str()}),
        );
    }
    spec
}

/// The shortest `@every` a job may have. Every run makes a full system backup and
/// backs up the volumes, so more often is a mistake; 5-field cron cannot go below it.
pub const MIN_EVERY_SECONDS: i64 = 60;

/// The cron expression, checked as Longhorn checks it (robfig/cron v1.2.0), and
/// refused when `@every` runs more often than [`MIN_EVERY_SECONDS`].
pub fn parse_cron(expr: &str) -> Result<Schedule> {
    let schedule = cron::validate(expr)?;
    match schedule.every_seconds() {
        Some(seconds) if seconds < MIN_EVERY_SECONDS => Err(Error::EveryTooOften {
            expr: expr.to_string(),
            seconds,
        }),
        _ => Ok(schedule),
    }
}

/// Longhorn's name rule (`^[a-z0-9][a-z0-9_.-]+$`, at most 40 characters) within
/// Kubernetes' own (no `_` in object names), checked before anything is sent.
pub fn check_name(name: &str) -> Result<()> {
    let valid = name.len() >= 2
        && name.len() <= NAME_MAX_LEN
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if valid {
        return Ok(());
    }
    Err(Error::InvalidJobName(name.to_string()))
}

/// `retain` must be at least 1: Longhorn silently raises 0 to 1 for system-backup
/// jobs. Checked before anything is sent.
pub fn check_retain_floor(retain: i64) -> Result<()> {
    if retain < 1 {
        return Err(Error::RetainTooSmall(retain));
    }
    Ok(())
}

/// `retain` must be at least 1 ([`check_retain_floor`]) and at most the cluster's
/// `recurring-job-max-retention` (Longhorn rejects more).
pub fn check_retain(retain: i64, max: i64) -> Result<()> {
    check_retain_floor(retain)?;
    if retain > max {
        return Err(Error::RetainTooLarge { retain, max });
    }
    Ok(())
}

/// Longhorn's ceiling for `retain` in this cluster.
pub async fn max_retention(longhorn: &Longhorn) -> Result<i64> {
    let value = longhorn.setting(SETTING_MAX_RETENTION).await?;
    Ok(value
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(DEFAULT_MAX_RETENTION))
}

/// The task exists from Longhorn v1.9.0.
pub fn check_version(version: LonghornVersion) -> Result<()> {
    if version.at_least(1, 9) {
        return Ok(());
    }
    Err(Error::NoSystemBackupTask(version))
}

/// The RecurringJob `name`, which must exist and be of task system-backup.
pub async fn system_backup_job(longhorn: &Longhorn, name: &str) -> Result<Value> {
    let namespace = longhorn.namespace();
    let job = longhorn
        .kube()
        .get_opt(&RECURRING_JOB.object(namespace, name))
        .await
        .map_err(explain_missing(RECURRING_JOB))?
        .ok_or_else(|| Error::JobNotFound {
            name: name.to_string(),
            namespace: namespace.to_string(),
        })?;
    if task(&job) != TASK {
        return Err(Error::OtherTask {
            name: name.to_string(),
            task: task(&job).to_string(),
        });
    }
    Ok(job)
}

/// The SystemBackups labelled as made by `job`.
pub async fn owned_backups(longhorn: &Longhorn, job: &str) -> Result<Vec<Value>> {
    let selector = Selector::labels(format!("{}={job}", labels::RECURRING_JOB_SYSTEM_BACKUP));
    let backups = SYSTEM_BACKUP.collection(longhorn.namespace());
    Ok(longhorn.kube().list_items(&backups, selector).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_longhorn_and_kubernetes() {
        for ok in ["nightly", "a1", "daily.system-backup"] {
            check_name(ok).unwrap();
        }
        for bad in ["a", "Nightly", "has_underscore", "-x", &"a".repeat(41)] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn retain_bounds() {
        assert!(
            check_retain(0, 100)
                .unwrap_err()
                .to_string()
                .contains("give a number from 1")
        );
        assert!(check_retain(-3, 100).is_err());
        assert!(
            check_retain(101, 100)
                .unwrap_err()
                .to_string()
                .contains("less than or equal to 100")
        );
        check_retain(100, 100).unwrap();
    }

    #[test]
    fn version_gate() {
        assert!(
            check_version("v1.8.1".parse().unwrap())
                .unwrap_err()
                .to_string()
                .contains("v1.9.0")
        );
        check_version("v1.9.0".parse().unwrap()).unwrap();
    }

    /// Every class of cron error robfig/cron v1.2.0 makes: the message names the
    /// expression, points at the field and says what it takes, on one line.
    #[test]
    fn cron_errors_point_at_the_field() {
        for (cron, texts) in [
            ("", &["is empty; expected 5 fields"][..]),
            ("0 2 * *", &["found 4"]),
            ("0 0 0 * * *", &["found 6; there is no seconds field"]),
            ("0 25 * * *", &["hour field \"25\" is out of range (0-23)"]),
            ("60 * * * *", &["minute field \"60\""]),
            ("0 0 32 * *", &["day-of-month field \"32\""]),
            (
                "0 0 * * 7",
                &["day-of-week field \"7\"", "7 is not allowed"],
            ),
            (
                "0 22-2 * * *",
                &["hour field", "use a list such as 22-23,0-2"],
            ),
            (
                "*/0 * * * *",
                &["minute field", "a step must be a positive number"],
            ),
            ("0 0 * * 1/x", &["day-of-week field"]),
            ("0 0 1-2-3 * *", &["day-of-month field"]),
            ("0 0 * foo *", &["month field \"foo\""]),
            ("0 0 * mon *", &["day names go in the day-of-week field"]),
            ("0 0 * * funday", &["day-of-week field \"funday\""]),
            ("@fortnightly", &["@fortnightly"]),
            ("@Daily", &["descriptors are lower-case: \"@daily\""]),
            (
                "@every 1d",
                &["@every duration \"1d\" has the unknown unit \"d\""],
            ),
            ("@every 5", &["@every"]),
            (
                "TZ=UTC 0 2 * * *",
                &["time-zone prefix \"TZ=UTC\" is not supported"],
            ),
            (
                "CRON_TZ=Europe/Berlin 0 2 * * *",
                &["time-zone prefix \"CRON_TZ=Europe/Berlin\" is not supported"],
            ),
        ] {
            let error = parse_cron(cron).unwrap_err().to_string();
            assert!(
                error.starts_with(&format!("invalid cron expression {cron:?}: ")),
                "{error}"
            );
            assert!(!error.contains('\n'), "one line: {error}");
            for text in texts {
                assert!(error.contains(text), "{cron:?}: {error} lacks {text:?}");
            }
        }
    }

    #[test]
    fn every_is_at_least_a_minute() {
        for too_often in ["@every 0s", "@every 30s", "@every 59s", "@every 59.9s"] {
            let error = parse_cron(too_often).unwrap_err().to_string();
            assert!(
                error.contains("at least one minute") && error.contains("full system backup"),
                "{error}"
            );
        }
        for ok in [
            "@every 1m",
            "@every 60s",
            "@every 1m0.5s",
            "@every 12h",
            "* * * * *",
        ] {
            parse_cron(ok).unwrap();
        }
    }

    #[test]
    fn a_change_sets_only_what_was_given() {
        let spec = changed_spec(Some("@daily"), None, Some(VolumeBackupPolicy::Always));
        assert_eq!(
            Value::Object(spec),
            json!({"cron": "@daily", "parameters": {"volume-backup-policy": "always"}})
        );
    }
}
