//! RecurringJobs of task `system-backup` (longhorn-system-backup.md §6): their rules,
//! the SystemBackups they own, and which of those Longhorn's retention deletes next.

use serde_json::Value;

use super::LonghornVersion;
use super::resources::SETTING_MAX_RETENTION;
use super::systembackup::{self as sb, STATE_ERROR, STATE_READY};
use crate::error::{Error, Result};
use crate::object;

pub const TASK: &str = "system-backup";
pub const PARAMETER_POLICY: &str = "volume-backup-policy";
/// Longhorn's default for `recurring-job-max-retention` (§6.2).
pub const DEFAULT_MAX_RETENTION: i64 = 100;
pub const NAME_MAX_LEN: usize = 40;

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
    Err(Error::invalid(format!(
        "invalid RecurringJob name {name:?}: use 2 to {NAME_MAX_LEN} lower case letters, digits, '-' or '.', starting and ending with a letter or digit, e.g. nightly-system-backup"
    )))
}

/// `retain` must be at least 1 (Longhorn would silently raise it) and at most the
/// cluster's `recurring-job-max-retention` (Longhorn rejects more).
pub fn check_retain(retain: i64, max: i64) -> Result<()> {
    if retain < 1 {
        return Err(Error::invalid(format!(
            "--retain {retain} keeps no backup; give a number from 1 to {max} (the cluster's {SETTING_MAX_RETENTION})"
        )));
    }
    if retain > max {
        return Err(Error::invalid(format!(
            "--retain {retain} is above the cluster's {SETTING_MAX_RETENTION} ({max}); Longhorn would reject it (retain value should be less than or equal to {max}): give at most {max}, or raise the setting"
        )));
    }
    Ok(())
}

/// The task exists from Longhorn v1.9.0 (§8).
pub fn check_version(version: LonghornVersion) -> Result<()> {
    if version.at_least(1, 9) {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "this cluster runs Longhorn {version}; recurring system backups (RecurringJob task system-backup) exist from Longhorn v1.9.0: upgrade Longhorn, or run `kubectl longhorn systembackup create` from your own scheduler"
    )))
}

/// Whether this Longhorn's retention counts only Ready and Error backups
/// (longhorn/longhorn#13203, fixed in v1.11.3 and v1.12.1; §6.3).
pub fn retention_filters_states(version: LonghornVersion) -> bool {
    (version.major, version.minor) > (1, 12)
        || (version.major, version.minor) == (1, 12) && version.patch >= 1
        || (version.major, version.minor) == (1, 11) && version.patch >= 3
}

/// The backups a job owns, oldest first by `status.createdAt` as Longhorn sorts them
/// (a zero or missing time sorts first).
pub fn owned_oldest_first<'a>(backups: &'a [Value], job: &str) -> Vec<&'a Value> {
    let mut owned: Vec<&Value> = backups
        .iter()
        .filter(|b| sb::recurring_job(b) == Some(job))
        .collect();
    owned.sort_by(|a, b| {
        sb::created_at(a)
            .unwrap_or("")
            .cmp(sb::created_at(b).unwrap_or(""))
    });
    owned
}

/// What the next run's clean-up would delete: after the new backup finishes, Longhorn
/// keeps the newest `retain` of the counted backups and deletes the rest, oldest first.
pub fn deleted_by_next_run<'a>(
    owned: &[&'a Value],
    retain: i64,
    version: LonghornVersion,
) -> Vec<&'a Value> {
    let counted: Vec<&Value> = owned
        .iter()
        .copied()
        .filter(|b| {
            !retention_filters_states(version) || matches!(sb::state(b), STATE_READY | STATE_ERROR)
        })
        .collect();
    // The next run adds one backup, newer than all of these.
    let excess = (counted.len() as i64 + 1 - retain.max(1)).max(0) as usize;
    counted.into_iter().take(excess).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn backup(name: &str, state: &str, created: &str) -> Value {
        json!({"metadata": {"name": name, "labels": {"recurring-job.longhorn.io/system-backup": "nightly"}},
               "status": {"state": state, "createdAt": created}})
    }

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
                .contains("from 1 to 100")
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
    fn retention_per_version() {
        let all = [
            backup("failed", "Error", "0001-01-01T00:00:00Z"),
            backup("old", "Ready", "2026-01-01T00:00:00Z"),
            backup("running", "Generating", ""),
            backup("new", "Ready", "2026-01-02T00:00:00Z"),
        ];
        let owned = owned_oldest_first(&all, "nightly");
        let names = |v: Vec<&Value>| {
            v.iter()
                .map(|b| sb::name(b).to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(names(owned.clone()), ["failed", "running", "old", "new"]);
        // v1.12.0 counts every backup, in-flight ones included (#13203 not fixed yet).
        assert_eq!(
            names(deleted_by_next_run(&owned, 2, "v1.12.0".parse().unwrap())),
            ["failed", "running", "old"]
        );
        // v1.12.1 counts only Ready and Error.
        assert_eq!(
            names(deleted_by_next_run(&owned, 2, "v1.12.1".parse().unwrap())),
            ["failed", "old"]
        );
        assert!(deleted_by_next_run(&owned, 10, "v1.12.1".parse().unwrap()).is_empty());
        assert!(retention_filters_states("v1.11.3".parse().unwrap()));
        assert!(!retention_filters_states("v1.11.1".parse().unwrap()));
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
}
