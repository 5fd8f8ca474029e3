//! Upload faults: bad credentials and targets, custom CAs, an upload cut mid-body.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::*;

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_and_targets_say_what_is_wrong() {
    let s3 = S3Server::start().await.expect("s3s-fs starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    let dir = tempfile::tempdir().unwrap();
    let nothing_written = |dir: &Path, s3: &S3Server| {
        assert_eq!(
            std::fs::read_dir(dir).unwrap().count(),
            0,
            "a file was left"
        );
        assert!(
            !s3.bucket_dir().join("backupstore").exists(),
            "something was written to the bucket"
        );
    };

    // A missing key is named; values never appear.
    let mut secret = s3.secret();
    secret.remove("AWS_SECRET_ACCESS_KEY");
    env.point_backup_target(&target, &secret).await.unwrap();
    let run = upload(&env, dir.path(), "keys", &["-v=9"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("AWS_SECRET_ACCESS_KEY");
    assert_no_secret(&run, &s3.secret());
    nothing_written(dir.path(), &s3);

    // A wrong secret key: the store refuses, the value is not printed.
    let mut secret = s3.secret();
    secret.insert(
        "AWS_SECRET_ACCESS_KEY".into(),
        "wrong-secret-value-123".into(),
    );
    env.point_backup_target(&target, &secret).await.unwrap();
    let run = upload(&env, dir.path(), "keys", &["-v=9"]).await;
    run.failure(1).one_line_error();
    assert!(
        !run.stderr.contains("wrong-secret-value-123"),
        "{}",
        run.stderr
    );
    assert_no_secret(&run, &s3.secret());
    nothing_written(dir.path(), &s3);

    // A bucket that does not exist.
    env.use_backup_target(&target, &s3.secret()).await.unwrap();
    upload(
        &env,
        dir.path(),
        "keys",
        &["--target", "s3://no-such-bucket@us-east-1/"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("no-such-bucket");
    nothing_written(dir.path(), &s3);

    // An endpoint nobody listens on: an error in seconds, not a hang.
    let mut secret = s3.secret();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    secret.insert("AWS_ENDPOINTS".into(), format!("http://127.0.0.1:{port}"));
    env.point_backup_target(&target, &secret).await.unwrap();
    let started = std::time::Instant::now();
    upload(&env, dir.path(), "keys", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has(&format!("127.0.0.1:{port}"));
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    nothing_written(dir.path(), &s3);

    // A scheme Longhorn does not know.
    upload(
        &env,
        dir.path(),
        "keys",
        &["--target", "ftp://host/backups"],
    )
    .await
    .failure(1)
    .one_line_error()
    .stderr_has("ftp:// is not supported");
    nothing_written(dir.path(), &s3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_ca_comes_from_aws_cert() {
    let s3 = S3Server::start_tls()
        .await
        .expect("s3s-fs behind TLS starts");
    let env = harness::longhorn().await;
    let target = s3.target_url();
    let dir = tempfile::tempdir().unwrap();

    // Without the CA the server's certificate is not trusted.
    let mut untrusted = s3.secret();
    untrusted.remove("AWS_CERT");
    env.point_backup_target(&target, &untrusted).await.unwrap();
    upload(&env, dir.path(), "tls", &[])
        .await
        .failure(1)
        .one_line_error();
    assert!(!dir.path().join("tls.zip").exists());

    let mut garbled = s3.secret();
    garbled.insert("AWS_CERT".into(), "not a certificate".into());
    env.point_backup_target(&target, &garbled).await.unwrap();
    upload(&env, dir.path(), "tls", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("AWS_CERT in the credential secret is not a PEM certificate");

    env.use_backup_target(&target, &s3.secret()).await.unwrap();
    upload(&env, dir.path(), "tls", &["--wait"]).await.success();
    backupstore_verdict(
        &env,
        &target,
        &s3.secret(),
        "tls",
        &dir.path().join("tls.zip"),
    );
}

/// A TCP proxy that passes traffic until a request for `system-backup.zip` has sent
/// `cut_after` bytes of it, then drops every connection and refuses new ones until
/// healed: an upload cut mid-body.
struct CuttingProxy {
    address: SocketAddr,
    cut: Arc<AtomicBool>,
    armed: Arc<AtomicBool>,
}

impl CuttingProxy {
    async fn start(backend: SocketAddr, cut_after: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let armed = Arc::new(AtomicBool::new(true));
        let (cut_flag, armed_flag) = (cut.clone(), armed.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if cut_flag.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let (cut, armed) = (cut_flag.clone(), armed_flag.clone());
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let (mut client_read, mut client_write) = client.into_split();
                    let (mut server_read, mut server_write) = server.into_split();
                    let upstream = async {
                        let mut seen = Vec::new();
                        let mut body_sent: Option<usize> = None;
                        let mut buffer = vec![0u8; 16 * 1024];
                        loop {
                            let n = match client_read.read(&mut buffer).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => n,
                            };
                            if armed.load(Ordering::SeqCst) {
                                match body_sent.as_mut() {
                                    Some(sent) => *sent += n,
                                    None => {
                                        seen.extend_from_slice(&buffer[..n]);
                                        let text = String::from_utf8_lossy(&seen);
                                        if text.contains("PUT /")
                                            && text.contains("system-backup.zip")
                                        {
                                            body_sent = Some(0);
                                        }
                                        if seen.len() > 64 * 1024 {
                                            seen.drain(..seen.len() - 4096);
                                        }
                                    }
                                }
                                if body_sent.is_some_and(|sent| sent >= cut_after) {
                                    cut.store(true, Ordering::SeqCst);
                                    return;
                                }
                            }
                            if server_write.write_all(&buffer[..n]).await.is_err() {
                                return;
                            }
                        }
                    };
                    let downstream = async {
                        let _ = tokio::io::copy(&mut server_read, &mut client_write).await;
                    };
                    let watch_cut = async {
                        while !cut.load(Ordering::SeqCst) {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                        }
                    };
                    tokio::select! {
                        _ = upstream => {}
                        _ = downstream => {}
                        _ = watch_cut => {}
                    }
                });
            }
        });
        CuttingProxy {
            address,
            cut,
            armed,
        }
    }

    fn heal(&self) {
        self.armed.store(false, Ordering::SeqCst);
        self.cut.store(false, Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_cut_mid_body_leaves_no_cfg_and_a_retry_succeeds() {
    let s3 = S3Server::start().await.expect("s3s-fs starts");
    let backend: SocketAddr = s3
        .backend_endpoint()
        .trim_start_matches("http://")
        .parse()
        .unwrap();
    let proxy = CuttingProxy::start(backend, 2048).await;
    let env = harness::longhorn().await;
    let target = s3.target_url();
    let mut secret = s3.secret();
    secret.insert("AWS_ENDPOINTS".into(), format!("http://{}", proxy.address));
    env.use_backup_target(&target, &secret).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    upload(&env, dir.path(), "cut", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("uploading system-backup.zip");
    assert!(proxy.cut.load(Ordering::SeqCst), "the proxy cut the upload");
    let version = env.version().as_str().to_string();
    let stored = s3
        .bucket_dir()
        .join(format!("backupstore/system-backups/{version}/cut"));
    assert!(
        !stored.join("system-backup.cfg").exists(),
        "a cut upload left Longhorn's 'uploaded' marker"
    );
    // Longhorn's LoadConfig finds nothing to sync from.
    let loaded = oracles::backupstore(
        &version,
        &["get-config", &target, &version, "cut"],
        &s3.secret(),
    )
    .unwrap();
    assert!(
        !loaded.status.success(),
        "backupstore read a cfg of the cut upload"
    );
    assert!(
        dir.path().join("cut.zip").exists(),
        "the built bundle is kept for a retry"
    );

    proxy.heal();
    upload(&env, dir.path(), "cut", &["--force", "--wait"])
        .await
        .success()
        .stdout_has("condition met");
    backupstore_verdict(
        &env,
        &target,
        &s3.secret(),
        "cut",
        &dir.path().join("cut.zip"),
    );
}
