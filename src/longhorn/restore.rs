//! Restoring the Longhorn system from a SystemBackup (SystemRestore,
//! longhorn-system-backup.md §7). Longhorn's webhook checks little (volumes detached,
//! no restore labelled in progress, the backup exists) and its restore can fail
//! silently or never start (§9). The pre-flight here refuses those cases first.

use serde_json::Value;

use super::LonghornVersion;
use super::resources::{ENGINE_IMAGE, SYSTEM_BACKUP, SYSTEM_RESTORE, VOLUME, labels};
use super::systembackup::{self as sb, STATE_READY};
use futures::TryStreamExt;

use crate::api::{self, Selector};
use crate::bundle;
use crate::error::{Error, Result};
use crate::object;
use crate::session::Session;

pub const STATE_COMPLETED: &str = "Completed";
pub const STATE_ERROR: &str = "Error";

/// Longhorn's documented limitation, quoted in the refusal.
const CROSS_VERSION_LIMITATION: &str = "Longhorn does not support cross-major/minor version system restore except for upgrade failures (Longhorn docs, \"Restore Longhorn System\"; longhorn/longhorn#10205, #10206)";

pub fn state(restore: &Value) -> &str {
    object::str_at(restore, "/status/state").unwrap_or_default()
}

pub fn backup_name(restore: &Value) -> &str {
    object::str_at(restore, "/spec/systemBackup").unwrap_or_default()
}

/// The SystemBackup must exist and be Ready (Longhorn checks only that it exists).
pub async fn ready_backup(session: &Session, namespace: &str, name: &str) -> Result<Value> {
    let backup = api::get_opt(session, &SYSTEM_BACKUP.api_resource(), Some(namespace), name)
        .await
        .map_err(super::install::explain_missing(SYSTEM_BACKUP))?
        .ok_or_else(|| {
            Error::invalid(format!(
                "systembackup {name:?} does not exist in {namespace}; list the backups with: kubectl longhorn systembackup list (run kubectl longhorn systembackup sync to pick up backups in the backup target)"
            ))
        })?;
    let state = sb::state(&backup);
    if state != STATE_READY {
        let shown = if state.is_empty() {
            "not started"
        } else {
            state
        };
        let hint = match state {
            sb::STATE_ERROR => "it failed and cannot be restored; choose another backup",
            _ => "wait for it first: kubectl longhorn systembackup wait NAME",
        };
        return Err(Error::invalid(format!(
            "systembackup {name:?} is {shown}, not Ready; {hint}"
        )));
    }
    Ok(backup)
}

/// All volumes must be detached (Longhorn's webhook rejects otherwise).
pub async fn check_volumes_detached(session: &Session, namespace: &str) -> Result<()> {
    // Streamed: a cluster may have thousands of volumes, and only attached ones matter.
    let attached: Vec<String> = api::items(
        session,
        &VOLUME.api_resource(),
        Some(namespace),
        Selector::default(),
    )
    .try_filter_map(|v| async move {
        let state = object::str_at(&v, "/status/state").unwrap_or("detached");
        Ok((state != "detached").then(|| format!("{} ({state})", object::name(&v))))
    })
    .try_collect()
    .await?;
    if attached.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = attached.iter().take(10).map(String::as_str).collect();
    let more = if attached.len() > 10 {
        format!(" and {} more", attached.len() - 10)
    } else {
        String::new()
    };
    Err(Error::invalid(format!(
        "{} volume(s) are not detached: {}{more}; Longhorn restores only with every volume detached: scale down the workloads that use them, then try again",
        attached.len(),
        shown.join(", ")
    )))
}

/// No other restore may be running: Longhorn checks the in-progress label, which the
/// restore job sets only once it runs, so unfinished states count too.
pub async fn check_no_restore_running(session: &Session, namespace: &str) -> Result<()> {
    let restores = api::list_items(
        session,
        &SYSTEM_RESTORE.api_resource(),
        Some(namespace),
        Selector::default(),
    )
    .await
    .map_err(super::install::explain_missing(SYSTEM_RESTORE))?;
    let running: Vec<String> = restores
        .iter()
        .filter(|r| {
            object::label(r, labels::SYSTEM_RESTORE) == Some("InProgress")
                || !matches!(state(r), STATE_COMPLETED | STATE_ERROR)
        })
        .map(|r| {
            format!(
                "{} ({})",
                object::name(r),
                Some(state(r))
                    .filter(|s| !s.is_empty())
                    .unwrap_or("Pending")
            )
        })
        .collect();
    if running.is_empty() {
        return Ok(());
    }
    Err(Error::invalid(format!(
        "another system restore is in progress: {}; wait for it to finish (kubectl longhorn systembackup restore list)",
        running.join(", ")
    )))
}

/// Refuses a backup from a different major.minor version unless allowed.
pub fn check_version(
    backup: &Value,
    cluster: LonghornVersion,
    allow_skew: bool,
) -> Result<Option<String>> {
    let Some(text) = sb::version(backup) else {
        return Ok(Some(
            "the backup records no Longhorn version; the version check was skipped".into(),
        ));
    };
    let backup_version: LonghornVersion = text.parse().map_err(|e| {
        Error::invalid(format!("the backup's Longhorn version cannot be read: {e}"))
    })?;
    if backup_version.same_minor(cluster) {
        return Ok(None);
    }
    let message = format!(
        "the backup was taken with Longhorn {backup_version} and this cluster runs {cluster}: {CROSS_VERSION_LIMITATION}"
    );
    if allow_skew {
        Ok(Some(format!(
            "{message}; going on because of --allow-version-skew"
        )))
    } else {
        Err(Error::invalid(format!(
            "{message}; pass --allow-version-skew to restore anyway"
        )))
    }
}

/// The engine image the backup's cfg names must be deployed: the restore job waits
/// for it and never starts otherwise (longhorn/longhorn#7158, §5.2).
pub async fn check_engine_image(session: &Session, namespace: &str, image: &str) -> Result<()> {
    let images = api::list_items(
        session,
        &ENGINE_IMAGE.api_resource(),
        Some(namespace),
        Selector::default(),
    )
    .await?;
    let found = images
        .iter()
        .find(|i| object::str_at(i, "/spec/image") == Some(image));
    match found.map(|i| object::str_at(i, "/status/state").unwrap_or("unknown")) {
        Some("deployed") => Ok(()),
        Some(state) => Err(Error::invalid(format!(
            "the backup's engine image {image} is {state}, not deployed, in this cluster; Longhorn's restore would wait for it and never start (longhorn/longhorn#7158): wait until its EngineImage is deployed"
        ))),
        None => Err(Error::invalid(format!(
            "the backup's engine image {image} is not deployed in this cluster; Longhorn's restore would wait for it and never start (longhorn/longhorn#7158): deploy it first (an EngineImage with spec.image {image} in {namespace})"
        ))),
    }
}

/// The List kinds Longhorn's rollout acts on, in the order it restores them
/// (longhorn-system-backup.md §3.2, §7.3), with the folder whose scheme decodes them.
const RESTORED_KINDS: [(&str, &str); 19] = [
    ("apiextensions", "CustomResourceDefinition"),
    ("kubernetes", "DaemonSet"),
    ("longhorn", "EngineImage"),
    ("longhorn", "Setting"),
    ("kubernetes", "Service"),
    ("kubernetes", "ServiceAccount"),
    ("kubernetes", "ClusterRole"),
    ("kubernetes", "ClusterRoleBinding"),
    ("kubernetes", "Role"),
    ("kubernetes", "RoleBinding"),
    ("kubernetes", "StorageClass"),
    ("kubernetes", "ConfigMap"),
    ("kubernetes", "Deployment"),
    ("longhorn", "BackupTarget"),
    ("longhorn", "BackingImage"),
    ("longhorn", "RecurringJob"),
    ("longhorn", "Volume"),
    ("kubernetes", "PersistentVolume"),
    ("kubernetes", "PersistentVolumeClaim"),
];

/// What Longhorn's rollout would restore from a bundle: objects per kind, in restore
/// order (kinds with no file are left out).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BundleContents {
    pub kinds: Vec<(&'static str, usize)>,
}

/// Reads the bundle of SystemBackup `backup` as the rollout does (`bundle::inspect`):
/// the List files directly in `<backup>/yamls/{apiextensions,kubernetes,longhorn}/`.
/// Refuses, with the first such finding, what would fail the restore (a file that does
/// not decode) or make it restore nothing (no top-level folder named `backup`).
pub fn read_bundle(path: &std::path::Path, backup: &str) -> Result<BundleContents> {
    let report = bundle::inspect::inspect_backup(path, backup, bundle::inspect::Limits::default())?;
    if let Some(finding) = report
        .findings
        .iter()
        .find(|f| f.severity == bundle::inspect::Severity::Error)
    {
        return Err(Error::File {
            path: path.to_path_buf(),
            message: finding.message.clone(),
        });
    }
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for file in report.files.iter().filter(|f| f.restored) {
        let folder = file.path.rsplit('/').nth(1).unwrap_or_default();
        let kind = file.kind.strip_suffix("List").unwrap_or(&file.kind);
        *counts.entry(format!("{folder}/{kind}")).or_default() += file.count;
    }
    Ok(BundleContents {
        kinds: RESTORED_KINDS
            .iter()
            .filter_map(|(folder, kind)| {
                counts
                    .get(&format!("{folder}/{kind}"))
                    .map(|count| (*kind, *count))
            })
            .collect(),
    })
}

/// A name for a new SystemRestore of `backup`: `<backup>-restore-<UTC time>`.
pub fn restore_name(backup: &str, now: jiff::Timestamp) -> String {
    let stamp = now.strftime("%Y%m%d-%H%M%S").to_string();
    let keep = 253 - "-restore-".len() - stamp.len();
    let backup: String = backup.chars().take(keep).collect();
    format!("{}-restore-{stamp}", backup.trim_end_matches(['-', '.']))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn version_skew_is_refused_unless_allowed() {
        let backup = json!({"status": {"version": "v1.9.2"}});
        let cluster: LonghornVersion = "v1.10.0".parse().unwrap();
        let error = check_version(&backup, cluster, false)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("v1.9.2")
                && error.contains("--allow-version-skew")
                && error.contains("cross-major/minor")
        );
        assert!(check_version(&backup, cluster, true).unwrap().is_some());
        assert!(
            check_version(&backup, "v1.9.0".parse().unwrap(), false)
                .unwrap()
                .is_none()
        );
    }

    fn bundle(files: &[(&str, &str)]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, text) in files {
            if name.ends_with('/') {
                zip.add_directory(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
            } else {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(text.as_bytes()).unwrap();
            }
        }
        zip.finish().unwrap();
        file
    }

    #[test]
    fn a_bundle_is_read_as_the_rollout_reads_it() {
        let file = bundle(&[
            ("nightly/", ""),
            ("nightly/metadata.yaml", "longhornversion: v1.12.0\n"),
            (
                "nightly/yamls/longhorn/volumes.yaml",
                "apiVersion: longhorn.io/v1beta2\nitems:\n- metadata:\n    name: a\n- metadata:\n    name: b\nkind: VolumeList\n",
            ),
            // Longhorn's swap: this file holds the bindings.
            (
                "nightly/yamls/kubernetes/clusterroles.yaml",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBindingList\nitems:\n- {}\n",
            ),
            (
                "nightly/yamls/kubernetes/configmaps.yaml",
                "apiVersion: v1\nkind: ConfigMapList\nitems: []\n",
            ),
            (
                "nightly/yamls/apiextensions/crds.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinitionList\nitems:\n- {}\n- {}\n",
            ),
            // Sub-directories and unknown kinds are not restored.
            (
                "nightly/yamls/longhorn/old/volumes.yaml",
                "apiVersion: longhorn.io/v1beta2\nkind: VolumeList\nitems:\n- {}\n",
            ),
            (
                "nightly/yamls/longhorn/nodes.yaml",
                "apiVersion: longhorn.io/v1beta2\nkind: NodeList\nitems:\n- {}\n",
            ),
        ]);
        let contents = read_bundle(file.path(), "nightly").unwrap();
        assert_eq!(
            contents.kinds,
            [
                ("CustomResourceDefinition", 2),
                ("ClusterRoleBinding", 1),
                ("ConfigMap", 0),
                ("Volume", 2),
            ]
        );
    }

    #[test]
    fn a_bundle_longhorn_cannot_restore_is_refused() {
        let file = bundle(&[(
            "other/yamls/longhorn/volumes.yaml",
            "kind: VolumeList\nitems: []\n",
        )]);
        let error = read_bundle(file.path(), "nightly").unwrap_err().to_string();
        assert!(
            error.contains("top-level folder is other, not \"nightly\""),
            "{error}"
        );
        let file = bundle(&[("nightly/yamls/longhorn/volumes.yaml", "kind: [VolumeList\n")]);
        let error = read_bundle(file.path(), "nightly").unwrap_err().to_string();
        assert!(
            error.contains("restore cannot decode it, so the restore fails"),
            "{error}"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a zip").unwrap();
        let error = read_bundle(file.path(), "nightly").unwrap_err().to_string();
        assert!(error.contains("is not a zip file"), "{error}");
    }

    #[test]
    fn restore_names_are_valid_object_names() {
        let now: jiff::Timestamp = "2026-11-27T10:00:00Z".parse().unwrap();
        assert_eq!(
            restore_name("nightly", now),
            "nightly-restore-20261127-100000"
        );
        let long = restore_name(&"a".repeat(300), now);
        assert!(long.len() <= 253);
        crate::names::check_object_name("SystemRestore", &long).unwrap();
    }
}
