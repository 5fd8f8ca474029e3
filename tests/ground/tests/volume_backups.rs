//! The volume backup policy of SystemBackups run by longhorn-manager's own controller
//! (the simulator plays the engines that complete the Snapshots and Backups).

use std::time::Duration;

use kube::api::{ListParams, PostParams};
use longhorn_ground::objects::system_backup;
use longhorn_ground::{Ground, Kind};

const WAIT: Duration = Duration::from_secs(60);

#[tokio::test]
async fn policy_always_backs_up_every_volume_and_records_last_backup() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    let client = longhorn.client().await.unwrap();
    let api = Kind::SystemBackup.api(&client, longhorn.namespace());
    api.create(
        &PostParams::default(),
        &system_backup("full", Some("always")),
    )
    .await
    .unwrap();
    longhorn
        .wait_for_system_backup("full", &["Ready"], WAIT)
        .await
        .unwrap();

    let snapshots = Kind::Snapshot
        .api(&client, longhorn.namespace())
        .list(&ListParams::default())
        .await
        .unwrap();
    let backups = Kind::Backup
        .api(&client, longhorn.namespace())
        .list(&ListParams::default())
        .await
        .unwrap();
    for volume in &longhorn.seeded().volume_names {
        let volume_object = Kind::Volume
            .api(&client, longhorn.namespace())
            .get(volume)
            .await
            .unwrap();
        let last_backup = volume_object.data["status"]["lastBackup"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            last_backup.starts_with("system-backup-")
                && last_backup.len() == "system-backup-".len() + 16,
            "{last_backup}"
        );
        let backup = backups
            .items
            .iter()
            .find(|b| b.metadata.name.as_deref() == Some(&last_backup))
            .unwrap();
        let labels = backup.metadata.labels.as_ref().unwrap();
        assert_eq!(labels.get("backup-volume"), Some(volume));
        assert_eq!(
            labels.get("backup-target").map(String::as_str),
            Some("default")
        );
        assert_eq!(backup.data["spec"]["snapshotName"], last_backup.as_str());
        assert_eq!(backup.data["spec"]["backupMode"], "incremental");
        assert_eq!(
            backup.data["spec"]["labels"]["longhorn.io/volume-access-mode"],
            "rwo"
        );
        assert_eq!(backup.data["status"]["state"], "Completed");
        assert_eq!(backup.data["status"]["snapshotName"], last_backup.as_str());
        let snapshot = snapshots
            .items
            .iter()
            .find(|s| s.metadata.name.as_deref() == Some(&last_backup))
            .unwrap();
        assert_eq!(
            snapshot
                .metadata
                .labels
                .as_ref()
                .unwrap()
                .get("longhornvolume"),
            Some(volume)
        );
        assert_eq!(snapshot.data["spec"]["volume"], volume.as_str());
        assert_eq!(snapshot.data["status"]["readyToUse"], true);
        assert_eq!(
            volume_object.data["status"]["lastBackupAt"],
            backup.data["status"]["backupCreatedAt"]
        );
    }
}

#[tokio::test]
async fn if_not_present_skips_volumes_whose_last_backup_is_intact() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    let client = longhorn.client().await.unwrap();
    let namespace = longhorn.namespace();
    Kind::SystemBackup
        .api(&client, namespace)
        .create(&PostParams::default(), &system_backup("lazy", None))
        .await
        .unwrap();
    longhorn
        .wait_for_system_backup("lazy", &["Ready"], WAIT)
        .await
        .unwrap();

    // The volumes of the objects this system backup created (`system-backup-…`), one
    // entry per object.
    let created = |list: &[kube::api::DynamicObject],
                   volume: fn(&kube::api::DynamicObject) -> Option<&str>|
     -> Vec<String> {
        let mut volumes: Vec<String> = list
            .iter()
            .filter(|o| {
                o.metadata
                    .name
                    .as_deref()
                    .unwrap_or_default()
                    .starts_with("system-backup-")
            })
            .map(|o| volume(o).unwrap_or_default().to_string())
            .collect();
        volumes.sort();
        volumes
    };
    let snapshots = Kind::Snapshot
        .api(&client, namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    let backups = Kind::Backup
        .api(&client, namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    // Seed: volumes 0 and 2 of 3 have an intact last backup; new snapshots hold no data.
    // Longhorn snapshots every volume each time it reconciles CreatingVolumeBackups, which
    // can be more than once (a status conflict requeues it): count rounds, not objects.
    let volumes = &longhorn.seeded().volume_names;
    let snapshotted = created(&snapshots, |o| o.data["spec"]["volume"].as_str());
    let rounds = snapshotted.len() / volumes.len();
    assert!(rounds >= 1, "no snapshot was taken: {snapshotted:?}");
    let mut expected: Vec<String> = volumes
        .iter()
        .flat_map(|v| std::iter::repeat_n(v.clone(), rounds))
        .collect();
    expected.sort();
    assert_eq!(
        snapshotted, expected,
        "a snapshot per volume, kept even when the backup is skipped"
    );
    // A later round may find that volume's backup from an earlier round intact and
    // skip it: one backup per round at most, all of that volume.
    let backed_up = created(&backups, |o| {
        o.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("backup-volume"))
            .map(String::as_str)
    });
    assert!(
        (1..=rounds).contains(&backed_up.len()) && backed_up.iter().all(|v| *v == volumes[1]),
        "only the volume without a last backup is backed up, once per round at most \
         ({rounds} rounds): {backed_up:?}"
    );
}
