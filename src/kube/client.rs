//! A Kubernetes client configured the way kubectl would be: the kubeconfig it picks,
//! `--context`/`--cluster`/`--user`, `--request-timeout`, and credential helpers run
//! once per run. Nothing is sent to the server while connecting.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::Config;
use kube::client::ClientBuilder;
use kube::config::{ExecConfig, KubeConfigOptions, Kubeconfig};
use secrecy::SecretString;
use tower::buffer::BufferLayer;
use tower::filter::AsyncFilterLayer;
use tower::retry::RetryLayer;

use super::api::Kube;
use super::error::{Error, KubeconfigError, Result};
use super::exec_auth;
use super::throttle::{self, ThrottleLayer};
use crate::go::proxy::ProxyEnvironment;

/// kubectl's cluster flags, as far as the client needs them.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    pub cluster: Option<String>,
    pub user: Option<String>,
    /// The limit of one request; `None` = no limit.
    pub request_timeout: Option<Duration>,
}

impl Kube {
    /// Builds the client from the kubeconfig the way kubectl picks it: `--kubeconfig`
    /// alone when given, else `$KUBECONFIG` (merged) or `~/.kube/config`, else the
    /// in-cluster service account.
    pub async fn connect(options: &ConnectOptions) -> Result<Kube> {
        let selection = KubeConfigOptions {
            context: options.context.clone(),
            cluster: options.cluster.clone(),
            user: options.user.clone(),
        };
        let kubeconfig = load_kubeconfig(options.kubeconfig.as_deref())?;
        let cluster_proxy = kubeconfig
            .as_ref()
            .and_then(|k| cluster_proxy_url(k, &selection));
        let mut config = match kubeconfig {
            Some(kubeconfig) => {
                check_selection(&kubeconfig, &selection)?;
                Config::from_custom_kubeconfig(kubeconfig, &selection)
                    .await
                    .map_err(KubeconfigError::Invalid)?
            }
            // As kubectl: without any kubeconfig, the in-cluster service account.
            None => Config::incluster().map_err(KubeconfigError::NoneFound)?,
        };
        config.proxy_url = proxy_url(&config.cluster_url, cluster_proxy)?;
        let timeout = options.request_timeout;
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
        // kube-rs's retry sits above the throttle, so that the throttle sees every 429.
        config.default_retry = false;
        let builder = ClientBuilder::try_from(config)
            .map_err(|e| Error::from_kube(e, &server))?
            // Retries and the filter clone the service they wrap; a buffer makes
            // kube's stack cloneable.
            .with_layer(&BufferLayer::new(64))
            .with_layer(&ThrottleLayer::new())
            .with_layer(&RetryLayer::new(throttle::retry_policy()));
        let client = match token {
            None => builder.build(),
            Some(token) => builder.with_layer(&AsyncFilterLayer::new(token)).build(),
        };
        Ok(Kube::new(client, server))
    }
}

/// The selected cluster's `proxy-url`, when it has one.
fn cluster_proxy_url(kubeconfig: &Kubeconfig, selection: &KubeConfigOptions) -> Option<String> {
    let context_name = selection
        .context
        .as_ref()
        .or(kubeconfig.current_context.as_ref())?;
    let cluster_name = match &selection.cluster {
        Some(name) => name.clone(),
        None => kubeconfig
            .contexts
            .iter()
            .find(|c| &c.name == context_name)?
            .context
            .as_ref()?
            .cluster
            .clone(),
    };
    kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)?
        .cluster
        .as_ref()?
        .proxy_url
        .clone()
        .filter(|url| !url.is_empty())
}

/// The proxy kubectl would use for `server`: the kubeconfig's `proxy-url` for every
/// request, else the environment's by Go's rule (never for a loopback server, not for
/// hosts in `NO_PROXY`). kube-rs alone would take `HTTPS_PROXY` for any server and
/// test `NO_PROXY` against the proxy's address.
fn proxy_url(server: &http::Uri, cluster_proxy: Option<String>) -> Result<Option<http::Uri>> {
    let chosen = cluster_proxy.or_else(|| {
        let scheme = server.scheme_str().unwrap_or("https");
        let default_port = if scheme == "http" { 80 } else { 443 };
        ProxyEnvironment::from_env().proxy_for(
            scheme,
            server.host().unwrap_or_default(),
            server.port_u16().unwrap_or(default_port),
        )
    });
    chosen
        .map(|text| text.parse::<http::Uri>().map_err(KubeconfigError::ProxyUrl))
        .transpose()
        .map_err(Into::into)
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
            .map_err(KubeconfigError::HelperStopped)??
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
fn load_kubeconfig(path: Option<&Path>) -> Result<Option<Kubeconfig>, KubeconfigError> {
    if let Some(path) = path {
        if !path.exists() {
            return Err(KubeconfigError::Missing(path.to_path_buf()));
        }
        return read(path).map(Some);
    }
    if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        let missing: Vec<String> = std::env::split_paths(&value)
            .filter(|p| !p.as_os_str().is_empty() && !p.exists())
            .map(|p| p.display().to_string())
            .collect();
        if !missing.is_empty() && std::env::split_paths(&value).all(|p| !p.exists()) {
            return Err(KubeconfigError::EnvMissing { missing });
        }
        return Kubeconfig::from_env().map_err(KubeconfigError::EnvUnreadable);
    }
    let default =
        std::env::var_os("HOME").map(|home| Path::new(&home).join(".kube").join("config"));
    match default {
        Some(path) if path.exists() => read(&path).map(Some),
        _ => Ok(None),
    }
}

fn read(path: &Path) -> Result<Kubeconfig, KubeconfigError> {
    Kubeconfig::read_from(path).map_err(|source| KubeconfigError::Unreadable {
        path: path.to_path_buf(),
        source,
    })
}

/// `--context`, `--cluster` and `--user` must name entries of the kubeconfig.
fn check_selection(
    kubeconfig: &Kubeconfig,
    options: &KubeConfigOptions,
) -> Result<(), KubeconfigError> {
    let check = |flag: &'static str, wanted: &Option<String>, names: Vec<&str>| match wanted {
        Some(name) if !names.contains(&name.as_str()) => Err(KubeconfigError::NotListed {
            flag,
            name: name.clone(),
            known: names.into_iter().map(str::to_string).collect(),
        }),
        _ => Ok(()),
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
