//! Waiting on objects through a watch, never a polling loop. The watch restarts by
//! itself on 410 Gone (it re-lists) and on dropped connections (with backoff); the
//! re-list gives the current state, so no final state is missed.

use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, watch_object, watcher};
use serde_json::Value;

use super::api::{Collection, Kube, ObjectRef};
use super::error::Error;

/// What a watcher decides on each observation of the object (`None` = absent).
pub enum Step<T, E> {
    Continue,
    Done(T),
    Fail(E),
}

fn api(kube: &Kube, collection: &Collection) -> Api<DynamicObject> {
    match &collection.namespace {
        Some(namespace) => {
            Api::namespaced_with(kube.client().clone(), namespace, &collection.resource)
        }
        None => Api::all_with(kube.client().clone(), &collection.resource),
    }
}

/// Watches `object` until `decide` returns `Done` or `Fail`, or `timeout` passes
/// (`None` = no limit; kubectl's message names the object).
pub async fn until<T, E: From<Error>>(
    kube: &Kube,
    object: &ObjectRef,
    timeout: Option<Duration>,
    mut decide: impl FnMut(Option<&Value>) -> Step<T, E>,
) -> Result<T, E> {
    let stream = watch_object(api(kube, &object.collection), &object.name).default_backoff();
    drive(
        stream,
        &object.to_string(),
        timeout,
        |found: Option<DynamicObject>| {
            let value = found.map(|o| serde_json::to_value(o).unwrap_or(Value::Null));
            decide(value.as_ref())
        },
    )
    .await
}

/// Watches every object of `collection` matching `label_selector` until `decide`
/// returns `Done` or `Fail` for one of them (objects that exist already are seen
/// first). `what` names them in the timeout message.
pub async fn until_any<T, E: From<Error>>(
    kube: &Kube,
    collection: &Collection,
    label_selector: &str,
    timeout: Option<Duration>,
    what: &str,
    mut decide: impl FnMut(&Value) -> Step<T, E>,
) -> Result<T, E> {
    let config = watcher::Config::default().labels(label_selector);
    let stream = watcher(api(kube, collection), config)
        .default_backoff()
        .applied_objects();
    drive(stream, what, timeout, |found: DynamicObject| {
        decide(&serde_json::to_value(found).unwrap_or(Value::Null))
    })
    .await
}

/// Feeds a watch stream to `decide` until it is done, within `timeout`. Stream errors
/// are logged and skipped: the watcher recovers by itself.
async fn drive<O, S: std::fmt::Display, T, E: From<Error>>(
    stream: impl futures::Stream<Item = std::result::Result<O, S>>,
    what: &str,
    timeout: Option<Duration>,
    mut decide: impl FnMut(O) -> Step<T, E>,
) -> Result<T, E> {
    let watching = async {
        let mut stream = std::pin::pin!(stream);
        while let Some(event) = stream.next().await {
            match event {
                Ok(found) => match decide(found) {
                    Step::Continue => {}
                    Step::Done(result) => return Ok(result),
                    Step::Fail(error) => return Err(error),
                },
                Err(error) => tracing::debug!("watch of {what} interrupted: {error}"),
            }
        }
        Err(Error::WatchEnded(what.to_string()).into())
    };
    match timeout {
        Some(limit) => tokio::time::timeout(limit, watching)
            .await
            .map_err(|_| Error::WaitTimeout(what.to_string()))?,
        None => watching.await,
    }
}

/// Every object of `collection` as it is added or changes, starting with the current
/// ones; after a dropped watch the re-list gives them again. Errors are logged and the
/// watch retried with backoff, so the stream ends only when dropped.
pub fn applied(
    kube: &Kube,
    collection: &Collection,
) -> impl futures::Stream<Item = Value> + Send + 'static {
    watcher(api(kube, collection), watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .filter_map(|event| async move {
            match event {
                Ok(found) => serde_json::to_value(found).ok(),
                Err(error) => {
                    tracing::debug!("watch interrupted: {error}");
                    None
                }
            }
        })
}
