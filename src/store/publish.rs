//! Putting a bundle built on this machine into the backup target the way Longhorn
//! would have (docs/longhorn-behaviour.md, "Uploading a bundle"): refuse a name that
//! exists, describe it in a `system-backup.cfg` whose images are the cluster's real
//! ones, upload the zip then the cfg, and let Longhorn find it.

use std::path::Path;

use jiff::Timestamp;

use super::error::{Error, Result};
use super::{Location, Store, SystemBackupConfig, config::go_time, open_cluster_target};
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::{Longhorn, backup_target, manager};

/// Where a local bundle is going, checked before it is built: the target opens, the
/// name is free, the cfg's manager and engine images can be named.
pub struct Destination {
    pub store: Store,
    /// Whether this is the cluster's own target (BackupTarget `default`), the only one
    /// Longhorn syncs from.
    pub is_cluster_target: bool,
    /// The version folder of an earlier upload of the name that never got its cfg.
    incomplete: Option<String>,
    /// What the cfg names for Longhorn's restore job, read before building.
    manager_image: String,
    engine_image: String,
}

/// Where the bundle went, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Uploaded {
    /// The system backup's URL in the store (`<target>/backupstore/system-backups/<version>/<name>`).
    pub location: String,
    pub checksum: String,
    /// When Longhorn was asked to sync; none for a target other than the cluster's.
    pub sync_requested_at: Option<String>,
}

/// A built bundle to upload.
pub struct Bundle<'a> {
    pub name: &'a str,
    /// The Longhorn version the bundle is of, as Longhorn spells it.
    pub version: &'a str,
    pub zip: &'a Path,
    pub checksum: &'a str,
}

impl Destination {
    pub async fn prepare(longhorn: &Longhorn, name: &str, location: Location<'_>) -> Result<Self> {
        let (store, is_cluster_target) = open_cluster_target(longhorn, location).await?;
        let (incomplete, manager_image, engine_image) = tokio::join!(
            check_name_free(longhorn, &store, name),
            manager::read_manager_image(longhorn),
            manager::read_engine_image(longhorn),
        );
        Ok(Destination {
            incomplete: incomplete?,
            manager_image: manager_image?,
            engine_image: engine_image?,
            store,
            is_cluster_target,
        })
    }

    /// Uploads the bundle (zip, then cfg) and, on the cluster's own target, asks
    /// Longhorn to sync so that it lists it.
    pub async fn publish(
        &self,
        longhorn: &Longhorn,
        bundle: &Bundle<'_>,
        progress: impl Fn(u64),
    ) -> Result<Uploaded> {
        // As backupstore's `system-backup upload` writes it.
        let config = SystemBackupConfig {
            name: bundle.name.to_string(),
            longhorn_version: bundle.version.to_string(),
            longhorn_git_commit: manager::git_commit(longhorn, bundle.version)
                .await?
                .unwrap_or_else(|| manager::UNKNOWN_GIT_COMMIT.to_string()),
            backup_target_url: self.store.url.cfg_target_url(),
            manager_image: self.manager_image.clone(),
            engine_image: self.engine_image.clone(),
            created_at: go_time(Timestamp::now()),
            checksum: bundle.checksum.to_string(),
        };
        if let Some(leftover) = &self.incomplete {
            self.store.remove_incomplete(leftover, bundle.name).await?;
        }
        self.store.upload(bundle.zip, &config, progress).await?;
        let location = self
            .store
            .url
            .system_backup_url(bundle.version, bundle.name);
        let sync_requested_at = match self.is_cluster_target {
            true => Some(
                backup_target::request_sync(longhorn)
                    .await
                    .map_err(|source| Error::SyncNotRequested {
                        name: bundle.name.to_string(),
                        location: location.clone(),
                        source: Box::new(source),
                    })?
                    .requested_at,
            ),
            false => None,
        };
        Ok(Uploaded {
            location,
            checksum: config.checksum,
            sync_requested_at,
        })
    }
}

/// Refuses when `name` exists as a SystemBackup or as a complete backup in the store
/// (under any version: Longhorn keys system backups by name only). Returns the version
/// folder of an upload of it that has no cfg: Longhorn does not consider that
/// uploaded, and it has to go before the name is written again.
async fn check_name_free(longhorn: &Longhorn, store: &Store, name: &str) -> Result<Option<String>> {
    let namespace = longhorn.namespace();
    let existing = longhorn
        .kube()
        .get_opt(&SYSTEM_BACKUP.object(namespace, name))
        .await?;
    if existing.is_some() {
        return Err(Error::TakenInCluster {
            name: name.to_string(),
            namespace: namespace.to_string(),
        });
    }
    let Some(version) = store.find(name).await? else {
        return Ok(None);
    };
    if store.config(&version, name).await?.is_some() {
        return Err(Error::TakenInStore {
            name: name.to_string(),
            url: store.url.display(),
            version,
        });
    }
    Ok(Some(version))
}
