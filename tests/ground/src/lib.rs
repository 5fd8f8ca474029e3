//! The test ground of kubectl-longhorn-systembackup: a real etcd + kube-apiserver
//! built from the Go module proxy, Longhorn's real CRDs, longhorn-manager's own
//! controllers and admission webhooks built from the Go module proxy for the Longhorn
//! release under test, and a simulator for what they need from engines and replicas.
//!
//! ```no_run
//! # async fn example() -> Result<(), longhorn_ground::Error> {
//! use longhorn_ground::{Ground, Kind, objects};
//! let longhorn = Ground::shared(&Ground::default_version()?).await?;
//! let client = longhorn.client().await?;
//! Kind::SystemBackup
//!     .api(&client, longhorn.namespace())
//!     .create(&Default::default(), &objects::system_backup("demo", None))
//!     .await
//!     .map_err(|e| longhorn_ground::Error::Kube(e.to_string()))?;
//! longhorn.wait_for_system_backup("demo", &["Ready"], std::time::Duration::from_secs(60)).await?;
//! // The bundle is now in the store, under longhorn.store_path() (the plugin's --mount-path).
//! # Ok(()) }
//! ```

pub mod audit;
pub mod crds;
pub mod faults;
pub mod ground;
pub mod knobs;
pub mod longhorn;
pub mod manager;
pub mod mounts;
pub mod objects;
pub mod oracles;
pub mod pki;
pub mod plane;
pub mod secrets;
pub mod seed;
pub mod simulator;
pub mod stores;
pub mod tools;
pub mod watchdog;

pub use ground::{Ground, Longhorn, Options};
pub use knobs::{Fault, KnobValues, Knobs};
pub use longhorn::{Kind, Version};
pub use plane::ControlPlane;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("could not install {component}: {message}")]
    Install { component: String, message: String },
    #[error("control plane failed to start: {0}")]
    Startup(String),
    #[error("Longhorn {0} is not supported by the ground; pick one of {versions}", versions = crds::SUPPORTED_VERSIONS.join(", "))]
    UnsupportedVersion(String),
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("YAML: {0}")]
    Yaml(String),
    #[error("Kubernetes API: {0}")]
    Kube(String),
    #[error("object store: {0}")]
    Store(String),
    #[error("oracle: {0}")]
    Oracle(String),
}
