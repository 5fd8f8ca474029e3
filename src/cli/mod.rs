//! The top of the program: the name the binary was started as ([`invocation`]), the
//! command line ([`args`]), logging, completion, and the one place that turns a
//! command's outcome into what the user sees last and an exit code.

pub(crate) mod args;
mod completion;
mod invocation;
mod logging;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches};

use crate::commands::{self, Context, Error, Result};
use crate::kube::ConnectOptions;
use crate::output::{self, Terminal};
pub use args::Cli;
use args::{Command, GlobalArgs};
use invocation::Invocation;

/// `-v` from which the error's chain of causes is printed.
const CHAIN_VERBOSITY: u8 = 6;

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
    let verbosity = cli.global.verbosity;
    logging::init(verbosity);
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
            outcome = run(cli, &bin_name) => outcome,
            _ = tokio::signal::ctrl_c() => Err(Error::Interrupted),
        }
    });
    // Stop what still runs in the background (HTTP connections, which log at -v=6+)
    // so that the error is the last line printed.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    exit_code(outcome, verbosity)
}

/// What the global flags resolve to, for every command.
fn context(global: &GlobalArgs) -> Context {
    Context {
        connect: connect_options(global),
        namespace: global.namespace.clone(),
        terminal: Terminal::detect(),
    }
}

/// kubectl's cluster flags, as the client takes them.
pub(crate) fn connect_options(global: &GlobalArgs) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        cluster: global.cluster.clone(),
        user: global.user.clone(),
        request_timeout: global.request_timeout.as_limit(),
    }
}

/// Runs the verb.
async fn run(cli: Cli, bin_name: &str) -> Result<()> {
    let context = context(&cli.global);
    match &cli.command {
        Command::Completion(args) => Ok(output::stdout(&completion::script(args.shell, bin_name))?),
        Command::Create(args) => commands::create::run(&context, args).await,
        Command::Delete(args) => commands::delete::run(&context, args).await,
        Command::Describe(args) => commands::describe::run(&context, args).await,
        Command::Download(args) => commands::download::run(&context, args).await,
        Command::Sync(args) => commands::sync::run(&context, args).await,
        Command::Status(args) => commands::status::run(&context, args).await,
        Command::Diff(args) => commands::diff::run(&context, args).await,
        Command::Prune(args) => commands::prune::run(&context, args).await,
        Command::Cleanup(command) => commands::cleanup::run(&context, command).await,
        Command::Retry(args) => commands::retry::run(&context, args).await,
        Command::Restore(args) => commands::restore::run(&context, args).await,
        Command::Schedule(command) => commands::schedule::run(&context, command).await,
        Command::List(args) => commands::list::run(&context, args).await,
        Command::Wait(args) => commands::wait::run(&context, args).await,
        Command::Inspect(args) => commands::inspect::run(args).await,
    }
}

/// A write past `ulimit -f` then fails with EFBIG, which is reported and cleaned up
/// like any write error, instead of SIGXFSZ killing the process and leaving a
/// temporary file behind.
#[allow(unsafe_code)]
fn ignore_file_size_signal() {
    // SAFETY: setting a signal's disposition to SIG_IGN at start-up, before any thread
    // that could rely on SIGXFSZ exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// 0 success, 1 any failure (kubectl's code), 130 on Ctrl-C. The error is one line;
/// from `-v=6` its causes come first, one per line.
fn exit_code(outcome: Result<()>, verbosity: u8) -> ExitCode {
    let error = match outcome {
        Ok(()) => return ExitCode::SUCCESS,
        Err(error) if error.is_broken_pipe() => return ExitCode::SUCCESS,
        Err(error) => error,
    };
    if verbosity >= CHAIN_VERBOSITY {
        for line in chain(&error) {
            eprintln!("{line}");
        }
    }
    if error.is_interrupted() {
        eprintln!("interrupted");
        return ExitCode::from(130);
    }
    match &error {
        Error::Reported(_) => {}
        error if error.is_kubectl_form() => eprintln!("{}", error_line(error)),
        error => eprintln!("error: {}", error_line(error)),
    }
    ExitCode::FAILURE
}

/// The causes of an error, outermost first, each once (`caused by: …`).
fn chain(error: &Error) -> Vec<String> {
    let mut lines = Vec::new();
    let mut shown = error_line(error);
    let mut cause = std::error::Error::source(error);
    while let Some(current) = cause {
        let text = one_line(&current.to_string());
        // Transparent wrappers repeat their inner error's text.
        if text != shown {
            lines.push(format!("caused by: {text}"));
            shown = text;
        }
        cause = current.source();
    }
    lines
}

/// Errors are one line: server messages can hold newlines.
fn error_line(error: &Error) -> String {
    one_line(&error.to_string())
}

fn one_line(text: &str) -> String {
    text.lines()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_lists_each_cause_once() {
        let io = std::io::Error::other("the disk is on fire");
        let error = Error::Store(crate::store::Error::ReadZip {
            path: "b.zip".into(),
            source: io,
        });
        assert_eq!(error_line(&error), "reading b.zip: the disk is on fire");
        assert_eq!(chain(&error), ["caused by: the disk is on fire"]);
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(one_line("a\n  b\n\nc "), "a b c");
    }
}
