//! What the plugin knows about Longhorn: its resources and the names it gives things,
//! how to find an install and read what a command needs of it ([`Longhorn`], the
//! handle every command builds once), and the rules Longhorn applies to SystemBackups,
//! SystemRestores, RecurringJobs and the backup target. docs/longhorn-behaviour.md
//! says where each rule comes from in Longhorn's source.

pub mod backup_target;
pub mod error;
pub mod events;
pub mod force_delete;
pub mod install;
pub mod manager;
pub mod prune;
pub mod recurring;
pub mod resources;
pub mod restore;
pub mod retry;
pub mod snapshot_cleanup;
pub mod status;
pub mod systembackup;
pub mod target_state;
pub mod target_url;
#[cfg(test)]
mod target_url_differential;
pub mod version;
pub mod volume_backups;
pub mod wait;

pub use error::Error;
pub use install::{Longhorn, Reads};
pub use version::LonghornVersion;
