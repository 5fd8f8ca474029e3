//! A system backup's zip from the backup target into a temporary file (mode 0600,
//! removed when dropped), for the commands that read a bundle without keeping it.

use std::io::Write;

use tempfile::NamedTempFile;

use crate::commands::error::Result;
use crate::output::file::{FileError, write_error};
use crate::store::Store;

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
