//! `download NAME`: a system backup's zip from the backup target, checked against the
//! SHA-256 in its `system-backup.cfg`, written atomically with mode 0600.

use std::io::Write;

use sha2::{Digest, Sha256};

use crate::api;
use crate::cli::DownloadArgs;
use crate::error::{Error, Result};
use crate::files::{AtomicFile, write_error};
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::names::check_object_name;
use crate::output;
use crate::progress::Transfer;
use crate::session::Session;
use crate::store::{self, default_zip_path};

pub async fn run(session: &Session, args: &DownloadArgs) -> Result<()> {
    check_object_name("SystemBackup", &args.name)?;
    let destination = args
        .output
        .clone()
        .unwrap_or_else(|| default_zip_path(&args.name));
    // Refuse early: nothing is fetched when the file cannot be written.
    let mut file = AtomicFile::create(&destination, args.force)?;
    let namespace = session.namespace().await?;
    let (store, _) = store::open_cluster_target(
        session,
        namespace,
        args.target.as_deref(),
        args.mount_path.as_deref(),
    )
    .await?;

    // The CR knows the version; without one (not synced yet), the store does.
    let resource = SYSTEM_BACKUP.api_resource();
    let version = match api::get_opt(session, &resource, Some(namespace), &args.name).await? {
        Some(object) if sb::version(&object).is_some() => sb::version(&object).map(str::to_string),
        _ => store.find(&args.name).await?,
    }
    .ok_or_else(|| {
        Error::invalid(format!(
            "system backup {:?} is neither a SystemBackup in {namespace} nor in the backup target ({})",
            args.name,
            store.url.display()
        ))
    })?;
    let config = store.config(&version, &args.name).await?.ok_or_else(|| {
        Error::Store(format!(
            "{} has no system-backup.cfg in {}: its upload never finished, so Longhorn does not consider it uploaded",
            args.name,
            store.url.display()
        ))
    })?;

    let transfer = Transfer::new(
        format!("downloading {}", args.name),
        None,
        session.terminal.stderr,
    );
    let mut hasher = Sha256::new();
    let size = store
        .download(
            &version,
            &args.name,
            |chunk| {
                hasher.update(chunk);
                file.write_all(chunk)
                    .map_err(|e| write_error(&destination, &e))
            },
            |done, total| transfer.set(done, total),
        )
        .await?;
    transfer.finish();
    let checksum = hex::encode(hasher.finalize());
    if checksum != config.checksum {
        return Err(Error::Store(format!(
            "the downloaded zip does not match its system-backup.cfg (sha256 {checksum}, expected {}); nothing was written",
            config.checksum
        )));
    }
    let path = file.commit()?;
    output::stdout(&format!(
        "Downloaded {} (Longhorn {version}, {size} bytes, sha256 {checksum} verified) to {}\n",
        args.name,
        path.display()
    ))
}
