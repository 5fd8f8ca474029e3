//! What an engine image's DaemonSet does on the node: its binary appears under
//! `/var/lib/longhorn/engine-binaries/<canonical image>/` and the EngineImage reports the
//! node in `status.nodeDeploymentMap`. Longhorn's EngineImage controller, which would watch
//! that DaemonSet, does not run here; the knob `engine_image_deployed` decides the state.

use std::sync::Arc;

use kube::api::{DynamicObject, Patch, PatchParams};
use serde_json::json;
use tracing::warn;

use super::Sim;
use super::object::{name, text};
use crate::longhorn::Kind;

/// Follows every EngineImage and the knob: each one ends up deployed (or deploying) on the
/// node, with its binary installed once deployed.
pub(crate) async fn run(sim: Arc<Sim>) {
    use futures::StreamExt;
    use kube::runtime::watcher;
    let mut changes = sim.knobs.subscribe();
    let api = sim.api(Kind::EngineImage);
    let mut events = watcher::watcher(api, watcher::Config::default()).boxed();
    loop {
        tokio::select! {
            event = events.next() => match event {
                Some(Ok(watcher::Event::Apply(image) | watcher::Event::InitApply(image))) => {
                    deploy(&sim, &image).await;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    warn!("watching engine images: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
                None => return,
            },
            changed = changes.changed() => {
                if changed.is_err() {
                    return;
                }
                if let Ok(images) = sim.api(Kind::EngineImage).list(&Default::default()).await {
                    for image in images.items {
                        deploy(&sim, &image).await;
                    }
                }
            }
        }
    }
}

async fn deploy(sim: &Sim, image: &DynamicObject) {
    if image.metadata.deletion_timestamp.is_some() {
        return;
    }
    let deployed = sim.knobs.get().engine_image_deployed;
    let state = if deployed { "deployed" } else { "deploying" };
    let spec_image = text(image, "/spec/image");
    if deployed
        && let Err(e) = sim
            .layout
            .install_engine_binary(spec_image, &sim.engine_binary)
    {
        warn!("installing the engine binary of {spec_image}: {e}");
    }
    let current_state = text(image, "/status/state");
    let on_node = image
        .data
        .pointer(&format!("/status/nodeDeploymentMap/{}", sim.node_id))
        .and_then(serde_json::Value::as_bool);
    if current_state == state && on_node == Some(deployed) {
        return;
    }
    let status = json!({"status": {
        "ownerID": sim.node_id,
        "state": state,
        "incompatible": false,
        "nodeDeploymentMap": {sim.node_id.as_str(): deployed},
    }});
    if let Err(e) = sim
        .api(Kind::EngineImage)
        .patch_status(&name(image), &PatchParams::default(), &Patch::Merge(status))
        .await
    {
        warn!("engine image {}: {e}", name(image));
    }
}
