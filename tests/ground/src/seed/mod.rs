//! Seeds a namespace with what a Longhorn install looks like to the API: its node,
//! instance manager, settings, backup target, engine image, RBAC, workloads, services,
//! config maps, a storage class, and N volumes with their PVs and PVCs. Longhorn objects
//! go through longhorn-manager's real webhooks (already serving for the namespace), so
//! they carry what Longhorn's mutators add; statuses are set as its controllers would.
//!
//! Cluster-scoped objects are prefixed with the namespace so that environments on one
//! shared control plane never collide.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::Error;
use crate::longhorn::{API_VERSION, CSI_DRIVER, Kind, Version};

mod volumes;

use volumes::seed_volumes;
pub use volumes::{SeededBackup, seed_backups};

/// The Kubernetes node longhorn-manager runs on (`NODE_NAME`, `status.ownerID`).
pub const NODE_ID: &str = "ground-node-1";
pub const SERVICE_ACCOUNT: &str = "longhorn-service-account";

#[derive(Clone, Debug)]
pub struct SeedOptions {
    /// Number of Longhorn volumes (each with a PV and a PVC).
    pub volumes: usize,
    /// Every n-th volume (counting from the first) has a completed last backup, with
    /// its Backup and Snapshot CRs; 0 = none.
    pub backed_up_every: usize,
    /// Requests in flight while seeding.
    pub concurrency: usize,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            volumes: 3,
            backed_up_every: 2,
            concurrency: 48,
        }
    }
}

/// What was seeded and how long it took.
#[derive(Clone, Debug)]
pub struct SeedReport {
    pub volumes: usize,
    pub backed_up_volumes: usize,
    pub elapsed: Duration,
}

/// Names of what the seed created, for tests to refer to.
#[derive(Clone, Debug)]
pub struct Seeded {
    pub namespace: String,
    pub apps_namespace: String,
    pub storage_class: String,
    pub cluster_role: String,
    pub cluster_role_binding: String,
    pub backup_target_url: String,
    pub engine_image: String,
    pub volume_names: Vec<String>,
    /// Completed backups of every n-th volume ([`seed_backups`]).
    pub backups: Vec<SeededBackup>,
}

/// `types.GetEngineImageChecksumName`: `ei-` + 8 hex of the image's SHA-512.
pub fn engine_image_name(image: &str) -> String {
    format!(
        "ei-{}",
        &hex::encode(Sha512::digest(image.trim().as_bytes()))[..8]
    )
}

fn resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

struct Seeder<'a> {
    client: &'a kube::Client,
    namespace: &'a str,
}

impl Seeder<'_> {
    fn api(&self, resource: &ApiResource, namespaced: bool) -> Api<DynamicObject> {
        if namespaced {
            Api::namespaced_with(self.client.clone(), self.namespace, resource)
        } else {
            Api::all_with(self.client.clone(), resource)
        }
    }

    /// Creates an object (namespaced unless it says otherwise in `namespace`); an
    /// object that exists already is left as it is.
    async fn create(
        &self,
        resource: &ApiResource,
        namespaced: bool,
        object: Value,
    ) -> Result<DynamicObject, Error> {
        let mut object: DynamicObject =
            serde_json::from_value(object).map_err(|e| Error::Kube(e.to_string()))?;
        let api = match (&object.metadata.namespace, namespaced) {
            (Some(ns), true) => Api::namespaced_with(self.client.clone(), ns, resource),
            _ => self.api(resource, namespaced),
        };
        let status = object.data.as_object_mut().and_then(|o| o.remove("status"));
        let name = object.metadata.name.clone().unwrap_or_default();
        // longhorn-manager's webhooks read its informer caches, which see an object a
        // moment after it is created: a webhook that cannot find what the seed just made
        // is asked again.
        let deadline = Instant::now() + Duration::from_secs(15);
        let created = loop {
            match api.create(&PostParams::default(), &object).await {
                Ok(created) => break created,
                Err(kube::Error::Api(s)) if s.code == 409 => {
                    return api.get(&name).await.map_err(kube_error(&name));
                }
                Err(kube::Error::Api(s))
                    if s.message.contains("admission webhook")
                        && (s.message.contains("cannot find")
                            || s.message.contains("not found"))
                        && Instant::now() < deadline =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => return Err(kube_error(&name)(e)),
            }
        };
        match status {
            Some(status) => api
                .patch_status(
                    &name,
                    &PatchParams::default(),
                    &Patch::Merge(json!({"status": status})),
                )
                .await
                .map_err(kube_error(&name)),
            None => Ok(created),
        }
    }
}

fn kube_error(name: &str) -> impl Fn(kube::Error) -> Error + '_ {
    move |e| Error::Kube(format!("seeding {name}: {e}"))
}

/// Seeds the Longhorn namespace (which must exist) and its app namespace.
pub async fn seed(
    client: &kube::Client,
    namespace: &str,
    version: &Version,
    backup_target_url: &str,
    node_ip: Ipv4Addr,
    options: &SeedOptions,
) -> Result<(Seeded, SeedReport), Error> {
    let started = Instant::now();
    let seeder = Seeder { client, namespace };
    seed_node(&seeder, version, node_ip).await?;
    let apps_namespace = format!("{namespace}-apps");
    let storage_class = format!("{namespace}-longhorn");
    let engine_image = version.engine_image();
    let core = |kind: &str, plural: &str| resource("", "v1", kind, plural);
    let rbac = |kind: &str, plural: &str| resource("rbac.authorization.k8s.io", "v1", kind, plural);

    // Objects with no order between them, created concurrently.
    let mut plain: Vec<(ApiResource, bool, Value)> = vec![(
        core("Namespace", "namespaces"),
        false,
        json!({"metadata": {"name": apps_namespace}}),
    )];
    // Settings, as the manager creates them (status.applied once in effect).
    let settings = [
        ("current-longhorn-version", version.as_str().to_string()),
        ("default-engine-image", engine_image.clone()),
        ("recurring-job-max-retention", "100".into()),
        ("recurring-successful-jobs-history-limit", "1".into()),
        ("recurring-failed-jobs-history-limit", "1".into()),
        ("backup-execution-timeout", "1".into()),
        ("default-replica-count", "3".into()),
        ("storage-minimal-available-percentage", "25".into()),
        ("taint-toleration", String::new()),
        ("priority-class", String::new()),
        ("registry-secret", String::new()),
        (
            "default-instance-manager-image",
            format!("longhornio/longhorn-instance-manager:{version}"),
        ),
    ];
    for (name, value) in settings {
        plain.push((
            Kind::Setting.resource(),
            true,
            json!({
                "apiVersion": API_VERSION, "kind": "Setting",
                "metadata": {"name": name}, "value": value, "status": {"applied": true},
            }),
        ));
    }
    plain.push((
        Kind::EngineImage.resource(),
        true,
        json!({
            "apiVersion": API_VERSION, "kind": "EngineImage",
            "metadata": {"name": engine_image_name(&engine_image)},
            "spec": {"image": engine_image},
            "status": {
                "ownerID": NODE_ID, "state": "deployed", "refCount": options.volumes,
                "version": version.as_str(), "gitCommit": version.git_commit(), "incompatible": false,
                "nodeDeploymentMap": {NODE_ID: true},
            },
        }),
    ));

    // RBAC: the manager's service account, bound cluster-wide and in the namespace;
    // plus an app binding the bundle must not pick up.
    let cluster_role = format!("{namespace}-longhorn-role");
    let cluster_role_binding = format!("{namespace}-longhorn-bind");
    let all_longhorn = json!([
        {"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["*"]},
        {"apiGroups": [""], "resources": ["pods", "events", "persistentvolumes", "persistentvolumeclaims", "nodes", "configmaps", "secrets", "services", "serviceaccounts"], "verbs": ["*"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"], "verbs": ["*"]},
        {"apiGroups": ["batch"], "resources": ["jobs", "cronjobs"], "verbs": ["*"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["*"]},
    ]);
    plain.extend([
        (core("ServiceAccount", "serviceaccounts"), true, json!({"metadata": {"name": SERVICE_ACCOUNT}})),
        (
            rbac("ClusterRole", "clusterroles"),
            false,
            json!({"metadata": {"name": cluster_role}, "rules": all_longhorn}),
        ),
        (
            rbac("ClusterRoleBinding", "clusterrolebindings"),
            false,
            json!({
                "metadata": {"name": cluster_role_binding},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
                "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
            }),
        ),
        (
            rbac("ClusterRoleBinding", "clusterrolebindings"),
            false,
            json!({
                "metadata": {"name": format!("{namespace}-apps-view")},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
                "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": apps_namespace}],
            }),
        ),
        (
            rbac("Role", "roles"),
            true,
            json!({"metadata": {"name": "longhorn"}, "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["*"]}]}),
        ),
        (
            rbac("RoleBinding", "rolebindings"),
            true,
            json!({
                "metadata": {"name": "longhorn"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "longhorn"},
                "subjects": [{"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}],
            }),
        ),
    ]);
    let seeder_ref = &seeder;
    let plain_objects = futures::stream::iter(plain)
        .map(|(resource, namespaced, object)| async move {
            seeder_ref
                .create(&resource, namespaced, object)
                .await
                .map(|_| ())
        })
        .buffer_unordered(options.concurrency.max(1))
        .try_collect::<Vec<()>>();
    futures::try_join!(
        plain_objects,
        seed_workloads(&seeder, version, &engine_image),
        seed_config(&seeder, &storage_class, backup_target_url),
    )?;
    // After the settings and the engine image, which its webhooks and controller read.
    seeder
        .create(
            &Kind::BackupTarget.resource(),
            true,
            json!({
                "apiVersion": API_VERSION, "kind": "BackupTarget",
                "metadata": {"name": "default"},
                "spec": {"backupTargetURL": backup_target_url, "credentialSecret": "", "pollInterval": "5m0s"},
            }),
        )
        .await?;

    let (volume_names, backups) =
        seed_volumes(&seeder, &apps_namespace, &storage_class, version, options).await?;
    let backed_up = if options.backed_up_every == 0 {
        0
    } else {
        volume_names.len().div_ceil(options.backed_up_every)
    };
    let report = SeedReport {
        volumes: volume_names.len(),
        backed_up_volumes: backed_up,
        elapsed: started.elapsed(),
    };
    let seeded = Seeded {
        namespace: namespace.to_string(),
        apps_namespace,
        storage_class,
        cluster_role,
        cluster_role_binding,
        backup_target_url: backup_target_url.to_string(),
        engine_image,
        volume_names,
        backups,
    };
    Ok((seeded, report))
}

/// The node as Longhorn sees it: the Kubernetes Node (cluster-scoped, shared by the
/// environments of a plane), its Longhorn Node, and a running instance manager whose
/// address is the manager's node address (tests/longhorn/manager/node.go answers there).
async fn seed_node(seeder: &Seeder<'_>, version: &Version, node_ip: Ipv4Addr) -> Result<(), Error> {
    let ready = json!([{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}]);
    seeder
        .create(
            &resource("", "v1", "Node", "nodes"),
            false,
            json!({
                "metadata": {"name": NODE_ID, "labels": {"kubernetes.io/hostname": NODE_ID}},
                "status": {"conditions": ready, "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}, {"type": "Hostname", "address": NODE_ID}]},
            }),
        )
        .await?;
    let now = crate::simulator::rfc3339_seconds(jiff::Timestamp::now());
    let condition = |kind: &str| json!({"type": kind, "status": "True", "reason": "", "message": "", "lastProbeTime": "", "lastTransitionTime": now});
    seeder
        .create(
            &Kind::Node.resource(),
            true,
            json!({
                "apiVersion": API_VERSION, "kind": "Node",
                "metadata": {"name": NODE_ID},
                "spec": {"name": NODE_ID, "allowScheduling": true, "disks": {}, "tags": []},
                "status": {"conditions": [condition("Ready"), condition("Schedulable"), condition("MountPropagation")], "region": "", "zone": ""},
            }),
        )
        .await?;
    let image = format!("longhornio/longhorn-instance-manager:{version}");
    seeder
        .create(
            &Kind::InstanceManager.resource(),
            true,
            json!({
                "apiVersion": API_VERSION, "kind": "InstanceManager",
                "metadata": {
                    "name": "instance-manager-ground",
                    "labels": {
                        "longhorn.io/managed-by": "longhorn-manager",
                        "longhorn.io/component": "instance-manager",
                        "longhorn.io/instance-manager-type": "aio",
                        "longhorn.io/node": NODE_ID,
                        "longhorn.io/data-engine": "v1",
                    },
                },
                "spec": {"image": image, "nodeID": NODE_ID, "type": "aio", "dataEngine": "v1"},
                "status": {"currentState": "running", "ip": node_ip.to_string(), "ownerID": NODE_ID},
            }),
        )
        .await?;
    Ok(())
}

/// The longhorn-manager DaemonSet (flags in `command`, as Longhorn's manifests have
/// them) with one manager pod, the driver deployer and the UI.
async fn seed_workloads(
    seeder: &Seeder<'_>,
    version: &Version,
    engine_image: &str,
) -> Result<(), Error> {
    let apps = |kind: &str, plural: &str| resource("apps", "v1", kind, plural);
    let manager_image = version.manager_image();
    let labels = json!({"app": "longhorn-manager", "app.kubernetes.io/name": "longhorn", "app.kubernetes.io/version": version.as_str()});
    let daemon_set = seeder
        .create(
            &apps("DaemonSet", "daemonsets"),
            true,
            json!({
                "metadata": {"name": "longhorn-manager", "labels": labels},
                "spec": {
                    "selector": {"matchLabels": {"app": "longhorn-manager"}},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "serviceAccountName": SERVICE_ACCOUNT,
                            "containers": [{
                                "name": "longhorn-manager",
                                "image": manager_image,
                                "imagePullPolicy": "IfNotPresent",
                                "securityContext": {"privileged": true},
                                "command": [
                                    "longhorn-manager", "-d", "daemon",
                                    "--engine-image", engine_image,
                                    "--instance-manager-image", format!("longhornio/longhorn-instance-manager:{version}"),
                                    "--share-manager-image", format!("longhornio/longhorn-share-manager:{version}"),
                                    "--backing-image-manager-image", format!("longhornio/backing-image-manager:{version}"),
                                    "--support-bundle-manager-image", "longhornio/support-bundle-kit:v0.0.56",
                                    "--manager-image", manager_image,
                                    "--service-account", SERVICE_ACCOUNT,
                                ],
                                "ports": [{"containerPort": 9500, "name": "manager"}],
                            }],
                        },
                    },
                },
                "status": {"currentNumberScheduled": 1, "desiredNumberScheduled": 1, "numberAvailable": 1, "numberMisscheduled": 0, "numberReady": 1, "updatedNumberScheduled": 1},
            }),
        )
        .await?;
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..5];
    seeder
        .create(
            &resource("", "v1", "Pod", "pods"),
            true,
            json!({
                "metadata": {
                    "name": format!("longhorn-manager-{suffix}"),
                    "labels": {"app": "longhorn-manager"},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "longhorn-manager", "uid": daemon_set.metadata.uid, "controller": true}],
                },
                "spec": {
                    "nodeName": NODE_ID,
                    "serviceAccountName": SERVICE_ACCOUNT,
                    "containers": [{"name": "longhorn-manager", "image": manager_image}],
                },
                "status": {"phase": "Running", "podIP": "10.42.0.10"},
            }),
        )
        .await?;
    for (name, image, command) in [
        (
            "longhorn-driver-deployer",
            manager_image.clone(),
            json!([
                "longhorn-manager",
                "-d",
                "deploy-driver",
                "--manager-image",
                manager_image,
                "--manager-url",
                "http://longhorn-backend:9500/v1"
            ]),
        ),
        ("longhorn-ui", version.ui_image(), Value::Null),
    ] {
        let mut container = json!({"name": name, "image": image});
        if !command.is_null() {
            container["command"] = command;
        }
        seeder
            .create(
                &apps("Deployment", "deployments"),
                true,
                json!({
                    "metadata": {"name": name, "labels": {"app": name}},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": {"app": name}},
                        "template": {"metadata": {"labels": {"app": name}}, "spec": {"serviceAccountName": SERVICE_ACCOUNT, "containers": [container]}},
                    },
                }),
            )
            .await?;
    }
    Ok(())
}

/// Services (cluster IPs assigned by the apiserver), ConfigMaps and the StorageClass.
async fn seed_config(
    seeder: &Seeder<'_>,
    storage_class: &str,
    backup_target_url: &str,
) -> Result<(), Error> {
    let core = |kind: &str, plural: &str| resource("", "v1", kind, plural);
    for (name, app, port, target) in [
        ("longhorn-backend", "longhorn-manager", 9500, "manager"),
        ("longhorn-frontend", "longhorn-ui", 80, "http"),
    ] {
        seeder
            .create(
                &core("Service", "services"),
                true,
                json!({
                    "metadata": {"name": name, "labels": {"app": app}},
                    "spec": {"type": "ClusterIP", "selector": {"app": app}, "ports": [{"name": target, "port": port, "targetPort": target}]},
                }),
            )
            .await?;
    }
    let parameters = json!({"numberOfReplicas": "3", "staleReplicaTimeout": "30", "fromBackup": "", "fsType": "ext4", "dataLocality": "disabled"});
    let class = json!({
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
        "metadata": {"name": storage_class, "annotations": {"longhorn.io/last-applied-configmap": ""}},
        "provisioner": CSI_DRIVER, "allowVolumeExpansion": true, "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate", "parameters": parameters,
    });
    let class_yaml = serde_saphyr::to_string(&class).map_err(|e| Error::Yaml(e.to_string()))?;
    seeder
        .create(
            &resource("storage.k8s.io", "v1", "StorageClass", "storageclasses"),
            false,
            class,
        )
        .await?;
    let default_resource = format!(
        "backup-target: {backup_target_url}\nbackup-target-credential-secret: \"\"\nbackupstore-poll-interval: 300\n"
    );
    for (name, key, value) in [
        ("longhorn-storageclass", "storageclass.yaml", class_yaml),
        (
            "longhorn-default-setting",
            "default-setting.yaml",
            "priority-class: \"\"\n".to_string(),
        ),
        (
            "longhorn-default-resource",
            "default-resource.yaml",
            default_resource,
        ),
    ] {
        seeder
            .create(
                &core("ConfigMap", "configmaps"),
                true,
                json!({"metadata": {"name": name}, "data": {key: value}}),
            )
            .await?;
    }
    Ok(())
}
