//! Every secret the ground makes (bearer tokens, private keys, store credentials),
//! remembered so that tests can prove no run of the plugin ever prints one
//! (tests/e2e/harness.rs checks each run's output against this list).

use std::sync::Mutex;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Remembers `secret`; for a PEM private key, its body lines (any one would leak it).
pub fn remember(secret: &str) {
    let mut all = SECRETS.lock().expect("secrets lock");
    if secret.contains("-----BEGIN") {
        all.extend(
            secret
                .lines()
                .filter(|l| !l.starts_with("-----") && l.len() >= 16)
                .map(str::to_string),
        );
    } else if secret.len() >= 8 {
        all.push(secret.to_string());
    }
}

/// The secrets made so far in this process.
pub fn all() -> Vec<String> {
    SECRETS.lock().expect("secrets lock").clone()
}

/// The first secret `text` contains, if any.
pub fn leaked_in(text: &str) -> Option<String> {
    all().into_iter().find(|s| text.contains(s.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_tokens_and_key_lines_but_not_headers() {
        remember("3f1c9a7e5b2d4c6e8f0a1b2c3d4e5f60");
        remember(
            "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n",
        );
        assert!(leaked_in("token: 3f1c9a7e5b2d4c6e8f0a1b2c3d4e5f60").is_some());
        assert!(leaked_in("x MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg y").is_some());
        assert!(leaked_in("-----BEGIN PRIVATE KEY-----").is_none());
        remember("short");
        assert!(
            leaked_in("a short text").is_none(),
            "too short to be told apart"
        );
    }
}
