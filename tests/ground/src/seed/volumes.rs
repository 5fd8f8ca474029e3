//! The seeded volumes: each with a PV and a bound PVC, every n-th with a snapshot and a
//! completed backup.

use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use super::{NODE_ID, SeedOptions, Seeder, resource};
use crate::Error;
use crate::longhorn::{API_VERSION, CSI_DRIVER, Kind, Version};

/// N volumes, each with a PV and a bound PVC; every n-th with a completed backup.
pub(super) async fn seed_volumes(
    seeder: &Seeder<'_>,
    apps_namespace: &str,
    storage_class: &str,
    version: &Version,
    options: &SeedOptions,
) -> Result<(Vec<String>, Vec<SeededBackup>), Error> {
    let names: Vec<String> = (0..options.volumes)
        .map(|_| format!("pvc-{}", uuid::Uuid::new_v4()))
        .collect();
    let backed_up_at = crate::simulator::rfc3339_seconds(
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1),
    );
    let backups = futures::stream::iter(names.iter().enumerate())
        .map(|(index, name)| {
            let backed_up = options.backed_up_every != 0 && index % options.backed_up_every == 0;
            seed_volume(
                seeder,
                apps_namespace,
                storage_class,
                version,
                index,
                name,
                backed_up.then_some(backed_up_at.as_str()),
            )
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect::<Vec<Option<SeededBackup>>>()
        .await?;
    Ok((names, backups.into_iter().flatten().collect()))
}

#[allow(clippy::too_many_arguments)]
async fn seed_volume(
    seeder: &Seeder<'_>,
    apps_namespace: &str,
    storage_class: &str,
    version: &Version,
    index: usize,
    name: &str,
    backed_up_at: Option<&str>,
) -> Result<Option<SeededBackup>, Error> {
    let claim = format!("data-{index}");
    let size = "1073741824";
    let backup = backed_up_at.map(|_| {
        format!(
            "backup-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        )
    });
    seeder
        .create(
            &Kind::Volume.resource(),
            true,
            json!({
                "apiVersion": API_VERSION, "kind": "Volume",
                "metadata": {"name": name},
                "spec": {
                    "size": size, "numberOfReplicas": 3, "frontend": "blockdev", "dataEngine": "v1",
                    "accessMode": "rwo", "backupTargetName": "default", "dataLocality": "disabled",
                    "staleReplicaTimeout": 30, "image": version.engine_image(), "migratable": false, "encrypted": false,
                },
                "status": {
                    "state": "detached", "robustness": "unknown", "ownerID": NODE_ID, "currentImage": version.engine_image(),
                    "actualSize": 104857600, "isStandby": false,
                    "lastBackup": backup.clone().unwrap_or_default(), "lastBackupAt": backed_up_at.unwrap_or_default(),
                    "kubernetesStatus": {"pvName": name, "pvStatus": "Bound", "namespace": apps_namespace, "pvcName": claim, "lastPVCRefAt": "", "lastPodRefAt": ""},
                },
            }),
        )
        .await?;
    seeder
        .create(
            &resource("", "v1", "PersistentVolume", "persistentvolumes"),
            false,
            json!({
                "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": CSI_DRIVER}},
                "spec": {
                    "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem",
                    "persistentVolumeReclaimPolicy": "Delete", "storageClassName": storage_class,
                    "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": apps_namespace, "name": claim},
                    "csi": {"driver": CSI_DRIVER, "volumeHandle": name, "fsType": "ext4", "volumeAttributes": {"numberOfReplicas": "3", "staleReplicaTimeout": "30"}},
                },
                "status": {"phase": "Bound"},
            }),
        )
        .await?;
    seeder
        .create(
            &resource("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
            true,
            json!({
                "metadata": {"name": claim, "namespace": apps_namespace, "annotations": {"pv.kubernetes.io/bind-completed": "yes"}},
                "spec": {
                    "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}},
                    "storageClassName": storage_class, "volumeName": name, "volumeMode": "Filesystem",
                },
                "status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}},
            }),
        )
        .await?;
    // The volume first: Longhorn's webhooks check that a snapshot's volume exists.
    if let (Some(backup), Some(at)) = (&backup, backed_up_at) {
        let snapshot = uuid::Uuid::new_v4().to_string();
        seeder
            .create(
                &Kind::Snapshot.resource(),
                true,
                json!({
                    "apiVersion": API_VERSION, "kind": "Snapshot",
                    "metadata": {"name": snapshot, "labels": {"longhornvolume": name}},
                    "spec": {"volume": name, "createSnapshot": true, "labels": null},
                    "status": {"readyToUse": true, "creationTime": at, "size": 104857600, "userCreated": true, "markRemoved": false, "ownerID": NODE_ID},
                }),
            )
            .await?;
        return Ok(Some(SeededBackup {
            name: backup.clone(),
            snapshot,
            volume: name.to_string(),
            at: at.to_string(),
        }));
    }
    Ok(None)
}

/// A volume's completed backup, created once the backup target is available (Longhorn's
/// webhook refuses a Backup on a target that is not).
#[derive(Clone, Debug)]
pub struct SeededBackup {
    pub name: String,
    pub snapshot: String,
    pub volume: String,
    pub at: String,
}

/// Creates the seeded volumes' Backups, completed as the engine would have left them.
pub async fn seed_backups(
    client: &kube::Client,
    namespace: &str,
    backups: &[SeededBackup],
    concurrency: usize,
) -> Result<(), Error> {
    let seeder = Seeder { client, namespace };
    let seeder = &seeder;
    futures::stream::iter(backups)
        .map(|b| async move {
            seeder
                .create(
                    &Kind::Backup.resource(),
                    true,
                    json!({
                        "apiVersion": API_VERSION, "kind": "Backup",
                        "metadata": {"name": b.name, "labels": {"backup-volume": b.volume, "backup-target": "default"}},
                        "spec": {"snapshotName": b.snapshot, "labels": {"longhorn.io/volume-access-mode": "rwo"}, "backupMode": "incremental"},
                        "status": {"state": "Completed", "snapshotName": b.snapshot, "progress": 100, "volumeName": b.volume, "backupCreatedAt": b.at, "snapshotCreatedAt": b.at, "size": "104857600", "ownerID": NODE_ID, "backupTargetName": "default"},
                    }),
                )
                .await
                .map(|_| ())
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
