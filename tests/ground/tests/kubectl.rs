//! The real kubectl against the ground, as a user (and the plugin) would run it.

use std::process::Command;
use std::time::Duration;

use kube::api::PostParams;
use longhorn_ground::objects::system_backup;
use longhorn_ground::{Ground, Kind};

#[tokio::test]
async fn kubectl_lists_system_backups_and_shows_webhook_denials() {
    let longhorn = Ground::shared(&Ground::default_version().unwrap())
        .await
        .unwrap();
    let client = longhorn.client().await.unwrap();
    Kind::SystemBackup
        .api(&client, longhorn.namespace())
        .create(
            &PostParams::default(),
            &system_backup("listed", Some("disabled")),
        )
        .await
        .unwrap();
    longhorn
        .wait_for_system_backup("listed", &["Ready"], Duration::from_secs(60))
        .await
        .unwrap();

    // Blocking the test's thread is fine: the simulator runs on its own.
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(longhorn.kubeconfig())
        .args(["get", "systembackups", "-n", longhorn.namespace()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let header: Vec<&str> = stdout.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAME", "VERSION", "STATE", "CREATED", "LASTSYNCEDAT"]
    );
    let row: Vec<&str> = stdout
        .lines()
        .find(|l| l.starts_with("listed "))
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(row[..3], ["listed", longhorn.version().as_str(), "Ready"]);

    // A create the webhook refuses, through kubectl (context namespace = Longhorn's).
    let manifest = longhorn
        .plane()
        .dir()
        .join(format!("{}-sb.yaml", longhorn.namespace()));
    std::fs::write(&manifest, "apiVersion: longhorn.io/v1beta2\nkind: SystemBackup\nmetadata:\n  name: refused\nspec: {}\n")
        .unwrap();
    longhorn.set_backup_target_available(false).await.unwrap();
    let output = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(longhorn.kubeconfig())
        .arg("create")
        .arg("-f")
        .arg(&manifest)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if longhorn.version().at_least(10) {
        assert!(!output.status.success());
        // kubectl prints a 422 with a field-less cause as "<field>: <message>".
        assert!(
            stderr.contains("The request is invalid: : backup target default is not available"),
            "{stderr}"
        );
    } else {
        assert!(output.status.success(), "{stderr}");
    }
}
