//! The local directories behind `nfs://` and `cifs://` backup targets. The ground has no
//! NFS or SMB server: a share is a directory under the environment's `mounts/`, laid out as
//! `<scheme>/<host>/<share>`. The plugin reaches it with `--mount-path`, and the engine
//! stand-in's nfs and cifs drivers (tests/longhorn/engine/drivers.go) use the same layout,
//! so both see one store.

use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Mounts {
    root: PathBuf,
}

impl Mounts {
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
        }
    }

    /// The directory behind `url` (`vfs://` URLs are directories already); `None` for
    /// object stores and unparsable URLs.
    pub fn path(&self, url: &str) -> Option<PathBuf> {
        let (scheme, rest) = url.split_once("://")?;
        let rest = rest.split('?').next().unwrap_or_default();
        match scheme {
            "vfs" => Some(PathBuf::from(rest)),
            "nfs" | "cifs" => {
                let (host, share) = rest.split_once('/').unwrap_or((rest, ""));
                // As tests/longhorn/engine/drivers.go: the host without its trailing ':',
                // with ':' and '/' made '_'.
                let host = host.trim_end_matches(':').replace([':', '/'], "_");
                Some(
                    self.root
                        .join(scheme)
                        .join(host)
                        .join(share.trim_matches('/')),
                )
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_map_like_the_engine_stand_in() {
        let mounts = Mounts::new(Path::new("/m"));
        assert_eq!(
            mounts.path("nfs://127.0.0.1:/exports/lh-1/"),
            Some(PathBuf::from("/m/nfs/127.0.0.1/exports/lh-1"))
        );
        assert_eq!(
            mounts.path("cifs://server/share?x=1"),
            Some(PathBuf::from("/m/cifs/server/share"))
        );
        assert_eq!(mounts.path("vfs:///tmp/x"), Some(PathBuf::from("/tmp/x")));
        assert_eq!(mounts.path("s3://bucket@us-east-1/"), None);
    }
}
