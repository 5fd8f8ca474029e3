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
    assert!(
        errors.iter().any(|e| e.contains(
            "volumes.yaml: VolumeList (longhorn.io/v1beta2) cannot be decoded in yamls/kubernetes/"
        )),
        "{errors:?}"
    );
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

#[test]
fn unbacked_volumes_are_listed_briefly() {
    assert_eq!(unbacked_warning(&[]), None);
    let names: Vec<String> = (0..12).map(|i| format!("v{i}")).collect();
    let text = unbacked_warning(&names).unwrap();
    assert!(text.starts_with("12 volumes have no backup"), "{text}");
    assert!(text.ends_with("v9, … (2 more)"), "{text}");
}
