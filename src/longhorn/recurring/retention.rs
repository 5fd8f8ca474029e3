//! Longhorn's retention of a RecurringJob's SystemBackups: after each run it keeps the
//! newest `retain` and deletes the rest, oldest first by `status.createdAt`
//! (docs/longhorn-behaviour.md, "RecurringJobs").

use serde_json::Value;

use crate::longhorn::systembackup::{self as sb, STATE_ERROR, STATE_READY};
use crate::longhorn::version::LonghornVersion;

/// Whether this Longhorn's retention counts only Ready and Error backups
/// (longhorn/longhorn#13203, fixed in v1.11.3 and v1.12.1).
pub fn filters_states(version: LonghornVersion) -> bool {
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
        .filter(|b| !filters_states(version) || matches!(sb::state(b), STATE_READY | STATE_ERROR))
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
        assert!(filters_states("v1.11.3".parse().unwrap()));
        assert!(!filters_states("v1.11.1".parse().unwrap()));
    }
}
