//! Longhorn's real CRDs, from the longhorn-manager module of the chosen version
//! (`k8s/crds.yaml`, built by tests/tools/install.sh), applied and waited for
//! `Established`.

use std::time::{Duration, Instant};

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::{Error, tools};

/// Longhorn versions the ground supports: the newest patch release of each minor
/// line that the Go module proxy serves.
pub const SUPPORTED_VERSIONS: &[&str] = &["v1.8.1", "v1.9.0", "v1.10.0", "v1.11.1", "v1.12.0"];
pub const OLDEST: &str = "v1.8.1";
pub const NEWEST: &str = "v1.12.0";

/// The Longhorn version selected by `LONGHORN_VERSION` (default: the newest).
pub fn selected_version() -> Result<String, Error> {
    match std::env::var("LONGHORN_VERSION") {
        Ok(v) if !v.is_empty() => {
            let v = if v.starts_with('v') {
                v
            } else {
                format!("v{v}")
            };
            if SUPPORTED_VERSIONS.contains(&v.as_str()) {
                Ok(v)
            } else {
                Err(Error::UnsupportedVersion(v))
            }
        }
        _ => Ok(NEWEST.to_string()),
    }
}

pub fn crd_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("apiextensions.k8s.io", "v1", "CustomResourceDefinition"),
        "customresourcedefinitions",
    )
}

/// Reads the CRD documents of a Longhorn version (built by `install.sh crds`).
pub fn load(version: &str) -> Result<Vec<Value>, Error> {
    let path = tools::install("crds", Some(version))?;
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Io {
        context: format!("reading {}", path.display()),
        source,
    })?;
    let docs: Vec<Value> =
        serde_saphyr::from_multiple(&text).map_err(|e| Error::Yaml(e.to_string()))?;
    Ok(docs
        .into_iter()
        .filter(|d| d.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition"))
        .collect())
}

/// Creates the CRDs and waits until every one is `Established`.
pub async fn apply(client: &kube::Client, version: &str) -> Result<Vec<String>, Error> {
    let api: Api<DynamicObject> = Api::all_with(client.clone(), &crd_resource());
    let docs = load(version)?;
    let mut names = Vec::new();
    let creates = docs.into_iter().map(|doc| {
        let api = api.clone();
        async move {
            let object: DynamicObject =
                serde_json::from_value(doc).map_err(|e| Error::Yaml(e.to_string()))?;
            let name = object.metadata.name.clone().unwrap_or_default();
            match api.create(&PostParams::default(), &object).await {
                Ok(_) => Ok(name),
                Err(kube::Error::Api(status)) if status.is_already_exists() => Ok(name),
                Err(e) => Err(Error::Kube(format!("creating CRD {name}: {e}"))),
            }
        }
    });
    for name in futures::future::join_all(creates).await {
        names.push(name?);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    for name in &names {
        loop {
            let crd = api
                .get(name)
                .await
                .map_err(|e| Error::Kube(e.to_string()))?;
            if is_established(&crd.data) {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Startup(format!(
                    "CRD {name} did not become Established"
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    Ok(names)
}

fn is_established(crd: &Value) -> bool {
    crd.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|conditions| {
            conditions.iter().any(|c| {
                c.get("type").and_then(Value::as_str) == Some("Established")
                    && c.get("status").and_then(Value::as_str) == Some("True")
            })
        })
}
