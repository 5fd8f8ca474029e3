//! Files with cluster data: written whole or not at all, mode 0600, even when the
//! process is killed with SIGKILL.
//!
//! Where the file system has `O_TMPFILE` (ext4, xfs, btrfs, tmpfs) the content goes to
//! a file without a name in the target's directory; it gets its name only on
//! [`AtomicFile::commit`] (`linkat`), so a kill at any moment leaves nothing. Elsewhere
//! the content goes to a named temporary file, `.<file>.<pid>.<random>.tmp`, removed on
//! drop (an error, or Ctrl-C dropping the command's future); one left by a killed run
//! is removed by the next run that writes into the same directory. The content is
//! fsynced before it is named, and the directory after.

use std::ffi::CString;
use std::fs::File;
use std::io::{self, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
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

/// Where the content is until it is committed.
enum Pending {
    /// An `O_TMPFILE` file: no name, so nothing to remove, whatever ends the process.
    Unnamed(File),
    /// The fallback: a named temporary file, removed on drop.
    Named(NamedTempFile),
}

/// A file being written; it appears at its path only on [`AtomicFile::commit`].
pub struct AtomicFile {
    pending: Pending,
    target: PathBuf,
    overwrite: bool,
}

/// The suffix of fallback temporary files; with the target's name before it
/// ([`temp_prefix`]) it is how a later run recognises one left by a killed run.
const TEMP_SUFFIX: &str = ".tmp";

impl AtomicFile {
    /// Starts writing `target`. Fails before anything is written when the directory is
    /// missing or not writable, or when `target` exists and `overwrite` is false.
    pub fn create(target: &Path, overwrite: bool) -> Result<Self> {
        Self::create_with(target, overwrite, open_unnamed)
    }

    /// [`AtomicFile::create`] with the way to open an unnamed file given (tests pass
    /// one that never can, to run the fallback).
    fn create_with(
        target: &Path,
        overwrite: bool,
        unnamed: fn(&Path) -> Option<File>,
    ) -> Result<Self> {
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
        let prefix = temp_prefix(target);
        remove_abandoned(&dir, &prefix);
        let pending = match unnamed(&dir) {
            Some(file) => Pending::Unnamed(file),
            None => Pending::Named(
                // tempfile creates the file with mode 0600 and O_EXCL.
                tempfile::Builder::new()
                    .prefix(&format!("{prefix}{}.", std::process::id()))
                    .suffix(TEMP_SUFFIX)
                    .tempfile_in(&dir)
                    .map_err(|source| FileError::NotWritable {
                        path: dir.clone(),
                        source,
                    })?,
            ),
        };
        Ok(AtomicFile {
            pending,
            target: target.to_path_buf(),
            overwrite,
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        match &mut self.pending {
            Pending::Unnamed(file) => file,
            Pending::Named(temp) => temp.as_file_mut(),
        }
    }

    /// A second handle on the content, positioned at its start (to read back what was
    /// written, e.g. for a checksum). It shares the position with [`AtomicFile::file`].
    pub fn reader(&mut self) -> io::Result<File> {
        let mut reader = self.file().try_clone()?;
        reader.rewind()?;
        Ok(reader)
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
            pending,
            target,
            overwrite,
        } = self;
        match pending {
            Pending::Unnamed(file) => commit_unnamed(&file, &target, overwrite)?,
            Pending::Named(temp) => commit_named(temp, &target, overwrite)?,
        }
        // The new name is durable only once the directory entry is.
        if let Ok(dir) = File::open(parent_dir(&target)) {
            let _ = dir.sync_all();
        }
        Ok(target)
    }
}

/// A file without a name in `dir` (`O_TMPFILE`, mode 0600), or `None` where the file
/// system (or a missing /proc, which naming it needs) does not allow one.
fn open_unnamed(dir: &Path) -> Option<File> {
    if !Path::new("/proc/self/fd").is_dir() {
        return None;
    }
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_TMPFILE)
        .mode(0o600)
        .open(dir)
        .ok()
}

fn commit_unnamed(file: &File, target: &Path, overwrite: bool) -> Result<()> {
    file.sync_all().map_err(|e| write_error(target, e))?;
    if !overwrite {
        // linkat never replaces an existing name: the no-clobber rule for free.
        return link_unnamed(file, target).map_err(|e| exists_or_write_error(target, e));
    }
    // linkat cannot replace a file, rename can: name it beside the target first. Only
    // a kill between the two calls leaves that name, which a later run removes.
    let prefix = temp_prefix(target);
    let dir = parent_dir(target);
    for attempt in 0u32.. {
        let beside = dir.join(format!(
            "{prefix}{}.{attempt}{TEMP_SUFFIX}",
            std::process::id()
        ));
        match link_unnamed(file, &beside) {
            Ok(()) => {
                return std::fs::rename(&beside, target).map_err(|e| {
                    let _ = std::fs::remove_file(&beside);
                    write_error(target, e)
                });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(write_error(target, e)),
        }
    }
    unreachable!("a free temporary name is found before the attempts run out")
}

/// Gives an `O_TMPFILE` file the name `target`. The one call std has no safe wrapper
/// for: std's `hard_link` passes no flags, and linking through `/proc/self/fd/N` needs
/// `AT_SYMLINK_FOLLOW` (`AT_EMPTY_PATH` instead would need CAP_DAC_READ_SEARCH).
#[allow(unsafe_code)] // linkat: the one call without a safe wrapper (above).
fn link_unnamed(file: &File, target: &Path) -> io::Result<()> {
    let source = CString::new(format!("/proc/self/fd/{}", file.as_raw_fd()))?;
    let target = CString::new(target.as_os_str().as_bytes())?;
    // SAFETY: both arguments are NUL-terminated strings that outlive the call, and
    // linkat keeps no pointer to them.
    let linked = unsafe {
        libc::linkat(
            libc::AT_FDCWD,
            source.as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::AT_SYMLINK_FOLLOW,
        )
    };
    if linked == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

fn commit_named(temp: NamedTempFile, target: &Path, overwrite: bool) -> Result<()> {
    temp.as_file()
        .sync_all()
        .map_err(|e| write_error(target, e))?;
    let persisted = if overwrite {
        temp.persist(target)
    } else {
        temp.persist_noclobber(target)
    };
    // On failure the PersistError gives the temporary file back; dropping it removes it.
    persisted
        .map(drop)
        .map_err(|e| exists_or_write_error(target, e.error))
}

fn exists_or_write_error(target: &Path, error: io::Error) -> FileError {
    if error.kind() == io::ErrorKind::AlreadyExists {
        FileError::Exists(target.to_path_buf())
    } else {
        write_error(target, error)
    }
}

/// How the temporary names of `target` begin: `.<file>.`, then the writer's PID.
fn temp_prefix(target: &Path) -> String {
    let file_name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{file_name}.")
}

/// Removes the temporary files of a target that a killed run left in `dir`: those
/// named [`temp_prefix`]`<pid>.…`[`TEMP_SUFFIX`] whose process is gone. Best effort: a
/// file that cannot be removed stays for a later run.
fn remove_abandoned(dir: &Path, prefix: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(prefix))
            .filter(|rest| rest.ends_with(TEMP_SUFFIX))
            .and_then(|rest| rest.split('.').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new("/proc").join(pid.to_string()).exists();
        if !alive {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        self.file().write(buffer)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl io::Seek for AtomicFile {
    fn seek(&mut self, position: io::SeekFrom) -> io::Result<u64> {
        self.file().seek(position)
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
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn no_unnamed_files(_: &Path) -> Option<File> {
        None
    }

    #[test]
    fn commit_moves_a_0600_file_into_place() {
        for fallback in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("b.zip");
            let mut file = if fallback {
                AtomicFile::create_with(&target, false, no_unnamed_files).unwrap()
            } else {
                AtomicFile::create(&target, false).unwrap()
            };
            file.write_all(b"data").unwrap();
            assert!(!target.exists(), "nothing at the target before commit");
            let mut read_back = String::new();
            file.reader()
                .unwrap()
                .read_to_string(&mut read_back)
                .unwrap();
            assert_eq!(read_back, "data");
            file.commit().unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), b"data");
            let mode = std::fs::metadata(&target).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(entries(dir.path()), ["b.zip"], "no temporary file left");
        }
    }

    #[test]
    fn the_file_has_no_name_until_commit() {
        // The test directory is on a file system with O_TMPFILE (ext4, tmpfs, xfs).
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut file = AtomicFile::create(&target, false).unwrap();
        assert!(
            matches!(file.pending, Pending::Unnamed(_)),
            "O_TMPFILE is used"
        );
        file.file().write_all(b"partial").unwrap();
        assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
        drop(file);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn drop_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut file = AtomicFile::create_with(&target, false, no_unnamed_files).unwrap();
        file.file().write_all(b"partial").unwrap();
        assert_eq!(entries(dir.path()).len(), 1, "the temporary file exists");
        drop(file);
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn a_killed_runs_temporary_file_is_removed_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let exited = std::process::Command::new("true").spawn().unwrap();
        let dead = exited.id();
        let mut exited = exited;
        exited.wait().unwrap();
        let abandoned = format!(".b.zip.{dead}.x7Yz.tmp");
        let running = format!(".b.zip.{}.a1B2.tmp", std::process::id());
        for name in [&abandoned, &running, &".other.zip.1.a.tmp".to_string()] {
            std::fs::write(dir.path().join(name), b"partial").unwrap();
        }
        let file = AtomicFile::create(&target, false).unwrap();
        let mut left = vec![running, ".other.zip.1.a.tmp".to_string()];
        left.sort();
        assert_eq!(entries(dir.path()), left, "only the dead run's file goes");
        drop(file);
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
        for unnamed in [open_unnamed, no_unnamed_files] {
            let mut file = AtomicFile::create_with(&target, true, unnamed).unwrap();
            file.file().write_all(b"new").unwrap();
            file.commit().unwrap();
            assert_eq!(std::fs::read(&target).unwrap(), b"new");
            assert_eq!(entries(dir.path()), ["b.zip"]);
            std::fs::write(&target, b"old").unwrap();
        }
    }

    #[test]
    fn a_file_created_meanwhile_is_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        for unnamed in [open_unnamed, no_unnamed_files] {
            let file = AtomicFile::create_with(&target, false, unnamed).unwrap();
            std::fs::write(&target, b"someone else's").unwrap();
            let err = file.commit().err().unwrap().to_string();
            assert!(err.contains("already exists"), "{err}");
            assert_eq!(std::fs::read(&target).unwrap(), b"someone else's");
            assert_eq!(entries(dir.path()), ["b.zip"]);
            std::fs::remove_file(&target).unwrap();
        }
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
