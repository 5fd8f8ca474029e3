//! The test object stores start, serve a put/get round trip, survive a restart, and
//! tear down. A missing tool fails the test with install.sh's instructions.

use std::time::Duration;

use bytes::Bytes;
use longhorn_ground::stores::{AzuriteServer, S3Server};
use object_store::ObjectStoreExt;
use object_store::path::Path as ObjectPath;

async fn round_trip(store: &dyn object_store::ObjectStore, key: &str, body: &'static [u8]) {
    let path = ObjectPath::from(key);
    store
        .put(&path, Bytes::from_static(body).into())
        .await
        .expect("put");
    let got = store
        .get(&path)
        .await
        .expect("get")
        .bytes()
        .await
        .expect("get body");
    assert_eq!(got.as_ref(), body);
}

#[tokio::test]
async fn s3s_fs_round_trip_and_layout() {
    let s3 = S3Server::start()
        .await
        .expect("s3s-fs starts (tests/tools/install.sh s3s-fs)");
    assert!(
        s3.target_url().starts_with("s3://backups-") && s3.target_url().ends_with("@us-east-1/")
    );
    let secret = s3.secret();
    assert_eq!(secret["AWS_ACCESS_KEY_ID"], s3.access_key);
    assert_eq!(secret["AWS_SECRET_ACCESS_KEY"], s3.secret_key);
    assert_eq!(secret["AWS_ENDPOINTS"], s3.endpoint());
    assert!(!secret.contains_key("AWS_CERT"));

    let store = s3.object_store().unwrap();
    round_trip(
        store.as_ref(),
        "backupstore/system-backups/v1.9.0/demo/system-backup.zip",
        b"zip bytes",
    )
    .await;
    // s3s-fs keeps objects as plain files: the bucket is also a vfs target.
    let file = s3
        .bucket_dir()
        .join("backupstore/system-backups/v1.9.0/demo/system-backup.zip");
    assert_eq!(std::fs::read(&file).unwrap(), b"zip bytes");

    // Wrong credentials are refused (the server really checks SigV4).
    let mut other = S3Server::start().await.unwrap();
    other.access_key = "wrong".into();
    let refused = other
        .object_store()
        .unwrap()
        .put(&ObjectPath::from("x"), Bytes::from_static(b"x").into())
        .await;
    assert!(
        refused.is_err(),
        "s3s-fs accepted a request signed with a wrong key"
    );
}

#[tokio::test]
async fn s3s_fs_stop_restart_freeze() {
    let mut s3 = S3Server::start().await.unwrap();
    let store = s3.object_store().unwrap();
    round_trip(store.as_ref(), "before", b"kept").await;

    s3.stop();
    assert!(!s3.is_running());
    let down = tokio::time::timeout(
        Duration::from_secs(30),
        store.get(&ObjectPath::from("before")),
    )
    .await;
    assert!(
        matches!(down, Ok(Err(_))),
        "a stopped s3s-fs still answered: {down:?}"
    );

    s3.restart().await.unwrap();
    assert!(s3.is_running());
    let got = store
        .get(&ObjectPath::from("before"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"kept", "data survives a restart");

    s3.freeze().unwrap();
    let hung = tokio::time::timeout(
        Duration::from_millis(1500),
        store.get(&ObjectPath::from("before")),
    )
    .await;
    assert!(hung.is_err(), "a frozen s3s-fs answered");
    s3.thaw().unwrap();
    let got = store
        .get(&ObjectPath::from("before"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.as_ref(), b"kept");
}

#[tokio::test]
async fn s3s_fs_behind_tls_with_custom_ca() {
    let s3 = S3Server::start_tls().await.unwrap();
    assert!(s3.endpoint().starts_with("https://127.0.0.1:"));
    let ca = s3.ca_pem().expect("a CA with TLS").to_string();
    assert!(ca.contains("BEGIN CERTIFICATE"));
    assert_eq!(s3.secret()["AWS_CERT"], ca);
    round_trip(s3.object_store().unwrap().as_ref(), "over-tls", b"secret").await;

    // Without the CA the certificate is not trusted.
    let untrusted = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&s3.bucket)
        .with_region("us-east-1")
        .with_endpoint(s3.endpoint())
        .with_access_key_id(&s3.access_key)
        .with_secret_access_key(&s3.secret_key)
        .with_retry(object_store::RetryConfig {
            max_retries: 0,
            ..Default::default()
        })
        .build()
        .unwrap();
    let refused = untrusted.get(&ObjectPath::from("over-tls")).await;
    assert!(
        refused.is_err(),
        "the TLS proxy's certificate was trusted without its CA"
    );
}

#[tokio::test]
async fn azurite_round_trip_and_teardown() {
    let dir;
    {
        let azure = AzuriteServer::start()
            .await
            .expect("Azurite starts (tests/tools/install.sh azurite)");
        assert!(azure.target_url().starts_with("azblob://backups-"));
        assert!(azure.target_url().ends_with("@core.windows.net/"));
        let secret = azure.secret();
        assert_eq!(secret["AZBLOB_ACCOUNT_NAME"], azure.account);
        assert_eq!(secret["AZBLOB_ACCOUNT_KEY"], azure.key);
        assert_eq!(secret["AZBLOB_ENDPOINT"], azure.endpoint());
        assert_ne!(azure.account, "devstoreaccount1");

        round_trip(
            azure.object_store().unwrap().as_ref(),
            "backupstore/system-backups/v1.9.0/demo/x",
            b"blob",
        )
        .await;

        // A container that was never created does not exist.
        let missing = azure
            .object_store_for("no-such-container")
            .unwrap()
            .get(&ObjectPath::from("x"))
            .await;
        assert!(missing.is_err());
        azure.create_container("second").await.unwrap();
        round_trip(
            azure.object_store_for("second").unwrap().as_ref(),
            "y",
            b"y",
        )
        .await;
        dir = azure.endpoint();
    }
    // Dropped: the port no longer answers.
    let port: u16 = dir.rsplit(':').next().unwrap().parse().unwrap();
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
    );
}

/// True while `pid` is a live (non-zombie) process.
fn alive(pid: u64) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // "pid (comm) S ...": the state follows the last ')'.
        Ok(stat) => {
            stat.rsplit(')')
                .next()
                .and_then(|rest| rest.split_whitespace().next())
                != Some("Z")
        }
        Err(_) => false,
    }
}

#[test]
fn servers_die_with_the_process_that_started_them() {
    use std::io::BufRead;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ground-stores"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let started: serde_json::Value = serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("ground-stores printed {line:?}: {e}"));
    let pids: Vec<u64> = ["s3", "azure"]
        .iter()
        .map(|s| started[s]["pid"].as_u64().unwrap())
        .collect();
    let dirs: Vec<std::path::PathBuf> = ["s3", "azure"]
        .iter()
        .map(|s| started[s]["dir"].as_str().unwrap().into())
        .collect();
    for (pid, dir) in pids.iter().zip(&dirs) {
        assert!(alive(*pid), "server {pid} runs");
        assert!(dir.is_dir());
    }

    // SIGKILL: no Drop runs; the watchdogs clean up.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while (pids.iter().any(|p| alive(*p)) || dirs.iter().any(|d| d.exists()))
        && std::time::Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(100));
    }
    for (pid, dir) in pids.iter().zip(&dirs) {
        assert!(!alive(*pid), "server {pid} outlived its owner");
        assert!(!dir.exists(), "{} outlived its owner", dir.display());
    }
}
