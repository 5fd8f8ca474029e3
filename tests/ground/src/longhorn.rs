//! Longhorn's API surface as the ground sees it: versions, kinds and the handful of
//! names and label keys shared by the seed and the simulator.

use std::cmp::Ordering;
use std::fmt;

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};

use crate::Error;
use crate::crds::SUPPORTED_VERSIONS;

pub const GROUP: &str = "longhorn.io";
pub const API_VERSION: &str = "longhorn.io/v1beta2";
/// The finalizer every Longhorn mutator adds (docs/longhorn-behaviour.md, "Labels").
pub const FINALIZER: &str = "longhorn.io";
pub const DEFAULT_BACKUP_TARGET: &str = "default";
pub const CSI_DRIVER: &str = "driver.longhorn.io";

/// Label keys (docs/longhorn-behaviour.md, "Labels").
pub const LABEL_VERSION: &str = "longhorn.io/version";
pub const LABEL_DELETE_CR_ONLY: &str = "longhorn.io/delete-custom-resource-only";
pub const LABEL_RECURRING_SYSTEM_BACKUP: &str = "recurring-job.longhorn.io/system-backup";
pub const LABEL_RECURRING_JOB: &str = "recurring-job.longhorn.io";
pub const LABEL_MANAGED_BY: &str = "longhorn.io/managed-by";
pub const LABEL_SYSTEM_RESTORE: &str = "longhorn.io/system-restore";

/// A supported Longhorn release, ordered by (major, minor, patch).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    text: String,
    parts: (u32, u32, u32),
}

impl Version {
    pub fn parse(text: &str) -> Result<Self, Error> {
        let text = if text.starts_with('v') {
            text.to_string()
        } else {
            format!("v{text}")
        };
        if !SUPPORTED_VERSIONS.contains(&text.as_str()) {
            return Err(Error::UnsupportedVersion(text));
        }
        let numbers: Vec<u32> = text[1..]
            .split('.')
            .filter_map(|p| p.parse().ok())
            .collect();
        let [major, minor, patch] = numbers[..] else {
            return Err(Error::UnsupportedVersion(text));
        };
        Ok(Self {
            text,
            parts: (major, minor, patch),
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True from release 1.`minor` on.
    pub fn at_least(&self, minor: u32) -> bool {
        self.parts >= (1, minor, 0)
    }

    /// The release's longhorn-manager image, as in Longhorn's deploy manifest.
    pub fn manager_image(&self) -> String {
        format!("longhornio/longhorn-manager:{}", self.text)
    }

    pub fn engine_image(&self) -> String {
        format!("longhornio/longhorn-engine:{}", self.text)
    }

    pub fn ui_image(&self) -> String {
        format!("longhornio/longhorn-ui:{}", self.text)
    }

    /// A stand-in for the engine binary's commit in an EngineImage's status: the ground
    /// has no longhorn-engine build, so it uses a stable 40-hex value derived from the
    /// version. (longhorn-manager's own commit is real: [`crate::manager::Ready`].)
    pub fn git_commit(&self) -> String {
        use sha2::{Digest, Sha256};
        hex::encode(Sha256::digest(format!("longhorn-manager {}", self.text)))[..40].to_string()
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.parts.cmp(&other.parts)
    }
}

/// The Longhorn kinds the ground reads or writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    SystemBackup,
    SystemRestore,
    BackupTarget,
    RecurringJob,
    Setting,
    Volume,
    Snapshot,
    Backup,
    EngineImage,
    BackingImage,
    BackupBackingImage,
    BackupVolume,
    Node,
    InstanceManager,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::SystemBackup => "SystemBackup",
            Kind::SystemRestore => "SystemRestore",
            Kind::BackupTarget => "BackupTarget",
            Kind::RecurringJob => "RecurringJob",
            Kind::Setting => "Setting",
            Kind::Volume => "Volume",
            Kind::Snapshot => "Snapshot",
            Kind::Backup => "Backup",
            Kind::EngineImage => "EngineImage",
            Kind::BackingImage => "BackingImage",
            Kind::BackupBackingImage => "BackupBackingImage",
            Kind::BackupVolume => "BackupVolume",
            Kind::Node => "Node",
            Kind::InstanceManager => "InstanceManager",
        }
    }

    pub fn plural(self) -> String {
        format!("{}s", self.name().to_lowercase())
    }

    /// Singular lower-case resource, as in lister NotFound texts
    /// (`backuptarget.longhorn.io "default" not found`).
    pub fn singular(self) -> String {
        self.name().to_lowercase()
    }

    pub fn resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, "v1beta2", self.name()),
            &self.plural(),
        )
    }

    pub fn api(self, client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
        Api::namespaced_with(client.clone(), namespace, &self.resource())
    }

    /// The text a Longhorn lister returns for a missing object.
    pub fn not_found(self, name: &str) -> String {
        format!("{}.{GROUP} \"{name}\" not found", self.singular())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_by_number_not_text() {
        let old = Version::parse("v1.9.0").unwrap();
        let new = Version::parse("1.10.0").unwrap();
        assert!(old < new);
        assert!(new.at_least(10) && !old.at_least(10));
        assert!(Version::parse("v1.7.0").is_err());
    }

    #[test]
    fn kinds_name_their_resources_like_longhorn() {
        assert_eq!(Kind::BackupTarget.plural(), "backuptargets");
        assert_eq!(
            Kind::BackupTarget.not_found("default"),
            "backuptarget.longhorn.io \"default\" not found"
        );
    }
}
