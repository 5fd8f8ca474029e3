use std::time::Instant;

#[tokio::main]
async fn main() {
    let started = Instant::now();
    let version = longhorn_ground::crds::selected_version().unwrap();
    let plane = longhorn_ground::ControlPlane::start().await.unwrap();
    eprintln!(
        "plane up in {:?} ({})",
        started.elapsed(),
        plane.kubernetes_version
    );
    let client = plane.client().await.unwrap();
    let names = longhorn_ground::crds::apply(&client, &version)
        .await
        .unwrap();
    eprintln!(
        "{} CRDs established in {:?}",
        names.len(),
        started.elapsed()
    );
    println!("export KUBECONFIG={}", plane.kubeconfig_path().display());
    tokio::signal::ctrl_c().await.unwrap();
}
