use super::*;

fn v(text: &str) -> LonghornVersion {
    text.parse().unwrap()
}

fn volume(name: &str, last_backup: &str) -> VolumeFacts {
    VolumeFacts {
        name: name.into(),
        standby: false,
        linked_clone: false,
        backup_target: "default".into(),
        last_backup: last_backup.into(),
    }
}

#[test]
fn which_volumes_longhorn_skips() {
    let dr = VolumeFacts {
        standby: true,
        ..volume("dr", "")
    };
    let clone = VolumeFacts {
        linked_clone: true,
        ..volume("c", "")
    };
    assert!(skipped_by_longhorn(&dr, v("v1.8.1")));
    assert!(!skipped_by_longhorn(&dr, v("v1.7.3")));
    assert!(!skipped_by_longhorn(&clone, v("v1.9.0")));
    assert!(skipped_by_longhorn(&clone, v("v1.10.0")));
    assert!(!skipped_by_longhorn(&volume("a", ""), v("v1.12.0")));
}

#[test]
fn snapshots_per_policy_and_version() {
    let backed = volume("a", "backup-1");
    let fresh = volume("b", "");
    use VolumeBackupPolicy::*;
    assert!(
        takes_snapshot(&backed, IfNotPresent, v("v1.8.1")),
        "v1.8+: snapshot first, check after"
    );
    assert!(!takes_snapshot(&backed, IfNotPresent, v("v1.7.3")));
    assert!(takes_snapshot(&fresh, IfNotPresent, v("v1.7.3")));
    assert!(takes_snapshot(&backed, Always, v("v1.12.0")));
    assert!(!takes_snapshot(&fresh, Disabled, v("v1.12.0")));
}

#[test]
fn objects_carry_longhorns_names_and_labels() {
    let snapshot = snapshot_object("system-backup-0123456789abcdef", "lh", "vol-1");
    assert_eq!(
        snapshot["spec"],
        json!({"volume": "vol-1", "createSnapshot": true})
    );
    assert!(
        snapshot["metadata"].get("labels").is_none(),
        "the webhook labels snapshots"
    );
    let backup = backup_object(
        "system-backup-0123456789abcdef",
        "lh",
        &volume("vol-1", ""),
        v("v1.9.0"),
    );
    assert_eq!(
        backup["metadata"]["labels"],
        json!({"backup-target": "default", "backup-volume": "vol-1"})
    );
    assert_eq!(
        backup["spec"],
        json!({"snapshotName": "system-backup-0123456789abcdef"})
    );
    assert_eq!(backup["metadata"]["name"], "system-backup-0123456789abcdef");
}

fn snap(volume: &str, time: &str, size: i64) -> SnapshotFacts {
    SnapshotFacts {
        volume_label: volume.into(),
        creation_time: time.into(),
        size,
    }
}

#[test]
fn up_to_date_rule() {
    let backups: HashMap<String, String> = [("backup-1".to_string(), "snap-1".to_string())].into();
    let mut snapshots: HashMap<String, SnapshotFacts> = [
        ("snap-1".to_string(), snap("a", "2026-01-01T00:00:00Z", 100)),
        (
            "system-backup-new".to_string(),
            snap("a", "2026-01-02T00:00:00Z", 0),
        ),
        (
            "other-volume".to_string(),
            snap("b", "2026-01-03T00:00:00Z", 5),
        ),
    ]
    .into();
    let a = volume("a", "backup-1");
    assert!(
        is_up_to_date(&a, &backups, &snapshots, v("v1.12.0")).unwrap(),
        "the new snapshot has no data"
    );
    assert!(!is_up_to_date(&volume("a", ""), &backups, &snapshots, v("v1.12.0")).unwrap());
    assert!(!is_up_to_date(&volume("a", "gone"), &backups, &snapshots, v("v1.12.0")).unwrap());
    snapshots.insert(
        "system-backup-new".into(),
        snap("a", "2026-01-02T00:00:00Z", 4096),
    );
    assert!(
        !is_up_to_date(&a, &backups, &snapshots, v("v1.12.0")).unwrap(),
        "new data since"
    );
    // Unparsable last-backup time: error before v1.10, "not up to date" after.
    snapshots.insert("snap-1".into(), snap("a", "", 100));
    assert!(!is_up_to_date(&a, &backups, &snapshots, v("v1.10.0")).unwrap());
    let err = is_up_to_date(&a, &backups, &snapshots, v("v1.9.0"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("parsing time \"\""), "{err}");
    // A missing snapshot of the last backup: not up to date (#10215).
    snapshots.remove("snap-1");
    assert!(!is_up_to_date(&a, &backups, &snapshots, v("v1.8.1")).unwrap());
}
