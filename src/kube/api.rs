//! Untyped access to the Kubernetes API. Objects stay `serde_json::Value` from the
//! server to the output or the bundle, so nothing the server sends is dropped by a
//! struct that does not know the field. Lists are paged (500 per page, as kubectl)
//! and streamed page by page.

use std::fmt;

use futures::{Stream, TryStreamExt};
use kube::Resource;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, DynamicObject, Request};
use serde::de::DeserializeOwned;
use serde_json::Value;
use serde_json::value::RawValue;

use super::error::{Error, Result};

/// kubectl's default `--chunk-size`.
pub const PAGE_SIZE: u32 = 500;

/// The field manager of every object the plugin writes (`metadata.managedFields`).
pub const FIELD_MANAGER: &str = "kubectl-longhorn";

/// The objects of one resource in one namespace, or cluster-wide: what a LIST reads and
/// a create writes into.
#[derive(Debug, Clone)]
pub struct Collection {
    pub resource: ApiResource,
    pub namespace: Option<String>,
}

impl Collection {
    pub fn new(resource: ApiResource, namespace: Option<&str>) -> Self {
        Collection {
            resource,
            namespace: namespace.map(str::to_string),
        }
    }

    /// The object `name` of this collection.
    pub fn object(&self, name: &str) -> ObjectRef {
        ObjectRef {
            collection: self.clone(),
            name: name.to_string(),
        }
    }

    fn request(&self) -> Request {
        Request::new(DynamicObject::url_path(
            &self.resource,
            self.namespace.as_deref(),
        ))
    }
}

/// One object: kind (by its resource), namespace and name.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    pub collection: Collection,
    pub name: String,
}

impl ObjectRef {
    pub fn resource(&self) -> &ApiResource {
        &self.collection.resource
    }

    pub fn namespace(&self) -> Option<&str> {
        self.collection.namespace.as_deref()
    }
}

/// `plural/name`, as kubectl names an object in its wait messages.
impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.collection.resource.plural, self.name)
    }
}

/// What to list: a label selector, a field selector, or everything.
#[derive(Debug, Clone, Default)]
pub struct Selector {
    pub labels: Option<String>,
    pub fields: Option<String>,
}

impl Selector {
    pub fn labels(labels: impl Into<String>) -> Self {
        Selector {
            labels: Some(labels.into()),
            fields: None,
        }
    }

    pub fn fields(fields: impl Into<String>) -> Self {
        Selector {
            labels: None,
            fields: Some(fields.into()),
        }
    }
}

/// Parameters of a create by the plugin (its field manager), optionally a server-side
/// dry run.
pub fn post_params(dry_run: bool) -> PostParams {
    PostParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
    }
}

/// Parameters of a patch by the plugin, optionally a server-side dry run.
pub fn patch_params(dry_run: bool) -> PatchParams {
    PatchParams {
        dry_run,
        field_manager: Some(FIELD_MANAGER.into()),
        ..Default::default()
    }
}

type Built = std::result::Result<http::Request<Vec<u8>>, kube::core::request::Error>;

/// A client of one API server: kube-rs's client, and the server's URL for messages.
#[derive(Clone)]
pub struct Kube {
    client: kube::Client,
    server: String,
}

impl Kube {
    pub fn new(client: kube::Client, server: impl Into<String>) -> Self {
        Kube {
            client,
            server: server.into(),
        }
    }

    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// Converts a kube-rs error, naming this server on connection failures.
    pub fn error(&self, error: kube::Error) -> Error {
        Error::from_kube(error, &self.server)
    }

    /// Sends a built request. The request is owned, so the returned future borrows only
    /// the client: callers may pass temporaries for the resource and names.
    async fn send<T: DeserializeOwned>(&self, what: String, request: Built) -> Result<T> {
        let request = request.map_err(|source| Error::Request {
            what,
            source: Box::new(source),
        })?;
        self.client
            .request::<T>(request)
            .await
            .map_err(|e| self.error(e))
    }

    pub fn get(&self, object: &ObjectRef) -> impl Future<Output = Result<Value>> + '_ {
        let request = object
            .collection
            .request()
            .get(&object.name, &Default::default());
        self.send(object.to_string(), request)
    }

    /// `None` when the object does not exist (but an error when its kind does not).
    pub fn get_opt(&self, object: &ObjectRef) -> impl Future<Output = Result<Option<Value>>> + '_ {
        let getting = self.get(object);
        async move {
            match getting.await {
                Ok(object) => Ok(Some(object)),
                Err(e) if e.is_not_found() && !e.is_missing_resource_type() => Ok(None),
                Err(e) => Err(e),
            }
        }
    }

    pub fn create(
        &self,
        into: &Collection,
        object: &Value,
        params: &PostParams,
    ) -> impl Future<Output = Result<Value>> + '_ {
        let body = serde_json::to_vec(object).unwrap_or_default();
        let request = into.request().create(params, body);
        self.send(into.resource.plural.clone(), request)
    }

    pub fn patch(
        &self,
        object: &ObjectRef,
        patch: &Patch<Value>,
        params: &PatchParams,
    ) -> impl Future<Output = Result<Value>> + '_ {
        let request = object
            .collection
            .request()
            .patch(&object.name, params, patch);
        self.send(object.to_string(), request)
    }

    pub fn delete(
        &self,
        object: &ObjectRef,
        params: &DeleteParams,
    ) -> impl Future<Output = Result<Value>> + '_ {
        let request = object.collection.request().delete(&object.name, params);
        self.send(object.to_string(), request)
    }

    /// Pages of a LIST, fetched one at a time as the caller consumes them. Each page is
    /// the server's List object (`items`, `metadata.resourceVersion` of the list).
    pub fn list_pages<'a>(
        &'a self,
        list: &Collection,
        selector: Selector,
    ) -> impl Stream<Item = Result<Value>> + 'a {
        self.paged(list, selector, |page: &Value| {
            page.pointer("/metadata/continue")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
    }

    /// [`Kube::list_pages`] with items left unparsed ([`RawPage`]), for streaming large
    /// lists.
    pub fn list_raw_pages<'a>(
        &'a self,
        list: &Collection,
        selector: Selector,
    ) -> impl Stream<Item = Result<RawPage>> + 'a {
        self.paged(list, selector, RawPage::continue_token)
    }

    /// Pages of `limit=500` following the `continue` token; `next` reads the token.
    fn paged<'a, T: DeserializeOwned + 'a>(
        &'a self,
        list: &Collection,
        selector: Selector,
        next: fn(&T) -> Option<String>,
    ) -> impl Stream<Item = Result<T>> + 'a {
        let list = list.clone();
        futures::stream::try_unfold(Some(String::new()), move |token| {
            let selector = selector.clone();
            let list = list.clone();
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
                let request = list.request().list(&params);
                let page: T = self.send(list.resource.plural.clone(), request).await?;
                let following = next(&page).filter(|t| !t.is_empty());
                Ok(Some((page, following)))
            }
        })
    }

    /// Every item of a LIST, one at a time, a page (500) fetched when the last one is
    /// used.
    pub fn items<'a>(
        &'a self,
        list: &Collection,
        selector: Selector,
    ) -> impl Stream<Item = Result<Value>> + 'a {
        self.list_pages(list, selector)
            .map_ok(|mut page| {
                let items = match page.get_mut("items").map(Value::take) {
                    Some(Value::Array(items)) => items,
                    _ => Vec::new(),
                };
                futures::stream::iter(items.into_iter().map(Ok))
            })
            .try_flatten()
    }

    /// Every item of a LIST, collected. Use [`Kube::items`] or [`Kube::list_pages`]
    /// where the result can be large.
    pub fn list_items<'a>(
        &'a self,
        list: &Collection,
        selector: Selector,
    ) -> impl Future<Output = Result<Vec<Value>>> + 'a {
        self.items(list, selector).try_collect()
    }

    /// The API server's `gitVersion`.
    pub async fn server_version(&self) -> Result<String> {
        let info = self
            .client
            .apiserver_version()
            .await
            .map_err(|e| self.error(e))?;
        Ok(info.git_version)
    }
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

/// A built-in Kubernetes resource.
pub fn builtin(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    use kube::core::GroupVersionKind;
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}
