//! The backup target's credential Secret, read the way Longhorn reads it
//! (docs/longhorn-behaviour.md, "The store"). Values never reach `Debug`, logs or messages:
//! errors name keys only.

use std::collections::BTreeMap;
use std::fmt;

use base64::Engine;
use serde_json::Value;

use super::error::{Error, Result};
use crate::kube::Collection;
use crate::longhorn::Longhorn;
use crate::longhorn::resources;

#[derive(Clone, Default)]
pub struct Credentials {
    secret: Option<String>,
    values: BTreeMap<String, String>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Keys only: the values are secrets.
        f.debug_struct("Credentials")
            .field("secret", &self.secret)
            .field("keys", &self.values.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Credentials {
    #[cfg(test)]
    pub fn from_map(secret: Option<String>, values: BTreeMap<String, String>) -> Self {
        Credentials { secret, values }
    }

    /// Reads `Secret/<name>` in the Longhorn namespace.
    pub async fn read(longhorn: &Longhorn, name: &str) -> Result<Self> {
        let namespace = longhorn.namespace();
        let secret = longhorn
            .kube()
            .get_opt(&Collection::new(resources::secrets(), Some(namespace)).object(name))
            .await
            .map_err(|source| match source.is_forbidden() {
                true => Error::SecretForbidden {
                    name: name.to_string(),
                    namespace: namespace.to_string(),
                    source,
                },
                false => source.into(),
            })?
            .ok_or_else(|| Error::SecretMissing {
                name: name.to_string(),
                namespace: namespace.to_string(),
            })?;
        let mut values = BTreeMap::new();
        if let Some(data) = secret.get("data").and_then(Value::as_object) {
            for (key, encoded) in data {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(encoded.as_str().unwrap_or_default())
                    .map_err(|source| Error::SecretNotBase64 {
                        key: key.clone(),
                        name: name.to_string(),
                        source,
                    })?;
                values.insert(key.clone(), String::from_utf8_lossy(&bytes).into_owned());
            }
        }
        if let Some(data) = secret.get("stringData").and_then(Value::as_object) {
            for (key, text) in data {
                values.insert(key.clone(), text.as_str().unwrap_or_default().to_string());
            }
        }
        Ok(Credentials {
            secret: Some(name.to_string()),
            values,
        })
    }

    /// A value, trimmed of surrounding whitespace, or `None` when absent or empty.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.values
            .get(key)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// A required value; the error names the key and the secret, never a value.
    pub fn require(&self, key: &str, scheme: &str) -> Result<&str> {
        self.get(key).ok_or_else(|| Error::SecretKeyMissing {
            secret: self.secret.as_deref().unwrap_or("(none)").to_string(),
            key: key.to_string(),
            scheme: scheme.to_string(),
        })
    }

    pub fn flag(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| v.eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_values() {
        let mut values = BTreeMap::new();
        values.insert(
            "AWS_SECRET_ACCESS_KEY".to_string(),
            "very-secret-value".to_string(),
        );
        let credentials = Credentials::from_map(Some("s3-secret".into()), values);
        let text = format!("{credentials:?}");
        assert!(text.contains("AWS_SECRET_ACCESS_KEY") && !text.contains("very-secret-value"));
        let error = credentials
            .require("AWS_ACCESS_KEY_ID", "s3")
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("AWS_ACCESS_KEY_ID")
                && error.contains("s3-secret")
                && !error.contains("very-secret")
        );
    }
}
