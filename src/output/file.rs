//! Files with cluster data: written whole or not at all. The content goes to a
//! temporary file in the target's directory (mode 0600), is fsynced, then renamed over
//! the target; the directory is fsynced after the rename. Until [`AtomicFile::commit`]
//! the target is untouched, and dropping an `AtomicFile` (an error, or Ctrl-C dropping
//! the command's future) removes the temporary file.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

/// A file that cannot be written, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{}: is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error(
        "{}: the directory does not exist; create it first, or choose another path with -o",
        .0.display()
    )]
    NoDirectory(PathBuf),
    #[error("{}: {}", path.display(), describe(source))]
    Directory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: cannot write here: {}", path.display(), describe(source))]
    NotWritable {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{}: is a directory", .0.display())]
    IsADirectory(PathBuf),
    #[error(
        "{}: already exists; pass --force to overwrite it, or choose another file with -o",
        .0.display()
    )]
    Exists(PathBuf),
    #[error("{}: could not write: {}", path.display(), describe(source))]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

type Result<T, E = FileError> = std::result::Result<T, E>;

/// A file being written; it appears at its path only on [`AtomicFile::commit`].
pub struct AtomicFile {
    temp: NamedTempFile,
    target: PathBuf,
    overwrite: bool,
}

impl AtomicFile {
    /// Starts writing `target`. Fails before anything is written when the directory is
    /// missing or not writable, or when `target` exists and `overwrite` is false.
    pub fn create(target: &Path, overwrite: bool) -> Result<Self> {
        let dir = parent_dir(target);
        match std::fs::metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(FileError::NotADirectory(dir)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(FileError::NoDirectory(dir));
            }
            Err(source) => return Err(FileError::Directory { path: dir, source }),
        }
        refuse_existing(target, overwrite)?;
        let file_name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // tempfile creates the file with mode 0600 and O_EXCL.
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|source| FileError::NotWritable {
                path: dir.clone(),
                source,
            })?;
        Ok(AtomicFile {
            temp,
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// The file being written (the temporary one).
    pub fn file(&mut self) -> &mut File {
        self.temp.as_file_mut()
    }

    /// The path of the temporary file (for messages and tests).
    pub fn temp_path(&self) -> &Path {
        self.temp.path()
    }

    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The directory the file goes to.
    pub fn dir(&self) -> PathBuf {
        parent_dir(&self.target)
    }

    /// Makes the file durable and moves it into place. Without `overwrite` an existing
    /// target is never replaced, even one created while this file was written.
    pub fn commit(self) -> Result<PathBuf> {
        let AtomicFile {
            temp,
            target,
            overwrite,
        } = self;
        temp.as_file()
            .sync_all()
            .map_err(|e| write_error(&target, e))?;
        let persisted = if overwrite {
            temp.persist(&target)
        } else {
            temp.persist_noclobber(&target)
        };
        // On failure the PersistError gives the temporary file back; dropping it removes it.
        persisted.map_err(|e| {
            if e.error.kind() == io::ErrorKind::AlreadyExists {
                FileError::Exists(target.clone())
            } else {
                write_error(&target, e.error)
            }
        })?;
        // The rename is durable only once the directory entry is.
        if let Ok(dir) = File::open(parent_dir(&target)) {
            let _ = dir.sync_all();
        }
        Ok(target)
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.temp.write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.temp.flush()
    }
}

impl io::Seek for AtomicFile {
    fn seek(&mut self, position: io::SeekFrom) -> io::Result<u64> {
        self.temp.seek(position)
    }
}

/// Refuses an existing `target` unless `overwrite`.
pub fn refuse_existing(target: &Path, overwrite: bool) -> Result<()> {
    match std::fs::symlink_metadata(target) {
        Ok(meta) if meta.is_dir() => Err(FileError::IsADirectory(target.to_path_buf())),
        Ok(_) if !overwrite => Err(FileError::Exists(target.to_path_buf())),
        _ => Ok(()),
    }
}

/// The directory of a path; `.` for a bare file name.
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// An I/O error while writing `target`, said the way a person can act on it.
pub fn write_error(target: &Path, source: io::Error) -> FileError {
    FileError::Write {
        path: target.to_path_buf(),
        source,
    }
}

/// Names the usual causes of a failed write in plain words, then the OS's text.
pub fn describe(error: &io::Error) -> String {
    let hint = match error.kind() {
        io::ErrorKind::PermissionDenied => {
            Some("permission denied; choose a directory you can write to with -o")
        }
        io::ErrorKind::ReadOnlyFilesystem => {
            Some("the file system is read-only; choose another directory with -o")
        }
        io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => {
            Some("the disk is full; free some space or choose another directory with -o")
        }
        io::ErrorKind::FileTooLarge => Some(
            "the file size limit was reached (ulimit -f) or the disk is full; raise the limit or choose another directory with -o",
        ),
        _ => None,
    };
    match hint {
        Some(hint) => format!("{hint} ({error})"),
        None => error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn commit_moves_a_0600_file_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut file = AtomicFile::create(&target, false).unwrap();
        file.write_all(b"data").unwrap();
        assert!(!target.exists(), "nothing at the target before commit");
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"data");
        let mode = std::fs::metadata(&target).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(entries(dir.path()), ["b.zip"], "no temporary file left");
    }

    #[test]
    fn drop_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut file = AtomicFile::create(&target, false).unwrap();
        file.file().write_all(b"partial").unwrap();
        assert_eq!(entries(dir.path()).len(), 1, "the temporary file exists");
        drop(file);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn refuses_an_existing_file_without_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        std::fs::write(&target, b"old").unwrap();
        let err = AtomicFile::create(&target, false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("already exists") && err.contains("--force"),
            "{err}"
        );
        let mut file = AtomicFile::create(&target, true).unwrap();
        file.file().write_all(b"new").unwrap();
        file.commit().unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_file_created_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let file = AtomicFile::create(&target, false).unwrap();
        std::fs::write(&target, b"someone else's").unwrap();
        let err = file.commit().err().unwrap().to_string();
        assert!(err.contains("already exists"), "{err}");
        assert_eq!(std::fs::read(&target).unwrap(), b"someone else's");
        assert_eq!(entries(dir.path()), ["b.zip"]);
    }

    #[test]
    fn a_missing_directory_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("missing").join("b.zip");
        let err = AtomicFile::create(&target, false)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("missing") && err.contains("does not exist"),
            "{err}"
        );
    }

    #[test]
    fn io_errors_say_what_to_do() {
        let full = io::Error::from(io::ErrorKind::StorageFull);
        assert!(describe(&full).starts_with("the disk is full"));
        let big = io::Error::from_raw_os_error(27); // EFBIG
        assert!(describe(&big).contains("ulimit -f"), "{}", describe(&big));
    }
}
