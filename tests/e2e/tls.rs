//! TLS and proxies as kubectl has them: a CA that does not match the server is
//! refused with one clear line (never downgraded), `insecure-skip-tls-verify: true` is
//! honoured, a kubeconfig `proxy-url` carries the requests, and `HTTPS_PROXY` is not
//! used for a loopback server (Go's rule, which kubectl follows).

use std::sync::{Arc, Mutex};

use base64::Engine;
use longhorn_ground::pki::Authority;
use longhorn_ground::plane;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use crate::harness::{self, Run, longhorn};

/// The admin kubeconfig of `env` with its cluster entry changed by `edit`.
fn kubeconfig_with(env: &longhorn_ground::Longhorn, edit: impl FnOnce(&mut Value)) -> String {
    let mut config: Value =
        serde_saphyr::from_str(&env.plane().kubeconfig_yaml(plane::ADMIN, None)).unwrap();
    edit(&mut config["clusters"][0]["cluster"]);
    serde_json::to_string(&config).unwrap() // JSON is YAML
}

async fn list_with(
    kubeconfig: &str,
    env: &longhorn_ground::Longhorn,
    extra: &[(&str, &str)],
) -> (Run, Run) {
    let ours = list_by(Lister::Plugin, kubeconfig, env, extra).await;
    let theirs = list_by(Lister::Kubectl, kubeconfig, env, extra).await;
    (ours, theirs)
}

/// Who lists the SystemBackups.
#[derive(Clone, Copy)]
enum Lister {
    Plugin,
    Kubectl,
}

/// `list` by the plugin, or `kubectl get systembackups.longhorn.io`, with `kubeconfig`.
async fn list_by(
    lister: Lister,
    kubeconfig: &str,
    env: &longhorn_ground::Longhorn,
    extra: &[(&str, &str)],
) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, kubeconfig).unwrap();
    let mut args = vec![
        "--kubeconfig".to_string(),
        path.display().to_string(),
        "-n".into(),
        env.namespace().to_string(),
    ];
    match lister {
        Lister::Plugin => {
            args.push("list".into());
            harness::run(harness::binary(), args, extra).await
        }
        Lister::Kubectl => {
            args.extend(["get".into(), "systembackups.longhorn.io".into()]);
            harness::run("kubectl", args, extra).await
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ca_that_does_not_match_is_refused_and_skip_verify_is_honoured() {
    let env = longhorn().await;
    harness::create_backup(&env, "tls-check", false).await;

    let stranger = Authority::new("someone-else").unwrap();
    let wrong_ca = kubeconfig_with(&env, |cluster| {
        cluster["certificate-authority-data"] = base64::engine::general_purpose::STANDARD
            .encode(stranger.ca_pem())
            .into();
    });
    let (ours, theirs) = list_with(&wrong_ca, &env, &[]).await;
    assert_ne!(theirs.code, 0, "kubectl refuses the wrong CA too");
    ours.failure(1).one_line_error().stderr_has("certificate");
    assert!(!ours.stdout.contains("tls-check"), "nothing was read");

    let skip = kubeconfig_with(&env, |cluster| {
        let object = cluster.as_object_mut().unwrap();
        object.remove("certificate-authority-data");
        object.insert("insecure-skip-tls-verify".into(), true.into());
    });
    let (ours, theirs) = list_with(&skip, &env, &[]).await;
    theirs.success();
    ours.success().stdout_has("tls-check");
}

/// An HTTP CONNECT proxy on loopback that tunnels and records the targets it was asked for.
async fn connect_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recorded = seen.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let recorded = recorded.clone();
            tokio::spawn(async move {
                let mut client = BufReader::new(client);
                let mut request = String::new();
                if client.read_line(&mut request).await.is_err() {
                    return;
                }
                loop {
                    let mut header = String::new();
                    if client.read_line(&mut header).await.unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                }
                let Some(target) = request
                    .strip_prefix("CONNECT ")
                    .and_then(|r| r.split(' ').next())
                else {
                    return;
                };
                recorded.lock().unwrap().push(target.to_string());
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let mut client = client.into_inner();
                if client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .is_ok()
                {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                }
            });
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxies_are_used_the_way_kubectl_uses_them() {
    let env = longhorn().await;
    harness::create_backup(&env, "proxied", false).await;
    let server = env
        .plane()
        .server
        .trim_start_matches("https://")
        .to_string();

    // A kubeconfig proxy-url carries every request.
    let (port, seen) = connect_proxy().await;
    let proxied = kubeconfig_with(&env, |cluster| {
        cluster["proxy-url"] = format!("http://127.0.0.1:{port}").into();
    });
    // One at a time, so that each one's tunnels are its own.
    let theirs = list_by(Lister::Kubectl, &proxied, &env, &[]).await;
    theirs.success();
    let kubectl_tunnels = std::mem::take(&mut *seen.lock().unwrap());
    assert!(
        kubectl_tunnels.contains(&server),
        "kubectl went through the proxy: {kubectl_tunnels:?}"
    );
    let ours = list_by(Lister::Plugin, &proxied, &env, &[]).await;
    ours.success().stdout_has("proxied");
    let our_tunnels = seen.lock().unwrap().clone();
    assert!(
        our_tunnels.contains(&server),
        "the plugin went through the proxy: {our_tunnels:?}"
    );

    // HTTPS_PROXY does not apply to a loopback server: a dead proxy changes nothing.
    let dead = format!("http://127.0.0.1:{}", plane::free_port().unwrap());
    let plain = env.plane().kubeconfig_yaml(plane::ADMIN, None);
    let env_proxy = [
        ("HTTPS_PROXY", dead.as_str()),
        ("https_proxy", dead.as_str()),
    ];
    let (ours, theirs) = list_with(&plain, &env, &env_proxy).await;
    theirs.success();
    ours.success().stdout_has("proxied");
}
