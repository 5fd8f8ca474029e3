//! Waiting on one object through a watch, never a polling loop. The watch restarts by
//! itself on 410 Gone (it re-lists) and on dropped connections (with backoff); the
//! re-list gives the current state, so no final state is missed.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::watch_object;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::session::Session;

/// What a watcher decides on each observation of the object (`None` = absent).
pub enum Step<T> {
    Continue,
    Done(T),
    Fail(Error),
}

/// Watches `name` until `decide` returns `Done` or `Fail`, or `timeout` passes
/// (`None` = no limit). `on_timeout` names the object in kubectl's timeout message.
pub async fn until<T>(
    session: &Session,
    resource: &ApiResource,
    namespace: &str,
    name: &str,
    timeout: Option<Duration>,
    on_timeout: &str,
    mut decide: impl FnMut(Option<&Value>) -> Step<T>,
) -> Result<T> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(session.client().clone(), namespace, resource);
    let watching = async {
        let mut stream = std::pin::pin!(watch_object(api, name).default_backoff());
        while let Some(event) = stream.next().await {
            let object = match event {
                Ok(object) => object,
                Err(error) => {
                    // Logged and retried: the stream recovers on its own.
                    tracing::debug!("watch of {name} interrupted: {error}");
                    continue;
                }
            };
            let value = object.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
            match decide(value.as_ref()) {
                Step::Continue => {}
                Step::Done(result) => return Ok(result),
                Step::Fail(error) => return Err(error),
            }
        }
        Err(Error::invalid(format!(
            "the watch of {name} ended unexpectedly"
        )))
    };
    match timeout {
        Some(limit) => tokio::time::timeout(limit, watching)
            .await
            .map_err(|_| Error::Timeout(on_timeout.to_string()))?,
        None => watching.await,
    }
}

/// Every object of a resource in `namespace` as it is added or changes, starting with
/// the current ones; after a dropped watch the re-list gives them again. Errors are
/// logged and the watch retried with backoff, so the stream ends only when dropped.
pub fn applied(
    session: &Session,
    resource: &ApiResource,
    namespace: &str,
) -> impl futures::Stream<Item = Value> + Send + 'static {
    use kube::runtime::watcher::{Config, watcher};
    let api: Api<DynamicObject> =
        Api::namespaced_with(session.client().clone(), namespace, resource);
    watcher(api, Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(|event| async move {
            match event {
                Ok(object) => serde_json::to_value(object).ok(),
                Err(error) => {
                    tracing::debug!("watch interrupted: {error}");
                    None
                }
            }
        })
}
