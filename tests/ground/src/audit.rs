//! The apiserver under pressure, and what it saw: a restart with tiny inflight limits
//! (so it answers `429 Too Many Requests` with `Retry-After: 1`, as a loaded control
//! plane does), an audit log of chosen users' requests (so a test can check that a
//! client backed off as told), users outside `system:masters` (whose requests the
//! limit applies to: k8s.io/apiserver's max-inflight filter lets `system:masters`
//! through always), and a load generator that keeps the limited slots busy.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};

use crate::plane::{self, ControlPlane};
use crate::{Error, Longhorn};

/// The group of the users [`Longhorn::cluster_admin_kubeconfig`] makes: bound to the
/// `cluster-admin` ClusterRole, but not in `system:masters`, so throttled like anyone.
pub const THROTTLED_GROUP: &str = "ground:cluster-admins";

/// The flags that make the apiserver throttle: one read-only and one mutating request
/// at a time, with priority and fairness off (the plain max-inflight filter).
pub const TINY_INFLIGHT_LIMITS: [&str; 3] = [
    "--enable-priority-and-fairness=false",
    "--max-requests-inflight=1",
    "--max-mutating-requests-inflight=1",
];

/// One request as the apiserver's audit log recorded it (stage `ResponseComplete`).
#[derive(Clone, Debug)]
pub struct AuditEvent {
    pub user: String,
    pub verb: String,
    pub uri: String,
    pub code: u16,
    pub received: jiff::Timestamp,
    pub completed: jiff::Timestamp,
}

impl AuditEvent {
    fn from_json(event: &Value) -> Option<Self> {
        let time = |key: &str| event.get(key)?.as_str()?.parse::<jiff::Timestamp>().ok();
        Some(Self {
            user: event.pointer("/user/username")?.as_str()?.to_string(),
            verb: event.get("verb")?.as_str()?.to_string(),
            uri: event.get("requestURI")?.as_str()?.to_string(),
            code: u16::try_from(event.pointer("/responseStatus/code")?.as_u64()?).ok()?,
            received: time("requestReceivedTimestamp")?,
            completed: time("stageTimestamp")?,
        })
    }

    /// Whether the apiserver turned it away with `429 Too Many Requests`.
    pub fn throttled(&self) -> bool {
        self.code == 429
    }
}

/// The audit log the apiserver writes after [`ControlPlane::restart_audited`].
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// Every completed request so far, oldest first.
    pub fn events(&self) -> Vec<AuditEvent> {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let mut events: Vec<AuditEvent> = text
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|e| e["stage"] == "ResponseComplete")
            .filter_map(|e| AuditEvent::from_json(&e))
            .collect();
        events.sort_by_key(|e| e.received);
        events
    }

    /// The completed requests of `user`.
    pub fn of(&self, user: &str) -> Vec<AuditEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.user == user)
            .collect()
    }
}

impl ControlPlane {
    /// Restarts kube-apiserver with `extra` flags and an audit log of the requests of
    /// `users` (metadata only: who, what, the answer's code, when). etcd keeps the data.
    pub async fn restart_audited(&self, extra: &[&str], users: &[&str]) -> Result<AuditLog, Error> {
        let policy = self.dir().join("audit-policy.yaml");
        let log = self.dir().join("audit.log");
        let text = json!({
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived", "ResponseStarted"],
            "rules": [
                {"level": "Metadata", "users": users},
                {"level": "None"},
            ],
        });
        std::fs::write(&policy, text.to_string())
            .map_err(plane::io_err("writing the audit policy"))?;
        let _ = std::fs::remove_file(&log);
        let mut flags: Vec<String> = vec![
            format!("--audit-policy-file={}", policy.display()),
            format!("--audit-log-path={}", log.display()),
            "--audit-log-format=json".into(),
            "--audit-log-mode=blocking".into(),
        ];
        flags.extend(extra.iter().map(|f| f.to_string()));
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        self.stop_apiserver();
        self.start_apiserver(&flags).await?;
        Ok(AuditLog { path: log })
    }

    /// [`Self::restart_audited`] with [`TINY_INFLIGHT_LIMITS`].
    pub async fn restart_throttled(&self, users: &[&str]) -> Result<AuditLog, Error> {
        self.restart_audited(&TINY_INFLIGHT_LIMITS, users).await
    }
}

impl Longhorn {
    /// A kubeconfig (context namespace = the Longhorn namespace) for `user`, who
    /// authenticates with a client certificate and may do anything through the
    /// `cluster-admin` ClusterRole, but is not in `system:masters`: the apiserver's
    /// inflight limits apply to it, and the audit log names it.
    pub async fn cluster_admin_kubeconfig(&self, user: &str) -> Result<PathBuf, Error> {
        let client = self.client().await?;
        let bindings: Api<DynamicObject> = Api::all_with(
            client,
            &ApiResource::from_gvk_with_plural(
                &GroupVersionKind::gvk("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding"),
                "clusterrolebindings",
            ),
        );
        let binding: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "ground-cluster-admins"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": THROTTLED_GROUP}],
        }))
        .map_err(|e| Error::Kube(e.to_string()))?;
        match bindings.create(&PostParams::default(), &binding).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(Error::Kube(format!("binding {THROTTLED_GROUP}: {e}"))),
        }
        let yaml = self
            .plane()
            .kubeconfig_with_cert(user, &[THROTTLED_GROUP])?;
        let mut config: Value =
            serde_saphyr::from_str(&yaml).map_err(|e| Error::Yaml(e.to_string()))?;
        config["contexts"][0]["context"]["namespace"] = json!(self.namespace());
        let path = self
            .plane()
            .dir()
            .join(format!("kubeconfig-{}-{user}", self.namespace()));
        plane::write_secret(&path, &config.to_string())?;
        Ok(path)
    }
}

/// Clients that keep the apiserver's limited slots busy: `concurrency` loops, each
/// sending GET `paths` in turn as fast as the apiserver answers (their client backs
/// off on 429 as kube-rs does). Stops when dropped.
pub struct Load {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Load {
    /// Starts the loops on the caller's runtime with the client of `kubeconfig`.
    pub async fn start(
        kubeconfig: &std::path::Path,
        paths: &[String],
        concurrency: usize,
    ) -> Result<Self, Error> {
        let yaml =
            std::fs::read_to_string(kubeconfig).map_err(plane::io_err("reading a kubeconfig"))?;
        let client = plane::client_from_yaml(&yaml).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let sent = Arc::new(AtomicUsize::new(0));
        let tasks = (0..concurrency)
            .map(|i| {
                let (client, stop, sent) = (client.clone(), stop.clone(), sent.clone());
                let paths = paths.to_vec();
                tokio::spawn(async move {
                    let mut turn = i;
                    while !stop.load(Ordering::Relaxed) {
                        let path = &paths[turn % paths.len()];
                        turn += 1;
                        let request = http::Request::get(path.as_str())
                            .body(Vec::new())
                            .expect("a valid request");
                        if client.request_text(request).await.is_err() {
                            // Not throttling (kube retried those): the apiserver is down.
                            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Ok(Self { stop, sent, tasks })
    }

    /// Requests the loops have completed.
    pub fn sent(&self) -> usize {
        self.sent.load(Ordering::Relaxed)
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in &self.tasks {
            task.abort();
        }
    }
}
