//! The resources the plugin reads and writes, as untyped `ApiResource`s, and the names
//! Longhorn gives things. Plurals are given, never guessed, so no discovery round-trip
//! is needed.

use kube::core::{ApiResource, GroupVersionKind};

use crate::kube::api::builtin;
use crate::kube::{Collection, ObjectRef};

pub const GROUP: &str = "longhorn.io";
pub const VERSION: &str = "v1beta2";

/// A Longhorn custom resource kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LonghornKind {
    pub kind: &'static str,
    pub plural: &'static str,
}

impl LonghornKind {
    pub fn api_resource(self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(GROUP, VERSION, self.kind),
            self.plural,
        )
    }

    /// `systembackups.longhorn.io`, the CRD name and kubectl's resource.group form.
    pub fn crd_name(self) -> String {
        format!("{}.{GROUP}", self.plural)
    }

    /// kubectl's `-o name` / message prefix: `systembackup.longhorn.io`.
    pub fn kind_group(self) -> String {
        format!("{}.{GROUP}", self.kind.to_lowercase())
    }

    /// `systembackup.longhorn.io/NAME`, as kubectl names an object in its messages.
    pub fn named(self, name: &str) -> String {
        format!("{}/{name}", self.kind_group())
    }

    /// The objects of this kind in `namespace`.
    pub fn collection(self, namespace: &str) -> Collection {
        Collection::new(self.api_resource(), Some(namespace))
    }

    /// The object `name` of this kind in `namespace`.
    pub fn object(self, namespace: &str, name: &str) -> ObjectRef {
        self.collection(namespace).object(name)
    }
}

pub const SYSTEM_BACKUP: LonghornKind = LonghornKind {
    kind: "SystemBackup",
    plural: "systembackups",
};
pub const SYSTEM_RESTORE: LonghornKind = LonghornKind {
    kind: "SystemRestore",
    plural: "systemrestores",
};
pub const RECURRING_JOB: LonghornKind = LonghornKind {
    kind: "RecurringJob",
    plural: "recurringjobs",
};
pub const BACKUP_TARGET: LonghornKind = LonghornKind {
    kind: "BackupTarget",
    plural: "backuptargets",
};
pub const SETTING: LonghornKind = LonghornKind {
    kind: "Setting",
    plural: "settings",
};
pub const VOLUME: LonghornKind = LonghornKind {
    kind: "Volume",
    plural: "volumes",
};
pub const SNAPSHOT: LonghornKind = LonghornKind {
    kind: "Snapshot",
    plural: "snapshots",
};
pub const BACKUP: LonghornKind = LonghornKind {
    kind: "Backup",
    plural: "backups",
};
pub const ENGINE_IMAGE: LonghornKind = LonghornKind {
    kind: "EngineImage",
    plural: "engineimages",
};

pub fn events() -> ApiResource {
    builtin("", "v1", "Event", "events")
}

pub fn cron_jobs() -> ApiResource {
    builtin("batch", "v1", "CronJob", "cronjobs")
}

pub fn jobs() -> ApiResource {
    builtin("batch", "v1", "Job", "jobs")
}

pub fn daemon_sets() -> ApiResource {
    builtin("apps", "v1", "DaemonSet", "daemonsets")
}

pub fn secrets() -> ApiResource {
    builtin("", "v1", "Secret", "secrets")
}

pub fn namespaces() -> ApiResource {
    builtin("", "v1", "Namespace", "namespaces")
}

pub fn self_subject_access_reviews() -> ApiResource {
    builtin(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
    )
}

/// Labels Longhorn reads and writes (docs/longhorn-behaviour.md, "Labels").
pub mod labels {
    /// On SystemBackups made by a RecurringJob of task system-backup.
    pub const RECURRING_JOB_SYSTEM_BACKUP: &str = "recurring-job.longhorn.io/system-backup";
    /// Delete only the CR, keep the copy in the backup target.
    pub const DELETE_CUSTOM_RESOURCE_ONLY: &str = "longhorn.io/delete-custom-resource-only";
    /// Marks a SystemRestore that is running.
    pub const SYSTEM_RESTORE: &str = "longhorn.io/system-restore";
    /// On a Backup: the backup target it goes to (v1.8+).
    pub const BACKUP_TARGET: &str = "backup-target";
    /// On a Backup: its volume.
    pub const BACKUP_VOLUME: &str = "backup-volume";
    /// On a Snapshot (set by Longhorn's webhook): its volume.
    pub const SNAPSHOT_VOLUME: &str = "longhornvolume";
}

/// Annotations the plugin reads and writes.
pub mod annotations {
    /// On a Job made from a CronJob by hand, as `kubectl create job --from=cronjob/…`
    /// marks it.
    pub const CRONJOB_INSTANTIATE: &str = "cronjob.kubernetes.io/instantiate";
    /// On the CSI objects longhorn-manager deploys: its build's git commit and version.
    pub const CSI_GIT_COMMIT: &str = "driver.longhorn.io/git-commit";
    pub const CSI_VERSION: &str = "driver.longhorn.io/version";
}

/// The finalizer Longhorn's mutating webhook puts on its objects; the controller removes
/// it once its cleanup is done (docs/longhorn-behaviour.md, "Labels").
pub const FINALIZER: &str = "longhorn.io";
/// The backup target every system backup uses (docs/longhorn-behaviour.md, "Backup target").
pub const DEFAULT_BACKUP_TARGET: &str = "default";
pub const DEFAULT_NAMESPACE: &str = "longhorn-system";
/// The CSI plugin DaemonSet longhorn-manager's CSI deployer makes.
pub const CSI_PLUGIN: &str = "longhorn-csi-plugin";
pub const SETTING_CURRENT_VERSION: &str = "current-longhorn-version";
pub const SETTING_DEFAULT_ENGINE_IMAGE: &str = "default-engine-image";
pub const SETTING_MAX_RETENTION: &str = "recurring-job-max-retention";
/// The RecurringJob task that makes system backups (Longhorn v1.9+).
pub const SYSTEM_BACKUP_TASK: &str = "system-backup";
/// The longest RecurringJob name Longhorn's webhook keeps.
pub const RECURRING_JOB_NAME_MAX_LEN: usize = 40;
/// Where the backup target was set before Longhorn v1.8 (the BackupTarget CR since).
pub const SETTING_BACKUP_TARGET: &str = "backup-target";
