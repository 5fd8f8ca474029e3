//! What the global flags resolve to: a Kubernetes client configured like kubectl would
//! be, the Longhorn namespace, and facts about the terminal. Commands receive a
//! `Session` and never look at raw flags for these.

use std::io::IsTerminal;
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use tokio::sync::OnceCell;

use crate::cli::GlobalArgs;
use crate::error::{Error, Result, from_kube};
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
        let kubeconfig_error = |e: &dyn std::fmt::Display| Error::Kubeconfig(e.to_string());
        let no_selection =
            options.context.is_none() && options.cluster.is_none() && options.user.is_none();
        let mut config = match &global.kubeconfig {
            Some(path) => {
                let kubeconfig = Kubeconfig::read_from(path)
                    .map_err(|e| Error::Kubeconfig(format!("{}: {e}", path.display())))?;
                Config::from_custom_kubeconfig(kubeconfig, &options)
                    .await
                    .map_err(|e| kubeconfig_error(&e))?
            }
            // As kubectl: the kubeconfig when there is one, else the in-cluster account.
            None if no_selection => Config::infer().await.map_err(|e| kubeconfig_error(&e))?,
            None => Config::from_kubeconfig(&options)
                .await
                .map_err(|e| kubeconfig_error(&e))?,
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
        let client = Client::try_from(config).map_err(|e| from_kube(e, &server))?;
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
