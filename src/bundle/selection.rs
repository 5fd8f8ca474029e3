//! Which objects go into the bundle: longhorn-manager's selection, one small function
//! per rule (docs/longhorn-behaviour.md, "The bundle";
//! `longhorn/longhorn-manager:datastore/uncached.go@v1.12.0`, `datastore/kubernetes.go`,
//! `controller/system_backup_controller.go`). Objects stay
//! untyped JSON; a missing field reads as Go's zero value, as in the typed original.

use std::collections::HashSet;

use serde_json::Value;

use super::layout::Rule;

/// The CSI driver and provisioner name of Longhorn (`types.LonghornDriverName`).
pub const LONGHORN_DRIVER: &str = "driver.longhorn.io";
const LONGHORN_GROUP: &str = "longhorn.io";

fn text<'a>(object: &'a Value, pointer: &str) -> &'a str {
    object
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `(namespace, name)` of a ServiceAccount, as CRB subjects name it.
pub type AccountKey = (String, String);

/// Facts some rules need from other kinds, gathered while those are listed.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    /// The Longhorn ServiceAccounts (for ClusterRoleBindings).
    pub service_accounts: HashSet<AccountKey>,
    /// `roleRef.name` of the selected ClusterRoleBindings (for ClusterRoles).
    pub bound_cluster_roles: HashSet<String>,
    /// `spec.storageClassName` of the Longhorn CSI PVs, "" included (for PVCs).
    pub volume_classes: HashSet<String>,
}

/// Whether `rule` keeps `object`, given the facts gathered so far.
pub fn keeps(rule: Rule, object: &Value, facts: &Facts) -> bool {
    match rule {
        Rule::All => true,
        Rule::LonghornCrd => is_longhorn_crd(object),
        Rule::BindsLonghornServiceAccount => binds_service_account(object, &facts.service_accounts),
        Rule::BoundClusterRole => is_bound_cluster_role(object, &facts.bound_cluster_roles),
        Rule::LonghornStorageClass => is_longhorn_storage_class(object),
        Rule::LonghornCsiVolume => is_longhorn_csi_volume(object),
        Rule::ClaimOfLonghornClass => claims_longhorn_class(object, &facts.volume_classes),
    }
}

/// CRDs of group longhorn.io (`GetAllLonghornCustomResourceDefinitions`).
pub fn is_longhorn_crd(crd: &Value) -> bool {
    text(crd, "/spec/group") == LONGHORN_GROUP
}

pub fn service_account_key(account: &Value) -> AccountKey {
    (
        text(account, "/metadata/namespace").to_string(),
        text(account, "/metadata/name").to_string(),
    )
}

/// ClusterRoleBindings with a subject of kind ServiceAccount whose name and namespace
/// are those of a Longhorn ServiceAccount
/// (`generateSystemBackupYAMLsForClusterRoleBindingsByServiceAccounts`).
pub fn binds_service_account(binding: &Value, accounts: &HashSet<AccountKey>) -> bool {
    binding
        .get("subjects")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|subject| text(subject, "/kind") == "ServiceAccount")
        .any(|subject| {
            accounts.contains(&(
                text(subject, "/namespace").to_string(),
                text(subject, "/name").to_string(),
            ))
        })
}

/// The ClusterRole a binding refers to.
pub fn role_ref_name(binding: &Value) -> &str {
    text(binding, "/roleRef/name")
}

/// ClusterRoles named by `roleRef.name` of a selected ClusterRoleBinding
/// (`generateSystemBackupYAMLsForClusterRolesByClusterRoleBindings`).
pub fn is_bound_cluster_role(role: &Value, bound: &HashSet<String>) -> bool {
    bound.contains(text(role, "/metadata/name"))
}

/// StorageClasses whose provisioner is Longhorn's (`GetAllLonghornStorageClassList`).
pub fn is_longhorn_storage_class(class: &Value) -> bool {
    text(class, "/provisioner") == LONGHORN_DRIVER
}

/// PersistentVolumes with `spec.csi.driver == driver.longhorn.io`; PVs without
/// `spec.csi` are skipped (`GetAllPersistentVolumesWithLonghornProvisioner`, the
/// v1.4.1 guard of #5286).
pub fn is_longhorn_csi_volume(volume: &Value) -> bool {
    text(volume, "/spec/csi/driver") == LONGHORN_DRIVER
}

/// A PV's storage class as Go reads it: absent is "".
pub fn volume_class(volume: &Value) -> &str {
    text(volume, "/spec/storageClassName")
}

/// PVCs (any namespace) with a non-nil `spec.storageClassName` that is the class of a
/// Longhorn CSI PV (`GetAllPersistentVolumeClaimsByPersistentVolumeProvisioner`).
/// Matched by class, not by `volumeName`; an explicit "" matches a PV with no class.
pub fn claims_longhorn_class(claim: &Value, volume_classes: &HashSet<String>) -> bool {
    match claim.pointer("/spec/storageClassName") {
        Some(Value::String(class)) => volume_classes.contains(class),
        _ => false,
    }
}

/// Services lose `spec.clusterIP` and `spec.clusterIPs`, the only change Longhorn makes
/// to an object (`generateSystemBackupYAMLsForServices`). Go then omits both fields.
pub fn clear_cluster_ips(service: &mut Value) {
    if let Some(spec) = service.get_mut("spec").and_then(Value::as_object_mut) {
        spec.remove("clusterIP");
        spec.remove("clusterIPs");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn accounts() -> HashSet<AccountKey> {
        [(
            "longhorn-system".to_string(),
            "longhorn-service-account".to_string(),
        )]
        .into()
    }

    #[test]
    fn crds_of_the_longhorn_group_only() {
        assert!(is_longhorn_crd(&json!({"spec": {"group": "longhorn.io"}})));
        assert!(!is_longhorn_crd(
            &json!({"spec": {"group": "snapshot.storage.k8s.io"}})
        ));
        assert!(!is_longhorn_crd(
            &json!({"spec": {"group": "x.longhorn.io"}})
        ));
        assert!(!is_longhorn_crd(&json!({})));
    }

    #[test]
    fn bindings_of_longhorn_service_accounts() {
        let sa =
            |ns: &str, name: &str| json!({"kind": "ServiceAccount", "namespace": ns, "name": name});
        let keep = json!({"subjects": [
            {"kind": "User", "name": "alice"},
            sa("longhorn-system", "longhorn-service-account"),
        ]});
        assert!(binds_service_account(&keep, &accounts()));
        let other_namespace = json!({"subjects": [sa("default", "longhorn-service-account")]});
        assert!(!binds_service_account(&other_namespace, &accounts()));
        let not_an_account = json!({"subjects": [{"kind": "User", "namespace": "longhorn-system", "name": "longhorn-service-account"}]});
        assert!(!binds_service_account(&not_an_account, &accounts()));
        let no_namespace =
            json!({"subjects": [{"kind": "ServiceAccount", "name": "longhorn-service-account"}]});
        assert!(!binds_service_account(&no_namespace, &accounts()));
        assert!(!binds_service_account(
            &json!({"subjects": null}),
            &accounts()
        ));
        assert_eq!(
            service_account_key(
                &json!({"metadata": {"namespace": "longhorn-system", "name": "longhorn-service-account"}})
            ),
            ("longhorn-system".into(), "longhorn-service-account".into())
        );
    }

    #[test]
    fn cluster_roles_named_by_selected_bindings() {
        let bound: HashSet<String> =
            [
                role_ref_name(
                    &json!({"roleRef": {"kind": "ClusterRole", "name": "longhorn-role"}}),
                )
                .to_string(),
            ]
            .into();
        assert!(is_bound_cluster_role(
            &json!({"metadata": {"name": "longhorn-role"}}),
            &bound
        ));
        assert!(!is_bound_cluster_role(
            &json!({"metadata": {"name": "admin"}}),
            &bound
        ));
    }

    #[test]
    fn storage_classes_by_provisioner() {
        assert!(is_longhorn_storage_class(
            &json!({"provisioner": "driver.longhorn.io"})
        ));
        assert!(!is_longhorn_storage_class(
            &json!({"provisioner": "rancher.io/local-path"})
        ));
        assert!(!is_longhorn_storage_class(
            &json!({"parameters": {"provisioner": "driver.longhorn.io"}})
        ));
    }

    #[test]
    fn persistent_volumes_by_csi_driver() {
        assert!(is_longhorn_csi_volume(
            &json!({"spec": {"csi": {"driver": "driver.longhorn.io", "volumeHandle": "pvc-1"}}})
        ));
        assert!(!is_longhorn_csi_volume(
            &json!({"spec": {"csi": {"driver": "ebs.csi.aws.com"}}})
        ));
        assert!(!is_longhorn_csi_volume(
            &json!({"spec": {"hostPath": {"path": "/x"}}})
        ));
        assert_eq!(volume_class(&json!({"spec": {}})), "");
        assert_eq!(
            volume_class(&json!({"spec": {"storageClassName": "longhorn"}})),
            "longhorn"
        );
    }

    #[test]
    fn claims_by_the_class_of_longhorn_volumes() {
        let classes: HashSet<String> = ["longhorn".to_string(), String::new()].into();
        assert!(claims_longhorn_class(
            &json!({"spec": {"storageClassName": "longhorn"}}),
            &classes
        ));
        assert!(!claims_longhorn_class(
            &json!({"spec": {"storageClassName": "local-path"}}),
            &classes
        ));
        // nil is skipped; an explicit "" matches a Longhorn PV without a class.
        assert!(!claims_longhorn_class(
            &json!({"spec": {"volumeName": "pv-1"}}),
            &classes
        ));
        assert!(!claims_longhorn_class(
            &json!({"spec": {"storageClassName": null}}),
            &classes
        ));
        assert!(claims_longhorn_class(
            &json!({"spec": {"storageClassName": ""}}),
            &classes
        ));
        let only_longhorn: HashSet<String> = ["longhorn".to_string()].into();
        assert!(!claims_longhorn_class(
            &json!({"spec": {"storageClassName": ""}}),
            &only_longhorn
        ));
    }

    #[test]
    fn services_lose_cluster_ips_only() {
        let mut service = json!({"spec": {"clusterIP": "10.0.0.5", "clusterIPs": ["10.0.0.5"], "ports": [{"port": 9500}], "type": "ClusterIP"}});
        clear_cluster_ips(&mut service);
        assert_eq!(
            service,
            json!({"spec": {"ports": [{"port": 9500}], "type": "ClusterIP"}})
        );
    }

    #[test]
    fn keeps_dispatches_each_rule() {
        let facts = Facts {
            service_accounts: accounts(),
            bound_cluster_roles: ["longhorn-role".to_string()].into(),
            volume_classes: ["longhorn".to_string()].into(),
        };
        assert!(keeps(Rule::All, &json!({}), &facts));
        assert!(keeps(
            Rule::BoundClusterRole,
            &json!({"metadata": {"name": "longhorn-role"}}),
            &facts
        ));
        assert!(!keeps(
            Rule::ClaimOfLonghornClass,
            &json!({"spec": {}}),
            &facts
        ));
        assert!(keeps(
            Rule::LonghornCsiVolume,
            &json!({"spec": {"csi": {"driver": "driver.longhorn.io"}}}),
            &facts
        ));
    }
}
