//! `-v=N` as in kubectl: 0 warnings, 2 requests, 4 debug, 6+ HTTP traffic. Logs go to
//! stderr, coloured only on a terminal. Credentials never reach the log: kube-rs logs
//! request lines and status, not headers, and no module of ours logs secrets or tokens
//! (tests/e2e/auth.rs checks this at -v=6).

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

pub fn init(verbosity: u8) {
    let filter = match verbosity {
        // Libraries log failures at ERROR (kube-client's "failed with error …", TLS
        // verification) before the error reaches us; by default the user sees only our
        // one-line message.
        0 | 1 => "off,kubectl_longhorn_systembackup=warn",
        2 | 3 => "info,kube=info",
        4 | 5 => "debug,kube=debug,hyper=info,h2=info,rustls=info,tower=info",
        _ => "trace,hyper=debug,h2=info,rustls=info,tower=debug",
    };
    let filter =
        EnvFilter::try_from_env("KUBECTL_LONGHORN_LOG").unwrap_or_else(|_| EnvFilter::new(filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}
