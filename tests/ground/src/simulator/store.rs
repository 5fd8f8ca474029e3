//! The backup store: a small object-store trait, a local-directory implementation
//! standing in for mounted NFS/CIFS shares, and Longhorn's system-backup layout on top
//! (simulator-spec.md §5, longhorn-system-backup.md §5).
//!
//! Other stores (S3, Azure) plug in by implementing [`ObjectStore`] and registering
//! it for a target URL with [`Stores::register`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A store failure; the text is what the engine binary would print on stderr.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Keys are `/`-separated paths relative to the backup target's root, e.g.
/// `backupstore/system-backups/v1.9.0/demo/system-backup.zip`.
pub trait ObjectStore: Send + Sync {
    /// Names of the entries directly under `prefix` (empty if it does not exist).
    fn list(&self, prefix: &str) -> BoxFuture<'_, StoreResult<Vec<String>>>;
    fn read(&self, key: &str) -> BoxFuture<'_, StoreResult<Option<Vec<u8>>>>;
    fn exists(&self, key: &str) -> BoxFuture<'_, StoreResult<bool>>;
    fn write(&self, key: &str, data: Vec<u8>) -> BoxFuture<'_, StoreResult<()>>;
    /// Removes `prefix` and everything below it.
    fn remove_all(&self, prefix: &str) -> BoxFuture<'_, StoreResult<()>>;
}

/// A directory on this machine: the "mount point" of an NFS/CIFS share, or a `vfs://`
/// target.
#[derive(Clone, Debug)]
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    fn path(&self, key: &str) -> PathBuf {
        self.root.join(key.trim_matches('/'))
    }
}

fn io_error(context: &str, path: &Path, error: std::io::Error) -> StoreError {
    StoreError(format!("{context} {}: {error}", path.display()))
}

impl ObjectStore for LocalDirStore {
    fn list(&self, prefix: &str) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        let dir = self.path(prefix);
        Box::pin(async move {
            let mut entries = match tokio::fs::read_dir(&dir).await {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
                Err(e) => return Err(io_error("cannot list", &dir, e)),
            };
            let mut names = Vec::new();
            while let Some(entry) = entries
                .next_entry()
                .await
                .map_err(|e| io_error("cannot list", &dir, e))?
            {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
            names.sort();
            Ok(names)
        })
    }

    fn read(&self, key: &str) -> BoxFuture<'_, StoreResult<Option<Vec<u8>>>> {
        let path = self.path(key);
        Box::pin(async move {
            match tokio::fs::read(&path).await {
                Ok(data) => Ok(Some(data)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(io_error("cannot read", &path, e)),
            }
        })
    }

    fn exists(&self, key: &str) -> BoxFuture<'_, StoreResult<bool>> {
        let path = self.path(key);
        Box::pin(async move { Ok(tokio::fs::try_exists(&path).await.unwrap_or(false)) })
    }

    fn write(&self, key: &str, data: Vec<u8>) -> BoxFuture<'_, StoreResult<()>> {
        let path = self.path(key);
        Box::pin(async move {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent)
                    .await
                    .map_err(|e| io_error("cannot create", parent, e))?;
            }
            // Like backupstore's file drivers: write a temporary file, then rename, so a
            // reader never sees half a file.
            let temporary = path.with_extension(format!("tmp.{}", uuid::Uuid::new_v4().simple()));
            tokio::fs::write(&temporary, data)
                .await
                .map_err(|e| io_error("cannot write", &temporary, e))?;
            tokio::fs::rename(&temporary, &path)
                .await
                .map_err(|e| io_error("cannot move", &path, e))
        })
    }

    fn remove_all(&self, prefix: &str) -> BoxFuture<'_, StoreResult<()>> {
        let path = self.path(prefix);
        Box::pin(async move {
            match tokio::fs::remove_dir_all(&path).await {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io_error("cannot remove", &path, e)),
            }
            // Like backupstore's file drivers, prune the parents left empty, up to
            // (not including) the `backupstore` directory.
            let base = self.root.join("backupstore");
            let mut parent = path.parent();
            while let Some(dir) = parent.filter(|dir| dir.starts_with(&base) && *dir != base) {
                if tokio::fs::remove_dir(dir).await.is_err() {
                    break;
                }
                parent = dir.parent();
            }
            Ok(())
        })
    }
}

/// A backup target URL split the way Go's `net/url` sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TargetUrl {
    pub scheme: String,
    pub host: String,
    pub path: String,
    pub query: Option<String>,
}

impl TargetUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        let (rest, query) = match url.split_once('?') {
            Some((rest, query)) => (rest, Some(query.to_string())),
            None => (url, None),
        };
        let Some((scheme, rest)) = rest.split_once("://") else {
            return Err(format!("failed to parse {url} as url"));
        };
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        Ok(Self {
            scheme: scheme.to_lowercase(),
            host: host.to_string(),
            path: path.to_string(),
            query,
        })
    }

    fn with_path(&self, path: &str) -> String {
        let query = self
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{}://{}{}{}", self.scheme, self.host, path, query)
    }
}

/// `<target>/backupstore/system-backups/<version>/<name>` (`GetSystemBackupURL`).
pub fn system_backup_url(name: &str, version: &str, target: &str) -> Result<String, String> {
    if name.is_empty() {
        return Err("getting system backup URL: missing system backup name".into());
    }
    if version.is_empty() {
        return Err("getting system backup URL: missing Longhorn version".into());
    }
    let url = TargetUrl::parse(target)?;
    let joined = format!(
        "{}/{}",
        url.path.trim_end_matches('/'),
        system_backup_dir(name, version)
    );
    let path = if joined.starts_with('/') {
        joined
    } else {
        format!("/{joined}")
    };
    Ok(url.with_path(&path))
}

/// The target URL Longhorn stores in the cfg: `ParseSystemBackupURL` of the full
/// system-backup URL (a trailing `/` when the URL contains `@`).
pub fn config_target_url(target: &str) -> Result<String, String> {
    let url = TargetUrl::parse(target)?;
    let path = url.path.trim_end_matches('/');
    let rebuilt = url.with_path(path);
    Ok(if rebuilt.contains('@') {
        format!("{rebuilt}/")
    } else {
        rebuilt
    })
}

pub const SYSTEM_BACKUPS_DIR: &str = "backupstore/system-backups";
pub const ZIP_FILE: &str = "system-backup.zip";
pub const CONFIG_FILE: &str = "system-backup.cfg";

/// `backupstore/system-backups/<version>/<name>`.
pub fn system_backup_dir(name: &str, version: &str) -> String {
    format!("{SYSTEM_BACKUPS_DIR}/{version}/{name}")
}

/// `system-backup.cfg`: Go's `encoding/json` of backupstore's `Config` (no tags, so the
/// keys are the Go field names, in declaration order).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemBackupConfig {
    pub name: String,
    pub longhorn_version: String,
    pub longhorn_git_commit: String,
    #[serde(rename = "BackupTargetURL")]
    pub backup_target_url: String,
    pub manager_image: String,
    pub engine_image: String,
    /// RFC 3339 with nanoseconds, UTC (Go `time.Time`).
    pub created_at: String,
    /// SHA-256 hex of the zip.
    pub checksum: String,
}

/// Longhorn's system-backup operations on one store (backupstore `systembackup`).
pub struct SystemBackupStore {
    store: Arc<dyn ObjectStore>,
}

impl SystemBackupStore {
    pub fn new(store: Arc<dyn ObjectStore>) -> Self {
        Self { store }
    }

    /// name → `backupstore/system-backups/<version>/<name>`; a name present under two
    /// versions keeps the last one listed, as in backupstore.
    pub async fn list(&self) -> StoreResult<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        for version in self.store.list(SYSTEM_BACKUPS_DIR).await? {
            let versioned = format!("{SYSTEM_BACKUPS_DIR}/{version}");
            for name in self.store.list(&versioned).await? {
                found.insert(name.clone(), format!("{versioned}/{name}"));
            }
        }
        Ok(found)
    }

    /// `None` when the cfg does not exist.
    pub async fn load_config(
        &self,
        name: &str,
        version: &str,
    ) -> StoreResult<Option<SystemBackupConfig>> {
        let key = format!("{}/{CONFIG_FILE}", system_backup_dir(name, version));
        match self.store.read(&key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| StoreError(format!("failed to decode {key}: {e}"))),
        }
    }

    /// The zip first (refusing to overwrite it), then the cfg as the commit marker.
    pub async fn upload(&self, zip: Vec<u8>, config: &SystemBackupConfig) -> StoreResult<()> {
        let dir = system_backup_dir(&config.name, &config.longhorn_version);
        let zip_key = format!("{dir}/{ZIP_FILE}");
        if self.store.exists(&zip_key).await? {
            return Err(StoreError(format!("{zip_key} already exists")));
        }
        self.store.write(&zip_key, zip).await?;
        let cfg = serde_json::to_vec(config).map_err(|e| StoreError(e.to_string()))?;
        self.store.write(&format!("{dir}/{CONFIG_FILE}"), cfg).await
    }

    pub async fn delete(&self, name: &str, version: &str) -> StoreResult<()> {
        self.store
            .remove_all(&system_backup_dir(name, version))
            .await
    }

    /// The zip, checked against the cfg's checksum.
    pub async fn download(&self, config: &SystemBackupConfig) -> StoreResult<Vec<u8>> {
        let key = format!(
            "{}/{ZIP_FILE}",
            system_backup_dir(&config.name, &config.longhorn_version)
        );
        let Some(zip) = self.store.read(&key).await? else {
            return Err(StoreError(format!("system backup {key} doesn't exist")));
        };
        let checksum = hex::encode(Sha256::digest(&zip));
        if checksum != config.checksum {
            return Err(StoreError(format!(
                "downloaded {key} checksum mismatched: got {checksum}: expect {}",
                config.checksum
            )));
        }
        Ok(zip)
    }
}

/// An `object_store` client (S3 on s3s-fs, Azure on Azurite) as the simulator's
/// store, so that server-side system backups go to the same bucket or container the
/// plugin reads and writes. Keys are relative to the client's bucket or container.
pub struct ObjectStoreAdapter {
    inner: Arc<dyn object_store::ObjectStore>,
}

impl ObjectStoreAdapter {
    pub fn new(inner: Arc<dyn object_store::ObjectStore>) -> Self {
        Self { inner }
    }
}

fn object_error(context: &str, key: &str, error: object_store::Error) -> StoreError {
    StoreError(format!("{context} {key}: {error}"))
}

impl ObjectStore for ObjectStoreAdapter {
    fn list(&self, prefix: &str) -> BoxFuture<'_, StoreResult<Vec<String>>> {
        let prefix = prefix.trim_matches('/').to_string();
        Box::pin(async move {
            let path = object_store::path::Path::from(prefix.as_str());
            let listed = self
                .inner
                .list_with_delimiter(Some(&path))
                .await
                .map_err(|e| object_error("cannot list", &prefix, e))?;
            let mut names: Vec<String> = listed
                .common_prefixes
                .iter()
                .chain(listed.objects.iter().map(|o| &o.location))
                .filter_map(|p| p.filename().map(str::to_string))
                .collect();
            names.sort();
            names.dedup();
            Ok(names)
        })
    }

    fn read(&self, key: &str) -> BoxFuture<'_, StoreResult<Option<Vec<u8>>>> {
        let key = key.trim_matches('/').to_string();
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            let path = object_store::path::Path::from(key.as_str());
            match self.inner.get(&path).await {
                Ok(result) => result
                    .bytes()
                    .await
                    .map(|b| Some(b.to_vec()))
                    .map_err(|e| object_error("cannot read", &key, e)),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(object_error("cannot read", &key, e)),
            }
        })
    }

    fn exists(&self, key: &str) -> BoxFuture<'_, StoreResult<bool>> {
        let key = key.trim_matches('/').to_string();
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            let path = object_store::path::Path::from(key.as_str());
            match self.inner.head(&path).await {
                Ok(_) => Ok(true),
                Err(object_store::Error::NotFound { .. }) => Ok(false),
                Err(e) => Err(object_error("cannot stat", &key, e)),
            }
        })
    }

    fn write(&self, key: &str, data: Vec<u8>) -> BoxFuture<'_, StoreResult<()>> {
        let key = key.trim_matches('/').to_string();
        Box::pin(async move {
            use object_store::ObjectStoreExt;
            let path = object_store::path::Path::from(key.as_str());
            self.inner
                .put(&path, data.into())
                .await
                .map(|_| ())
                .map_err(|e| object_error("cannot write", &key, e))
        })
    }

    fn remove_all(&self, prefix: &str) -> BoxFuture<'_, StoreResult<()>> {
        let prefix = prefix.trim_matches('/').to_string();
        Box::pin(async move {
            use futures::TryStreamExt;
            use object_store::ObjectStoreExt;
            let path = object_store::path::Path::from(prefix.as_str());
            let objects: Vec<_> = self
                .inner
                .list(Some(&path))
                .map_ok(|meta| meta.location)
                .try_collect()
                .await
                .map_err(|e| object_error("cannot list", &prefix, e))?;
            for location in objects {
                self.inner
                    .delete(&location)
                    .await
                    .map_err(|e| object_error("cannot remove", location.as_ref(), e))?;
            }
            Ok(())
        })
    }
}

/// Resolves backup target URLs to stores. NFS and CIFS shares are "mounted" as
/// directories under `mount_root`; `vfs://` targets are used as they are.
pub struct Stores {
    mount_root: PathBuf,
    registered: Mutex<Vec<(String, Arc<dyn ObjectStore>)>>,
}

impl Stores {
    pub fn new(mount_root: impl Into<PathBuf>) -> Self {
        Self {
            mount_root: mount_root.into(),
            registered: Mutex::new(Vec::new()),
        }
    }

    /// Serves the target URL `url` (compared without a trailing `/`) from `store`.
    pub fn register(&self, url: &str, store: Arc<dyn ObjectStore>) {
        let key = url.trim_end_matches('/').to_string();
        let mut registered = self.registered.lock().expect("stores lock");
        registered.retain(|(existing, _)| *existing != key);
        registered.push((key, store));
    }

    /// Where the share of an `nfs://` / `cifs://` / `vfs://` URL lives on this machine
    /// (what a user passes as the plugin's `--mount-path`).
    pub fn mount_path(&self, url: &str) -> Option<PathBuf> {
        let target = TargetUrl::parse(url).ok()?;
        match target.scheme.as_str() {
            "vfs" => Some(PathBuf::from(&target.path)),
            "nfs" | "cifs" => {
                let host = target.host.trim_end_matches(':').replace([':', '/'], "_");
                let share = target.path.trim_matches('/');
                Some(self.mount_root.join(&target.scheme).join(host).join(share))
            }
            _ => None,
        }
    }

    pub fn open(&self, url: &str) -> Result<SystemBackupStore, StoreError> {
        let key = url.trim_end_matches('/');
        if let Some((_, store)) = self
            .registered
            .lock()
            .expect("stores lock")
            .iter()
            .find(|(k, _)| k == key)
        {
            return Ok(SystemBackupStore::new(store.clone()));
        }
        match self.mount_path(url) {
            Some(path) => Ok(SystemBackupStore::new(Arc::new(LocalDirStore::new(path)))),
            None => Err(StoreError(format!(
                "the ground has no store for backup target {url}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_backup_urls_follow_backupstore() {
        assert_eq!(
            system_backup_url("demo", "v1.9.0", "s3://bucket@us-east-1/").unwrap(),
            "s3://bucket@us-east-1/backupstore/system-backups/v1.9.0/demo"
        );
        assert_eq!(
            system_backup_url(
                "demo",
                "v1.9.0",
                "nfs://10.0.0.1:/exports/lh?nfsOptions=soft"
            )
            .unwrap(),
            "nfs://10.0.0.1:/exports/lh/backupstore/system-backups/v1.9.0/demo?nfsOptions=soft"
        );
        assert_eq!(
            config_target_url("s3://bucket@us-east-1/").unwrap(),
            "s3://bucket@us-east-1/"
        );
        assert_eq!(
            config_target_url("vfs:///tmp/store/").unwrap(),
            "vfs:///tmp/store"
        );
        assert_eq!(
            config_target_url("nfs://10.0.0.1:/exports/lh").unwrap(),
            "nfs://10.0.0.1:/exports/lh"
        );
    }

    #[test]
    fn cfg_uses_go_field_names_in_order() {
        let config = SystemBackupConfig {
            name: "demo".into(),
            longhorn_version: "v1.9.0".into(),
            longhorn_git_commit: "abc".into(),
            backup_target_url: "vfs:///x".into(),
            manager_image: "m".into(),
            engine_image: "e".into(),
            created_at: "2025-01-01T00:00:00.5Z".into(),
            checksum: "00".into(),
        };
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            r#"{"Name":"demo","LonghornVersion":"v1.9.0","LonghornGitCommit":"abc","BackupTargetURL":"vfs:///x","ManagerImage":"m","EngineImage":"e","CreatedAt":"2025-01-01T00:00:00.5Z","Checksum":"00"}"#
        );
    }

    #[tokio::test]
    async fn upload_list_download_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let stores = Stores::new(dir.path());
        let url = "nfs://127.0.0.1:/exports/lh";
        let store = stores.open(url).unwrap();
        let zip = b"not really a zip".to_vec();
        let config = SystemBackupConfig {
            name: "demo".into(),
            longhorn_version: "v1.9.0".into(),
            longhorn_git_commit: String::new(),
            backup_target_url: url.into(),
            manager_image: String::new(),
            engine_image: String::new(),
            created_at: String::new(),
            checksum: hex::encode(Sha256::digest(&zip)),
        };
        store.upload(zip.clone(), &config).await.unwrap();
        let mount = stores.mount_path(url).unwrap();
        assert!(
            mount
                .join("backupstore/system-backups/v1.9.0/demo/system-backup.cfg")
                .is_file()
        );
        assert_eq!(
            store.upload(zip.clone(), &config).await.unwrap_err().0,
            "backupstore/system-backups/v1.9.0/demo/system-backup.zip already exists"
        );
        let listed = store.list().await.unwrap();
        assert_eq!(
            listed.get("demo").unwrap(),
            "backupstore/system-backups/v1.9.0/demo"
        );
        assert_eq!(
            store.load_config("demo", "v1.9.0").await.unwrap().unwrap(),
            config
        );
        assert_eq!(store.download(&config).await.unwrap(), zip);
        store.delete("demo", "v1.9.0").await.unwrap();
        assert!(store.list().await.unwrap().is_empty());
    }
}
