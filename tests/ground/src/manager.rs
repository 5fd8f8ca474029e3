//! longhorn-manager's own code for one environment: the program of tests/longhorn/manager,
//! built for the environment's Longhorn release, running the SystemBackup, BackupTarget,
//! SystemRestore and RecurringJob controllers, the admission webhooks, the REST API and the
//! Jobs those controllers create, against the ground's API server.
//!
//! Each manager runs in a mount namespace of its own (`unshare --mount`), in which the
//! environment's directory is `/var/lib/longhorn` (so `engine-binaries/` is private),
//! `/tmp` is the environment's (the controllers' hard-coded scratch paths never collide),
//! the service-account directory holds an admin token for the plane (the manager and its
//! Jobs use the in-cluster config, as in a pod), and `/etc/hosts` names this manager's
//! loopback address `longhorn-backend` (the manager URL of the recurring Jobs).
//!
//! The manager exits when its stdin closes, so it never outlives the test process.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{LazyLock, Mutex};
use std::time::Duration;

use serde::Deserialize;

use crate::longhorn::Version;
use crate::pki::CertPair;
use crate::plane::{self, ControlPlane};
use crate::{Error, tools};

/// Where a Longhorn node keeps its state; the environment's directory is mounted here.
pub const LONGHORN_DIR: &str = "/var/lib/longhorn";
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// Lines of the manager's log shown with a failure.
const LOG_TAIL: usize = 120;

/// What the manager prints once it serves.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// Base URL of the admission webhooks.
    pub webhook: String,
    /// Address of the instance-manager proxy stand-in (health checks only).
    pub instance_manager: String,
    /// longhorn-manager's REST API.
    #[serde(rename = "managerAPI")]
    pub manager_api: String,
    /// `meta.Version` of the build.
    pub version: String,
    /// `meta.GitCommit`: the release's commit.
    pub git_commit: String,
}

/// The binaries of one Longhorn release, built once per process.
#[derive(Clone, Debug)]
pub struct Binaries {
    pub manager: PathBuf,
    pub engine: PathBuf,
}

static BINARIES: LazyLock<Mutex<Vec<(String, Binaries)>>> = LazyLock::new(Mutex::default);

impl Binaries {
    /// `install.sh longhorn-manager|longhorn-engine <version>` (cached after the first run).
    pub fn of(version: &Version) -> Result<Binaries, Error> {
        if let Some((_, found)) = BINARIES
            .lock()
            .expect("binaries lock")
            .iter()
            .find(|(v, _)| v == version.as_str())
        {
            return Ok(found.clone());
        }
        let binaries = Binaries {
            manager: tools::install("longhorn-manager", Some(version.as_str()))?,
            engine: tools::install("longhorn-engine", Some(version.as_str()))?,
        };
        BINARIES
            .lock()
            .expect("binaries lock")
            .push((version.to_string(), binaries.clone()));
        Ok(binaries)
    }
}

/// What one manager needs.
pub struct ManagerConfig<'a> {
    pub plane: &'a ControlPlane,
    pub namespace: &'a str,
    pub version: &'a Version,
    /// The environment's directory (becomes `/var/lib/longhorn`).
    pub dir: &'a Path,
    pub node_id: &'a str,
    pub manager_image: &'a str,
    pub service_account: &'a str,
    /// Serving certificate of the webhooks (for 127.0.0.1).
    pub serving: &'a CertPair,
}

/// Paths inside the environment's directory.
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(dir: &Path) -> Self {
        Self {
            root: dir.to_path_buf(),
        }
    }

    /// What an NFS or SMB mount of a target shows (tests/longhorn/engine/drivers.go).
    pub fn mounts(&self) -> PathBuf {
        self.root.join("mounts")
    }

    /// The fault file the engine stand-in reads (tests/longhorn/engine/faults.go).
    pub fn faults(&self) -> PathBuf {
        self.root.join("faults.json")
    }

    pub fn log(&self) -> PathBuf {
        self.root.join("longhorn-manager.log")
    }

    /// `/tmp` of the manager: where it generates bundles and unpacks restores.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn engine_binaries(&self) -> PathBuf {
        self.root.join("engine-binaries")
    }

    /// Installs the engine binary of `image` where longhorn-manager looks it up
    /// (`types.GetEngineBinaryDirectoryOnHostForImage`), as the engine image's DaemonSet
    /// does on a node.
    pub fn install_engine_binary(&self, image: &str, engine: &Path) -> Result<(), Error> {
        let canonical = image.replace([':', '/'], "-");
        let dir = self.engine_binaries().join(canonical);
        fs::create_dir_all(&dir).map_err(plane::io_err("creating an engine binary directory"))?;
        let link = dir.join("longhorn");
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(engine, &link)
                .map_err(plane::io_err("installing the engine binary"))?;
        }
        Ok(())
    }
}

/// A running longhorn-manager. Dropping it kills it.
pub struct Manager {
    child: Mutex<Child>,
    stdin: Option<ChildStdin>,
    log: PathBuf,
    ready: Ready,
    node_ip: Ipv4Addr,
}

impl Manager {
    /// Starts the manager and returns once it serves (it blocks while the manager starts,
    /// about a second).
    pub fn start(config: ManagerConfig<'_>) -> Result<Manager, Error> {
        let binaries = Binaries::of(config.version)?;
        let layout = Layout::new(config.dir);
        prepare(&config, &layout, &binaries)?;
        // A node address of its own, so every manager can use Longhorn's fixed ports.
        // Another manager may hold the one picked: try again with a new one.
        let mut attempt = 0;
        loop {
            attempt += 1;
            let node_ip = pick_node_ip();
            match spawn(&config, &layout, &binaries, node_ip) {
                Ok(manager) => return Ok(manager),
                Err(e) if attempt < 3 && e.to_string().contains("address already in use") => {
                    continue;
                }
                Err(e) => return Err(e),
            }
        }
    }

    pub fn ready(&self) -> &Ready {
        &self.ready
    }

    /// The loopback address standing for this manager's node.
    pub fn node_ip(&self) -> Ipv4Addr {
        self.node_ip
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Keeps a copy of the whole log where it outlives the plane: under
    /// `$CARGO_TARGET_DIR` (else the system's temporary directory), in
    /// `longhorn-ground-logs/`. Returns the copy's path.
    pub fn keep_log(&self, name: &str) -> Option<PathBuf> {
        let base = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        let dir = base.join("longhorn-ground-logs");
        fs::create_dir_all(&dir).ok()?;
        let kept = dir.join(format!("{name}-longhorn-manager.log"));
        fs::copy(&self.log, &kept).ok()?;
        Some(kept)
    }

    /// The last lines of the manager's log, for failure messages.
    pub fn log_tail(&self) -> String {
        log_tail(&self.log, LOG_TAIL)
    }

    /// `Some(status)` once the process has ended.
    pub fn exit_status(&self) -> Option<ExitStatus> {
        self.child
            .lock()
            .expect("manager lock")
            .try_wait()
            .ok()
            .flatten()
    }

    /// Kills the manager and its Jobs, as when the node goes down.
    pub fn kill(&mut self) {
        self.stdin.take();
        let mut child = self.child.lock().expect("manager lock");
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Manager {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `lines` lines of a log, each cut to a readable length.
fn log_tail(path: &Path, lines: usize) -> String {
    const WIDTH: usize = 2000;
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..]
        .iter()
        .map(|line| match line.char_indices().nth(WIDTH) {
            Some((cut, _)) => format!("{}…", &line[..cut]),
            None => line.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// 127.x.y.z with x in 100..=199: a loopback address no other part of the ground uses.
fn pick_node_ip() -> Ipv4Addr {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    Ipv4Addr::new(127, 100 + bytes[0] % 100, bytes[1], bytes[2].max(1))
}

fn write(path: &Path, text: &str) -> Result<(), Error> {
    fs::write(path, text).map_err(|source| Error::Io {
        context: format!("writing {}", path.display()),
        source,
    })
}

/// The environment's directory as the manager's node sees it.
fn prepare(config: &ManagerConfig<'_>, layout: &Layout, binaries: &Binaries) -> Result<(), Error> {
    let root = config.dir;
    for dir in ["tmp", "home", "bin", "serviceaccount", "webhook", "mounts"] {
        fs::create_dir_all(root.join(dir)).map_err(plane::io_err("preparing a manager"))?;
    }
    // The admin token of the plane, readable by root only.
    plane::write_secret(
        &root.join("serviceaccount/token"),
        &config.plane.user(plane::ADMIN).token,
    )?;
    write(&root.join("serviceaccount/ca.crt"), &config.plane.ca_pem)?;
    write(&root.join("serviceaccount/namespace"), config.namespace)?;
    write(&root.join("webhook/tls.crt"), &config.serving.cert_pem)?;
    plane::write_secret(&root.join("webhook/tls.key"), &config.serving.key_pem)?;
    write(&root.join("webhook/ca.crt"), &config.plane.ca_pem)?;
    if !layout.faults().exists() {
        write(&layout.faults(), "{}")?;
    }
    // zip and unzip run through the engine stand-in, which applies their faults first.
    for tool in ["zip", "unzip"] {
        let link = root.join("bin").join(tool);
        if fs::symlink_metadata(&link).is_err() {
            std::os::unix::fs::symlink(&binaries.engine, &link)
                .map_err(plane::io_err("linking a tool"))?;
        }
    }
    fs::create_dir_all(LONGHORN_DIR).map_err(plane::io_err("creating /var/lib/longhorn"))?;
    Ok(())
}

/// Mounts the environment over the node's paths, then becomes the manager.
const NAMESPACE_SCRIPT: &str = r#"set -e
env_dir="$1"; node_ip="$2"; namespace="$3"; shift 3
mount --bind "$env_dir" /var/lib/longhorn
mount --bind /var/lib/longhorn/tmp /tmp
mkdir -p /run/secrets/kubernetes.io/serviceaccount
mount --bind /var/lib/longhorn/serviceaccount /run/secrets/kubernetes.io/serviceaccount
printf '127.0.0.1 localhost\n%s longhorn-backend longhorn-backend.%s longhorn-backend.%s.svc\n' \
  "$node_ip" "$namespace" "$namespace" > /var/lib/longhorn/hosts
mount --bind /var/lib/longhorn/hosts /etc/hosts
exec "$@"
"#;

fn spawn(
    config: &ManagerConfig<'_>,
    layout: &Layout,
    binaries: &Binaries,
    node_ip: Ipv4Addr,
) -> Result<Manager, Error> {
    let server = config
        .plane
        .server
        .trim_start_matches("https://")
        .to_string();
    let (host, port) = server
        .rsplit_once(':')
        .ok_or_else(|| Error::Startup(format!("the plane's server {server} has no port")))?;
    let log = layout.log();
    let log_file = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .map_err(plane::io_err("opening the manager log"))?;
    let in_namespace = |path: &str| format!("{LONGHORN_DIR}/{path}");
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--propagation", "private", "--", "/bin/sh", "-c"])
        .arg(NAMESPACE_SCRIPT)
        .arg("longhorn-ground-manager")
        .arg(config.dir)
        .arg(node_ip.to_string())
        .arg(config.namespace)
        .arg(&binaries.manager)
        .args(["serve", "--exit-on-stdin-eof"])
        .args(["--namespace", config.namespace])
        .args(["--manager-image", config.manager_image])
        .args(["--service-account", config.service_account])
        .args(["--node-ip", &node_ip.to_string()])
        .args(["--webhook-cert", &in_namespace("webhook/tls.crt")])
        .args(["--webhook-key", &in_namespace("webhook/tls.key")])
        .args(["--webhook-ca", &in_namespace("webhook/ca.crt")])
        .env_clear()
        .env(
            "PATH",
            format!(
                "{LONGHORN_DIR}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
            ),
        )
        .env("HOME", in_namespace("home"))
        .env("NODE_NAME", config.node_id)
        .env("POD_NAMESPACE", config.namespace)
        .env("KUBERNETES_SERVICE_HOST", host)
        .env("KUBERNETES_SERVICE_PORT", port)
        .env("LONGHORN_GROUND_MOUNT_ROOT", in_namespace("mounts"))
        .env("LONGHORN_GROUND_FAULTS", in_namespace("faults.json"))
        // The S3 SDK would otherwise ask the EC2 metadata service for credentials.
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log_file));
    let mut child = command
        .spawn()
        .map_err(plane::io_err("starting longhorn-manager (unshare)"))?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take().expect("piped stdout");
    let ready = read_ready(stdout, &mut child, &log)?;
    Ok(Manager {
        child: Mutex::new(child),
        stdin,
        log,
        ready,
        node_ip,
    })
}

/// Waits for the manager's ready line; its death or a deadline fails with its log.
fn read_ready(
    stdout: std::process::ChildStdout,
    child: &mut Child,
    log: &Path,
) -> Result<Ready, Error> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("manager-stdout".into())
        .spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = sender.send(reader.read_line(&mut line).map(|_| line));
            // Keep draining so the manager never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = reader.read_to_end(&mut sink);
        })
        .map_err(plane::io_err("reading longhorn-manager's output"))?;
    let failed = |why: String, child: &mut Child| {
        let _ = child.kill();
        let _ = child.wait();
        Error::Startup(format!(
            "longhorn-manager {why}; its log ({}) ends with:\n{}",
            log.display(),
            log_tail(log, 40)
        ))
    };
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    loop {
        match receiver.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(line)) if !line.trim().is_empty() => {
                return serde_json::from_str(line.trim()).map_err(|e| {
                    failed(
                        format!("printed {line:?} instead of its ready line ({e})"),
                        child,
                    )
                });
            }
            Ok(_) => {
                let status = child.wait().ok();
                return Err(failed(format!("exited during startup ({status:?})"), child));
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                if let Ok(Some(status)) = child.try_wait() {
                    return Err(failed(format!("exited during startup ({status})"), child));
                }
                if std::time::Instant::now() > deadline {
                    return Err(failed(
                        format!("was not ready after {START_TIMEOUT:?}"),
                        child,
                    ));
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                return Err(failed("closed its output during startup".into(), child));
            }
        }
    }
}
