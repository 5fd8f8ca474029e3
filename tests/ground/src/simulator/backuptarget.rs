//! The BackupTarget controller (simulator-spec.md §6.5): availability, polling timer,
//! and the sync of SystemBackup CRs with the store for target `default`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tokio::task::AbortHandle;
use tracing::{debug, warn};

use super::cron::go_parse_duration;
use super::engine::{now_seconds, rfc3339_seconds};
use super::object::{flag, is_deleting, name, set_condition, status_mut, text};
use super::{Retry, Sim, is_conflict, kube_message, run_controller};
use crate::longhorn::{
    API_VERSION, DEFAULT_BACKUP_TARGET, FINALIZER, Kind, LABEL_DELETE_CR_ONLY, LABEL_VERSION,
};

struct BackupTargets {
    sim: Arc<Sim>,
    /// name → (poll interval, the task that bumps `spec.syncRequestedAt`)
    timers: Mutex<HashMap<String, (Duration, AbortHandle)>>,
}

pub(crate) async fn run(sim: Arc<Sim>) {
    let controller = Arc::new(BackupTargets {
        sim: sim.clone(),
        timers: Mutex::default(),
    });
    tokio::spawn(follow_knobs(sim.clone()));
    run_controller(&sim, Kind::BackupTarget, controller, reconcile).await;
}

/// A change of the store or engine-image knobs acts like a poll tick on `default`,
/// so a test sees the effect without waiting for the poll interval.
async fn follow_knobs(sim: Arc<Sim>) {
    let mut changes = sim.knobs.subscribe();
    let mut seen = (
        sim.knobs.get().store_failure,
        sim.knobs.get().engine_image_deployed,
    );
    while changes.changed().await.is_ok() {
        let knobs = sim.knobs.get();
        let now = (knobs.store_failure, knobs.engine_image_deployed);
        if now != seen {
            seen = now;
            request_sync(&sim, DEFAULT_BACKUP_TARGET).await;
        }
    }
}

/// Sets `spec.syncRequestedAt` as the timer does. The time is at least one second
/// after `status.lastSyncedAt` (Longhorn compares at second precision, strictly) and
/// after the previous request (so the object changes and the controller hears of it).
pub(crate) async fn request_sync(sim: &Sim, target: &str) {
    let Ok(Some(current)) = sim.get(Kind::BackupTarget, target).await else {
        return;
    };
    let mut at = jiff::Timestamp::now();
    for pointer in ["/status/lastSyncedAt", "/spec/syncRequestedAt"] {
        if let Ok(earlier) = text(&current, pointer).parse::<jiff::Timestamp>() {
            at = at.max(earlier + jiff::SignedDuration::from_secs(1));
        }
    }
    let patch = json!({"spec": {"syncRequestedAt": rfc3339_seconds(at)}});
    if let Err(e) = sim
        .api(Kind::BackupTarget)
        .patch(target, &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        warn!(
            "requesting a sync of backup target {target}: {}",
            kube_message(&e)
        );
    }
}

fn normalized_status(object: &mut DynamicObject) -> &mut serde_json::Map<String, Value> {
    let status = status_mut(object);
    if !status.get("ownerID").is_some_and(Value::is_string) {
        status.insert("ownerID".into(), json!(""));
    }
    if !status.get("available").is_some_and(Value::is_boolean) {
        status.insert("available".into(), json!(false));
    }
    status.entry("conditions").or_insert(Value::Null);
    status.entry("lastSyncedAt").or_insert(Value::Null);
    status
}

fn time_at(object: &DynamicObject, pointer: &str) -> Option<jiff::Timestamp> {
    text(object, pointer).parse().ok()
}

async fn reconcile(
    target: Arc<DynamicObject>,
    controller: Arc<BackupTargets>,
) -> Result<Action, Retry> {
    let sim = &controller.sim;
    // The manager is responsible only when the default engine image is deployed.
    if !sim.knobs.get().engine_image_deployed {
        return Ok(Action::await_change());
    }
    let mut target = (*target).clone();
    let target_name = name(&target);
    if text(&target, "/status/ownerID") != sim.node_id {
        normalized_status(&mut target).insert("ownerID".into(), json!(sim.node_id));
        target = match sim
            .api(Kind::BackupTarget)
            .replace_status(&target_name, &PostParams::default(), &target)
            .await
        {
            Ok(updated) => updated,
            Err(e) if is_conflict(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(e.into()),
        };
    }
    if is_deleting(&target) {
        controller.stop_timer(&target_name);
        if target_name == DEFAULT_BACKUP_TARGET {
            delete_all_system_backups(sim).await?;
        }
        let mut latest = target.clone();
        latest
            .metadata
            .finalizers
            .get_or_insert_with(Vec::new)
            .retain(|f| f != FINALIZER);
        sim.api(Kind::BackupTarget)
            .replace(&target_name, &PostParams::default(), &latest)
            .await?;
        return Ok(Action::await_change());
    }
    let url = text(&target, "/spec/backupTargetURL").to_string();
    controller.manage_timer(&target_name, &url, text(&target, "/spec/pollInterval"));

    let last_synced = time_at(&target, "/status/lastSyncedAt");
    let requested = time_at(&target, "/spec/syncRequestedAt");
    let sync_required = match (last_synced, requested) {
        (None, _) => true,
        (Some(last), Some(requested)) => requested > last,
        (Some(_), None) => false,
    };
    // v1.12 also always reconciles an empty URL.
    if !(sync_required || sim.version.at_least(12) && url.is_empty()) {
        return Ok(Action::await_change());
    }
    let sync_time = now_seconds();
    let before = target.clone();
    let was_available = flag(&target, "/status/available");

    if url.is_empty() {
        controller.stop_timer(&target_name);
        let status = normalized_status(&mut target);
        status.insert("available".into(), json!(false));
        set_condition(
            status,
            "Unavailable",
            "True",
            "Unavailable",
            "backup target URL is empty",
        );
        if sim.version.at_least(12) {
            status.insert("lastSyncedAt".into(), Value::Null);
        }
        save_status(sim, &before, target).await?;
        if target_name == DEFAULT_BACKUP_TARGET {
            delete_all_system_backups(sim).await?;
        }
        return Ok(Action::await_change());
    }

    let engine_image = sim.default_engine_image().await.unwrap_or_default();
    let probe = match sim.backup_target_client_error(&target).await {
        Some(error) if sim.version.at_least(11) => {
            return Err(Retry(format!(
                "failed to init backup target clients: {error}"
            )));
        }
        Some(error) => Err(format!("failed to init backup target clients: {error}")),
        None => probe_store(sim, &engine_image, &url).await,
    };
    let remote = match probe {
        Ok(remote) => remote,
        Err(message) => {
            let status = normalized_status(&mut target);
            status.insert("available".into(), json!(false));
            set_condition(status, "Unavailable", "True", "Unavailable", &message);
            save_status(sim, &before, target).await?;
            return Ok(Action::await_change());
        }
    };
    {
        let status = normalized_status(&mut target);
        status.insert("available".into(), json!(true));
        set_condition(status, "Unavailable", "False", "", "");
    }
    if sim.version.at_least(10) && !was_available {
        // v1.10+: the first successful contact only flips availability; the status
        // update triggers the pass that syncs.
        save_status(sim, &before, target).await?;
        return Ok(Action::await_change());
    }
    if target_name == DEFAULT_BACKUP_TARGET {
        let remote = if sim.version.at_least(11) {
            sim.engine.list(&engine_image, &url).await.map_err(Retry)?
        } else {
            remote
        };
        sync_system_backups(sim, &target, &remote).await?;
    }
    normalized_status(&mut target).insert("lastSyncedAt".into(), json!(sync_time));
    save_status(sim, &before, target).await?;
    Ok(Action::await_change())
}

/// Contacts the store as the version does; the error text becomes the Unavailable
/// condition's message.
async fn probe_store(
    sim: &Sim,
    engine_image: &str,
    url: &str,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    if !sim.version.at_least(10) {
        sim.engine
            .list_backup_volumes(engine_image, url)
            .await
            .map_err(|e| format!("failed to list backup volumes in {url}: {e}"))?;
    }
    sim.engine
        .list(engine_image, url)
        .await
        .map_err(|e| format!("failed to list system backups in {url}: {e}"))
}

async fn save_status(
    sim: &Sim,
    before: &DynamicObject,
    mut target: DynamicObject,
) -> Result<(), Retry> {
    let mut old = before.clone();
    let unchanged = Value::Object(normalized_status(&mut old).clone())
        == Value::Object(normalized_status(&mut target).clone());
    if !unchanged {
        sim.api(Kind::BackupTarget)
            .replace_status(&name(&target), &PostParams::default(), &target)
            .await?;
    }
    Ok(())
}

/// `syncSystemBackup`: a CR for each remote backup without a Ready CR; Ready CRs gone
/// from the store are deleted without touching the store.
async fn sync_system_backups(
    sim: &Sim,
    target: &DynamicObject,
    remote: &std::collections::BTreeMap<String, String>,
) -> Result<(), Retry> {
    let backups = sim
        .api(Kind::SystemBackup)
        .list(&ListParams::default())
        .await?;
    let ready: BTreeSet<String> = backups
        .items
        .iter()
        .filter(|b| text(b, "/status/state") == "Ready")
        .map(name)
        .collect();
    for (remote_name, uri) in remote {
        if ready.contains(remote_name) {
            continue;
        }
        let version = uri.rsplit('/').nth(1).unwrap_or_default();
        let backup: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION,
            "kind": "SystemBackup",
            "metadata": {
                "name": remote_name,
                "labels": {LABEL_VERSION: version},
                "ownerReferences": [{
                    "apiVersion": API_VERSION,
                    "kind": "BackupTarget",
                    "name": name(target),
                    "uid": target.metadata.uid,
                }],
            },
            // Go serializes the empty spec struct; without it the mutator's policy
            // default could not apply.
            "spec": {"volumeBackupPolicy": ""},
        }))
        .expect("a valid SystemBackup");
        match sim
            .api(Kind::SystemBackup)
            .create(&PostParams::default(), &backup)
            .await
        {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => {
                return Err(Retry(format!(
                    "failed to create SystemBackup {remote_name}: {}",
                    kube_message(&e)
                )));
            }
        }
    }
    for gone in ready.iter().filter(|n| !remote.contains_key(*n)) {
        delete_custom_resource_only(sim, gone).await?;
    }
    Ok(())
}

/// `AddSystemBackupDeleteCustomResourceOnlyLabel` (Get, full Update) then Delete.
async fn delete_custom_resource_only(sim: &Sim, backup: &str) -> Result<(), Retry> {
    let api = sim.api(Kind::SystemBackup);
    if let Some(mut latest) = sim.get(Kind::SystemBackup, backup).await?
        && latest
            .metadata
            .labels
            .as_ref()
            .is_none_or(|l| !l.contains_key(LABEL_DELETE_CR_ONLY))
    {
        latest
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(LABEL_DELETE_CR_ONLY.into(), "true".into());
        api.replace(backup, &PostParams::default(), &latest).await?;
    }
    match api.delete(backup, &DeleteParams::default()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `cleanUpAllBackupRelatedResources` for `default`: every SystemBackup CR goes,
/// the store untouched.
async fn delete_all_system_backups(sim: &Sim) -> Result<(), Retry> {
    let backups = sim
        .api(Kind::SystemBackup)
        .list(&ListParams::default())
        .await?;
    for backup in &backups.items {
        delete_custom_resource_only(sim, &name(backup)).await?;
    }
    Ok(())
}

impl BackupTargets {
    fn stop_timer(&self, target: &str) {
        if let Some((_, handle)) = self.timers.lock().expect("timers lock").remove(target) {
            handle.abort();
        }
    }

    /// Runs a timer that requests a sync every poll interval while the URL is set.
    fn manage_timer(&self, target: &str, url: &str, poll_interval: &str) {
        let interval = go_parse_duration(poll_interval)
            .ok()
            .filter(|n| *n > 0)
            .map(|n| Duration::from_nanos(n as u64));
        let mut timers = self.timers.lock().expect("timers lock");
        if let Some((running, handle)) = timers.get(target)
            && (Some(*running) != interval || url.is_empty())
        {
            handle.abort();
            timers.remove(target);
        }
        let (Some(interval), false) = (interval, url.is_empty()) else {
            return;
        };
        if timers.contains_key(target) {
            return;
        }
        let sim = self.sim.clone();
        let name = target.to_string();
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(interval).await;
                debug!("poll interval of backup target {name} elapsed");
                request_sync(&sim, &name).await;
            }
        });
        timers.insert(target.to_string(), (interval, task.abort_handle()));
    }
}
