//! Seeds 5,000 volumes (with PVs and PVCs) on a dedicated plane and takes a system
//! backup of it, reporting the times:
//!
//! ```sh
//! cargo run --release -p longhorn-ground --example seed_5000 [-- <volumes>]
//! ```

use std::time::{Duration, Instant};

use kube::api::PostParams;
use longhorn_ground::objects::system_backup;
use longhorn_ground::{Ground, Kind, Options};

#[tokio::main]
async fn main() {
    let volumes: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(5000);
    let version = Ground::default_version().unwrap();
    let started = Instant::now();
    let longhorn = Ground::dedicated_with(&version, Options::default().volumes(volumes))
        .await
        .unwrap();
    let report = longhorn.seed_report();
    println!(
        "Longhorn {version}: seeded {} volumes ({} with a last backup) in {:.1?}; environment ready in {:.1?}",
        report.volumes,
        report.backed_up_volumes,
        report.elapsed,
        started.elapsed()
    );

    let client = longhorn.client().await.unwrap();
    let backup_started = Instant::now();
    Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_backup("big", Some("disabled")),
        )
        .await
        .unwrap();
    let ready = longhorn
        .wait_for_system_backup("big", &["Ready", "Error"], Duration::from_secs(600))
        .await
        .unwrap();
    let zip = longhorn.store_path().join(format!(
        "backupstore/system-backups/{version}/big/system-backup.zip"
    ));
    let size = std::fs::metadata(&zip).map(|m| m.len()).unwrap_or(0);
    println!(
        "system backup of {volumes} volumes: {} in {:.1?}, bundle {:.1} MiB",
        ready.data["status"]["state"],
        backup_started.elapsed(),
        size as f64 / (1024.0 * 1024.0)
    );
}
