//! The Longhorn install a command works on, resolved once at the command's start: the
//! client, the namespace (`-n`, or found from the cluster), and the facts the command
//! says it needs ([`Reads`]: the version, BackupTarget `default`, Settings), read
//! concurrently. Domain functions take this handle and never look at flags.

use kube::api::PostParams;
use serde_json::{Value, json};
use tokio::sync::OnceCell;

use super::error::{Error, Result};
use super::resources::{
    BACKUP_TARGET, DEFAULT_BACKUP_TARGET, DEFAULT_NAMESPACE, GROUP, LonghornKind, SETTING,
    SETTING_CURRENT_VERSION, self_subject_access_reviews,
};
use super::target_state::BackupTarget;
use super::version::LonghornVersion;
use crate::kube::{Collection, Kube, Selector};

/// What a command reads about the install before it acts.
#[derive(Debug, Clone, Copy, Default)]
pub struct Reads {
    /// The Longhorn version (Setting `current-longhorn-version`).
    pub version: bool,
    /// BackupTarget `default`.
    pub backup_target: bool,
    /// Settings by name.
    pub settings: &'static [&'static str],
}

/// The version as Longhorn's Setting holds it: parsed, and the text Longhorn wrote
/// (`v1.10.0-rc1`), which is what it records as its version (`meta.Version`).
#[derive(Debug, Clone)]
pub struct InstalledVersion {
    pub version: LonghornVersion,
    pub text: String,
}

/// The handle: one per command.
pub struct Longhorn {
    kube: Kube,
    namespace: String,
    version: OnceCell<InstalledVersion>,
    backup_target: OnceCell<Option<BackupTarget>>,
    settings: std::sync::Mutex<Vec<(String, Option<String>)>>,
}

impl Longhorn {
    /// Resolves the namespace (`namespace`, else the one Longhorn is installed in), then
    /// reads what `reads` names, concurrently. Errors come in a fixed order whatever
    /// finishes first: the version's, then the backup target's, then the settings'.
    pub async fn open(kube: Kube, namespace: Option<String>, reads: Reads) -> Result<Self> {
        let namespace = match namespace {
            Some(namespace) => namespace,
            None => find_namespace(&kube).await?,
        };
        let longhorn = Longhorn {
            kube,
            namespace,
            version: OnceCell::new(),
            backup_target: OnceCell::new(),
            settings: std::sync::Mutex::new(Vec::new()),
        };
        let settings = futures::future::join_all(
            reads
                .settings
                .iter()
                .map(|name| read_setting(&longhorn.kube, &longhorn.namespace, name)),
        );
        let (version, target, settings) = tokio::join!(
            async {
                match reads.version {
                    true => longhorn.version().await.map(drop),
                    false => Ok(()),
                }
            },
            async {
                match reads.backup_target {
                    true => longhorn.backup_target().await.map(drop),
                    false => Ok(()),
                }
            },
            settings,
        );
        version?;
        target?;
        let mut known = Vec::new();
        for (name, value) in reads.settings.iter().zip(settings) {
            known.push((name.to_string(), value?));
        }
        *longhorn.lock_settings() = known;
        Ok(longhorn)
    }

    pub fn kube(&self) -> &Kube {
        &self.kube
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The Longhorn version; read at [`Longhorn::open`] when asked for, else now.
    pub async fn version(&self) -> Result<LonghornVersion> {
        self.installed_version().await.map(|v| v.version)
    }

    /// [`Longhorn::version`] with the Setting's text.
    pub async fn installed_version(&self) -> Result<&InstalledVersion> {
        self.version
            .get_or_try_init(|| read_version(&self.kube, &self.namespace))
            .await
    }

    /// BackupTarget `default`, `None` when it does not exist.
    pub async fn backup_target(&self) -> Result<Option<&BackupTarget>> {
        self.backup_target
            .get_or_try_init(|| async {
                let object = self
                    .kube
                    .get_opt(&BACKUP_TARGET.object(&self.namespace, DEFAULT_BACKUP_TARGET))
                    .await?;
                Ok::<_, Error>(object.map(BackupTarget::from_object))
            })
            .await
            .map(Option::as_ref)
    }

    /// A Setting's value, `None` when the Setting does not exist; read at
    /// [`Longhorn::open`] when asked for, else now.
    pub async fn setting(&self, name: &str) -> Result<Option<String>> {
        if let Some((_, value)) = self.lock_settings().iter().find(|(n, _)| n == name) {
            return Ok(value.clone());
        }
        let value = read_setting(&self.kube, &self.namespace, name).await?;
        self.lock_settings().push((name.to_string(), value.clone()));
        Ok(value)
    }

    /// Asks the API server whether the current user may `verb` objects of `kind` here
    /// (SelfSubjectAccessReview), so a refusal comes before any write.
    pub async fn check_access(&self, verb: &'static str, kind: LonghornKind) -> Result<()> {
        let review = json!({
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": {
                "namespace": self.namespace, "verb": verb, "group": GROUP, "resource": kind.plural,
            }}
        });
        let reviews = Collection::new(self_subject_access_reviews(), None);
        let answer = self
            .kube
            .create(&reviews, &review, &PostParams::default())
            .await?;
        if answer.pointer("/status/allowed").and_then(Value::as_bool) == Some(true) {
            return Ok(());
        }
        Err(Error::NotAllowed {
            verb,
            plural: kind.plural,
            namespace: self.namespace.clone(),
        })
    }

    fn lock_settings(&self) -> std::sync::MutexGuard<'_, Vec<(String, Option<String>)>> {
        self.settings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// `-n` was not given: Longhorn's namespace is `longhorn-system` unless the cluster
/// shows it elsewhere. Found by the `current-longhorn-version` Setting, which every
/// install has (docs/longhorn-behaviour.md, "Finding the install").
pub async fn find_namespace(kube: &Kube) -> Result<String> {
    match kube
        .get(&SETTING.object(DEFAULT_NAMESPACE, SETTING_CURRENT_VERSION))
        .await
    {
        Ok(_) => return Ok(DEFAULT_NAMESPACE.to_string()),
        Err(e) if e.is_missing_resource_type() => return Err(not_installed(SETTING)),
        // Not allowed to look: assume the default and let the real request speak.
        Err(e) if e.is_forbidden() => return Ok(DEFAULT_NAMESPACE.to_string()),
        Err(e) if e.is_not_found() => {}
        Err(e) => return Err(e.into()),
    }
    let everywhere = Collection::new(SETTING.api_resource(), None);
    let selector = Selector::fields(format!("metadata.name={SETTING_CURRENT_VERSION}"));
    let found = match kube.list_items(&everywhere, selector).await {
        Ok(items) => items,
        Err(e) if e.is_forbidden() => return Err(Error::NotInDefaultNamespace(e)),
        Err(e) => return Err(e.into()),
    };
    let mut namespaces: Vec<String> = found
        .iter()
        .map(|s| crate::kube::object::namespace(s).to_string())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    match namespaces.as_slice() {
        [] => Err(Error::NowhereInstalled),
        [one] => Ok(one.clone()),
        _ => Err(Error::SeveralInstalls(namespaces)),
    }
}

/// Longhorn, with the CRD of `kind`, is not installed.
pub fn not_installed(kind: LonghornKind) -> Error {
    Error::NotInstalled {
        crd: kind.crd_name(),
    }
}

/// For `map_err`: a 404 for the whole resource type means the CRD, so Longhorn, is
/// missing; say that instead of the server's generic text.
pub fn explain_missing(kind: LonghornKind) -> impl Fn(crate::kube::Error) -> Error {
    move |error| {
        if error.is_missing_resource_type() {
            not_installed(kind)
        } else {
            error.into()
        }
    }
}

async fn read_version(kube: &Kube, namespace: &str) -> Result<InstalledVersion> {
    let object = match kube
        .get(&SETTING.object(namespace, SETTING_CURRENT_VERSION))
        .await
    {
        Ok(object) => object,
        Err(e) if e.is_missing_resource_type() => return Err(not_installed(SETTING)),
        Err(e) if e.is_not_found() => return Err(Error::NotInNamespace(namespace.to_string())),
        Err(e) => return Err(e.into()),
    };
    let text = object
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let version = text.parse().map_err(|source| Error::UnreadableVersion {
        namespace: namespace.to_string(),
        source,
    })?;
    Ok(InstalledVersion {
        version,
        text: text.trim().to_string(),
    })
}

async fn read_setting(kube: &Kube, namespace: &str, name: &str) -> Result<Option<String>> {
    let object = kube.get_opt(&SETTING.object(namespace, name)).await?;
    Ok(object.and_then(|o| o.get("value").and_then(Value::as_str).map(str::to_string)))
}
