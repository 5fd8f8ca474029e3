//! Object stores for tests: an S3 server (s3s-fs, crates.io) and an Azure Blob server
//! (Azurite 3.35.0, npm), each started on a free loopback port with a temporary root,
//! with a bucket/container created, and described the way Longhorn consumes it: the
//! backup-target URL and the credential Secret's keys (longhorn-system-backup.md §5.5).
//!
//! MinIO is not used: it is AGPLv3, which the project's package policy rules out
//! (docs/testing.md, "Object stores").
//!
//! Teardown: `Drop` kills the server (and the TLS proxy) and removes the root. A
//! [`Watchdog`] does the same when the test process dies without running `Drop`.
//!
//! Fault injection: [`S3Server::stop`] kills the server (connections are refused,
//! or reset through the TLS proxy), [`S3Server::restart`] brings it back on the same
//! port with the same data, [`S3Server::freeze`]/[`S3Server::thaw`] stop and continue
//! it (requests hang). Azurite has the same methods.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use object_store::ObjectStore;

use crate::pki::Authority;
use crate::plane::{free_port, io_err};
use crate::watchdog::Watchdog;
use crate::{Error, tools};

/// Region of the S3 backup-target URLs (`s3://<bucket>@us-east-1/`).
pub const S3_REGION: &str = "us-east-1";

/// The endpoint suffix Longhorn users write for Azure (`azblob://<c>@core.windows.net/`);
/// with `AZBLOB_ENDPOINT` set, backupstore ignores it and talks to the endpoint.
pub const AZURE_ENDPOINT_SUFFIX: &str = "core.windows.net";

/// Secret keys of a Longhorn backup-target credential Secret.
pub type SecretData = BTreeMap<String, String>;

/// A server process with its command line, restartable on the same port.
struct Server {
    name: &'static str,
    command: Command,
    log: PathBuf,
    child: Option<Child>,
    port: u16,
}

impl Server {
    fn spawn(&mut self, watchdog: &mut Watchdog) -> Result<(), Error> {
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .map_err(io_err("opening a store log file"))?;
        let log2 = log
            .try_clone()
            .map_err(io_err("opening a store log file"))?;
        let child = self
            .command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .map_err(|source| Error::Io {
                context: format!("starting {}", self.name),
                source,
            })?;
        watchdog.track(child.id())?;
        self.child = Some(child);
        Ok(())
    }

    fn kill(&mut self, watchdog: &mut Watchdog) {
        if let Some(mut child) = self.child.take() {
            // A frozen process still dies on SIGKILL.
            let _ = child.kill();
            let _ = child.wait();
            let _ = watchdog.forget(child.id());
        }
    }

    fn signal(&self, signal: &str) -> Result<(), Error> {
        let child = self
            .child
            .as_ref()
            .ok_or_else(|| Error::Store(format!("{} is not running", self.name)))?;
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(child.id().to_string())
            .status()
            .map_err(io_err("sending a signal to a store"))?;
        if status.success() {
            Ok(())
        } else {
            Err(Error::Store(format!(
                "kill -{signal} {} failed",
                child.id()
            )))
        }
    }

    fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }

    fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    /// Waits until the port answers HTTP (any status: an unauthenticated request gets
    /// 403, which is enough to know the server is serving).
    async fn wait_ready(&mut self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        loop {
            if http_answers(self.port).await {
                return Ok(());
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                return Err(Error::Startup(format!(
                    "{} exited ({status}) before it served\n--- last lines of {} ---\n{}",
                    self.name,
                    self.log.display(),
                    self.log_tail()
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Startup(format!(
                    "{} on port {} did not answer within {timeout:?}\n--- last lines of {} ---\n{}",
                    self.name,
                    self.port,
                    self.log.display(),
                    self.log_tail()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn http_answers(port: u16) -> bool {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let attempt = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .ok()?;
        let request =
            format!("GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.ok()?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await.ok()?;
        Some(head.starts_with(b"HTTP/1."))
    };
    matches!(
        tokio::time::timeout(Duration::from_secs(2), attempt).await,
        Ok(Some(true))
    )
}

fn make_dir(prefix: &str) -> Result<PathBuf, Error> {
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(io_err("creating a store directory"))?;
    Ok(dir.keep())
}

fn random_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

// ---------------------------------------------------------------------------------
// S3: s3s-fs
// ---------------------------------------------------------------------------------

/// An s3s-fs server. Buckets are directories under [`S3Server::root`]; objects are
/// files at `<root>/<bucket>/<key>`, so a test can inspect or corrupt them directly,
/// and `vfs://<root>/<bucket>` ([`S3Server::vfs_url`]) is the same tree as a
/// backupstore `vfs` target.
pub struct S3Server {
    dir: PathBuf,
    server: Server,
    tls: Option<TlsProxy>,
    pub bucket: String,
    pub access_key: String,
    pub secret_key: String,
    // Last: dropped after the server is killed.
    watchdog: Watchdog,
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

    async fn start_with(tls: bool) -> Result<Self, Error> {
        let bin = tools::install("s3s-fs", None)?;
        let dir = make_dir("longhorn-ground-s3-")?;
        let mut watchdog = Watchdog::start(&dir)?;
        let root = dir.join("root");
        fs::create_dir_all(&root).map_err(io_err("creating the s3s-fs root"))?;
        let port = free_port()?;
        let access_key = random_name("ak");
        let secret_key = uuid::Uuid::new_v4().simple().to_string();
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
        let mut server = Server {
            name: "s3s-fs",
            command,
            log: dir.join("s3s-fs.log"),
            child: None,
            port,
        };
        server.spawn(&mut watchdog)?;
        let mut store = S3Server {
            dir,
            server,
            tls: None,
            bucket: random_name("backups"),
            access_key,
            secret_key,
            watchdog,
        };
        store.server.wait_ready(Duration::from_secs(20)).await?;
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
        self.dir.join("root")
    }

    /// The directory of the default bucket.
    pub fn bucket_dir(&self) -> PathBuf {
        self.root().join(&self.bucket)
    }

    /// The bucket's tree as a backupstore `vfs` target (`vfs:///abs/path`).
    pub fn vfs_url(&self) -> String {
        format!("vfs://{}", self.bucket_dir().display())
    }

    /// `http://127.0.0.1:<port>`, or `https://127.0.0.1:<port>` with TLS.
    pub fn endpoint(&self) -> String {
        match &self.tls {
            Some(proxy) => format!("https://127.0.0.1:{}", proxy.port),
            None => format!("http://127.0.0.1:{}", self.server.port),
        }
    }

    /// The plain-HTTP endpoint of s3s-fs itself, bypassing the TLS proxy.
    pub fn backend_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
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

    /// Kills s3s-fs (SIGKILL). The data stays; [`S3Server::restart`] brings it back.
    pub fn stop(&mut self) {
        self.server.kill(&mut self.watchdog);
    }

    /// Starts s3s-fs again on the same port and root and waits until it serves.
    pub async fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        self.server.spawn(&mut self.watchdog)?;
        self.server.wait_ready(Duration::from_secs(20)).await
    }

    /// SIGSTOP: the port accepts connections but nothing answers.
    pub fn freeze(&self) -> Result<(), Error> {
        self.server.signal("STOP")
    }

    /// SIGCONT after [`S3Server::freeze`].
    pub fn thaw(&self) -> Result<(), Error> {
        self.server.signal("CONT")
    }

    pub fn is_running(&mut self) -> bool {
        self.server.is_running()
    }

    /// s3s-fs's log (stdout and stderr).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.server.log).unwrap_or_default()
    }

    /// The directory that holds the root and the log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PID of the running s3s-fs.
    pub fn pid(&self) -> Option<u32> {
        self.server.child.as_ref().map(Child::id)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.tls.take();
        self.server.kill(&mut self.watchdog);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

// ---------------------------------------------------------------------------------
// Azure Blob: Azurite
// ---------------------------------------------------------------------------------

/// An Azurite blob server (`azurite-blob`) with its own account and one container.
pub struct AzuriteServer {
    dir: PathBuf,
    server: Server,
    pub account: String,
    pub key: String,
    pub container: String,
    watchdog: Watchdog,
}

impl AzuriteServer {
    /// Installs Azurite 3.35.0 (first time), starts it with a fresh account and creates
    /// one container.
    pub async fn start() -> Result<Self, Error> {
        use base64::Engine;
        let bin = tools::install("azurite", None)?;
        let dir = make_dir("longhorn-ground-azurite-")?;
        let mut watchdog = Watchdog::start(&dir)?;
        let data = dir.join("data");
        fs::create_dir_all(&data).map_err(io_err("creating the Azurite directory"))?;
        let port = free_port()?;
        // Not Azurite's well-known devstoreaccount1: a test must not pass because some
        // code hard-codes the emulator's account.
        let account = format!(
            "lhground{}",
            &uuid::Uuid::new_v4().simple().to_string()[..8]
        );
        let key_bytes: Vec<u8> = uuid::Uuid::new_v4()
            .as_bytes()
            .iter()
            .chain(uuid::Uuid::new_v4().as_bytes())
            .copied()
            .collect();
        let key = base64::engine::general_purpose::STANDARD.encode(key_bytes);
        let mut command = Command::new(&bin);
        command
            .arg("--blobHost")
            .arg("127.0.0.1")
            .arg("--blobPort")
            .arg(port.to_string())
            .arg("--location")
            .arg(&data)
            .arg("--loose")
            .arg("--skipApiVersionCheck")
            // Azurite sends telemetry by default; the ground talks to loopback only.
            .arg("--disableTelemetry")
            .env("AZURITE_ACCOUNTS", format!("{account}:{key}"));
        let mut server = Server {
            name: "azurite-blob",
            command,
            log: dir.join("azurite.log"),
            child: None,
            port,
        };
        server.spawn(&mut watchdog)?;
        let mut store = AzuriteServer {
            dir,
            server,
            account,
            key,
            container: random_name("backups"),
            watchdog,
        };
        store.server.wait_ready(Duration::from_secs(30)).await?;
        store.create_container(&store.container.clone()).await?;
        Ok(store)
    }

    /// `http://127.0.0.1:<port>` (Azurite's blob endpoint is `<this>/<account>`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.server.port)
    }

    /// The backup-target URL of the default container: `azblob://<container>@core.windows.net/`.
    pub fn target_url(&self) -> String {
        format!("azblob://{}@{AZURE_ENDPOINT_SUFFIX}/", self.container)
    }

    /// The credential Secret's data: `AZBLOB_ACCOUNT_NAME`, `AZBLOB_ACCOUNT_KEY`,
    /// `AZBLOB_ENDPOINT`.
    pub fn secret(&self) -> SecretData {
        let mut data = SecretData::new();
        data.insert("AZBLOB_ACCOUNT_NAME".into(), self.account.clone());
        data.insert("AZBLOB_ACCOUNT_KEY".into(), self.key.clone());
        data.insert("AZBLOB_ENDPOINT".into(), self.endpoint());
        data
    }

    /// Creates a container with a SharedKey-signed `PUT ?restype=container`.
    pub async fn create_container(&self, name: &str) -> Result<(), Error> {
        let path = format!("/{}/{name}", self.account);
        let status = shared_key_request(
            self.server.port,
            &self.account,
            &self.key,
            "PUT",
            &path,
            &[("restype", "container")],
        )
        .await?;
        match status {
            201 | 409 => Ok(()),
            other => Err(Error::Store(format!(
                "creating container {name} in Azurite answered HTTP {other}"
            ))),
        }
    }

    /// An object_store client for the default container.
    pub fn object_store(&self) -> Result<Arc<dyn ObjectStore>, Error> {
        self.object_store_for(&self.container)
    }

    pub fn object_store_for(&self, container: &str) -> Result<Arc<dyn ObjectStore>, Error> {
        use object_store::azure::MicrosoftAzureBuilder;
        install_crypto_provider();
        let store = MicrosoftAzureBuilder::new()
            .with_account(&self.account)
            .with_access_key(&self.key)
            .with_container_name(container)
            .with_endpoint(format!("{}/{}", self.endpoint(), self.account))
            .with_allow_http(true)
            .build()
            .map_err(|e| Error::Store(e.to_string()))?;
        Ok(Arc::new(store))
    }

    pub fn stop(&mut self) {
        self.server.kill(&mut self.watchdog);
    }

    pub async fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        self.server.spawn(&mut self.watchdog)?;
        self.server.wait_ready(Duration::from_secs(30)).await
    }

    pub fn freeze(&self) -> Result<(), Error> {
        self.server.signal("STOP")
    }

    pub fn thaw(&self) -> Result<(), Error> {
        self.server.signal("CONT")
    }

    pub fn is_running(&mut self) -> bool {
        self.server.is_running()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.server.log).unwrap_or_default()
    }

    /// The directory that holds Azurite's data and log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PID of the running Azurite (node).
    pub fn pid(&self) -> Option<u32> {
        self.server.child.as_ref().map(Child::id)
    }
}

impl Drop for AzuriteServer {
    fn drop(&mut self) {
        self.server.kill(&mut self.watchdog);
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Sends a body-less request signed with Azure Storage SharedKey
/// (https://learn.microsoft.com/rest/api/storageservices/authorize-with-shared-key)
/// over plain HTTP/1.1 and returns the status code.
async fn shared_key_request(
    port: u16,
    account: &str,
    key_b64: &str,
    verb: &str,
    path: &str,
    query: &[(&str, &str)],
) -> Result<u16, Error> {
    use base64::Engine;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let b64 = &base64::engine::general_purpose::STANDARD;
    let date = httpdate_now();
    let version = "2021-08-06";
    let mut sorted: Vec<(String, String)> = query
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.to_string()))
        .collect();
    sorted.sort();
    let canonical_query: String = sorted.iter().map(|(k, v)| format!("\n{k}:{v}")).collect();
    // Verb, then Content-Encoding … Range (11 empty standard headers; Content-Length is
    // empty for 0 since version 2015-02-21), the x-ms-* headers, the resource.
    let string_to_sign = format!(
        "{verb}\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n/{account}{path}{canonical_query}"
    );
    let key = b64
        .decode(key_b64)
        .map_err(|e| Error::Store(format!("Azure account key: {e}")))?;
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let signature = b64.encode(ring::hmac::sign(&key, string_to_sign.as_bytes()).as_ref());
    let query_string: Vec<String> = query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let request = format!(
        "{verb} {path}?{} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nx-ms-date: {date}\r\nx-ms-version: {version}\r\nAuthorization: SharedKey {account}:{signature}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        query_string.join("&")
    );
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(io_err("connecting to Azurite"))?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(io_err("writing to Azurite"))?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .await
        .map_err(io_err("reading from Azurite"))?;
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| Error::Store(format!("unexpected answer from Azurite: {text}")))
}

/// The current time as an RFC 7231 HTTP date (`Tue, 01 Jan 2030 00:00:00 GMT`).
fn httpdate_now() -> String {
    jiff::Timestamp::now()
        .strftime("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// object_store's reqwest client uses rustls without a built-in provider (the `ring`
/// choice of the workspace); install ring once per process.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
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

/// Paths used by [`crate::oracles`] and tests: the files of one system backup under a
/// backup target's root (`backupstore/system-backups/<version>/<name>/`).
pub fn system_backup_dir(target_root: &Path, version: &str, name: &str) -> PathBuf {
    target_root
        .join("backupstore")
        .join("system-backups")
        .join(version)
        .join(name)
}

/// The remote key of a system backup's file: `backupstore/system-backups/<v>/<n>/<file>`.
pub fn system_backup_key(version: &str, name: &str, file: &str) -> String {
    format!("backupstore/system-backups/{version}/{name}/{file}")
}

/// A `system-backup.cfg` as backupstore writes it: `encoding/json` of its `Config`
/// struct (no tags, so Go field names in declaration order), compact, no trailing
/// newline; `CreatedAt` in RFC 3339 with nanoseconds; `Checksum` = SHA-256 hex of
/// the zip (longhorn-system-backup.md §5.2). For tests that play a writer.
pub fn system_backup_cfg(
    name: &str,
    version: &str,
    target_url: &str,
    zip: &[u8],
    created_at: &str,
) -> String {
    use sha2::Digest;
    #[derive(serde::Serialize)]
    #[allow(non_snake_case)]
    struct Config<'a> {
        Name: &'a str,
        LonghornVersion: &'a str,
        LonghornGitCommit: &'a str,
        BackupTargetURL: &'a str,
        ManagerImage: String,
        EngineImage: String,
        CreatedAt: &'a str,
        Checksum: String,
    }
    serde_json::to_string(&Config {
        Name: name,
        LonghornVersion: version,
        LonghornGitCommit: "0123456789abcdef0123456789abcdef01234567",
        BackupTargetURL: target_url,
        ManagerImage: format!("longhornio/longhorn-manager:{version}"),
        EngineImage: format!("longhornio/longhorn-engine:{version}"),
        CreatedAt: created_at,
        Checksum: hex::encode(sha2::Sha256::digest(zip)),
    })
    .expect("a serializable cfg")
}
