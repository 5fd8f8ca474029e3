//! `longhorn-ground up`: a control plane with a simulated Longhorn, for trying the
//! plugin by hand. Stays up until Ctrl-C.

use std::time::Instant;

use clap::{Parser, Subcommand};
use longhorn_ground::{Ground, Options};

#[derive(Parser)]
#[command(about = "Test ground for kubectl-longhorn-systembackup")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start etcd + kube-apiserver, seed a Longhorn install and run the simulator.
    Up {
        /// Longhorn version to simulate (default: LONGHORN_VERSION, else the newest).
        #[arg(long, env = "LONGHORN_VERSION")]
        longhorn_version: Option<String>,
        /// Number of seeded volumes (each with a PV and a PVC).
        #[arg(long, default_value_t = 3)]
        volumes: usize,
        /// Longhorn namespace.
        #[arg(long, default_value = "longhorn-system")]
        namespace: String,
    },
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,kube_client=off".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let Command::Up {
        longhorn_version,
        volumes,
        namespace,
    } = Cli::parse().command;
    let version = match longhorn_version {
        Some(version) => version,
        None => {
            Ground::default_version().unwrap_or_else(|_| longhorn_ground::crds::NEWEST.to_string())
        }
    };
    let started = Instant::now();
    let options = Options::default().volumes(volumes).namespace(&namespace);
    let longhorn = match Ground::dedicated_with(&version, options).await {
        Ok(longhorn) => longhorn,
        Err(e) => {
            eprintln!("longhorn-ground: error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let report = longhorn.seed_report();
    eprintln!(
        "longhorn-ground: Longhorn {version} up in {:.1?} (seeded {} volumes in {:.1?}; Kubernetes {})",
        started.elapsed(),
        report.volumes,
        report.elapsed,
        longhorn.plane().kubernetes_version,
    );
    eprintln!(
        "longhorn-ground: backup target {} is served from {}",
        longhorn.backup_target_url(),
        longhorn.store_path().display()
    );
    println!("export KUBECONFIG={}", longhorn.kubeconfig().display());
    println!("# Longhorn namespace: {}", longhorn.namespace());
    println!("# --mount-path {}", longhorn.store_path().display());
    eprintln!("longhorn-ground: press Ctrl-C to stop");
    let _ = tokio::signal::ctrl_c().await;
    eprintln!("longhorn-ground: stopping");
    drop(longhorn);
    std::process::ExitCode::SUCCESS
}
