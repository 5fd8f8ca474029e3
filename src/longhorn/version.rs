//! Longhorn versions as the `current-longhorn-version` Setting spells them (`v1.9.0`).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LonghornVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
}

impl LonghornVersion {
    pub const fn new(major: u32, minor: u32, patch: u32) -> Self {
        LonghornVersion {
            major,
            minor,
            patch,
        }
    }

    /// True from `major.minor` on, whatever the patch.
    pub fn at_least(self, major: u32, minor: u32) -> bool {
        (self.major, self.minor) >= (major, minor)
    }

    pub fn same_minor(self, other: LonghornVersion) -> bool {
        (self.major, self.minor) == (other.major, other.minor)
    }
}

/// A text that is not a Longhorn version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a Longhorn version like v1.9.0")]
pub struct InvalidVersion(pub String);

impl FromStr for LonghornVersion {
    type Err = InvalidVersion;
    /// Accepts `v1.9.0`, `1.9.0`, and pre-release or build suffixes (`v1.10.0-rc1`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let core = text.trim().trim_start_matches('v');
        let core = core.split(['-', '+']).next().unwrap_or_default();
        let mut parts = core.split('.').map(str::parse::<u32>);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(Ok(major)), Some(Ok(minor)), patch) => Ok(LonghornVersion::new(
                major,
                minor,
                patch.and_then(Result::ok).unwrap_or(0),
            )),
            _ => Err(InvalidVersion(text.to_string())),
        }
    }
}

impl fmt::Display for LonghornVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let v: LonghornVersion = "v1.10.0-rc2".parse().unwrap();
        assert_eq!(v, LonghornVersion::new(1, 10, 0));
        assert!(v.at_least(1, 9) && !v.at_least(1, 11));
        assert!("1.8.1".parse::<LonghornVersion>().unwrap() < v);
        assert!("master".parse::<LonghornVersion>().is_err());
        assert_eq!(v.to_string(), "v1.10.0");
    }
}
