//! Why the backup target could not be opened, read or written, with what to check.

use std::path::PathBuf;

use crate::longhorn::target_url::{InvalidTargetUrl, ZIP_FILE};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Longhorn(#[from] crate::longhorn::Error),
    #[error(transparent)]
    Kube(#[from] crate::kube::Error),
    #[error(transparent)]
    Url(#[from] InvalidTargetUrl),
    #[error(transparent)]
    File(#[from] crate::output::FileError),

    // Opening the target.
    #[error(
        "the backup target is not set in {0} (BackupTarget \"default\" has no URL); set it in the Longhorn UI, or pass --target URL"
    )]
    TargetUnset(String),
    #[error(
        "backup target {url} needs a credential secret, and BackupTarget \"default\" names none (Longhorn: cannot access {scheme} without credential secret)"
    )]
    NoCredentialSecret { url: String, scheme: String },
    #[error(
        "backup target {url} is an {} share, which this machine can reach only where it is mounted: mount it (e.g. sudo mount -t {scheme} …) and pass the mount point with --mount-path DIR",
        scheme.to_uppercase()
    )]
    NotMounted { url: String, scheme: String },
    #[error(
        "backup target scheme {0}:// is not supported; Longhorn uses s3://, azblob://, nfs:// and cifs://"
    )]
    UnsupportedScheme(String),
    #[error("backup target {0} names no bucket; Longhorn's form is s3://BUCKET@REGION/PATH/")]
    NoBucket(String),
    #[error(
        "backup target {0} names no container; Longhorn's form is azblob://CONTAINER@core.windows.net/PATH/"
    )]
    NoContainer(String),
    #[error("cannot use backup target {url}: {source}")]
    Unusable {
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error(
        "{} is not a directory; pass the directory where the backup target share is mounted",
        .0.display()
    )]
    NotADirectory(PathBuf),
    #[error("cannot use {}: {source}", path.display())]
    UnusableDirectory {
        path: PathBuf,
        #[source]
        source: object_store::Error,
    },

    // The credential secret.
    #[error(
        "you may not read the backup target's credential secret {name} in {namespace}; ask for get access to secrets there"
    )]
    SecretForbidden {
        name: String,
        namespace: String,
        #[source]
        source: crate::kube::Error,
    },
    #[error(
        "the backup target's credential secret {name} does not exist in {namespace}; create it or fix spec.credentialSecret of BackupTarget \"default\""
    )]
    SecretMissing { name: String, namespace: String },
    #[error("key {key} of secret {name} is not valid base64")]
    SecretNotBase64 {
        key: String,
        name: String,
        #[source]
        source: base64::DecodeError,
    },
    #[error(
        "the credential secret {secret} has no {key}, which a {scheme} backup target needs; add it to the secret"
    )]
    SecretKeyMissing {
        secret: String,
        key: String,
        scheme: String,
    },
    #[error(
        "{0} in the credential secret is not a PEM certificate; it must hold the CA's certificate (-----BEGIN CERTIFICATE----- …)"
    )]
    NotPem(String),

    // Reading and writing system backups.
    #[error(
        "backup target: {action} {url}: {}; {}",
        describe(source),
        hint(source)
    )]
    Access {
        action: &'static str,
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("backup target: {name} has no {ZIP_FILE} in the backup target ({url})")]
    NoZip { name: String, url: String },
    #[error("backup target: could not encode system-backup.cfg: {0}")]
    CfgEncode(#[source] serde_json::Error),
    #[error("backup target: system-backup.cfg is not valid: {0}")]
    CfgInvalid(#[source] serde_json::Error),
    #[error("reading {}: {source}", path.display())]
    ReadZip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("removing an incomplete upload at {}: {source}", path.display())]
    RemoveIncomplete {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    // Names.
    #[error(
        "systembackup {name:?} already exists as a SystemBackup in {namespace}; choose another name"
    )]
    TakenInCluster { name: String, namespace: String },
    #[error(
        "system backup {name:?} already exists in the backup target {url} (under {version}); choose another name"
    )]
    TakenInStore {
        name: String,
        url: String,
        version: String,
    },
    #[error(
        "system backup {name:?} is neither a SystemBackup in {namespace} nor in the backup target ({url})"
    )]
    NotFound {
        name: String,
        namespace: String,
        url: String,
    },
    #[error(
        "backup target: systembackup {name:?} has no system-backup.cfg in the backup target ({url}): Longhorn cannot restore it (its upload never finished, or it was deleted there)"
    )]
    NotRestorable { name: String, url: String },
    #[error(
        "backup target: {name} has no system-backup.cfg in {url}: its upload never finished, so Longhorn does not consider it uploaded"
    )]
    NotUploaded { name: String, url: String },
    #[error(
        "backup target: the downloaded zip does not match its system-backup.cfg (sha256 {actual}, expected {expected}); nothing was written"
    )]
    ChecksumMismatch { actual: String, expected: String },
    /// The bundle and its cfg are in the store; only asking Longhorn to sync failed
    /// (e.g. the API server went away). Longhorn finds it at its next poll anyway.
    #[error(
        "system backup {name} is in the backup target ({location}), but asking Longhorn to sync failed: {source}; Longhorn lists it after its next poll of the backup target, or run kubectl longhorn systembackup sync once the cluster answers"
    )]
    SyncNotRequested {
        name: String,
        location: String,
        #[source]
        source: Box<crate::longhorn::Error>,
    },
    /// An upload that failed after the bundle was built: the bundle is kept.
    #[error("{source}; the bundle is kept in {} (retry with --force)", kept.display())]
    UploadFailed {
        kept: PathBuf,
        #[source]
        source: Box<Error>,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A failure of the store itself (not of the cluster, nor of the input).
    pub fn is_access(&self) -> bool {
        matches!(
            self,
            Error::Access { .. } | Error::NoZip { .. } | Error::CfgEncode(_) | Error::CfgInvalid(_)
        )
    }
}

/// What to check for an object_store error.
fn hint(error: &object_store::Error) -> &'static str {
    match error {
        object_store::Error::NotFound { .. } => {
            "check that the bucket, container or path of the backup target exists"
        }
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => {
            "check the keys in the backup target's credential secret"
        }
        _ => {
            "check the backup target's URL and credential secret, and that this machine can reach it"
        }
    }
}

/// The most useful line of an object_store error (they nest several layers).
fn describe(error: &object_store::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        let text = inner.to_string();
        if !message.contains(&text) {
            message = format!("{message}: {text}");
        }
        source = inner.source();
    }
    message
}
