//! The system-backup bundle, built on this machine (`create --local`) and read back
//! (`inspect`): the same zip longhorn-manager's `Generating` step writes, which
//! Longhorn's SystemRestore reads (docs/longhorn-behaviour.md, "The bundle").
//! Building is listing ([`collect`]), selecting ([`selection`]) and writing
//! ([`writer`]) the kinds of [`layout`], after the volume backup policy
//! ([`volume_backups`]); it writes a file and uploads nothing.

pub mod collect;
pub mod diff;
pub mod error;
pub mod inspect;
pub mod layout;
pub mod selection;
pub mod volume_backups;
pub mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

pub use error::{Error, Result};

use crate::kube::Collection;
use crate::kube::names::check_object_name;
use crate::longhorn::Longhorn;
use crate::longhorn::resources::namespaces;
use crate::longhorn::systembackup::VolumeBackupPolicy;
use crate::output::AtomicFile;
use crate::output::file::write_error;
use crate::output::progress::Counters;

/// What to build.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    /// The file to write; `None` means `./NAME.zip`. An existing directory means
    /// `DIR/NAME.zip`.
    pub output: Option<PathBuf>,
    pub force: bool,
    pub policy: VolumeBackupPolicy,
    /// Bounds the volume backup step.
    pub timeout: Option<Duration>,
}

/// What was built, for the summary.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Outcome {
    pub name: String,
    pub file: PathBuf,
    pub namespace: String,
    pub longhorn_version: String,
    pub volume_backup_policy: String,
    pub bytes: u64,
    pub sha256: String,
    pub files: Vec<FileCount>,
    pub volume_backups: volume_backups::Report,
    /// Volumes without a last backup: they restore empty.
    pub volumes_without_backup: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCount {
    pub path: String,
    pub api_version: String,
    pub kind: String,
    pub count: usize,
}

/// Where a bundle zip goes by default: `./NAME.zip`.
pub fn default_zip_path(name: &str) -> PathBuf {
    PathBuf::from(format!("{name}.zip"))
}

/// The file a bundle goes to: `-o FILE`, `-o DIR/` → `DIR/NAME.zip`, else `./NAME.zip`.
pub fn output_path(name: &str, output: Option<&Path>) -> PathBuf {
    let file = default_zip_path(name);
    match output {
        None => file,
        Some(path) if path.is_dir() => path.join(file),
        Some(path) => path.to_path_buf(),
    }
}

/// The file the bundle goes to, refused before anything else happens when it cannot be
/// written (directory missing or read-only, file exists without `force`).
pub fn open_output(request: &Request) -> Result<AtomicFile> {
    check_object_name("SystemBackup", &request.name)?;
    let target = output_path(&request.name, request.output.as_deref());
    Ok(AtomicFile::create(&target, request.force)?)
}

/// Builds the bundle into `output` ([`open_output`]): the volume backup policy first,
/// then every kind listed concurrently into the zip, written atomically. Any error, or
/// dropping the future (Ctrl-C), leaves no file behind.
pub async fn build(
    longhorn: &Longhorn,
    request: &Request,
    output: AtomicFile,
    counters: &Counters,
) -> Result<Outcome> {
    let target = output.target().to_path_buf();
    let installed = longhorn.installed_version().await?.clone();
    layout::check_local_version(installed.version)?;
    let kinds = layout::kinds(installed.version)?;

    let volume_backups = volume_backups::run(
        longhorn,
        installed.version,
        request.policy,
        request.timeout,
        counters,
    )
    .await?;

    let destination = collect::Destination {
        name: &request.name,
        target: &target,
        dir: output.dir(),
    };
    let (collected, namespace_uid, kubernetes_version) = tokio::join!(
        collect::collect(longhorn, &kinds, &destination, counters),
        namespace_uid(longhorn),
        longhorn.kube().server_version(),
    );
    let (files, gathered) = collected?;
    let metadata = writer::Metadata {
        longhornversion: installed.text.clone(),
        // Not known outside longhorn-manager; restore never reads metadata.yaml.
        longhorngitcommit: String::new(),
        kubernetesversion: kubernetes_version?,
        longhornnamespaceuuid: namespace_uid?,
        systembackupcreatedat: writer::ZERO_TIME.to_string(),
        managerimage: gathered.manager_image.clone().unwrap_or_default(),
    };
    let counts: Vec<FileCount> = files
        .iter()
        .map(|c| FileCount {
            path: c.kind.path(),
            api_version: c.kind.api_version(),
            kind: c.kind.list_kind(),
            count: c.spool.count,
        })
        .collect();

    // Assembling copies compressed data: quick, but blocking file I/O.
    let name = request.name.clone();
    let (output, bytes, sha256) =
        tokio::task::spawn_blocking(move || assemble(output, &name, &metadata, files))
            .await
            .map_err(|source| Error::Internal {
                what: "assembling the bundle".into(),
                source,
            })??;
    let file = output.commit()?;
    Ok(Outcome {
        name: request.name.clone(),
        file,
        namespace: longhorn.namespace().to_string(),
        longhorn_version: installed.text,
        volume_backup_policy: request.policy.as_str().to_string(),
        bytes,
        sha256,
        files: counts,
        volume_backups,
        volumes_without_backup: gathered.volumes_without_backup,
    })
}

/// Writes the zip into the output's temporary file; returns its size and SHA-256.
fn assemble(
    mut output: AtomicFile,
    name: &str,
    metadata: &writer::Metadata,
    files: Vec<collect::Collected>,
) -> Result<(AtomicFile, u64, String)> {
    let target = output.target().to_path_buf();
    let handle = output
        .file()
        .try_clone()
        .map_err(|e| write_error(&target, e))?;
    let mut bundle = writer::BundleWriter::new(handle, &target, name)?;
    bundle.metadata(metadata)?;
    for file in files {
        bundle.add(&file.kind.path(), file.spool)?;
    }
    bundle.finish()?;
    let (bytes, sha256) = output
        .reader()
        .and_then(writer::digest)
        .map_err(|e| write_error(&target, e))?;
    Ok((output, bytes, sha256))
}

/// The Longhorn namespace's UID for metadata.yaml. Restore never reads it, so a
/// refusal leaves it empty with a warning rather than failing the bundle.
async fn namespace_uid(longhorn: &Longhorn) -> Result<String> {
    let namespace = longhorn.namespace();
    let object = Collection::new(namespaces(), None).object(namespace);
    match longhorn.kube().get(&object).await {
        Ok(object) => Ok(object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        Err(e) if e.is_forbidden() => {
            eprintln!(
                "warning: you may not get namespace {namespace}; metadata.yaml will have no longhornnamespaceuuid (restore does not read it)"
            );
            Ok(String::new())
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_defaults_to_name_zip_here_or_in_a_directory() {
        assert_eq!(output_path("nightly", None), PathBuf::from("nightly.zip"));
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            output_path("nightly", Some(dir.path())),
            dir.path().join("nightly.zip")
        );
        let file = dir.path().join("x.zip");
        assert_eq!(output_path("nightly", Some(&file)), file);
    }
}
