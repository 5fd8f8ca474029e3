//! What Longhorn's rollout would restore from a bundle: the List files directly in
//! `<backup>/yamls/{apiextensions,kubernetes,longhorn}/`, objects per kind, in the
//! order it restores them (kinds with no file are left out).

use std::collections::BTreeMap;
use std::path::Path;

use std::fs::File;

use serde_json::Value;

use super::archive::{check_entries, read_text};
use super::list::parse_options;
use super::{Limits, Report, Severity, inspect_backup, refuse};
use crate::bundle::error::{Problem, Result, UnreadableBundle};
use crate::bundle::layout::{Folder, RESTORE_ORDER};

/// Objects per kind, in restore order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RestoredContents {
    pub kinds: Vec<(&'static str, usize)>,
}

/// Reads the bundle of SystemBackup `backup` as the rollout does. Refuses, with the
/// first such finding, what would fail the restore (a file that does not decode) or
/// make it restore nothing (no top-level folder named `backup`).
pub fn restored_contents(path: &Path, backup: &str) -> Result<RestoredContents> {
    let report = restorable(path, backup)?;
    let mut counts = BTreeMap::<(Folder, String), usize>::new();
    for file in report.files.iter().filter(|f| f.restored) {
        let folder = file.path.rsplit('/').nth(1).and_then(Folder::from_dir);
        let kind = file.kind.strip_suffix("List").unwrap_or(&file.kind);
        if let Some(folder) = folder {
            *counts.entry((folder, kind.to_string())).or_default() += file.count;
        }
    }
    Ok(RestoredContents {
        kinds: RESTORE_ORDER
            .iter()
            .filter_map(|(folder, kind)| {
                counts
                    .get(&(*folder, kind.to_string()))
                    .map(|count| (*kind, *count))
            })
            .collect(),
    })
}

/// The bundle's inspection, refused with its first error.
fn restorable(path: &Path, backup: &str) -> Result<Report> {
    let report = inspect_backup(path, backup, Limits::default())?;
    if let Some(finding) = report
        .findings
        .iter()
        .find(|f| f.severity == Severity::Error)
    {
        let problem = Problem::NotRestorable(finding.message.clone());
        return Err(UnreadableBundle::new(path, problem).into());
    }
    Ok(report)
}

/// The objects the rollout would restore from the bundle of SystemBackup `backup`, per
/// kind (`Volume`, `Setting`, …), as untyped JSON: the items of the List files that
/// [`restored_contents`] counts, read through the same caps.
pub fn restored_objects(path: &Path, backup: &str) -> Result<BTreeMap<String, Vec<Value>>> {
    let report = restorable(path, backup)?;
    let limits = Limits::default();
    let file = File::open(path).map_err(|e| refuse(path, Problem::Open(e)))?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| refuse(path, Problem::NotAZip(e)))?;
    let entries = check_entries(path, &mut archive, limits)?;
    let mut total = 0u64;
    let mut objects: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for restored in report.files.iter().filter(|f| f.restored) {
        let Some(entry) = entries.iter().find(|e| e.path == restored.path) else {
            continue;
        };
        let text = read_text(path, &mut archive, entry, limits, &mut total)?;
        let list: Value = serde_saphyr::from_str_with_options(&text, parse_options(limits))
            .map_err(|e| {
                let problem = Problem::NotRestorable(format!("{}: {e}", restored.path));
                UnreadableBundle::new(path, problem)
            })?;
        let kind = restored.kind.strip_suffix("List").unwrap_or(&restored.kind);
        let items = match list.get("items") {
            Some(Value::Array(items)) => items.clone(),
            _ => Vec::new(),
        };
        objects.entry(kind.to_string()).or_default().extend(items);
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle(files: &[(&str, &str)]) -> tempfile::NamedTempFile {
        use std::io::Write;
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut zip = zip::ZipWriter::new(file.reopen().unwrap());
        for (name, text) in files {
            if name.ends_with('/') {
                zip.add_directory(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
            } else {
                zip.start_file(*name, zip::write::SimpleFileOptions::default())
                    .unwrap();
                zip.write_all(text.as_bytes()).unwrap();
            }
        }
        zip.finish().unwrap();
        file
    }

    #[test]
    fn a_bundle_is_read_as_the_rollout_reads_it() {
        let file = bundle(&[
            ("nightly/", ""),
            ("nightly/metadata.yaml", "longhornversion: v1.12.0\n"),
            (
                "nightly/yamls/longhorn/volumes.yaml",
                "apiVersion: longhorn.io/v1beta2\nitems:\n- metadata:\n    name: a\n- metadata:\n    name: b\nkind: VolumeList\n",
            ),
            // Longhorn's swap: this file holds the bindings.
            (
                "nightly/yamls/kubernetes/clusterroles.yaml",
                "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBindingList\nitems:\n- {}\n",
            ),
            (
                "nightly/yamls/kubernetes/configmaps.yaml",
                "apiVersion: v1\nkind: ConfigMapList\nitems: []\n",
            ),
            (
                "nightly/yamls/apiextensions/crds.yaml",
                "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinitionList\nitems:\n- {}\n- {}\n",
            ),
            // Sub-directories and unknown kinds are not restored.
            (
                "nightly/yamls/longhorn/old/volumes.yaml",
                "apiVersion: longhorn.io/v1beta2\nkind: VolumeList\nitems:\n- {}\n",
            ),
            (
                "nightly/yamls/longhorn/nodes.yaml",
                "apiVersion: longhorn.io/v1beta2\nkind: NodeList\nitems:\n- {}\n",
            ),
        ]);
        let contents = restored_contents(file.path(), "nightly").unwrap();
        assert_eq!(
            contents.kinds,
            [
                ("CustomResourceDefinition", 2),
                ("ClusterRoleBinding", 1),
                ("ConfigMap", 0),
                ("Volume", 2),
            ]
        );
    }

    #[test]
    fn a_bundle_longhorn_cannot_restore_is_refused() {
        let file = bundle(&[(
            "other/yamls/longhorn/volumes.yaml",
            "kind: VolumeList\nitems: []\n",
        )]);
        let error = restored_contents(file.path(), "nightly")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("top-level folder is other, not \"nightly\""),
            "{error}"
        );
        let file = bundle(&[("nightly/yamls/longhorn/volumes.yaml", "kind: [VolumeList\n")]);
        let error = restored_contents(file.path(), "nightly")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("restore cannot decode it, so the restore fails"),
            "{error}"
        );
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), "not a zip").unwrap();
        let error = restored_contents(file.path(), "nightly")
            .unwrap_err()
            .to_string();
        assert!(error.contains("is not a zip file"), "{error}");
    }
}
