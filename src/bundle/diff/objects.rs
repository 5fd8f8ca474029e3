//! A set of Kubernetes objects, untyped, keyed by kind, namespace and name: the
//! content of a bundle, or what the cluster holds of the same kinds.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::kube::object::{name, namespace};

/// Namespace (empty for cluster-scoped objects) and name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: &str, name: &str) -> Self {
        ObjectKey {
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }

    pub fn of(object: &Value) -> Self {
        ObjectKey::new(namespace(object), name(object))
    }
}

impl fmt::Display for ObjectKey {
    /// `namespace/name`, or `name` for a cluster-scoped object (as kubectl prints them).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// Objects per item kind (`Volume`, not `VolumeList`), each kind sorted by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectSet {
    kinds: BTreeMap<String, BTreeMap<ObjectKey, Value>>,
}

impl ObjectSet {
    pub fn new() -> Self {
        ObjectSet::default()
    }

    /// The objects of a bundle as [`crate::bundle::inspect::restored_objects`] reads
    /// them, per item kind.
    pub fn from_kinds(kinds: BTreeMap<String, Vec<Value>>) -> Self {
        let mut set = ObjectSet::new();
        for (kind, objects) in kinds {
            set.kinds.entry(kind.clone()).or_default();
            for object in objects {
                set.insert(&kind, object);
            }
        }
        set
    }

    /// Adds `object` as a `kind`; a second object with the same key replaces the first
    /// (as the rollout's typed lists would keep both, but act on the last one twice).
    pub fn insert(&mut self, kind: &str, object: Value) {
        self.kinds
            .entry(kind.to_string())
            .or_default()
            .insert(ObjectKey::of(&object), object);
    }

    /// The kinds present (also those with no objects), sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }

    /// The objects of `kind`, sorted by key.
    pub fn of_kind(&self, kind: &str) -> impl Iterator<Item = (&ObjectKey, &Value)> {
        self.kinds.get(kind).into_iter().flatten()
    }

    pub fn get(&self, kind: &str, key: &ObjectKey) -> Option<&Value> {
        self.kinds.get(kind)?.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_keyed_by_kind_namespace_and_name() {
        let mut kinds = BTreeMap::new();
        kinds.insert(
            "Volume".to_string(),
            vec![
                json!({"metadata": {"name": "b", "namespace": "longhorn-system"}}),
                json!({"metadata": {"name": "a", "namespace": "longhorn-system"}}),
            ],
        );
        kinds.insert("StorageClass".to_string(), vec![]);
        let set = ObjectSet::from_kinds(kinds);
        assert_eq!(set.kinds().collect::<Vec<_>>(), ["StorageClass", "Volume"]);
        let names: Vec<String> = set.of_kind("Volume").map(|(k, _)| k.to_string()).collect();
        assert_eq!(names, ["longhorn-system/a", "longhorn-system/b"]);
        assert!(
            set.get("Volume", &ObjectKey::new("longhorn-system", "a"))
                .is_some()
        );
        assert!(set.get("Volume", &ObjectKey::new("other", "a")).is_none());
    }
}
