//! The control plane's apiserver can be stopped and started again with other flags,
//! keeping etcd's data: what the restart and throttling tests of the plugin stand on.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use longhorn_ground::ControlPlane;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_apiserver_restarts_with_other_flags_and_keeps_the_data() {
    let plane = ControlPlane::start().await.expect("plane");
    let client = plane.client().await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    let map: ConfigMap =
        serde_json::from_value(serde_json::json!({"metadata": {"name": "kept"}})).unwrap();
    maps.create(&PostParams::default(), &map).await.unwrap();

    plane.stop_apiserver();
    assert!(
        maps.get("kept").await.is_err(),
        "nothing answers while the apiserver is down"
    );

    plane
        .start_apiserver(&[
            "--max-requests-inflight=1",
            "--enable-priority-and-fairness=false",
        ])
        .await
        .expect("the apiserver starts again");
    let client = plane.client().await.unwrap();
    let maps: Api<ConfigMap> = Api::namespaced(client, "default");
    assert_eq!(
        maps.get("kept").await.unwrap().metadata.name.as_deref(),
        Some("kept")
    );
}
