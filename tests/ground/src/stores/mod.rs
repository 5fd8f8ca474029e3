//! Object stores for tests: an S3 server (s3s-fs, crates.io) and an Azure Blob server
//! (Azurite 3.35.0, npm), each started on a free loopback port with a temporary root,
//! with a bucket/container created, and described the way Longhorn consumes it: the
//! backup-target URL and the credential Secret's keys (docs/longhorn-behaviour.md,
//! "The store").
//!
//! MinIO is not used: it is AGPLv3, which the project's package policy rules out
//! (docs/testing.md, "Object stores").
//!
//! Teardown: `Drop` kills the server (and the TLS proxy) and removes the root. A
//! watchdog (`crate::watchdog`) does the same when the test process dies without running `Drop`.
//!
//! Fault injection: [`S3Server::stop`] kills the server (connections are refused,
//! or reset through the TLS proxy), [`S3Server::restart`] brings it back on the same
//! port with the same data, [`S3Server::freeze`]/[`S3Server::thaw`] stop and continue
//! it (requests hang). Azurite has the same methods.

mod azurite;
mod process;
mod s3;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use azurite::AzuriteServer;
pub use process::ServerProcess;
pub use s3::S3Server;

use crate::Error;
use crate::plane::io_err;

/// Region of the S3 backup-target URLs (`s3://<bucket>@us-east-1/`).
pub const S3_REGION: &str = "us-east-1";

/// The endpoint suffix Longhorn users write for Azure (`azblob://<c>@core.windows.net/`);
/// with `AZBLOB_ENDPOINT` set, backupstore ignores it and talks to the endpoint.
pub const AZURE_ENDPOINT_SUFFIX: &str = "core.windows.net";

/// Secret keys of a Longhorn backup-target credential Secret.
pub type SecretData = BTreeMap<String, String>;

fn make_dir(prefix: &str) -> Result<PathBuf, Error> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(io_err("creating a store directory"))?;
    Ok(dir.keep())
}

fn random_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// object_store's reqwest client uses rustls without a built-in provider (the `ring`
/// choice of the workspace); install ring once per process.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Paths used by [`crate::oracles`] and tests: the files of one system backup under a
/// backup target's root (`backupstore/system-backups/<version>/<name>/`).
pub fn system_backup_dir(target_root: &Path, version: &str, name: &str) -> PathBuf {
    target_root
        .join("backupstore")
        .join("system-backups")
        .join(version)
        .join(name)
}

/// The remote key of a system backup's file: `backupstore/system-backups/<v>/<n>/<file>`.
pub fn system_backup_key(version: &str, name: &str, file: &str) -> String {
    format!("backupstore/system-backups/{version}/{name}/{file}")
}

/// A `system-backup.cfg` as backupstore writes it: `encoding/json` of its `Config`
/// struct (no tags, so Go field names in declaration order), compact, no trailing
/// newline; `CreatedAt` in RFC 3339 with nanoseconds; `Checksum` = SHA-256 hex of
/// the zip (docs/longhorn-behaviour.md, "The store"). For tests that play a writer.
pub fn system_backup_cfg(
    name: &str,
    version: &str,
    target_url: &str,
    zip: &[u8],
    created_at: &str,
) -> String {
    use sha2::Digest;
    serde_json::to_string(&SystemBackupConfig {
        name: name.into(),
        longhorn_version: version.into(),
        longhorn_git_commit: "0123456789abcdef0123456789abcdef01234567".into(),
        backup_target_url: target_url.into(),
        manager_image: format!("longhornio/longhorn-manager:{version}"),
        engine_image: format!("longhornio/longhorn-engine:{version}"),
        created_at: created_at.into(),
        checksum: hex::encode(sha2::Sha256::digest(zip)),
    })
    .expect("a serializable cfg")
}

/// backupstore's `systembackup.Config`, as `encoding/json` writes it (no tags: Go field
/// names, in declaration order).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct SystemBackupConfig {
    name: String,
    longhorn_version: String,
    longhorn_git_commit: String,
    #[serde(rename = "BackupTargetURL")]
    backup_target_url: String,
    manager_image: String,
    engine_image: String,
    created_at: String,
    checksum: String,
}
