//! A stand-in for longhorn-manager: admission webhooks and controllers for one
//! Longhorn namespace, following simulator-spec.md per Longhorn version.
//!
//! Each simulator runs on its own thread with its own tokio runtime, so a test may
//! block its own thread (e.g. run the plugin binary) while the simulator keeps
//! answering webhooks and reconciling.

mod backuptarget;
mod bundle;
pub mod cron;
mod engine;
mod events;
mod object;
mod recurring;
mod restore;
mod steps;
pub mod store;
mod systembackup;
mod volumes;
mod webhook;

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::DaemonSet;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::json;
use tokio::sync::oneshot;
use tracing::warn;

use crate::Error;
use crate::knobs::Knobs;
use crate::longhorn::{Kind, Version};
use crate::pki::CertPair;
use engine::Engine;
pub(crate) use engine::rfc3339_seconds;
use store::Stores;

/// What one simulator needs to start.
pub struct SimulatorConfig {
    pub namespace: String,
    pub version: Version,
    pub knobs: Knobs,
    pub stores: Arc<Stores>,
    /// An admin kubeconfig; the simulator builds its client from it on its own runtime.
    pub kubeconfig_yaml: String,
    pub kubernetes_version: String,
    /// The certificate the webhook serves and the CA the apiserver should trust.
    pub serving: CertPair,
    pub ca_pem: String,
    /// `status.ownerID` the simulated manager writes.
    pub node_id: String,
}

/// A running simulator; dropping it stops it and removes its webhook configurations.
pub struct Simulator {
    /// `true`: remove the webhook configurations on the way out.
    stop: Option<oneshot::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Simulator {
    /// Starts the simulator and returns once its webhooks answer and its controllers
    /// watch.
    pub async fn start(config: SimulatorConfig) -> Result<Self, Error> {
        let (ready_tx, ready_rx) = oneshot::channel();
        let (stop_tx, stop_rx) = oneshot::channel();
        let thread = std::thread::Builder::new()
            .name(format!("sim-{}", config.namespace))
            .spawn(move || run_thread(config, ready_tx, stop_rx))
            .map_err(crate::plane::io_err("starting the simulator thread"))?;
        let simulator = Self {
            stop: Some(stop_tx),
            thread: Some(thread),
        };
        match ready_rx.await {
            Ok(Ok(())) => Ok(simulator),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(Error::Startup(
                "the simulator thread ended during startup".into(),
            )),
        }
    }
}

impl Simulator {
    /// Stops reconciling and answering webhooks but leaves the webhook configurations
    /// registered, as when longhorn-manager is down: admitted writes then fail with
    /// the apiserver's "failed calling webhook" error.
    pub fn halt(mut self) {
        self.stop_thread(false);
    }

    fn stop_thread(&mut self, unregister: bool) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(unregister);
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop_thread(true);
    }
}

fn run_thread(
    config: SimulatorConfig,
    ready: oneshot::Sender<Result<(), Error>>,
    stop: oneshot::Receiver<bool>,
) {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = ready.send(Err(Error::Startup(format!("simulator runtime: {e}"))));
            return;
        }
    };
    runtime.block_on(async move {
        let namespace = config.namespace.clone();
        let sim = match Sim::connect(&config).await {
            Ok(sim) => Arc::new(sim),
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let started = start_everything(sim.clone(), &config).await;
        let failed = started.is_err();
        let _ = ready.send(started);
        // A dropped sender (no message) counts as a full stop.
        let unregister = if failed {
            true
        } else {
            stop.await.unwrap_or(true)
        };
        if unregister {
            webhook::unregister(&sim.client, &namespace).await;
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
}

async fn start_everything(sim: Arc<Sim>, config: &SimulatorConfig) -> Result<(), Error> {
    let address = webhook::serve(sim.clone(), &config.serving).await?;
    webhook::register(&sim, address, &config.ca_pem).await?;
    wait_for_webhooks(&sim).await?;
    tokio::spawn(systembackup::run(sim.clone()));
    tokio::spawn(volumes::run_snapshots(sim.clone()));
    tokio::spawn(volumes::run_backups(sim.clone()));
    tokio::spawn(backuptarget::run(sim.clone()));
    tokio::spawn(recurring::run(sim.clone()));
    tokio::spawn(recurring::run_jobs(sim.clone()));
    tokio::spawn(restore::run(sim.clone()));
    tokio::spawn(follow_engine_image_knob(sim.clone()));
    Ok(())
}

/// The apiserver picks up new webhook configurations asynchronously; dry-run creates
/// of a probe RecurringJob show when both webhooks are called.
async fn wait_for_webhooks(sim: &Sim) -> Result<(), Error> {
    let probe: DynamicObject = serde_json::from_value(json!({
        "apiVersion": crate::longhorn::API_VERSION,
        "kind": "RecurringJob",
        "metadata": {"name": webhook::PROBE_NAME},
        "spec": {"name": webhook::PROBE_NAME, "task": "snapshot", "cron": "0 0 * * *", "retain": 1, "concurrency": 1},
    }))
    .expect("a valid probe");
    let params = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let _ = sim.api(Kind::RecurringJob).create(&params, &probe).await;
        if sim.webhook_probes.both_seen() {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            return Err(Error::Startup(
                "the apiserver never called the simulator's webhooks".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The engine-image knob drives `status.state` of every EngineImage.
async fn follow_engine_image_knob(sim: Arc<Sim>) {
    let mut changes = sim.knobs.subscribe();
    loop {
        let state = if sim.knobs.get().engine_image_deployed {
            "deployed"
        } else {
            "deploying"
        };
        if let Ok(images) = sim.api(Kind::EngineImage).list(&Default::default()).await {
            for image in images.items {
                if object::text(&image, "/status/state") != state {
                    let patch = json!({"status": {"state": state}});
                    let _ = sim
                        .api(Kind::EngineImage)
                        .patch_status(
                            &object::name(&image),
                            &Default::default(),
                            &kube::api::Patch::Merge(patch),
                        )
                        .await;
                }
            }
        }
        if changes.changed().await.is_err() {
            return;
        }
    }
}

/// Shared state of one simulator: its client, its namespace and the simulated
/// manager's identity.
pub(crate) struct Sim {
    pub client: kube::Client,
    pub namespace: String,
    pub version: Version,
    pub knobs: Knobs,
    pub engine: Engine,
    pub node_id: String,
    pub kubernetes_version: String,
    /// The `--manager-image` of the longhorn-manager DaemonSet.
    pub manager_image: String,
    /// Its `--service-account`.
    pub service_account: String,
    pub webhook_probes: webhook::Probes,
    /// Bundles generated and not yet cleaned up (Longhorn's `/tmp/<name>.zip`).
    pub local_bundles: Mutex<HashMap<String, Vec<u8>>>,
}

impl Sim {
    async fn connect(config: &SimulatorConfig) -> Result<Self, Error> {
        let client = crate::plane::client_from_yaml(&config.kubeconfig_yaml).await?;
        let command_line = manager_command_line(&client, &config.namespace).await;
        let manager_image = flag_value(&command_line, "--manager-image")
            .unwrap_or_else(|| config.version.manager_image());
        let service_account = flag_value(&command_line, "--service-account")
            .unwrap_or_else(|| "longhorn-service-account".into());
        Ok(Self {
            engine: Engine::new(config.stores.clone(), config.knobs.clone()),
            client,
            namespace: config.namespace.clone(),
            version: config.version.clone(),
            knobs: config.knobs.clone(),
            node_id: config.node_id.clone(),
            kubernetes_version: config.kubernetes_version.clone(),
            manager_image,
            service_account,
            webhook_probes: webhook::Probes::default(),
            local_bundles: Mutex::new(HashMap::new()),
        })
    }

    pub fn api(&self, kind: Kind) -> Api<DynamicObject> {
        kind.api(&self.client, &self.namespace)
    }

    /// `Ok(None)` when the object does not exist.
    pub async fn get(&self, kind: Kind, name: &str) -> Result<Option<DynamicObject>, String> {
        self.api(kind)
            .get_opt(name)
            .await
            .map_err(|e| kube_message(&e))
    }

    /// `GetSettingWithAutoFillingRO(...).Value`: the CR's value, or `default` if the CR
    /// is missing.
    pub async fn setting(&self, name: &str, default: &str) -> Result<String, String> {
        Ok(match self.get(Kind::Setting, name).await? {
            Some(setting) => object::text(&setting, "/value").to_string(),
            None => default.to_string(),
        })
    }

    /// `GetSettingAsInt`.
    pub async fn setting_as_int(&self, name: &str, default: &str) -> Result<i64, String> {
        let value = self.setting(name, default).await?;
        value
            .parse()
            .map_err(|_| format!("strconv.ParseInt: parsing {value:?}: invalid syntax"))
    }

    /// Setting `default-engine-image`; an error when it is empty
    /// (`GetSettingValueExisted`).
    pub async fn default_engine_image(&self) -> Result<String, String> {
        let image = self.setting("default-engine-image", "").await?;
        if image.is_empty() {
            return Err("setting default-engine-image is empty".into());
        }
        Ok(image)
    }

    /// Why the manager could not build its backup target client, if it could not
    /// (`newBackupTargetClientFromDefaultEngineImage`, simulator-spec.md §3.3).
    pub async fn backup_target_client_error(&self, target: &DynamicObject) -> Option<String> {
        let image = match self.default_engine_image().await {
            Ok(image) => image,
            Err(e) => return Some(format!("failed to get default backup target client: {e}")),
        };
        let url = object::text(target, "/spec/backupTargetURL");
        let scheme = webhook::go_url_scheme(url).unwrap_or_default();
        if webhook::requires_credential(&scheme)
            && object::text(target, "/spec/credentialSecret").is_empty()
        {
            return Some(format!(
                "failed to get default backup target client on {image}: could not access {scheme} without credential secret"
            ));
        }
        None
    }
}

/// The command line of the longhorn-manager DaemonSet's container.
async fn manager_command_line(client: &kube::Client, namespace: &str) -> Vec<String> {
    let daemon_set = Api::<DaemonSet>::namespaced(client.clone(), namespace)
        .get_opt("longhorn-manager")
        .await;
    let Some(pod_spec) = daemon_set.ok().flatten().and_then(|d| d.spec.template.spec) else {
        return Vec::new();
    };
    pod_spec
        .containers
        .into_iter()
        // Longhorn's manifests pass the flags in `command`; `args` counts too.
        .flat_map(|c| {
            c.command
                .unwrap_or_default()
                .into_iter()
                .chain(c.args.unwrap_or_default())
        })
        .collect()
}

/// The value after `flag` on a command line.
fn flag_value(command_line: &[String], flag: &str) -> Option<String> {
    let position = command_line.iter().position(|a| a == flag)?;
    command_line.get(position + 1).cloned()
}

/// The message of an API error, as Go's `err.Error()` would print it.
pub(crate) fn kube_message(error: &kube::Error) -> String {
    match error {
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

pub(crate) fn is_not_found(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 404)
}

pub(crate) fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(status) if status.code == 409)
}

/// A reconcile error: logged, and the object is retried shortly.
#[derive(Debug)]
pub(crate) struct Retry(pub String);

impl std::fmt::Display for Retry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Retry {}

impl From<kube::Error> for Retry {
    fn from(error: kube::Error) -> Self {
        Retry(kube_message(&error))
    }
}

impl From<String> for Retry {
    fn from(message: String) -> Self {
        Retry(message)
    }
}

/// Runs a kube-runtime controller over one Longhorn kind in the simulator's namespace
/// until the runtime stops.
pub(crate) async fn run_controller<C, F, Fut>(sim: &Sim, kind: Kind, context: Arc<C>, reconcile: F)
where
    C: Send + Sync + 'static,
    F: FnMut(Arc<DynamicObject>, Arc<C>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<kube::runtime::controller::Action, Retry>> + Send + 'static,
{
    use futures::StreamExt;
    use kube::runtime::controller::{Action, Controller};
    let error_policy = |_: Arc<DynamicObject>, error: &Retry, _: Arc<C>| {
        if error.0.contains("the object has been modified") {
            tracing::debug!("reconcile: {error}");
        } else {
            warn!("reconcile: {error}");
        }
        Action::requeue(Duration::from_millis(500))
    };
    Controller::new_with(
        sim.api(kind),
        kube::runtime::watcher::Config::default(),
        kind.resource(),
    )
    .run(reconcile, error_policy, context)
    .for_each(|_| async {})
    .await;
}
