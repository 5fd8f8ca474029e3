//! Reading the zip without extracting it: names, links, encryption and sizes checked
//! from the central directory, and every entry read through a cap (the declared size
//! can lie).

use std::io::{self, Read};
use std::path::Path;

use super::{Limits, refuse};
use crate::bundle::error::{Problem, Result, UnreadableBundle};

#[derive(Debug, Clone)]
pub(super) struct Entry {
    pub(super) index: usize,
    pub(super) path: String,
    pub(super) is_dir: bool,
    pub(super) size: u64,
}

/// Refuses unsafe or repeated names, links, encryption and sizes past the caps, using
/// only the central directory (nothing is decompressed yet).
pub(super) fn check_entries<R: Read + io::Seek>(
    path: &Path,
    archive: &mut zip::ZipArchive<R>,
    limits: Limits,
) -> Result<Vec<Entry>> {
    // The zip crate keeps one entry per name; another reader may take the other copy.
    if archive.has_duplicate_names() {
        return Err(refuse(path, Problem::DuplicateNames).into());
    }
    let mut entries = Vec::with_capacity(archive.len());
    let mut declared_total = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| refuse(path, Problem::Corrupt(e)))?;
        let raw_name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let traverses = entry.enclosed_name().is_none()
            || raw_name.starts_with('/')
            || raw_name.contains(['\\', '\0'])
            || raw_name.split('/').any(|part| part == "..")
            || raw_name.as_bytes().get(1) == Some(&b':');
        if traverses {
            return Err(refuse(path, Problem::Traversal(raw_name)).into());
        }
        if entry.is_symlink() {
            return Err(refuse(path, Problem::Symlink(raw_name)).into());
        }
        if entry.encrypted() {
            return Err(refuse(path, Problem::Encrypted(raw_name)).into());
        }
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        if size > limits.max_entry_bytes
            || (size > limits.ratio_floor && size / compressed > limits.max_ratio)
        {
            return Err(zip_bomb(path, &raw_name).into());
        }
        declared_total = declared_total.saturating_add(size);
        if declared_total > limits.max_total_bytes {
            return Err(zip_bomb(path, &raw_name).into());
        }
        entries.push(Entry {
            index,
            is_dir: entry.is_dir(),
            path: raw_name.trim_end_matches('/').to_string(),
            size,
        });
    }
    Ok(entries)
}

pub(super) fn zip_bomb(path: &Path, entry: &str) -> UnreadableBundle {
    refuse(path, Problem::ZipBomb(entry.to_string()))
}

/// A reader that fails once more than `limit` bytes come out (the declared size can
/// lie) and keeps a running total across entries.
pub(super) struct Capped<'a, R> {
    pub(super) inner: R,
    pub(super) read: u64,
    pub(super) limit: u64,
    pub(super) total: &'a mut u64,
    pub(super) total_limit: u64,
    pub(super) exceeded: bool,
}

impl<R: Read> Read for Capped<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.read += count as u64;
        *self.total += count as u64;
        if self.read > self.limit || *self.total > self.total_limit {
            self.exceeded = true;
            return Err(io::Error::other("entry larger than allowed"));
        }
        Ok(count)
    }
}

pub(super) fn open_capped<'a, R: Read + io::Seek>(
    path: &Path,
    archive: &'a mut zip::ZipArchive<R>,
    entry: &Entry,
    limits: Limits,
    total: &'a mut u64,
) -> Result<Capped<'a, zip::read::ZipFile<'a, R>>> {
    let file = archive.by_index(entry.index).map_err(|source| {
        let entry = entry.path.clone();
        refuse(path, Problem::EntryUnreadable { entry, source })
    })?;
    Ok(Capped {
        inner: file,
        read: 0,
        limit: entry.size.min(limits.max_entry_bytes),
        total,
        total_limit: limits.max_total_bytes,
        exceeded: false,
    })
}

pub(super) fn read_text<R: Read + io::Seek>(
    path: &Path,
    archive: &mut zip::ZipArchive<R>,
    entry: &Entry,
    limits: Limits,
    total: &mut u64,
) -> Result<String> {
    let mut reader = open_capped(path, archive, entry, limits, total)?;
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return Err(if reader.exceeded {
            zip_bomb(path, &entry.path)
        } else {
            let entry = entry.path.clone();
            refuse(path, Problem::EntryCorrupt { entry, source: e })
        }
        .into());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Reads an entry to its end, so the CRC is checked; the caps still apply.
pub(super) fn finish_entry<R: Read>(
    path: &Path,
    entry: &Entry,
    reader: &mut Capped<'_, R>,
) -> Result<()> {
    let drained = io::copy(reader, &mut io::sink());
    if reader.exceeded {
        return Err(zip_bomb(path, &entry.path).into());
    }
    drained.map(drop).map_err(|source| {
        let entry = entry.path.clone();
        refuse(path, Problem::EntryCorrupt { entry, source }).into()
    })
}
