//! The backup target as object storage: where system backups live
//! (`<target>/backupstore/system-backups/<version>/<name>/system-backup.{zip,cfg}`,
//! docs/longhorn-behaviour.md, "The store"). S3 and Azure are reached directly with
//! `object_store`, configured from the credential secret exactly as Longhorn reads
//! it; NFS and CIFS shares must be mounted on this machine (`--mount-path`).

pub mod config;
pub mod credentials;
pub mod error;
pub mod publish;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

pub use config::SystemBackupConfig;
pub use credentials::Credentials;
pub use error::{Error, Result};

use crate::longhorn::Longhorn;
use crate::longhorn::backup_target::needs_credentials;
use crate::longhorn::target_url::{
    CONFIG_FILE, SYSTEM_BACKUPS_DIR, TargetUrl, ZIP_FILE, system_backup_dir,
};

/// Where a store is: the cluster's backup target (BackupTarget `default`), or another
/// URL (`--target`) read with the same credential secret; NFS and CIFS shares where
/// they are mounted here (`--mount-path`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Location<'a> {
    pub url_override: Option<&'a str>,
    pub mount_path: Option<&'a Path>,
}

impl Location<'_> {
    /// Refuses, before anything is sent, what is wrong without asking the cluster: a
    /// `--mount-path` that is not a directory, a `--target` Longhorn would not take or
    /// that cannot be reached from here as given.
    pub fn check(&self) -> Result<()> {
        if let Some(mount) = self.mount_path {
            check_mount(mount)?;
        }
        if let Some(text) = self.url_override {
            check_url(&TargetUrl::parse(text)?, self.mount_path)?;
        }
        Ok(())
    }
}

fn check_mount(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        Ok(())
    } else {
        Err(Error::NotADirectory(dir.to_path_buf()))
    }
}

/// What a target URL needs, whoever gave it: a supported scheme, a bucket or container,
/// and for a share, where it is mounted.
fn check_url(url: &TargetUrl, mount_path: Option<&Path>) -> Result<()> {
    let named = url.user.as_deref().is_some_and(|u| !u.is_empty());
    match url.scheme.as_str() {
        "s3" if !named => Err(Error::NoBucket(url.display())),
        "azblob" if !named => Err(Error::NoContainer(url.display())),
        "nfs" | "cifs" if mount_path.is_none() => Err(Error::NotMounted {
            url: url.display(),
            scheme: url.scheme.clone(),
        }),
        "s3" | "azblob" | "nfs" | "cifs" | "vfs" => Ok(()),
        other => Err(Error::UnsupportedScheme(other.to_string())),
    }
}

/// Opens the cluster's backup target (or `location`'s URL) with its credential secret.
/// The second value says whether it is the cluster's own target, the only one
/// Longhorn lists and syncs from.
pub async fn open_cluster_target(
    longhorn: &Longhorn,
    location: Location<'_>,
) -> Result<(Store, bool)> {
    let namespace = longhorn.namespace();
    let target = longhorn.backup_target().await?;
    let url_text = match (location.url_override, target) {
        (Some(url), _) => url.to_string(),
        (None, Some(t)) if !t.url.is_empty() => t.url.clone(),
        _ => return Err(Error::TargetUnset(namespace.to_string())),
    };
    let url = TargetUrl::parse(&url_text)?;
    let credentials = match target.and_then(|t| t.credential_secret.clone()) {
        Some(secret) if needs_credentials(&url.scheme) => {
            Credentials::read(longhorn, &secret).await?
        }
        // A mounted CIFS share needs none here.
        None if matches!(url.scheme.as_str(), "s3" | "azblob") => {
            return Err(Error::NoCredentialSecret {
                url: url.display(),
                scheme: url.scheme.clone(),
            });
        }
        _ => Credentials::default(),
    };
    let store = Store::open(&url, &credentials, location.mount_path)?;
    let is_cluster_target = target
        .and_then(|t| TargetUrl::parse(&t.url).ok())
        .is_some_and(|own| own.cfg_target_url() == store.url.cfg_target_url());
    Ok((store, is_cluster_target))
}

pub struct Store {
    objects: Arc<dyn ObjectStore>,
    prefix: String,
    /// The directory of an NFS/CIFS/VFS target on this machine.
    local_root: Option<PathBuf>,
    pub url: TargetUrl,
}

impl Store {
    /// Opens the target at `url` with `credentials`; `mount_path` is where an NFS or
    /// CIFS share is mounted locally.
    pub fn open(
        url: &TargetUrl,
        credentials: &Credentials,
        mount_path: Option<&Path>,
    ) -> Result<Self> {
        check_url(url, mount_path)?;
        let mut local_root = None;
        let (objects, prefix): (Arc<dyn ObjectStore>, String) = match url.scheme.as_str() {
            "s3" => (
                Arc::new(s3(url, credentials)?),
                url.key_prefix().to_string(),
            ),
            "azblob" => (
                Arc::new(azure(url, credentials)?),
                url.key_prefix().to_string(),
            ),
            "nfs" | "cifs" => {
                let mount = mount_path.ok_or_else(|| Error::NotMounted {
                    url: url.display(),
                    scheme: url.scheme.clone(),
                })?;
                local_root = Some(mount.to_path_buf());
                (Arc::new(local_dir(mount)?), String::new())
            }
            "vfs" => {
                local_root = Some(PathBuf::from(&url.path));
                (Arc::new(local_dir(Path::new(&url.path))?), String::new())
            }
            other => return Err(Error::UnsupportedScheme(other.to_string())),
        };
        Ok(Store {
            objects,
            prefix,
            local_root,
            url: url.clone(),
        })
    }

    fn path(&self, version: &str, name: &str, file: &str) -> ObjectPath {
        ObjectPath::from(format!(
            "{}/{file}",
            system_backup_dir(&self.prefix, version, name)
        ))
    }

    fn base(&self) -> ObjectPath {
        ObjectPath::from(if self.prefix.is_empty() {
            SYSTEM_BACKUPS_DIR.to_string()
        } else {
            format!("{}/{SYSTEM_BACKUPS_DIR}", self.prefix)
        })
    }

    /// System backups in the target: name → Longhorn version, as backupstore's `List`
    /// sees them (directories; a name under two versions: the last one wins).
    pub async fn list(&self) -> Result<BTreeMap<String, String>> {
        let mut found = BTreeMap::new();
        let versions = self
            .objects
            .list_with_delimiter(Some(&self.base()))
            .await
            .map_err(|e| self.error("listing", e))?;
        for version_dir in versions.common_prefixes {
            let Some(version) = version_dir.filename().map(str::to_string) else {
                continue;
            };
            let names = self
                .objects
                .list_with_delimiter(Some(&version_dir))
                .await
                .map_err(|e| self.error("listing", e))?;
            for name_dir in names.common_prefixes {
                if let Some(name) = name_dir.filename() {
                    found.insert(name.to_string(), version.clone());
                }
            }
        }
        Ok(found)
    }

    /// The cfg of a system backup, `None` when it has none (never uploaded, or cut).
    pub async fn config(&self, version: &str, name: &str) -> Result<Option<SystemBackupConfig>> {
        match self
            .objects
            .get(&self.path(version, name, CONFIG_FILE))
            .await
        {
            Ok(result) => {
                let bytes = result
                    .bytes()
                    .await
                    .map_err(|e| self.error("reading system-backup.cfg", e))?;
                SystemBackupConfig::from_json(&bytes).map(Some)
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.error("reading system-backup.cfg", e)),
        }
    }

    /// Uploads the zip, then the cfg: the cfg is Longhorn's "uploaded" marker, so an
    /// upload cut at any byte of the zip leaves no cfg (docs/longhorn-behaviour.md, "The
    /// store").
    /// A failed zip upload is aborted, so the store keeps no partial object.
    pub async fn upload(
        &self,
        zip: &Path,
        config: &SystemBackupConfig,
        progress: impl Fn(u64),
    ) -> Result<()> {
        use tokio::io::AsyncReadExt;
        let version = &config.longhorn_version;
        let name = &config.name;
        let read_error = |source| Error::ReadZip {
            path: zip.to_path_buf(),
            source,
        };
        let mut file = tokio::fs::File::open(zip).await.map_err(read_error)?;
        let upload = self
            .objects
            .put_multipart(&self.path(version, name, ZIP_FILE))
            .await
            .map_err(|e| self.error("uploading system-backup.zip to", e))?;
        let mut writer = object_store::WriteMultipart::new_with_chunk_size(upload, 8 << 20);
        let mut buffer = vec![0u8; 1 << 20];
        let mut sent = 0u64;
        loop {
            let read = match file.read(&mut buffer).await {
                Ok(read) => read,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(read_error(e));
                }
            };
            if read == 0 {
                break;
            }
            if let Err(e) = writer.wait_for_capacity(4).await {
                let _ = writer.abort().await;
                return Err(self.error("uploading system-backup.zip to", e));
            }
            writer.write(&buffer[..read]);
            sent += read as u64;
            progress(sent);
        }
        writer
            .finish()
            .await
            .map_err(|e| self.error("uploading system-backup.zip to", e))?;
        let cfg = config.to_json()?;
        self.objects
            .put(
                &self.path(version, name, CONFIG_FILE),
                cfg.into_bytes().into(),
            )
            .await
            .map_err(|e| self.error("writing system-backup.cfg to", e))?;
        Ok(())
    }

    /// Removes what an upload of `name` left without a cfg (which Longhorn does not
    /// consider uploaded), so that a retry can write it again.
    pub async fn remove_incomplete(&self, version: &str, name: &str) -> Result<()> {
        let dir = ObjectPath::from(system_backup_dir(&self.prefix, version, name));
        let objects: Vec<_> = self
            .objects
            .list(Some(&dir))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| self.error("listing", e))?;
        for location in objects {
            self.objects
                .delete(&location)
                .await
                .map_err(|e| self.error("removing an incomplete upload from", e))?;
        }
        // A share keeps the (now empty) directory, which Longhorn would list as a backup.
        if let Some(root) = &self.local_root {
            let path = root.join(dir.as_ref());
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .map_err(|source| Error::RemoveIncomplete { path, source })?;
            }
        }
        Ok(())
    }

    /// Streams the zip of a system backup into `sink`, calling `progress` with the
    /// bytes so far; returns the total size.
    pub async fn download(
        &self,
        version: &str,
        name: &str,
        mut sink: impl FnMut(&[u8]) -> Result<()>,
        progress: impl Fn(u64, Option<u64>),
    ) -> Result<u64> {
        let result = self
            .objects
            .get(&self.path(version, name, ZIP_FILE))
            .await
            .map_err(|e| match e {
                object_store::Error::NotFound { .. } => Error::NoZip {
                    name: name.to_string(),
                    url: self.url.display(),
                },
                e => self.error("downloading", e),
            })?;
        let total = result.meta.size;
        let mut stream = result.into_stream();
        let mut received = 0u64;
        while let Some(chunk) = stream
            .try_next()
            .await
            .map_err(|e| self.error("downloading", e))?
        {
            sink(&chunk)?;
            received += chunk.len() as u64;
            progress(received, Some(total));
        }
        Ok(received)
    }

    /// Whether `name` already exists under any version (Longhorn keys by name only).
    pub async fn find(&self, name: &str) -> Result<Option<String>> {
        Ok(self.list().await?.remove(name))
    }

    fn error(&self, action: &'static str, source: object_store::Error) -> Error {
        Error::Access {
            action,
            url: self.url.display(),
            source,
        }
    }
}

/// A few quick retries: an unreachable or misconfigured target is reported in
/// seconds, not after object_store's default three minutes.
/// Ten retries within 30 s, the waits growing from half a second (object_store's
/// jittered backoff): a few seconds of `503 SlowDown` are waited out, and a wrong
/// endpoint is still reported within half a minute.
fn retry_config() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            base: 2.0,
        },
        max_retries: 10,
        retry_timeout: Duration::from_secs(30),
    }
}

fn client_options(credentials: &Credentials, cert_key: &str) -> Result<ClientOptions> {
    let mut options = ClientOptions::new()
        .with_allow_http(true)
        .with_connect_timeout(Duration::from_secs(10));
    if let Some(pem) = credentials.get(cert_key) {
        let certificates = object_store::Certificate::from_pem_bundle(pem.as_bytes())
            .ok()
            .filter(|certificates| !certificates.is_empty())
            .ok_or_else(|| Error::NotPem(cert_key.to_string()))?;
        for certificate in certificates {
            options = options.with_root_certificate(certificate);
        }
    }
    let proxy = credentials
        .get("HTTPS_PROXY")
        .or(credentials.get("HTTP_PROXY"));
    if let Some(proxy) = proxy {
        options = options.with_proxy_url(proxy);
        if let Some(excludes) = credentials.get("NO_PROXY") {
            options = options.with_proxy_excludes(excludes);
        }
    }
    Ok(options)
}

/// S3 as backupstore configures it: `s3://bucket@region/path/`; `AWS_ENDPOINTS`
/// switches to a custom endpoint with path-style requests unless
/// `VIRTUAL_HOSTED_STYLE=true` (docs/longhorn-behaviour.md, "The store";
/// `longhorn/backupstore:s3/s3_service.go`).
fn s3(url: &TargetUrl, credentials: &Credentials) -> Result<impl ObjectStore> {
    let bucket = url
        .user
        .clone()
        .filter(|b| !b.is_empty())
        .ok_or_else(|| Error::NoBucket(url.display()))?;
    let region = Some(url.host.clone())
        .filter(|r| !r.is_empty())
        .or_else(|| credentials.get("AWS_REGION").map(str::to_string));
    let mut builder = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region(region.unwrap_or_else(|| "us-east-1".into()))
        .with_access_key_id(credentials.require("AWS_ACCESS_KEY_ID", "s3")?)
        .with_secret_access_key(credentials.require("AWS_SECRET_ACCESS_KEY", "s3")?)
        .with_client_options(client_options(credentials, "AWS_CERT")?)
        .with_retry(retry_config());
    if let Some(endpoint) = credentials.get("AWS_ENDPOINTS") {
        builder = builder
            .with_endpoint(endpoint)
            .with_virtual_hosted_style_request(
                credentials.flag("VIRTUAL_HOSTED_STYLE").unwrap_or(false),
            );
    } else if let Some(virtual_hosted) = credentials.flag("VIRTUAL_HOSTED_STYLE") {
        builder = builder.with_virtual_hosted_style_request(virtual_hosted);
    }
    builder.build().map_err(|source| Error::Unusable {
        url: url.display(),
        source,
    })
}

/// Azure Blob as backupstore configures it: `azblob://container@suffix/path/`;
/// `AZBLOB_ENDPOINT` gives `<endpoint>/<account>` (path style, as Azurite serves).
fn azure(url: &TargetUrl, credentials: &Credentials) -> Result<impl ObjectStore> {
    let container = url
        .user
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| Error::NoContainer(url.display()))?;
    let account = credentials.require("AZBLOB_ACCOUNT_NAME", "azblob")?;
    let endpoint = match credentials.get("AZBLOB_ENDPOINT") {
        Some(endpoint) => format!("{}/{account}", endpoint.trim_end_matches('/')),
        None => {
            let suffix = if url.host.is_empty() {
                "core.windows.net"
            } else {
                url.host.as_str()
            };
            format!("https://{account}.blob.{suffix}")
        }
    };
    MicrosoftAzureBuilder::new()
        .with_account(account)
        .with_access_key(credentials.require("AZBLOB_ACCOUNT_KEY", "azblob")?)
        .with_container_name(container)
        .with_endpoint(endpoint)
        .with_client_options(client_options(credentials, "AZBLOB_CERT")?)
        .with_retry(retry_config())
        .build()
        .map_err(|source| Error::Unusable {
            url: url.display(),
            source,
        })
}

fn local_dir(dir: &Path) -> Result<LocalFileSystem> {
    check_mount(dir)?;
    LocalFileSystem::new_with_prefix(dir).map_err(|source| Error::UnusableDirectory {
        path: dir.to_path_buf(),
        source,
    })
}
