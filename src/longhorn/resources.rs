//! The resources the plugin reads and writes, as untyped `ApiResource`s. Plurals are
//! given, never guessed, so no discovery round-trip is needed.

use kube::core::{ApiResource, GroupVersionKind};

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
pub const BACKING_IMAGE: LonghornKind = LonghornKind {
    kind: "BackingImage",
    plural: "backingimages",
};

/// A built-in Kubernetes resource.
pub fn builtin(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

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

/// Labels and names Longhorn uses (longhorn-system-backup.md §1.4, §6.3).
pub mod labels {
    /// On SystemBackups made by a RecurringJob of task system-backup.
    pub const RECURRING_JOB_SYSTEM_BACKUP: &str = "recurring-job.longhorn.io/system-backup";
    /// "Exists in the backup target; sync it from there" (value: Longhorn version).
    pub const VERSION: &str = "longhorn.io/version";
    /// Delete only the CR, keep the copy in the backup target.
    pub const DELETE_CUSTOM_RESOURCE_ONLY: &str = "longhorn.io/delete-custom-resource-only";
    /// Marks a SystemRestore that is running.
    pub const SYSTEM_RESTORE: &str = "longhorn.io/system-restore";
}

/// The backup target every system backup uses (longhorn-system-backup.md §2.3).
pub const DEFAULT_BACKUP_TARGET: &str = "default";
pub const DEFAULT_NAMESPACE: &str = "longhorn-system";
pub const SETTING_CURRENT_VERSION: &str = "current-longhorn-version";
pub const SETTING_DEFAULT_ENGINE_IMAGE: &str = "default-engine-image";
pub const SETTING_MAX_RETENTION: &str = "recurring-job-max-retention";
