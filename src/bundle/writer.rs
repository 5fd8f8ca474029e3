//! Writing the zip (docs/longhorn-behaviour.md, "The bundle"). Each kind's file is
//! compressed on its own, item by item, into a one-entry zip in an anonymous temporary
//! file (unlinked at creation, so nothing is ever left behind); the kinds can thus be
//! listed and compressed concurrently with memory bounded by pages. The bundle is then
//! assembled by copying those compressed entries, with the directory entries `zip -r`
//! writes, into the output file.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;
use sha2::{Digest, Sha256};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::error::{Error, Result};
use crate::output::file::write_error;
use crate::output::yaml::{self, ListDocument};

/// `zip -r`'s default deflate level.
const LEVEL: i64 = 6;
const BUFFER: usize = 256 * 1024;

/// Options of every entry: deflate, `rw-r--r--` (as `zip -r` records a file written
/// with Longhorn's umask), stamped now.
fn file_options(time: zip::DateTime) -> SimpleFileOptions {
    SimpleFileOptions::default()
        .compression_method(CompressionMethod::Deflated)
        .compression_level(Some(LEVEL))
        .unix_permissions(0o644)
        .last_modified_time(time)
}

/// The current local time as zip records it (DOS time has no zone; `zip` uses local).
pub fn zip_time_now() -> zip::DateTime {
    let now = jiff::Zoned::now();
    zip::DateTime::from_date_and_time(
        now.year().clamp(1980, 2107) as u16,
        now.month() as u8,
        now.day() as u8,
        now.hour() as u8,
        now.minute() as u8,
        now.second() as u8,
    )
    .unwrap_or_default()
}

fn zip_error(target: &Path, error: zip::result::ZipError) -> Error {
    match error {
        zip::result::ZipError::Io(io) => write_error(target, io).into(),
        source => Error::Zip {
            path: target.to_path_buf(),
            source,
        },
    }
}

/// A writer that can be switched off: afterwards it accepts and discards everything,
/// keeping a consistent position so `zip`'s bookkeeping still adds up. It switches
/// itself off at the first error, so `zip`'s own retry (its drop finalises again after
/// a failed finish) neither fails nor prints a second time.
struct Gate<W> {
    inner: W,
    open: Arc<AtomicBool>,
    position: u64,
    length: u64,
}

impl<W> Gate<W> {
    fn new(inner: W, open: Arc<AtomicBool>) -> Self {
        Gate {
            inner,
            open,
            position: 0,
            length: 0,
        }
    }

    fn is_open(&self) -> bool {
        self.open.load(Ordering::Relaxed)
    }

    fn close_on_error<T>(&self, result: io::Result<T>) -> io::Result<T> {
        if result.is_err() {
            self.open.store(false, Ordering::Relaxed);
        }
        result
    }

    fn advance(&mut self, count: usize) {
        self.position += count as u64;
        self.length = self.length.max(self.position);
    }
}

impl<W: Write> Write for Gate<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let count = if self.is_open() {
            let written = self.inner.write(buffer);
            self.close_on_error(written)?
        } else {
            buffer.len()
        };
        self.advance(count);
        Ok(count)
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.is_open() {
            let flushed = self.inner.flush();
            self.close_on_error(flushed)?;
        }
        Ok(())
    }
}

impl<W: Seek> Seek for Gate<W> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        if self.is_open() {
            let sought = self.inner.seek(to);
            self.position = self.close_on_error(sought)?;
        } else {
            let base = match to {
                SeekFrom::Start(offset) => return Ok(self.set_position(offset)),
                SeekFrom::Current(delta) => self.position.checked_add_signed(delta),
                SeekFrom::End(delta) => self.length.checked_add_signed(delta),
            };
            let position = base.ok_or_else(|| io::Error::other("seek out of range"))?;
            self.set_position(position);
        }
        self.length = self.length.max(self.position);
        Ok(self.position)
    }
}

impl<W> Gate<W> {
    fn set_position(&mut self, position: u64) -> u64 {
        self.position = position;
        self.length = self.length.max(position);
        position
    }
}

/// A `ZipWriter` on a file. `zip`'s writer finalises the archive when dropped (and
/// prints to stderr if that fails); an unfinished `Zip` is being abandoned (an error,
/// Ctrl-C), so its drop switches the file off first and the finalising goes nowhere.
struct Zip {
    writer: Option<ZipWriter<Gate<BufWriter<File>>>>,
    open: Arc<AtomicBool>,
    target: PathBuf,
}

impl Zip {
    fn new(file: File, target: &Path) -> Self {
        let open = Arc::new(AtomicBool::new(true));
        let gate = Gate::new(BufWriter::with_capacity(BUFFER, file), open.clone());
        Zip {
            writer: Some(ZipWriter::new(gate)),
            open,
            target: target.to_path_buf(),
        }
    }

    fn writer(&mut self) -> Result<&mut ZipWriter<Gate<BufWriter<File>>>> {
        self.writer.as_mut().ok_or(Error::ZipFinished)
    }

    fn start_file(&mut self, path: &str, options: SimpleFileOptions) -> Result<()> {
        let target = self.target.clone();
        self.writer()?
            .start_file(path, options)
            .map_err(|e| zip_error(&target, e))
    }

    fn write_all(&mut self, bytes: &[u8]) -> Result<()> {
        let target = self.target.clone();
        self.writer()?
            .write_all(bytes)
            .map_err(|e| write_error(&target, e).into())
    }

    /// Writes the central directory and returns the file, flushed.
    fn finish(mut self) -> Result<File> {
        let target = self.target.clone();
        let writer = self.writer.take().ok_or(Error::ZipFinished)?;
        let gate = writer.finish().map_err(|e| zip_error(&target, e))?;
        gate.inner
            .into_inner()
            .map_err(|e| write_error(&target, e.into_error()).into())
    }
}

impl Drop for Zip {
    fn drop(&mut self) {
        self.open.store(false, Ordering::Relaxed);
    }
}

/// One file of the bundle being written: a typed `…List` whose items are appended one
/// at a time, in the YAML kubectl and longhorn-manager write ([`ListDocument`]).
pub struct ListWriter {
    zip: Zip,
    list: ListDocument,
}

impl ListWriter {
    /// Starts entry `path` (inside the zip) in an anonymous temporary file in `dir`;
    /// `target` names the bundle in error messages.
    pub fn start(dir: &Path, target: &Path, path: &str, api_version: &str) -> Result<Self> {
        let spool = tempfile::tempfile_in(dir).map_err(|e| write_error(target, e))?;
        let mut zip = Zip::new(spool, target);
        zip.start_file(path, file_options(zip_time_now()))?;
        Ok(ListWriter {
            zip,
            list: ListDocument::new(api_version),
        })
    }

    /// Appends one item (an element of `items`).
    pub fn item(&mut self, item: &Value) -> Result<()> {
        self.list.item(item);
        let bytes = self.list.take();
        self.zip.write_all(&bytes)
    }

    /// Ends the list with its `kind` and `metadata` (the LIST's resourceVersion, as
    /// Longhorn keeps it) and returns the compressed entry.
    pub fn finish(mut self, list_kind: &str, resource_version: Option<&str>) -> Result<Spool> {
        let mut metadata = serde_json::Map::new();
        if let Some(rv) = resource_version.filter(|rv| !rv.is_empty()) {
            metadata.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        self.list.finish(list_kind, &Value::Object(metadata));
        let bytes = self.list.take();
        self.zip.write_all(&bytes)?;
        let count = self.list.count();
        let target = self.zip.target.clone();
        let mut file = self.zip.finish()?;
        file.rewind().map_err(|e| write_error(&target, e))?;
        Ok(Spool { file, count })
    }
}

/// A finished, compressed bundle file waiting to be copied into the bundle.
pub struct Spool {
    file: File,
    pub count: usize,
}

/// `metadata.yaml`, as longhorn-manager writes it with gopkg.in/yaml.v2: the keys are
/// the lower-cased Go field names (yaml.v2 ignores the `json` tags), in struct order
/// (longhorn/longhorn-manager:controller/system_backup_controller.go `systemBackupMeta`).
/// Restore never reads it.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub longhornversion: String,
    pub longhorngitcommit: String,
    pub kubernetesversion: String,
    pub longhornnamespaceuuid: String,
    /// The SystemBackup's `status.createdAt`, still zero when Longhorn generates.
    pub systembackupcreatedat: String,
    pub managerimage: String,
}

impl Metadata {
    /// The file's text: the fields in struct order, in yaml.v2's styles.
    pub fn to_yaml(&self) -> String {
        yaml::fields_in_order(&[
            ("longhornversion", &self.longhornversion),
            ("longhorngitcommit", &self.longhorngitcommit),
            ("kubernetesversion", &self.kubernetesversion),
            ("longhornnamespaceuuid", &self.longhornnamespaceuuid),
            ("systembackupcreatedat", &self.systembackupcreatedat),
            ("managerimage", &self.managerimage),
        ])
    }
}

/// Go's zero `metav1.Time` as yaml.v2 prints it.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// The bundle itself: a zip whose single top-level folder is the backup's name.
pub struct BundleWriter {
    zip: Zip,
    name: String,
    time: zip::DateTime,
    directories: Vec<String>,
}

impl BundleWriter {
    /// Writes into `file` (the output's temporary file); `target` is for messages.
    pub fn new(file: File, target: &Path, name: &str) -> Result<Self> {
        let mut writer = BundleWriter {
            zip: Zip::new(file, target),
            name: name.to_string(),
            time: zip_time_now(),
            directories: Vec::new(),
        };
        writer.directory("")?;
        Ok(writer)
    }

    /// A directory entry (`NAME/…/`) once, as `zip -r` writes one before its files.
    fn directory(&mut self, relative: &str) -> Result<()> {
        let path = if relative.is_empty() {
            format!("{}/", self.name)
        } else {
            format!("{}/{relative}/", self.name)
        };
        if self.directories.contains(&path) {
            return Ok(());
        }
        let options = file_options(self.time)
            .compression_method(CompressionMethod::Stored)
            .unix_permissions(0o755);
        let target = self.zip.target.clone();
        self.zip
            .writer()?
            .add_directory(path.as_str(), options)
            .map_err(|e| zip_error(&target, e))?;
        self.directories.push(path);
        Ok(())
    }

    /// The directories leading to `relative` (a file path under the top-level folder).
    fn parents(&mut self, relative: &str) -> Result<()> {
        let parts: Vec<&str> = relative.split('/').collect();
        for depth in 1..parts.len() {
            self.directory(&parts[..depth].join("/"))?;
        }
        Ok(())
    }

    pub fn metadata(&mut self, metadata: &Metadata) -> Result<()> {
        let text = metadata.to_yaml();
        let path = entry_path(&self.name, "metadata.yaml");
        self.zip.start_file(&path, file_options(self.time))?;
        self.zip.write_all(text.as_bytes())
    }

    /// Copies a compressed file in (at `relative`, e.g. `yamls/longhorn/volumes.yaml`).
    pub fn add(&mut self, relative: &str, spool: Spool) -> Result<()> {
        self.parents(relative)?;
        let target = self.zip.target.clone();
        let archive = ZipArchive::new(spool.file).map_err(|e| zip_error(&target, e))?;
        self.zip
            .writer()?
            .merge_archive(archive)
            .map_err(|e| zip_error(&target, e))
    }

    /// Writes the central directory and flushes.
    pub fn finish(self) -> Result<()> {
        self.zip.finish().map(drop)
    }
}

/// Size and SHA-256 (hex) of what `file` reads; Longhorn's cfg checksum is SHA-256.
pub fn digest(mut file: impl io::Read) -> io::Result<(u64, String)> {
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; BUFFER];
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

/// The path of a bundle file inside the zip.
pub fn entry_path(name: &str, relative: &str) -> String {
    format!("{name}/{relative}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::io::Read;

    fn read_entries(file: &Path) -> Vec<(String, String)> {
        let mut archive = ZipArchive::new(File::open(file).unwrap()).unwrap();
        (0..archive.len())
            .map(|i| {
                let mut entry = archive.by_index(i).unwrap();
                let mut text = String::new();
                entry.read_to_string(&mut text).unwrap();
                (entry.name().unwrap().into_owned(), text)
            })
            .collect()
    }

    #[test]
    fn a_list_streams_into_a_typed_list_document() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut list = ListWriter::start(
            dir.path(),
            &target,
            "b/yamls/kubernetes/services.yaml",
            "v1",
        )
        .unwrap();
        list.item(&json!({"metadata": {"name": "a", "labels": {"on": "yes"}}, "spec": {"ports": [{"port": 9500}]}}))
            .unwrap();
        list.item(&json!({"metadata": {"name": "b"}})).unwrap();
        let spool = list.finish("ServiceList", Some("42")).unwrap();
        assert_eq!(spool.count, 2);

        let mut bundle = BundleWriter::new(File::create(&target).unwrap(), &target, "b").unwrap();
        bundle.add("yamls/kubernetes/services.yaml", spool).unwrap();
        bundle.finish().unwrap();
        let entries = read_entries(&target);
        let names: Vec<&str> = entries.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "b/",
                "b/yamls/",
                "b/yamls/kubernetes/",
                "b/yamls/kubernetes/services.yaml"
            ]
        );
        let text = &entries[3].1;
        assert_eq!(
            text,
            "apiVersion: v1\nitems:\n- metadata:\n    labels:\n      \"on\": \"yes\"\n    name: a\n  spec:\n    ports:\n    - port: 9500\n- metadata:\n    name: b\nkind: ServiceList\nmetadata:\n  resourceVersion: \"42\"\n"
        );
        // What restore decodes: the same JSON.
        let parsed: Value = serde_saphyr::from_str(text).unwrap();
        assert_eq!(parsed["items"][0]["metadata"]["labels"]["on"], "yes");
        assert_eq!(parsed["metadata"]["resourceVersion"], "42");
    }

    #[test]
    fn an_empty_list_has_empty_items() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let list = ListWriter::start(dir.path(), &target, "x.yaml", "longhorn.io/v1beta2").unwrap();
        let mut spool = list.finish("VolumeList", None).unwrap();
        let mut archive = ZipArchive::new(&mut spool.file).unwrap();
        let mut text = String::new();
        archive
            .by_index(0)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert_eq!(
            text,
            "apiVersion: longhorn.io/v1beta2\nitems: []\nkind: VolumeList\nmetadata: {}\n"
        );
    }

    #[test]
    fn metadata_uses_yaml_v2_field_names() {
        let text = Metadata {
            longhornversion: "v1.9.0".into(),
            longhorngitcommit: String::new(),
            kubernetesversion: "v1.33.13".into(),
            longhornnamespaceuuid: "7c0c3c2e-0000-4000-8000-000000000000".into(),
            systembackupcreatedat: ZERO_TIME.into(),
            managerimage: "longhornio/longhorn-manager:v1.9.0".into(),
        }
        .to_yaml();
        assert_eq!(
            text,
            "longhornversion: v1.9.0\nlonghorngitcommit: \"\"\nkubernetesversion: v1.33.13\nlonghornnamespaceuuid: 7c0c3c2e-0000-4000-8000-000000000000\nsystembackupcreatedat: \"0001-01-01T00:00:00Z\"\nmanagerimage: longhornio/longhorn-manager:v1.9.0\n"
        );
    }

    /// Strings YAML 1.1 (restore's go-yaml v2) would read as something else are quoted,
    /// and everything reads back as written.
    #[test]
    fn strings_yaml_1_1_would_misread_are_quoted() {
        let tricky = [
            "on",
            "off",
            "y",
            "n",
            "yes",
            "No",
            "1_000",
            "1:20",
            "012",
            "0x1F",
            "1e3",
            "2001-12-14",
            "~",
            "null",
            "",
            " x",
            "a: b",
            "a #b",
            "a\u{85}b",
        ];
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("b.zip");
        let mut list = ListWriter::start(dir.path(), &target, "x.yaml", "v1").unwrap();
        list.item(&json!({"a": tricky})).unwrap();
        let mut spool = list.finish("ConfigMapList", None).unwrap();
        let mut archive = ZipArchive::new(&mut spool.file).unwrap();
        let mut text = String::new();
        archive
            .by_index(0)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        for line in text.lines().filter(|l| l.starts_with("  - ")) {
            let scalar = line.trim_start_matches("  - ");
            assert!(scalar.starts_with(['"', '\'']), "unquoted: {line}");
        }
        let back: Value = serde_saphyr::from_str(&text).unwrap();
        assert_eq!(back["items"][0]["a"], json!(tricky));
    }

    #[test]
    fn digest_is_sha256() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"abc").unwrap();
        let (bytes, sha) = digest(File::open(&path).unwrap()).unwrap();
        assert_eq!(bytes, 3);
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
