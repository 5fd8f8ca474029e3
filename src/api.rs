//! Untyped access to the Kubernetes API. Objects stay `serde_json::Value` from the
//! server to the output or the bundle, so nothing the server sends is dropped by a
//! struct that does not know the field. Lists are paged (500 per page, as kubectl)
//! and streamed page by page.

use futures::Stream;
use kube::Resource;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, Result};
use crate::session::Session;

/// kubectl's default `--chunk-size`.
pub const PAGE_SIZE: u32 = 500;

fn request(resource: &ApiResource, namespace: Option<&str>) -> Request {
    Request::new(DynamicObject::url_path(resource, namespace))
}

type Built = std::result::Result<http::Request<Vec<u8>>, kube::core::request::Error>;

/// Sends a built request. The request is owned, so the returned future borrows only
/// the session: callers may pass temporaries for the resource and names.
async fn send<T: DeserializeOwned>(session: &Session, request: Built) -> Result<T> {
    let request =
        request.map_err(|e| Error::invalid(format!("could not build the request: {e}")))?;
    session
        .client()
        .request::<T>(request)
        .await
        .map_err(|e| session.kube_error(e))
}

/// One page of a LIST.
pub fn list_page<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    params: &ListParams,
) -> impl Future<Output = Result<Value>> + 'a {
    send(session, request(resource, namespace).list(params))
}

/// What to list: a label selector, a field selector, or everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub labels: Option<String>,
    pub fields: Option<String>,
}

/// Pages of a LIST, fetched one at a time as the caller consumes them. Each page is
/// the server's List object (`items`, `metadata.resourceVersion` of the list).
pub fn list_pages<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Selector,
) -> impl Stream<Item = Result<Value>> + 'a {
    paged(session, resource, namespace, selector, |page: &Value| {
        page.pointer("/metadata/continue")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// One page of a LIST with its items kept as raw JSON text: a page then costs about
/// its size on the wire, where a parsed page costs several times that. Each item is
/// parsed when it is used ([`RawPage::items`]).
#[derive(Debug, serde::Deserialize)]
pub struct RawPage {
    #[serde(default)]
    metadata: Option<Value>,
    #[serde(default)]
    items: Option<Vec<Box<RawValue>>>,
}

impl RawPage {
    /// The list's `metadata.resourceVersion` (the same on every page of one LIST).
    pub fn resource_version(&self) -> Option<&str> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get("resourceVersion"))
            .and_then(Value::as_str)
    }

    fn continue_token(&self) -> Option<String> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get("continue"))
            .and_then(Value::as_str)
            .map(str::to_string)
    }

    /// The items, still as JSON text.
    pub fn items(&self) -> &[Box<RawValue>] {
        self.items.as_deref().unwrap_or_default()
    }
}

/// [`list_pages`] with items left unparsed ([`RawPage`]), for streaming large lists.
pub fn list_raw_pages<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Selector,
) -> impl Stream<Item = Result<RawPage>> + 'a {
    paged(
        session,
        resource,
        namespace,
        selector,
        RawPage::continue_token,
    )
}

/// Pages of `limit=500` following the `continue` token; `next` reads the token.
fn paged<'a, T: DeserializeOwned + 'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Selector,
    next: fn(&T) -> Option<String>,
) -> impl Stream<Item = Result<T>> + 'a {
    let resource = resource.clone();
    let namespace = namespace.map(str::to_string);
    futures::stream::try_unfold(Some(String::new()), move |token| {
        let selector = selector.clone();
        let resource = resource.clone();
        let namespace = namespace.clone();
        async move {
            let Some(token) = token else { return Ok(None) };
            let mut params = ListParams::default().limit(PAGE_SIZE);
            if !token.is_empty() {
                params = params.continue_token(&token);
            }
            if let Some(labels) = &selector.labels {
                params = params.labels(labels);
            }
            if let Some(fields) = &selector.fields {
                params = params.fields(fields);
            }
            let request = request(&resource, namespace.as_deref()).list(&params);
            let page: T = send(session, request).await?;
            let following = next(&page).filter(|t| !t.is_empty());
            Ok(Some((page, following)))
        }
    })
}

/// Every item of a LIST, one at a time, a page (500) fetched when the last one is used.
pub fn items<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Selector,
) -> impl Stream<Item = Result<Value>> + 'a {
    use futures::TryStreamExt;
    list_pages(session, resource, namespace, selector)
        .map_ok(|mut page| {
            let items = match page.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            futures::stream::iter(items.into_iter().map(Ok))
        })
        .try_flatten()
}

/// Every item of a LIST, collected. Use [`items`] or [`list_pages`] where the result
/// can be large.
pub fn list_items<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    selector: Selector,
) -> impl Future<Output = Result<Vec<Value>>> + 'a {
    use futures::TryStreamExt;
    items(session, resource, namespace, selector).try_collect()
}

pub fn get<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> impl Future<Output = Result<Value>> + 'a {
    send(
        session,
        request(resource, namespace).get(name, &Default::default()),
    )
}

/// `None` when the object does not exist.
pub fn get_opt<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
) -> impl Future<Output = Result<Option<Value>>> + 'a {
    let getting = get(session, resource, namespace, name);
    async move {
        match getting.await {
            Ok(object) => Ok(Some(object)),
            Err(e) if e.is_not_found() && !is_missing_resource_type(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub fn create<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    object: &Value,
    params: &PostParams,
) -> impl Future<Output = Result<Value>> + 'a {
    let body = serde_json::to_vec(object).unwrap_or_default();
    send(session, request(resource, namespace).create(params, body))
}

pub fn patch<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    patch: &Patch<Value>,
    params: &PatchParams,
) -> impl Future<Output = Result<Value>> + 'a {
    send(
        session,
        request(resource, namespace).patch(name, params, patch),
    )
}

pub fn delete<'a>(
    session: &'a Session,
    resource: &ApiResource,
    namespace: Option<&str>,
    name: &str,
    params: &DeleteParams,
) -> impl Future<Output = Result<Value>> + 'a {
    send(session, request(resource, namespace).delete(name, params))
}

/// A 404 for the whole resource type (its CRD is missing), not for one object. The
/// apiserver then says "the server could not find the requested resource" (the group
/// exists) or answers a plain "404 page not found" (the group does not), and names no
/// object.
pub fn is_missing_resource_type(error: &Error) -> bool {
    match error {
        Error::Api(status) => {
            status.code == 404
                && status.details.as_ref().is_none_or(|d| d.name.is_empty())
                && (status
                    .message
                    .contains("could not find the requested resource")
                    || status.message.contains("404 page not found"))
        }
        _ => false,
    }
}
