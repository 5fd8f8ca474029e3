//! Finding a Longhorn install and checking it is ready for a system backup, before
//! anything is written: the CRDs exist, the version is known, the backup target is
//! set and available the way that version defines it, and RBAC allows the write.

use kube::api::PostParams;
use serde_json::{Value, json};

use super::LonghornVersion;
use super::resources::{
    self, BACKUP_TARGET, DEFAULT_BACKUP_TARGET, DEFAULT_NAMESPACE, LonghornKind, SETTING,
    SETTING_CURRENT_VERSION,
};
use crate::api;
use crate::error::{Error, Result};
use crate::session::Session;

/// `-n` was not given: Longhorn's namespace is `longhorn-system` unless the cluster
/// shows it elsewhere. Found by the `current-longhorn-version` Setting, which every
/// install has (longhorn-system-backup.md §10.3).
pub async fn find_namespace(session: &Session) -> Result<String> {
    let setting = SETTING.api_resource();
    match api::get(
        session,
        &setting,
        Some(DEFAULT_NAMESPACE),
        SETTING_CURRENT_VERSION,
    )
    .await
    {
        Ok(_) => return Ok(DEFAULT_NAMESPACE.to_string()),
        Err(e) if api::is_missing_resource_type(&e) => {
            return Err(not_installed(SETTING.crd_name()));
        }
        // Not allowed to look: assume the default and let the real request speak.
        Err(e) if e.status_code() == Some(403) => return Ok(DEFAULT_NAMESPACE.to_string()),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e),
    }
    let selector = api::Selector {
        fields: Some(format!("metadata.name={SETTING_CURRENT_VERSION}")),
        ..Default::default()
    };
    let found = match api::list_items(session, &setting, None, selector).await {
        Ok(items) => items,
        Err(e) if e.status_code() == Some(403) => {
            return Err(Error::invalid(format!(
                "Longhorn is not installed in {DEFAULT_NAMESPACE} and you may not search other namespaces; pass -n NAMESPACE"
            )));
        }
        Err(e) => return Err(e),
    };
    let mut namespaces: Vec<String> = found
        .iter()
        .map(|s| super::systembackup::namespace(s).to_string())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    match namespaces.as_slice() {
        [] => Err(Error::invalid(format!(
            "Longhorn is not installed in {DEFAULT_NAMESPACE} or any other namespace (no Setting {SETTING_CURRENT_VERSION}); install Longhorn, or pass -n NAMESPACE"
        ))),
        [one] => Ok(one.clone()),
        many => Err(Error::invalid(format!(
            "Longhorn is installed in several namespaces ({}); choose one with -n NAMESPACE",
            many.join(", ")
        ))),
    }
}

pub fn not_installed(crd: String) -> Error {
    Error::NotInstalled { crd }
}

/// For `map_err`: a 404 for the whole resource type means the CRD, so Longhorn, is
/// missing; say that instead of the server's generic text.
pub fn explain_missing(kind: LonghornKind) -> impl Fn(Error) -> Error {
    move |error| {
        if api::is_missing_resource_type(&error) {
            not_installed(kind.crd_name())
        } else {
            error
        }
    }
}

/// The Longhorn version of the install in `namespace` (Setting
/// `current-longhorn-version`).
pub async fn version(session: &Session, namespace: &str) -> Result<LonghornVersion> {
    version_with_text(session, namespace).await.map(|(v, _)| v)
}

/// [`version`] and the Setting's text as Longhorn wrote it (`v1.10.0-rc1`), which is
/// what Longhorn records as its version (`meta.Version`).
pub async fn version_with_text(
    session: &Session,
    namespace: &str,
) -> Result<(LonghornVersion, String)> {
    let setting = SETTING.api_resource();
    let object = match api::get(session, &setting, Some(namespace), SETTING_CURRENT_VERSION).await {
        Ok(object) => object,
        Err(e) if api::is_missing_resource_type(&e) => {
            return Err(not_installed(SETTING.crd_name()));
        }
        Err(e) if e.is_not_found() => {
            return Err(Error::invalid(format!(
                "Longhorn is not installed in namespace {namespace} (no Setting {SETTING_CURRENT_VERSION}); pass the namespace Longhorn runs in with -n"
            )));
        }
        Err(e) => return Err(e),
    };
    let text = object
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = text.parse().map_err(|e| {
        Error::invalid(format!(
            "Setting {SETTING_CURRENT_VERSION} in {namespace} holds an unexpected value: {e}"
        ))
    })?;
    Ok((version, text.trim().to_string()))
}

/// A Setting's value, or `None` when the Setting does not exist.
pub async fn setting(session: &Session, namespace: &str, name: &str) -> Result<Option<String>> {
    let object = api::get_opt(session, &SETTING.api_resource(), Some(namespace), name).await?;
    Ok(object.and_then(|o| o.get("value").and_then(Value::as_str).map(str::to_string)))
}

/// The backup target system backups go to: BackupTarget `default`.
#[derive(Debug, Clone)]
pub struct BackupTarget {
    pub url: String,
    pub credential_secret: Option<String>,
    pub available: bool,
    pub unavailable_reason: Option<String>,
    pub last_synced_at: Option<String>,
    pub object: Value,
}

impl BackupTarget {
    fn from_object(object: Value) -> Self {
        let text = |p: &str| {
            object
                .pointer(p)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let unavailable_reason = object
            .pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| {
                cs.iter().find(|c| {
                    c.get("type").and_then(Value::as_str) == Some("Unavailable")
                        && c.get("status").and_then(Value::as_str) == Some("True")
                })
            })
            .and_then(|c| c.get("message").and_then(Value::as_str))
            .filter(|m| !m.is_empty())
            .map(str::to_string);
        BackupTarget {
            url: text("/spec/backupTargetURL").unwrap_or_default(),
            credential_secret: text("/spec/credentialSecret"),
            available: object
                .pointer("/status/available")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            unavailable_reason,
            last_synced_at: text("/status/lastSyncedAt"),
            object,
        }
    }

    /// `s3`, `nfs`, `cifs`, `azblob`, … (the URL scheme).
    pub fn scheme(&self) -> &str {
        self.url.split("://").next().unwrap_or_default()
    }
}

pub async fn backup_target(session: &Session, namespace: &str) -> Result<Option<BackupTarget>> {
    let object = api::get_opt(
        session,
        &BACKUP_TARGET.api_resource(),
        Some(namespace),
        DEFAULT_BACKUP_TARGET,
    )
    .await?;
    Ok(object.map(BackupTarget::from_object))
}

/// How to set the backup target, for error messages (longhorn-system-backup.md §2.3:
/// a Setting up to v1.7, the BackupTarget CR from v1.8).
fn how_to_set_target(namespace: &str, version: LonghornVersion) -> String {
    if version.at_least(1, 8) {
        format!(
            "set it in the Longhorn UI (Settings > Backup Target) or with: kubectl -n {namespace} patch backuptargets.longhorn.io default --type merge -p '{{\"spec\":{{\"backupTargetURL\":\"s3://BUCKET@REGION/\",\"credentialSecret\":\"SECRET\"}}}}'"
        )
    } else {
        format!(
            "set it in the Longhorn UI (Settings > Backup Target) or with: kubectl -n {namespace} patch settings.longhorn.io backup-target --type merge -p '{{\"value\":\"s3://BUCKET@REGION/\"}}'"
        )
    }
}

/// Refuses, with the fix, when Longhorn would reject or fail a system backup because
/// of its backup target (longhorn-system-backup.md §2.3).
pub async fn check_backup_target(
    session: &Session,
    namespace: &str,
    version: LonghornVersion,
) -> Result<BackupTarget> {
    if !version.at_least(1, 8) {
        let url = setting(session, namespace, "backup-target")
            .await?
            .unwrap_or_default();
        if url.is_empty() {
            return Err(Error::invalid(format!(
                "the backup target is not set (Setting backup-target is empty); {}",
                how_to_set_target(namespace, version)
            )));
        }
    }
    let Some(target) = backup_target(session, namespace).await? else {
        return Err(Error::invalid(format!(
            "BackupTarget \"default\" does not exist in {namespace}: longhorn-manager creates it at start-up, so check that Longhorn is running there, then set the backup target in the Longhorn UI (Settings > Backup Target)"
        )));
    };
    if target.url.is_empty() {
        return Err(Error::invalid(format!(
            "the backup target is not set (BackupTarget \"default\" has no URL); {}",
            how_to_set_target(namespace, version)
        )));
    }
    if matches!(target.scheme(), "s3" | "cifs" | "azblob") && target.credential_secret.is_none() {
        return Err(Error::invalid(format!(
            "backup target {} needs a credential secret (Longhorn: cannot access {} without credential secret); set spec.credentialSecret of BackupTarget \"default\" in {namespace}",
            target.url,
            target.scheme()
        )));
    }
    if !target.available {
        let reason = target
            .unavailable_reason
            .as_deref()
            .unwrap_or("Longhorn has not reached it yet");
        return Err(Error::invalid(format!(
            "backup target default ({}) is not available: {reason}; check its URL and credentials (kubectl -n {namespace} get backuptargets.longhorn.io default -o yaml)",
            target.url
        )));
    }
    Ok(target)
}

/// Asks the API server whether the current user may `verb` the resource
/// (SelfSubjectAccessReview), so a refusal comes before any write.
pub async fn check_access(
    session: &Session,
    namespace: &str,
    verb: &str,
    plural: &str,
) -> Result<()> {
    let review = json!({
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": namespace, "verb": verb, "group": resources::GROUP, "resource": plural}}
    });
    let reviews = resources::builtin(
        "authorization.k8s.io",
        "v1",
        "SelfSubjectAccessReview",
        "selfsubjectaccessreviews",
    );
    let answer = api::create(session, &reviews, None, &review, &PostParams::default()).await?;
    if answer.pointer("/status/allowed").and_then(Value::as_bool) == Some(true) {
        return Ok(());
    }
    Err(Error::Forbidden(format!(
        "you are not allowed to {verb} {plural}.{group} in namespace {namespace}; ask a cluster admin for a Role that grants it (e.g. kubectl create role longhorn-systembackup --verb={verb} --resource={plural}.{group} -n {namespace})",
        group = resources::GROUP
    )))
}
