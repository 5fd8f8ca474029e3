//! The test ground of kubectl-longhorn-systembackup: a real etcd + kube-apiserver
//! built from the Go module proxy, Longhorn's real CRDs, and a simulator that stands in
//! for longhorn-manager's controllers and admission webhooks.

pub mod crds;
pub mod ground;
pub mod knobs;
pub mod longhorn;
pub mod objects;
pub mod oracles;
pub mod pki;
pub mod plane;
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
