//! Every failure the plugin reports. Each message says what went wrong and, where the
//! user can do something about it, what to do; `main` prints it on one line after
//! `error: ` (or as kubectl prints server errors) and exits 1.

use std::path::PathBuf;

use kube::core::Status;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Input we refuse before touching anything: the message names the fix.
    #[error("{0}")]
    Invalid(String),

    /// The API server answered with an error status; printed the way kubectl prints it.
    #[error("Error from server ({reason}): {message}", reason = status_reason(.0), message = .0.message)]
    Api(Box<Status>),

    #[error(
        "Unable to connect to the server {server}: {detail} (check --context/--kubeconfig, or that the cluster is up)"
    )]
    Connect { server: String, detail: String },

    #[error(
        "You must be logged in to the server (Unauthorized): the credentials in your kubeconfig were rejected; they may have expired, so log in again"
    )]
    Unauthorized,

    #[error("could not load the kubeconfig: {0}")]
    Kubeconfig(String),

    #[error(
        "Longhorn is not installed in this cluster: the CRD {crd} does not exist. Install Longhorn first (https://longhorn.io/docs/latest/deploy/install/)"
    )]
    NotInstalled { crd: String },

    #[error("{0}")]
    Forbidden(String),

    #[error("timed out waiting for the condition on {0}")]
    Timeout(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path}: {message}")]
    File { path: PathBuf, message: String },

    #[error("backup target: {0}")]
    Store(String),

    /// Several independent failures (e.g. delete of names where some were missing);
    /// each was already reported on its own line.
    #[error("{0}")]
    Reported(String),

    #[error("interrupted")]
    Interrupted,

    /// The reader of stdout went away; exit quietly with success.
    #[error("broken pipe")]
    BrokenPipe,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

fn status_reason(status: &Status) -> String {
    if status.reason.is_empty() {
        format!("{}", status.code)
    } else {
        status.reason.clone()
    }
}

impl Error {
    pub fn invalid(message: impl Into<String>) -> Self {
        Error::Invalid(message.into())
    }

    pub fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> Error {
        let context = context.into();
        move |source| Error::Io { context, source }
    }

    /// The HTTP status code when this is an API error.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api(status) => Some(status.code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }

    pub fn is_already_exists(&self) -> bool {
        matches!(self, Error::Api(status) if status.is_already_exists())
    }
}

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        from_kube(error, "")
    }
}

/// Maps a kube-rs error to ours; `server` names the API server for connection errors.
pub fn from_kube(error: kube::Error, server: &str) -> Error {
    match error {
        kube::Error::Api(status) if status.code == 401 => Error::Unauthorized,
        kube::Error::Api(status) => Error::Api(status),
        kube::Error::Auth(e) => Error::Kubeconfig(format!("authentication failed: {e}")),
        kube::Error::InferConfig(e) => Error::Kubeconfig(e.to_string()),
        kube::Error::HyperError(e) => Error::Connect {
            server: server.to_string(),
            detail: root_cause(&e),
        },
        kube::Error::Service(e) => Error::Connect {
            server: server.to_string(),
            detail: root_cause(e.as_ref()),
        },
        other => Error::Connect {
            server: server.to_string(),
            detail: other.to_string(),
        },
    }
}

/// The innermost message of an error chain (hyper's outer messages say little).
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
