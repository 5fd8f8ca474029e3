//! Builders for the Longhorn objects tests create.

use kube::api::DynamicObject;
use serde_json::{Value, json};

use crate::longhorn::API_VERSION;

fn object(value: Value) -> DynamicObject {
    serde_json::from_value(value).expect("a valid object")
}

/// A SystemBackup; `policy: None` leaves `spec.volumeBackupPolicy` unset.
pub fn system_backup(name: &str, policy: Option<&str>) -> DynamicObject {
    let mut spec = json!({});
    if let Some(policy) = policy {
        spec["volumeBackupPolicy"] = json!(policy);
    }
    object(
        json!({"apiVersion": API_VERSION, "kind": "SystemBackup", "metadata": {"name": name}, "spec": spec}),
    )
}

/// A RecurringJob with task `system-backup` (valid from Longhorn v1.9.0).
pub fn system_backup_job(name: &str, cron: &str, retain: i64, parameters: Value) -> DynamicObject {
    recurring_job(name, "system-backup", cron, retain, parameters)
}

pub fn recurring_job(
    name: &str,
    task: &str,
    cron: &str,
    retain: i64,
    parameters: Value,
) -> DynamicObject {
    object(json!({
        "apiVersion": API_VERSION,
        "kind": "RecurringJob",
        "metadata": {"name": name},
        "spec": {"name": name, "task": task, "cron": cron, "retain": retain, "concurrency": 1, "parameters": parameters},
    }))
}

pub fn system_restore(name: &str, system_backup: &str) -> DynamicObject {
    object(json!({
        "apiVersion": API_VERSION,
        "kind": "SystemRestore",
        "metadata": {"name": name},
        "spec": {"systemBackup": system_backup},
    }))
}
