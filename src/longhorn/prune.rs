//! Which SystemBackups `prune` deletes. A backup is kept when any rule keeps it:
//! it is one of the `--keep-last` newest, it is younger than `--older-than`, it was
//! made by a RecurringJob (whose `retain` prunes it, unless `--include-scheduled`),
//! Longhorn is still making or deleting it, or it is the newest Ready backup of the
//! namespace (the one a restore would reach for first). Everything else goes.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::systembackup::{self as sb, STATE_ERROR, STATE_READY};

/// The rules, as the flags give them. At least one of `keep_last` and `older_than`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rules {
    pub keep_last: Option<usize>,
    pub older_than: Option<Duration>,
    pub include_scheduled: bool,
}

/// Why a backup stays or goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Made by this RecurringJob: its `retain` prunes it.
    Scheduled(String),
    /// Longhorn is still working on it (this state).
    InProgress(String),
    /// The newest Ready backup of the namespace.
    NewestReady,
    /// One of the `keep_last` newest.
    AmongNewest(usize),
    /// Younger than `older_than`.
    Younger(Duration),
    /// Older than `older_than`, and (when given) not among the `keep_last` newest.
    Pruned {
        keep_last: Option<usize>,
        older_than: Option<Duration>,
    },
}

impl Reason {
    pub fn prunes(&self) -> bool {
        matches!(self, Reason::Pruned { .. })
    }

    /// One line for the plan.
    pub fn describe(&self) -> String {
        match self {
            Reason::Scheduled(job) => format!(
                "made by RecurringJob {job}: its retain prunes it (--include-scheduled to include)"
            ),
            Reason::InProgress(state) => format!("Longhorn is still working on it ({state})"),
            Reason::NewestReady => "the newest Ready backup".into(),
            Reason::AmongNewest(n) => format!("one of the {n} newest"),
            Reason::Younger(d) => format!("younger than {}", go_duration(*d)),
            Reason::Pruned {
                keep_last,
                older_than,
            } => {
                let mut why = Vec::new();
                if let Some(n) = keep_last {
                    why.push(format!("not one of the {n} newest"));
                }
                if let Some(d) = older_than {
                    why.push(format!("older than {}", go_duration(*d)));
                }
                why.join(", ")
            }
        }
    }
}

/// A backup and what prune does with it.
#[derive(Debug, Clone)]
pub struct Decision {
    pub backup: Value,
    /// When it was taken ([`sb::taken_at`]).
    pub taken: Option<Timestamp>,
    pub reason: Reason,
}

/// The decision for every backup, newest first.
pub fn plan(backups: Vec<Value>, rules: Rules, now: Timestamp) -> Vec<Decision> {
    let mut backups: Vec<(Option<Timestamp>, Value)> =
        backups.into_iter().map(|b| (sb::taken_at(&b), b)).collect();
    // Newest first; a backup with no time at all counts as the newest (it keeps).
    backups.sort_by(|(ta, a), (tb, b)| {
        let key = |t: &Option<Timestamp>| t.map_or(i128::MAX, |t| t.as_nanosecond());
        key(tb)
            .cmp(&key(ta))
            .then_with(|| sb::name(a).cmp(sb::name(b)))
    });
    let newest_ready = backups
        .iter()
        .position(|(_, b)| sb::state(b) == STATE_READY && sb::deletion_timestamp(b).is_none());
    let mut considered = 0;
    backups
        .into_iter()
        .enumerate()
        .map(|(index, (taken, backup))| {
            let reason = decide(&backup, taken, rules, now, newest_ready == Some(index), {
                let candidate = is_candidate(&backup, rules);
                if candidate {
                    considered += 1;
                }
                considered
            });
            Decision {
                backup,
                taken,
                reason,
            }
        })
        .collect()
}

/// Whether the age rules apply to it at all (`keep_last` counts these).
fn is_candidate(backup: &Value, rules: Rules) -> bool {
    (rules.include_scheduled || sb::recurring_job(backup).is_none())
        && matches!(sb::state(backup), STATE_READY | STATE_ERROR)
        && sb::deletion_timestamp(backup).is_none()
}

fn decide(
    backup: &Value,
    taken: Option<Timestamp>,
    rules: Rules,
    now: Timestamp,
    newest_ready: bool,
    rank: usize,
) -> Reason {
    if let Some(job) = sb::recurring_job(backup).filter(|_| !rules.include_scheduled) {
        return Reason::Scheduled(job.to_string());
    }
    let state = sb::state(backup);
    if !matches!(state, STATE_READY | STATE_ERROR) || sb::deletion_timestamp(backup).is_some() {
        let state = if sb::deletion_timestamp(backup).is_some() {
            "Deleting"
        } else if state.is_empty() {
            "not started"
        } else {
            state
        };
        return Reason::InProgress(state.to_string());
    }
    if newest_ready {
        return Reason::NewestReady;
    }
    if let Some(n) = rules.keep_last.filter(|n| rank <= *n) {
        return Reason::AmongNewest(n);
    }
    if let Some(limit) = rules.older_than {
        let age = taken.map(|t| now.duration_since(t));
        let younger = age
            .is_none_or(|age| age < SignedDuration::try_from(limit).unwrap_or(SignedDuration::MAX));
        if younger {
            return Reason::Younger(limit);
        }
    }
    Reason::Pruned {
        keep_last: rules.keep_last,
        older_than: rules.older_than,
    }
}

/// A duration as the flags print it (`168h`).
fn go_duration(duration: Duration) -> String {
    crate::go::HumanDuration(duration).to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const NOW: &str = "2026-12-04T12:00:00Z";

    fn backup(name: &str, state: &str, days_ago: i64, job: Option<&str>) -> Value {
        let now: Timestamp = NOW.parse().unwrap();
        let taken = now - SignedDuration::from_hours(24 * days_ago);
        let mut b = json!({
            "metadata": {"name": name, "creationTimestamp": taken.to_string()},
            "status": {"state": state},
        });
        if state == STATE_READY {
            b["status"]["createdAt"] = json!(taken.to_string());
        }
        if let Some(job) = job {
            b["metadata"]["labels"] = json!({"recurring-job.longhorn.io/system-backup": job});
        }
        b
    }

    fn decisions(backups: Vec<Value>, rules: Rules) -> Vec<(String, Reason)> {
        plan(backups, rules, NOW.parse().unwrap())
            .into_iter()
            .map(|d| (sb::name(&d.backup).to_string(), d.reason))
            .collect()
    }

    fn days(n: u64) -> Duration {
        Duration::from_secs(n * 24 * 3600)
    }

    #[test]
    fn keep_last_counts_only_what_may_go() {
        let rules = Rules {
            keep_last: Some(2),
            ..Rules::default()
        };
        let got = decisions(
            vec![
                backup("d", STATE_READY, 4, None),
                backup("a", STATE_READY, 1, None),
                backup("sched", STATE_READY, 0, Some("nightly")),
                backup("c", STATE_ERROR, 3, None),
                backup("b", "Generating", 2, None),
                backup("e", STATE_READY, 5, None),
            ],
            rules,
        );
        let pruned = |keep_last| Reason::Pruned {
            keep_last,
            older_than: None,
        };
        assert_eq!(
            got,
            vec![
                ("sched".into(), Reason::Scheduled("nightly".into())),
                // The newest Ready backup is the scheduled one.
                ("a".into(), Reason::AmongNewest(2)),
                ("b".into(), Reason::InProgress("Generating".into())),
                ("c".into(), Reason::AmongNewest(2)),
                ("d".into(), pruned(Some(2))),
                ("e".into(), pruned(Some(2))),
            ]
        );
    }

    #[test]
    fn the_newest_ready_backup_stays_whatever_the_rules() {
        let rules = Rules {
            older_than: Some(days(1)),
            include_scheduled: true,
            ..Rules::default()
        };
        let got = decisions(
            vec![
                backup("failed", STATE_ERROR, 2, None),
                backup("only-good", STATE_READY, 30, Some("weekly")),
            ],
            rules,
        );
        assert_eq!(got[0].0, "failed");
        assert!(got[0].1.prunes());
        assert_eq!(got[1], ("only-good".into(), Reason::NewestReady));
    }

    #[test]
    fn both_rules_must_agree_to_prune() {
        let rules = Rules {
            keep_last: Some(1),
            older_than: Some(days(7)),
            include_scheduled: false,
        };
        let got = decisions(
            vec![
                backup("new", STATE_READY, 0, None),
                backup("week-old", STATE_READY, 6, None),
                backup("month-old", STATE_READY, 30, None),
            ],
            rules,
        );
        assert_eq!(got[1], ("week-old".into(), Reason::Younger(days(7))));
        assert_eq!(
            got[2].1.describe(),
            "not one of the 1 newest, older than 168h"
        );
    }

    #[test]
    fn deleting_and_unstarted_backups_are_left_to_longhorn() {
        let mut going = backup("going", STATE_READY, 9, None);
        going["metadata"]["deletionTimestamp"] = json!(NOW);
        let fresh = json!({"metadata": {"name": "fresh"}});
        let got = decisions(
            vec![going, fresh],
            Rules {
                older_than: Some(Duration::ZERO),
                ..Rules::default()
            },
        );
        assert_eq!(
            got,
            vec![
                ("fresh".into(), Reason::InProgress("not started".into())),
                ("going".into(), Reason::InProgress("Deleting".into())),
            ]
        );
    }
}
