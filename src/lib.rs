//! kubectl-longhorn-systembackup: Longhorn system backups from the terminal.
//!
//! `main.rs` only hands the process arguments to [`main_with_args`]. The flags are
//! defined in [`cli`], resolved into a [`session::Session`], and each verb lives in its
//! own module under [`commands`]; Longhorn knowledge sits in the domain modules beside
//! them.

pub mod api;
pub mod bundle;
pub mod cli;
pub mod commands;
pub mod completion;
pub mod cron;
pub mod deletion;
pub mod duration;
pub mod error;
pub mod exec_auth;
pub mod files;
pub mod invocation;
pub mod listing;
pub mod longhorn;
pub mod names;
pub mod object;
pub mod output;
pub mod progress;
pub mod prompt;
pub mod session;
pub mod store;
pub mod style;
pub mod watch;

mod logging;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

pub use error::{Error, Result};

use crate::cli::Cli;
use crate::invocation::Invocation;

/// Parses the arguments the way the binary was invoked, runs the command and maps the
/// outcome to an exit code: 0 success, 1 failure, 2 usage error (clap's).
pub fn main_with_args(args: Vec<OsString>) -> ExitCode {
    let argv0 = args.first().cloned().unwrap_or_default();
    let bin_name = std::path::Path::new(&argv0).file_stem().map_or_else(
        || "kubectl-longhorn-systembackup".into(),
        |s| s.to_string_lossy().into_owned(),
    );
    let invocation = Invocation::from_argv0(&argv0);
    let rest = args.get(1..).unwrap_or_default().to_vec();
    if invocation.completion {
        let _ = output::stdout(&completion::kubectl_complete(&invocation, &rest));
        return ExitCode::SUCCESS;
    }
    let verb_args = if invocation.vendor_form {
        match invocation::strip_group(&rest) {
            Some(verb_args) => verb_args,
            None => return vendor_usage(&invocation, &rest),
        }
    } else {
        rest
    };
    let display = invocation.verb_display();
    let command = Cli::command()
        .name(display.clone())
        .bin_name(display.clone());
    let mut full = vec![OsString::from(display)];
    full.extend(verb_args);
    let cli = match command
        .try_get_matches_from(full)
        .and_then(|m| Cli::from_arg_matches(&m))
    {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    logging::init(cli.global.verbosity);
    ignore_file_size_signal();
    // One TLS crypto provider for every client (kube uses ring; so do the store clients).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: could not start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        tokio::select! {
            outcome = commands::run(cli, &bin_name) => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    // Stop what still runs in the background (HTTP connections, which log at -v=6+)
    // so that the error is the last line printed.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    exit_code(outcome)
}

/// A write past `ulimit -f` then fails with EFBIG, which is reported and cleaned up
/// like any write error, instead of SIGXFSZ killing the process and leaving a
/// temporary file behind.
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before any thread
    // that could rely on SIGXFSZ exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// 0 success, 1 any failure (kubectl's code), 130 on Ctrl-C.
fn exit_code(outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) | Err(Error::BrokenPipe) => ExitCode::SUCCESS,
        Err(Error::Reported(_)) => ExitCode::FAILURE,
        Err(Error::Interrupted) => {
            eprintln!("interrupted");
            ExitCode::from(130)
        }
        Err(error @ (Error::Api(_) | Error::Connect { .. })) => {
            eprintln!("{}", error_line(&error));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {}", error_line(&error));
            ExitCode::FAILURE
        }
    }
}

/// Errors are one line: server messages can hold newlines.
fn error_line(error: &Error) -> String {
    error
        .to_string()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// `kubectl longhorn` without `systembackup`: help, or a hint for an unknown command.
fn vendor_usage(invocation: &Invocation, rest: &[OsString]) -> ExitCode {
    let mut top = clap::Command::new(invocation.display.clone())
        .bin_name(invocation.display.clone())
        .about("Longhorn tools for kubectl")
        .version(env!("CARGO_PKG_VERSION"))
        .subcommand_required(true)
        .subcommand(
            clap::Command::new(invocation::GROUP_COMMAND)
                .visible_aliases(invocation::GROUP_ALIASES)
                .about(
                    "Manage Longhorn system backups (SystemBackup, SystemRestore, RecurringJob)",
                ),
        );
    let mut full = vec![OsString::from(invocation.display.clone())];
    full.extend_from_slice(rest);
    match top.try_get_matches_from_mut(full) {
        Err(e) => {
            let _ = e.print();
            ExitCode::from(e.exit_code() as u8)
        }
        Ok(_) => {
            let _ = top.print_help();
            ExitCode::from(2)
        }
    }
}
