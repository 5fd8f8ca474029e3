//! Why a bundle could not be built or read.

use std::path::PathBuf;

use crate::longhorn::LonghornVersion;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Longhorn(#[from] crate::longhorn::Error),
    #[error(transparent)]
    Kube(#[from] crate::kube::Error),
    #[error(transparent)]
    File(#[from] crate::output::FileError),
    #[error(transparent)]
    Unreadable(#[from] UnreadableBundle),
    #[error(transparent)]
    Name(#[from] crate::kube::names::InvalidName),

    #[error(
        "--local writes bundles for Longhorn {oldest} and later; this cluster runs Longhorn {version}, whose bundle also holds PodSecurityPolicies. Create the system backup without --local (Longhorn builds it), or upgrade Longhorn"
    )]
    UnsupportedVersion {
        version: LonghornVersion,
        oldest: LonghornVersion,
    },
    #[error(
        "--local builds bundles for Longhorn {oldest} and later (the releases it follows and is tested on, see docs/compatibility.md); this cluster runs Longhorn {version}: create the system backup without --local (Longhorn builds it), or upgrade Longhorn"
    )]
    LocalUnsupported {
        version: LonghornVersion,
        oldest: LonghornVersion,
    },
    #[error("the server sent an unreadable {kind}: {source}")]
    UnreadableItem {
        kind: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "you may not list {resource} ({scope}): {}. A local bundle needs to read every kind Longhorn backs up; ask a cluster admin for list access, or create the system backup without --local (longhorn-manager builds it with its own permissions)",
        source_message(source)
    )]
    ListForbidden {
        resource: String,
        scope: String,
        #[source]
        source: crate::kube::Error,
    },

    // The volume backup policy.
    #[error("failed to create Volume {volume} {what} {name}: {source}")]
    CreateFailed {
        what: &'static str,
        volume: String,
        name: String,
        #[source]
        source: Box<crate::kube::Error>,
    },
    #[error("failed creating Volume backup {name} of volume {volume}: {message}")]
    VolumeBackupFailed {
        name: String,
        volume: String,
        message: String,
    },
    #[error(
        "timed out waiting for the condition on {0} (raise --timeout, or check longhorn-manager: kubectl -n <namespace> get snapshots.longhorn.io,backups.longhorn.io)"
    )]
    StepTimeout(&'static str),
    /// Go's `time.Parse(time.RFC3339, …)` error text, as Longhorn fails with it.
    #[error("parsing time {0:?} as \"2006-01-02T15:04:05Z07:00\": cannot parse {0:?}")]
    UnparsableTime(String),

    // Writing the zip.
    #[error("{}: could not write the zip: {source}", path.display())]
    Zip {
        path: PathBuf,
        #[source]
        source: zip::result::ZipError,
    },
    /// The listing was abandoned (an error elsewhere, or Ctrl-C).
    #[error("interrupted")]
    Interrupted,
    #[error("internal error: the zip was already finished; please report it")]
    ZipFinished,
    #[error("internal error: {what} stopped ({source}); please report it")]
    Internal {
        what: String,
        #[source]
        source: tokio::task::JoinError,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn source_message(error: &crate::kube::Error) -> String {
    match error {
        crate::kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

/// A file that is not a bundle that can be read safely, or that Longhorn's restore
/// could not use.
#[derive(Debug, thiserror::Error)]
#[error("{}: {problem}", path.display())]
pub struct UnreadableBundle {
    pub path: PathBuf,
    #[source]
    pub problem: Problem,
}

#[derive(Debug, thiserror::Error)]
pub enum Problem {
    #[error("cannot open: {0}")]
    Open(#[source] std::io::Error),
    #[error("cannot read: {0}")]
    Read(#[source] std::io::Error),
    #[error("is not a zip file ({0})")]
    NotAZip(#[source] zip::result::ZipError),
    #[error("has {count} entries, more than the {max} a bundle could have; refusing to read it")]
    TooManyEntries { count: usize, max: usize },
    #[error("is a corrupt zip: {0}")]
    Corrupt(#[source] zip::result::ZipError),
    #[error("entry {0:?} points outside the archive (path traversal); refusing to read this zip")]
    Traversal(String),
    #[error("entry {0:?} is a symbolic link; a bundle has none, refusing to read this zip")]
    Symlink(String),
    #[error(
        "has an entry name more than once (a bundle holds each file once, and which copy a reader takes is up to the reader); refusing to read this zip"
    )]
    DuplicateNames,
    #[error("entry {0:?} is encrypted; a bundle is not")]
    Encrypted(String),
    #[error(
        "entry {0:?} expands far beyond what a bundle holds (a zip bomb?); refusing to read this zip"
    )]
    ZipBomb(String),
    #[error("cannot read entry {entry:?}: {source}")]
    EntryUnreadable {
        entry: String,
        #[source]
        source: zip::result::ZipError,
    },
    #[error("entry {entry:?} is corrupt: {source}")]
    EntryCorrupt {
        entry: String,
        #[source]
        source: std::io::Error,
    },
    /// What `inspect` found that makes Longhorn's restore fail or restore nothing.
    #[error("{0}")]
    NotRestorable(String),
}

impl UnreadableBundle {
    pub fn new(path: &std::path::Path, problem: Problem) -> Self {
        UnreadableBundle {
            path: path.to_path_buf(),
            problem,
        }
    }
}
