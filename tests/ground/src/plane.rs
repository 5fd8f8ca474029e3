//! etcd + kube-apiserver started the way envtest starts them
//! (`kubernetes-sigs/controller-runtime:pkg/internal/testing/controlplane`): loopback, free ports, static tokens and client
//! certificates, readiness polled on `/readyz`.
//!
//! Teardown covers every exit path. `Drop` kills both processes and removes the
//! directory. For paths where `Drop` never runs (a `static` plane, a panic that aborts,
//! Ctrl-C, SIGKILL) a watchdog shell holds the read end of a pipe whose write end only
//! this process holds: when this process dies for any reason the pipe closes, and the
//! watchdog kills the processes and removes the directory.

use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::pki::{self, Authority, CertPair};
use crate::watchdog::Watchdog;
use crate::{Error, tools};

/// A user the apiserver knows by a static bearer token.
#[derive(Clone, Debug)]
pub struct TokenUser {
    pub name: String,
    pub token: String,
    pub groups: Vec<String>,
}

/// The users every plane has. `admin` is in `system:masters`; the others have no
/// permissions until a test binds a role to them.
pub const ADMIN: &str = "admin";
pub const LIMITED: &str = "limited";

pub struct ControlPlane {
    dir: PathBuf,
    pub server: String,
    pub ca_pem: String,
    pub kubernetes_version: String,
    users: Vec<TokenUser>,
    authority: Authority,
    /// etcd (the apiserver is apart: tests may stop and restart it).
    processes: Mutex<Vec<Child>>,
    apiserver: Mutex<Option<Child>>,
    /// How the apiserver is started: its binary and flags.
    apiserver_command: (PathBuf, Vec<String>),
    watchdog: Mutex<Option<Watchdog>>,
}

impl ControlPlane {
    /// Builds (first time) and starts etcd and kube-apiserver.
    pub async fn start() -> Result<Self, Error> {
        // Free ports are found by binding :0 and releasing; another process can take
        // one before etcd or the apiserver binds it. Such a start fails at once, so a
        // fresh attempt with new ports is the cure.
        let mut attempts = 0;
        loop {
            attempts += 1;
            match Self::start_once().await {
                Err(Error::Startup(message)) if attempts < 3 && message.contains("exited") => {
                    tracing::warn!("control plane start failed, retrying: {message}");
                }
                other => return other,
            }
        }
    }

    async fn start_once() -> Result<Self, Error> {
        let etcd_bin = tools::install("etcd", None)?;
        let apiserver_bin = tools::install("kube-apiserver", None)?;
        let dir = make_dir()?;
        let watchdog = Watchdog::start(&dir)?;
        let mut plane = ControlPlane {
            dir: dir.clone(),
            server: String::new(),
            ca_pem: String::new(),
            kubernetes_version: String::new(),
            users: Vec::new(),
            authority: Authority::new("longhorn-ground-ca")?,
            processes: Mutex::new(Vec::new()),
            apiserver: Mutex::new(None),
            apiserver_command: (apiserver_bin.clone(), Vec::new()),
            // Registered first so that an error below still tears down what started.
            watchdog: Mutex::new(Some(watchdog)),
        };

        let etcd_port = free_port()?;
        let etcd_url = format!("http://127.0.0.1:{etcd_port}");
        let etcd = Command::new(&etcd_bin)
            .arg("--data-dir")
            .arg(dir.join("etcd"))
            .arg(format!("--listen-client-urls={etcd_url}"))
            .arg(format!("--advertise-client-urls={etcd_url}"))
            .arg("--listen-peer-urls=http://127.0.0.1:0")
            .arg("--unsafe-no-fsync=true")
            .arg("--log-level=error")
            .stdout(log_file(&dir, "etcd.log")?)
            .stderr(log_file(&dir, "etcd.log")?)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| Error::Io {
                context: format!("starting {}", etcd_bin.display()),
                source,
            })?;
        plane.track(etcd)?;
        if let Err(e) = plane
            .wait_for_etcd(etcd_port, Duration::from_secs(20))
            .await
        {
            return Err(plane.with_log(e, "etcd.log"));
        }

        let certs = dir.join("certs");
        fs::create_dir_all(&certs).map_err(io_err("creating the certificate directory"))?;
        let serving = plane.authority.serving("kube-apiserver")?;
        write_secret(&certs.join("apiserver.crt"), &serving.cert_pem)?;
        write_secret(&certs.join("apiserver.key"), &serving.key_pem)?;
        plane.ca_pem = plane.authority.ca_pem();
        write_secret(&certs.join("ca.crt"), &plane.ca_pem)?;
        let (sa_private, sa_public) = pki::signing_key_pair()?;
        write_secret(&certs.join("sa.key"), &sa_private)?;
        write_secret(&certs.join("sa.pub"), &sa_public)?;
        plane.users = vec![
            TokenUser {
                name: ADMIN.into(),
                token: random_token(),
                groups: vec!["system:masters".into()],
            },
            TokenUser {
                name: LIMITED.into(),
                token: random_token(),
                groups: vec![],
            },
        ];
        let tokens: String = plane
            .users
            .iter()
            .map(|u| {
                format!(
                    "{},{},{},\"{}\"\n",
                    u.token,
                    u.name,
                    u.name,
                    u.groups.join(",")
                )
            })
            .collect();
        write_secret(&certs.join("tokens.csv"), &tokens)?;

        let port = free_port()?;
        plane.server = format!("https://127.0.0.1:{port}");
        let apiserver_args: Vec<String> = vec![
            format!("--etcd-servers={etcd_url}"),
            format!("--cert-dir={}", certs.display()),
            format!("--tls-cert-file={}", certs.join("apiserver.crt").display()),
            format!(
                "--tls-private-key-file={}",
                certs.join("apiserver.key").display()
            ),
            format!("--client-ca-file={}", certs.join("ca.crt").display()),
            format!("--token-auth-file={}", certs.join("tokens.csv").display()),
            format!("--secure-port={port}"),
            "--bind-address=127.0.0.1".to_string(),
            "--advertise-address=127.0.0.1".to_string(),
            "--service-cluster-ip-range=10.0.0.0/24".to_string(),
            "--allow-privileged=true".to_string(),
            "--disable-admission-plugins=ServiceAccount".to_string(),
            "--authorization-mode=RBAC".to_string(),
            format!("--service-account-issuer=https://127.0.0.1:{port}/"),
            format!(
                "--service-account-key-file={}",
                certs.join("sa.pub").display()
            ),
            format!(
                "--service-account-signing-key-file={}",
                certs.join("sa.key").display()
            ),
            "--endpoint-reconciler-type=none".to_string(),
            "--profiling=false".to_string(),
            "--v=0".to_string(),
        ];
        plane.apiserver_command = (apiserver_bin.clone(), apiserver_args);
        if let Err(e) = plane.start_apiserver(&[]).await {
            return Err(plane.with_log(e, "kube-apiserver.log"));
        }
        plane.kubernetes_version = version_of(&apiserver_bin)?;
        plane.write_kubeconfig(&plane.kubeconfig_path(), ADMIN)?;
        plane.start_garbage_collector()?;
        Ok(plane)
    }

    /// kube-controller-manager with only its garbage collector, which deletes objects
    /// whose owner is gone (a RecurringJob's CronJob, a SystemRestore's Job) as in any
    /// cluster. No other controller runs: nothing schedules pods or runs Jobs.
    fn start_garbage_collector(&mut self) -> Result<(), Error> {
        let binary = tools::install("kube-controller-manager", None)?;
        let port = free_port()?;
        let child = Command::new(&binary)
            .arg(format!("--kubeconfig={}", self.kubeconfig_path().display()))
            .arg(format!(
                "--authentication-kubeconfig={}",
                self.kubeconfig_path().display()
            ))
            .arg(format!(
                "--authorization-kubeconfig={}",
                self.kubeconfig_path().display()
            ))
            .arg("--controllers=garbagecollector")
            .arg("--leader-elect=false")
            .arg("--use-service-account-credentials=false")
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--secure-port={port}"))
            .arg(format!(
                "--cert-dir={}",
                self.dir.join("kcm-certs").display()
            ))
            .arg("--concurrent-gc-syncs=5")
            .arg("--v=0")
            .stdout(log_file(&self.dir, "kube-controller-manager.log")?)
            .stderr(log_file(&self.dir, "kube-controller-manager.log")?)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| Error::Io {
                context: format!("starting {}", binary.display()),
                source,
            })?;
        self.track(child)
    }

    /// Directory that holds this plane's files; removed with the plane.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The admin kubeconfig (user `admin` in `system:masters`).
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }

    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    pub fn user(&self, name: &str) -> &TokenUser {
        self.users
            .iter()
            .find(|u| u.name == name)
            .expect("a known ground user")
    }

    /// A kubeconfig YAML for a token user (`None` token = the user's real one).
    pub fn kubeconfig_yaml(&self, user: &str, token: Option<&str>) -> String {
        let token = token.unwrap_or(&self.user(user).token).to_string();
        kubeconfig_yaml(
            &self.server,
            &self.ca_pem,
            "ground",
            user,
            &UserAuth::Token(token),
        )
    }

    /// A kubeconfig YAML authenticating with a client certificate.
    pub fn kubeconfig_with_cert(&self, user: &str, groups: &[&str]) -> Result<String, Error> {
        let pair = self.authority.client(user, groups)?;
        Ok(kubeconfig_yaml(
            &self.server,
            &self.ca_pem,
            "ground",
            user,
            &UserAuth::Cert(pair),
        ))
    }

    pub fn write_kubeconfig(&self, path: &Path, user: &str) -> Result<(), Error> {
        write_secret(path, &self.kubeconfig_yaml(user, None))
    }

    /// A kube client for the admin user, bound to the caller's tokio runtime.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        client_from_yaml(&self.kubeconfig_yaml(ADMIN, None)).await
    }

    fn watch(&self, pid: u32) -> Result<(), Error> {
        if let Some(watchdog) = self.watchdog.lock().expect("watchdog lock").as_mut() {
            watchdog.track(pid)?;
        }
        Ok(())
    }

    fn track(&self, child: Child) -> Result<(), Error> {
        self.watch(child.id())?;
        self.processes.lock().expect("processes lock").push(child);
        Ok(())
    }

    /// The exit status of the first tracked process that is no longer running.
    fn exited(&self) -> Option<std::process::ExitStatus> {
        let etcd = self
            .processes
            .lock()
            .expect("processes lock")
            .iter_mut()
            .find_map(|child| child.try_wait().ok().flatten());
        etcd.or_else(|| {
            self.apiserver
                .lock()
                .expect("apiserver lock")
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten())
        })
    }

    /// Starts kube-apiserver with its usual flags plus `extra` (a later flag wins), and
    /// waits until it is ready. Tests use it after [`Self::stop_apiserver`], e.g. to
    /// restart with tiny request limits, on a plane of their own.
    pub async fn start_apiserver(&self, extra: &[&str]) -> Result<(), Error> {
        let (bin, args) = &self.apiserver_command;
        let child = Command::new(bin)
            .args(args)
            .args(extra)
            .stdout(log_file(&self.dir, "kube-apiserver.log")?)
            .stderr(log_file(&self.dir, "kube-apiserver.log")?)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|source| Error::Io {
                context: format!("starting {}", bin.display()),
                source,
            })?;
        self.watch(child.id())?;
        *self.apiserver.lock().expect("apiserver lock") = Some(child);
        self.wait_ready(Duration::from_secs(60)).await
    }

    /// Stops kube-apiserver at once (SIGKILL), as a crash or a node reboot would;
    /// etcd keeps the data.
    pub fn stop_apiserver(&self) {
        let child = self.apiserver.lock().expect("apiserver lock").take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
            if let Some(watchdog) = self.watchdog.lock().expect("watchdog lock").as_mut() {
                let _ = watchdog.forget(child.id());
            }
        }
    }

    fn with_log(&self, error: Error, log: &str) -> Error {
        let text = fs::read_to_string(self.dir.join(log)).unwrap_or_default();
        // klog's error and fatal lines start with E or F and a date; they say why.
        let errors: Vec<&str> = text
            .lines()
            .filter(|l| {
                (l.starts_with('E') || l.starts_with('F'))
                    && l.chars().nth(1).is_some_and(|c| c.is_ascii_digit())
            })
            .take(5)
            .collect();
        let tail: Vec<&str> = text.lines().rev().take(10).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        Error::Startup(format!(
            "{error}\n--- errors in {log} ---\n{}\n--- last lines of {log} ---\n{}",
            errors.join("\n"),
            tail.join("\n")
        ))
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        self.stop_apiserver();
        for child in self
            .processes
            .get_mut()
            .expect("processes lock")
            .iter_mut()
            .rev()
        {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_dir_all(&self.dir);
        // Dropping the watchdog closes its pipe; it finds nothing left to do.
        self.watchdog.get_mut().expect("watchdog lock").take();
    }
}

pub enum UserAuth {
    Token(String),
    Cert(CertPair),
}

pub fn kubeconfig_yaml(
    server: &str,
    ca_pem: &str,
    name: &str,
    user: &str,
    auth: &UserAuth,
) -> String {
    use base64::Engine;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let user_block = match auth {
        UserAuth::Token(token) => format!("    token: {token}\n"),
        UserAuth::Cert(pair) => format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            encode(pair.cert_pem.as_bytes()),
            encode(pair.key_pem.as_bytes())
        ),
    };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\n    certificate-authority-data: {ca}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {user}\ncurrent-context: {name}\nusers:\n- name: {user}\n  user:\n{user_block}",
        ca = encode(ca_pem.as_bytes()),
    )
}

pub async fn client_from_yaml(yaml: &str) -> Result<kube::Client, Error> {
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(yaml).map_err(|e| Error::Kube(e.to_string()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| Error::Kube(e.to_string()))?;
    kube::Client::try_from(config).map_err(|e| Error::Kube(e.to_string()))
}

fn make_dir() -> Result<PathBuf, Error> {
    let dir = tempfile::Builder::new()
        .prefix("longhorn-ground-")
        .tempdir()
        .map_err(io_err("creating the ground directory"))?;
    Ok(dir.keep())
}

/// Asks the kernel for a free loopback port. The port is released before the server
/// binds it; a clash is rare and shows up as a startup error naming the log.
pub fn free_port() -> Result<u16, Error> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(io_err("finding a free loopback port"))?;
    Ok(listener
        .local_addr()
        .map_err(io_err("finding a free loopback port"))?
        .port())
}

fn log_file(dir: &Path, name: &str) -> Result<fs::File, Error> {
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .map_err(io_err("opening a ground log file"))
}

pub(crate) fn write_secret(path: &Path, contents: &str) -> Result<(), Error> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = fs::OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .mode(0o600)
        .open(path)
        .map_err(io_err("writing a ground file"))?;
    file.write_all(contents.as_bytes())
        .map_err(io_err("writing a ground file"))
}

fn random_token() -> String {
    let token = uuid::Uuid::new_v4().simple().to_string();
    crate::secrets::remember(&token);
    token
}

fn version_of(apiserver: &Path) -> Result<String, Error> {
    let out = Command::new(apiserver)
        .arg("--version")
        .output()
        .map_err(io_err("running kube-apiserver --version"))?;
    // "Kubernetes v1.33.13"
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_string())
}

impl ControlPlane {
    /// Polls etcd's `/health` with a bare HTTP/1.0 request until it answers 200.
    async fn wait_for_etcd(&self, port: u16, timeout: Duration) -> Result<(), Error> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(Error::Startup(format!(
                    "etcd exited ({status}) before it became healthy"
                )));
            }
            if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
                let mut response = Vec::new();
                if stream
                    .write_all(b"GET /health HTTP/1.0\r\n\r\n")
                    .await
                    .is_ok()
                    && stream.read_to_end(&mut response).await.is_ok()
                    && response.starts_with(b"HTTP/1.0 200")
                {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(Error::Startup(format!(
                    "etcd on port {port} did not become healthy within {timeout:?}"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl ControlPlane {
    /// Polls `/readyz` (readable anonymously) until the apiserver answers `ok`.
    async fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let deadline = Instant::now() + timeout;
        let client = self.client().await?;
        loop {
            let request = http::Request::get("/readyz")
                .body(Vec::new())
                .expect("a valid request");
            if let Ok(text) = client.request_text(request).await
                && text.trim() == "ok"
            {
                return Ok(());
            }
            if let Some(status) = self.exited() {
                return Err(Error::Startup(format!(
                    "kube-apiserver exited ({status}) before it became ready"
                )));
            }
            if Instant::now() > deadline {
                return Err(Error::Startup(format!(
                    "{} did not become ready within {timeout:?}",
                    self.server
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub(crate) fn io_err(context: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |source| Error::Io {
        context: context.to_string(),
        source,
    }
}
