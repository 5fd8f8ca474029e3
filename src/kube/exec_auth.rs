//! Credential helpers (`users[].user.exec` in a kubeconfig, e.g. `aws eks get-token`,
//! `gke-gcloud-auth-plugin`, `kubelogin`), run the way client-go runs them: once per
//! run, and again only when the credential is about to expire.
//!
//! kube-client would run the helper three times while building one client (the TLS
//! identity, the client's expiry and the auth layer; kube-rs/kube#1088). Cloud helpers
//! take hundreds of milliseconds each and interactive ones would ask three times, so
//! the session takes the helper out of the config, runs it here and adds the token to
//! each request itself.

use std::io::IsTerminal;
use std::process::{Command, Stdio};
use std::sync::Arc;

use futures::future::BoxFuture;
use http::HeaderValue;
use kube::config::{ExecConfig, ExecInteractiveMode};
use serde::Deserialize;
use tokio::sync::Mutex;
use tower::filter::AsyncPredicate;

use super::error::{KubeconfigError, Result};

/// Refresh this long before the credential expires (client-go and kube-rs use the same).
const EXPIRY_MARGIN: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// What a helper printed: `status` of an ExecCredential.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Status {
    token: Option<String>,
    client_certificate_data: Option<String>,
    client_key_data: Option<String>,
    expiration_timestamp: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ExecCredential {
    status: Option<Status>,
}

/// A credential from the helper.
pub struct Credential {
    pub token: Option<String>,
    /// PEM certificate and key for the TLS identity.
    pub certificate: Option<(String, String)>,
    expires: Option<jiff::Timestamp>,
}

impl Credential {
    fn expiring(&self) -> bool {
        self.expires
            .is_some_and(|at| jiff::Timestamp::now() + EXPIRY_MARGIN >= at)
    }
}

/// Runs the helper once (blocking: it may ask the user something).
pub fn run(exec: &ExecConfig) -> Result<Credential> {
    let program = exec
        .command
        .as_deref()
        .ok_or(KubeconfigError::HelperWithoutCommand)?;
    let mut command = Command::new(program);
    command.args(exec.args.iter().flatten());
    for pair in exec.env.iter().flatten() {
        if let (Some(name), Some(value)) = (pair.get("name"), pair.get("value")) {
            command.env(name, value);
        }
    }
    for name in exec.drop_env.iter().flatten() {
        command.env_remove(name);
    }
    // As client-go: stdin only when the helper may ask and a person can answer;
    // stderr always goes to the user (login instructions, errors).
    let interactive = match exec.interactive_mode {
        Some(ExecInteractiveMode::Never) => false,
        Some(ExecInteractiveMode::Always) => true,
        Some(ExecInteractiveMode::IfAvailable) | None => std::io::stdin().is_terminal(),
    };
    command
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::inherit());
    let mut spec = serde_json::json!({"interactive": interactive});
    if exec.provide_cluster_info
        && let Some(cluster) = &exec.cluster
    {
        spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
    }
    let info = serde_json::json!({
        "apiVersion": exec.api_version.as_deref().unwrap_or("client.authentication.k8s.io/v1"),
        "kind": "ExecCredential",
        "spec": spec,
    });
    command.env("KUBERNETES_EXEC_INFO", info.to_string());

    let hint = exec
        .install_hint
        .as_deref()
        .map(|h| format!(" ({})", h.trim().replace('\n', " ")))
        .unwrap_or_default();
    let output = command
        .output()
        .map_err(|source| KubeconfigError::HelperNotRun {
            program: program.to_string(),
            hint,
            source,
        })?;
    if !output.status.success() {
        return Err(KubeconfigError::HelperFailed {
            program: program.to_string(),
            status: output.status,
        }
        .into());
    }
    parse_output(program, &output.stdout)
}

/// The credential in what helper `program` printed: an ExecCredential whose status
/// holds a token, a client certificate and key, or both.
pub fn parse_output(program: &str, stdout: &[u8]) -> Result<Credential> {
    let parsed: ExecCredential =
        serde_json::from_slice(stdout).map_err(|source| KubeconfigError::HelperOutput {
            program: program.to_string(),
            source,
        })?;
    let status = parsed
        .status
        .ok_or_else(|| KubeconfigError::HelperWithoutStatus {
            program: program.to_string(),
        })?;
    let expires = match status.expiration_timestamp.as_deref() {
        Some(text) => Some(text.parse::<jiff::Timestamp>().map_err(|source| {
            KubeconfigError::HelperExpiry {
                program: program.to_string(),
                text: text.to_string(),
                source,
            }
        })?),
        None => None,
    };
    let certificate = match (status.client_certificate_data, status.client_key_data) {
        (Some(cert), Some(key)) => Some((cert, key)),
        (None, None) => None,
        _ => {
            return Err(KubeconfigError::HelperHalfCertificate {
                program: program.to_string(),
            }
            .into());
        }
    };
    if status.token.is_none() && certificate.is_none() {
        return Err(KubeconfigError::HelperWithoutCredential {
            program: program.to_string(),
        }
        .into());
    }
    Ok(Credential {
        token: status.token,
        certificate,
        expires,
    })
}

/// The bearer token of a helper, refreshed when it is about to expire. As a request
/// filter (`AsyncFilterLayer::new(token)`) it adds itself to every request.
#[derive(Clone)]
pub struct Token {
    exec: Arc<ExecConfig>,
    current: Arc<Mutex<Credential>>,
}

impl Token {
    pub fn new(exec: ExecConfig, credential: Credential) -> Self {
        Token {
            exec: Arc::new(exec),
            current: Arc::new(Mutex::new(credential)),
        }
    }

    /// The `Authorization` header for the next request.
    pub async fn header(&self) -> Result<HeaderValue> {
        let mut current = self.current.lock().await;
        if current.expiring() {
            let exec = Arc::clone(&self.exec);
            *current = tokio::task::spawn_blocking(move || run(&exec))
                .await
                .map_err(KubeconfigError::HelperStopped)??;
        }
        let token = current.token.as_deref().unwrap_or_default();
        let mut value = HeaderValue::from_str(&format!("Bearer {token}"))
            .map_err(KubeconfigError::HelperBadToken)?;
        value.set_sensitive(true);
        Ok(value)
    }
}

type Request = http::Request<kube::client::Body>;

impl AsyncPredicate<Request> for Token {
    type Future = BoxFuture<'static, std::result::Result<Request, tower::BoxError>>;
    type Request = Request;

    fn check(&mut self, mut request: Request) -> Self::Future {
        let token = self.clone();
        Box::pin(async move {
            let value = token.header().await?;
            request
                .headers_mut()
                .insert(http::header::AUTHORIZATION, value);
            Ok(request)
        })
    }
}
