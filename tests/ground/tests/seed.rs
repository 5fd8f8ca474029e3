//! The seed: a realistic Longhorn install, in bulk.

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::{PersistentVolume, PersistentVolumeClaim, Service};
use kube::api::{Api, ListParams};
use longhorn_ground::{Ground, Kind, Options};
use serde_json::Value;

#[tokio::test]
async fn a_bulk_seed_looks_like_a_longhorn_install() {
    let version = Ground::default_version().unwrap();
    let longhorn = Ground::dedicated_with(&version, Options::default().volumes(300))
        .await
        .unwrap();
    let report = longhorn.seed_report();
    eprintln!("seeded {} volumes in {:?}", report.volumes, report.elapsed);
    assert_eq!((report.volumes, report.backed_up_volumes), (300, 150));
    let client = longhorn.client().await.unwrap();
    let namespace = longhorn.namespace();

    let volumes = Kind::Volume
        .api(&client, namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    assert_eq!(volumes.len(), 300);
    assert!(
        volumes
            .iter()
            .all(|v| v.data["status"]["state"] == "detached")
    );
    let backed_up: Vec<_> = volumes
        .iter()
        .filter(|v| v.data["status"]["lastBackup"] != "")
        .collect();
    assert_eq!(backed_up.len(), 150);
    let backups = Kind::Backup
        .api(&client, namespace)
        .list(&ListParams::default())
        .await
        .unwrap()
        .items;
    for volume in backed_up {
        let backup = backups.iter().find(|b| {
            b.metadata.name.as_ref()
                == volume.data["status"]["lastBackup"]
                    .as_str()
                    .map(String::from)
                    .as_ref()
        });
        assert_eq!(backup.unwrap().data["status"]["state"], "Completed");
    }

    let pvs: Api<PersistentVolume> = Api::all(client.clone());
    let pvs = pvs.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(
        pvs.len(),
        300,
        "a dedicated plane holds only this install's PVs"
    );
    for pv in &pvs {
        let csi = pv.spec.as_ref().unwrap().csi.as_ref().unwrap();
        assert_eq!(csi.driver, "driver.longhorn.io");
        assert_eq!(Some(&csi.volume_handle), pv.metadata.name.as_ref());
        assert_eq!(
            pv.spec.as_ref().unwrap().storage_class_name.as_deref(),
            Some(longhorn.seeded().storage_class.as_str())
        );
    }
    let claims: Api<PersistentVolumeClaim> =
        Api::namespaced(client.clone(), longhorn.apps_namespace());
    let claims = claims.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(claims.len(), 300);
    assert!(
        claims
            .iter()
            .all(|c| c.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Bound"))
    );

    let services: Api<Service> = Api::namespaced(client.clone(), namespace);
    for name in ["longhorn-backend", "longhorn-frontend"] {
        let service = services.get(name).await.unwrap();
        assert!(
            service
                .spec
                .unwrap()
                .cluster_ip
                .is_some_and(|ip| ip.starts_with("10.0.0.")),
            "{name} has a cluster IP"
        );
    }
    let manager = Api::<DaemonSet>::namespaced(client.clone(), namespace)
        .get("longhorn-manager")
        .await
        .unwrap();
    let command = manager.spec.template.spec.unwrap().containers[0]
        .command
        .clone()
        .unwrap();
    let image = command
        .iter()
        .position(|a| a == "--manager-image")
        .map(|i| command[i + 1].clone());
    assert_eq!(
        image,
        Some(format!("longhornio/longhorn-manager:{version}"))
    );
    let setting = Kind::Setting
        .api(&client, namespace)
        .get("current-longhorn-version")
        .await
        .unwrap();
    assert_eq!(setting.data["value"], Value::from(version.as_str()));
}
