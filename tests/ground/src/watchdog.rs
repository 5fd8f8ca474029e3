//! Cleanup that survives the death of the test process, for servers that tests start
//! (the control plane uses it too), with forgetting a
//! process that was stopped on purpose, so a restarted server never leaves a stale PID
//! that could be reused by an unrelated process).
//!
//! A shell holds the read end of a pipe whose write end only this process holds. It
//! reads `+PID` (track) and `-PID` (forget) lines. When the pipe closes, because the
//! owner was dropped or because this process died in any way (panic that aborts,
//! Ctrl-C, SIGKILL), it kills every tracked PID and removes the directory.

use std::io::Write;
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};

use crate::Error;
use crate::plane::io_err;

pub struct Watchdog {
    child: Child,
    stdin: Option<ChildStdin>,
}

impl Watchdog {
    /// Starts a watchdog that removes `dir` (with everything the tracked processes
    /// wrote) once this process is gone.
    pub fn start(dir: &Path) -> Result<Self, Error> {
        // It ignores SIGINT, SIGTERM and SIGHUP so a Ctrl-C sent to the whole process
        // group leaves it alive to clean up.
        let script = r#"trap '' INT TERM HUP
pids=" "
while read -r line; do
  case "$line" in
    +*) pids="$pids${line#+} " ;;
    -*) pids="$(printf '%s' "$pids" | sed "s/ ${line#-} / /")" ;;
  esac
done
for pid in $pids; do kill -9 "$pid" 2>/dev/null; done
# SIGKILL is not instant: a dying server can still create files, so wait for each one
# to be gone before removing the directory, and retry the removal.
for pid in $pids; do
  n=0; while kill -0 "$pid" 2>/dev/null && [ $n -lt 100 ]; do sleep 0.05; n=$((n+1)); done
done
for attempt in 1 2 3 4 5; do rm -rf "$1" 2>/dev/null; [ -e "$1" ] || break; sleep 0.1; done
"#;
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("watchdog")
            .arg(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(io_err("starting a ground watchdog"))?;
        let stdin = child.stdin.take();
        Ok(Self { child, stdin })
    }

    /// Kill `pid` if this process dies before `forget(pid)`.
    pub fn track(&mut self, pid: u32) -> Result<(), Error> {
        self.send(&format!("+{pid}"))
    }

    /// The process was stopped and reaped on purpose; do not kill that PID later.
    pub fn forget(&mut self, pid: u32) -> Result<(), Error> {
        self.send(&format!("-{pid}"))
    }

    fn send(&mut self, line: &str) -> Result<(), Error> {
        let stdin = self.stdin.as_mut().expect("watchdog pipe open until drop");
        writeln!(stdin, "{line}").map_err(io_err("talking to a ground watchdog"))
    }
}

impl Drop for Watchdog {
    /// Closes the pipe and waits: whatever is still tracked is killed and the directory
    /// removed. Owners kill and reap their processes first, so this is a backstop.
    fn drop(&mut self) {
        drop(self.stdin.take());
        let _ = self.child.wait();
    }
}
