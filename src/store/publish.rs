//! Putting a bundle built on this machine into the backup target the way Longhorn
//! would have (longhorn-system-backup.md §5, §10.3–10.6): refuse a name that exists,
//! describe it in a `system-backup.cfg` whose images are the cluster's real ones,
//! upload the zip then the cfg, and let Longhorn find it.

use std::path::Path;

use jiff::Timestamp;

use super::{Store, SystemBackupConfig, TargetUrl, config::go_time};
use crate::api::{self, Selector};
use crate::bundle;
use crate::error::{Error, Result};
use crate::longhorn::resources::{self, SETTING_DEFAULT_ENGINE_IMAGE, SYSTEM_BACKUP};
use crate::longhorn::systembackup as sb;
use crate::longhorn::{backup_target, install};
use crate::object;
use crate::session::Session;

/// Where a local bundle is going, checked before it is built: the target opens, the
/// name is free, the cfg's manager image can be named.
pub struct Destination {
    pub store: Store,
    namespace: String,
    /// Whether this is the cluster's own target (BackupTarget `default`), the only one
    /// Longhorn syncs from.
    pub is_cluster_target: bool,
    /// The version folder of an earlier upload of the name that never got its cfg.
    incomplete: Option<String>,
    /// What the cfg names for Longhorn's restore job (§5.2), read before building.
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

impl Destination {
    pub async fn prepare(
        session: &Session,
        namespace: &str,
        name: &str,
        url_override: Option<&str>,
        mount_path: Option<&Path>,
    ) -> Result<Self> {
        let (store, target) =
            super::open_cluster_target(session, namespace, url_override, mount_path).await?;
        let is_cluster_target = target
            .and_then(|t| TargetUrl::parse(&t.url).ok())
            .is_some_and(|url| url.cfg_target_url() == store.url.cfg_target_url());
        let (incomplete, manager_image, engine_image) = tokio::try_join!(
            check_name_free(session, namespace, &store, name),
            manager_image(session, namespace),
            engine_image(session, namespace),
        )?;
        Ok(Destination {
            store,
            namespace: namespace.to_string(),
            is_cluster_target,
            incomplete,
            manager_image,
            engine_image,
        })
    }

    /// Uploads `zip` as system backup `name` of Longhorn `version` (zip, then cfg) and,
    /// on the cluster's own target, asks Longhorn to sync so that it lists it
    /// (longhorn-system-backup.md §10.3–10.6).
    pub async fn publish(
        &self,
        session: &Session,
        name: &str,
        version: &str,
        zip: &Path,
        checksum: &str,
        progress: impl Fn(u64),
    ) -> Result<Uploaded> {
        // As backupstore's `system-backup upload` writes it.
        let config = SystemBackupConfig {
            name: name.to_string(),
            longhorn_version: version.to_string(),
            longhorn_git_commit: git_commit(session, &self.namespace, version).await?,
            backup_target_url: self.store.url.cfg_target_url(),
            manager_image: self.manager_image.clone(),
            engine_image: self.engine_image.clone(),
            created_at: go_time(Timestamp::now()),
            checksum: checksum.to_string(),
        };
        if let Some(leftover) = &self.incomplete {
            self.store.remove_incomplete(leftover, name).await?;
        }
        self.store.upload(zip, &config, progress).await?;
        let sync_requested_at = if self.is_cluster_target {
            Some(
                backup_target::request_sync(session, &self.namespace)
                    .await?
                    .requested_at,
            )
        } else {
            None
        };
        Ok(Uploaded {
            location: self.store.url.system_backup_url(version, name),
            checksum: config.checksum,
            sync_requested_at,
        })
    }
}

/// Refuses when `name` exists as a SystemBackup or as a complete backup in the store
/// (under any version: Longhorn keys system backups by name only). Returns the version
/// folder of an upload of it that has no cfg: Longhorn does not consider that
/// uploaded, and it has to go before the name is written again.
async fn check_name_free(
    session: &Session,
    namespace: &str,
    store: &Store,
    name: &str,
) -> Result<Option<String>> {
    if api::get_opt(
        session,
        &SYSTEM_BACKUP.api_resource(),
        Some(namespace),
        name,
    )
    .await?
    .is_some()
    {
        return Err(Error::invalid(format!(
            "systembackup {name:?} already exists as a SystemBackup in {namespace}; choose another name"
        )));
    }
    let Some(version) = store.find(name).await? else {
        return Ok(None);
    };
    if store.config(&version, name).await?.is_some() {
        return Err(Error::invalid(format!(
            "system backup {name:?} already exists in the backup target {} (under {version}); choose another name",
            store.url.display()
        )));
    }
    Ok(Some(version))
}

/// The manager image of the longhorn-manager DaemonSet (its `--manager-image` flag):
/// the image Longhorn's restore job runs with.
async fn manager_image(session: &Session, namespace: &str) -> Result<String> {
    let daemon_set = api::get_opt(session, &resources::daemon_sets(), Some(namespace), "longhorn-manager")
        .await?
        .ok_or_else(|| {
            Error::invalid(format!(
                "the longhorn-manager DaemonSet is not in {namespace}; its --manager-image is needed for the uploaded backup's cfg, which Longhorn's restore runs: pass Longhorn's namespace with -n"
            ))
        })?;
    bundle::collect::manager_image(&daemon_set).ok_or_else(|| {
        Error::invalid(format!(
            "the longhorn-manager DaemonSet in {namespace} names no manager image (no --manager-image flag, no container image), which the uploaded backup's cfg needs; check the DaemonSet"
        ))
    })
}

/// The git commit Longhorn records: taken from a SystemBackup of the same version
/// (restore does not read it; longhorn-system-backup.md §10.4).
async fn git_commit(session: &Session, namespace: &str, version: &str) -> Result<String> {
    use futures::TryStreamExt;
    let backups = api::items(
        session,
        &SYSTEM_BACKUP.api_resource(),
        Some(namespace),
        Selector::default(),
    );
    let mut backups = std::pin::pin!(backups);
    while let Some(backup) = backups.try_next().await? {
        let commit = object::str_at(&backup, "/status/gitCommit").filter(|c| !c.is_empty());
        if let Some(commit) = commit.filter(|_| sb::version(&backup) == Some(version)) {
            return Ok(commit.to_string());
        }
    }
    Ok("unknown".to_string())
}

/// Setting `default-engine-image`: the engine image Longhorn's restore downloads with.
async fn engine_image(session: &Session, namespace: &str) -> Result<String> {
    install::setting(session, namespace, SETTING_DEFAULT_ENGINE_IMAGE)
        .await?
        .filter(|image| !image.is_empty())
        .ok_or_else(|| {
            Error::invalid(format!(
                "Setting {SETTING_DEFAULT_ENGINE_IMAGE} is empty in {namespace}, and the uploaded backup's cfg must name the engine image Longhorn's restore uses; Longhorn sets it at install: check the install in {namespace}"
            ))
        })
}
