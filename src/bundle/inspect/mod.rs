//! Reading a bundle back: what it holds, and what Longhorn's restore will make of it
//! (docs/longhorn-behaviour.md, "The bundle"). Restore unzips into `/tmp`, reads
//! `/tmp/<SystemBackup name>/yamls/{apiextensions,kubernetes,longhorn}/*` (not
//! sub-directories), decodes each file with that folder's scheme (an undecodable file
//! fails the restore) and acts on the List kinds it knows (others are ignored); a
//! top-level folder other than the backup's name restores nothing, silently.
//!
//! The zip is never extracted: entries are decompressed in memory and parsed as they
//! stream, under caps on entry count, sizes and compression ratio, and entry names
//! that point outside the archive are refused.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use super::error::{Problem, Result, UnreadableBundle};
use super::layout::{self, Folder};
use archive::{Entry, check_entries, finish_entry, open_capped, read_text};
use list::{ListSummary, parse_items_apart, parse_options, value_text};
pub use restored::{RestoredContents, restored_contents, restored_objects};

mod archive;
mod list;
mod restored;
use crate::longhorn::LonghornVersion;

/// The warning about volumes without a backup, shared by `create --local` and
/// `inspect` so both say it the same way.
pub fn unbacked_warning(names: &[String]) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
    let more = if names.len() > shown.len() {
        format!(", … ({} more)", names.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!(
        "{} volume{} no backup and will be restored empty: {}{more}",
        names.len(),
        if names.len() == 1 { " has" } else { "s have" },
        shown.join(", ")
    ))
}

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

/// The file name Longhorn gives a bundle in the backup target (docs/longhorn-behaviour.md,
/// "The store"); such a file
/// says nothing about the backup's name.
const REMOTE_FILE_NAME: &str = "system-backup";

fn refuse(path: &Path, problem: Problem) -> UnreadableBundle {
    UnreadableBundle::new(path, problem)
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
    let file = File::open(path).map_err(|e| refuse(path, Problem::Open(e)))?;
    let (bytes, sha256) = File::open(path)
        .and_then(super::writer::digest)
        .map_err(|e| refuse(path, Problem::Read(e)))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| refuse(path, Problem::NotAZip(e)))?;
    if archive.len() > limits.max_entries {
        let problem = Problem::TooManyEntries {
            count: archive.len(),
            max: limits.max_entries,
        };
        return Err(refuse(path, problem).into());
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
    if let Some(message) = unbacked_warning(&empty) {
        report.warn(message);
    }
}

#[cfg(test)]
mod tests;
