//! What longhorn-manager's own code cannot do on the ground, played for one Longhorn
//! namespace: the engines, replicas and backing-image managers behind the snapshots,
//! volume backups and backing-image backups that the real controllers ask for, and the
//! engine-image DaemonSets that deploy an engine image on the node. Everything else (the
//! webhooks, the SystemBackup, BackupTarget, SystemRestore and RecurringJob controllers, the
//! rollout, the store) is longhorn-manager's own code (crate::manager).
//!
//! The simulator runs on its own thread with its own tokio runtime, so a test may block its
//! own thread (e.g. run the plugin binary) while the simulator keeps reconciling.

mod backing_images;
mod engine_images;
pub(crate) mod object;
mod volume_backup_store;
mod volumes;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhookConfiguration, ValidatingWebhookConfiguration,
};
use kube::api::{Api, DeleteParams, DynamicObject};
use tokio::sync::oneshot;
use tracing::warn;

use crate::Error;
use crate::knobs::Knobs;
use crate::longhorn::Kind;
use crate::manager::Layout;
pub(crate) use object::rfc3339_seconds;
pub use volume_backup_store::request_sync;
pub(crate) use volume_backup_store::{VolumeBackup, write as write_volume_backup};

/// What one simulator needs to start.
pub struct SimulatorConfig {
    pub namespace: String,
    pub knobs: Knobs,
    /// An admin kubeconfig; the simulator builds its client from it on its own runtime.
    pub kubeconfig_yaml: String,
    /// `status.ownerID` the simulated components write.
    pub node_id: String,
    /// The environment's directory (engine binaries go there as images deploy).
    pub dir: PathBuf,
    /// The engine stand-in: installed for every deployed engine image, and run to write
    /// volume backups to the store.
    pub engine_binary: PathBuf,
}

/// A running simulator; dropping it stops it and removes the environment's webhook
/// configurations.
pub struct Simulator {
    /// `true`: remove the webhook configurations on the way out.
    stop: Option<oneshot::Sender<bool>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Simulator {
    /// Starts the simulator and returns once its controllers watch.
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

    /// Stops reconciling but leaves the webhook configurations registered, as when the
    /// node is down: admitted writes then fail with the apiserver's "failed calling
    /// webhook" error.
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
        let sim = match Sim::connect(&config).await {
            Ok(sim) => Arc::new(sim),
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        tokio::spawn(volumes::run_volumes(sim.clone()));
        tokio::spawn(volumes::run_snapshots(sim.clone()));
        tokio::spawn(volumes::run_backups(sim.clone()));
        tokio::spawn(backing_images::run_backups(sim.clone()));
        tokio::spawn(engine_images::run(sim.clone()));
        for kind in [
            Kind::BackingImage,
            Kind::EngineImage,
            Kind::Node,
            Kind::InstanceManager,
            Kind::BackupVolume,
        ] {
            tokio::spawn(volumes::run_releases(sim.clone(), kind));
        }
        let _ = ready.send(Ok(()));
        // A dropped sender (no message) counts as a full stop.
        if stop.await.unwrap_or(true) {
            unregister_webhooks(&sim.client, &sim.namespace).await;
        }
    });
    runtime.shutdown_timeout(Duration::from_millis(200));
}

/// The webhook configurations longhorn-manager registered for this namespace
/// (tests/longhorn/manager/webhooks.go).
pub fn webhook_configuration_names(namespace: &str) -> (String, String) {
    (
        format!("{namespace}-longhorn-webhook-mutator"),
        format!("{namespace}-longhorn-webhook-validator"),
    )
}

async fn unregister_webhooks(client: &kube::Client, namespace: &str) {
    let (mutating, validating) = webhook_configuration_names(namespace);
    let _ = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .delete(&mutating, &DeleteParams::default())
        .await;
    let _ = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .delete(&validating, &DeleteParams::default())
        .await;
}

/// Shared state of one simulator.
pub(crate) struct Sim {
    pub client: kube::Client,
    pub namespace: String,
    pub knobs: Knobs,
    pub node_id: String,
    pub layout: Layout,
    pub engine_binary: PathBuf,
}

impl Sim {
    async fn connect(config: &SimulatorConfig) -> Result<Self, Error> {
        let client = crate::plane::client_from_yaml(&config.kubeconfig_yaml).await?;
        Ok(Self {
            client,
            namespace: config.namespace.clone(),
            knobs: config.knobs.clone(),
            node_id: config.node_id.clone(),
            layout: Layout::new(&config.dir),
            engine_binary: config.engine_binary.clone(),
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
