//! Reading a bundle back: what it holds, and what Longhorn's restore will make of it
//! (longhorn-system-backup.md §3). Restore unzips into `/tmp`, reads
//! `/tmp/<SystemBackup name>/yamls/{apiextensions,kubernetes,longhorn}/*` (not
//! sub-directories), decodes each file with that folder's scheme (an undecodable file
//! fails the restore) and acts on the List kinds it knows (others are ignored); a
//! top-level folder other than the backup's name restores nothing, silently.
//!
//! The zip is never extracted: entries are decompressed in memory and parsed as they
//! stream, under caps on entry count, sizes and compression ratio, and entry names
//! that point outside the archive are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::layout::{self, Folder};
use crate::error::{Error, Result};
use crate::longhorn::LonghornVersion;

/// Caps against hostile archives (zip bombs).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: usize,
    pub max_entry_bytes: u64,
    pub max_total_bytes: u64,
    /// Uncompressed / compressed, checked for entries above `ratio_floor` bytes.
    pub max_ratio: u64,
    pub ratio_floor: u64,
}

impl Default for Limits {
    /// Far above a real bundle (10,000 volumes make about 60 MB of YAML, compressed
    /// 15 to 30 times), far below what would exhaust memory or time.
    fn default() -> Self {
        Limits {
            max_entries: 10_000,
            max_entry_bytes: 1 << 30,
            max_total_bytes: 4 << 30,
            max_ratio: 200,
            ratio_floor: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Restore fails, or restores nothing.
    Error,
    /// Restore works but not as one might expect.
    Warning,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FileReport {
    pub path: String,
    pub api_version: String,
    pub kind: String,
    pub count: usize,
    /// Whether restore acts on this kind in this folder.
    pub restored: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeReport {
    pub name: String,
    pub last_backup: String,
    pub last_backup_at: String,
    pub standby: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub file: PathBuf,
    pub bytes: u64,
    pub sha256: String,
    /// The top-level folder: the SystemBackup name restore must be run with.
    pub name: String,
    /// `metadata.yaml` as written (keys as Longhorn's yaml.v2 spells them).
    pub metadata: BTreeMap<String, String>,
    pub longhorn_version: Option<String>,
    pub files: Vec<FileReport>,
    pub volumes: Vec<VolumeReport>,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    fn error(&mut self, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Error,
            message: message.into(),
        });
    }

    fn warn(&mut self, message: impl Into<String>) {
        self.findings.push(Finding {
            severity: Severity::Warning,
            message: message.into(),
        });
    }
}

/// The file name Longhorn gives a bundle in the backup target (§5.1); such a file
/// says nothing about the backup's name.
const REMOTE_FILE_NAME: &str = "system-backup";

fn refuse(path: &Path, message: impl fmt::Display) -> Error {
    Error::File {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// Reads and lints the bundle at `path`. A file that is not a readable, safe zip is an
/// error; everything restore would trip over is a finding in the report.
pub fn inspect(path: &Path, limits: Limits) -> Result<Report> {
    inspect_as(path, None, limits)
}

/// [`inspect`] for the bundle of SystemBackup `backup` (e.g. downloaded under another
/// file name): restore reads `<backup>/yamls/`, so that is the folder checked.
pub fn inspect_backup(path: &Path, backup: &str, limits: Limits) -> Result<Report> {
    inspect_as(path, Some(backup), limits)
}

fn inspect_as(path: &Path, backup: Option<&str>, limits: Limits) -> Result<Report> {
    let file = File::open(path).map_err(|e| refuse(path, format!("cannot open: {e}")))?;
    let (bytes, sha256) =
        super::digest(path).map_err(|e| refuse(path, format!("cannot read: {e}")))?;
    let mut archive =
        zip::ZipArchive::new(file).map_err(|e| refuse(path, format!("is not a zip file ({e})")))?;
    if archive.len() > limits.max_entries {
        return Err(refuse(
            path,
            format!(
                "has {} entries, more than the {} a bundle could have; refusing to read it",
                archive.len(),
                limits.max_entries
            ),
        ));
    }
    let entries = check_entries(path, &mut archive, limits)?;

    let mut report = Report {
        file: path.to_path_buf(),
        bytes,
        sha256,
        name: String::new(),
        metadata: BTreeMap::new(),
        longhorn_version: None,
        files: Vec::new(),
        volumes: Vec::new(),
        findings: Vec::new(),
    };
    report.name = match backup {
        Some(backup) => backup_folder(backup, &entries, &mut report),
        None => top_level_name(path, &entries, &mut report),
    };
    let name = report.name.clone();
    if name.is_empty() {
        return Ok(report);
    }

    let mut seen_yamls = false;
    let mut total = 0u64;
    for entry in &entries {
        let Some(inner) = entry.path.strip_prefix(&format!("{name}/")) else {
            continue;
        };
        if entry.is_dir {
            continue;
        }
        if inner == "metadata.yaml" {
            let text = read_text(path, &mut archive, entry, limits, &mut total)?;
            read_metadata(&text, &mut report);
            continue;
        }
        let Some(under_yamls) = inner.strip_prefix("yamls/") else {
            report.warn(format!(
                "{}: restore ignores files outside yamls/",
                entry.path
            ));
            continue;
        };
        seen_yamls = true;
        let parts: Vec<&str> = under_yamls.split('/').collect();
        let folder = match parts.as_slice() {
            [folder, _file] => match Folder::from_dir(folder) {
                Some(folder) => folder,
                None => {
                    report.warn(format!(
                        "{}: restore reads only yamls/apiextensions, yamls/kubernetes and yamls/longhorn; this file is ignored",
                        entry.path
                    ));
                    continue;
                }
            },
            [_file] => {
                report.warn(format!(
                    "{}: restore reads only the three folders under yamls/; this file is ignored",
                    entry.path
                ));
                continue;
            }
            _ => {
                report.warn(format!(
                    "{}: restore skips sub-directories; this file is ignored",
                    entry.path
                ));
                continue;
            }
        };
        read_list_file(
            path,
            &mut archive,
            entry,
            folder,
            limits,
            &mut total,
            &mut report,
        )?;
    }
    if !seen_yamls {
        report.error(format!(
            "{name}/yamls/ holds no files: restore would restore nothing"
        ));
    }
    if report.metadata.is_empty() {
        report.warn(format!(
            "{name}/metadata.yaml is missing or empty (Longhorn always writes it; restore does not read it)"
        ));
    }
    lint_expected_files(&mut report);
    lint_volumes(&mut report);
    Ok(report)
}

#[derive(Debug, Clone)]
struct Entry {
    index: usize,
    path: String,
    is_dir: bool,
    size: u64,
}

/// Refuses unsafe names, links, encryption and sizes past the caps, using only the
/// central directory (nothing is decompressed yet).
fn check_entries<R: Read + io::Seek>(
    path: &Path,
    archive: &mut zip::ZipArchive<R>,
    limits: Limits,
) -> Result<Vec<Entry>> {
    let mut entries = Vec::with_capacity(archive.len());
    let mut declared_total = 0u64;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| refuse(path, format!("is a corrupt zip: {e}")))?;
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
            return Err(refuse(
                path,
                format!(
                    "entry {raw_name:?} points outside the archive (path traversal); refusing to read this zip"
                ),
            ));
        }
        if entry.is_symlink() {
            return Err(refuse(
                path,
                format!(
                    "entry {raw_name:?} is a symbolic link; a bundle has none, refusing to read this zip"
                ),
            ));
        }
        if entry.encrypted() {
            return Err(refuse(
                path,
                format!("entry {raw_name:?} is encrypted; a bundle is not"),
            ));
        }
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        if size > limits.max_entry_bytes
            || (size > limits.ratio_floor && size / compressed > limits.max_ratio)
        {
            return Err(zip_bomb(path, &raw_name));
        }
        declared_total = declared_total.saturating_add(size);
        if declared_total > limits.max_total_bytes {
            return Err(zip_bomb(path, &raw_name));
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

fn zip_bomb(path: &Path, entry: &str) -> Error {
    refuse(
        path,
        format!(
            "entry {entry:?} expands far beyond what a bundle holds (a zip bomb?); refusing to read this zip"
        ),
    )
}

/// The top-level folder, checked against the file's name: restore looks for a folder
/// named like the SystemBackup, which a bundle made for upload is named after.
fn top_level_name(path: &Path, entries: &[Entry], report: &mut Report) -> String {
    let mut folders = BTreeSet::new();
    let mut top_files = Vec::new();
    for entry in entries {
        match entry.path.split_once('/') {
            Some((top, _)) => {
                folders.insert(top.to_string());
            }
            None if entry.is_dir => {
                folders.insert(entry.path.clone());
            }
            None => top_files.push(entry.path.clone()),
        }
    }
    for file in &top_files {
        report.warn(format!(
            "{file} lies outside any folder; restore ignores it"
        ));
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    if folders.is_empty() {
        report.error("the zip holds no folder: restore would restore nothing");
        return String::new();
    }
    let name = if stem != REMOTE_FILE_NAME && folders.contains(&stem) {
        stem.clone()
    } else if folders.len() == 1 {
        folders.iter().next().cloned().unwrap_or_default()
    } else {
        report.error(format!(
            "the zip has several top-level folders ({}), none named like the file ({stem}): restore reads only the folder named like the SystemBackup",
            folders.iter().cloned().collect::<Vec<_>>().join(", ")
        ));
        return String::new();
    };
    if stem != REMOTE_FILE_NAME && name != stem {
        // A renamed download is fine; only an upload under the file's name is not.
        report.warn(format!(
            "the top-level folder is {name:?} but the file is {stem}.zip: it restores as SystemBackup {name:?} only; put in a backup target as {stem:?} it would restore nothing, silently"
        ));
    }
    for other in folders.iter().filter(|f| **f != name) {
        report.warn(format!(
            "top-level folder {other:?} is not the backup's ({name:?}); restore ignores it"
        ));
    }
    name
}

/// The folder of SystemBackup `backup`, or an error finding when the zip has none.
fn backup_folder(backup: &str, entries: &[Entry], report: &mut Report) -> String {
    let folders: BTreeSet<&str> = entries
        .iter()
        .filter_map(|e| e.path.split('/').next())
        .collect();
    if folders.contains(backup) {
        return backup.to_string();
    }
    let found: Vec<&str> = folders.into_iter().collect();
    report.error(format!(
        "the bundle's top-level folder is {}, not {backup:?}; Longhorn's restore reads {backup}/yamls/ and would restore nothing while reporting Completed",
        if found.is_empty() { "missing".to_string() } else { found.join(", ") }
    ));
    String::new()
}

/// A reader that fails once more than `limit` bytes come out (the declared size can
/// lie) and keeps a running total across entries.
struct Capped<'a, R> {
    inner: R,
    read: u64,
    limit: u64,
    total: &'a mut u64,
    total_limit: u64,
    exceeded: bool,
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

fn open_capped<'a, R: Read + io::Seek>(
    path: &Path,
    archive: &'a mut zip::ZipArchive<R>,
    entry: &Entry,
    limits: Limits,
    total: &'a mut u64,
) -> Result<Capped<'a, zip::read::ZipFile<'a, R>>> {
    let file = archive
        .by_index(entry.index)
        .map_err(|e| refuse(path, format!("cannot read entry {:?}: {e}", entry.path)))?;
    Ok(Capped {
        inner: file,
        read: 0,
        limit: entry.size.min(limits.max_entry_bytes),
        total,
        total_limit: limits.max_total_bytes,
        exceeded: false,
    })
}

fn read_text<R: Read + io::Seek>(
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
            refuse(path, format!("entry {:?} is corrupt: {e}", entry.path))
        });
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn read_metadata(text: &str, report: &mut Report) {
    match serde_saphyr::from_str::<BTreeMap<String, Value>>(text) {
        Ok(map) => {
            report.metadata = map
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (k, v)
                })
                .collect();
            // yaml.v2 spells the keys in lower case; accept the json-tag spelling too.
            report.longhorn_version = ["longhornversion", "longhornVersion"]
                .iter()
                .find_map(|k| report.metadata.get(*k))
                .filter(|v| !v.is_empty())
                .cloned();
        }
        Err(e) => report.warn(format!(
            "metadata.yaml does not parse ({}); restore does not read it",
            first_line(&e.to_string())
        )),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

/// What a List file holds, read as it streams: its type and, per item, the few
/// fields the report shows.
#[derive(Debug, Default)]
struct ListSummary {
    api_version: Option<String>,
    kind: Option<String>,
    items: Vec<ItemSummary>,
    items_not_a_list: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemSummary {
    metadata: ItemMetadata,
    status: Option<ItemStatus>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ItemMetadata {
    name: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ItemStatus {
    last_backup: Option<Value>,
    last_backup_at: Option<Value>,
    is_standby: Option<Value>,
}

fn value_text(value: &Option<Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

impl<'de> Deserialize<'de> for ListSummary {
    fn deserialize<D: de::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        deserializer.deserialize_map(ListVisitor)
    }
}

struct ListVisitor;

impl<'de> Visitor<'de> for ListVisitor {
    type Value = ListSummary;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes List object")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<ListSummary, A::Error> {
        let mut summary = ListSummary::default();
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "apiVersion" => summary.api_version = map.next_value::<Option<String>>()?,
                "kind" => summary.kind = map.next_value::<Option<String>>()?,
                "items" => match map.next_value_seed(ItemsSeed(&mut summary.items))? {
                    true => {}
                    false => summary.items_not_a_list = true,
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(summary)
    }
}

/// Visits `items` one element at a time, keeping only each item's summary.
struct ItemsSeed<'a>(&'a mut Vec<ItemSummary>);

impl<'de> DeserializeSeed<'de> for ItemsSeed<'_> {
    /// False when `items` is not a sequence (null counts as empty).
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> std::result::Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemsSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a sequence of items")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<bool, A::Error> {
        while let Some(item) = seq.next_element::<ItemSummary>()? {
            self.0.push(item);
        }
        Ok(true)
    }

    fn visit_unit<E: de::Error>(self) -> std::result::Result<bool, E> {
        Ok(true)
    }

    fn visit_none<E: de::Error>(self) -> std::result::Result<bool, E> {
        Ok(true)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<bool, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(false)
    }

    fn visit_str<E: de::Error>(self, _: &str) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> std::result::Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> std::result::Result<bool, E> {
        Ok(false)
    }
}

/// Parser limits for one file: no aliases to speak of (Kubernetes YAML has none), and
/// events and scalar bytes bounded by the entry cap rather than the small defaults.
fn parse_options(limits: Limits) -> serde_saphyr::Options {
    let cap = usize::try_from(limits.max_entry_bytes).unwrap_or(usize::MAX);
    serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(cap),
            max_events: cap,
            max_nodes: cap,
            max_total_scalar_bytes: cap,
            max_aliases: 100,
            max_anchors: 100,
            max_documents: 1000,
        },
    }
}

fn read_list_file<R: Read + io::Seek>(
    path: &Path,
    archive: &mut zip::ZipArchive<R>,
    entry: &Entry,
    folder: Folder,
    limits: Limits,
    total: &mut u64,
    report: &mut Report,
) -> Result<()> {
    // Fast path: a file shaped as sigs.k8s.io/yaml writes it, one item at a time.
    // Anything unusual (or any error) is decided by parsing the whole stream.
    let before = *total;
    let chunked = {
        let mut reader = open_capped(path, archive, entry, limits, total)?;
        let parsed = parse_items_apart(&mut io::BufReader::new(&mut reader), limits);
        finish_entry(path, entry, &mut reader)?;
        parsed
    };
    let (documents, first) = match chunked {
        Some(summary) => (1, Some(Ok(summary))),
        None => {
            *total = before;
            let mut reader = open_capped(path, archive, entry, limits, total)?;
            let mut documents = 0usize;
            let mut first: Option<std::result::Result<ListSummary, String>> = None;
            {
                let parsed = serde_saphyr::read_with_options::<_, ListSummary>(
                    &mut reader,
                    parse_options(limits),
                );
                for document in parsed {
                    documents += 1;
                    if first.is_none() {
                        first = Some(document.map_err(|e| first_line(&e.to_string()).to_string()));
                    }
                }
            }
            finish_entry(path, entry, &mut reader)?;
            (documents, first)
        }
    };
    let file = entry.path.clone();
    let summary = match first {
        None => {
            report.warn(format!("{file}: empty; restore skips it"));
            return Ok(());
        }
        Some(Err(message)) => {
            report.error(format!(
                "{file}: restore cannot decode it, so the restore fails: {message}"
            ));
            return Ok(());
        }
        Some(Ok(summary)) => summary,
    };
    if documents > 1 {
        report.warn(format!(
            "{file}: holds {documents} YAML documents; restore reads only the first"
        ));
    }
    let (Some(api_version), Some(kind)) = (summary.api_version.clone(), summary.kind.clone())
    else {
        report.error(format!(
            "{file}: no apiVersion or kind, so restore cannot decode it and fails"
        ));
        return Ok(());
    };
    if !layout::folder_decodes(folder, &api_version) {
        report.error(format!(
            "{file}: {kind} ({api_version}) cannot be decoded in yamls/{}/, so restore fails; move it to the folder of its API group",
            folder.dir()
        ));
        return Ok(());
    }
    if summary.items_not_a_list {
        report.error(format!("{file}: items is not a list, so restore fails"));
        return Ok(());
    }
    let restored = layout::restored_list_kinds(folder).contains(&kind.as_str());
    if !restored {
        report.warn(format!("{file}: restore ignores {kind}"));
    }
    if kind == layout::VOLUMES.list_kind() && folder == Folder::Longhorn {
        report.volumes.extend(summary.items.iter().map(|item| {
            VolumeReport {
                name: value_text(&item.metadata.name),
                last_backup: item
                    .status
                    .as_ref()
                    .map(|s| value_text(&s.last_backup))
                    .unwrap_or_default(),
                last_backup_at: item
                    .status
                    .as_ref()
                    .map(|s| value_text(&s.last_backup_at))
                    .unwrap_or_default(),
                standby: item
                    .status
                    .as_ref()
                    .and_then(|s| s.is_standby.as_ref())
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
            }
        }));
    }
    report.files.push(FileReport {
        path: file,
        api_version,
        kind,
        count: summary.items.len(),
        restored,
    });
    Ok(())
}

/// Reads an entry to its end, so the CRC is checked; the caps still apply.
fn finish_entry<R: Read>(path: &Path, entry: &Entry, reader: &mut Capped<'_, R>) -> Result<()> {
    let drained = io::copy(reader, &mut io::sink());
    if reader.exceeded {
        return Err(zip_bomb(path, &entry.path));
    }
    drained
        .map(drop)
        .map_err(|e| refuse(path, format!("entry {:?} is corrupt: {e}", entry.path)))
}

/// A List file in the shape `sigs.k8s.io/yaml` (and `--local`) write — top-level keys
/// at column 0, `items:` alone on its line, each item starting with `- ` at column 0 —
/// read one item at a time: each item is parsed from memory on its own (several times
/// faster than parsing the stream as one document, and memory bounded by an item).
/// `None` when the file has another shape, or anything fails to parse: the caller
/// then parses the whole stream, which decides.
fn parse_items_apart(reader: &mut impl io::BufRead, limits: Limits) -> Option<ListSummary> {
    let mut outside = String::new();
    let mut items = Vec::new();
    let mut item = String::new();
    let mut in_items = false;
    let mut line = String::new();
    let flush = |item: &mut String, items: &mut Vec<ItemSummary>| -> Option<()> {
        if item.is_empty() {
            return Some(());
        }
        let mut parsed: Vec<ItemSummary> =
            serde_saphyr::from_str_with_options(item, parse_options(limits)).ok()?;
        item.clear();
        (parsed.len() == 1).then(|| items.push(parsed.remove(0)))
    };
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 {
            break;
        }
        let column0 = !line.starts_with([' ', '\n', '\r', '#']);
        if line.starts_with("---") || line.starts_with("...") || line.starts_with('%') {
            return None;
        }
        if in_items {
            if line.starts_with("- ") || line.trim_end() == "-" {
                flush(&mut item, &mut items)?;
                item.push_str(&line);
                continue;
            }
            if !column0 {
                if item.is_empty() && !line.trim().is_empty() {
                    return None; // an indented sequence: not this shape
                }
                item.push_str(&line);
                continue;
            }
            flush(&mut item, &mut items)?;
            in_items = false;
        }
        if line.trim_end() == "items:" {
            in_items = true;
        }
        outside.push_str(&line);
    }
    flush(&mut item, &mut items)?;
    let mut summary: ListSummary =
        serde_saphyr::from_str_with_options(&outside, parse_options(limits)).ok()?;
    if !summary.items.is_empty() || summary.items_not_a_list {
        return None;
    }
    summary.items = items;
    Some(summary)
}

/// Files Longhorn writes for the bundle's version that are missing.
fn lint_expected_files(report: &mut Report) {
    let version = report
        .longhorn_version
        .as_deref()
        .and_then(|v| v.parse::<LonghornVersion>().ok());
    let Some(kinds) = version.and_then(|v| layout::kinds(v).ok()) else {
        return;
    };
    let present: BTreeSet<(String, String)> = report
        .files
        .iter()
        .filter_map(|f| {
            let folder = f.path.split('/').rev().nth(1)?.to_string();
            Some((folder, f.kind.clone()))
        })
        .collect();
    for kind in kinds {
        if !present.contains(&(kind.folder.dir().to_string(), kind.list_kind())) {
            report.warn(format!(
                "no {} in yamls/{}/ (Longhorn {} writes {}): restore restores none",
                kind.list_kind(),
                kind.folder.dir(),
                report.longhorn_version.clone().unwrap_or_default(),
                kind.path()
            ));
        }
    }
}

/// Volumes without a last backup restore as new, empty volumes.
fn lint_volumes(report: &mut Report) {
    let empty: Vec<String> = report
        .volumes
        .iter()
        .filter(|v| v.last_backup.is_empty() && !v.standby)
        .map(|v| v.name.clone())
        .collect();
    if let Some(message) = super::summary::unbacked_warning(&empty) {
        report.warn(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use zip::write::SimpleFileOptions;

    fn make_zip(path: &Path, entries: &[(&str, &str)]) {
        let mut zip = zip::ZipWriter::new(File::create(path).unwrap());
        for (name, content) in entries {
            if name.ends_with('/') {
                zip.add_directory(*name, SimpleFileOptions::default())
                    .unwrap();
            } else {
                zip.start_file(*name, SimpleFileOptions::default()).unwrap();
                zip.write_all(content.as_bytes()).unwrap();
            }
        }
        zip.finish().unwrap();
    }

    const VOLUMES: &str = "apiVersion: longhorn.io/v1beta2\nitems:\n- apiVersion: longhorn.io/v1beta2\n  kind: Volume\n  metadata:\n    name: vol-a\n    managedFields: [{}]\n  status:\n    lastBackup: backup-1\n    lastBackupAt: \"2026-01-01T00:00:00Z\"\n- metadata:\n    name: vol-b\n  status:\n    lastBackup: \"\"\nkind: VolumeList\nmetadata:\n  resourceVersion: \"7\"\n";

    fn inspect_entries(file: &str, entries: &[(&str, &str)]) -> Report {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(file);
        make_zip(&path, entries);
        inspect(&path, Limits::default()).unwrap()
    }

    fn messages(report: &Report, severity: Severity) -> Vec<String> {
        report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(|f| f.message.clone())
            .collect()
    }

    #[test]
    fn summarises_kinds_volumes_and_backups() {
        let report = inspect_entries(
            "demo.zip",
            &[
                ("demo/", ""),
                (
                    "demo/metadata.yaml",
                    "longhornversion: v1.9.0\nlonghorngitcommit: \"\"\nsystembackupcreatedat: \"0001-01-01T00:00:00Z\"\n",
                ),
                ("demo/yamls/longhorn/volumes.yaml", VOLUMES),
                (
                    "demo/yamls/kubernetes/services.yaml",
                    "apiVersion: v1\nitems: []\nkind: ServiceList\nmetadata: {}\n",
                ),
            ],
        );
        assert_eq!(report.name, "demo");
        assert_eq!(report.longhorn_version.as_deref(), Some("v1.9.0"));
        assert_eq!(report.files.len(), 2);
        assert_eq!(
            (report.files[0].kind.as_str(), report.files[0].count),
            ("VolumeList", 2)
        );
        assert_eq!(report.volumes[0].last_backup, "backup-1");
        assert_eq!(report.volumes[0].last_backup_at, "2026-01-01T00:00:00Z");
        let warnings = messages(&report, Severity::Warning);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("1 volume has no backup") && w.contains("vol-b")),
            "{warnings:?}"
        );
        assert!(
            warnings.iter().any(|w| w.contains("no SettingList")),
            "{warnings:?}"
        );
        assert!(!report.has_errors(), "{:?}", report.findings);
        assert_eq!(report.sha256.len(), 64);
    }

    #[test]
    fn a_folder_not_named_like_the_file_is_a_warning() {
        // A renamed download: it restores under its folder's name, and only that.
        let report = inspect_entries(
            "nightly.zip",
            &[("other/yamls/longhorn/volumes.yaml", VOLUMES)],
        );
        assert_eq!(report.name, "other");
        assert!(!report.has_errors(), "{:?}", report.findings);
        let warnings = messages(&report, Severity::Warning);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("\"other\" only") && w.contains("restore nothing")),
            "{warnings:?}"
        );
        // A file as the backup target names it says nothing about the name.
        let report = inspect_entries(
            "system-backup.zip",
            &[("other/yamls/longhorn/volumes.yaml", VOLUMES)],
        );
        assert_eq!(report.name, "other");
        assert!(!report.has_errors(), "{:?}", report.findings);
    }

    #[test]
    fn kinds_restore_cannot_decode_or_ignores() {
        let report = inspect_entries(
            "b.zip",
            &[
                ("b/yamls/kubernetes/volumes.yaml", VOLUMES),
                (
                    "b/yamls/kubernetes/pods.yaml",
                    "apiVersion: v1\nitems: []\nkind: PodList\n",
                ),
                ("b/yamls/longhorn/broken.yaml", "apiVersion: [\n"),
                ("b/yamls/longhorn/sub/volumes.yaml", VOLUMES),
                ("b/notes.txt", "x"),
            ],
        );
        let errors = messages(&report, Severity::Error);
        assert!(errors.iter().any(|e| e.contains("volumes.yaml: VolumeList (longhorn.io/v1beta2) cannot be decoded in yamls/kubernetes/")), "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.contains("broken.yaml: restore cannot decode it")),
            "{errors:?}"
        );
        let warnings = messages(&report, Severity::Warning);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("pods.yaml: restore ignores PodList")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("sub/volumes.yaml: restore skips sub-directories")),
            "{warnings:?}"
        );
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("notes.txt: restore ignores files outside yamls/")),
            "{warnings:?}"
        );
    }

    fn apart(text: &str) -> Option<ListSummary> {
        parse_items_apart(&mut io::Cursor::new(text.as_bytes()), Limits::default())
    }

    #[test]
    fn items_are_parsed_apart_when_shaped_like_sigs_yaml() {
        let summary = apart(VOLUMES).expect("the usual shape");
        assert_eq!(summary.kind.as_deref(), Some("VolumeList"));
        assert_eq!(summary.items.len(), 2);
        assert_eq!(value_text(&summary.items[0].metadata.name), "vol-a");
        let status = summary.items[0].status.as_ref().unwrap();
        assert_eq!(value_text(&status.last_backup), "backup-1");
        let whole: ListSummary = serde_saphyr::from_str(VOLUMES).unwrap();
        assert_eq!(whole.items.len(), summary.items.len());
        let empty = apart("apiVersion: v1\nitems: []\nkind: ServiceList\n").unwrap();
        assert!(empty.items.is_empty() && !empty.items_not_a_list);
    }

    #[test]
    fn other_shapes_are_left_to_the_whole_parse() {
        // Indented sequence, anchors across items, several documents, flow style.
        for text in [
            "apiVersion: v1\nitems:\n  - metadata: {name: a}\nkind: ServiceList\n",
            "apiVersion: v1\nitems:\n- metadata: &m {name: a}\n- metadata: *m\nkind: ServiceList\n",
            "apiVersion: v1\nitems: []\nkind: ServiceList\n---\nkind: PodList\n",
            "{apiVersion: v1, items: [{metadata: {name: a}}], kind: ServiceList}\n",
        ] {
            assert!(apart(text).is_none(), "{text}");
        }
        let report = inspect_entries(
            "b.zip",
            &[
                (
                    "b/yamls/kubernetes/services.yaml",
                    "apiVersion: v1\nitems:\n- metadata: &m {name: a}\n- metadata: *m\nkind: ServiceList\n",
                ),
                (
                    "b/yamls/kubernetes/pods.yaml",
                    "apiVersion: v1\nitems:\n  - metadata: {name: a}\nkind: PodList\n---\nkind: x\n",
                ),
            ],
        );
        let counts: Vec<(String, usize)> = report
            .files
            .iter()
            .map(|f| (f.kind.clone(), f.count))
            .collect();
        assert!(
            counts.contains(&("ServiceList".to_string(), 2)),
            "{counts:?}"
        );
        assert!(counts.contains(&("PodList".to_string(), 1)), "{counts:?}");
        let warnings = messages(&report, Severity::Warning);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("holds 2 YAML documents")),
            "{warnings:?}"
        );
    }

    #[test]
    fn refuses_what_is_not_a_safe_zip() {
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text.zip");
        std::fs::write(&text, "hello").unwrap();
        let err = inspect(&text, Limits::default()).unwrap_err().to_string();
        assert!(err.contains("is not a zip file"), "{err}");

        let traversal = dir.path().join("evil.zip");
        make_zip(&traversal, &[("evil/../../etc/passwd", "x")]);
        let err = inspect(&traversal, Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("path traversal"), "{err}");
        let absolute = dir.path().join("abs.zip");
        make_zip(&absolute, &[("/etc/passwd", "x")]);
        let err = inspect(&absolute, Limits::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("path traversal"), "{err}");

        let bomb = dir.path().join("bomb.zip");
        let zeros = "0".repeat(4 << 20);
        make_zip(&bomb, &[("bomb/yamls/longhorn/volumes.yaml", &zeros)]);
        let err = inspect(&bomb, Limits::default()).unwrap_err().to_string();
        assert!(err.contains("zip bomb"), "{err}");
        let small = Limits {
            max_entry_bytes: 1000,
            ..Limits::default()
        };
        let err = inspect(&bomb, small).unwrap_err().to_string();
        assert!(err.contains("zip bomb"), "{err}");

        // A header that lies about the size: the stream is cut at the declared size.
        let liar = dir.path().join("liar.zip");
        make_zip(&liar, &[("liar/yamls/longhorn/volumes.yaml", &zeros)]);
        let mut bytes = std::fs::read(&liar).unwrap();
        patch_sizes(&mut bytes, 100);
        std::fs::write(&liar, &bytes).unwrap();
        let err = inspect(&liar, Limits::default()).unwrap_err().to_string();
        assert!(err.contains("zip bomb") || err.contains("corrupt"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            5,
            "nothing was extracted"
        );
    }

    /// Sets the uncompressed size in every local and central header.
    fn patch_sizes(bytes: &mut [u8], size: u32) {
        for i in 0..bytes.len().saturating_sub(30) {
            let offset = match &bytes[i..i + 4] {
                [0x50, 0x4b, 0x03, 0x04] => 22,
                [0x50, 0x4b, 0x01, 0x02] => 24,
                _ => continue,
            };
            bytes[i + offset..i + offset + 4].copy_from_slice(&size.to_le_bytes());
        }
    }
}
