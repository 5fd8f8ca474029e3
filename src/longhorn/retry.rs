//! Retrying a failed SystemBackup. Longhorn never retries one: `Error` is a final state
//! (docs/longhorn-behaviour.md, "SystemBackup"), so a retry is a new SystemBackup with
//! the failed one's spec and labels under a new name.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::error::{Error, Result};
use super::install::Longhorn;
use super::resources::{GROUP, SYSTEM_BACKUP, VERSION};
use super::systembackup::{self as sb, STATE_ERROR};

/// What a retry's name ends with: `NAME-retry-N`.
const RETRY_SUFFIX: &str = "-retry-";

/// The failed SystemBackup `name`, refused unless it is in `Error`.
pub async fn failed_backup(longhorn: &Longhorn, name: &str) -> Result<Value> {
    let namespace = longhorn.namespace();
    let Some(found) = longhorn
        .kube()
        .get_opt(&SYSTEM_BACKUP.object(namespace, name))
        .await?
    else {
        return Err(Error::BackupNotFound(name.to_string()));
    };
    let state = sb::state(&found);
    if state != STATE_ERROR {
        return Err(Error::NotFailed {
            name: name.to_string(),
            state: if state.is_empty() { "new" } else { state }.to_string(),
        });
    }
    Ok(found)
}

/// The names of the SystemBackups in the namespace.
pub async fn taken_names(longhorn: &Longhorn) -> Result<BTreeSet<String>> {
    let items = longhorn
        .kube()
        .list_items(
            &SYSTEM_BACKUP.collection(longhorn.namespace()),
            Default::default(),
        )
        .await?;
    Ok(items.iter().map(|o| sb::name(o).to_string()).collect())
}

/// `NAME-retry-N` with the first N from 1 that no SystemBackup has. A retry of a retry
/// counts on from the original name: `a-retry-1` gives `a-retry-2`.
pub fn retry_name(failed: &str, taken: &BTreeSet<String>) -> String {
    let base = match failed.rsplit_once(RETRY_SUFFIX) {
        Some((base, number))
            if !base.is_empty()
                && !number.is_empty()
                && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            base
        }
        _ => failed,
    };
    (1u64..)
        .map(|n| format!("{base}{RETRY_SUFFIX}{n}"))
        .find(|candidate| !taken.contains(candidate))
        .expect("a free number exists")
}

/// A new SystemBackup `name` with the spec and labels of `failed`.
pub fn retry_object(failed: &Value, name: &str, namespace: &str) -> Value {
    let labels = failed
        .pointer("/metadata/labels")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let spec = failed
        .get("spec")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut object = json!({
        "apiVersion": format!("{GROUP}/{VERSION}"),
        "kind": SYSTEM_BACKUP.kind,
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    });
    if labels.as_object().is_some_and(|l| !l.is_empty()) {
        object["metadata"]["labels"] = labels;
    }
    object
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| n.to_string()).collect()
    }

    #[test]
    fn the_first_free_number_is_used() {
        assert_eq!(retry_name("nightly", &taken(&[])), "nightly-retry-1");
        assert_eq!(
            retry_name("nightly", &taken(&["nightly-retry-1", "nightly-retry-3"])),
            "nightly-retry-2"
        );
    }

    #[test]
    fn a_retry_of_a_retry_counts_on() {
        assert_eq!(retry_name("a-retry-1", &taken(&["a-retry-1"])), "a-retry-2");
        assert_eq!(retry_name("a-retry-x", &taken(&[])), "a-retry-x-retry-1");
        assert_eq!(retry_name("-retry-4", &taken(&[])), "-retry-4-retry-1");
    }

    #[test]
    fn the_retry_keeps_spec_and_labels_and_drops_the_rest() {
        let failed = json!({
            "metadata": {"name": "a", "namespace": "ns", "uid": "u", "resourceVersion": "7",
                         "finalizers": ["longhorn.io"],
                         "labels": {"recurring-job.longhorn.io/system-backup": "nightly"}},
            "spec": {"volumeBackupPolicy": "always"},
            "status": {"state": "Error"}
        });
        assert_eq!(
            retry_object(&failed, "a-retry-1", "ns"),
            json!({
                "apiVersion": "longhorn.io/v1beta2",
                "kind": "SystemBackup",
                "metadata": {"name": "a-retry-1", "namespace": "ns",
                             "labels": {"recurring-job.longhorn.io/system-backup": "nightly"}},
                "spec": {"volumeBackupPolicy": "always"}
            })
        );
    }
}
