//! Waiting on one object through a watch, never a polling loop. The watch restarts by
//! itself on 410 Gone (it re-lists) and on dropped connections (with backoff); the
//! re-list gives the current state, so no final state is missed.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::core::ApiResource;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::watcher;
use kube::runtime::watcher::{self, watch_object};
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
    let stream = watch_object(api, name).default_backoff();
    drive(
        stream,
        name,
        timeout,
        on_timeout,
        |object: Option<DynamicObject>| {
            let value = object.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
            decide(value.as_ref())
        },
    )
    .await
}

/// Watches every object matching `label_selector` until `decide` returns `Done` or
/// `Fail` for one of them (objects that exist already are seen first).
pub async fn until_any<T>(
    session: &Session,
    resource: &ApiResource,
    namespace: &str,
    label_selector: &str,
    timeout: Option<Duration>,
    on_timeout: &str,
    mut decide: impl FnMut(&Value) -> Step<T>,
) -> Result<T> {
    let api: Api<DynamicObject> =
        Api::namespaced_with(session.client().clone(), namespace, resource);
    let config = watcher::Config::default().labels(label_selector);
    let stream = watcher(api, config).default_backoff().applied_objects();
    drive(
        stream,
        label_selector,
        timeout,
        on_timeout,
        |object: DynamicObject| decide(&serde_json::to_value(object).unwrap_or(Value::Null)),
    )
    .await
}

/// Feeds a watch stream to `decide` until it is done, within `timeout`. Stream errors
/// are logged and skipped: the watcher recovers by itself.
async fn drive<O, E: std::fmt::Display, T>(
    stream: impl futures::Stream<Item = std::result::Result<O, E>>,
    what: &str,
    timeout: Option<Duration>,
    on_timeout: &str,
    mut decide: impl FnMut(O) -> Step<T>,
) -> Result<T> {
    let watching = async {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(object) => match decide(object) {
                    Step::Continue => {}
                    Step::Done(result) => return Ok(result),
                    Step::Fail(error) => return Err(error),
                },
                Err(error) => tracing::debug!("watch of {what} interrupted: {error}"),
            }
        }
        Err(Error::invalid(format!(
            "the watch of {what} ended unexpectedly"
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
