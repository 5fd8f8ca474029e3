//! Backup target URLs as Longhorn writes them (docs/longhorn-behaviour.md, "Backup
//! target URLs"):
//! `s3://bucket@region/path/`, `azblob://container@suffix/path/`, `nfs://server:/export/`,
//! `cifs://server/share/`, `vfs:///abs/dir`. Parsed by hand rather than with a URL
//! library because Longhorn's URLs are not all valid WHATWG URLs (`nfs://host:/x` has
//! an empty port) and the exact text matters: it goes into `system-backup.cfg`.

/// A backup target URL Longhorn would not take.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid backup target URL {text:?}: {why}")]
pub struct InvalidTargetUrl {
    pub text: String,
    pub why: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl {
    pub scheme: String,
    /// Text before `@` in the authority: the S3 bucket or Azure container.
    pub user: Option<String>,
    /// Authority after `@`: region, endpoint suffix, or NFS/CIFS server.
    pub host: String,
    /// Path, cleaned like Go's `filepath.Clean` without a trailing slash; "" for root.
    pub path: String,
    pub query: Option<String>,
}

impl TargetUrl {
    pub fn parse(text: &str) -> Result<Self, InvalidTargetUrl> {
        let invalid = |why| InvalidTargetUrl {
            text: text.to_string(),
            why,
        };
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| invalid("expected scheme://…"))?;
        if scheme.is_empty() {
            return Err(invalid("the scheme is missing"));
        }
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_string())),
            None => (rest, None),
        };
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (user, host) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (None, authority.to_string()),
        };
        Ok(TargetUrl {
            scheme: scheme.to_string(),
            user,
            host,
            path: clean_path(path),
            query,
        })
    }

    /// The key prefix inside the bucket/container/share: the path without its
    /// leading slash ("" at the root).
    pub fn key_prefix(&self) -> &str {
        self.path.trim_start_matches('/')
    }

    /// The backup target string Longhorn stores in `system-backup.cfg`: what
    /// backupstore's `ParseSystemBackupURL` returns for this target, i.e. the URL
    /// with a cleaned path, plus a trailing `/` when the text contains `@`
    /// (docs/longhorn-behaviour.md, "The store").
    pub fn cfg_target_url(&self) -> String {
        let mut text = self.with_path(&self.path);
        if text.contains('@') {
            text.push('/');
        }
        text
    }

    /// The URL of system backup `name` of Longhorn `version` in this target, as
    /// backupstore's `GetSystemBackupURL` joins it (the query stays at the end).
    pub fn system_backup_url(&self, version: &str, name: &str) -> String {
        self.with_path(&format!(
            "{}/{}",
            self.path,
            system_backup_dir("", version, name)
        ))
    }

    /// `scheme://[user@]host<path>[?query]`.
    fn with_path(&self, path: &str) -> String {
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        let query = self
            .query
            .as_ref()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        format!("{}://{user}{}{path}{query}", self.scheme, self.host)
    }

    /// The text users see: the URL with the cleaned path.
    pub fn display(&self) -> String {
        self.cfg_target_url()
    }
}

/// Go's `path.Clean` for absolute paths, without the trailing slash; "" for root.
fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!("/{}", parts.join("/"))
    }
}

/// Where a system backup lives under the target (docs/longhorn-behaviour.md, "The
/// store").
pub fn system_backup_dir(prefix: &str, version: &str, name: &str) -> String {
    let base = format!("{SYSTEM_BACKUPS_DIR}/{version}/{name}");
    if prefix.is_empty() {
        base
    } else {
        format!("{prefix}/{base}")
    }
}

/// The folder of every system backup in a target, by Longhorn version then name.
pub const SYSTEM_BACKUPS_DIR: &str = "backupstore/system-backups";
pub const ZIP_FILE: &str = "system-backup.zip";
pub const CONFIG_FILE: &str = "system-backup.cfg";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_scheme() {
        let s3 = TargetUrl::parse("s3://backups@us-east-1/cluster-a/").unwrap();
        assert_eq!(
            (s3.user.as_deref(), s3.host.as_str(), s3.key_prefix()),
            (Some("backups"), "us-east-1", "cluster-a")
        );
        let nfs = TargetUrl::parse("nfs://nfs.example:/exports/longhorn").unwrap();
        assert_eq!(
            (nfs.user, nfs.host.as_str(), nfs.path.as_str()),
            (None, "nfs.example:", "/exports/longhorn")
        );
        let az = TargetUrl::parse("azblob://c@core.windows.net/").unwrap();
        assert_eq!((az.user.as_deref(), az.key_prefix()), (Some("c"), ""));
        assert!(TargetUrl::parse("backups").is_err());
    }

    /// Cases worked through backupstore's GetSystemBackupURL + ParseSystemBackupURL.
    #[test]
    fn cfg_target_url_matches_longhorn() {
        let cases = [
            ("s3://backups@us-east-1/", "s3://backups@us-east-1/"),
            ("s3://backups@us-east-1", "s3://backups@us-east-1/"),
            (
                "s3://backups@us-east-1/path/",
                "s3://backups@us-east-1/path/",
            ),
            (
                "s3://backups@us-east-1//a//b/",
                "s3://backups@us-east-1/a/b/",
            ),
            (
                "azblob://c@core.windows.net/",
                "azblob://c@core.windows.net/",
            ),
            (
                "nfs://nfs.example:/exports/longhorn/",
                "nfs://nfs.example:/exports/longhorn",
            ),
            ("cifs://server/share", "cifs://server/share"),
            ("vfs:///var/backups", "vfs:///var/backups"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                TargetUrl::parse(input).unwrap().cfg_target_url(),
                expected,
                "{input}"
            );
        }
    }

    #[test]
    fn system_backup_urls_keep_the_query_last() {
        let url = |text: &str| {
            TargetUrl::parse(text)
                .unwrap()
                .system_backup_url("v1.9.0", "demo")
        };
        assert_eq!(
            url("s3://backups@us-east-1/cluster-a/"),
            "s3://backups@us-east-1/cluster-a/backupstore/system-backups/v1.9.0/demo"
        );
        assert_eq!(
            url("nfs://10.0.0.1:/exports/lh?nfsOptions=soft"),
            "nfs://10.0.0.1:/exports/lh/backupstore/system-backups/v1.9.0/demo?nfsOptions=soft"
        );
        assert_eq!(
            url("azblob://c@core.windows.net/"),
            "azblob://c@core.windows.net/backupstore/system-backups/v1.9.0/demo"
        );
    }

    #[test]
    fn system_backup_dirs() {
        assert_eq!(
            system_backup_dir("", "v1.9.0", "x"),
            "backupstore/system-backups/v1.9.0/x"
        );
        assert_eq!(
            system_backup_dir("a/b", "v1.9.0", "x"),
            "a/b/backupstore/system-backups/v1.9.0/x"
        );
    }
}
