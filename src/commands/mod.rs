//! One module per verb. Each takes the resolved [`Session`] (or nothing, for commands
//! that never touch the cluster) and its own flags; commands share domain modules,
//! never each other.

pub mod completion;
pub mod create;
pub mod delete;
pub mod describe;
pub mod download;
pub mod inspect;
pub mod list;
pub mod restore;
pub mod schedule;
pub mod sync;
pub mod wait;

use crate::cli::{Cli, Command};
use crate::error::Result;
use crate::session::Session;

pub async fn run(cli: Cli, bin_name: &str) -> Result<()> {
    let session = || Session::connect(&cli.global);
    match &cli.command {
        Command::Completion(args) => completion::run(args, bin_name),
        Command::Create(args) => create::run(&session().await?, args).await,
        Command::Delete(args) => delete::run(&session().await?, args).await,
        Command::Describe(args) => describe::run(&session().await?, args).await,
        Command::Download(args) => download::run(&session().await?, args).await,
        Command::Sync(args) => sync::run(&session().await?, args).await,
        Command::Restore(args) => restore::run(&session().await?, args).await,
        Command::Schedule(command) => schedule::run(&session().await?, command).await,
        Command::List(args) => list::run(&session().await?, args).await,
        Command::Wait(args) => wait::run(&session().await?, args).await,
        Command::Inspect(args) => inspect::run(args).await,
    }
}
