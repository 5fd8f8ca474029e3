//! Why the plugin refuses or fails on account of Longhorn: an install it cannot find or
//! use, a rule Longhorn would break silently, an object in the wrong state. Each
//! message says what to do.

use super::resources::{
    DEFAULT_NAMESPACE, RECURRING_JOB_NAME_MAX_LEN, SETTING_CURRENT_VERSION, SETTING_MAX_RETENTION,
    SYSTEM_BACKUP_TASK,
};
use super::version::{InvalidVersion, LonghornVersion};
use crate::cron::CronError;

/// Longhorn's documented limitation, quoted in the refusal.
const CROSS_VERSION_LIMITATION: &str = "Longhorn does not support cross-major/minor version system restore except for upgrade failures (Longhorn docs, \"Restore Longhorn System\"; longhorn/longhorn#10205, #10206)";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Kube(#[from] crate::kube::Error),

    // Finding the install.
    #[error(
        "Longhorn is not installed in this cluster: the CRD {crd} does not exist. Install Longhorn first (https://longhorn.io/docs/latest/deploy/install/)"
    )]
    NotInstalled { crd: String },
    #[error(
        "Longhorn is not installed in {DEFAULT_NAMESPACE} and you may not search other namespaces; pass -n NAMESPACE"
    )]
    NotInDefaultNamespace(#[source] crate::kube::Error),
    #[error(
        "Longhorn is not installed in {DEFAULT_NAMESPACE} or any other namespace (no Setting {SETTING_CURRENT_VERSION}); install Longhorn, or pass -n NAMESPACE"
    )]
    NowhereInstalled,
    #[error("Longhorn is installed in several namespaces ({}); choose one with -n NAMESPACE", .0.join(", "))]
    SeveralInstalls(Vec<String>),
    #[error(
        "Longhorn is not installed in namespace {0} (no Setting {SETTING_CURRENT_VERSION}); pass the namespace Longhorn runs in with -n"
    )]
    NotInNamespace(String),
    #[error("Setting {SETTING_CURRENT_VERSION} in {namespace} holds an unexpected value: {source}")]
    UnreadableVersion {
        namespace: String,
        #[source]
        source: InvalidVersion,
    },

    // What Longhorn would reject or fail on.
    #[error("the backup target is not set (Setting backup-target is empty); {}", how_to_set_target(.namespace, *.version))]
    BackupTargetSettingEmpty {
        namespace: String,
        version: LonghornVersion,
    },
    #[error(
        "BackupTarget \"default\" does not exist in {0}: longhorn-manager creates it at start-up, so check that Longhorn is running there, then set the backup target in the Longhorn UI (Settings > Backup Target)"
    )]
    NoBackupTarget(String),
    #[error("the backup target is not set (BackupTarget \"default\" has no URL); {}", how_to_set_target(.namespace, *.version))]
    BackupTargetUnset {
        namespace: String,
        version: LonghornVersion,
    },
    #[error(
        "backup target {url} needs a credential secret (Longhorn: cannot access {scheme} without credential secret); set spec.credentialSecret of BackupTarget \"default\" in {namespace}"
    )]
    NoCredentialSecret {
        url: String,
        scheme: String,
        namespace: String,
    },
    #[error(
        "backup target default ({url}) is not available: {reason}; check its URL and credentials (kubectl -n {namespace} get backuptargets.longhorn.io default -o yaml)"
    )]
    BackupTargetUnavailable {
        url: String,
        reason: String,
        namespace: String,
    },
    #[error(
        "you are not allowed to {verb} {plural}.{group} in namespace {namespace}; ask a cluster admin for a Role that grants it (e.g. kubectl create role longhorn-systembackup --verb={verb} --resource={plural}.{group} -n {namespace})",
        group = super::resources::GROUP
    )]
    NotAllowed {
        verb: &'static str,
        plural: &'static str,
        namespace: String,
    },

    /// The backup target is unusable, so a SystemRestore would wait for it.
    #[error("{0}; Longhorn's restore would not start until it is")]
    TargetBlocksRestore(#[source] Box<Error>),

    // Syncing the backup target.
    #[error("BackupTarget \"default\" does not exist in {0}; is Longhorn running there?")]
    NoBackupTargetToSync(String),
    #[error("BackupTarget \"default\" was deleted while waiting")]
    BackupTargetDeleted,
    #[error("the backup target is not available: {0}")]
    SyncFailed(String),

    // SystemBackups.
    #[error(
        "systembackup {name:?} already exists in namespace {namespace}; choose another name, or delete it first (kubectl longhorn systembackup delete {name})"
    )]
    BackupExists { name: String, namespace: String },
    #[error(
        "systembackups.longhorn.io \"{0}\" not found (list them with: kubectl longhorn systembackup list)"
    )]
    BackupNotFound(String),
    #[error("{0} was deleted while waiting for it")]
    DeletedWhileWaiting(String),
    #[error(
        "{object} failed: {message} (Longhorn does not retry a failed system backup; retry it with: kubectl longhorn systembackup retry {name})"
    )]
    BackupFailed {
        object: String,
        name: String,
        message: String,
    },
    #[error(
        "systembackup {name:?} is {state}, not Error; only a failed system backup can be retried"
    )]
    NotFailed { name: String, state: String },

    #[error(
        "{object} is not being deleted, so there is no finalizer to force: delete it first (kubectl longhorn systembackup {verb} {name}), and use --force only when that never ends"
    )]
    NotBeingDeleted {
        object: String,
        name: String,
        verb: &'static str,
    },

    // RecurringJobs.
    #[error(transparent)]
    Cron(#[from] CronError),
    #[error(
        "invalid RecurringJob name {0:?}: use 2 to {max} lower case letters, digits, '-' or '.', starting and ending with a letter or digit, e.g. nightly-system-backup",
        max = RECURRING_JOB_NAME_MAX_LEN
    )]
    InvalidJobName(String),
    #[error(
        "--retain {0} keeps no backup (Longhorn would keep 1); give a number from 1 to the cluster's {SETTING_MAX_RETENTION} (100 unless changed)"
    )]
    RetainTooSmall(i64),
    #[error(
        "--cron {expr:?} runs every {seconds}s: give @every at least one minute, e.g. \"@every 1h\"; every run makes a full system backup and backs up the volumes"
    )]
    EveryTooOften { expr: String, seconds: i64 },
    #[error(
        "--retain {retain} is above the cluster's {SETTING_MAX_RETENTION} ({max}); Longhorn would reject it (retain value should be less than or equal to {max}): give at most {max}, or raise the setting"
    )]
    RetainTooLarge { retain: i64, max: i64 },
    #[error(
        "this cluster runs Longhorn {0}; recurring system backups (RecurringJob task system-backup) exist from Longhorn v1.9.0: upgrade Longhorn, or run `kubectl longhorn systembackup create` from your own scheduler"
    )]
    NoSystemBackupTask(LonghornVersion),
    #[error(
        "recurringjob {name:?} already exists in {namespace}; choose another name, or change it with kubectl longhorn systembackup schedule set {name}"
    )]
    JobExists { name: String, namespace: String },
    #[error("recurringjob {name:?} does not exist in {namespace}")]
    JobNotFound { name: String, namespace: String },
    #[error(
        "recurringjob {name:?} runs task {task}, not {}; this command manages system-backup jobs only",
        SYSTEM_BACKUP_TASK
    )]
    OtherTask { name: String, task: String },
    #[error(
        "recurringjob {name:?} has no CronJob: longhorn-manager creates one named like the job when it handles it; check that longhorn-manager is running in {namespace}"
    )]
    NoCronJob { name: String, namespace: String },
    /// Longhorn's CronJob forbids overlapping runs; a manual Job would bypass that,
    /// and the running one's retention could delete the new run's backup.
    #[error(
        "a run of recurringjob {name:?} is still in progress (job.batch/{job}); Longhorn runs one at a time, and the running one prunes backups when it ends: wait for it (kubectl -n {namespace} wait --for=condition=complete job/{job}), then run again"
    )]
    RunInProgress {
        name: String,
        job: String,
        namespace: String,
    },
    #[error(
        "job.batch/{job} failed: {message}; see its log: kubectl -n {namespace} logs job/{job}"
    )]
    RunFailed {
        job: String,
        message: String,
        namespace: String,
    },
    #[error("job.batch/{0} was deleted while waiting for it to finish")]
    RunDeleted(String),

    // Restores.
    #[error(
        "systembackup {name:?} does not exist in {namespace}; list the backups with: kubectl longhorn systembackup list (run kubectl longhorn systembackup sync to pick up backups in the backup target)"
    )]
    NoSuchBackup { name: String, namespace: String },
    #[error("systembackup {name:?} is {state}, not Ready; {hint}")]
    BackupNotReady {
        name: String,
        state: String,
        hint: &'static str,
    },
    #[error(
        "{} volume(s) are not detached: {}{more}; Longhorn restores only with every volume detached: scale down the workloads that use them, then try again",
        attached.len(),
        attached.iter().take(10).map(String::as_str).collect::<Vec<_>>().join(", "),
        more = if attached.len() > 10 { format!(" and {} more", attached.len() - 10) } else { String::new() }
    )]
    VolumesAttached { attached: Vec<String> },
    #[error(
        "another system restore is in progress: {}; wait for it to finish (kubectl longhorn systembackup restore list)",
        .0.join(", ")
    )]
    RestoreRunning(Vec<String>),
    #[error("the backup's Longhorn version cannot be read: {0}")]
    UnreadableBackupVersion(#[source] InvalidVersion),
    #[error(
        "the backup was taken with Longhorn {backup} and this cluster runs {cluster}: {CROSS_VERSION_LIMITATION}; pass --allow-version-skew to restore anyway"
    )]
    VersionSkew {
        backup: LonghornVersion,
        cluster: LonghornVersion,
    },
    #[error(
        "the backup's engine image {image} is marked incompatible in this cluster (EngineImage {name}), so Longhorn never deploys it and its restore would wait forever: restore this backup with a Longhorn version whose engine API supports that image"
    )]
    EngineImageIncompatible { image: String, name: String },
    #[error("{0} was deleted while waiting")]
    RestoreDeleted(String),
    #[error("{object} failed: {message}")]
    RestoreFailed { object: String, message: String },

    // The manager image a cfg names.
    #[error(
        "the longhorn-manager DaemonSet is not in {0}; its --manager-image is needed for the uploaded backup's cfg, which Longhorn's restore runs: pass Longhorn's namespace with -n"
    )]
    NoManagerDaemonSet(String),
    #[error(
        "the longhorn-manager DaemonSet in {0} names no manager image (no --manager-image flag, no container image), which the uploaded backup's cfg needs; check the DaemonSet"
    )]
    NoManagerImage(String),
    #[error(
        "Setting {setting} is empty in {namespace}, and the uploaded backup's cfg must name the engine image Longhorn's restore uses; Longhorn sets it at install: check the install in {namespace}"
    )]
    NoEngineImageSetting {
        setting: &'static str,
        namespace: String,
    },
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The kube-level error inside, for callers that tell API answers apart.
    pub fn kube(&self) -> Option<&crate::kube::Error> {
        match self {
            Error::Kube(e) => Some(e),
            _ => None,
        }
    }

    /// The warning that goes with a skew `--allow-version-skew` allows.
    pub fn version_skew_note(backup: LonghornVersion, cluster: LonghornVersion) -> String {
        format!(
            "the backup was taken with Longhorn {backup} and this cluster runs {cluster}: {CROSS_VERSION_LIMITATION}; going on because of --allow-version-skew"
        )
    }
}

/// How to set the backup target, for error messages: a Setting up to v1.7, the
/// BackupTarget CR from v1.8 (docs/longhorn-behaviour.md, "Backup target").
fn how_to_set_target(namespace: &str, version: LonghornVersion) -> String {
    if version.at_least(1, 8) {
        format!(
            "set it in the Longhorn UI (Settings > Backup Target) or with: kubectl -n {namespace} patch backuptargets.longhorn.io default --type merge -p '{{\"spec\":{{\"backupTargetURL\":\"s3://BUCKET@REGION/\",\"credentialSecret\":\"SECRET\"}}}}'"
        )
    } else {
        format!(
            "set it in the Longhorn UI (Settings > Backup Target) or with: kubectl -n {namespace} patch settings.longhorn.io backup-target --type merge -p '{{\"value\":\"s3://BUCKET@REGION/\"}}'"
        )
    }
}
