//! The engine binary's `system-backup` commands as longhorn-manager sees them: same
//! operations, same error wrapping (simulator-spec.md §5.1), over the ground's stores.

use std::collections::BTreeMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use super::store::{self, StoreError, Stores, SystemBackupConfig, SystemBackupStore};
use crate::knobs::Knobs;

pub(crate) struct Engine {
    stores: Arc<Stores>,
    knobs: Knobs,
}

/// What `system-backup upload` records besides the zip (its flags).
pub(crate) struct UploadRequest<'a> {
    pub name: &'a str,
    pub version: &'a str,
    pub target_url: &'a str,
    pub git_commit: &'a str,
    pub manager_image: &'a str,
    pub engine_image: &'a str,
    pub zip: Vec<u8>,
}

impl Engine {
    pub fn new(stores: Arc<Stores>, knobs: Knobs) -> Self {
        Self { stores, knobs }
    }

    /// `failed to execute: <binary> [<args>], output , stderr <stderr>: exit status 1`
    /// (go-common-libs `exec.Execute`).
    fn exec_error(engine_image: &str, args: &[&str], stderr: &str) -> String {
        let canonical = engine_image.replace([':', '/'], "-");
        format!(
            "failed to execute: /var/lib/longhorn/engine-binaries/{canonical}/longhorn [{}], output , stderr {stderr}: exit status 1",
            args.join(" ")
        )
    }

    /// The store behind `target_url`, unless a knob makes it unreachable.
    fn open(&self, target_url: &str) -> Result<SystemBackupStore, StoreError> {
        if let Some(failure) = self.knobs.get().store_failure {
            return Err(StoreError(failure));
        }
        self.stores.open(target_url)
    }

    /// `system-backup list <target>`: name → `backupstore/system-backups/<ver>/<name>`.
    pub async fn list(
        &self,
        engine_image: &str,
        target_url: &str,
    ) -> Result<BTreeMap<String, String>, String> {
        let listed = match self.open(target_url) {
            Ok(store) => store.list().await,
            Err(e) => Err(e),
        };
        listed.map_err(|e| {
            let exec = Self::exec_error(engine_image, &["system-backup", "list", target_url], &e.0);
            format!("error listing system backup in {target_url}: {exec}")
        })
    }

    /// `backup ls --volume-only <target>` (v1.8/v1.9 probe the store with it first).
    pub async fn list_backup_volumes(
        &self,
        engine_image: &str,
        target_url: &str,
    ) -> Result<(), String> {
        let listed = match self.open(target_url) {
            Ok(store) => store.list().await.map(|_| ()),
            Err(e) => Err(e),
        };
        listed.map_err(|e| {
            let exec = Self::exec_error(
                engine_image,
                &["backup", "ls", "--volume-only", target_url],
                &e.0,
            );
            format!("error listing backup volume names: {exec}")
        })
    }

    /// `system-backup get-config <url>`: `Ok(None)` when the cfg does not exist (the
    /// manager's `ErrorIsNotFound` case).
    pub async fn get_config(
        &self,
        engine_image: &str,
        name: &str,
        version: &str,
        target_url: &str,
    ) -> Result<Option<SystemBackupConfig>, String> {
        let url = store::system_backup_url(name, version, target_url)?;
        let loaded = match self.open(target_url) {
            Ok(store) => store.load_config(name, version).await,
            Err(e) => Err(e),
        };
        loaded.map_err(|e| {
            let exec = Self::exec_error(engine_image, &["system-backup", "get-config", &url], &e.0);
            format!("error getting config for system backup {url}: {exec}")
        })
    }

    /// The text of a get-config for a missing cfg, for callers that report it.
    pub fn config_not_found(name: &str, version: &str) -> String {
        format!(
            "cannot find {}/{} in backupstore",
            store::system_backup_dir(name, version),
            store::CONFIG_FILE
        )
    }

    /// `system-backup upload /tmp/<name>.zip <url> --git-commit … --manager-image …
    /// --engine-image …`.
    pub async fn upload(&self, request: UploadRequest<'_>) -> Result<(), String> {
        let url = store::system_backup_url(request.name, request.version, request.target_url)?;
        let local = format!("/tmp/{}.zip", request.name);
        let config = SystemBackupConfig {
            name: request.name.to_string(),
            longhorn_version: request.version.to_string(),
            longhorn_git_commit: request.git_commit.to_string(),
            backup_target_url: store::config_target_url(request.target_url)?,
            manager_image: request.manager_image.to_string(),
            engine_image: request.engine_image.to_string(),
            created_at: go_rfc3339_nano(jiff::Timestamp::now()),
            checksum: hex::encode(Sha256::digest(&request.zip)),
        };
        let uploaded = match self.open(request.target_url) {
            Ok(store) => store.upload(request.zip, &config).await,
            Err(e) => Err(e),
        };
        uploaded.map_err(|e| {
            let args = [
                "system-backup",
                "upload",
                &local,
                &url,
                "--git-commit",
                request.git_commit,
                "--manager-image",
                request.manager_image,
                "--engine-image",
                request.engine_image,
            ];
            let exec = Self::exec_error(request.engine_image, &args, &e.0);
            format!("error uploading system backup from {local} to {url}: {exec}")
        })
    }

    /// `system-backup delete <url>`.
    pub async fn delete(
        &self,
        engine_image: &str,
        name: &str,
        version: &str,
        target_url: &str,
    ) -> Result<(), String> {
        let url = store::system_backup_url(name, version, target_url)?;
        let deleted = match self.open(target_url) {
            Ok(store) => store.delete(name, version).await,
            Err(e) => Err(e),
        };
        deleted.map_err(|e| {
            let exec = Self::exec_error(engine_image, &["system-backup", "delete", &url], &e.0);
            format!("error deleting system backup {url}: {exec}")
        })
    }

    /// `system-backup download <url> <path>`: the zip, checksum verified.
    pub async fn download(
        &self,
        engine_image: &str,
        name: &str,
        version: &str,
        target_url: &str,
        local: &str,
    ) -> Result<Vec<u8>, String> {
        let url = store::system_backup_url(name, version, target_url)?;
        let downloaded = match self.open(target_url) {
            Ok(store) => match store.load_config(name, version).await {
                Ok(Some(config)) => store.download(&config).await,
                Ok(None) => Err(StoreError(Self::config_not_found(name, version))),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        downloaded.map_err(|e| {
            let exec = Self::exec_error(
                engine_image,
                &["system-backup", "download", &url, local],
                &e.0,
            );
            format!("error downloading system backup {url}: {exec}")
        })
    }
}

/// Go's `time.RFC3339Nano` in UTC: fractional seconds without trailing zeros.
pub(crate) fn go_rfc3339_nano(at: jiff::Timestamp) -> String {
    let seconds = at.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = at.subsec_nanosecond();
    if nanos == 0 {
        format!("{seconds}Z")
    } else {
        let fraction = format!("{nanos:09}");
        format!("{seconds}.{}Z", fraction.trim_end_matches('0'))
    }
}

/// `metav1.Time` / `util.Now()`: RFC 3339, UTC, whole seconds.
pub(crate) fn rfc3339_seconds(at: jiff::Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

pub(crate) fn now_seconds() -> String {
    rfc3339_seconds(jiff::Timestamp::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_print_like_go() {
        let at: jiff::Timestamp = "2025-01-02T03:04:05.120Z".parse().unwrap();
        assert_eq!(go_rfc3339_nano(at), "2025-01-02T03:04:05.12Z");
        assert_eq!(rfc3339_seconds(at), "2025-01-02T03:04:05Z");
        let whole: jiff::Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
        assert_eq!(go_rfc3339_nano(whole), "2025-01-02T03:04:05Z");
    }

    #[tokio::test]
    async fn an_unreachable_store_fails_like_the_engine_binary() {
        let dir = tempfile::tempdir().unwrap();
        let knobs = Knobs::default();
        knobs.set_store_failure(Some("mount failed"));
        let engine = Engine::new(Arc::new(Stores::new(dir.path())), knobs);
        let error = engine
            .list("longhornio/longhorn-engine:v1.9.0", "nfs://h:/x")
            .await
            .unwrap_err();
        assert_eq!(
            error,
            "error listing system backup in nfs://h:/x: failed to execute: /var/lib/longhorn/engine-binaries/longhornio-longhorn-engine-v1.9.0/longhorn [system-backup list nfs://h:/x], output , stderr mount failed: exit status 1"
        );
    }
}
