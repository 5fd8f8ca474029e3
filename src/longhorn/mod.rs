//! What the plugin knows about Longhorn: its resources, how to find an install and its
//! version, and how to read SystemBackup objects. Facts come from
//! `longhorn-system-backup.md`; the section is cited where behaviour depends on it.

pub mod backup_target;
pub mod events;
pub mod install;
pub mod recurring;
pub mod resources;
pub mod restore;
pub mod systembackup;
pub mod version;
pub mod volume_backups;
pub mod wait;

pub use version::LonghornVersion;
