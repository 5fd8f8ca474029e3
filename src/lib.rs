//! kubectl-longhorn-systembackup: Longhorn system backups from the terminal.
//!
//! The modules form layers; each imports only the ones below it (docs/design.md):
//!
//! - [`cli`]: the binary's entry ([`main_with_args`]), flags, completion, logging;
//! - `commands`: one module per verb;
//! - the domain: `longhorn` (what the plugin knows about Longhorn), `bundle`, `store`,
//!   `cron`;
//! - the ground floor: `kube` (the API), `output` (what the user sees), [`go`] (Go's
//!   parsing rules).

pub(crate) mod bundle;
pub mod cli;
pub(crate) mod commands;
pub(crate) mod cron;
pub mod go;
pub(crate) mod kube;
pub(crate) mod longhorn;
pub(crate) mod output;
pub(crate) mod store;

pub use cli::main_with_args;

/// The readers of untrusted input, for the fuzz targets (`fuzz/`) and the replay of
/// their corpus (`tests/fuzz_corpus.rs`). Each reads its input as the plugin does and
/// returns whether it was accepted; none may panic, hang or use unbounded memory.
#[doc(hidden)]
pub mod fuzzing {
    use std::io::Write;

    /// A bundle zip as `inspect` reads it, then as `restore` and `diff` read its
    /// objects (from a file, as the plugin always reads a bundle).
    pub fn read_bundle(bytes: &[u8]) -> bool {
        let Ok(mut file) = tempfile::NamedTempFile::new() else {
            return false;
        };
        if file.write_all(bytes).is_err() {
            return false;
        }
        let limits = crate::bundle::inspect::Limits::default();
        let inspected = crate::bundle::inspect::inspect(file.path(), limits);
        let name = inspected
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let objects = crate::bundle::inspect::restored_objects(file.path(), &name);
        inspected.is_ok() && objects.is_ok()
    }

    /// A RecurringJob's cron as `schedule` parses it, and its next runs.
    pub fn parse_cron(text: &str) -> bool {
        match text.parse::<crate::cron::Schedule>() {
            Ok(schedule) => {
                let start = jiff::Timestamp::UNIX_EPOCH;
                let _ = schedule.next_runs(start, &jiff::tz::TimeZone::UTC, 3);
                true
            }
            Err(_) => false,
        }
    }

    /// A kubeconfig file's text as the plugin reads it (kube-rs's reader).
    pub fn read_kubeconfig(text: &str) -> bool {
        kube::config::Kubeconfig::from_yaml(text).is_ok()
    }

    /// What a credential helper printed.
    pub fn read_exec_credential(bytes: &[u8]) -> bool {
        crate::kube::exec_auth::parse_output("helper", bytes).is_ok()
    }
}
