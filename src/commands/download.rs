//! `download NAME`: a system backup's zip from the backup target, checked against the
//! SHA-256 in its `system-backup.cfg`, written atomically with mode 0600.

use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use clap_complete::engine::ArgValueCompleter;
use sha2::{Digest, Sha256};

use super::Context;
use super::error::Result;
use super::shared::fetch;
use super::shared::names::system_backup_names;
use crate::bundle::default_zip_path;
use crate::kube::names::check_object_name;
use crate::longhorn::Reads;
use crate::output::file::write_error;
use crate::output::progress::Transfer;
use crate::output::{self, AtomicFile};
use crate::store::{self, Location};

#[derive(Debug, Args)]
pub struct DownloadArgs {
    /// SystemBackup to download
    #[arg(add = ArgValueCompleter::new(system_backup_names))]
    pub name: String,
    /// Where to write the zip (default: ./NAME.zip)
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Overwrite the output file if it exists
    #[arg(long)]
    pub force: bool,
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    #[arg(long, value_name = "DIR")]
    pub mount_path: Option<PathBuf>,
}

pub async fn run(context: &Context, args: &DownloadArgs) -> Result<()> {
    check_object_name("SystemBackup", &args.name)?;
    let location = Location {
        url_override: args.target.as_deref(),
        mount_path: args.mount_path.as_deref(),
    };
    location.check()?;
    let destination = args
        .output
        .clone()
        .unwrap_or_else(|| default_zip_path(&args.name));
    // Refuse early: nothing is fetched when the file cannot be written.
    let mut file = AtomicFile::create(&destination, args.force)?;
    let reads = Reads {
        backup_target: true,
        ..Reads::default()
    };
    let longhorn = context.longhorn(reads).await?;
    let (store, _) = store::open_cluster_target(&longhorn, location).await?;

    let version = fetch::backup_version(&longhorn, &store, &args.name).await?;
    let config =
        store
            .config(&version, &args.name)
            .await?
            .ok_or_else(|| store::Error::NotUploaded {
                name: args.name.clone(),
                url: store.url.display(),
            })?;

    let transfer = Transfer::new(
        format!("downloading {}", args.name),
        None,
        context.terminal.stderr,
    );
    let mut hasher = Sha256::new();
    let size = store
        .download(
            &version,
            &args.name,
            |chunk| {
                hasher.update(chunk);
                file.write_all(chunk)
                    .map_err(|e| write_error(&destination, e).into())
            },
            |done, total| transfer.set(done, total),
        )
        .await?;
    transfer.finish();
    let checksum = hex::encode(hasher.finalize());
    if checksum != config.checksum {
        return Err(store::Error::ChecksumMismatch {
            actual: checksum,
            expected: config.checksum,
        }
        .into());
    }
    let path = file.commit()?;
    output::stdout(&format!(
        "Downloaded {} (Longhorn {version}, {size} bytes, sha256 {checksum} verified) to {}\n",
        args.name,
        path.display()
    ))?;
    Ok(())
}
