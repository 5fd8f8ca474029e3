//! A system backup's zip from the backup target into a temporary file (mode 0600,
//! removed when dropped), for the commands that read a bundle without keeping it.

use std::io::Write;

use tempfile::NamedTempFile;

use crate::commands::error::Result;
use crate::longhorn::Longhorn;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output::file::{FileError, write_error};
use crate::store::{self, Store};

/// The Longhorn version under which backup `name` is kept in the store: the CR knows
/// it; without one (not synced yet), the store does. Not found in either: an error
/// naming the namespace and the target.
pub async fn backup_version(longhorn: &Longhorn, store: &Store, name: &str) -> Result<String> {
    let found = longhorn
        .kube()
        .get_opt(&SYSTEM_BACKUP.object(longhorn.namespace(), name))
        .await?;
    let version = match found.as_ref().and_then(sb::version) {
        Some(version) => Some(version.to_string()),
        None => store.find(name).await?,
    };
    Ok(version.ok_or_else(|| store::Error::NotFound {
        name: name.to_string(),
        namespace: longhorn.namespace().to_string(),
        url: store.url.display(),
    })?)
}

/// Downloads `backup` of Longhorn `version` from `store` into a temporary file.
pub async fn bundle_to_temp(store: &Store, version: &str, backup: &str) -> Result<NamedTempFile> {
    let mut file = NamedTempFile::new().map_err(|source| FileError::NotWritable {
        path: std::env::temp_dir(),
        source,
    })?;
    let path = file.path().to_path_buf();
    store
        .download(
            version,
            backup,
            |chunk| {
                file.write_all(chunk)
                    .map_err(|e| write_error(&path, e).into())
            },
            |_, _| {},
        )
        .await?;
    Ok(file)
}
