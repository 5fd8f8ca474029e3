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
