//! One module per verb, each with its flags (clap `Args`) and a `run`. A command
//! resolves the cluster once, at its start ([`Context::longhorn`]: the client, the
//! namespace and what it reads of the install), calls the domain modules with that
//! handle, and renders what they return. Commands share [`shared`], never each other.

pub mod cleanup;
pub mod create;
pub mod delete;
pub mod describe;
pub mod diff;
pub mod download;
pub mod error;
pub mod inspect;
pub mod list;
pub mod prune;
pub mod restore;
pub mod retry;
pub mod schedule;
pub mod shared;
pub mod status;
pub mod sync;
pub mod wait;

use clap::ValueEnum;

pub use error::{Error, Result};

use crate::kube::{ConnectOptions, Kube};
use crate::longhorn::{Longhorn, Reads};
use crate::output::Terminal;

/// What every command gets from the global flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub connect: ConnectOptions,
    /// `-n`; without it, the namespace Longhorn is installed in.
    pub namespace: Option<String>,
    pub terminal: Terminal,
}

impl Context {
    /// The handle of the Longhorn install: connects, resolves the namespace, and reads
    /// what `reads` names, concurrently. Nothing is sent before this.
    pub async fn longhorn(&self, reads: Reads) -> Result<Longhorn> {
        let kube = Kube::connect(&self.connect).await?;
        Ok(Longhorn::open(kube, self.namespace.clone(), reads).await?)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DryRun {
    /// Print what would be sent; send nothing
    Client,
    /// Have the server (and Longhorn's webhooks) check the request; persist nothing
    Server,
}
