//! `create NAME --local --upload`, `download` and `sync`, end to end on the test
//! ground with real stores: S3 (s3s-fs, plain and TLS), Azure (Azurite) and an NFS
//! share as a local directory. Every upload ends with the verdict of Longhorn's own
//! backupstore code (backupstore-oracle: List, LoadConfig, Download with its checksum
//! check), and Longhorn (the simulator) lists it as a Ready SystemBackup.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use longhorn_ground::stores::{AzuriteServer, S3Server, SecretData};
use longhorn_ground::{Longhorn, oracles};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{self, Run};

fn sha256_of(path: &Path) -> String {
    hex::encode(Sha256::digest(std::fs::read(path).expect("read the zip")))
}

async fn state(env: &Longhorn, name: &str) -> Option<Value> {
    let client = env.client().await.expect("client");
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client,
        env.namespace(),
        &harness::longhorn_resource("SystemBackup", "systembackups"),
    );
    api.get_opt(name)
        .await
        .expect("get")
        .map(|o| serde_json::to_value(o).expect("JSON"))
}

/// `create NAME --local --upload ARGS…` in `dir`, volume backups off (quick).
async fn upload(env: &Longhorn, dir: &Path, name: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "create",
        name,
        "--local",
        "--upload",
        "--volume-backup-policy",
        "disabled",
    ];
    args.extend_from_slice(extra);
    harness::plugin_in(env, dir, &args).await
}

/// What Longhorn's backupstore reads from `target` for `name`: the cfg after checking
/// that List finds the name under the cluster's version, that the cfg's checksum is
/// `zip`'s, and that Download accepts the zip and yields exactly `zip`.
fn backupstore_verdict(
    env: &Longhorn,
    target: &str,
    secret: &SecretData,
    name: &str,
    zip: &Path,
) -> Value {
    let version = env.version().as_str();
    let listed = oracles::backupstore_json(version, &["list", target], secret).expect("list");
    assert_eq!(
        listed[name],
        format!("backupstore/system-backups/{version}/{name}"),
        "backupstore lists {name}: {listed}"
    );
    let cfg = oracles::backupstore_json(version, &["get-config", target, version, name], secret)
        .expect("get-config");
    assert_eq!(cfg["Checksum"], sha256_of(zip), "{cfg}");
    // Download opens the driver of the cfg's BackupTargetURL: an nfs:// share would
    // need mounting, which these tests do not do (the share is read as vfs://).
    if cfg["BackupTargetURL"]
        .as_str()
        .is_some_and(|url| url.starts_with("nfs://"))
    {
        return cfg;
    }
    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("downloaded.zip");
    let downloaded = oracles::backupstore_json(
        version,
        &["download", target, version, name, dest.to_str().unwrap()],
        secret,
    )
    .expect("Longhorn's Download accepts the upload");
    assert_eq!(downloaded["sha256"], sha256_of(zip));
    assert_eq!(std::fs::read(&dest).unwrap(), std::fs::read(zip).unwrap());
    cfg
}

/// The cfg says what Longhorn's own upload would: its version, the target as
/// ParseSystemBackupURL gives it, the cluster's images, the zip's SHA-256.
async fn assert_cfg(env: &Longhorn, cfg: &Value, name: &str, target: &str, zip: &Path) {
    assert_eq!(cfg["Name"], name);
    assert_eq!(cfg["LonghornVersion"], env.version().as_str());
    assert_eq!(cfg["BackupTargetURL"], target);
    assert_eq!(cfg["Checksum"], sha256_of(zip));
    assert!(
        cfg["ManagerImage"]
            .as_str()
            .is_some_and(|i| i.contains("longhorn-manager")),
        "{cfg}"
    );
    let engine_image = harness::kubectl(
        env,
        &[
            "get",
            "settings.longhorn.io",
            "default-engine-image",
            "-o",
            "jsonpath={.value}",
        ],
    )
    .await;
    assert_eq!(
        cfg["EngineImage"].as_str(),
        Some(engine_image.success().stdout.as_str())
    );
    let created = cfg["CreatedAt"].as_str().expect("CreatedAt");
    assert!(created.parse::<jiff::Timestamp>().is_ok(), "{created}");
}

/// No credential value appears in what a run printed.
#[track_caller]
fn assert_no_secret(run: &Run, secret: &SecretData) {
    for key in [
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AZBLOB_ACCOUNT_KEY",
    ] {
        if let Some(value) = secret.get(key) {
            assert!(
                !run.stdout.contains(value.as_str()) && !run.stderr.contains(value.as_str()),
                "{key}'s value was printed"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_to_s3_is_listed_by_longhorn_and_read_by_backupstore() {
    let s3 = S3Server::start().await.expect("s3s-fs starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    env.use_backup_target(&target, &s3.secret())
        .await
        .expect("BackupTarget default on S3");
    let dir = tempfile::tempdir().unwrap();

    // -v=9: every request is logged; no credential may be.
    let run = upload(&env, dir.path(), "offsite", &["--wait", "-v=9"]).await;
    run.success()
        .stdout_has(&format!(
            "{}backupstore/system-backups/{}/offsite",
            target,
            env.version().as_str()
        ))
        .stdout_has("Longhorn asked to sync at")
        .stdout_has("systembackup.longhorn.io/offsite condition met");
    assert_no_secret(&run, &s3.secret());

    let zip = dir.path().join("offsite.zip");
    let cfg = backupstore_verdict(&env, &target, &s3.secret(), "offsite", &zip);
    assert_cfg(&env, &cfg, "offsite", &target, &zip).await;
    // The zip went first and whole; the cfg is compact JSON, as Go writes it.
    let stored = s3.bucket_dir().join(format!(
        "backupstore/system-backups/{}/offsite",
        env.version().as_str()
    ));
    assert_eq!(
        std::fs::read(stored.join("system-backup.zip")).unwrap(),
        std::fs::read(&zip).unwrap()
    );
    let cfg_text = std::fs::read_to_string(stored.join("system-backup.cfg")).unwrap();
    assert!(
        cfg_text.starts_with("{\"Name\":\"offsite\",\"LonghornVersion\":"),
        "{cfg_text}"
    );

    // Longhorn made it a Ready SystemBackup of this version from the cfg.
    let backup = state(&env, "offsite")
        .await
        .expect("Longhorn created the CR");
    assert_eq!(backup["status"]["state"], "Ready");
    assert_eq!(
        backup["metadata"]["labels"]["longhorn.io/version"],
        env.version().as_str(),
        "{backup}"
    );
    assert_eq!(backup["status"]["managerImage"], cfg["ManagerImage"]);

    // It downloads (checksum verified) and inspects like any system backup.
    let download = harness::plugin_in(
        &env,
        dir.path(),
        &["download", "offsite", "-o", "again.zip"],
    )
    .await;
    download.success().stdout_has("verified");
    assert_eq!(
        std::fs::read(dir.path().join("again.zip")).unwrap(),
        std::fs::read(&zip).unwrap()
    );
    let inspect = harness::plugin_in(&env, dir.path(), &["inspect", "again.zip"]).await;
    inspect.success().stdout_has("offsite");

    // The name is taken now, as a CR and in the store: nothing more is written.
    let before = std::fs::read_dir(dir.path()).unwrap().count();
    upload(&env, dir.path(), "offsite", &["--force"])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("already exists as a SystemBackup");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), before);
}

#[tokio::test(flavor = "multi_thread")]
async fn server_side_backups_on_s3_download_and_sync() {
    let s3 = S3Server::start().await.expect("s3s-fs starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    env.use_backup_target(&target, &s3.secret()).await.unwrap();
    // Longhorn (the simulator) writes its own bundle to the bucket.
    harness::create_backup(&env, "made-by-longhorn", true).await;
    let dir = tempfile::tempdir().unwrap();
    let run = harness::plugin_in(&env, dir.path(), &["download", "made-by-longhorn"]).await;
    run.success().stdout_has("verified");
    let zip = dir.path().join("made-by-longhorn.zip");
    let mode = std::fs::metadata(&zip).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    backupstore_verdict(&env, &target, &s3.secret(), "made-by-longhorn", &zip);
    harness::plugin_in(&env, dir.path(), &["inspect", "made-by-longhorn.zip"])
        .await
        .success();

    // The zip no longer matches its cfg: nothing is written.
    let stored = s3.bucket_dir().join(format!(
        "backupstore/system-backups/{}/made-by-longhorn/system-backup.zip",
        env.version().as_str()
    ));
    let mut bytes = std::fs::read(&stored).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&stored, bytes).unwrap();
    harness::plugin_in(
        &env,
        dir.path(),
        &["download", "made-by-longhorn", "-o", "bad.zip"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("does not match its system-backup.cfg");
    assert!(!dir.path().join("bad.zip").exists());
    harness::plugin_in(&env, dir.path(), &["download", "nowhere"])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("neither a SystemBackup");

    // An upload to another bucket is not the cluster's target: no sync, and --wait
    // is refused before anything is built.
    s3.create_bucket("elsewhere").unwrap();
    let elsewhere = format!("s3://elsewhere@{}/lab/", "us-east-1");
    upload(
        &env,
        dir.path(),
        "aside",
        &["--target", &elsewhere, "--wait"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("--wait needs the cluster's own backup target");
    assert!(!dir.path().join("aside.zip").exists());
    let aside = upload(
        &env,
        dir.path(),
        "aside",
        &["--target", &elsewhere, "-o", "json"],
    )
    .await;
    aside.success();
    // -o json says where the bundle went, and that no sync was asked for.
    let summary: Value = serde_json::from_str(&aside.stdout).expect("JSON summary");
    assert_eq!(
        summary["uploaded"]["location"],
        format!(
            "{elsewhere}backupstore/system-backups/{}/aside",
            env.version().as_str()
        )
    );
    assert_eq!(summary["uploaded"]["checksum"], summary["sha256"]);
    assert_eq!(summary["uploaded"]["syncRequestedAt"], Value::Null);
    let cfg = backupstore_verdict(
        &env,
        &elsewhere,
        &s3.secret(),
        "aside",
        &dir.path().join("aside.zip"),
    );
    assert_eq!(cfg["BackupTargetURL"], elsewhere);
    upload(
        &env,
        dir.path(),
        "aside",
        &["--target", &elsewhere, "--force"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("already exists in the backup target");

    // A backup another cluster uploaded appears on `sync --wait`.
    let version = env.version().as_str().to_string();
    let from = s3.bucket_dir().join(format!(
        "backupstore/system-backups/{version}/made-by-longhorn"
    ));
    let to = s3.bucket_dir().join(format!(
        "backupstore/system-backups/{version}/from-elsewhere"
    ));
    std::fs::create_dir_all(&to).unwrap();
    let mut cfg: Value =
        serde_json::from_slice(&std::fs::read(from.join("system-backup.cfg")).unwrap()).unwrap();
    cfg["Name"] = "from-elsewhere".into();
    std::fs::copy(&zip, to.join("system-backup.zip")).unwrap();
    cfg["Checksum"] = sha256_of(&zip).into();
    std::fs::write(
        to.join("system-backup.cfg"),
        serde_json::to_vec(&cfg).unwrap(),
    )
    .unwrap();
    assert!(state(&env, "from-elsewhere").await.is_none());
    harness::plugin(&env, &["sync", "--wait"])
        .await
        .success()
        .stdout_has("sync requested at")
        .stdout_has("synced at");
    let synced = env
        .wait_for_system_backup(
            "from-elsewhere",
            &["Ready", "Error"],
            std::time::Duration::from_secs(30),
        )
        .await
        .expect("Longhorn lists it after the sync");
    assert_eq!(synced.data["status"]["state"], "Ready");
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_to_azure() {
    let azure = AzuriteServer::start().await.expect("azurite starts");
    let env = harness::longhorn().await;
    let target = azure.target_url();
    env.use_backup_target(&target, &azure.secret())
        .await
        .expect("BackupTarget default on Azure");
    let dir = tempfile::tempdir().unwrap();
    let run = upload(&env, dir.path(), "to-azure", &["--wait", "-v=9"]).await;
    run.success().stdout_has("condition met");
    assert_no_secret(&run, &azure.secret());
    let zip = dir.path().join("to-azure.zip");
    let cfg = backupstore_verdict(&env, &target, &azure.secret(), "to-azure", &zip);
    assert_cfg(&env, &cfg, "to-azure", &target, &zip).await;
    harness::plugin_in(
        &env,
        dir.path(),
        &["download", "to-azure", "-o", "back.zip"],
    )
    .await
    .success();
    assert_eq!(sha256_of(&dir.path().join("back.zip")), sha256_of(&zip));

    // A container that does not exist: refused before anything is built.
    let missing = "azblob://no-such-container@core.windows.net/";
    upload(&env, dir.path(), "nowhere", &["--target", missing])
        .await
        .failure(1)
        .one_line_error();
    assert!(!dir.path().join("nowhere.zip").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_to_an_nfs_share_needs_its_mount() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    upload(&env, dir.path(), "on-nfs", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("--mount-path DIR");
    assert!(!dir.path().join("on-nfs.zip").exists());
    upload(
        &env,
        dir.path(),
        "on-nfs",
        &["--mount-path", "/no/such/dir"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("/no/such/dir is not a directory");

    let mount = env.store_path();
    std::fs::create_dir_all(&mount).unwrap();
    let run = upload(
        &env,
        dir.path(),
        "on-nfs",
        &["--mount-path", mount.to_str().unwrap(), "--wait"],
    )
    .await;
    run.success().stdout_has("condition met");
    let zip = dir.path().join("on-nfs.zip");
    let vfs = format!("vfs://{}", mount.display());
    backupstore_verdict(&env, &vfs, &SecretData::new(), "on-nfs", &zip);
    let cfg: Value = serde_json::from_slice(
        &std::fs::read(mount.join(format!(
            "backupstore/system-backups/{}/on-nfs/system-backup.cfg",
            env.version().as_str()
        )))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["BackupTargetURL"], env.backup_target_url());

    // A read-only share: one line, and the share stays empty.
    let read_only = tempfile::tempdir().unwrap();
    std::fs::set_permissions(read_only.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    let mount = read_only.path().display().to_string();
    let run = harness::plugin_unprivileged(
        &env,
        dir.path(),
        &[
            "create",
            "read-only",
            "--local",
            "--upload",
            "--volume-backup-policy",
            "disabled",
            "--mount-path",
            &mount,
        ],
    )
    .await;
    run.failure(1)
        .one_line_error()
        .stderr_has("ermission denied");
    assert_eq!(std::fs::read_dir(read_only.path()).unwrap().count(), 0);
}

mod faults;
mod throttled;

/// The cfg names the running manager's git commit, as Longhorn's own upload does
/// (`meta.GitCommit`): longhorn-manager's CSI deployer annotates the CSI plugin
/// DaemonSet with its build's commit and version, and that is where the plugin reads it.
#[tokio::test(flavor = "multi_thread")]
async fn the_cfg_names_the_commit_of_the_running_manager() {
    let env = harness::longhorn().await;
    let commit = "93227d264f38c85c7ed3d2204dc6e924d508cc35";
    let labels = serde_json::json!({"app": "longhorn-csi-plugin"});
    let daemon_set: k8s_openapi::api::apps::v1::DaemonSet = serde_json::from_value(serde_json::json!({
        "metadata": {
            "name": "longhorn-csi-plugin",
            "annotations": {
                "driver.longhorn.io/git-commit": commit,
                "driver.longhorn.io/version": env.version().as_str(),
            },
        },
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "longhorn-csi-plugin", "image": format!("longhornio/longhorn-manager:{}", env.version().as_str())}]},
            },
        },
    }))
    .unwrap();
    let client = env.client().await.expect("client");
    kube::Api::<k8s_openapi::api::apps::v1::DaemonSet>::namespaced(client, env.namespace())
        .create(&Default::default(), &daemon_set)
        .await
        .expect("create the CSI plugin DaemonSet");

    let dir = tempfile::tempdir().unwrap();
    let mount = env.store_path();
    std::fs::create_dir_all(&mount).unwrap();
    upload(
        &env,
        dir.path(),
        "with-commit",
        &["--mount-path", mount.to_str().unwrap()],
    )
    .await
    .success();
    let cfg: Value = serde_json::from_slice(
        &std::fs::read(mount.join(format!(
            "backupstore/system-backups/{}/with-commit/system-backup.cfg",
            env.version().as_str()
        )))
        .unwrap(),
    )
    .unwrap();
    assert_eq!(cfg["LonghornGitCommit"], commit, "{cfg}");
}
