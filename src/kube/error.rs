//! What can go wrong between the plugin and the API server, one variant per kind, each
//! message saying what to do. Made from kube-rs's errors by [`Error::from_kube`], which
//! reads the cause chain (a refused connection, a TLS failure, a timeout, a body that
//! does not decode) and keeps it as the source.

use std::path::PathBuf;

use kube::core::Status;

/// A failure talking to the API server.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The API server answered with an error status; printed the way kubectl prints it.
    #[error("Error from server ({reason}): {message}", reason = status_reason(.0), message = .0.message)]
    Api(#[source] Box<Status>),

    #[error(
        "You must be logged in to the server (Unauthorized): the credentials in your kubeconfig were rejected; they may have expired, so log in again"
    )]
    Unauthorized(#[source] Box<Status>),

    /// The request did not get an answer: refused, timed out, TLS, or another network
    /// failure (`problem` says which and what to check).
    #[error("Unable to connect to the server {server}: {problem}")]
    Connect {
        server: String,
        problem: ConnectProblem,
        #[source]
        source: Box<kube::Error>,
    },

    /// Something answered, but not with a Kubernetes API object.
    #[error(
        "the server {server} answered with something that is not a Kubernetes API response ({source}); check that the kubeconfig's server URL points at the API server itself, not at a proxy or web page in front of it"
    )]
    Decode {
        server: String,
        #[source]
        source: Box<kube::Error>,
    },

    #[error("could not load the kubeconfig: {0}")]
    Kubeconfig(#[source] Box<KubeconfigError>),

    /// kube-rs could not authenticate with what the kubeconfig holds.
    #[error(
        "authentication failed: {source}; check the user's credentials in the kubeconfig (token, client certificate or credential helper)"
    )]
    Auth {
        #[source]
        source: Box<kube::Error>,
    },

    /// A request kube-rs could not build from what it was given.
    #[error("could not build the request for {what}: {source}")]
    Request {
        what: String,
        #[source]
        source: Box<kube::core::request::Error>,
    },

    /// A wait's `--timeout` passed; kubectl's message.
    #[error("timed out waiting for the condition on {0}")]
    WaitTimeout(String),

    /// A watch stream ended, which the watcher never does by itself.
    #[error("the watch of {0} ended unexpectedly; run the command again")]
    WatchEnded(String),
}

/// Why a request got no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectProblem {
    /// Nothing listens at the address.
    Refused,
    /// No answer within `--request-timeout` (or the connect timeout).
    TimedOut,
    /// The TLS handshake failed; the text is rustls's.
    Tls(String),
    /// Any other network failure; the text is the innermost cause.
    Other(String),
}

impl std::fmt::Display for ConnectProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectProblem::Refused => f.write_str(
                "the connection was refused; nothing listens at that address: check the server in the kubeconfig (--context, --kubeconfig), or that the cluster is up",
            ),
            ConnectProblem::TimedOut => f.write_str(
                "no answer in time; the server or the network is slow or down: check that the cluster is reachable, or allow more time with --request-timeout",
            ),
            ConnectProblem::Tls(detail) => write!(
                f,
                "the TLS handshake failed ({detail}); the server's certificate does not match the cluster's certificate-authority and server name in the kubeconfig: check --context, and the cluster's certificate-authority-data"
            ),
            ConnectProblem::Other(detail) => write!(
                f,
                "{detail} (check --context/--kubeconfig, or that the cluster is up)"
            ),
        }
    }
}

/// The kubeconfig, or the credentials it names, could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KubeconfigError {
    #[error("{} does not exist; check the --kubeconfig path", .0.display())]
    Missing(PathBuf),

    #[error("{}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error("$KUBECONFIG names {}, which does not exist; fix KUBECONFIG or pass --kubeconfig", missing.join(", "))]
    EnvMissing { missing: Vec<String> },

    /// The URL is left out: a proxy URL can carry a password.
    #[error(
        "the proxy (the cluster's proxy-url, else HTTPS_PROXY or HTTP_PROXY) is not a valid URL: {0}; write it as http://HOST:PORT"
    )]
    ProxyUrl(#[source] http::uri::InvalidUri),

    #[error("$KUBECONFIG: {0}")]
    EnvUnreadable(#[source] kube::config::KubeconfigError),

    #[error(
        "no kubeconfig found ($KUBECONFIG is unset and ~/.kube/config does not exist) and this is not a pod; pass --kubeconfig or set KUBECONFIG"
    )]
    NoneFound(#[source] kube::config::InClusterError),

    #[error(
        "{flag} {name:?} is not in the kubeconfig (it has: {}); see kubectl config get-contexts",
        if known.is_empty() { "none".to_string() } else { known.join(", ") }
    )]
    NotListed {
        flag: &'static str,
        name: String,
        known: Vec<String>,
    },

    #[error("{0}")]
    Invalid(#[source] kube::config::KubeconfigError),

    #[error("{0}")]
    Inferred(#[source] kube::config::InferConfigError),

    #[error("the user's exec section has no command")]
    HelperWithoutCommand,

    #[error("could not run the credential helper {program}: {source}{hint}")]
    HelperNotRun {
        program: String,
        /// The kubeconfig's `installHint`, as ` (…)`, or empty.
        hint: String,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "the credential helper {program} failed ({status}); its message, if any, is above. Check your login, e.g. by running the helper yourself"
    )]
    HelperFailed {
        program: String,
        status: std::process::ExitStatus,
    },

    #[error("the credential helper {program} did not print an ExecCredential: {source}")]
    HelperOutput {
        program: String,
        #[source]
        source: serde_json::Error,
    },

    #[error("the credential helper {program} printed an ExecCredential without status")]
    HelperWithoutStatus { program: String },

    #[error(
        "the credential helper {program} gave an invalid expirationTimestamp {text:?}: {source}"
    )]
    HelperExpiry {
        program: String,
        text: String,
        #[source]
        source: jiff::Error,
    },

    #[error(
        "the credential helper {program} printed only one of clientCertificateData and clientKeyData"
    )]
    HelperHalfCertificate { program: String },

    #[error("the credential helper {program} printed neither a token nor a client certificate")]
    HelperWithoutCredential { program: String },

    #[error("the credential helper stopped: {0}")]
    HelperStopped(#[source] tokio::task::JoinError),

    #[error("the credential helper printed a token that is not a valid header")]
    HelperBadToken(#[source] http::header::InvalidHeaderValue),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

// Boxed so that every `Result` carrying this error stays small.
impl From<KubeconfigError> for Error {
    fn from(error: KubeconfigError) -> Self {
        Error::Kubeconfig(Box::new(error))
    }
}

fn status_reason(status: &Status) -> String {
    if status.reason.is_empty() {
        format!("{}", status.code)
    } else {
        status.reason.clone()
    }
}

impl Error {
    /// Maps a kube-rs error; `server` names the API server in connection errors.
    pub fn from_kube(error: kube::Error, server: &str) -> Error {
        let server = server.to_string();
        match error {
            kube::Error::Api(status) if status.code == 401 => Error::Unauthorized(status),
            kube::Error::Api(status) => Error::Api(status),
            kube::Error::SerdeError(_) => Error::Decode {
                server,
                source: Box::new(error),
            },
            kube::Error::Auth(_) => Error::Auth {
                source: Box::new(error),
            },
            kube::Error::InferKubeconfig(e) => KubeconfigError::Invalid(e).into(),
            kube::Error::InferConfig(e) => KubeconfigError::Inferred(e).into(),
            error => Error::Connect {
                server,
                problem: connect_problem(&error),
                source: Box::new(error),
            },
        }
    }

    /// The HTTP status code when this is an API error.
    pub fn status_code(&self) -> Option<u16> {
        match self {
            Error::Api(status) | Error::Unauthorized(status) => Some(status.code),
            _ => None,
        }
    }

    /// The API server's message when this is an API error (an admission webhook's
    /// rejection included).
    pub fn api_message(&self) -> Option<&str> {
        match self {
            Error::Api(status) | Error::Unauthorized(status) => Some(&status.message),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        self.status_code() == Some(404)
    }

    pub fn is_forbidden(&self) -> bool {
        self.status_code() == Some(403)
    }

    /// A 404 for the whole resource type (its CRD is missing), not for one object. The
    /// apiserver then says "the server could not find the requested resource" (the
    /// group exists) or answers a plain "404 page not found" (the group does not), and
    /// names no object.
    pub fn is_missing_resource_type(&self) -> bool {
        match self {
            Error::Api(status) => {
                status.code == 404
                    && status.details.as_ref().is_none_or(|d| d.name.is_empty())
                    && (status
                        .message
                        .contains("could not find the requested resource")
                        || status.message.contains("404 page not found"))
            }
            _ => false,
        }
    }

    /// Printed as kubectl prints it (`Error from server …`, `Unable to connect …`),
    /// without the `error: ` prefix.
    pub fn is_kubectl_form(&self) -> bool {
        matches!(self, Error::Api(_) | Error::Connect { .. })
    }
}

/// What stopped a request, from the causes of kube-rs's error (read through the
/// `io::Error`s that wrap rustls's and hyper's own).
fn connect_problem(error: &kube::Error) -> ConnectProblem {
    let mut innermost = error.to_string();
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = current {
        if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
            return ConnectProblem::Tls(tls.to_string());
        }
        if cause.is::<tokio::time::error::Elapsed>() {
            return ConnectProblem::TimedOut;
        }
        innermost = cause.to_string();
        current = match cause.downcast_ref::<std::io::Error>() {
            Some(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
                return ConnectProblem::Refused;
            }
            Some(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                return ConnectProblem::TimedOut;
            }
            // An io::Error's `source` skips the error it wraps: look at that one.
            Some(io) => match io.get_ref() {
                Some(inner) => Some(inner as &(dyn std::error::Error + 'static)),
                None => std::error::Error::source(io),
            },
            None => cause.source(),
        };
    }
    ConnectProblem::Other(innermost)
}
