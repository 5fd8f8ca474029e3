//! BackupTarget `default` as the plugin reads it: its URL, credential secret and
//! whether Longhorn can reach it. Plain data, read once by the install handle
//! (`super::install`); what is done with it is in `super::backup_target`.

use serde_json::Value;

use crate::kube::object;

/// What the plugin reads of BackupTarget `default`.
#[derive(Debug, Clone)]
pub struct BackupTarget {
    pub url: String,
    pub credential_secret: Option<String>,
    pub available: bool,
    pub unavailable_reason: Option<String>,
}

impl BackupTarget {
    pub fn from_object(object: Value) -> Self {
        let text = |p: &str| object::str_at(&object, p).map(str::to_string);
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
        }
    }

    /// `s3`, `nfs`, `cifs`, `azblob`, … (the URL scheme).
    pub fn scheme(&self) -> &str {
        self.url.split("://").next().unwrap_or_default()
    }
}

/// Whether a backup target of `scheme` needs a credential secret (Longhorn refuses
/// these without one).
pub fn needs_credentials(scheme: &str) -> bool {
    matches!(scheme, "s3" | "cifs" | "azblob")
}
