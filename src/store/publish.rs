//! Putting a bundle built on this machine into the backup target the way Longhorn
//! would have (longhorn-system-backup.md §5, §10.3–10.6): refuse a name that exists,
//! describe it in a `system-backup.cfg` whose images are the cluster's real ones,
//! upload the zip then the cfg, and let Longhorn find it.

use std::path::Path;

use jiff::Timestamp;
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::{Store, SystemBackupConfig, config::go_time};
use crate::api::{self, Selector};
use crate::error::{Error, Result};
use crate::longhorn::install;
use crate::longhorn::resources::{self, SETTING_DEFAULT_ENGINE_IMAGE, SYSTEM_BACKUP};
use crate::longhorn::systembackup as sb;
use crate::session::Session;

/// Refuses when `name` exists as a SystemBackup or in the store (under any version:
/// Longhorn keys system backups by name only).
pub async fn check_name_free(
    session: &Session,
    namespace: &str,
    store: &Store,
    name: &str,
) -> Result<()> {
    if api::get_opt(
        session,
        &SYSTEM_BACKUP.api_resource(),
        Some(namespace),
        name,
    )
    .await?
    .is_some()
    {
        return Err(Error::invalid(format!(
            "systembackup {name:?} already exists as a SystemBackup in {namespace}; choose another name"
        )));
    }
    if let Some(version) = store.find(name).await? {
        return Err(Error::invalid(format!(
            "system backup {name:?} already exists in the backup target {} (under {version}); choose another name",
            store.url.display()
        )));
    }
    Ok(())
}

/// The `--manager-image` of the longhorn-manager DaemonSet: the image Longhorn's
/// restore job runs with. Longhorn's manifests put the flags in `command`, others in
/// `args`; both count.
pub async fn manager_image(session: &Session, namespace: &str) -> Result<String> {
    let daemon_set = api::get_opt(session, &resources::daemon_sets(), Some(namespace), "longhorn-manager")
        .await?
        .ok_or_else(|| {
            Error::invalid(format!(
                "the longhorn-manager DaemonSet is not in {namespace}; its --manager-image is needed for the uploaded backup's cfg, which Longhorn's restore runs"
            ))
        })?;
    let containers = daemon_set
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array);
    let words: Vec<&str> = containers
        .into_iter()
        .flatten()
        .flat_map(|c| {
            ["command", "args"]
                .into_iter()
                .filter_map(|k| c.get(k).and_then(Value::as_array))
                .flatten()
                .filter_map(Value::as_str)
        })
        .collect();
    flag_value(&words, "--manager-image").ok_or_else(|| {
        Error::invalid(format!(
            "the longhorn-manager DaemonSet in {namespace} has no --manager-image flag; cannot name the manager image in the cfg"
        ))
    })
}

/// The value of `flag` in a command line (`--flag value` or `--flag=value`).
fn flag_value(words: &[&str], flag: &str) -> Option<String> {
    words.iter().enumerate().find_map(|(i, word)| {
        if let Some(value) = word
            .strip_prefix(flag)
            .and_then(|rest| rest.strip_prefix('='))
        {
            return Some(value.to_string());
        }
        (*word == flag)
            .then(|| words.get(i + 1).map(|v| v.to_string()))
            .flatten()
    })
}

/// The git commit Longhorn records: taken from a SystemBackup of the same version
/// (restore does not read it; longhorn-system-backup.md §10.4).
async fn git_commit(session: &Session, namespace: &str, version: &str) -> Result<String> {
    let backups = api::list_items(
        session,
        &SYSTEM_BACKUP.api_resource(),
        Some(namespace),
        Selector::default(),
    )
    .await?;
    Ok(backups
        .iter()
        .filter(|b| sb::version(b) == Some(version))
        .find_map(|b| {
            b.pointer("/status/gitCommit")
                .and_then(Value::as_str)
                .filter(|c| !c.is_empty())
        })
        .unwrap_or("unknown")
        .to_string())
}

/// SHA-256 of a file, hex, read in blocks.
pub fn sha256_file(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut file =
        std::fs::File::open(path).map_err(Error::io(format!("reading {}", path.display())))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file
            .read(&mut buffer)
            .map_err(Error::io(format!("reading {}", path.display())))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The cfg for `zip`, as backupstore's `system-backup upload` writes it.
pub async fn config_for(
    session: &Session,
    namespace: &str,
    store: &Store,
    name: &str,
    version: &str,
    zip: &Path,
) -> Result<SystemBackupConfig> {
    let engine_image = install::setting(session, namespace, SETTING_DEFAULT_ENGINE_IMAGE)
        .await?
        .filter(|image| !image.is_empty())
        .ok_or_else(|| {
            Error::invalid(format!(
                "Setting {SETTING_DEFAULT_ENGINE_IMAGE} is empty in {namespace}; the cfg must name the engine image Longhorn's restore uses"
            ))
        })?;
    Ok(SystemBackupConfig {
        name: name.to_string(),
        longhorn_version: version.to_string(),
        longhorn_git_commit: git_commit(session, namespace, version).await?,
        backup_target_url: store.url.cfg_target_url(),
        manager_image: manager_image(session, namespace).await?,
        engine_image,
        created_at: go_time(Timestamp::now()),
        checksum: sha256_file(zip)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_flag_values_in_both_spellings() {
        let words = [
            "longhorn-manager",
            "-d",
            "daemon",
            "--engine-image",
            "e:1",
            "--manager-image=m:1",
        ];
        assert_eq!(
            flag_value(&words, "--manager-image").as_deref(),
            Some("m:1")
        );
        assert_eq!(flag_value(&words, "--engine-image").as_deref(), Some("e:1"));
        assert_eq!(flag_value(&words, "--service-account"), None);
        assert_eq!(flag_value(&["--manager-image"], "--manager-image"), None);
    }
}
