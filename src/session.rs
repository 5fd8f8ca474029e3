//! What the global flags resolve to: a Kubernetes client configured like kubectl would
//! be, the Longhorn namespace, and facts about the terminal. Commands receive a
//! `Session` and never look at raw flags for these.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use kube::client::ClientBuilder;
use kube::config::{ExecConfig, KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use secrecy::SecretString;
use tokio::sync::OnceCell;
use tower::buffer::BufferLayer;
use tower::filter::AsyncFilterLayer;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result, from_kube};
use crate::exec_auth;
use crate::longhorn;

/// Where output goes and whether a person is watching.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    pub stdin: bool,
    pub stdout: bool,
    pub stderr: bool,
}

impl Terminal {
    pub fn detect() -> Self {
        Terminal {
            stdin: std::io::stdin().is_terminal(),
            stdout: std::io::stdout().is_terminal(),
            stderr: std::io::stderr().is_terminal(),
        }
    }

    /// Prompts need a person on both ends: input to read and a screen to draw on.
    pub fn can_prompt(self) -> bool {
        self.stdin && self.stderr
    }

    /// Colour only on a terminal, and never when NO_COLOR is set.
    pub fn color(self) -> bool {
        self.stdout && std::env::var_os("NO_COLOR").is_none()
    }
}

pub struct Session {
    client: Client,
    server: String,
    namespace_flag: Option<String>,
    namespace: OnceCell<String>,
    pub terminal: Terminal,
}

impl Session {
    /// Builds the client from the kubeconfig the way kubectl picks it: `--kubeconfig`
    /// alone when given, else `$KUBECONFIG` (merged) or `~/.kube/config`, else the
    /// in-cluster service account. Nothing is sent to the server yet.
    pub async fn connect(global: &GlobalArgs) -> Result<Self> {
        let options = KubeConfigOptions {
            context: global.context.clone(),
            cluster: global.cluster.clone(),
            user: global.user.clone(),
        };
        let kubeconfig = load_kubeconfig(global.kubeconfig.as_deref())?;
        let mut config = match kubeconfig {
            Some(kubeconfig) => {
                check_selection(&kubeconfig, &options)?;
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| Error::Kubeconfig(e.to_string()))?
            }
            // As kubectl: without any kubeconfig, the in-cluster service account.
            None => Config::incluster().map_err(|_| {
                Error::Kubeconfig(
                    "no kubeconfig found ($KUBECONFIG is unset and ~/.kube/config does not exist) and this is not a pod; pass --kubeconfig or set KUBECONFIG".into(),
                )
            })?,
        };
        let timeout = global.request_timeout.as_limit();
        config.read_timeout = timeout;
        config.write_timeout = timeout;
        if let Some(limit) = timeout {
            config.connect_timeout = Some(limit.min(Duration::from_secs(30)));
        }
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        // As client-go: a token in the kubeconfig wins over the helper.
        let has_token = config.auth_info.token.is_some() || config.auth_info.token_file.is_some();
        let token = match config.auth_info.exec.take().filter(|_| !has_token) {
            Some(exec) => exec_credential(&mut config, exec).await?,
            None => None,
        };
        let client = match token {
            None => Client::try_from(config),
            // The filter clones the service it wraps; a buffer makes kube's stack cloneable.
            Some(token) => ClientBuilder::try_from(config).map(|builder| {
                builder
                    .with_layer(&BufferLayer::new(64))
                    .with_layer(&AsyncFilterLayer::new(token))
                    .build()
            }),
        }
        .map_err(|e| from_kube(e, &server))?;
        Ok(Session {
            client,
            server,
            namespace_flag: global.namespace.clone(),
            namespace: OnceCell::new(),
            terminal: Terminal::detect(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The API server URL, for messages.
    pub fn server(&self) -> &str {
        &self.server
    }

    /// Converts a kube error, naming this session's server on connection failures.
    pub fn kube_error(&self, error: kube::Error) -> Error {
        from_kube(error, &self.server)
    }

    /// The namespace to work in: `-n` when given; otherwise the one Longhorn is
    /// installed in, found once per run (see [`longhorn::install::find_namespace`]).
    pub async fn namespace(&self) -> Result<&str> {
        self.namespace
            .get_or_try_init(|| async {
                match &self.namespace_flag {
                    Some(namespace) => Ok(namespace.clone()),
                    None => longhorn::install::find_namespace(self).await,
                }
            })
            .await
            .map(String::as_str)
    }

    /// True when `-n` was given (then the namespace is the user's choice, not a guess).
    pub fn namespace_is_explicit(&self) -> bool {
        self.namespace_flag.is_some()
    }
}

/// Runs the user's credential helper once (see [`exec_auth`]): a client certificate
/// becomes the TLS identity, a token is returned for the request filter.
async fn exec_credential(
    config: &mut Config,
    exec: ExecConfig,
) -> Result<Option<exec_auth::Token>> {
    use base64::Engine;
    let credential = {
        let exec = exec.clone();
        tokio::task::spawn_blocking(move || exec_auth::run(&exec))
            .await
            .map_err(|e| Error::Kubeconfig(format!("the credential helper stopped: {e}")))??
    };
    if let Some((cert, key)) = &credential.certificate {
        let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
        config.auth_info.client_certificate_data = Some(encode(cert));
        config.auth_info.client_key_data = Some(SecretString::from(encode(key)));
    }
    Ok(credential
        .token
        .is_some()
        .then(|| exec_auth::Token::new(exec, credential)))
}

/// The kubeconfig kubectl would use: `--kubeconfig` alone, else `$KUBECONFIG`
/// (merged), else `~/.kube/config`; `None` when there is none (in-cluster).
fn load_kubeconfig(path: Option<&Path>) -> Result<Option<Kubeconfig>> {
    if let Some(path) = path {
        if !path.exists() {
            return Err(Error::Kubeconfig(format!(
                "{} does not exist; check the --kubeconfig path",
                path.display()
            )));
        }
        return Kubeconfig::read_from(path)
            .map(Some)
            .map_err(|e| Error::Kubeconfig(format!("{}: {e}", path.display())));
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let missing: Vec<String> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() && std::env::split_paths(&value).all(|p| !p.exists()) {
            return Err(Error::Kubeconfig(format!(
                "$KUBECONFIG names {}, which does not exist; fix KUBECONFIG or pass --kubeconfig",
                missing.join(", ")
            )));
        }
        return Kubeconfig::from_env().map_err(|e| Error::Kubeconfig(format!("$KUBECONFIG: {e}")));
    }
    let default =
        std::env::var_os("HOME").map(|home| Path::new(&home).join(".kube").join("config"));
    match default {
        Some(path) if path.exists() => Kubeconfig::read_from(&path)
            .map(Some)
            .map_err(|e| Error::Kubeconfig(format!("{}: {e}", path.display()))),
        _ => Ok(None),
    }
}

/// `--context`, `--cluster` and `--user` must name entries of the kubeconfig.
fn check_selection(kubeconfig: &Kubeconfig, options: &KubeConfigOptions) -> Result<()> {
    let check = |flag: &str, wanted: &Option<String>, names: Vec<&str>| -> Result<()> {
        match wanted {
            Some(name) if !names.contains(&name.as_str()) => Err(Error::Kubeconfig(format!(
                "{flag} {name:?} is not in the kubeconfig (it has: {}); see kubectl config get-contexts",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))),
            _ => Ok(()),
        }
    };
    check(
        "context",
        &options.context,
        kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect(),
    )?;
    check(
        "cluster",
        &options.cluster,
        kubeconfig
            .clusters
            .iter()
            .map(|c| c.name.as_str())
            .collect(),
    )?;
    check(
        "user",
        &options.user,
        kubeconfig
            .auth_infos
            .iter()
            .map(|u| u.name.as_str())
            .collect(),
    )
}
