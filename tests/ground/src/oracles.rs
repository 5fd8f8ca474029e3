//! Compatibility oracles: small Go programs built from Longhorn's own code for one
//! Longhorn release (docs/testing.md, "Compatibility oracles").
//!
//! - `bundle-oracle` reads a system-backup zip the way SystemRestore does
//!   (`tests/oracle/bundle/main.go`); [`bundle_report`] returns its JSON report.
//! - `backupstore-oracle` lists, reads, downloads (with the checksum check) and uploads
//!   system backups with `github.com/longhorn/backupstore/systembackup`
//!   (`tests/oracle/backupstore/main.go`); [`backupstore`] runs it.
//!
//! Both are built by `tests/tools/install.sh` and cached per Longhorn version.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

use serde_json::Value;

use crate::{Error, tools};

/// Builds (first time) and returns the bundle oracle for a Longhorn version.
pub fn bundle_oracle(version: &str) -> Result<PathBuf, Error> {
    installed("bundle-oracle", version)
}

/// Builds (first time) and returns the backupstore oracle for a Longhorn version.
pub fn backupstore_oracle(version: &str) -> Result<PathBuf, Error> {
    installed("backupstore-oracle", version)
}

/// `install.sh` once per component and version in this process.
fn installed(component: &str, version: &str) -> Result<PathBuf, Error> {
    static PATHS: Mutex<BTreeMap<(String, String), PathBuf>> = Mutex::new(BTreeMap::new());
    let key = (component.to_string(), version.to_string());
    if let Some(path) = PATHS.lock().expect("oracle path cache").get(&key) {
        return Ok(path.clone());
    }
    let path = tools::install(component, Some(version))?;
    PATHS
        .lock()
        .expect("oracle path cache")
        .insert(key, path.clone());
    Ok(path)
}

/// What Longhorn `version`'s restore reads from the system-backup `zip` named `name`.
///
/// The report (see `tests/oracle/bundle/main.go`) has `topLevelFolderFound`,
/// `restoresNothing`, `kinds.<Kind>List.{file,count,items,volumes,…}`, `decodeErrors`,
/// `warnings` and `unpackError` (empty when Longhorn's Unpack would succeed). A report
/// is returned whether or not Unpack would succeed; `Err` means the oracle could not
/// run or did not print a report.
pub fn bundle_report(version: &str, zip: &Path, name: &str) -> Result<Value, Error> {
    let bin = bundle_oracle(version)?;
    let output = Command::new(&bin)
        .arg(zip)
        .arg(name)
        .output()
        .map_err(|source| Error::Io {
            context: format!("running {}", bin.display()),
            source,
        })?;
    // 0 = report, 1 = report and Unpack would fail, anything else = no report.
    if !matches!(output.status.code(), Some(0 | 1)) {
        return Err(Error::Oracle(format!(
            "{} {} {name} failed ({}): {}",
            bin.display(),
            zip.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        Error::Oracle(format!(
            "bundle-oracle printed no JSON report ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        ))
    })?;
    let fails = !report["unpackError"]
        .as_str()
        .unwrap_or_default()
        .is_empty();
    if fails != (output.status.code() == Some(1)) {
        return Err(Error::Oracle(format!(
            "bundle-oracle exit status {} disagrees with its report",
            output.status
        )));
    }
    Ok(report)
}

/// Runs the backupstore oracle of Longhorn `version` with `args` (`list <target>`,
/// `get-config <target> <version> <name>`, `download <target> <version> <name> <dest>`,
/// `upload …`, `delete …`, `url …`) and the backup-target credentials in `env` (the
/// Secret keys: AWS_*, AZBLOB_*, VIRTUAL_HOSTED_STYLE).
///
/// The oracle runs with a clean environment, like the engine binary that Longhorn
/// starts with the Secret's keys: only `PATH` (the vfs driver runs `ls`, `cp`, `mv`),
/// an empty `HOME` (no `~/.aws` of the developer) and
/// `AWS_EC2_METADATA_DISABLED=true` (no instance-metadata probe) are added to `env`.
/// The `Output` is returned as is, failed or not.
pub fn backupstore<I, K, V>(version: &str, args: &[&str], env: I) -> Result<Output, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let bin = backupstore_oracle(version)?;
    let home = tempfile::Builder::new()
        .prefix("backupstore-oracle-home-")
        .tempdir()
        .map_err(crate::plane::io_err(
            "creating an empty HOME for the backupstore oracle",
        ))?;
    let mut command = Command::new(&bin);
    command
        .args(args)
        .env_clear()
        .env(
            "PATH",
            std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into()),
        )
        .env("HOME", home.path())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(env);
    command.output().map_err(|source| Error::Io {
        context: format!("running {}", bin.display()),
        source,
    })
}

/// [`backupstore`] that must succeed; returns its stdout parsed as JSON.
pub fn backupstore_json<I, K, V>(version: &str, args: &[&str], env: I) -> Result<Value, Error>
where
    I: IntoIterator<Item = (K, V)>,
    K: AsRef<std::ffi::OsStr>,
    V: AsRef<std::ffi::OsStr>,
{
    let output = backupstore(version, args, env)?;
    if !output.status.success() {
        return Err(Error::Oracle(format!(
            "backupstore-oracle {} failed ({}): {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    serde_json::from_slice(&output.stdout).map_err(|e| {
        Error::Oracle(format!(
            "backupstore-oracle {} printed no JSON ({e}): {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stdout)
        ))
    })
}
