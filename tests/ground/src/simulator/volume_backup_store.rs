//! What a volume backup leaves in the backup store: the engine stand-in's `backup create`
//! (tests/longhorn/engine/backup.go) runs backupstore's own delta-block backup of a
//! snapshot without data, so Longhorn's sync finds the backup volume and a restore's
//! `fromBackup` resolves, as after a real backup.

use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;

use super::object::{rfc3339_seconds, text};
use crate::longhorn::Kind;

/// One backup to write.
pub(crate) struct VolumeBackup<'a> {
    pub backup: &'a str,
    pub snapshot: &'a str,
    pub snapshot_created_at: &'a str,
    pub volume: &'a str,
    pub target: &'a str,
    pub labels: Vec<(String, String)>,
}

/// Writes the backup to its target's store and returns its URL, as the engine reports it.
pub(crate) async fn write(
    client: &kube::Client,
    namespace: &str,
    mounts: &Path,
    engine: &Path,
    request: &VolumeBackup<'_>,
) -> Result<String, String> {
    let target = Kind::BackupTarget
        .api(client, namespace)
        .get(request.target)
        .await
        .map_err(|e| format!("backup target {}: {e}", request.target))?;
    let url = text(&target, "/spec/backupTargetURL").to_string();
    let size = match Kind::Volume
        .api(client, namespace)
        .get_opt(request.volume)
        .await
    {
        Ok(Some(volume)) => text(&volume, "/spec/size").to_string(),
        _ => "0".into(),
    };
    let mut command = tokio::process::Command::new(engine);
    command
        .env_clear()
        .env("PATH", "/usr/local/bin:/usr/bin:/bin")
        .env("LONGHORN_GROUND_MOUNT_ROOT", mounts)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .args(["--volume-name", request.volume, "backup", "create"])
        .args(["--dest", &url, "--backup-name", request.backup])
        .args([
            "--size",
            &size,
            "--snapshot-created-at",
            request.snapshot_created_at,
        ])
        .arg(request.snapshot);
    for (key, value) in &request.labels {
        command.args(["--label", &format!("{key}={value}")]);
    }
    for (key, value) in credential(client, namespace, &target).await? {
        command.env(key, value);
    }
    let output = command
        .output()
        .await
        .map_err(|e| format!("running {}: {e}", engine.display()))?;
    if !output.status.success() {
        return Err(format!(
            "backup {} to {url} failed: {}{}",
            request.backup,
            String::from_utf8_lossy(&output.stdout).trim(),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The target's credential Secret as environment variables, as longhorn-manager passes it
/// to the engine binary.
async fn credential(
    client: &kube::Client,
    namespace: &str,
    target: &DynamicObject,
) -> Result<Vec<(String, String)>, String> {
    let name = text(target, "/spec/credentialSecret");
    if name.is_empty() {
        return Ok(Vec::new());
    }
    let secret = Api::<Secret>::namespaced(client.clone(), namespace)
        .get(name)
        .await
        .map_err(|e| format!("credential secret {name}: {e}"))?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
        .collect())
}

/// Asks BackupTarget `target` for a sync now (`spec.syncRequestedAt`), as its poll timer
/// and the Backup controller do: later than its last sync and last request, at Longhorn's
/// second precision, so the controller sees a new request.
pub async fn request_sync(
    client: &kube::Client,
    namespace: &str,
    target: &str,
) -> Result<(), kube::Error> {
    let api = Kind::BackupTarget.api(client, namespace);
    let current = api.get(target).await?;
    let mut at = jiff::Timestamp::now();
    for pointer in ["/status/lastSyncedAt", "/spec/syncRequestedAt"] {
        if let Ok(earlier) = text(&current, pointer).parse::<jiff::Timestamp>() {
            at = at.max(earlier + jiff::SignedDuration::from_secs(1));
        }
    }
    let patch = json!({"spec": {"syncRequestedAt": rfc3339_seconds(at)}});
    api.patch(target, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .map(|_| ())
}
