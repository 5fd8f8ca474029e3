//! Longhorn's admission webhooks: an HTTPS server on loopback, registered through one
//! Mutating- and one ValidatingWebhookConfiguration scoped to the simulator's namespace
//! (simulator-spec.md §1).

mod backuptarget;
mod recurringjob;
mod setting;
mod snapshot;
mod systembackup;
mod systemrestore;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use k8s_openapi::api::admissionregistration::v1::{
    MutatingWebhook, MutatingWebhookConfiguration, RuleWithOperations, ValidatingWebhook,
    ValidatingWebhookConfiguration, WebhookClientConfig,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, PostParams};
use rustls::pki_types::pem::PemObject;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tracing::{debug, warn};

use super::Sim;
use crate::longhorn::GROUP;
use crate::pki::CertPair;
use crate::{Error, longhorn};
pub(crate) use systembackup::requires_credential;

pub(crate) const MUTATION_PATH: &str = "/v1/webhook/mutation";
pub(crate) const VALIDATION_PATH: &str = "/v1/webhook/validation";
/// The name probes use to learn that the apiserver calls both webhooks.
pub(crate) const PROBE_NAME: &str = "ground-webhook-probe";

/// `webhook/error.AdmitError`: what a rejection carries back to the apiserver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AdmitError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `NewInvalidError` adds one `FieldValueInvalid` cause with this field.
    pub invalid_field: Option<String>,
}

impl AdmitError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message: message.into(),
            invalid_field: None,
        }
    }

    pub fn invalid(message: impl Into<String>) -> Self {
        Self::invalid_field(message, "")
    }

    pub fn invalid_field(message: impl Into<String>, field: &str) -> Self {
        Self {
            code: 422,
            reason: "Invalid",
            message: message.into(),
            invalid_field: Some(field.to_string()),
        }
    }

    /// A raw (non-AdmitError) error wrapped by the admission handler.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            code: 500,
            reason: "InternalError",
            message: message.into(),
            invalid_field: None,
        }
    }

    fn status(&self) -> Value {
        let mut status = json!({
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some(field) = &self.invalid_field {
            let mut cause = json!({"type": "FieldValueInvalid", "message": self.message});
            if !field.is_empty() {
                cause["field"] = json!(field);
            }
            status["details"] = json!({"causes": [cause]});
        }
        status
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    Create,
    Update,
    Delete,
    Other,
}

/// The parts of an AdmissionRequest the handlers look at.
pub(crate) struct Admission {
    pub operation: Operation,
    pub resource: String,
    /// The new object (CREATE/UPDATE) or the old one (DELETE).
    pub object: Value,
    pub old_object: Option<Value>,
}

impl Admission {
    pub fn name(&self) -> &str {
        self.object
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn str_at(&self, pointer: &str) -> &str {
        self.object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn i64_at(&self, pointer: &str) -> i64 {
        self.object
            .pointer(pointer)
            .and_then(Value::as_i64)
            .unwrap_or(0)
    }

    /// True when the pointer is absent or JSON null (a Go nil slice/map).
    pub fn is_nil(&self, pointer: &str) -> bool {
        self.object.pointer(pointer).is_none_or(Value::is_null)
    }
}

pub(crate) type PatchOps = Vec<Value>;

/// `{"op": "replace", "path": …, "value": …}`: the only op Longhorn's mutators use.
pub(crate) fn replace(path: &str, value: Value) -> Value {
    json!({"op": "replace", "path": path, "value": value})
}

/// `GetLonghornFinalizerPatchOpIfNeeded`: always the whole list, unless deleting.
pub(crate) fn finalizer_op(object: &Value) -> Option<Value> {
    if object
        .pointer("/metadata/deletionTimestamp")
        .is_some_and(|t| !t.is_null())
    {
        return None;
    }
    Some(replace(
        "/metadata/finalizers",
        json!(super::object::with_finalizer(object, longhorn::FINALIZER)),
    ))
}

async fn mutate(sim: &Sim, admission: &Admission) -> Result<PatchOps, AdmitError> {
    match admission.resource.as_str() {
        "systembackups" => systembackup::mutate(sim, admission).await,
        "recurringjobs" => recurringjob::mutate(sim, admission),
        "backuptargets" => backuptarget::mutate(sim, admission),
        "settings" => setting::mutate(sim, admission),
        "snapshots" => snapshot::mutate_snapshot(sim, admission).await,
        "backups" => snapshot::mutate_backup(sim, admission).await,
        _ => Ok(Vec::new()),
    }
}

async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    match admission.resource.as_str() {
        "systembackups" => systembackup::validate(sim, admission).await,
        "systemrestores" => systemrestore::validate(sim, admission).await,
        "recurringjobs" => recurringjob::validate(sim, admission).await,
        "backuptargets" => backuptarget::validate(sim, admission).await,
        "settings" => setting::validate(sim, admission).await,
        _ => Ok(()),
    }
}

/// Turns one AdmissionReview into its answer.
async fn review(sim: &Sim, path: &str, body: &[u8]) -> Value {
    let review: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let request = review.get("request").cloned().unwrap_or(Value::Null);
    let uid = request.get("uid").cloned().unwrap_or(json!(""));
    let operation = match request.get("operation").and_then(Value::as_str) {
        Some("CREATE") => Operation::Create,
        Some("UPDATE") => Operation::Update,
        Some("DELETE") => Operation::Delete,
        _ => Operation::Other,
    };
    let object = match operation {
        Operation::Delete => request.get("oldObject"),
        _ => request.get("object"),
    };
    let admission = Admission {
        operation,
        resource: request
            .pointer("/resource/resource")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        object: object.cloned().unwrap_or(Value::Null),
        old_object: request.get("oldObject").filter(|o| !o.is_null()).cloned(),
    };
    if admission.name() == PROBE_NAME {
        sim.webhook_probes.note(path);
    }
    let mut response = json!({"uid": uid, "allowed": true});
    let outcome = if path == MUTATION_PATH {
        mutate(sim, &admission).await.map(Some)
    } else {
        validate(sim, &admission).await.map(|()| None)
    };
    match outcome {
        Ok(Some(ops)) if !ops.is_empty() => {
            let patch = serde_json::to_vec(&ops).expect("patch ops serialize");
            response["patchType"] = json!("JSONPatch");
            response["patch"] = json!(base64::engine::general_purpose::STANDARD.encode(patch));
        }
        Ok(_) => {}
        Err(error) => {
            debug!(
                "{path} denied {} {}: {}",
                admission.resource,
                admission.name(),
                error.message
            );
            response["allowed"] = json!(false);
            response["status"] = error.status();
        }
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "response": response})
}

async fn serve_request(
    sim: Arc<Sim>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = request.uri().path().to_string();
    let body = match request.into_body().collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            warn!("reading an admission request: {e}");
            return Ok(Response::builder()
                .status(400)
                .body(Full::new(Bytes::new()))
                .expect("a valid response"));
        }
    };
    if path != MUTATION_PATH && path != VALIDATION_PATH {
        return Ok(Response::builder()
            .status(404)
            .body(Full::new(Bytes::new()))
            .expect("a valid response"));
    }
    let answer = review(&sim, &path, &body).await;
    Ok(Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(&answer).expect("review serializes"),
        )))
        .expect("a valid response"))
}

/// Binds 127.0.0.1 on a random port and serves admission reviews over TLS.
pub(crate) async fn serve(sim: Arc<Sim>, serving: &CertPair) -> Result<SocketAddr, Error> {
    let certs = rustls::pki_types::CertificateDer::pem_slice_iter(serving.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::Startup(format!("webhook certificate: {e}")))?;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_slice(serving.key_pem.as_bytes())
        .map_err(|e| Error::Startup(format!("webhook key: {e}")))?;
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Error::Startup(format!("webhook TLS: {e}")))?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .map_err(|e| Error::Startup(format!("webhook TLS: {e}")))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(crate::plane::io_err("binding the webhook port"))?;
    let address = listener
        .local_addr()
        .map_err(crate::plane::io_err("binding the webhook port"))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let acceptor = acceptor.clone();
            let sim = sim.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let service =
                    hyper::service::service_fn(move |request| serve_request(sim.clone(), request));
                let connection = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), service);
                if let Err(e) = connection.await {
                    debug!("webhook connection: {e}");
                }
            });
        }
    });
    Ok(address)
}

fn rule(resource: &str, operations: &[&str]) -> RuleWithOperations {
    RuleWithOperations {
        api_groups: Some(vec![GROUP.to_string()]),
        api_versions: Some(vec!["v1beta2".to_string()]),
        resources: Some(vec![resource.to_string()]),
        scope: Some("Namespaced".to_string()),
        operations: Some(operations.iter().map(|o| o.to_string()).collect()),
    }
}

/// The resources and operations each webhook admits (simulator-spec.md §1.2).
fn mutating_rules(version: &longhorn::Version) -> Vec<RuleWithOperations> {
    let mut rules = vec![
        rule("systembackups", &["CREATE", "UPDATE"]),
        rule("recurringjobs", &["CREATE", "UPDATE"]),
        rule("backuptargets", &["CREATE", "UPDATE"]),
        rule("snapshots", &["CREATE", "UPDATE"]),
        rule("backups", &["CREATE", "UPDATE"]),
    ];
    if version.at_least(10) {
        rules.push(rule("settings", &["CREATE", "UPDATE"]));
    }
    rules
}

fn validating_rules() -> Vec<RuleWithOperations> {
    vec![
        rule("systembackups", &["CREATE"]),
        rule("systemrestores", &["CREATE"]),
        rule("recurringjobs", &["CREATE", "UPDATE"]),
        rule("backuptargets", &["CREATE", "UPDATE", "DELETE"]),
        rule("settings", &["CREATE", "UPDATE", "DELETE"]),
    ]
}

pub(crate) fn mutating_configuration_name(namespace: &str) -> String {
    format!("{namespace}-longhorn-webhook-mutator")
}

pub(crate) fn validating_configuration_name(namespace: &str) -> String {
    format!("{namespace}-longhorn-webhook-validator")
}

/// Registers both webhooks for the simulator's namespace only.
pub(crate) async fn register(sim: &Sim, address: SocketAddr, ca_pem: &str) -> Result<(), Error> {
    let ca_bundle = k8s_openapi::ByteString(ca_pem.as_bytes().to_vec());
    let client_config = |path: &str| WebhookClientConfig {
        url: Some(format!("https://{address}{path}")),
        ca_bundle: Some(ca_bundle.clone()),
        service: None,
    };
    let namespace_selector = Some(LabelSelector {
        match_labels: Some(
            [(
                "kubernetes.io/metadata.name".to_string(),
                sim.namespace.clone(),
            )]
            .into(),
        ),
        match_expressions: None,
    });
    let mutating = MutatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(mutating_configuration_name(&sim.namespace)),
            ..Default::default()
        },
        webhooks: Some(vec![MutatingWebhook {
            name: "mutator.longhorn.io".into(),
            client_config: client_config(MUTATION_PATH),
            rules: Some(mutating_rules(&sim.version)),
            failure_policy: Some("Fail".into()),
            match_policy: Some("Exact".into()),
            side_effects: "None".into(),
            admission_review_versions: vec!["v1".into()],
            namespace_selector: namespace_selector.clone(),
            ..Default::default()
        }]),
    };
    let validating = ValidatingWebhookConfiguration {
        metadata: ObjectMeta {
            name: Some(validating_configuration_name(&sim.namespace)),
            ..Default::default()
        },
        webhooks: Some(vec![ValidatingWebhook {
            name: "validator.longhorn.io".into(),
            client_config: client_config(VALIDATION_PATH),
            rules: Some(validating_rules()),
            failure_policy: Some("Fail".into()),
            match_policy: Some("Exact".into()),
            side_effects: "None".into(),
            admission_review_versions: vec!["v1".into()],
            namespace_selector,
            ..Default::default()
        }]),
    };
    let kube_error = |e: kube::Error| Error::Kube(format!("registering the webhooks: {e}"));
    Api::<MutatingWebhookConfiguration>::all(sim.client.clone())
        .create(&PostParams::default(), &mutating)
        .await
        .map_err(kube_error)?;
    Api::<ValidatingWebhookConfiguration>::all(sim.client.clone())
        .create(&PostParams::default(), &validating)
        .await
        .map_err(kube_error)?;
    Ok(())
}

/// Removes this simulator's webhook configurations.
pub(crate) async fn unregister(client: &kube::Client, namespace: &str) {
    let _ = Api::<MutatingWebhookConfiguration>::all(client.clone())
        .delete(
            &mutating_configuration_name(namespace),
            &DeleteParams::default(),
        )
        .await;
    let _ = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .delete(
            &validating_configuration_name(namespace),
            &DeleteParams::default(),
        )
        .await;
}

/// Which webhook paths have seen the probe object; see [`PROBE_NAME`].
#[derive(Default)]
pub(crate) struct Probes {
    seen: std::sync::Mutex<(bool, bool)>,
}

impl Probes {
    fn note(&self, path: &str) {
        let mut seen = self.seen.lock().expect("probe lock");
        if path == MUTATION_PATH {
            seen.0 = true;
        } else {
            seen.1 = true;
        }
    }

    pub fn both_seen(&self) -> bool {
        let seen = self.seen.lock().expect("probe lock");
        seen.0 && seen.1
    }
}

/// Go's `url.Parse(u).Scheme`, or its error text (`util.CheckBackupType`).
pub(crate) fn go_url_scheme(url: &str) -> Result<String, String> {
    if url.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(format!(
            "parse {url:?}: net/url: invalid control character in URL"
        ));
    }
    for (i, c) in url.char_indices() {
        match c {
            'a'..='z' | 'A'..='Z' => {}
            '0'..='9' | '+' | '-' | '.' if i > 0 => {}
            ':' if i == 0 => return Err(format!("parse {url:?}: missing protocol scheme")),
            ':' => return Ok(url[..i].to_lowercase()),
            _ => break,
        }
    }
    // No scheme: a colon in the first path segment is an error.
    let first_segment = url.split('/').next().unwrap_or_default();
    if first_segment.contains(':') {
        return Err(format!(
            "parse {url:?}: first path segment in URL cannot contain colon"
        ));
    }
    Ok(String::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_errors_carry_one_cause_without_a_field() {
        let status = AdmitError::invalid("backup target default is not available").status();
        assert_eq!(status["code"], 422);
        assert_eq!(
            status["details"]["causes"][0],
            json!({"type": "FieldValueInvalid", "message": "backup target default is not available"})
        );
        assert!(
            AdmitError::bad_request("x")
                .status()
                .get("details")
                .is_none()
        );
    }

    #[test]
    fn url_schemes_parse_like_go() {
        assert_eq!(go_url_scheme("s3://bucket@us-east-1/").unwrap(), "s3");
        assert_eq!(go_url_scheme("NFS://h:/x").unwrap(), "nfs");
        assert_eq!(go_url_scheme("").unwrap(), "");
        assert_eq!(
            go_url_scheme("://x").unwrap_err(),
            "parse \"://x\": missing protocol scheme"
        );
    }
}
