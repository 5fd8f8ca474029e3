//! The handle tests use: a Longhorn environment (namespace, longhorn-manager's own code,
//! seed, simulator) on a control plane shared by every test of the process (one per
//! Longhorn version), or on a dedicated one.
//!
//! A kube `Client` is bound to the tokio runtime that created it, and each
//! `#[tokio::test]` has its own runtime; so shared planes are plain data in a static,
//! started on a thread with its own runtime, and every environment hands out clients
//! built on the caller's runtime. The simulator runs on its own thread too.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DynamicObject, PostParams};
use serde_json::{Value, json};
use tokio::sync::{OnceCell, oneshot};

use crate::knobs::{KnobValues, Knobs};
use crate::longhorn::{Kind, Version};
use crate::manager::{Binaries, Layout, Manager, ManagerConfig};
use crate::mounts::Mounts;
use crate::plane::{self, ControlPlane};
use crate::seed::{self, SeedOptions, SeedReport, Seeded};
use crate::simulator::{Simulator, SimulatorConfig};
use crate::{Error, crds};

mod access;
mod backup_target;
mod waits;

/// How to set up an environment.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The Longhorn namespace; `None` = a fresh `lh-<8 hex>`.
    pub namespace: Option<String>,
    pub seed: SeedOptions,
    /// Initial knob values.
    pub knobs: KnobValues,
}

impl Options {
    pub fn volumes(mut self, volumes: usize) -> Self {
        self.seed.volumes = volumes;
        self
    }

    pub fn namespace(mut self, namespace: &str) -> Self {
        self.namespace = Some(namespace.to_string());
        self
    }
}

pub struct Ground;

type PlaneCell = Arc<OnceCell<Arc<ControlPlane>>>;

/// One shared plane per Longhorn version, started on first use.
static SHARED_PLANES: LazyLock<Mutex<HashMap<String, PlaneCell>>> = LazyLock::new(Mutex::default);

impl Ground {
    /// The version tests run against: `LONGHORN_VERSION`, else the newest supported.
    pub fn default_version() -> Result<String, Error> {
        crds::selected_version()
    }

    /// A fresh environment on the process-wide plane of `version`.
    pub async fn shared(version: &str) -> Result<Longhorn, Error> {
        Self::shared_with(version, Options::default()).await
    }

    pub async fn shared_with(version: &str, options: Options) -> Result<Longhorn, Error> {
        let version = Version::parse(version)?;
        let cell = SHARED_PLANES
            .lock()
            .expect("planes lock")
            .entry(version.to_string())
            .or_default()
            .clone();
        let plane = cell
            .get_or_try_init(|| start_plane(version.clone()))
            .await?
            .clone();
        Longhorn::create(plane, version, options).await
    }

    /// An environment on a control plane of its own, torn down with it: for tests
    /// that look at cluster-scoped objects and must not see other tests' ones.
    pub async fn dedicated(version: &str) -> Result<Longhorn, Error> {
        Self::dedicated_with(version, Options::default()).await
    }

    pub async fn dedicated_with(version: &str, options: Options) -> Result<Longhorn, Error> {
        let version = Version::parse(version)?;
        let plane = start_plane(version.clone()).await?;
        Longhorn::create(plane, version, options).await
    }
}

/// Starts etcd + kube-apiserver and applies the version's CRDs on a thread of its own.
async fn start_plane(version: Version) -> Result<Arc<ControlPlane>, Error> {
    let (sender, receiver) = oneshot::channel();
    std::thread::Builder::new()
        .name(format!("plane-{version}"))
        .spawn(move || {
            let started = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map(|runtime| {
                    runtime.block_on(async {
                        let plane = ControlPlane::start().await?;
                        crds::apply(&plane.client().await?, version.as_str()).await?;
                        Ok::<_, Error>(plane)
                    })
                });
            let _ = sender.send(
                started
                    .map_err(plane::io_err("starting a runtime"))
                    .and_then(|r| r),
            );
        })
        .map_err(plane::io_err("starting the plane thread"))?;
    let plane = receiver
        .await
        .map_err(|_| Error::Startup("the plane thread ended".into()))??;
    Ok(Arc::new(plane))
}

/// One Longhorn install for one test. Dropping it stops its longhorn-manager and
/// simulator (and its plane, if dedicated); a shared plane keeps its objects until the
/// process ends. A test that fails shows the end of longhorn-manager's log; a manager that
/// died while the test ran fails the test with it.
pub struct Longhorn {
    // Declared first so they stop before the plane goes.
    manager: Option<Manager>,
    simulator: Option<Simulator>,
    plane: Arc<ControlPlane>,
    version: Version,
    knobs: Knobs,
    mounts: Mounts,
    dir: PathBuf,
    kubeconfig: PathBuf,
    seeded: Seeded,
    seed_report: SeedReport,
    started_in: Duration,
}

impl Longhorn {
    async fn create(
        plane: Arc<ControlPlane>,
        version: Version,
        options: Options,
    ) -> Result<Self, Error> {
        let started = Instant::now();
        let namespace = options
            .namespace
            .clone()
            .unwrap_or_else(|| format!("lh-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]));
        let dir = plane.dir().join("envs").join(&namespace);
        std::fs::create_dir_all(&dir)
            .map_err(plane::io_err("creating the environment directory"))?;
        let client = plane.client().await?;
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let object = serde_json::from_value(json!({"metadata": {"name": namespace}}))
            .map_err(|e| Error::Kube(e.to_string()))?;
        match namespaces.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(Error::Kube(format!("creating namespace {namespace}: {e}"))),
        }
        let layout = Layout::new(&dir);
        let knobs = Knobs::with_faults_file(options.knobs.clone(), layout.faults())
            .map_err(plane::io_err("writing the fault file"))?;
        let mounts = Mounts::new(&layout.mounts());
        let backup_target_url = format!("nfs://127.0.0.1:/exports/{namespace}");
        let share = mounts.path(&backup_target_url).expect("an NFS share");
        std::fs::create_dir_all(&share).map_err(plane::io_err("creating the NFS share"))?;
        let binaries = Binaries::of(&version)?;
        // The seed deploys the default engine image, so its binary is in place.
        layout.install_engine_binary(&version.engine_image(), &binaries.engine)?;
        let serving = plane.authority().serving("longhorn-ground-webhook")?;
        let manager = Manager::start(ManagerConfig {
            plane: &plane,
            namespace: &namespace,
            version: &version,
            dir: &dir,
            node_id: seed::NODE_ID,
            manager_image: &version.manager_image(),
            service_account: seed::SERVICE_ACCOUNT,
            serving: &serving,
        })?;
        wait_for_webhooks(&client, &namespace).await.map_err(|e| {
            Error::Startup(format!(
                "{e}; longhorn-manager's log ({}) ends with:\n{}",
                manager.log_path().display(),
                manager.log_tail()
            ))
        })?;
        let (seeded, seed_report) = seed::seed(
            &client,
            &namespace,
            &version,
            &backup_target_url,
            manager.node_ip(),
            &options.seed,
        )
        .await
        .map_err(|e| with_log(e, &manager))?;
        let simulator = Simulator::start(SimulatorConfig {
            namespace: namespace.clone(),
            knobs: knobs.clone(),
            kubeconfig_yaml: plane.kubeconfig_yaml(plane::ADMIN, None),
            node_id: seed::NODE_ID.to_string(),
            dir: dir.clone(),
            engine_binary: binaries.engine.clone(),
        })
        .await?;
        let kubeconfig = dir.join("kubeconfig");
        let mut longhorn = Self {
            manager: Some(manager),
            simulator: Some(simulator),
            plane,
            version,
            knobs,
            mounts,
            dir,
            kubeconfig: kubeconfig.clone(),
            seeded,
            seed_report,
            started_in: Duration::ZERO,
        };
        longhorn.write_kubeconfig(&kubeconfig, plane::ADMIN)?;
        longhorn.wait_for_first_sync(&client).await?;
        if longhorn.knobs.get().store_failure.is_none() {
            longhorn
                .seed_volume_backups(&client, &binaries, options.seed.concurrency)
                .await
                .map_err(|e| match &longhorn.manager {
                    Some(manager) => with_log(e, manager),
                    None => e,
                })?;
        }
        longhorn.started_in = started.elapsed();
        Ok(longhorn)
    }

    pub fn namespace(&self) -> &str {
        &self.seeded.namespace
    }

    /// Stops longhorn-manager (and the simulator) as if the node were down: the webhook
    /// configurations stay registered but nothing answers them (so admitted writes fail
    /// with the apiserver's "failed calling webhook" error), and nothing reconciles.
    /// Irreversible for this environment.
    pub fn stop_longhorn_manager(&mut self) {
        if let Some(mut manager) = self.manager.take() {
            manager.kill();
        }
        if let Some(simulator) = self.simulator.take() {
            simulator.halt();
        }
    }

    /// The running longhorn-manager (its build, its node address, its log).
    pub fn manager(&self) -> Option<&Manager> {
        self.manager.as_ref()
    }

    /// Where longhorn-manager logs, and the end of that log, for failure messages.
    pub fn manager_log(&self) -> String {
        match &self.manager {
            Some(manager) => format!(
                "longhorn-manager's log ({}) ends with:\n{}",
                manager.log_path().display(),
                manager.log_tail()
            ),
            None => "longhorn-manager was stopped".into(),
        }
    }

    /// Where the seeded PVCs live.
    pub fn apps_namespace(&self) -> &str {
        &self.seeded.apps_namespace
    }

    pub fn version(&self) -> &Version {
        &self.version
    }

    pub fn knobs(&self) -> &Knobs {
        &self.knobs
    }

    pub fn plane(&self) -> &ControlPlane {
        &self.plane
    }

    /// Names of the seeded objects.
    pub fn seeded(&self) -> &Seeded {
        &self.seeded
    }

    pub fn seed_report(&self) -> &SeedReport {
        &self.seed_report
    }

    /// Time from the call to `Ground::…` until the environment was ready.
    pub fn started_in(&self) -> Duration {
        self.started_in
    }

    /// An admin kubeconfig whose context namespace is the Longhorn namespace.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// A kubeconfig for a token user of the plane (`plane::ADMIN`, `plane::LIMITED`),
    /// context namespace = the Longhorn namespace.
    pub fn kubeconfig_for(&self, user: &str) -> Result<PathBuf, Error> {
        let path = self.dir.join(format!("kubeconfig-{user}"));
        self.write_kubeconfig(&path, user)?;
        Ok(path)
    }

    fn write_kubeconfig(&self, path: &Path, user: &str) -> Result<(), Error> {
        let yaml = self.plane.kubeconfig_yaml(user, None);
        let mut config: Value =
            serde_saphyr::from_str(&yaml).map_err(|e| Error::Yaml(e.to_string()))?;
        config["contexts"][0]["context"]["namespace"] = json!(self.namespace());
        let yaml = serde_saphyr::to_string(&config).map_err(|e| Error::Yaml(e.to_string()))?;
        plane::write_secret(path, &yaml)
    }

    /// An admin client on the caller's runtime.
    pub async fn client(&self) -> Result<kube::Client, Error> {
        self.plane.client().await
    }

    /// The default BackupTarget's URL (`nfs://127.0.0.1:/exports/<namespace>`).
    pub fn backup_target_url(&self) -> &str {
        &self.seeded.backup_target_url
    }

    /// The local directory behind the default BackupTarget: what a user passes as
    /// the plugin's `--mount-path`.
    pub fn store_path(&self) -> PathBuf {
        self.mount_path(self.backup_target_url())
            .expect("the default target is an NFS share")
    }

    /// The local directory behind any `nfs://`, `cifs://` or `vfs://` target URL.
    pub fn mount_path(&self, url: &str) -> Option<PathBuf> {
        self.mounts.path(url)
    }

    /// longhorn-manager's `/tmp`, where it generates bundles and unpacks restores.
    pub fn manager_tmp(&self) -> PathBuf {
        Layout::new(&self.dir).tmp()
    }
}

impl Longhorn {
    /// `<plane directory>-<namespace>`: unique even when two planes hold the same
    /// namespace (a restore onto a fresh cluster).
    fn log_name(&self) -> String {
        let plane = self
            .dir
            .ancestors()
            .nth(2)
            .and_then(|p| p.file_name())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        format!("{plane}-{}", self.namespace())
    }
}

impl Drop for Longhorn {
    fn drop(&mut self) {
        let Some(manager) = &self.manager else { return };
        let kept = || {
            manager
                .keep_log(&self.log_name())
                .map(|p| format!(" (whole log kept at {})", p.display()))
                .unwrap_or_default()
        };
        if std::thread::panicking() {
            let exited = manager
                .exit_status()
                .map(|status| format!(" (longhorn-manager had exited: {status})"))
                .unwrap_or_default();
            eprintln!("--- {}{}{exited} ---", self.manager_log(), kept());
        } else if let Some(status) = manager.exit_status() {
            let (log, kept) = (self.manager_log(), kept());
            panic!("longhorn-manager exited while the test ran ({status}){kept}; {log}");
        }
    }
}

fn with_log(error: Error, manager: &Manager) -> Error {
    Error::Startup(format!(
        "{error}; longhorn-manager's log ({}) ends with:\n{}",
        manager.log_path().display(),
        manager.log_tail()
    ))
}

/// The apiserver picks up new webhook configurations asynchronously: waits until a
/// dry-run create in the namespace is both mutated (`spec.groups` filled in) and validated
/// (a bad cron refused) by longhorn-manager's webhooks.
async fn wait_for_webhooks(client: &kube::Client, namespace: &str) -> Result<(), Error> {
    let api = Kind::RecurringJob.api(client, namespace);
    let probe = |cron: &str| -> DynamicObject {
        serde_json::from_value(json!({
            "apiVersion": crate::longhorn::API_VERSION,
            "kind": "RecurringJob",
            "metadata": {"name": "ground-webhook-probe"},
            "spec": {"name": "ground-webhook-probe", "task": "snapshot", "cron": cron, "retain": 1, "concurrency": 1},
        }))
        .expect("a valid probe")
    };
    let params = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let mutated = api
            .create(&params, &probe("0 0 * * *"))
            .await
            .is_ok_and(|o| o.data.pointer("/spec/groups").is_some());
        let validated = matches!(
            api.create(&params, &probe("not a cron")).await,
            Err(kube::Error::Api(s)) if s.message.contains("validator.longhorn.io")
        );
        if mutated && validated {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Startup(format!(
                "the apiserver did not call longhorn-manager's webhooks for {namespace} within 30s (mutated: {mutated}, validated: {validated})"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
