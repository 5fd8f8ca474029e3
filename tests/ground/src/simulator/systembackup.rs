//! The SystemBackup controller (simulator-spec.md §3, longhorn-system-backup.md §2).

use std::sync::Arc;
use std::time::Duration;

use kube::api::{DynamicObject, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tracing::{debug, warn};

use super::engine::{UploadRequest, now_seconds, rfc3339_seconds};
use super::events::{EventRecorder, SYSTEM_BACKUP_COMPONENT, capitalize_first_letter};
use super::object::{self, is_deleting, label, name, set_condition, status_mut, text, uid};
use super::steps::Steps;
use super::{Retry, Sim, bundle, is_conflict, kube_message, run_controller, volumes};
use crate::longhorn::{
    DEFAULT_BACKUP_TARGET, FINALIZER, Kind, LABEL_DELETE_CR_ONLY, LABEL_VERSION,
};

pub(crate) const MSG_STARTING: &str = "Starting system backup";

struct SystemBackups {
    sim: Arc<Sim>,
    steps: Arc<Steps>,
    events: EventRecorder,
}

pub(crate) async fn run(sim: Arc<Sim>) {
    let events = EventRecorder::new(sim.client.clone(), SYSTEM_BACKUP_COMPONENT, &sim.version);
    let controller = Arc::new(SystemBackups {
        sim: sim.clone(),
        steps: Arc::default(),
        events,
    });
    run_controller(&sim, Kind::SystemBackup, controller, reconcile).await;
}

/// A status change with its event, as `systemBackupRecord` (§3.2).
#[derive(Clone, Debug)]
pub(crate) struct Record {
    error: bool,
    state: &'static str,
    reason: String,
    message: String,
    fields: Vec<(&'static str, Value)>,
}

impl Record {
    pub fn normal(state: &'static str, reason: &str, message: &str) -> Self {
        Self {
            error: false,
            state,
            reason: reason.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn error(reason: &str, message: &str) -> Self {
        Self {
            error: true,
            state: "Error",
            reason: reason.into(),
            message: message.into(),
            fields: Vec::new(),
        }
    }

    pub fn with(mut self, field: &'static str, value: Value) -> Self {
        self.fields.push((field, value));
        self
    }
}

/// Longhorn serializes the whole status struct on every write; `createdAt` is
/// omitted while zero because the CRD prunes a null there.
fn normalized_status(object: &mut DynamicObject) -> &mut serde_json::Map<String, Value> {
    let status = status_mut(object);
    for key in ["ownerID", "version", "gitCommit", "managerImage", "state"] {
        if !status.get(key).is_some_and(Value::is_string) {
            status.insert(key.into(), json!(""));
        }
    }
    for key in ["conditions", "lastSyncedAt"] {
        status.entry(key).or_insert(Value::Null);
    }
    status
}

fn is_final(state: &str) -> bool {
    matches!(state, "Deleting" | "Ready" | "Error")
}

async fn reconcile(
    backup: Arc<DynamicObject>,
    controller: Arc<SystemBackups>,
) -> Result<Action, Retry> {
    let sim = &controller.sim;
    let target = sim.get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET).await?;
    if let Some(target) = &target
        && let Some(error) = sim.backup_target_client_error(target).await
    {
        // Without an engine client Longhorn does nothing at all, not even Deleting.
        return Err(Retry(error));
    }
    let mut backup = (*backup).clone();
    if text(&backup, "/status/ownerID") != sim.node_id {
        normalized_status(&mut backup).insert("ownerID".into(), json!(sim.node_id));
        backup = match sim
            .api(Kind::SystemBackup)
            .replace_status(&name(&backup), &PostParams::default(), &backup)
            .await
        {
            Ok(updated) => updated,
            Err(e) if is_conflict(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(e.into()),
        };
    }
    let state = text(&backup, "/status/state").to_string();
    let id = uid(&backup);
    if is_deleting(&backup) && state != "Deleting" {
        controller.steps.cancel(&id);
        let record = Record::normal(
            "Deleting",
            "Deleting",
            "Deleting system backup in backup target",
        );
        controller.apply(backup, record).await?;
        return Ok(Action::await_change());
    }
    if target.is_none() && !is_final(&state) {
        controller
            .apply(
                backup,
                Record::error("FailedStarting", "failed to get backup target"),
            )
            .await?;
        return Ok(Action::await_change());
    }
    match state.as_str() {
        "Ready" | "Error" => {
            sim.local_bundles
                .lock()
                .expect("bundles lock")
                .remove(&name(&backup));
        }
        ""
        | "Syncing"
        | "CreatingVolumeBackups"
        | "CreatingBackingImageBackups"
        | "Generating"
        | "Uploading"
        | "Deleting" => {
            let work = controller.clone().step(backup, state.clone());
            controller.steps.launch(&id, &state, work);
        }
        _ => debug!("system backup {} in unknown state {state}", name(&backup)),
    }
    Ok(Action::await_change())
}

impl SystemBackups {
    /// One state's work: the knob's delay and fault, then Longhorn's action, then the
    /// resulting record applied if the object is still in that state.
    async fn step(self: Arc<Self>, backup: DynamicObject, state: String) {
        let fault = self
            .sim
            .knobs
            .pass_step(|knobs| knobs.system_backup_fault(&state))
            .await;
        if state == "Deleting" {
            if fault.is_some() {
                warn!(
                    "a Fail fault does not apply to Deleting; Longhorn only logs deletion errors"
                );
            }
            self.delete(&backup).await;
            return;
        }
        let record = match fault {
            Some(message) => Some(fault_record(&state, message)),
            None => self.act(&backup, &state).await,
        };
        if let Some(record) = record {
            self.commit(&backup, &state, record).await;
        }
    }

    async fn act(&self, backup: &DynamicObject, state: &str) -> Option<Record> {
        let sim = &self.sim;
        let target = match sim.get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET).await {
            Ok(Some(target)) => target,
            Ok(None) => {
                return Some(Record::error(
                    "FailedStarting",
                    "failed to get backup target",
                ));
            }
            Err(e) => {
                warn!("reading the backup target: {e}");
                return None;
            }
        };
        let url = text(&target, "/spec/backupTargetURL").to_string();
        let engine_image = sim.default_engine_image().await.unwrap_or_default();
        let name = name(backup);
        match state {
            "" => {
                if label(backup, LABEL_VERSION).is_some_and(|v| !v.is_empty()) {
                    return Some(Record::normal(
                        "Syncing",
                        "Syncing",
                        "Syncing system backup from backup target",
                    ));
                }
                let remote = match sim.engine.list(&engine_image, &url).await {
                    Ok(remote) => remote,
                    Err(e) => {
                        return Some(Record::error(
                            "Start",
                            &format!("failed to list system backups in backup target: {e}"),
                        ));
                    }
                };
                if let Some(uri) = remote.get(&name) {
                    // The name exists remotely: label it and let the next pass sync it.
                    let version = uri.rsplit('/').nth(1).unwrap_or_default().to_string();
                    self.label_version(&name, &version).await;
                    return None;
                }
                Some(
                    Record::normal("CreatingVolumeBackups", "Start", MSG_STARTING)
                        .with("version", json!(sim.version.as_str()))
                        .with("gitCommit", json!(sim.version.git_commit())),
                )
            }
            "Syncing" => {
                let synced = Record::error("Sync", "failed to sync from backup target");
                let version = label(backup, LABEL_VERSION).unwrap_or_default();
                if version.is_empty() {
                    return Some(synced);
                }
                match sim
                    .engine
                    .get_config(&engine_image, &name, version, &url)
                    .await
                {
                    Ok(Some(config)) => {
                        let created_at = config
                            .created_at
                            .parse::<jiff::Timestamp>()
                            .map(rfc3339_seconds)
                            .unwrap_or(config.created_at.clone());
                        Some(
                            Record::normal(
                                "Ready",
                                "Synced",
                                "Synced system backup from backup target",
                            )
                            .with("version", json!(config.longhorn_version))
                            .with("gitCommit", json!(config.longhorn_git_commit))
                            .with("managerImage", json!(config.manager_image))
                            .with("createdAt", json!(created_at)),
                        )
                    }
                    Ok(None) | Err(_) => Some(synced),
                }
            }
            "CreatingVolumeBackups" => {
                let policy = text(backup, "/spec/volumeBackupPolicy");
                let result = match volumes::back_up_volumes(sim, policy).await {
                    Ok(backups) => volumes::wait_for_backups(sim, &backups).await,
                    Err(e) => Err(e),
                };
                Some(match result {
                    Ok(()) => Record::normal("CreatingBackingImageBackups", "Start", MSG_STARTING),
                    Err(e) => Record::error("Start", &e),
                })
            }
            "CreatingBackingImageBackups" => {
                Some(match volumes::back_up_backing_images(sim).await {
                    Ok(()) => Record::normal("Generating", "Start", MSG_STARTING),
                    Err(e) => Record::error("Start", &e),
                })
            }
            "Generating" => Some(match bundle::generate(sim, &name).await {
                Ok(zip) => {
                    sim.local_bundles
                        .lock()
                        .expect("bundles lock")
                        .insert(name.clone(), zip);
                    Record::normal(
                        "Uploading",
                        "Generate",
                        &format!("Created system backup file: /tmp/{name}.zip"),
                    )
                }
                Err(e) => Record::error("Generate", &e),
            }),
            "Uploading" => Some(self.upload(backup, &url).await),
            _ => None,
        }
    }

    /// `UploadSystemBackup` (§5.3): until the cfg exists remotely, upload every tick;
    /// "already exists" counts as done-by-someone-else.
    async fn upload(&self, backup: &DynamicObject, url: &str) -> Record {
        let sim = &self.sim;
        let engine_image = match sim.default_engine_image().await {
            Ok(image) => image,
            Err(e) => {
                return Record::error(
                    "Upload",
                    &format!("failed to get default engine image: {e}"),
                );
            }
        };
        let name = name(backup);
        let version = text(backup, "/status/version");
        let git_commit = text(backup, "/status/gitCommit");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(3600);
        let mut last_error: Option<String>;
        loop {
            match sim
                .engine
                .get_config(&engine_image, &name, version, url)
                .await
            {
                Ok(Some(_)) => {
                    return Record::normal(
                        "Ready",
                        "Upload",
                        "Uploaded system backup to backup target",
                    )
                    .with("managerImage", json!(sim.manager_image))
                    .with("createdAt", json!(now_seconds()));
                }
                Err(e) => last_error = Some(format!("failed to get system backup config: {e}")),
                Ok(None) => {
                    let zip = sim
                        .local_bundles
                        .lock()
                        .expect("bundles lock")
                        .get(&name)
                        .cloned();
                    last_error = match zip {
                        // The generated file is gone (e.g. the simulator restarted).
                        None => Some(format!(
                            "error uploading system backup from /tmp/{name}.zip: stat /tmp/{name}.zip: no such file or directory"
                        )),
                        Some(zip) => {
                            let request = UploadRequest {
                                name: &name,
                                version,
                                target_url: url,
                                git_commit,
                                manager_image: &sim.manager_image,
                                engine_image: &engine_image,
                                zip,
                            };
                            match sim.engine.upload(request).await {
                                Err(e) if e.contains("already exists") => None,
                                Err(e) => Some(e),
                                Ok(()) => None,
                            }
                        }
                    };
                }
            }
            if tokio::time::Instant::now() > deadline {
                return match last_error {
                    Some(e) => {
                        Record::error("Upload", &format!("timeout uploading system backup: {e}"))
                    }
                    // errors.Wrap(nil) is nil: Longhorn then calls it Ready.
                    None => {
                        Record::normal("Ready", "Upload", "Uploaded system backup to backup target")
                            .with("managerImage", json!(sim.manager_image))
                            .with("createdAt", json!(now_seconds()))
                    }
                };
            }
            // Longhorn ticks every second; the ground ticks at the step delay so tests
            // stay fast.
            tokio::time::sleep(sim.knobs.get().step_delay.max(Duration::from_millis(10))).await;
        }
    }

    /// `Deleting`: remote cleanup when Longhorn would do it, then the finalizer goes.
    async fn delete(&self, backup: &DynamicObject) {
        let sim = &self.sim;
        let name = name(backup);
        if let Err(e) = self.delete_remote(backup).await {
            debug!("system backup {name}: remote cleanup skipped or failed: {e}");
        }
        sim.local_bundles
            .lock()
            .expect("bundles lock")
            .remove(&name);
        for _ in 0..5 {
            let Ok(Some(mut latest)) = sim.get(Kind::SystemBackup, &name).await else {
                return;
            };
            let finalizers = latest.metadata.finalizers.get_or_insert_with(Vec::new);
            finalizers.retain(|f| f != FINALIZER);
            match sim
                .api(Kind::SystemBackup)
                .replace(&name, &PostParams::default(), &latest)
                .await
            {
                Err(e) if is_conflict(&e) => continue,
                _ => return,
            }
        }
    }

    /// `cleanupRemoteSystemBackupFiles` with `checkIfRemoteDataCleanupIsNeeded` (§3.3).
    async fn delete_remote(&self, backup: &DynamicObject) -> Result<(), String> {
        let sim = &self.sim;
        let version = text(backup, "/status/version");
        if version.is_empty() {
            return Err("no version".into());
        }
        if label(backup, LABEL_DELETE_CR_ONLY).is_some() {
            return Err("delete-custom-resource-only".into());
        }
        let target = sim
            .get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET)
            .await?
            .ok_or("no backup target")?;
        let url = text(&target, "/spec/backupTargetURL");
        if is_deleting(&target) || url.is_empty() || !object::flag(&target, "/status/available") {
            return Err("backup target unavailable".into());
        }
        let engine_image = sim.default_engine_image().await?;
        let name = name(backup);
        if !sim
            .engine
            .list(&engine_image, url)
            .await?
            .contains_key(&name)
        {
            return Err("not in the backup target".into());
        }
        sim.engine.delete(&engine_image, &name, version, url).await
    }

    /// `datastore.LabelSystemBackupVersion` + a full Update.
    async fn label_version(&self, name: &str, version: &str) {
        for _ in 0..5 {
            let Ok(Some(mut latest)) = self.sim.get(Kind::SystemBackup, name).await else {
                return;
            };
            latest
                .metadata
                .labels
                .get_or_insert_with(Default::default)
                .insert(LABEL_VERSION.into(), version.into());
            match self
                .sim
                .api(Kind::SystemBackup)
                .replace(name, &PostParams::default(), &latest)
                .await
            {
                Err(e) if is_conflict(&e) => continue,
                Err(e) => warn!("labelling system backup {name}: {}", kube_message(&e)),
                Ok(_) => {}
            }
            return;
        }
    }

    /// Applies a step's record to the latest object, unless it left the step's state
    /// meanwhile (deleted, or moved on).
    async fn commit(&self, backup: &DynamicObject, state: &str, record: Record) {
        let name = name(backup);
        for _ in 0..5 {
            let latest = match self.sim.get(Kind::SystemBackup, &name).await {
                Ok(Some(latest)) => latest,
                _ => return,
            };
            if uid(&latest) != uid(backup)
                || text(&latest, "/status/state") != state
                || is_deleting(&latest)
            {
                return;
            }
            match self.apply(latest, record.clone()).await {
                Err(Retry(e)) if e.contains("the object has been modified") => continue,
                Err(Retry(e)) => {
                    warn!("system backup {name}: {e}");
                    return;
                }
                Ok(()) => return,
            }
        }
    }

    /// `handleStatusUpdate`: write the status if it changed (stamping
    /// `lastSyncedAt`), then emit the event.
    async fn apply(&self, mut backup: DynamicObject, record: Record) -> Result<(), Retry> {
        let before = {
            let mut copy = backup.clone();
            Value::Object(normalized_status(&mut copy).clone())
        };
        let status = normalized_status(&mut backup);
        status.insert("state".into(), json!(record.state));
        if record.error {
            set_condition(status, "Error", "True", &record.reason, &record.message);
        }
        for (field, value) in &record.fields {
            status.insert((*field).into(), value.clone());
        }
        if Value::Object(status.clone()) != before {
            status.insert("lastSyncedAt".into(), json!(now_seconds()));
            backup = self
                .sim
                .api(Kind::SystemBackup)
                .replace_status(&name(&backup), &PostParams::default(), &backup)
                .await?;
        }
        if record.error {
            self.events
                .warning(
                    &backup,
                    Kind::SystemBackup,
                    "Failed",
                    &capitalize_first_letter(&record.message),
                )
                .await;
        } else {
            self.events
                .normal(&backup, Kind::SystemBackup, &record.reason, &record.message)
                .await;
        }
        Ok(())
    }
}

/// The error record Longhorn writes when the work of `state` fails.
fn fault_record(state: &str, message: String) -> Record {
    match state {
        // The sync condition carries a fixed text; the cause is only logged.
        "Syncing" => Record::error("Sync", "failed to sync from backup target"),
        "Generating" => Record::error("Generate", &message),
        "Uploading" => Record::error("Upload", &message),
        _ => Record::error("Start", &message),
    }
}
