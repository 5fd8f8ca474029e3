//! The environment's backup target: pointing it elsewhere, its availability, syncs, and the
//! seeded volumes' backups that need it available.

use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};

use super::Longhorn;
use crate::Error;
use crate::longhorn::{DEFAULT_BACKUP_TARGET, Kind};
use crate::manager::{Binaries, Layout};
use crate::seed;

/// How long longhorn-manager may take to judge a backup target: its first check runs
/// once its informers have synced, which took over 30 s on a loaded 2-core machine.
const LONGHORN_VERDICT: Duration = Duration::from_secs(120);

impl Longhorn {
    /// The seeded volumes' completed backups: their Backup CRs, and what the engine would
    /// have written to the store, then a sync that pulls their backup volumes.
    pub(super) async fn seed_volume_backups(
        &self,
        client: &kube::Client,
        binaries: &Binaries,
        concurrency: usize,
    ) -> Result<(), Error> {
        use futures::{StreamExt, TryStreamExt};
        let seeded = &self.seeded;
        if seeded.backups.is_empty() {
            return Ok(());
        }
        seed::seed_backups(client, &seeded.namespace, &seeded.backups, concurrency).await?;
        let mounts = Layout::new(&self.dir).mounts();
        let backups = Kind::Backup.api(client, self.namespace());
        futures::stream::iter(&seeded.backups)
            .map(|b| {
                let (mounts, backups) = (&mounts, &backups);
                async move {
                    let url = crate::simulator::write_volume_backup(
                        client,
                        &seeded.namespace,
                        mounts,
                        &binaries.engine,
                        &crate::simulator::VolumeBackup {
                            backup: &b.name,
                            snapshot: &b.snapshot,
                            snapshot_created_at: &b.at,
                            volume: &b.volume,
                            target: DEFAULT_BACKUP_TARGET,
                            labels: vec![("longhorn.io/volume-access-mode".into(), "rwo".into())],
                        },
                    )
                    .await
                    .map_err(Error::Store)?;
                    backups
                        .patch_status(
                            &b.name,
                            &Default::default(),
                            &kube::api::Patch::Merge(json!({"status": {"url": url}})),
                        )
                        .await
                        .map_err(|e| Error::Kube(format!("backup {}: {e}", b.name)))?;
                    Ok::<_, Error>(())
                }
            })
            .buffer_unordered(concurrency.clamp(1, 4))
            .try_collect::<Vec<()>>()
            .await?;
        self.request_backup_target_sync().await
    }

    /// Until longhorn-manager has contacted the store once: available (and, when the
    /// store answers, synced) or marked unavailable.
    pub(super) async fn wait_for_first_sync(&self, client: &kube::Client) -> Result<(), Error> {
        let reachable = self.knobs.get().store_failure.is_none();
        let api = Kind::BackupTarget.api(client, self.namespace());
        self.wait_for(&api, DEFAULT_BACKUP_TARGET, LONGHORN_VERDICT, |target| {
            let status = target.data.get("status");
            let available = status
                .and_then(|s| s.get("available"))
                .and_then(Value::as_bool)
                == Some(true);
            let synced = status
                .and_then(|s| s.get("lastSyncedAt"))
                .is_some_and(|t| !t.is_null());
            let refused = status
                .and_then(|s| s.get("conditions"))
                .and_then(Value::as_array)
                .is_some_and(|c| {
                    c.iter()
                        .any(|c| c["type"] == "Unavailable" && c["status"] == "True")
                });
            if reachable {
                available && synced
            } else {
                refused
            }
        })
        .await
        .map(|_| ())
    }

    /// Points BackupTarget `default` at `url` with a credential Secret holding
    /// `secret`, as a user does in the Longhorn UI. Waits until Longhorn has synced the
    /// target since (a refusal may be a check of the settings before, so only a sync
    /// counts; on the deadline the error shows Longhorn's last refusal).
    pub async fn use_backup_target(
        &self,
        url: &str,
        secret: &crate::stores::SecretData,
    ) -> Result<DynamicObject, Error> {
        self.point(url, secret, false).await
    }

    /// Like [`Self::use_backup_target`], but returns once Longhorn has judged the target,
    /// available or not: for tests of a target that cannot work.
    ///
    /// A refusal counts once its message differs from the one the target had before:
    /// Longhorn leaves the last refusal in place until its next check, and each check's
    /// message carries the engine's log time.
    pub async fn point_backup_target(
        &self,
        url: &str,
        secret: &crate::stores::SecretData,
    ) -> Result<DynamicObject, Error> {
        self.point(url, secret, true).await
    }

    async fn point(
        &self,
        url: &str,
        secret: &crate::stores::SecretData,
        refusal_counts: bool,
    ) -> Result<DynamicObject, Error> {
        use k8s_openapi::api::core::v1::Secret;
        let client = self.client().await?;
        let before = Kind::BackupTarget
            .api(&client, self.namespace())
            .get(DEFAULT_BACKUP_TARGET)
            .await
            .map_err(|e| Error::Kube(e.to_string()))?;
        let earlier_refusal = unavailable_message(&before);
        let last_synced = synced_at(&before);
        let secret_name = "backup-target-credential";
        let secrets: Api<Secret> = Api::namespaced(client.clone(), self.namespace());
        let object: Secret = serde_json::from_value(json!({
            "metadata": {"name": secret_name},
            "stringData": secret,
        }))
        .map_err(|e| Error::Kube(e.to_string()))?;
        match secrets.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                secrets
                    .replace(secret_name, &PostParams::default(), &{
                        let mut current = secrets
                            .get(secret_name)
                            .await
                            .map_err(|e| Error::Kube(e.to_string()))?;
                        current.data = None;
                        current.string_data = object.string_data.clone();
                        current
                    })
                    .await
                    .map_err(|e| Error::Kube(e.to_string()))?;
            }
            Err(e) => return Err(Error::Kube(e.to_string())),
        }
        // As Longhorn's API does when a user changes a target (VolumeManager.UpdateBackupTarget,
        // longhorn/longhorn-manager:manager/engine.go@v1.12.0): ask for a sync. Longhorn syncs
        // only when that request is after the last sync, both in whole seconds: wait for the
        // next second if the last sync is in this one.
        let mut requested = jiff::Timestamp::now();
        while last_synced.is_some_and(|at| requested.as_second() <= at.as_second()) {
            tokio::time::sleep(Duration::from_millis(100)).await;
            requested = jiff::Timestamp::now();
        }
        let since = jiff::Timestamp::from_second(requested.as_second())
            .map_err(|e| Error::Kube(e.to_string()))?;
        let api = Kind::BackupTarget.api(&client, self.namespace());
        let patch = json!({"spec": {
            "backupTargetURL": url,
            "credentialSecret": secret_name,
            "syncRequestedAt": crate::simulator::rfc3339_seconds(requested),
        }});
        api.patch(
            DEFAULT_BACKUP_TARGET,
            &Default::default(),
            &kube::api::Patch::Merge(patch),
        )
        .await
        .map_err(|e| Error::Kube(e.to_string()))?;
        let client = self.client().await?;
        let api = Kind::BackupTarget.api(&client, self.namespace());
        self.wait_for(
            &api,
            DEFAULT_BACKUP_TARGET,
            Duration::from_secs(60),
            |target| {
                let data = &target.data;
                let synced = data.pointer("/status/available") == Some(&json!(true))
                    && synced_at(target).is_some_and(|at| at >= since);
                let refusal = unavailable_message(target);
                let refused = refusal_counts
                    && data.pointer("/status/available") != Some(&json!(true))
                    && refusal.contains(url.trim_end_matches('/'))
                    && refusal != earlier_refusal;
                data.pointer("/spec/backupTargetURL")
                    .and_then(Value::as_str)
                    == Some(url)
                    && (synced || refused)
            },
        )
        .await
    }

    /// Waits until BackupTarget `default` (its URL, whether it is available) passes `done`.
    async fn wait_for_backup_target(
        &self,
        done: impl Fn(&str, bool) -> bool,
    ) -> Result<DynamicObject, Error> {
        let client = self.client().await?;
        let api = Kind::BackupTarget.api(&client, self.namespace());
        self.wait_for(&api, DEFAULT_BACKUP_TARGET, LONGHORN_VERDICT, |target| {
            let data = &target.data;
            let url = data
                .pointer("/spec/backupTargetURL")
                .and_then(Value::as_str);
            let available = data.pointer("/status/available").and_then(Value::as_bool);
            done(url.unwrap_or_default(), available.unwrap_or(false))
        })
        .await
    }

    /// Makes the store reachable or not, asks for a sync (Longhorn notices at its next
    /// one) and waits until BackupTarget `default` reflects it (`status.available`).
    pub async fn set_backup_target_available(
        &self,
        available: bool,
    ) -> Result<DynamicObject, Error> {
        self.knobs.set_store_reachable(available);
        self.request_backup_target_sync().await?;
        self.wait_for_backup_target(|_, now| now == available).await
    }

    /// Asks for a sync of BackupTarget `default` now, as its poll timer would.
    pub async fn request_backup_target_sync(&self) -> Result<(), Error> {
        let client = self.client().await?;
        crate::simulator::request_sync(&client, self.namespace(), DEFAULT_BACKUP_TARGET)
            .await
            .map_err(|e| Error::Kube(e.to_string()))
    }
}

/// When Longhorn last synced the target (`status.lastSyncedAt`), if it has.
fn synced_at(target: &DynamicObject) -> Option<jiff::Timestamp> {
    target
        .data
        .pointer("/status/lastSyncedAt")
        .and_then(Value::as_str)
        .and_then(|t| t.parse().ok())
}

/// The message of the target's Unavailable condition, if it has one that is true.
fn unavailable_message(target: &DynamicObject) -> String {
    target
        .data
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Unavailable" && c["status"] == "True")
        .and_then(|c| c["message"].as_str())
        .unwrap_or_default()
        .to_string()
}
