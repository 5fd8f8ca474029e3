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

use k8s_openapi::api::authorization::v1::SubjectAccessReview;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{Event, Namespace};
use kube::api::{Api, DynamicObject, ListParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use tokio::sync::{OnceCell, oneshot};

use crate::knobs::{KnobValues, Knobs};
use crate::longhorn::{DEFAULT_BACKUP_TARGET, Kind, Version};
use crate::manager::{Binaries, Layout, Manager, ManagerConfig};
use crate::mounts::Mounts;
use crate::plane::{self, ControlPlane};
use crate::seed::{self, SeedOptions, SeedReport, Seeded};
use crate::simulator::{Simulator, SimulatorConfig};
use crate::{Error, crds};

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

    /// The seeded volumes' completed backups: their Backup CRs, and what the engine would
    /// have written to the store, then a sync that pulls their backup volumes.
    async fn seed_volume_backups(
        &self,
        client: &kube::Client,
        binaries: &Binaries,
        concurrency: usize,
    ) -> Result<(), Error> {
        use futures::{StreamExt, TryStreamExt};
        let seeded = &self.seeded;
        if seeded.backups.is_empty() {
            return Ok(());
        }
        seed::seed_backups(client, &seeded.namespace, &seeded.backups, concurrency).await?;
        let mounts = Layout::new(&self.dir).mounts();
        let backups = Kind::Backup.api(client, self.namespace());
        futures::stream::iter(&seeded.backups)
            .map(|b| {
                let (mounts, backups) = (&mounts, &backups);
                async move {
                    let url = crate::simulator::write_volume_backup(
                        client,
                        &seeded.namespace,
                        mounts,
                        &binaries.engine,
                        &crate::simulator::VolumeBackup {
                            backup: &b.name,
                            snapshot: &b.snapshot,
                            snapshot_created_at: &b.at,
                            volume: &b.volume,
                            target: DEFAULT_BACKUP_TARGET,
                            labels: vec![("longhorn.io/volume-access-mode".into(), "rwo".into())],
                        },
                    )
                    .await
                    .map_err(Error::Store)?;
                    backups
                        .patch_status(
                            &b.name,
                            &Default::default(),
                            &kube::api::Patch::Merge(json!({"status": {"url": url}})),
                        )
                        .await
                        .map_err(|e| Error::Kube(format!("backup {}: {e}", b.name)))?;
                    Ok::<_, Error>(())
                }
            })
            .buffer_unordered(concurrency.clamp(1, 4))
            .try_collect::<Vec<()>>()
            .await?;
        self.request_backup_target_sync().await
    }

    /// Until longhorn-manager has contacted the store once: available (and, when the
    /// store answers, synced) or marked unavailable.
    async fn wait_for_first_sync(&self, client: &kube::Client) -> Result<(), Error> {
        let reachable = self.knobs.get().store_failure.is_none();
        let api = Kind::BackupTarget.api(client, self.namespace());
        self.wait_for(
            &api,
            DEFAULT_BACKUP_TARGET,
            Duration::from_secs(30),
            |target| {
                let status = target.data.get("status");
                let available = status
                    .and_then(|s| s.get("available"))
                    .and_then(Value::as_bool)
                    == Some(true);
                let synced = status
                    .and_then(|s| s.get("lastSyncedAt"))
                    .is_some_and(|t| !t.is_null());
                let refused = status
                    .and_then(|s| s.get("conditions"))
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Unavailable" && c["status"] == "True")
                    });
                if reachable {
                    available && synced
                } else {
                    refused
                }
            },
        )
        .await
        .map(|_| ())
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

    /// Points BackupTarget `default` at `url` with a credential Secret holding
    /// `secret`, as a user does in the Longhorn UI. Waits until Longhorn finds the target
    /// available.
    pub async fn use_backup_target(
        &self,
        url: &str,
        secret: &crate::stores::SecretData,
    ) -> Result<DynamicObject, Error> {
        use k8s_openapi::api::core::v1::Secret;
        let client = self.client().await?;
        let secret_name = "backup-target-credential";
        let secrets: Api<Secret> = Api::namespaced(client.clone(), self.namespace());
        let object: Secret = serde_json::from_value(json!({
            "metadata": {"name": secret_name},
            "stringData": secret,
        }))
        .map_err(|e| Error::Kube(e.to_string()))?;
        match secrets.create(&PostParams::default(), &object).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                secrets
                    .replace(secret_name, &PostParams::default(), &{
                        let mut current = secrets
                            .get(secret_name)
                            .await
                            .map_err(|e| Error::Kube(e.to_string()))?;
                        current.data = None;
                        current.string_data = object.string_data.clone();
                        current
                    })
                    .await
                    .map_err(|e| Error::Kube(e.to_string()))?;
            }
            Err(e) => return Err(Error::Kube(e.to_string())),
        }
        let api = Kind::BackupTarget.api(&client, self.namespace());
        let patch = json!({"spec": {"backupTargetURL": url, "credentialSecret": secret_name}});
        api.patch(
            DEFAULT_BACKUP_TARGET,
            &Default::default(),
            &kube::api::Patch::Merge(patch),
        )
        .await
        .map_err(|e| Error::Kube(e.to_string()))?;
        self.wait_for_backup_target(|spec_url, available| spec_url == url && available)
            .await
    }

    /// Waits until BackupTarget `default` (its URL, whether it is available) passes `done`.
    async fn wait_for_backup_target(
        &self,
        done: impl Fn(&str, bool) -> bool,
    ) -> Result<DynamicObject, Error> {
        let client = self.client().await?;
        let api = Kind::BackupTarget.api(&client, self.namespace());
        self.wait_for(
            &api,
            DEFAULT_BACKUP_TARGET,
            Duration::from_secs(30),
            |target| {
                let data = &target.data;
                let url = data
                    .pointer("/spec/backupTargetURL")
                    .and_then(Value::as_str);
                let available = data.pointer("/status/available").and_then(Value::as_bool);
                done(url.unwrap_or_default(), available.unwrap_or(false))
            },
        )
        .await
    }

    /// Makes the store reachable or not, asks for a sync (Longhorn notices at its next
    /// one) and waits until BackupTarget `default` reflects it (`status.available`).
    pub async fn set_backup_target_available(
        &self,
        available: bool,
    ) -> Result<DynamicObject, Error> {
        self.knobs.set_store_reachable(available);
        self.request_backup_target_sync().await?;
        self.wait_for_backup_target(|_, now| now == available).await
    }

    /// Asks for a sync of BackupTarget `default` now, as its poll timer would.
    pub async fn request_backup_target_sync(&self) -> Result<(), Error> {
        let client = self.client().await?;
        crate::simulator::request_sync(&client, self.namespace(), DEFAULT_BACKUP_TARGET)
            .await
            .map_err(|e| Error::Kube(e.to_string()))
    }

    /// Waits until the object satisfies `done` (checked on every watch event).
    pub async fn wait_for(
        &self,
        api: &Api<DynamicObject>,
        name: &str,
        timeout: Duration,
        done: impl Fn(&DynamicObject) -> bool,
    ) -> Result<DynamicObject, Error> {
        let condition = move |object: Option<&DynamicObject>| object.is_some_and(&done);
        match tokio::time::timeout(
            timeout,
            kube::runtime::wait::await_condition(api.clone(), name, condition),
        )
        .await
        {
            Ok(Ok(Some(object))) => Ok(object),
            Ok(Ok(None)) => Err(Error::Kube(format!("{name} disappeared"))),
            Ok(Err(e)) => Err(Error::Kube(e.to_string())),
            Err(_) => {
                let current = api
                    .get_opt(name)
                    .await
                    .ok()
                    .flatten()
                    .map(|o| o.data.to_string())
                    .unwrap_or_default();
                Err(Error::Kube(format!(
                    "timed out after {timeout:?} waiting for {} {name}; it is now: {current}",
                    api.resource_url()
                )))
            }
        }
    }

    /// Waits until a SystemBackup reaches one of `states`.
    pub async fn wait_for_system_backup(
        &self,
        name: &str,
        states: &[&str],
        timeout: Duration,
    ) -> Result<DynamicObject, Error> {
        let client = self.client().await?;
        let api = Kind::SystemBackup.api(&client, self.namespace());
        self.wait_for(&api, name, timeout, |backup| {
            let state = backup
                .data
                .pointer("/status/state")
                .and_then(Value::as_str)
                .unwrap_or_default();
            states.contains(&state)
        })
        .await
    }

    /// Waits until an object is gone.
    pub async fn wait_for_deletion(
        &self,
        kind: Kind,
        name: &str,
        timeout: Duration,
    ) -> Result<(), Error> {
        let client = self.client().await?;
        let api = kind.api(&client, self.namespace());
        let wait = kube::runtime::wait::await_condition(api, name, |o: Option<&DynamicObject>| {
            o.is_none()
        });
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| {
                Error::Kube(format!(
                    "{} {name} still exists after {timeout:?}",
                    kind.name()
                ))
            })?
            .map_err(|e| Error::Kube(e.to_string()))?;
        Ok(())
    }

    /// Core/v1 events about an object, oldest first.
    pub async fn events_for(&self, kind: Kind, name: &str) -> Result<Vec<Event>, Error> {
        // The simulator, like Longhorn, records an event just after the status change
        // it reports: wait until no new one has come for a moment (at most 5 s).
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut events = self.list_events(kind, name).await?;
        loop {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let again = self.list_events(kind, name).await?;
            if again.len() == events.len() || Instant::now() > deadline {
                return Ok(again);
            }
            events = again;
        }
    }

    async fn list_events(&self, kind: Kind, name: &str) -> Result<Vec<Event>, Error> {
        let client = self.client().await?;
        let api: Api<Event> = Api::namespaced(client, self.namespace());
        let selector = format!(
            "involvedObject.kind={},involvedObject.name={name}",
            kind.name()
        );
        let mut events = api
            .list(&ListParams::default().fields(&selector))
            .await
            .map_err(|e| Error::Kube(e.to_string()))?
            .items;
        events.sort_by_key(|e| {
            e.metadata
                .resource_version
                .as_deref()
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        });
        Ok(events)
    }

    /// What `kubectl create job --from=cronjob/<name>` does: a Job from the
    /// RecurringJob's CronJob template, owned by the CronJob. Returns the Job's name.
    pub async fn run_recurring_job(&self, recurring_job: &str) -> Result<String, Error> {
        let client = self.client().await?;
        let cron_jobs: Api<CronJob> = Api::namespaced(client.clone(), self.namespace());
        let cron_job = cron_jobs
            .get(recurring_job)
            .await
            .map_err(|e| Error::Kube(format!("cronjob {recurring_job}: {e}")))?;
        let template = cron_job.spec.job_template.clone();
        let name = format!(
            "{recurring_job}-manual-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..5]
        );
        let job: Job = serde_json::from_value(json!({
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": self.namespace(),
                "annotations": {"cronjob.kubernetes.io/instantiate": "manual"},
                "labels": template.metadata.as_ref().and_then(|m| m.labels.clone()),
                "ownerReferences": [{
                    "apiVersion": "batch/v1", "kind": "CronJob", "name": recurring_job,
                    "uid": cron_job.metadata.uid, "controller": true,
                }],
            },
            "spec": template.spec,
        }))
        .map_err(|e| Error::Kube(e.to_string()))?;
        Api::<Job>::namespaced(client, self.namespace())
            .create(&PostParams::default(), &job)
            .await
            .map_err(|e| Error::Kube(format!("creating job {name}: {e}")))?;
        Ok(name)
    }

    /// Gives a token user (e.g. `plane::LIMITED`) a Role with these rules in the
    /// Longhorn namespace. Rules are RBAC PolicyRule JSON objects.
    pub async fn grant(&self, user: &str, rules: Value) -> Result<(), Error> {
        let name = format!("ground-{user}");
        let client = self.client().await?;
        let role =
            json!({"metadata": {"name": name, "namespace": self.namespace()}, "rules": rules});
        let binding = json!({
            "metadata": {"name": name, "namespace": self.namespace()},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        create_or_replace(
            &client,
            &rbac("Role", "roles"),
            Some(self.namespace()),
            role,
        )
        .await?;
        create_or_replace(
            &client,
            &rbac("RoleBinding", "rolebindings"),
            Some(self.namespace()),
            binding,
        )
        .await?;
        wait_until_allowed(&client, user, &rules, Some(self.namespace())).await
    }

    /// Gives a token user a ClusterRole (prefixed with the namespace) with these rules.
    pub async fn grant_cluster(&self, user: &str, rules: Value) -> Result<(), Error> {
        let name = format!("{}-ground-{user}", self.namespace());
        let client = self.client().await?;
        let role = json!({"metadata": {"name": name}, "rules": rules});
        let binding = json!({
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        });
        create_or_replace(&client, &rbac("ClusterRole", "clusterroles"), None, role).await?;
        create_or_replace(
            &client,
            &rbac("ClusterRoleBinding", "clusterrolebindings"),
            None,
            binding,
        )
        .await?;
        wait_until_allowed(&client, user, &rules, None).await
    }
}

impl Drop for Longhorn {
    fn drop(&mut self) {
        let Some(manager) = &self.manager else { return };
        if std::thread::panicking() {
            eprintln!("--- {} ---", self.manager_log());
        } else if let Some(status) = manager.exit_status() {
            let log = self.manager_log();
            panic!("longhorn-manager exited while the test ran ({status}); {log}");
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
    let deadline = Instant::now() + Duration::from_secs(30);
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

/// RBAC changes reach the apiserver's authorizer asynchronously: waits until a
/// SubjectAccessReview for the first rule's first verb/resource says yes.
async fn wait_until_allowed(
    client: &kube::Client,
    user: &str,
    rules: &Value,
    namespace: Option<&str>,
) -> Result<(), Error> {
    let rule = &rules[0];
    let first = |key: &str| rule[key][0].as_str().unwrap_or_default().to_string();
    let review: SubjectAccessReview = serde_json::from_value(json!({
        "spec": {
            "user": user,
            "resourceAttributes": {
                "group": first("apiGroups"), "resource": first("resources"), "verb": first("verbs"),
                "namespace": namespace,
            },
        },
    }))
    .map_err(|e| Error::Kube(e.to_string()))?;
    let api: Api<SubjectAccessReview> = Api::all(client.clone());
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = api
            .create(&PostParams::default(), &review)
            .await
            .map_err(|e| Error::Kube(e.to_string()))?;
        if answer.status.is_some_and(|s| s.allowed) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Kube(format!(
                "{user} is still not allowed by {rule}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn rbac(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", kind),
        plural,
    )
}

async fn create_or_replace(
    client: &kube::Client,
    resource: &ApiResource,
    namespace: Option<&str>,
    object: Value,
) -> Result<(), Error> {
    let mut object: DynamicObject =
        serde_json::from_value(object).map_err(|e| Error::Kube(e.to_string()))?;
    let api: Api<DynamicObject> = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, resource),
        None => Api::all_with(client.clone(), resource),
    };
    let name = object.metadata.name.clone().unwrap_or_default();
    match api.create(&PostParams::default(), &object).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(s)) if s.code == 409 => {
            let current = api
                .get(&name)
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            object.metadata.resource_version = current.metadata.resource_version;
            api.replace(&name, &PostParams::default(), &object)
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            Ok(())
        }
        Err(e) => Err(Error::Kube(format!("creating {name}: {e}"))),
    }
}
