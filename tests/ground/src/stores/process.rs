//! A store server's process: started, watched, faulted and torn down the same way
//! for s3s-fs and Azurite.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::Error;
use crate::plane::io_err;
use crate::watchdog::Watchdog;

/// A server process with its command line, restartable on the same port.
pub(super) struct Server {
    pub(super) name: &'static str,
    pub(super) command: Command,
    pub(super) log: PathBuf,
    pub(super) child: Option<Child>,
    pub(super) port: u16,
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

/// A running store server with its directory (data and log) and the watchdog that
/// kills it if the test process dies without dropping it. Drop kills the server and
/// removes the directory.
pub struct ServerProcess {
    dir: PathBuf,
    server: Server,
    ready_within: Duration,
    // Last: dropped after the server is killed.
    watchdog: Watchdog,
}

impl ServerProcess {
    /// Starts `server` (its data and log live in `dir`, watched by `watchdog`) and
    /// waits up to `ready_within` until it serves.
    pub(super) async fn start(
        dir: PathBuf,
        mut watchdog: Watchdog,
        mut server: Server,
        ready_within: Duration,
    ) -> Result<Self, Error> {
        server.spawn(&mut watchdog)?;
        let mut process = ServerProcess {
            dir,
            server,
            ready_within,
            watchdog,
        };
        process.server.wait_ready(ready_within).await?;
        Ok(process)
    }

    pub(super) fn port(&self) -> u16 {
        self.server.port
    }

    /// Kills the server (SIGKILL). The data stays; [`ServerProcess::restart`] brings it back.
    pub fn stop(&mut self) {
        self.server.kill(&mut self.watchdog);
    }

    /// Starts the server again on the same port and data and waits until it serves.
    pub async fn restart(&mut self) -> Result<(), Error> {
        self.stop();
        self.server.spawn(&mut self.watchdog)?;
        self.server.wait_ready(self.ready_within).await
    }

    /// SIGSTOP: the port accepts connections but nothing answers.
    pub fn freeze(&self) -> Result<(), Error> {
        self.server.signal("STOP")
    }

    /// SIGCONT after [`ServerProcess::freeze`].
    pub fn thaw(&self) -> Result<(), Error> {
        self.server.signal("CONT")
    }

    pub fn is_running(&mut self) -> bool {
        self.server.is_running()
    }

    /// The server's log (stdout and stderr).
    pub fn log(&self) -> String {
        fs::read_to_string(&self.server.log).unwrap_or_default()
    }

    /// The directory that holds the server's data and log; removed on drop.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// PID of the running server.
    pub fn pid(&self) -> Option<u32> {
        self.server.child.as_ref().map(Child::id)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.server.kill(&mut self.watchdog);
        let _ = fs::remove_dir_all(&self.dir);
    }
}
