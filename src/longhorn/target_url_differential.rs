//! Backup target URLs against backupstore itself (`GetSystemBackupURL`, then
//! `ParseSystemBackupURL`, as Longhorn builds and reads them), for generated URLs
//! ([`crate::go::oracle`]).

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

use crate::go::oracle;
use crate::longhorn::target_url::TargetUrl;

fn target() -> impl Strategy<Value = String> {
    let scheme = prop_oneof![Just("s3"), Just("azblob"), Just("nfs"), Just("cifs")];
    let user = prop_oneof![
        2 => Just(String::new()),
        3 => "[a-z0-9][a-z0-9.-]{0,10}@",
    ];
    // Always a host: net/url writes a URL without one differently (`nfs:` for
    // `nfs:///`), and no backup target Longhorn can use lacks one.
    let host = prop_oneof![
        Just("us-east-1".to_string()),
        Just("core.windows.net".to_string()),
        "[a-z0-9][a-z0-9.-]{0,11}(:[0-9]{0,4})?",
    ];
    let segment = prop_oneof![
        3 => "[a-z0-9_-]{1,8}",
        1 => Just(String::new()),
        1 => Just(".".to_string()),
        1 => Just("..".to_string()),
    ];
    let path = vec(segment, 0..5).prop_map(|s| {
        if s.is_empty() {
            String::new()
        } else {
            format!("/{}", s.join("/"))
        }
    });
    let trailing = prop_oneof![Just(""), Just("/")];
    let query = prop_oneof![3 => Just(String::new()), 1 => "\\?[a-z]{1,4}=[a-z0-9]{0,4}"];
    (scheme, user, host, path, trailing, query)
        .prop_map(|(s, u, h, p, t, q)| format!("{s}://{u}{h}{p}{t}{q}"))
}

#[test]
fn target_urls_agree_with_backupstore() {
    let cases = oracle::generate("target", (target(), "[a-z0-9][a-z0-9-]{0,10}"));
    let requests: Vec<_> = cases
        .iter()
        .map(|(text, name)| json!({"kind": "target", "target": text, "version": "v1.12.0", "name": name}))
        .collect();
    let answers = oracle::ask(&requests);
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for ((text, name), go) in cases.iter().zip(&answers) {
        let Some(go_url) = go["url"].as_str() else {
            continue;
        };
        compared += 1;
        let Ok(ours) = TargetUrl::parse(text) else {
            mismatches.push(format!("{text:?}: backupstore takes it, we refuse it"));
            continue;
        };
        let url = ours.system_backup_url("v1.12.0", name);
        if url != go_url {
            mismatches.push(format!(
                "{text:?}: url ours {url:?}, backupstore {go_url:?}"
            ));
        }
        if let Some(go_target) = go["target"].as_str() {
            let target = ours.cfg_target_url();
            if target != go_target {
                mismatches.push(format!(
                    "{text:?}: cfg target ours {target:?}, backupstore {go_target:?}"
                ));
            }
        }
    }
    eprintln!(
        "target: {} cases, {compared} that backupstore takes",
        cases.len()
    );
    oracle::assert_no_mismatch("target", cases.len(), &mismatches);
}
