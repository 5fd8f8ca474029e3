//! BackupTarget mutator and validator (simulator-spec.md §6.3, §6.4). The
//! credential-secret whitespace checks and AWS IAM-role handling are not simulated.

use kube::api::ListParams;
use serde_json::json;

use super::{Admission, AdmitError, Operation, PatchOps, finalizer_op, go_url_scheme, replace};
use crate::longhorn::{DEFAULT_BACKUP_TARGET, Kind};
use crate::simulator::object::{flag, name, text};
use crate::simulator::store::TargetUrl;
use crate::simulator::{Sim, kube_message};

pub(super) fn mutate(sim: &Sim, admission: &Admission) -> Result<PatchOps, AdmitError> {
    let mut ops: PatchOps = finalizer_op(&admission.object).into_iter().collect();
    if sim.version.at_least(12)
        && let Some(url) = nfs_soft_mount_defaults(admission.str_at("/spec/backupTargetURL"))
    {
        ops.push(replace("/spec/backupTargetURL", json!(url)));
    }
    Ok(ops)
}

/// v1.12.0 `applyNFSSoftMountDefaults`: for `nfs://` URLs with `nfsOptions`, drop
/// `hard` and make sure `soft`, `timeo=` and `retry=` are set. `None`: unchanged.
fn nfs_soft_mount_defaults(url: &str) -> Option<String> {
    let (base, query) = url.split_once('?')?;
    if !url.to_lowercase().starts_with("nfs://") {
        return None;
    }
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    if !pairs.iter().any(|(k, _)| k == "nfsOptions") {
        return None;
    }
    let options: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k == "nfsOptions")
        .flat_map(|(_, v)| {
            v.split(',')
                .filter(|o| !o.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    pairs.retain(|(k, _)| k != "nfsOptions");
    if !options.is_empty() {
        let mut merged: Vec<String> = options.iter().filter(|o| *o != "hard").cloned().collect();
        if !merged.iter().any(|o| o == "soft") {
            merged.push("soft".into());
        }
        if !merged.iter().any(|o| o.starts_with("timeo=")) {
            merged.push("timeo=300".into());
        }
        if !merged.iter().any(|o| o.starts_with("retry=")) {
            merged.push("retry=2".into());
        }
        if merged == options {
            return None;
        }
        pairs.push(("nfsOptions".into(), merged.join(",")));
    }
    // Go's url.Values.Encode: keys sorted, values query-escaped.
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    Some(if encoded.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{encoded}")
    })
}

pub(super) async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    let url = admission.str_at("/spec/backupTargetURL");
    match admission.operation {
        Operation::Create => {
            if !is_valid_name(admission.name()) {
                return Err(AdmitError::invalid(format!(
                    "invalid name {}",
                    admission.name()
                )));
            }
            validate_url(sim, admission.name(), url)
                .await
                .map_err(AdmitError::invalid)
        }
        Operation::Update => {
            let old = admission.old_object.as_ref();
            let old_text = |pointer: &str| {
                old.and_then(|o| o.pointer(pointer))
                    .and_then(|v| v.as_str())
                    .unwrap_or_default()
                    .to_string()
            };
            let url_changed = old_text("/spec/backupTargetURL") != url;
            let secret_changed =
                old_text("/spec/credentialSecret") != admission.str_at("/spec/credentialSecret");
            if url_changed {
                validate_url(sim, admission.name(), url)
                    .await
                    .map_err(AdmitError::invalid)?;
            }
            if url_changed || secret_changed {
                validate_no_standby_volumes(sim)
                    .await
                    .map_err(AdmitError::invalid)?;
            }
            Ok(())
        }
        Operation::Delete => {
            let annotated = admission
                .object
                .pointer("/metadata/annotations/longhorn.io~1delete-backup-target-from-longhorn")
                .is_some();
            if admission.name() == DEFAULT_BACKUP_TARGET && !annotated {
                return Err(AdmitError::invalid(
                    "deleting default backup target is not allowed",
                ));
            }
            validate_no_standby_volumes(sim)
                .await
                .map_err(AdmitError::invalid)
        }
        Operation::Other => Ok(()),
    }
}

fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '0'..='9'))
        && name.len() >= 2
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
}

/// `ValidateBackupTargetURL`: no `$` or `,` in the path (only `,` for cifs), and no
/// other backup target on the same scheme and path.
async fn validate_url(sim: &Sim, target_name: &str, url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Ok(());
    }
    let scheme = go_url_scheme(url).map_err(|e| format!("failed to parse {url} as url: {e}"))?;
    let parsed = TargetUrl::parse(url).map_err(|_| format!("failed to parse {url} as url"))?;
    let forbidden: &[char] = if scheme == "cifs" {
        &[',']
    } else {
        &['$', ',']
    };
    let found: Vec<String> = parsed
        .path
        .chars()
        .filter(|c| forbidden.contains(c))
        .map(String::from)
        .collect();
    if !found.is_empty() {
        return Err(format!("url {url}, contains {}", found.join(" or ")));
    }
    let targets = sim
        .api(Kind::BackupTarget)
        .list(&ListParams::default())
        .await
        .map_err(|e| kube_message(&e))?;
    let same_place = |other: &str| {
        TargetUrl::parse(other).is_ok_and(|o| {
            o.scheme == parsed.scheme
                && o.host == parsed.host
                && o.path.trim_end_matches('/') == parsed.path.trim_end_matches('/')
        })
    };
    if let Some(other) = targets
        .items
        .iter()
        .find(|t| name(t) != target_name && same_place(text(t, "/spec/backupTargetURL")))
    {
        return Err(format!(
            "url {url} is the same to backup target {}",
            name(other)
        ));
    }
    Ok(())
}

async fn validate_no_standby_volumes(sim: &Sim) -> Result<(), String> {
    let volumes = sim
        .api(Kind::Volume)
        .list(&ListParams::default())
        .await
        .map_err(|e| {
            format!(
                "failed to list standby volume when modifying BackupTarget: {}",
                kube_message(&e)
            )
        })?;
    let mut standby: Vec<String> = volumes
        .items
        .iter()
        .filter(|v| flag(v, "/status/isStandby"))
        .map(name)
        .collect();
    if standby.is_empty() {
        return Ok(());
    }
    standby.sort();
    // Go prints a sets.String as a map.
    let set: Vec<String> = standby.iter().map(|name| format!("{name}:{{}}")).collect();
    Err(format!(
        "cannot modify BackupTarget since there are existing standby volumes: map[{}]",
        set.join(" ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nfs_options_get_soft_mount_defaults() {
        assert_eq!(
            nfs_soft_mount_defaults("nfs://h:/x?nfsOptions=hard,vers=4").unwrap(),
            "nfs://h:/x?nfsOptions=vers%3D4%2Csoft%2Ctimeo%3D300%2Cretry%3D2"
        );
        assert_eq!(
            nfs_soft_mount_defaults("nfs://h:/x?nfsOptions=").unwrap(),
            "nfs://h:/x"
        );
        assert_eq!(nfs_soft_mount_defaults("nfs://h:/x"), None);
        assert_eq!(
            nfs_soft_mount_defaults("nfs://h:/x?nfsOptions=soft,timeo=1,retry=3"),
            None
        );
        assert_eq!(nfs_soft_mount_defaults("s3://b@r/?nfsOptions=hard"), None);
    }
}
