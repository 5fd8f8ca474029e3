//! What a system-backup bundle holds and where, per Longhorn version
//! (docs/longhorn-behaviour.md, "The bundle"): the zip's single top-level folder is the
//! backup's name; `metadata.yaml`; then one typed `…List` per file under
//! `yamls/{apiextensions,kubernetes,longhorn}/`, in the order longhorn-manager's
//! `generateSystemBackupYAMLs*` writes them.

use kube::core::{ApiResource, GroupVersionKind};

use super::error::{Error, Result};
use crate::longhorn::LonghornVersion;
use crate::longhorn::resources::{GROUP, VERSION};

/// The three folders restore reads, each decoded with its own scheme
/// (`longhorn/longhorn-manager:controller/system_rollout_controller.go@v1.12.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Folder {
    /// apiextensions.k8s.io/v1 only.
    ApiExtensions,
    /// client-go's `kubernetes/scheme`.
    Kubernetes,
    /// longhorn.io/v1beta2 only.
    Longhorn,
}

impl Folder {
    pub const ALL: [Folder; 3] = [Folder::ApiExtensions, Folder::Kubernetes, Folder::Longhorn];

    pub fn dir(self) -> &'static str {
        match self {
            Folder::ApiExtensions => "apiextensions",
            Folder::Kubernetes => "kubernetes",
            Folder::Longhorn => "longhorn",
        }
    }

    pub fn from_dir(dir: &str) -> Option<Folder> {
        Folder::ALL.into_iter().find(|f| f.dir() == dir)
    }
}

/// Where a kind is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// In the Longhorn namespace.
    Namespace,
    /// Cluster-scoped objects.
    Cluster,
    /// Namespaced objects of every namespace (PVCs).
    AllNamespaces,
}

/// Which of longhorn-manager's selection rules picks the items (see `selection.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every object listed (in the Longhorn namespace).
    All,
    /// CRDs of group longhorn.io.
    LonghornCrd,
    /// ClusterRoleBindings with a subject naming a Longhorn ServiceAccount.
    BindsLonghornServiceAccount,
    /// ClusterRoles a selected ClusterRoleBinding refers to.
    BoundClusterRole,
    /// StorageClasses with provisioner driver.longhorn.io.
    LonghornStorageClass,
    /// PersistentVolumes with CSI driver driver.longhorn.io.
    LonghornCsiVolume,
    /// PersistentVolumeClaims whose storage class is one of the Longhorn PVs' classes.
    ClaimOfLonghornClass,
}

/// One file of the bundle: a kind, the rule that selects its items, and where it goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Kind {
    pub folder: Folder,
    /// File name without `.yaml`, as longhorn-manager names it.
    pub file: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    /// The item kind; the file holds `<kind>List`.
    pub kind: &'static str,
    pub plural: &'static str,
    pub scope: Scope,
    pub rule: Rule,
}

impl Kind {
    /// `apiVersion` of the list and its items.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    pub fn list_kind(&self) -> String {
        format!("{}List", self.kind)
    }

    pub fn api_resource(&self) -> ApiResource {
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(self.group, self.version, self.kind),
            self.plural,
        )
    }

    /// kubectl's `resource.group` name, for progress lines and messages.
    pub fn resource_name(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `yamls/<folder>/<file>.yaml`, relative to the top-level folder.
    pub fn path(&self) -> String {
        format!("yamls/{}/{}.yaml", self.folder.dir(), self.file)
    }
}

const fn kind(
    folder: Folder,
    file: &'static str,
    (group, version): (&'static str, &'static str),
    kind: &'static str,
    plural: &'static str,
    scope: Scope,
    rule: Rule,
) -> Kind {
    Kind {
        folder,
        file,
        group,
        version,
        kind,
        plural,
        scope,
        rule,
    }
}

const CORE: (&str, &str) = ("", "v1");
const APPS: (&str, &str) = ("apps", "v1");
const RBAC: (&str, &str) = ("rbac.authorization.k8s.io", "v1");
const STORAGE: (&str, &str) = ("storage.k8s.io", "v1");
const LONGHORN: (&str, &str) = (GROUP, VERSION);

use Folder::{ApiExtensions, Kubernetes, Longhorn};
use Scope::{AllNamespaces, Cluster, Namespace};

pub const CRDS: Kind = kind(
    ApiExtensions,
    "customresourcedefinitions",
    ("apiextensions.k8s.io", "v1"),
    "CustomResourceDefinition",
    "customresourcedefinitions",
    Cluster,
    Rule::LonghornCrd,
);
pub const SERVICE_ACCOUNTS: Kind = kind(
    Kubernetes,
    "serviceaccounts",
    CORE,
    "ServiceAccount",
    "serviceaccounts",
    Namespace,
    Rule::All,
);
/// Longhorn writes the ClusterRoleBindingList to `clusterroles.yaml` and the
/// ClusterRoleList to `clusterrolebindings.yaml`: the names are swapped in its call
/// to `generateSystemBackupYAMLsForServiceAccount`
/// (`longhorn/longhorn-manager:controller/system_backup_controller.go@v1.12.0`). Kept
/// for parity.
pub const CLUSTER_ROLE_BINDINGS: Kind = kind(
    Kubernetes,
    "clusterroles",
    RBAC,
    "ClusterRoleBinding",
    "clusterrolebindings",
    Cluster,
    Rule::BindsLonghornServiceAccount,
);
pub const CLUSTER_ROLES: Kind = kind(
    Kubernetes,
    "clusterrolebindings",
    RBAC,
    "ClusterRole",
    "clusterroles",
    Cluster,
    Rule::BoundClusterRole,
);
pub const ROLES: Kind = kind(
    Kubernetes,
    "roles",
    RBAC,
    "Role",
    "roles",
    Namespace,
    Rule::All,
);
pub const ROLE_BINDINGS: Kind = kind(
    Kubernetes,
    "rolebindings",
    RBAC,
    "RoleBinding",
    "rolebindings",
    Namespace,
    Rule::All,
);
pub const DAEMON_SETS: Kind = kind(
    Kubernetes,
    "daemonsets",
    APPS,
    "DaemonSet",
    "daemonsets",
    Namespace,
    Rule::All,
);
pub const DEPLOYMENTS: Kind = kind(
    Kubernetes,
    "deployments",
    APPS,
    "Deployment",
    "deployments",
    Namespace,
    Rule::All,
);
pub const CONFIG_MAPS: Kind = kind(
    Kubernetes,
    "configmaps",
    CORE,
    "ConfigMap",
    "configmaps",
    Namespace,
    Rule::All,
);
pub const SERVICES: Kind = kind(
    Kubernetes,
    "services",
    CORE,
    "Service",
    "services",
    Namespace,
    Rule::All,
);
pub const STORAGE_CLASSES: Kind = kind(
    Kubernetes,
    "storageclasses",
    STORAGE,
    "StorageClass",
    "storageclasses",
    Cluster,
    Rule::LonghornStorageClass,
);
pub const PERSISTENT_VOLUMES: Kind = kind(
    Kubernetes,
    "persistentvolumes",
    CORE,
    "PersistentVolume",
    "persistentvolumes",
    Cluster,
    Rule::LonghornCsiVolume,
);
pub const PERSISTENT_VOLUME_CLAIMS: Kind = kind(
    Kubernetes,
    "persistentvolumeclaims",
    CORE,
    "PersistentVolumeClaim",
    "persistentvolumeclaims",
    AllNamespaces,
    Rule::ClaimOfLonghornClass,
);
/// The file name is singular: longhorn-manager's map key is "setting".
pub const SETTINGS: Kind = kind(
    Longhorn,
    "setting",
    LONGHORN,
    "Setting",
    "settings",
    Namespace,
    Rule::All,
);
pub const ENGINE_IMAGES: Kind = kind(
    Longhorn,
    "engineimages",
    LONGHORN,
    "EngineImage",
    "engineimages",
    Namespace,
    Rule::All,
);
pub const VOLUMES: Kind = kind(
    Longhorn,
    "volumes",
    LONGHORN,
    "Volume",
    "volumes",
    Namespace,
    Rule::All,
);
pub const RECURRING_JOBS: Kind = kind(
    Longhorn,
    "recurringjobs",
    LONGHORN,
    "RecurringJob",
    "recurringjobs",
    Namespace,
    Rule::All,
);
pub const BACKING_IMAGES: Kind = kind(
    Longhorn,
    "backingimages",
    LONGHORN,
    "BackingImage",
    "backingimages",
    Namespace,
    Rule::All,
);
pub const BACKUP_TARGETS: Kind = kind(
    Longhorn,
    "backuptargets",
    LONGHORN,
    "BackupTarget",
    "backuptargets",
    Namespace,
    Rule::All,
);

/// The oldest Longhorn whose bundle `--local` writes. Up to v1.6 the bundle also
/// holds PodSecurityPolicies (policy/v1beta1, gone since Kubernetes 1.25).
pub const OLDEST_SUPPORTED: LonghornVersion = LonghornVersion::new(1, 7, 0);

/// The oldest Longhorn `--local` builds bundles for: the releases whose rules the
/// plugin follows and its tests run on (v1.8.1 to v1.12.x, docs/compatibility.md).
/// v1.7 differs (from v1.7.1 its `always` policy skips standby volumes) and cannot
/// run in the test ground, so it is refused rather than guessed.
pub const LOCAL_OLDEST: LonghornVersion = LonghornVersion::new(1, 8, 0);

/// Refuses a cluster older than [`LOCAL_OLDEST`].
pub fn check_local_version(version: LonghornVersion) -> Result<()> {
    if version < LOCAL_OLDEST {
        return Err(Error::LocalUnsupported {
            version,
            oldest: LOCAL_OLDEST,
        });
    }
    Ok(())
}

/// The files of a bundle for `version`, in longhorn-manager's order.
pub fn kinds(version: LonghornVersion) -> Result<Vec<Kind>> {
    if version < OLDEST_SUPPORTED {
        return Err(Error::UnsupportedVersion {
            version,
            oldest: OLDEST_SUPPORTED,
        });
    }
    let mut kinds = vec![
        CRDS,
        SERVICE_ACCOUNTS,
        CLUSTER_ROLE_BINDINGS,
        CLUSTER_ROLES,
        ROLES,
        ROLE_BINDINGS,
        DAEMON_SETS,
        DEPLOYMENTS,
        CONFIG_MAPS,
        SERVICES,
        STORAGE_CLASSES,
        PERSISTENT_VOLUMES,
        PERSISTENT_VOLUME_CLAIMS,
        SETTINGS,
        ENGINE_IMAGES,
        VOLUMES,
        RECURRING_JOBS,
    ];
    // BackingImages from v1.7, BackupTargets from v1.8 (docs/longhorn-behaviour.md).
    if version.at_least(1, 7) {
        kinds.push(BACKING_IMAGES);
    }
    if version.at_least(1, 8) {
        kinds.push(BACKUP_TARGETS);
    }
    Ok(kinds)
}

/// The `…List` kinds restore acts on, per folder (`cacheResourcesFromDirectory` in
/// `longhorn/longhorn-manager:controller/system_rollout_controller.go@v1.12.0`). Other kinds that decode are ignored with a warning.
pub fn restored_list_kinds(folder: Folder) -> &'static [&'static str] {
    match folder {
        Folder::ApiExtensions => &["CustomResourceDefinitionList"],
        Folder::Kubernetes => &[
            "ClusterRoleList",
            "ClusterRoleBindingList",
            "RoleList",
            "RoleBindingList",
            "DaemonSetList",
            "DeploymentList",
            "PersistentVolumeList",
            "PersistentVolumeClaimList",
            "ServiceAccountList",
            "ServiceList",
            "ConfigMapList",
            "StorageClassList",
        ],
        Folder::Longhorn => &[
            "EngineImageList",
            "RecurringJobList",
            "SettingList",
            "VolumeList",
            "BackingImageList",
            "BackupTargetList",
        ],
    }
}

/// The List kinds Longhorn's rollout acts on, in the order it restores them
/// (docs/longhorn-behaviour.md, "SystemRestore"), with the folder whose scheme decodes them.
pub const RESTORE_ORDER: [(Folder, &str); 19] = [
    (ApiExtensions, "CustomResourceDefinition"),
    (Kubernetes, "DaemonSet"),
    (Longhorn, "EngineImage"),
    (Longhorn, "Setting"),
    (Kubernetes, "Service"),
    (Kubernetes, "ServiceAccount"),
    (Kubernetes, "ClusterRole"),
    (Kubernetes, "ClusterRoleBinding"),
    (Kubernetes, "Role"),
    (Kubernetes, "RoleBinding"),
    (Kubernetes, "StorageClass"),
    (Kubernetes, "ConfigMap"),
    (Kubernetes, "Deployment"),
    (Longhorn, "BackupTarget"),
    (Longhorn, "BackingImage"),
    (Longhorn, "RecurringJob"),
    (Longhorn, "Volume"),
    (Kubernetes, "PersistentVolume"),
    (Kubernetes, "PersistentVolumeClaim"),
];

/// Whether the folder's scheme can decode objects of this `apiVersion` at all: a file
/// it cannot decode makes restore fail (docs/longhorn-behaviour.md, "The bundle"). The Kubernetes folder uses client-go's
/// scheme: every built-in group, but neither CRDs nor Longhorn's types.
pub fn folder_decodes(folder: Folder, api_version: &str) -> bool {
    let group = api_version
        .rsplit_once('/')
        .map(|(g, _)| g)
        .unwrap_or_default();
    match folder {
        Folder::ApiExtensions => api_version == "apiextensions.k8s.io/v1",
        Folder::Longhorn => api_version == format!("{GROUP}/{VERSION}"),
        Folder::Kubernetes => {
            !api_version.is_empty()
                && group != GROUP
                && group != "apiextensions.k8s.io"
                && !group.ends_with(".longhorn.io")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(text: &str) -> LonghornVersion {
        text.parse().unwrap()
    }

    fn files(version: &str) -> Vec<String> {
        kinds(v(version))
            .unwrap()
            .iter()
            .map(|k| k.path())
            .collect()
    }

    #[test]
    fn newest_layout_matches_longhorn_file_names_and_order() {
        assert_eq!(
            files("v1.12.0"),
            [
                "yamls/apiextensions/customresourcedefinitions.yaml",
                "yamls/kubernetes/serviceaccounts.yaml",
                "yamls/kubernetes/clusterroles.yaml",
                "yamls/kubernetes/clusterrolebindings.yaml",
                "yamls/kubernetes/roles.yaml",
                "yamls/kubernetes/rolebindings.yaml",
                "yamls/kubernetes/daemonsets.yaml",
                "yamls/kubernetes/deployments.yaml",
                "yamls/kubernetes/configmaps.yaml",
                "yamls/kubernetes/services.yaml",
                "yamls/kubernetes/storageclasses.yaml",
                "yamls/kubernetes/persistentvolumes.yaml",
                "yamls/kubernetes/persistentvolumeclaims.yaml",
                "yamls/longhorn/setting.yaml",
                "yamls/longhorn/engineimages.yaml",
                "yamls/longhorn/volumes.yaml",
                "yamls/longhorn/recurringjobs.yaml",
                "yamls/longhorn/backingimages.yaml",
                "yamls/longhorn/backuptargets.yaml",
            ]
        );
    }

    #[test]
    fn cluster_role_files_are_swapped_like_longhorn() {
        assert_eq!(
            CLUSTER_ROLE_BINDINGS.path(),
            "yamls/kubernetes/clusterroles.yaml"
        );
        assert_eq!(CLUSTER_ROLE_BINDINGS.list_kind(), "ClusterRoleBindingList");
        assert_eq!(
            CLUSTER_ROLES.path(),
            "yamls/kubernetes/clusterrolebindings.yaml"
        );
        assert_eq!(CLUSTER_ROLES.list_kind(), "ClusterRoleList");
    }

    #[test]
    fn version_dependent_files() {
        let v17 = files("v1.7.3");
        assert!(v17.contains(&"yamls/longhorn/backingimages.yaml".to_string()));
        assert!(!v17.contains(&"yamls/longhorn/backuptargets.yaml".to_string()));
        assert!(files("v1.8.1").contains(&"yamls/longhorn/backuptargets.yaml".to_string()));
        let err = check_local_version(v("v1.7.3")).unwrap_err().to_string();
        assert!(
            err.contains("v1.7.3")
                && err.contains("v1.8.0 and later")
                && err.contains("without --local"),
            "{err}"
        );
        assert!(check_local_version(v("v1.8.1")).is_ok());
        let err = kinds(v("v1.6.2")).unwrap_err().to_string();
        assert!(
            err.contains("PodSecurityPolicies") && err.contains("without --local"),
            "{err}"
        );
    }

    #[test]
    fn list_types_of_each_folder() {
        for kind in kinds(v("v1.12.0")).unwrap() {
            assert!(folder_decodes(kind.folder, &kind.api_version()), "{kind:?}");
            assert!(
                restored_list_kinds(kind.folder).contains(&kind.list_kind().as_str()),
                "{kind:?}"
            );
        }
        assert_eq!(SERVICES.api_version(), "v1");
        assert_eq!(DEPLOYMENTS.api_version(), "apps/v1");
        assert_eq!(VOLUMES.api_version(), "longhorn.io/v1beta2");
        assert!(!folder_decodes(Folder::Kubernetes, "longhorn.io/v1beta2"));
        assert!(!folder_decodes(
            Folder::Kubernetes,
            "apiextensions.k8s.io/v1"
        ));
        assert!(!folder_decodes(Folder::Longhorn, "v1"));
        assert!(!folder_decodes(Folder::Longhorn, "longhorn.io/v1beta1"));
        assert!(folder_decodes(Folder::Kubernetes, "batch/v1"));
    }
}
