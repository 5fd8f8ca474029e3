//! Kubernetes' object name rule, checked before anything is sent.

/// A name Kubernetes would refuse for an object of `kind`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid {kind} name {name:?}: use lower case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253 characters), e.g. nightly-2026-11-27"
)]
pub struct InvalidName {
    pub kind: &'static str,
    pub name: String,
}

/// Kubernetes object names (DNS-1123 subdomain): lower case letters, digits, `-` and
/// `.`, starting and ending with a letter or digit, at most 253 characters.
pub fn check_object_name(kind: &'static str, name: &str) -> Result<(), InvalidName> {
    let valid = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if valid {
        Ok(())
    } else {
        Err(InvalidName {
            kind,
            name: name.to_string(),
        })
    }
}

/// [`check_object_name`] for each of `names`.
pub fn check_object_names(kind: &'static str, names: &[String]) -> Result<(), InvalidName> {
    names
        .iter()
        .try_for_each(|name| check_object_name(kind, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_1123_subdomains() {
        for ok in ["a", "demo", "nightly-1", "a.b-c", "0x"] {
            assert!(check_object_name("SystemBackup", ok).is_ok(), "{ok}");
        }
        for bad in ["", "Demo", "-a", "a-", "a_b", "a b", ".a", &"a".repeat(254)] {
            let err = check_object_name("SystemBackup", bad)
                .unwrap_err()
                .to_string();
            assert!(err.contains("lower case letters"), "{bad}: {err}");
        }
    }
}
