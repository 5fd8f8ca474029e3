//! How two system backups differ, or one backup and the cluster now (`diff A B`,
//! `diff A --live`): per kind, the objects added, removed and changed, with the
//! changed fields. Only what a restore acts on is compared (a Setting's value, a
//! RecurringJob's or Volume's spec, a Role's rules…): status, resource versions and
//! other bookkeeping always differ and are left out.

use serde::Serialize;
use serde_json::Value;

mod fields;
mod objects;

pub use fields::FieldChange;
pub use objects::ObjectSet;

use fields::{changes_in, without};

use super::layout::RESTORE_ORDER;

/// Where `kind` comes in the rollout's order; kinds it does not restore come last.
fn restore_rank(kind: &str) -> usize {
    RESTORE_ORDER
        .iter()
        .position(|(_, k)| *k == kind)
        .unwrap_or(RESTORE_ORDER.len())
}

/// The fields compared for `kind`.
pub fn content_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Setting" => &["value"],
        "ClusterRole" | "Role" => &["rules", "aggregationRule"],
        "ClusterRoleBinding" | "RoleBinding" => &["roleRef", "subjects"],
        "ConfigMap" => &["data", "binaryData"],
        "ServiceAccount" => &[
            "secrets",
            "imagePullSecrets",
            "automountServiceAccountToken",
        ],
        "StorageClass" => STORAGE_CLASS_FIELDS,
        _ => &["spec"],
    }
}

/// The StorageClass fields that decide how a claim is provisioned.
pub const STORAGE_CLASS_FIELDS: &[&str] = &[
    "provisioner",
    "parameters",
    "reclaimPolicy",
    "volumeBindingMode",
    "allowVolumeExpansion",
    "mountOptions",
    "allowedTopologies",
];

/// Fields one side never carries: Longhorn clears a Service's cluster IPs in the
/// bundle, and a PV's claim reference names the claim's current version.
fn ignored_paths(kind: &str) -> &'static [&'static str] {
    match kind {
        "Service" => &["spec.clusterIP", "spec.clusterIPs"],
        "PersistentVolume" => &["spec.claimRef.resourceVersion", "spec.claimRef.uid"],
        _ => &[],
    }
}

/// The changed fields of one object, before (`from`) and after (`to`).
pub fn object_changes(kind: &str, from: &Value, to: &Value) -> Vec<FieldChange> {
    let ignored = ignored_paths(kind);
    changes_in(
        &without(from, ignored),
        &without(to, ignored),
        content_fields(kind),
    )
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Changed {
    /// `namespace/name`, or `name` when cluster-scoped.
    pub name: String,
    pub changes: Vec<FieldChange>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindDiff {
    pub kind: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<Changed>,
    pub unchanged: usize,
}

impl KindDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub added: usize,
    pub removed: usize,
    pub changed: usize,
    pub unchanged: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Diff {
    /// Every kind either side holds, in restore order.
    pub kinds: Vec<KindDiff>,
    pub totals: Totals,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.kinds.iter().all(KindDiff::is_empty)
    }
}

/// What changed from `from` to `to`: added objects are only in `to`, removed ones only
/// in `from`.
pub fn diff(from: &ObjectSet, to: &ObjectSet) -> Diff {
    let mut kinds: Vec<&str> = from.kinds().chain(to.kinds()).collect();
    kinds.sort_by_key(|k| (restore_rank(k), k.to_string()));
    kinds.dedup();
    let mut totals = Totals::default();
    let kinds: Vec<KindDiff> = kinds
        .into_iter()
        .map(|kind| {
            let mut diff = KindDiff {
                kind: kind.to_string(),
                added: Vec::new(),
                removed: Vec::new(),
                changed: Vec::new(),
                unchanged: 0,
            };
            for (key, old) in from.of_kind(kind) {
                match to.get(kind, key) {
                    None => diff.removed.push(key.to_string()),
                    Some(new) => {
                        let changes = object_changes(kind, old, new);
                        if changes.is_empty() {
                            diff.unchanged += 1;
                        } else {
                            diff.changed.push(Changed {
                                name: key.to_string(),
                                changes,
                            });
                        }
                    }
                }
            }
            diff.added = to
                .of_kind(kind)
                .filter(|(key, _)| from.get(kind, key).is_none())
                .map(|(key, _)| key.to_string())
                .collect();
            totals.added += diff.added.len();
            totals.removed += diff.removed.len();
            totals.changed += diff.changed.len();
            totals.unchanged += diff.unchanged;
            diff
        })
        .collect();
    Diff { kinds, totals }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn set(objects: &[(&str, Value)]) -> ObjectSet {
        let mut set = ObjectSet::new();
        for (kind, object) in objects {
            set.insert(kind, object.clone());
        }
        set
    }

    fn named(name: &str, rest: Value) -> Value {
        let mut object = json!({"metadata": {"name": name, "namespace": "longhorn-system",
            "resourceVersion": name.len().to_string(), "uid": format!("uid-{name}")}});
        object
            .as_object_mut()
            .unwrap()
            .extend(rest.as_object().unwrap().clone());
        object
    }

    #[test]
    fn added_removed_and_changed_per_kind_with_fields() {
        let a = set(&[
            ("Setting", named("replica-count", json!({"value": "3"}))),
            ("Setting", named("gone", json!({"value": "x"}))),
            (
                "RecurringJob",
                named("daily", json!({"spec": {"cron": "0 0 * * *", "retain": 7}})),
            ),
            (
                "Volume",
                named(
                    "pvc-1",
                    json!({"spec": {"numberOfReplicas": 3}, "status": {"state": "attached"}}),
                ),
            ),
        ]);
        let b = set(&[
            ("Setting", named("replica-count", json!({"value": "2"}))),
            ("Setting", named("new", json!({"value": "y"}))),
            (
                "RecurringJob",
                named("daily", json!({"spec": {"cron": "0 1 * * *", "retain": 7}})),
            ),
            // Status and metadata differ, the spec does not.
            (
                "Volume",
                named(
                    "pvc-1",
                    json!({"spec": {"numberOfReplicas": 3}, "status": {"state": "detached"}}),
                ),
            ),
            (
                "StorageClass",
                json!({"metadata": {"name": "longhorn"}, "provisioner": "driver.longhorn.io"}),
            ),
        ]);
        let diff = diff(&a, &b);
        let kinds: Vec<&str> = diff.kinds.iter().map(|k| k.kind.as_str()).collect();
        assert_eq!(kinds, ["Setting", "StorageClass", "RecurringJob", "Volume"]);
        let settings = &diff.kinds[0];
        assert_eq!(settings.added, ["longhorn-system/new"]);
        assert_eq!(settings.removed, ["longhorn-system/gone"]);
        assert_eq!(settings.changed[0].changes[0].summary(), "value: 3 → 2");
        assert_eq!(
            diff.kinds[2].changed[0].changes[0].summary(),
            "spec.cron: \"0 0 * * *\" → \"0 1 * * *\""
        );
        assert_eq!(diff.kinds[1].added, ["longhorn"]);
        assert!(diff.kinds[3].is_empty() && diff.kinds[3].unchanged == 1);
        assert_eq!(
            diff.totals,
            Totals {
                added: 2,
                removed: 1,
                changed: 2,
                unchanged: 1
            }
        );
        assert!(!diff.is_empty());
    }

    #[test]
    fn fields_one_side_never_carries_are_not_changes() {
        let bundle = json!({"metadata": {"name": "longhorn-ui"}, "spec": {"ports": [80]}});
        let live = json!({"metadata": {"name": "longhorn-ui"}, "spec": {"ports": [80], "clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"]}});
        assert!(object_changes("Service", &bundle, &live).is_empty());
        let pv = |rv: &str| json!({"spec": {"claimRef": {"name": "data", "resourceVersion": rv, "uid": rv}}});
        assert!(object_changes("PersistentVolume", &pv("1"), &pv("2")).is_empty());
    }

    #[test]
    fn a_backup_against_itself_is_empty_and_serializes() {
        let a = set(&[("Setting", named("x", json!({"value": "1"})))]);
        let diff = diff(&a, &a);
        assert!(diff.is_empty());
        let json = serde_json::to_value(&diff).unwrap();
        assert_eq!(
            json["kinds"][0],
            json!({"kind": "Setting", "added": [], "removed": [], "changed": [], "unchanged": 1})
        );
    }
}
