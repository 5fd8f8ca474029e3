//! Files that hold cluster data: written to a temporary file in the destination's
//! directory, mode 0600, fsynced, then renamed into place. Until `commit`, dropping
//! the writer (an error, Ctrl-C dropping the future) removes the temporary file, so
//! nothing partial is ever left behind.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

pub struct AtomicFile {
    destination: PathBuf,
    temp: tempfile::NamedTempFile,
}

impl AtomicFile {
    /// Prepares `destination`. Refuses when it exists unless `overwrite`, and says why
    /// when its directory is missing or not writable.
    pub fn create(destination: &Path, overwrite: bool) -> Result<Self> {
        if destination.exists() && !overwrite {
            return Err(Error::File {
                path: destination.to_path_buf(),
                message: "already exists; pass --force to overwrite it".into(),
            });
        }
        let directory = match destination.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if !directory.is_dir() {
            return Err(Error::File {
                path: destination.to_path_buf(),
                message: format!(
                    "the directory {} does not exist; create it or choose another path",
                    directory.display()
                ),
            });
        }
        let file_name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".partial")
            .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .tempfile_in(&directory)
            .map_err(|e| Error::File {
                path: destination.to_path_buf(),
                message: format!("cannot write in {}: {e}", directory.display()),
            })?;
        Ok(AtomicFile {
            destination: destination.to_path_buf(),
            temp,
        })
    }

    pub fn destination(&self) -> &Path {
        &self.destination
    }

    /// The open temporary file (e.g. for a zip writer that needs `Seek`).
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// Flushes to disk and renames into place.
    pub fn commit(self) -> Result<PathBuf> {
        let destination = self.destination.clone();
        let failed = |e: io::Error| Error::File {
            path: destination.clone(),
            message: format!("could not finish writing: {e}"),
        };
        self.temp.as_file().sync_all().map_err(failed)?;
        self.temp
            .persist(&self.destination)
            .map_err(|e| failed(e.error))?;
        // The rename is durable once the directory entry is on disk.
        if let Some(parent) = self
            .destination
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
        {
            let _ = File::open(parent).and_then(|d| d.sync_all());
        }
        Ok(self.destination)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.temp.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

impl io::Seek for AtomicFile {
    fn seek(&mut self, pos: io::SeekFrom) -> io::Result<u64> {
        self.temp.seek(pos)
    }
}

/// Describes a write error on `path` in words a user can act on.
pub fn write_error(path: &Path, error: &io::Error) -> Error {
    let message = match error.raw_os_error() {
        Some(28) => "the disk is full; free space or choose another location".to_string(),
        Some(27) => {
            "the file size limit was reached (ulimit -f); raise it or choose another location"
                .to_string()
        }
        _ if error.kind() == io::ErrorKind::PermissionDenied => {
            "permission denied; choose a writable location".to_string()
        }
        _ => format!("write failed: {error}"),
    };
    Error::File {
        path: path.to_path_buf(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn commits_with_0600_and_leaves_nothing_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.zip");
        let mut file = AtomicFile::create(&path, false).unwrap();
        file.write_all(b"data").unwrap();
        drop(file);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "a dropped writer leaves no file"
        );

        let mut file = AtomicFile::create(&path, false).unwrap();
        file.write_all(b"data").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"data");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn refuses_existing_files_and_missing_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.zip");
        std::fs::write(&path, b"old").unwrap();
        let error = AtomicFile::create(&path, false).err().unwrap().to_string();
        assert!(
            error.contains("already exists") && error.contains("--force"),
            "{error}"
        );
        assert!(AtomicFile::create(&path, true).is_ok());
        let error = AtomicFile::create(&dir.path().join("missing/out.zip"), false)
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("does not exist"), "{error}");
    }
}
