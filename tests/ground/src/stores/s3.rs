//! S3 for tests: s3s-fs (crates.io), optionally behind a TLS proxy for `AWS_CERT`.

use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;

use super::process::{Server, ServerProcess};
use super::{S3_REGION, SecretData, install_crypto_provider, make_dir, random_name};
use crate::faults::FaultProxy;
use crate::pki::Authority;
use crate::plane::{free_port, io_err};
use crate::watchdog::Watchdog;
use crate::{Error, tools};

/// An s3s-fs server. Buckets are directories under [`S3Server::root`]; objects are
/// files at `<root>/<bucket>/<key>`, so a test can inspect or corrupt them directly,
/// and `vfs://<root>/<bucket>` ([`S3Server::vfs_url`]) is the same tree as a
/// backupstore `vfs` target.
pub struct S3Server {
    // First: the proxies stop before the server they front.
    tls: Option<TlsProxy>,
    faults: Option<FaultProxy>,
    process: ServerProcess,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
}

impl S3Server {
    /// Builds s3s-fs (first time) and starts it over plain HTTP with one bucket.
    pub async fn start() -> Result<Self, Error> {
        Self::start_with(false).await
    }

    /// Like [`S3Server::start`] behind a TLS proxy whose certificate chains to a fresh
    /// CA ([`S3Server::ca_pem`]); the Secret then carries `AWS_CERT`.
    pub async fn start_tls() -> Result<Self, Error> {
        Self::start_with(true).await
    }

    /// Like [`S3Server::start`] behind a [`FaultProxy`] ([`S3Server::faults`]): the
    /// endpoint is the proxy's, so a test can make the store throttle (`503
    /// SlowDown`), fail (`500 InternalError`) or hold a request.
    pub async fn start_with_faults() -> Result<Self, Error> {
        let mut store = Self::start_with(false).await?;
        store.faults = Some(FaultProxy::start(store.process.port())?);
        Ok(store)
    }

    /// The fault proxy in front of the server (only after [`S3Server::start_with_faults`]).
    pub fn faults(&self) -> &FaultProxy {
        self.faults
            .as_ref()
            .expect("an S3Server started with start_with_faults")
    }

    async fn start_with(tls: bool) -> Result<Self, Error> {
        let bin = tools::install("s3s-fs", None)?;
        let dir = make_dir("longhorn-ground-s3-")?;
        let watchdog = Watchdog::start(&dir)?;
        let root = dir.join("root");
        fs::create_dir_all(&root).map_err(io_err("creating the s3s-fs root"))?;
        let port = free_port()?;
        let access_key = random_name("ak");
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
        crate::secrets::remember(&secret_key);
        let mut command = Command::new(&bin);
        command
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .arg("--access-key")
            .arg(&access_key)
            .arg("--secret-key")
            .arg(&secret_key)
            .arg(&root)
            .env("RUST_LOG", "s3s_fs=info,s3s=info");
        let server = Server {
            name: "s3s-fs",
            command,
            log: dir.join("s3s-fs.log"),
            child: None,
            port,
        };
        let process = ServerProcess::start(dir, watchdog, server, Duration::from_secs(20)).await?;
        let mut store = S3Server {
            tls: None,
            faults: None,
            process,
            bucket: random_name("backups"),
            access_key,
            secret_key,
        };
        store.create_bucket(&store.bucket.clone())?;
        if tls {
            store.tls = Some(TlsProxy::start(port)?);
        }
        Ok(store)
    }

    /// Creates another bucket (s3s-fs: a directory under the root).
    pub fn create_bucket(&self, name: &str) -> Result<(), Error> {
        fs::create_dir_all(self.root().join(name)).map_err(io_err("creating an s3s-fs bucket"))
    }

    /// s3s-fs's data root: `<root>/<bucket>/<key>`.
    pub fn root(&self) -> PathBuf {
        self.process.dir().join("root")
    }

    /// The directory of the default bucket.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root().join(&self.bucket)
    }

    /// The bucket's tree as a backupstore `vfs` target (`vfs:///abs/path`).
    pub fn vfs_url(&self) -> String {
        format!("vfs://{}", self.bucket_dir().display())
    }

    /// `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` with TLS; the fault
    /// proxy's when there is one.
    pub fn endpoint(&self) -> String {
        match (&self.tls, &self.faults) {
            (Some(proxy), _) => format!("https://127.0.0.1:{}", proxy.port),
            (None, Some(faults)) => faults.endpoint(),
            (None, None) => format!("http://127.0.0.1:{}", self.process.port()),
        }
    }

    /// The plain-HTTP endpoint of s3s-fs itself, bypassing the TLS proxy.
    pub fn backend_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.process.port())
    }

    /// The CA that signed the TLS proxy's certificate (PEM), if TLS is on.
    pub fn ca_pem(&self) -> Option<&str> {
        self.tls.as_ref().map(|t| t.ca_pem.as_str())
    }

    /// The backup-target URL of the default bucket: `s3://<bucket>@us-east-1/`.
    pub fn target_url(&self) -> String {
        format!("s3://{}@{S3_REGION}/", self.bucket)
    }

    /// The credential Secret's data: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_ENDPOINTS` (which makes backupstore use path-style requests), and
    /// `AWS_CERT` with TLS.
    pub fn secret(&self) -> SecretData {
        let mut data = SecretData::new();
        data.insert("AWS_ACCESS_KEY_ID".into(), self.access_key.clone());
        data.insert("AWS_SECRET_ACCESS_KEY".into(), self.secret_key.clone());
        data.insert("AWS_ENDPOINTS".into(), self.endpoint());
        if let Some(ca) = self.ca_pem() {
            data.insert("AWS_CERT".into(), ca.to_string());
        }
        data
    }

    /// An object_store client for the default bucket (trusting the TLS CA if any).
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>, Error> {
        self.object_store_for(&self.bucket)
    }

    pub fn object_store_for(&self, bucket: &str) -> Result<Arc<dyn ObjectStore>, Error> {
        use object_store::aws::AmazonS3Builder;
        install_crypto_provider();
        let mut options = object_store::ClientOptions::new().with_allow_http(true);
        if let Some(ca) = self.ca_pem() {
            let cert = object_store::Certificate::from_pem(ca.as_bytes())
                .map_err(|e| Error::Store(e.to_string()))?;
            options = options.with_root_certificate(cert);
        }
        let store = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(S3_REGION)
            .with_endpoint(self.endpoint())
            .with_access_key_id(&self.access_key)
            .with_secret_access_key(&self.secret_key)
            .with_virtual_hosted_style_request(false)
            .with_client_options(options)
            .build()
            .map_err(|e| Error::Store(e.to_string()))?;
        Ok(Arc::new(store))
    }
}

/// The process's controls ([`ServerProcess::stop`], `restart`, `freeze`, `thaw`, …).
impl std::ops::Deref for S3Server {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl std::ops::DerefMut for S3Server {
    fn deref_mut(&mut self) -> &mut ServerProcess {
        &mut self.process
    }
}

// ---------------------------------------------------------------------------------
// TLS in front of s3s-fs (for the AWS_CERT custom-CA case)
// ---------------------------------------------------------------------------------

/// A TLS-terminating TCP proxy to a loopback port, on its own thread and runtime so it
/// outlives any one test's runtime. Its certificate is for `localhost` and
/// `127.0.0.1`, signed by a fresh CA.
struct TlsProxy {
    port: u16,
    ca_pem: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TlsProxy {
    fn start(backend: u16) -> Result<Self, Error> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let authority = Authority::new("longhorn-ground-s3-ca")?;
        let pair = authority.serving("s3s-fs")?;
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_slice_iter(pair.cert_pem.as_bytes())
                .collect::<Result<_, _>>()
                .map_err(|e| Error::Store(format!("TLS certificate: {e}")))?;
        let key = PrivateKeyDer::from_pem_slice(pair.key_pem.as_bytes())
            .map_err(|e| Error::Store(format!("TLS key: {e}")))?;
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Store(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| Error::Store(e.to_string()))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").map_err(io_err("binding the TLS proxy"))?;
        listener
            .set_nonblocking(true)
            .map_err(io_err("binding the TLS proxy"))?;
        let port = listener
            .local_addr()
            .map_err(io_err("binding the TLS proxy"))?
            .port();
        let (shutdown, mut stop) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("s3-tls-proxy".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a tokio runtime for the TLS proxy");
                runtime.block_on(async move {
                    let listener = tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                    loop {
                        tokio::select! {
                            _ = &mut stop => break,
                            accepted = listener.accept() => {
                                let Ok((client, _)) = accepted else { continue };
                                let acceptor = acceptor.clone();
                                tokio::spawn(async move {
                                    let Ok(mut tls) = acceptor.accept(client).await else { return };
                                    let Ok(mut upstream) = tokio::net::TcpStream::connect(("127.0.0.1", backend)).await else {
                                        return;
                                    };
                                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                                });
                            }
                        }
                    }
                });
            })
            .map_err(io_err("starting the TLS proxy thread"))?;
        Ok(TlsProxy {
            port,
            ca_pem: authority.ca_pem(),
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

impl Drop for TlsProxy {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
