//! RecurringJob mutator and validator (simulator-spec.md §7.2, §7.3).

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use super::{Admission, AdmitError, Operation, PatchOps, replace};
use crate::simulator::Sim;
use crate::simulator::cron;

/// `datastore.NameMaximumLength`.
const NAME_MAXIMUM_LENGTH: usize = 40;

pub(super) fn mutate(sim: &Sim, admission: &Admission) -> Result<PatchOps, AdmitError> {
    let name = admission.name();
    let mut ops = PatchOps::new();
    if admission.operation == Operation::Create {
        let corrected = auto_correct_name(name, NAME_MAXIMUM_LENGTH);
        if corrected != name {
            ops.push(replace("/metadata/name", json!(corrected)));
        }
    }
    // v1.8.1 defaults spec.name on Update only; later versions on Create too, with the
    // uncorrected metadata.name.
    let defaults_name = admission.operation == Operation::Update || sim.version.at_least(9);
    if defaults_name && admission.str_at("/spec/name").is_empty() {
        ops.push(replace("/spec/name", json!(name)));
    }
    for (pointer, empty) in [
        ("/spec/groups", json!([])),
        ("/spec/labels", json!({})),
        ("/spec/parameters", json!({})),
    ] {
        if admission.is_nil(pointer) {
            ops.push(replace(pointer, empty));
        }
    }
    let retain = admission.i64_at("/spec/retain");
    match admission.str_at("/spec/task") {
        "snapshot-cleanup" | "filesystem-trim" if retain != 0 => {
            ops.push(replace("/spec/retain", json!(0)))
        }
        "snapshot-delete" if retain < 0 => ops.push(replace("/spec/retain", json!(0))),
        "snapshot-cleanup" | "filesystem-trim" | "snapshot-delete" => {}
        _ if retain < 1 => ops.push(replace("/spec/retain", json!(1))),
        _ => {}
    }
    Ok(ops)
}

/// `util.AutoCorrectName`: lower case; over-long names are cut and suffixed with the
/// first 8 hex of the SHA-512 of the original.
pub(crate) fn auto_correct_name(name: &str, max_length: usize) -> String {
    let lower = name.to_lowercase();
    if name.len() <= max_length {
        return lower;
    }
    let suffix = format!("-{}", &hex::encode(Sha512::digest(name.as_bytes()))[..8]);
    let prefix = lower.get(..max_length - suffix.len()).unwrap_or(&lower);
    format!("{}{suffix}", prefix.trim_end_matches('-'))
}

pub(super) async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    if admission.operation == Operation::Create && !is_valid_name(admission.name()) {
        return Err(AdmitError::invalid(format!(
            "invalid name {}",
            admission.name()
        )));
    }
    let maximum = sim
        .setting_as_int("recurring-job-max-retention", "100")
        .await
        .map_err(AdmitError::invalid)?;
    let retain = admission.i64_at("/spec/retain");
    if retain > maximum {
        return Err(AdmitError::invalid(format!(
            "retain value should be less than or equal to {maximum}"
        )));
    }
    let spec = JobSpec::from(&admission.object);
    validate_job(sim, &spec).map_err(AdmitError::invalid)?;
    if retain > maximum {
        return Err(AdmitError::invalid(format!(
            "job Can't retain more than {maximum} snapshots"
        )));
    }
    Ok(())
}

/// `util.ValidateName`: `^[a-z0-9][a-z0-9_.-]+$`.
fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some('a'..='z' | '0'..='9'))
        && name.len() >= 2
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_' | '.' | '-'))
}

/// `util.ValidateString`: `^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`.
fn is_valid_group(group: &str) -> bool {
    let mut chars = group.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && group.len() >= 2
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// The RecurringJobSpec fields, as Go holds them (nil vs empty matters for `%+v`).
struct JobSpec {
    name: String,
    groups: Option<Vec<String>>,
    task: String,
    cron: String,
    retain: i64,
    concurrency: i64,
    labels: Option<BTreeMap<String, String>>,
    parameters: Option<BTreeMap<String, String>>,
}

impl From<&Value> for JobSpec {
    fn from(object: &Value) -> Self {
        let spec = object.get("spec").cloned().unwrap_or(Value::Null);
        let string = |key: &str| {
            spec.get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let map = |key: &str| -> Option<BTreeMap<String, String>> {
            spec.get(key).and_then(Value::as_object).map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
        };
        Self {
            name: string("name"),
            groups: spec.get("groups").and_then(Value::as_array).map(|g| {
                g.iter()
                    .map(|v| v.as_str().unwrap_or_default().to_string())
                    .collect()
            }),
            task: string("task"),
            cron: string("cron"),
            retain: spec.get("retain").and_then(Value::as_i64).unwrap_or(0),
            concurrency: spec.get("concurrency").and_then(Value::as_i64).unwrap_or(0),
            labels: map("labels"),
            parameters: map("parameters"),
        }
    }
}

impl JobSpec {
    /// Go's `%+v` of the struct.
    fn go_format(&self) -> String {
        let map = |m: &Option<BTreeMap<String, String>>| {
            let pairs: Vec<String> = m
                .iter()
                .flatten()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            format!("map[{}]", pairs.join(" "))
        };
        format!(
            "{{Name:{} Groups:[{}] Task:{} Cron:{} Retain:{} Concurrency:{} Labels:{} Parameters:{}}}",
            self.name,
            self.groups
                .iter()
                .flatten()
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
            self.task,
            self.cron,
            self.retain,
            self.concurrency,
            map(&self.labels),
            map(&self.parameters),
        )
    }
}

const TASKS: &[&str] = &[
    "snapshot",
    "snapshot-force-create",
    "snapshot-cleanup",
    "snapshot-delete",
    "backup",
    "backup-force-create",
    "filesystem-trim",
];

/// `datastore.ValidateRecurringJob`.
fn validate_job(sim: &Sim, job: &JobSpec) -> Result<(), String> {
    if job.cron.is_empty() || job.task.is_empty() || job.name.is_empty() {
        return Err(format!("invalid job {}", job.go_format()));
    }
    let system_backup_known = sim.version.at_least(9) && job.task == "system-backup";
    if !TASKS.contains(&job.task.as_str()) && !system_backup_known {
        return Err(format!("recurring job task {} is not valid", job.task));
    }
    cron::parse_standard(&job.cron)
        .map_err(|e| format!("invalid cron format({}): {e}", job.cron))?;
    if job.name.len() > NAME_MAXIMUM_LENGTH {
        return Err(format!(
            "job name {} must be {NAME_MAXIMUM_LENGTH} characters or less",
            job.name
        ));
    }
    if let Some(group) = job.groups.iter().flatten().find(|g| !is_valid_group(g)) {
        return Err(format!("invalid group name {group}"));
    }
    if let Some(labels) = &job.labels {
        validate_snapshot_labels(labels)?;
    }
    if let Some(parameters) = &job.parameters
        && matches!(job.task.as_str(), "backup" | "backup-force-create")
    {
        for (key, value) in parameters {
            validate_backup_parameter(sim, key, value).map_err(|e| {
                format!("failed to validate recurring job backup task parameters: {e}")
            })?;
        }
    }
    Ok(())
}

fn validate_backup_parameter(sim: &Sim, key: &str, value: &str) -> Result<(), String> {
    match key {
        "full-backup-interval" => {
            let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(format!(
                    "{key}:{value} is not number: strconv.Atoi: parsing {value:?}: invalid syntax"
                ));
            }
            Ok(())
        }
        "volume-backup-policy" if sim.version.at_least(9) => {
            if ["always", "if-not-present", "disabled"].contains(&value) {
                Ok(())
            } else {
                Err(format!(
                    "{key}:{value} is not a valid value: supported values: [always if-not-present disabled]"
                ))
            }
        }
        _ => Err(format!("{key}:{value} is not a valid parameter")),
    }
}

/// `util.ValidateSnapshotLabels` (keys in sorted order so the first error is stable).
fn validate_snapshot_labels(labels: &BTreeMap<String, String>) -> Result<(), String> {
    for (key, value) in labels {
        if let Some(problem) = qualified_name_problem(key) {
            return Err(format!(
                "at least one error encountered while validating backup label with key {key}: {problem}"
            ));
        }
        if value.is_empty() {
            return Err(format!("value for label with key {key} cannot be empty"));
        }
    }
    for reserved in ["KubernetesStatus", "ranchervm-base-image"] {
        if labels.contains_key(reserved) {
            return Err(format!(
                "specified snapshot backup labels contain reserved keyword {reserved}"
            ));
        }
    }
    Ok(())
}

/// The first message of apimachinery's `validation.IsQualifiedName`.
fn qualified_name_problem(key: &str) -> Option<String> {
    const NAME_FORMAT: &str = "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
    let parts: Vec<&str> = key.split('/').collect();
    let name = match parts[..] {
        [name] => name,
        [prefix, name] => {
            if prefix.is_empty() {
                return Some("prefix part must be non-empty".into());
            }
            let subdomain_ok = prefix.len() <= 253
                && prefix.split('.').all(|label| {
                    !label.is_empty()
                        && label.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                        && label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                        && label
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                });
            if !subdomain_ok {
                return Some("prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')".to_string());
            }
            name
        }
        _ => {
            return Some("a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')".to_string());
        }
    };
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > 63 {
        return Some("name part must be no more than 63 characters".into());
    }
    let well_formed = name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!well_formed).then(|| NAME_FORMAT.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_cut_and_suffixed() {
        let long = "Nightly-System-Backup-Of-The-Whole-Cluster-Please";
        let corrected = auto_correct_name(long, 40);
        assert_eq!(corrected.len(), 40);
        assert!(corrected.starts_with("nightly-system-backup-of-the-wh-"));
        assert_eq!(auto_correct_name("Daily", 40), "daily");
    }

    #[test]
    fn spec_prints_like_go() {
        let spec = JobSpec::from(
            &json!({"spec": {"task": "system-backup", "cron": "0 0 * * *", "retain": 1, "groups": []}}),
        );
        assert_eq!(
            spec.go_format(),
            "{Name: Groups:[] Task:system-backup Cron:0 0 * * * Retain:1 Concurrency:0 Labels:map[] Parameters:map[]}"
        );
    }

    #[test]
    fn names_follow_longhorn_rules() {
        assert!(is_valid_name("daily-sb"));
        assert!(!is_valid_name("x"));
        assert!(!is_valid_name("-daily"));
        assert!(!is_valid_name("Daily"));
    }
}
