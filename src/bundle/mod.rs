//! The system-backup bundle, built on this machine (`create --local`) and read back
//! (`inspect`): the same zip longhorn-manager's `Generating` step writes, which
//! Longhorn's SystemRestore reads (longhorn-system-backup.md §3, §4, §10).

pub mod collect;
pub mod inspect;
pub mod layout;
pub mod selection;
pub mod summary;
pub mod volume_backups;
pub mod writer;
pub mod yaml;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::api;
use crate::cli::VolumeBackupPolicy;
use crate::error::{Error, Result};
use crate::files::{self, AtomicFile};
use crate::longhorn::install;
use crate::longhorn::resources;
use crate::names::check_object_name;
use crate::progress::Counters;
use crate::session::Session;
use crate::store::default_zip_path;

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
    /// Where `--upload` put the bundle.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uploaded: Option<crate::store::publish::Uploaded>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileCount {
    pub path: String,
    pub api_version: String,
    pub kind: String,
    pub count: usize,
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

/// Builds the bundle: the volume backup policy first, then every kind listed
/// concurrently into the zip, written atomically. Any error, or dropping the future
/// (Ctrl-C), leaves no file behind.
pub async fn build(session: &Session, request: &Request, counters: &Counters) -> Result<Outcome> {
    check_object_name("SystemBackup", &request.name)?;
    let target = output_path(&request.name, request.output.as_deref());
    // The file problems (directory missing or read-only, file exists) come first.
    let output = AtomicFile::create(&target, request.force)?;
    let namespace = session.namespace().await?;
    let (version, version_text) = install::version_with_text(session, namespace).await?;
    let kinds = layout::kinds(version)?;

    let volume_backups = volume_backups::run(
        session,
        namespace,
        version,
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
    let (collected, namespace_uid, kubernetes_version) = tokio::try_join!(
        collect::collect(session, namespace, &kinds, &destination, counters),
        namespace_uid(session, namespace),
        kubernetes_version(session),
    )?;
    let (files, gathered) = collected;
    let metadata = writer::Metadata {
        longhornversion: version_text.clone(),
        // Not known outside longhorn-manager; restore never reads metadata.yaml.
        longhorngitcommit: String::new(),
        kubernetesversion: kubernetes_version,
        longhornnamespaceuuid: namespace_uid,
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
            .map_err(|e| {
                Error::invalid(format!("internal: assembling the bundle failed: {e}"))
            })??;
    let file = output.commit()?;
    Ok(Outcome {
        name: request.name.clone(),
        file,
        namespace: namespace.to_string(),
        longhorn_version: version_text,
        volume_backup_policy: request.policy.as_str().to_string(),
        bytes,
        sha256,
        files: counts,
        volume_backups,
        volumes_without_backup: gathered.volumes_without_backup,
        uploaded: None,
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
        .map_err(|e| files::write_error(&target, &e))?;
    let mut bundle = writer::BundleWriter::new(handle, &target, name)?;
    bundle.metadata(metadata)?;
    for file in files {
        bundle.add(&file.kind.path(), file.spool)?;
    }
    bundle.finish()?;
    let (bytes, sha256) =
        digest(output.temp_path()).map_err(|e| files::write_error(&target, &e))?;
    Ok((output, bytes, sha256))
}

/// Size and SHA-256 (hex) of a file; Longhorn's cfg checksum is SHA-256 (§5.2).
pub fn digest(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 256 * 1024];
    let mut total = 0u64;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
        total += read as u64;
    }
    Ok((total, hex::encode(hasher.finalize())))
}

/// The Longhorn namespace's UID for metadata.yaml. Restore never reads it, so a
/// refusal leaves it empty with a warning rather than failing the bundle.
async fn namespace_uid(session: &Session, namespace: &str) -> Result<String> {
    match api::get(session, &resources::namespaces(), None, namespace).await {
        Ok(object) => Ok(object
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()),
        Err(e) if e.status_code() == Some(403) => {
            eprintln!(
                "warning: you may not get namespace {namespace}; metadata.yaml will have no longhornnamespaceuuid (restore does not read it)"
            );
            Ok(String::new())
        }
        Err(e) => Err(e),
    }
}

/// The API server's `gitVersion` (metadata.yaml's kubernetesversion).
async fn kubernetes_version(session: &Session) -> Result<String> {
    let info = session
        .client()
        .apiserver_version()
        .await
        .map_err(|e| session.kube_error(e))?;
    Ok(info.git_version)
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

    #[test]
    fn digest_is_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (bytes, sha) = digest(&path).unwrap();
        assert_eq!(bytes, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
