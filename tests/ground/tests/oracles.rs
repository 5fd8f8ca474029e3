//! The backupstore oracle runs Longhorn's own store code for the Longhorn version chosen
//! by LONGHORN_VERSION (default: the newest supported): it lists, reads and downloads
//! system backups from s3s-fs, Azurite and a `vfs://` directory.
//! (The bundle oracle's tests are in bundle_oracle.rs.)

mod common;

use std::collections::BTreeMap;

use bytes::Bytes;
use common::{build_zip, version};
use longhorn_ground::oracles;
use longhorn_ground::stores::{self, AzuriteServer, S3Server, SecretData};
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;
use serde_json::Value;

const CREATED_AT: &str = "2025-01-02T03:04:05.123456789Z";

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// A zip of one file `<name>/metadata.yaml`: enough for the store tests.
fn tiny_zip(name: &str) -> Vec<u8> {
    build_zip(&[(
        &format!("{name}/metadata.yaml"),
        "longhornversion: v1.9.0\n",
    )])
}

/// Runs list / get-config / download (good and corrupted) against one target where
/// `put(key, bytes)` writes an object.
async fn check_target<F, Fut>(version: &str, target: &str, env: &SecretData, put: F)
where
    F: Fn(String, Vec<u8>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let name = "demo-backup";
    let zip = tiny_zip(name);
    put(
        stores::system_backup_key(version, name, "system-backup.zip"),
        zip.clone(),
    )
    .await;
    put(
        stores::system_backup_key(version, name, "system-backup.cfg"),
        stores::system_backup_cfg(name, version, target, &zip, CREATED_AT).into_bytes(),
    )
    .await;
    // A second backup under another version: List keys by name only.
    put(
        stores::system_backup_key("v1.0.0", "older", "system-backup.zip"),
        zip.clone(),
    )
    .await;
    put(
        stores::system_backup_key("v1.0.0", "older", "system-backup.cfg"),
        stores::system_backup_cfg("older", "v1.0.0", target, &zip, CREATED_AT).into_bytes(),
    )
    .await;

    let listed = oracles::backupstore_json(version, &["list", target], env).unwrap();
    let expected: Value = serde_json::json!({
        name: format!("backupstore/system-backups/{version}/{name}"),
        "older": "backupstore/system-backups/v1.0.0/older",
    });
    assert_eq!(listed, expected, "list {target}");

    let cfg =
        oracles::backupstore_json(version, &["get-config", target, version, name], env).unwrap();
    assert_eq!(cfg["Name"], name);
    assert_eq!(cfg["LonghornVersion"], version);
    assert_eq!(cfg["BackupTargetURL"], target);
    assert_eq!(cfg["Checksum"], sha256_hex(&zip));
    assert_eq!(
        cfg["CreatedAt"], CREATED_AT,
        "Go parses and re-prints CreatedAt as RFC 3339 nano"
    );

    let work = tempfile::tempdir().unwrap();
    let dest = work.path().join("downloaded.zip");
    let dest_arg = dest.to_str().unwrap();
    let downloaded =
        oracles::backupstore_json(version, &["download", target, version, name, dest_arg], env)
            .unwrap();
    assert_eq!(downloaded["sha256"], sha256_hex(&zip));
    assert_eq!(std::fs::read(&dest).unwrap(), zip);

    // Corrupt the zip: Longhorn's Download refuses it and removes the file.
    std::fs::remove_file(&dest).unwrap();
    let mut corrupted = zip.clone();
    let last = corrupted.len() - 1;
    corrupted[last] ^= 0xff;
    put(
        stores::system_backup_key(version, name, "system-backup.zip"),
        corrupted,
    )
    .await;
    let output =
        oracles::backupstore(version, &["download", target, version, name, dest_arg], env).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a corrupted zip was accepted: {stderr}"
    );
    assert!(
        stderr.contains("checksum mismatched"),
        "unexpected error: {stderr}"
    );
    assert!(
        !dest.exists(),
        "Longhorn removes a download whose checksum does not match"
    );

    // A cfg that names another target: Download follows cfg.BackupTargetURL.
    let elsewhere = tempfile::tempdir().unwrap();
    let wrong_target = format!("vfs://{}", elsewhere.path().display());
    put(
        stores::system_backup_key(version, name, "system-backup.zip"),
        zip.clone(),
    )
    .await;
    put(
        stores::system_backup_key(version, name, "system-backup.cfg"),
        stores::system_backup_cfg(name, version, &wrong_target, &zip, CREATED_AT).into_bytes(),
    )
    .await;
    let output =
        oracles::backupstore(version, &["download", target, version, name, dest_arg], env).unwrap();
    assert!(
        !output.status.success(),
        "download should follow the cfg's BackupTargetURL ({wrong_target}), where nothing is"
    );
}

#[tokio::test]
async fn backupstore_oracle_reads_a_vfs_directory() {
    let version = version();
    let root = tempfile::tempdir().unwrap();
    let target = format!("vfs://{}", root.path().display());
    let base = root.path().to_path_buf();
    check_target(&version, &target, &BTreeMap::new(), |key, bytes| {
        let path = base.join(key);
        async move {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, bytes).unwrap();
        }
    })
    .await;
}

#[tokio::test]
async fn backupstore_oracle_reads_s3s_fs() {
    let version = version();
    let s3 = S3Server::start().await.unwrap();
    let store = s3.object_store().unwrap();
    check_target(&version, &s3.target_url(), &s3.secret(), |key, bytes| {
        let store = store.clone();
        async move {
            store
                .put(&ObjectPath::from(key), Bytes::from(bytes).into())
                .await
                .unwrap();
        }
    })
    .await;

    // Wrong secret key: backupstore's S3 driver fails to list.
    let mut bad = s3.secret();
    bad.insert("AWS_SECRET_ACCESS_KEY".into(), "wrong".into());
    let output = oracles::backupstore(&version, &["list", &s3.target_url()], &bad).unwrap();
    assert!(
        !output.status.success(),
        "list succeeded with a wrong secret key"
    );
}

#[tokio::test]
async fn backupstore_oracle_reads_s3s_fs_over_tls_with_aws_cert() {
    let version = version();
    let s3 = S3Server::start_tls().await.unwrap();
    let store = s3.object_store().unwrap();
    let zip = tiny_zip("tls");
    store
        .put(
            &ObjectPath::from(stores::system_backup_key(
                &version,
                "tls",
                "system-backup.zip",
            )),
            Bytes::from(zip.clone()).into(),
        )
        .await
        .unwrap();
    let cfg = stores::system_backup_cfg("tls", &version, &s3.target_url(), &zip, CREATED_AT);
    store
        .put(
            &ObjectPath::from(stores::system_backup_key(
                &version,
                "tls",
                "system-backup.cfg",
            )),
            Bytes::from(cfg).into(),
        )
        .await
        .unwrap();

    let listed =
        oracles::backupstore_json(&version, &["list", &s3.target_url()], &s3.secret()).unwrap();
    assert_eq!(
        listed["tls"],
        format!("backupstore/system-backups/{version}/tls")
    );

    // Without AWS_CERT the proxy's certificate is not trusted.
    let mut no_ca = s3.secret();
    no_ca.remove("AWS_CERT");
    // (With aws-sdk-go-v2, backupstore retries 5 times with backoff: about 20 s.)
    let output = oracles::backupstore(&version, &["list", &s3.target_url()], &no_ca).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "backupstore trusted the TLS proxy without AWS_CERT"
    );
    assert!(
        stderr.contains("certificate"),
        "not a certificate error: {stderr}"
    );
}

#[tokio::test]
async fn backupstore_oracle_reads_azurite() {
    let version = version();
    let azure = AzuriteServer::start().await.unwrap();
    let store = azure.object_store().unwrap();
    check_target(
        &version,
        &azure.target_url(),
        &azure.secret(),
        |key, bytes| {
            let store = store.clone();
            async move {
                store
                    .put(&ObjectPath::from(key), Bytes::from(bytes).into())
                    .await
                    .unwrap();
            }
        },
    )
    .await;
}

#[tokio::test]
async fn backupstore_oracle_upload_is_the_reference_writer() {
    // What Longhorn itself writes, for comparison with the plugin: compact cfg JSON in
    // Go field order, RFC 3339 nano CreatedAt, SHA-256 checksum, and the target URL
    // as ParseSystemBackupURL returns it.
    let version = version();
    let root = tempfile::tempdir().unwrap();
    let target = format!("vfs://{}", root.path().display());
    let zip_path = root.path().join("upload.zip");
    let zip = tiny_zip("ref");
    std::fs::write(&zip_path, &zip).unwrap();
    let upload = [
        "upload",
        &target,
        &version,
        "ref",
        zip_path.to_str().unwrap(),
        "abc123",
        "mgr:img",
        "eng:img",
    ];
    oracles::backupstore_json(&version, &upload, BTreeMap::<String, String>::new()).unwrap();
    let dir = stores::system_backup_dir(root.path(), &version, "ref");
    assert_eq!(std::fs::read(dir.join("system-backup.zip")).unwrap(), zip);
    let cfg = std::fs::read_to_string(dir.join("system-backup.cfg")).unwrap();
    assert!(
        !cfg.contains('\n'),
        "compact JSON without a trailing newline: {cfg:?}"
    );
    let keys: Vec<&str> = cfg
        .split("\":")
        .filter_map(|part| part.rsplit('"').next())
        .collect();
    assert_eq!(
        keys[..8],
        [
            "Name",
            "LonghornVersion",
            "LonghornGitCommit",
            "BackupTargetURL",
            "ManagerImage",
            "EngineImage",
            "CreatedAt",
            "Checksum"
        ]
    );
    let parsed: Value = serde_json::from_str(&cfg).unwrap();
    assert_eq!(parsed["BackupTargetURL"], target);
    assert_eq!(parsed["Checksum"], sha256_hex(&zip));
    assert_eq!(parsed["LonghornGitCommit"], "abc123");
    assert!(parsed["CreatedAt"].as_str().unwrap().ends_with('Z'));

    // A second upload of the same name is refused ("already exists").
    let again = oracles::backupstore(&version, &upload, BTreeMap::<String, String>::new()).unwrap();
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    // The URL Longhorn builds for an S3 target and what the engine parses back.
    let url = oracles::backupstore_json(
        &version,
        &["url", "s3://bucket@us-east-1/", &version, "ref"],
        BTreeMap::<String, String>::new(),
    )
    .unwrap();
    assert_eq!(
        url["systemBackupURL"],
        format!("s3://bucket@us-east-1/backupstore/system-backups/{version}/ref")
    );
    assert_eq!(url["backupTarget"], "s3://bucket@us-east-1/");
}
