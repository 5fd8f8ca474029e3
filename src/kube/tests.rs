//! Each kind of failure between the plugin and an API server, against real listeners
//! on loopback: its own error, message and hint.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use super::error::{ConnectProblem, Error, KubeconfigError};
use super::{ConnectOptions, Kube};

/// A kubeconfig for `server`, trusting `ca_pem` when given, with a token user.
fn kubeconfig(dir: &tempfile::TempDir, server: &str, ca_pem: Option<&str>) -> PathBuf {
    use base64::Engine;
    let ca = ca_pem.map_or_else(String::new, |pem| {
        let data = base64::engine::general_purpose::STANDARD.encode(pem);
        format!("\n    certificate-authority-data: {data}")
    });
    let text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}{ca}\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: t\n"
    );
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

fn options(kubeconfig: PathBuf, timeout: Option<Duration>) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: Some(kubeconfig),
        request_timeout: timeout,
        ..ConnectOptions::default()
    }
}

/// GET /version through a client built from `options`.
async fn request(options: &ConnectOptions) -> Error {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kube = match Kube::connect(options).await {
        Ok(kube) => kube,
        Err(e) => return e,
    };
    kube.server_version()
        .await
        .expect_err("the request should fail")
}

/// A server on loopback that answers every connection with `answer`, once the request
/// is read (`None`: accepts and never answers).
fn server(answer: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            match answer {
                Some(answer) => answer_once(stream, answer),
                None => held.push(stream),
            }
        }
    });
    format!("http://{address}")
}

fn answer_once(mut stream: TcpStream, answer: &[u8]) {
    let mut buffer = [0u8; 4096];
    let _ = stream.read(&mut buffer);
    let _ = stream.write_all(answer);
}

#[tokio::test]
async fn a_closed_port_is_a_refused_connection() {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let server = format!("http://127.0.0.1:{port}");
    let error = request(&options(kubeconfig(&dir, &server, None), None)).await;
    assert!(
        matches!(
            &error,
            Error::Connect {
                problem: ConnectProblem::Refused,
                ..
            }
        ),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "Unable to connect to the server {server}: the connection was refused"
        )),
        "{text}"
    );
    assert!(
        text.contains("check the server in the kubeconfig"),
        "{text}"
    );
}

#[tokio::test]
async fn an_untrusted_certificate_is_a_tls_failure() {
    // The server's certificate is its own; the kubeconfig trusts another authority.
    let served = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
    let mut authority = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    authority
        .distinguished_name
        .push(rcgen::DnType::CommonName, "another authority");
    let trusted = authority
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![served.cert.der().clone()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(served.signing_key.serialize_der().into()),
    )
    .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let _ = connection.complete_io(&mut stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let server = format!("https://{address}");
    let path = kubeconfig(&dir, &server, Some(&trusted.pem()));
    let error = request(&options(path, None)).await;
    let Error::Connect {
        problem: ConnectProblem::Tls(detail),
        ..
    } = &error
    else {
        panic!("not a TLS failure: {error:?}");
    };
    assert!(detail.contains("UnknownIssuer"), "{detail}");
    let text = error.to_string();
    assert!(text.contains("the TLS handshake failed"), "{text}");
    assert!(text.contains("certificate-authority-data"), "{text}");
}

#[tokio::test]
async fn a_body_that_does_not_decode_is_named() {
    let server = server(Some(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 17\r\nConnection: close\r\n\r\n<html>proxy</html",
    ));
    let dir = tempfile::tempdir().unwrap();
    let error = request(&options(kubeconfig(&dir, &server, None), None)).await;
    assert!(matches!(&error, Error::Decode { .. }), "{error:?}");
    let text = error.to_string();
    assert!(
        text.starts_with(&format!(
            "the server {server} answered with something that is not a Kubernetes API response"
        )),
        "{text}"
    );
    assert!(text.contains("not at a proxy or web page"), "{text}");
}

#[tokio::test]
async fn no_answer_within_the_request_timeout_is_a_timeout() {
    let server = server(None);
    let dir = tempfile::tempdir().unwrap();
    let path = kubeconfig(&dir, &server, None);
    let started = std::time::Instant::now();
    let error = request(&options(path, Some(Duration::from_secs(1)))).await;
    assert!(
        matches!(
            &error,
            Error::Connect {
                problem: ConnectProblem::TimedOut,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let text = error.to_string();
    assert!(
        text.starts_with("Unable to connect to the server"),
        "{text}"
    );
    assert!(text.contains("--request-timeout"), "{text}");
}

#[tokio::test]
async fn rejected_credentials_say_to_log_in_again() {
    let server = server(Some(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nContent-Length: 128\r\nConnection: close\r\n\r\n{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},\"status\":\"Failure\",\"message\":\"Unauthorized\",\"reason\":\"Unauthorized\",\"code\":401}",
    ));
    let dir = tempfile::tempdir().unwrap();
    let error = request(&options(kubeconfig(&dir, &server, None), None)).await;
    assert!(matches!(&error, Error::Unauthorized(_)), "{error:?}");
    assert!(error.to_string().contains("log in again"));
}

#[tokio::test]
async fn kubeconfig_problems_name_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    let error = request(&options(missing.clone(), None)).await;
    assert!(
        matches!(&error, Error::Kubeconfig(k) if matches!(&**k, KubeconfigError::Missing(path) if *path == missing)),
        "{error:?}"
    );
    assert!(error.to_string().contains("check the --kubeconfig path"));

    let path = kubeconfig(&dir, "http://127.0.0.1:1", None);
    let mut wrong_context = options(path, None);
    wrong_context.context = Some("prod".into());
    let error = request(&wrong_context).await;
    assert_eq!(
        error.to_string(),
        "could not load the kubeconfig: context \"prod\" is not in the kubeconfig (it has: c); see kubectl config get-contexts"
    );

    let garbled = dir.path().join("garbled");
    std::fs::write(&garbled, "clusters: [").unwrap();
    let error = request(&options(garbled, None)).await;
    assert!(
        matches!(&error, Error::Kubeconfig(k) if matches!(**k, KubeconfigError::Unreadable { .. })),
        "{error:?}"
    );
}
