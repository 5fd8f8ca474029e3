//! `system-backup.cfg`: backupstore's `systembackup.Config`, encoded by Go's
//! `encoding/json` without tags, so the keys are the Go field names, compact, no
//! trailing newline (docs/longhorn-behaviour.md, "The store"). This is Longhorn's own file
//! format, not a cluster object, so a struct with exactly its eight fields is right.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SystemBackupConfig {
    pub name: String,
    pub longhorn_version: String,
    pub longhorn_git_commit: String,
    #[serde(rename = "BackupTargetURL")]
    pub backup_target_url: String,
    pub manager_image: String,
    pub engine_image: String,
    /// Go's `time.Time` JSON: RFC 3339 with nanoseconds (trailing zeros trimmed), UTC.
    pub created_at: String,
    /// SHA-256 of the zip, lower-case hex (despite the "sha512" names in Longhorn's code).
    pub checksum: String,
}

impl SystemBackupConfig {
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(Error::CfgEncode)
    }

    pub fn from_json(text: &[u8]) -> Result<Self> {
        serde_json::from_slice(text).map_err(Error::CfgInvalid)
    }
}

/// Formats a time the way Go's `time.Time.MarshalJSON` does for a UTC time:
/// RFC 3339 with up to nine fraction digits, trailing zeros removed.
pub fn go_time(timestamp: Timestamp) -> String {
    let text = timestamp.strftime("%Y-%m-%dT%H:%M:%S.%f").to_string();
    let (seconds, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        format!("{seconds}Z")
    } else {
        format!("{seconds}.{fraction}Z")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_go_field_names_in_go_order() {
        let config = SystemBackupConfig {
            name: "demo".into(),
            longhorn_version: "v1.9.0".into(),
            longhorn_git_commit: "abc".into(),
            backup_target_url: "s3://b@r/".into(),
            manager_image: "longhornio/longhorn-manager:v1.9.0".into(),
            engine_image: "longhornio/longhorn-engine:v1.9.0".into(),
            created_at: "2025-01-01T00:00:00.123456789Z".into(),
            checksum: "00".into(),
        };
        assert_eq!(
            config.to_json().unwrap(),
            r#"{"Name":"demo","LonghornVersion":"v1.9.0","LonghornGitCommit":"abc","BackupTargetURL":"s3://b@r/","ManagerImage":"longhornio/longhorn-manager:v1.9.0","EngineImage":"longhornio/longhorn-engine:v1.9.0","CreatedAt":"2025-01-01T00:00:00.123456789Z","Checksum":"00"}"#
        );
        assert_eq!(
            SystemBackupConfig::from_json(config.to_json().unwrap().as_bytes()).unwrap(),
            config
        );
    }

    #[test]
    fn go_time_trims_fraction_zeros() {
        assert_eq!(
            go_time("2025-01-01T00:00:00.120Z".parse().unwrap()),
            "2025-01-01T00:00:00.12Z"
        );
        assert_eq!(
            go_time("2025-01-01T00:00:00Z".parse().unwrap()),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            go_time("2025-01-01T00:00:00.000000001Z".parse().unwrap()),
            "2025-01-01T00:00:00.000000001Z"
        );
    }
}
