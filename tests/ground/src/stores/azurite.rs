//! Azure Blob for tests: Azurite 3.35.0 (npm), blob service only.

use std::fs;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;

use super::process::{Server, ServerProcess};
use super::{AZURE_ENDPOINT_SUFFIX, SecretData, install_crypto_provider, make_dir, random_name};
use crate::plane::{free_port, io_err};
use crate::watchdog::Watchdog;
use crate::{Error, tools};

/// An Azurite blob server (`azurite-blob`) with its own account and one container.
pub struct AzuriteServer {
    process: ServerProcess,
    pub account: String,
    pub key: String,
    pub container: String,
}

impl AzuriteServer {
    /// Installs Azurite 3.35.0 (first time), starts it with a fresh account and creates
    /// one container.
    pub async fn start() -> Result<Self, Error> {
        use base64::Engine;
        let bin = tools::install("azurite", None)?;
        let dir = make_dir("longhorn-ground-azurite-")?;
        let watchdog = Watchdog::start(&dir)?;
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
        crate::secrets::remember(&key);
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
        let server = Server {
            name: "azurite-blob",
            command,
            log: dir.join("azurite.log"),
            child: None,
            port,
        };
        let process = ServerProcess::start(dir, watchdog, server, Duration::from_secs(30)).await?;
        let store = AzuriteServer {
            process,
            account,
            key,
            container: random_name("backups"),
        };
        store.create_container(&store.container.clone()).await?;
        Ok(store)
    }

    /// `http://127.0.0.1:<port>` (Azurite's blob endpoint is `<this>/<account>`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.process.port())
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
            self.process.port(),
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
}

/// The process's controls ([`ServerProcess::stop`], `restart`, `freeze`, `thaw`, …).
impl std::ops::Deref for AzuriteServer {
    type Target = ServerProcess;
    fn deref(&self) -> &ServerProcess {
        &self.process
    }
}

impl std::ops::DerefMut for AzuriteServer {
    fn deref_mut(&mut self) -> &mut ServerProcess {
        &mut self.process
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
