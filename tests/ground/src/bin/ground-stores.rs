//! Starts the test object stores and prints, as one JSON line, what a Longhorn
//! backup target needs (URL and Secret data) for each, then runs until killed.
//! For trying the plugin by hand, and for the test that checks the watchdog
//! removes the servers when this process is SIGKILLed.
//!
//! usage: ground-stores [--tls]

use longhorn_ground::stores::{AzuriteServer, S3Server};

#[tokio::main]
async fn main() {
    let tls = std::env::args().any(|a| a == "--tls");
    let s3 = if tls {
        S3Server::start_tls().await
    } else {
        S3Server::start().await
    }
    .unwrap_or_else(|e| {
        eprintln!("ground-stores: {e}");
        std::process::exit(1);
    });
    let azure = AzuriteServer::start().await.unwrap_or_else(|e| {
        eprintln!("ground-stores: {e}");
        std::process::exit(1);
    });
    let description = serde_json::json!({
        "s3": {
            "targetURL": s3.target_url(),
            "secret": s3.secret(),
            "endpoint": s3.endpoint(),
            "vfsURL": s3.vfs_url(),
            "dir": s3.dir(),
            "pid": s3.pid(),
        },
        "azure": {
            "targetURL": azure.target_url(),
            "secret": azure.secret(),
            "endpoint": azure.endpoint(),
            "dir": azure.dir(),
            "pid": azure.pid(),
        },
    });
    println!("{description}");
    let _ = tokio::signal::ctrl_c().await;
}
