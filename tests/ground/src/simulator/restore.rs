//! SystemRestore: the restore controller (creates the rollout Job, §8.2) and the
//! rollout itself (§8.3), which the simulator acts out in place of the Job's pod.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};
use tracing::{debug, warn};

use super::engine::now_seconds;
use super::events::{
    EventRecorder, SYSTEM_RESTORE_COMPONENT, SYSTEM_ROLLOUT_COMPONENT, capitalize_first_letter,
};
use super::object::{is_deleting, label, name, set_condition, status_mut, text, uid};
use super::recurring::{JobOutcome, finish_job, start_job};
use super::steps::Steps;
use super::store::system_backup_url;
use super::{Retry, Sim, is_conflict, kube_message, run_controller};
use crate::longhorn::{API_VERSION, DEFAULT_BACKUP_TARGET, Kind, LABEL_SYSTEM_RESTORE};

const MSG_RESTORE_FAILED: &str = "failed to restore Longhorn system";
const MSG_UNPACK_FAILED: &str = "failed to unpack system backup from file";

struct Restores {
    sim: Arc<Sim>,
    steps: Arc<Steps>,
    controller_events: EventRecorder,
    rollout_events: EventRecorder,
}

pub(crate) async fn run(sim: Arc<Sim>) {
    let controller = Arc::new(Restores {
        sim: sim.clone(),
        steps: Arc::default(),
        controller_events: EventRecorder::new(
            sim.client.clone(),
            SYSTEM_RESTORE_COMPONENT,
            &sim.version,
        ),
        rollout_events: EventRecorder::new(
            sim.client.clone(),
            SYSTEM_ROLLOUT_COMPONENT,
            &sim.version,
        ),
    });
    run_controller(&sim, Kind::SystemRestore, controller, reconcile).await;
}

fn job_name(restore: &str) -> String {
    format!("longhorn-system-rollout-{restore}")
}

fn normalized_status(object: &mut DynamicObject) -> &mut serde_json::Map<String, Value> {
    let status = status_mut(object);
    if !status.get("ownerID").is_some_and(Value::is_string) {
        status.insert("ownerID".into(), json!(""));
    }
    status.entry("conditions").or_insert(Value::Null);
    status
}

/// A state change and its event (`systemRolloutRecord` / the controller's record).
struct Record {
    error: bool,
    state: &'static str,
    reason: String,
    message: String,
}

impl Record {
    fn normal(state: &'static str, reason: &str, message: &str) -> Self {
        Self {
            error: false,
            state,
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// The condition gets `<message>: <cause>`; the event only the message.
    fn error(reason: &str, message: &str, cause: &str) -> Self {
        let message = if cause.is_empty() {
            message.to_string()
        } else {
            format!("{message}: {cause}")
        };
        Self {
            error: true,
            state: "Error",
            reason: reason.into(),
            message,
        }
    }
}

async fn reconcile(
    restore: Arc<DynamicObject>,
    controller: Arc<Restores>,
) -> Result<Action, Retry> {
    let sim = &controller.sim;
    let Some(target) = sim.get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET).await? else {
        return Err(Retry(Kind::BackupTarget.not_found(DEFAULT_BACKUP_TARGET)));
    };
    if let Some(error) = sim.backup_target_client_error(&target).await {
        return Err(Retry(error));
    }
    let mut restore = (*restore).clone();
    let restore_name = name(&restore);
    if text(&restore, "/status/ownerID") != sim.node_id {
        normalized_status(&mut restore).insert("ownerID".into(), json!(sim.node_id));
        restore = match sim
            .api(Kind::SystemRestore)
            .replace_status(&restore_name, &PostParams::default(), &restore)
            .await
        {
            Ok(updated) => updated,
            Err(e) if is_conflict(&e) => return Ok(Action::await_change()),
            Err(e) => return Err(e.into()),
        };
    }
    let state = text(&restore, "/status/state").to_string();
    if is_deleting(&restore) && state != "Deleting" {
        controller.steps.cancel(&uid(&restore));
        let record = Record::normal("Deleting", "Deleting", "Deleting SystemRestore");
        controller
            .apply(restore, record, &controller.controller_events)
            .await?;
        return Ok(Action::await_change());
    }
    match state.as_str() {
        "Deleting" => controller.delete(&restore).await?,
        "Completed" | "Error" => remove_in_progress_label(sim, &restore_name).await?,
        "" => {
            let jobs: Api<Job> = Api::namespaced(sim.client.clone(), &sim.namespace);
            // Longhorn looks for a Job named like the restore, not like its rollout Job.
            if jobs.get_opt(&restore_name).await?.is_some() {
                return Ok(Action::await_change());
            }
            let record = match controller.create_job(&restore).await {
                Ok(()) => Record::normal(
                    "Pending",
                    "Created",
                    &format!("Created system restore Job {}", job_name(&restore_name)),
                ),
                Err(e) => Record::error(
                    &format!("FailedCreating: Job for {restore_name}"),
                    "failed to create system restore Job",
                    &e,
                ),
            };
            controller
                .apply(restore, record, &controller.controller_events)
                .await?;
        }
        _ => {
            let work = controller.clone().roll_out(restore_name.clone());
            controller.steps.launch(&uid(&restore), "rollout", work);
        }
    }
    Ok(Action::await_change())
}

async fn remove_in_progress_label(sim: &Sim, restore: &str) -> Result<(), Retry> {
    let Some(mut latest) = sim.get(Kind::SystemRestore, restore).await? else {
        return Ok(());
    };
    if label(&latest, LABEL_SYSTEM_RESTORE).is_none() {
        return Ok(());
    }
    latest
        .metadata
        .labels
        .get_or_insert_with(Default::default)
        .remove(LABEL_SYSTEM_RESTORE);
    sim.api(Kind::SystemRestore)
        .replace(restore, &PostParams::default(), &latest)
        .await?;
    Ok(())
}

impl Restores {
    /// `CreateSystemRestoreJob`.
    async fn create_job(&self, restore: &DynamicObject) -> Result<(), String> {
        let sim = &self.sim;
        let backup_name = text(restore, "/spec/systemBackup");
        let backup = sim
            .get(Kind::SystemBackup, backup_name)
            .await?
            .ok_or_else(|| Kind::SystemBackup.not_found(backup_name))?;
        let (url, engine_image) = self.target_and_image().await?;
        let version = text(&backup, "/status/version");
        let config = sim
            .engine
            .get_config(&engine_image, backup_name, version, &url)
            .await?
            .ok_or_else(|| super::engine::Engine::config_not_found(backup_name, version))?;
        let pods: Api<Pod> = Api::namespaced(sim.client.clone(), &sim.namespace);
        let managers = pods
            .list(&ListParams::default().labels("app=longhorn-manager"))
            .await
            .map_err(|e| kube_message(&e))?;
        let service_account = managers
            .items
            .first()
            .and_then(|p| p.spec.as_ref()?.service_account_name.clone())
            .ok_or("failed to find service account from manager pods")?;
        let restore_name = name(restore);
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name(&restore_name),
                "namespace": sim.namespace,
                "ownerReferences": [{
                    "apiVersion": API_VERSION, "kind": "SystemRestore", "name": restore_name,
                    "uid": uid(restore), "controller": true, "blockOwnerDeletion": true,
                }],
            },
            "spec": {
                "backoffLimit": 3,
                "template": {
                    "metadata": {"name": restore_name},
                    "spec": {
                        "serviceAccountName": service_account,
                        "restartPolicy": "OnFailure",
                        "nodeSelector": {"kubernetes.io/hostname": sim.node_id},
                        "containers": [{
                            "name": job_name(&restore_name),
                            "image": config.manager_image,
                            "command": ["longhorn-manager", "system-rollout", restore_name],
                            "env": [
                                {"name": "POD_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                                {"name": "NODE_NAME", "value": sim.node_id},
                            ],
                            "securityContext": {"privileged": true},
                            "volumeMounts": [{"name": "engine", "mountPath": "/var/lib/longhorn/engine-binaries/"}],
                        }],
                        "volumes": [{"name": "engine", "hostPath": {"path": "/var/lib/longhorn/engine-binaries/"}}],
                    },
                },
            },
        }))
        .map_err(|e| e.to_string())?;
        Api::<Job>::namespaced(sim.client.clone(), &sim.namespace)
            .create(&PostParams::default(), &job)
            .await
            .map_err(|e| kube_message(&e))?;
        Ok(())
    }

    async fn target_and_image(&self) -> Result<(String, String), String> {
        let target = self
            .sim
            .get(Kind::BackupTarget, DEFAULT_BACKUP_TARGET)
            .await?
            .ok_or_else(|| Kind::BackupTarget.not_found(DEFAULT_BACKUP_TARGET))?;
        Ok((
            text(&target, "/spec/backupTargetURL").to_string(),
            self.sim.default_engine_image().await?,
        ))
    }

    /// `Deleting`: the rollout Job goes (foreground), and with it the GC's finalizer.
    async fn delete(&self, restore: &DynamicObject) -> Result<(), Retry> {
        let sim = &self.sim;
        let jobs: Api<Job> = Api::namespaced(sim.client.clone(), &sim.namespace);
        let _ = jobs
            .delete(&job_name(&name(restore)), &DeleteParams::foreground())
            .await;
        let mut latest = restore.clone();
        latest
            .metadata
            .finalizers
            .get_or_insert_with(Vec::new)
            .retain(|f| f != "foregroundDeletion");
        sim.api(Kind::SystemRestore)
            .replace(&name(restore), &PostParams::default(), &latest)
            .await?;
        Ok(())
    }

    /// Applies a record: status (if changed), then the event.
    async fn apply(
        &self,
        mut restore: DynamicObject,
        record: Record,
        events: &EventRecorder,
    ) -> Result<(), Retry> {
        let before = {
            let mut copy = restore.clone();
            Value::Object(normalized_status(&mut copy).clone())
        };
        let status = normalized_status(&mut restore);
        status.insert("state".into(), json!(record.state));
        if record.error {
            set_condition(status, "Error", "True", &record.reason, &record.message);
        }
        if Value::Object(status.clone()) != before {
            restore = self
                .sim
                .api(Kind::SystemRestore)
                .replace_status(&name(&restore), &PostParams::default(), &restore)
                .await?;
        }
        if record.error {
            // The event carries the record's message without its cause.
            let message = record.message.split(": ").next().unwrap_or_default();
            events
                .warning(
                    &restore,
                    Kind::SystemRestore,
                    "Failed",
                    &capitalize_first_letter(message),
                )
                .await;
        } else {
            events
                .normal(
                    &restore,
                    Kind::SystemRestore,
                    &record.reason,
                    &record.message,
                )
                .await;
        }
        Ok(())
    }

    /// The rollout pod: set up until the engine image is deployed, then walk the states
    /// to Completed or Error, then drop the in-progress label and finish the Job.
    async fn roll_out(self: Arc<Self>, restore_name: String) {
        let sim = &self.sim;
        let mut bundle: Option<Vec<u8>> = None;
        let mut lists: Vec<Value> = Vec::new();
        let download_path = format!("/tmp/{restore_name}.zip");
        let (backup_name, version, url, engine_image) = loop {
            match self.set_up(&restore_name).await {
                Ok(setup) => break setup,
                Err(e) => {
                    debug!("system rollout {restore_name} waits: {e}");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        };
        loop {
            let Ok(Some(restore)) = sim.get(Kind::SystemRestore, &restore_name).await else {
                return;
            };
            if is_deleting(&restore) {
                return;
            }
            let state = text(&restore, "/status/state").to_string();
            if matches!(state.as_str(), "Completed" | "Error") {
                let _ = remove_in_progress_label(sim, &restore_name).await;
                finish_job(sim, &job_name(&restore_name), JobOutcome::Succeeded).await;
                return;
            }
            if state == "Pending"
                && let Ok(jobs) = Api::<Job>::namespaced(sim.client.clone(), &sim.namespace)
                    .get(&job_name(&restore_name))
                    .await
            {
                let _ = start_job(sim, &jobs).await;
            }
            let fault = sim
                .knobs
                .pass_step(|knobs| knobs.system_restore_fault(&state))
                .await;
            let record = match (fault, state.as_str()) {
                (Some(message), "Unpacking") => {
                    Record::error("Unpack", MSG_UNPACK_FAILED, &message)
                }
                (Some(message), _) => Record::error("Restore", MSG_RESTORE_FAILED, &message),
                (None, "Pending") => match self
                    .mark_in_progress(&restore_name, &backup_name, &version, &url)
                    .await
                {
                    Ok(()) => Record::normal(
                        "Downloading",
                        "Start",
                        &format!("Initialized system rollout for {backup_name}"),
                    ),
                    Err(e) => Record::error(
                        "Restore",
                        MSG_RESTORE_FAILED,
                        &format!("failed to initialize system rollout: {e}"),
                    ),
                },
                (None, "Downloading") => {
                    match sim
                        .engine
                        .download(&engine_image, &backup_name, &version, &url, &download_path)
                        .await
                    {
                        Ok(zip) => {
                            bundle = Some(zip);
                            Record::normal(
                                "Unpacking",
                                "Fetched",
                                &format!("Downloaded from {url}"),
                            )
                        }
                        Err(e) => Record::error(
                            "Restore",
                            MSG_RESTORE_FAILED,
                            &format!("failed to download system backup: {e}"),
                        ),
                    }
                }
                (None, "Unpacking") => {
                    match unpack(bundle.as_deref(), &backup_name, &download_path) {
                        Ok(unpacked) => {
                            lists = unpacked;
                            Record::normal(
                                "Restoring",
                                "Fetched",
                                &format!("Unpacked {download_path}"),
                            )
                        }
                        Err(e) => Record::error("Unpack", MSG_UNPACK_FAILED, &e),
                    }
                }
                (None, "Restoring") => match self.restore_all(&restore, &lists).await {
                    Ok(()) => Record::normal("Completed", "Restored", "System rollout completed"),
                    Err(e) => Record::error("Restore", MSG_RESTORE_FAILED, &e),
                },
                (None, other) => {
                    warn!("system restore {restore_name} in unexpected state {other}");
                    return;
                }
            };
            let Ok(Some(latest)) = sim.get(Kind::SystemRestore, &restore_name).await else {
                return;
            };
            if text(&latest, "/status/state") != state {
                continue;
            }
            if let Err(e) = self.apply(latest, record, &self.rollout_events).await {
                warn!("system restore {restore_name}: {e}");
            }
        }
    }

    /// `syncController`: the backup's cfg, and its engine image deployed.
    async fn set_up(&self, restore_name: &str) -> Result<(String, String, String, String), String> {
        let sim = &self.sim;
        let restore = sim
            .get(Kind::SystemRestore, restore_name)
            .await?
            .ok_or("restore gone")?;
        let backup_name = text(&restore, "/spec/systemBackup").to_string();
        let backup = sim
            .get(Kind::SystemBackup, &backup_name)
            .await?
            .ok_or_else(|| {
                format!(
                    "failed to get SystemBackup {backup_name}: {}",
                    Kind::SystemBackup.not_found(&backup_name)
                )
            })?;
        let version = text(&backup, "/status/version").to_string();
        let (url, engine_image) = self.target_and_image().await?;
        let config = sim
            .engine
            .get_config(&engine_image, &backup_name, &version, &url)
            .await?
            .ok_or_else(|| super::engine::Engine::config_not_found(&backup_name, &version))?;
        let image = self.ensure_engine_image(&config.engine_image).await?;
        let state = text(&image, "/status/state");
        if state != "deployed" {
            return Err(format!("engine image {} not deployed yet", name(&image)));
        }
        Ok((backup_name, version, url, config.engine_image))
    }

    /// The EngineImage `ei-<sha512[:8]>` for the cfg's image, created if missing.
    async fn ensure_engine_image(&self, image: &str) -> Result<DynamicObject, String> {
        let sim = &self.sim;
        let image_name = format!(
            "ei-{}",
            &hex::encode(Sha512::digest(image.trim().as_bytes()))[..8]
        );
        if let Some(existing) = sim.get(Kind::EngineImage, &image_name).await? {
            return Ok(existing);
        }
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": API_VERSION, "kind": "EngineImage",
            "metadata": {"name": image_name}, "spec": {"image": image},
        }))
        .expect("a valid EngineImage");
        sim.api(Kind::EngineImage)
            .create(&PostParams::default(), &object)
            .await
            .map_err(|e| kube_message(&e))?;
        let state = if sim.knobs.get().engine_image_deployed {
            "deployed"
        } else {
            "deploying"
        };
        sim.api(Kind::EngineImage)
            .patch_status(
                &image_name,
                &PatchParams::default(),
                &Patch::Merge(json!({"status": {"state": state}})),
            )
            .await
            .map_err(|e| kube_message(&e))
    }

    /// `initializeSystemRollout`: a full Update that adds the in-progress label (the
    /// status it also sets is not persisted by a main-resource update).
    async fn mark_in_progress(
        &self,
        restore: &str,
        backup: &str,
        version: &str,
        url: &str,
    ) -> Result<(), String> {
        let sim = &self.sim;
        let remote = sim
            .engine
            .list(&sim.default_engine_image().await?, url)
            .await
            .map_err(|e| format!("failed to list rollouts in the backup target: {e}"))?;
        if !remote.contains_key(backup) {
            return Err(format!(
                "failed to find system backup {backup} of version {version} in map[]"
            ));
        }
        let mut latest = sim
            .get(Kind::SystemRestore, restore)
            .await?
            .ok_or("restore gone")?;
        latest
            .metadata
            .labels
            .get_or_insert_with(Default::default)
            .insert(LABEL_SYSTEM_RESTORE.into(), "InProgress".into());
        sim.api(Kind::SystemRestore)
            .replace(restore, &PostParams::default(), &latest)
            .await
            .map_err(|e| kube_message(&e))?;
        system_backup_url(backup, version, url).map(|_| ())
    }

    /// Restores what the cluster lacks, kind by kind in Longhorn's order; existing
    /// objects are left alone. One Normal event per kind restored.
    async fn restore_all(&self, restore: &DynamicObject, lists: &[Value]) -> Result<(), String> {
        const ORDER: &[&str] = &[
            "CustomResourceDefinitionList",
            "DaemonSetList",
            "EngineImageList",
            "SettingList",
            "ServiceList",
            "ServiceAccountList",
            "ClusterRoleList",
            "ClusterRoleBindingList",
            "RoleList",
            "RoleBindingList",
            "StorageClassList",
            "ConfigMapList",
            "DeploymentList",
            "BackupTargetList",
            "BackingImageList",
            "RecurringJobList",
            "VolumeList",
            "PersistentVolumeList",
            "PersistentVolumeClaimList",
        ];
        let by_kind: BTreeMap<&str, &Value> = lists
            .iter()
            .filter_map(|l| Some((l.get("kind")?.as_str()?, l)))
            .collect();
        let mut errors = Vec::new();
        for kind in ORDER {
            let Some(list) = by_kind.get(kind) else {
                continue;
            };
            let mut failed = false;
            for item in list
                .get("items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Err(e) = self.restore_item(list, item).await {
                    failed = true;
                    errors.push(e);
                }
            }
            if !failed {
                let message = format!("System rollout restored Kind: {kind}");
                self.rollout_events
                    .normal(
                        restore,
                        Kind::SystemRestore,
                        &format!("Restored {kind}"),
                        &message,
                    )
                    .await;
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    }

    async fn restore_item(&self, list: &Value, item: &Value) -> Result<(), String> {
        let sim = &self.sim;
        let list_kind = list.get("kind").and_then(Value::as_str).unwrap_or_default();
        let kind = list_kind.trim_end_matches("List");
        let api_version = list
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("v1");
        let Some((plural, namespaced)) = resource_of(kind) else {
            return Ok(());
        };
        let item_name = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if kind == "ConfigMap" && item_name == "longhorn-default-setting" {
            return Ok(());
        }
        if kind == "CustomResourceDefinition" {
            return Ok(());
        }
        let prefix = if api_version.contains('/') {
            format!("/apis/{api_version}")
        } else {
            format!("/api/{api_version}")
        };
        let namespace = match namespaced {
            false => None,
            true if kind == "PersistentVolumeClaim" => item
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .map(str::to_string),
            true => Some(sim.namespace.clone()),
        };
        let collection = match &namespace {
            Some(ns) => format!("{prefix}/namespaces/{ns}/{plural}"),
            None => format!("{prefix}/{plural}"),
        };
        let existing = http::Request::get(format!("{collection}/{item_name}"))
            .body(Vec::new())
            .map_err(|e| e.to_string())?;
        match sim.client.request::<Value>(existing).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(s)) if s.code == 404 => {}
            Err(e) => return Err(kube_message(&e)),
        }
        let body = restorable(item, api_version, kind, namespace.as_deref());
        let create = http::Request::post(&collection)
            .header("content-type", "application/json")
            .body(serde_json::to_vec(&body).map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
        match sim.client.request::<Value>(create).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => {
                return Err(format!(
                    "failed to create item: {kind} {item_name}: {}",
                    kube_message(&e)
                ));
            }
        }
        if kind == "Volume" {
            // The manager would bring the restored volume up detached.
            let detached = json!({"status": {"state": "detached"}});
            let _ = sim
                .api(Kind::Volume)
                .patch_status(item_name, &PatchParams::default(), &Patch::Merge(detached))
                .await;
        }
        Ok(())
    }
}

/// The object to create from a bundle item: server-set fields dropped, Longhorn's
/// restore annotations added, volumes pointed at their last backup.
fn restorable(item: &Value, api_version: &str, kind: &str, namespace: Option<&str>) -> Value {
    let mut body = item.clone();
    body["apiVersion"] = json!(api_version);
    body["kind"] = json!(kind);
    if let Some(metadata) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        for field in [
            "uid",
            "resourceVersion",
            "creationTimestamp",
            "managedFields",
            "generation",
            "deletionTimestamp",
        ] {
            metadata.remove(field);
        }
        if let Some(ns) = namespace {
            metadata.insert("namespace".into(), json!(ns));
        }
        let annotations = metadata.entry("annotations").or_insert(json!({}));
        if !annotations.is_object() {
            *annotations = json!({});
        }
        annotations["longhorn.io/last-system-restored"] = json!("");
        annotations["longhorn.io/last-system-restored-at"] = json!(now_seconds());
    }
    if kind == "Volume" {
        let last_backup = item
            .pointer("/status/lastBackup")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let volume = item
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if !last_backup.is_empty() {
            body["spec"]["fromBackup"] = json!(format!("?backup={last_backup}&volume={volume}"));
        }
        body["spec"]["nodeID"] = json!("");
    }
    if kind == "PersistentVolume"
        && let Some(spec) = body.get_mut("spec").and_then(Value::as_object_mut)
    {
        spec.remove("claimRef");
    }
    if let Some(object) = body.as_object_mut() {
        object.remove("status");
    }
    body
}

/// (plural, namespaced) of the kinds a bundle holds.
fn resource_of(kind: &str) -> Option<(String, bool)> {
    let namespaced = match kind {
        "ClusterRole"
        | "ClusterRoleBinding"
        | "StorageClass"
        | "PersistentVolume"
        | "CustomResourceDefinition" => false,
        "ServiceAccount"
        | "Role"
        | "RoleBinding"
        | "DaemonSet"
        | "Deployment"
        | "ConfigMap"
        | "Service"
        | "PersistentVolumeClaim"
        | "Setting"
        | "EngineImage"
        | "Volume"
        | "RecurringJob"
        | "BackingImage"
        | "BackupTarget" => true,
        _ => return None,
    };
    let plural = match kind {
        "StorageClass" => "storageclasses".to_string(),
        "Setting" => "settings".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    Some((plural, namespaced))
}

/// `Unpack`: unzip, then decode every file of the three YAML directories of
/// `<backup>/yamls/`; each must hold a typed List.
fn unpack(bundle: Option<&[u8]>, backup: &str, download_path: &str) -> Result<Vec<Value>, String> {
    let bundle = bundle.ok_or_else(|| format!("failed to unzip {download_path}: exit status 9"))?;
    let mut archive = zip::ZipArchive::new(Cursor::new(bundle))
        .map_err(|_| format!("failed to unzip {download_path}: exit status 9"))?;
    let mut lists = Vec::new();
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(|e| e.to_string())?;
        let path = file.name().map_err(|e| e.to_string())?.to_string();
        let Some(rest) = path.strip_prefix(&format!("{backup}/yamls/")) else {
            continue;
        };
        let mut parts = rest.splitn(2, '/');
        let (Some(directory), Some(file_name)) = (parts.next(), parts.next()) else {
            continue;
        };
        if file.is_dir()
            || file_name.contains('/')
            || !["kubernetes", "apiextensions", "longhorn"].contains(&directory)
        {
            continue;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).map_err(|e| e.to_string())?;
        let list: Value = serde_saphyr::from_str(&text)
            .map_err(|e| format!("failed to extract resources: failed to decode {path}: {e}"))?;
        lists.push(list);
    }
    Ok(lists)
}
