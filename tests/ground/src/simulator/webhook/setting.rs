//! Setting mutator (v1.10+) and validator (simulator-spec.md §9), for the settings the
//! ground knows. Longhorn knows about a hundred; names the ground does not know are
//! accepted rather than rejected as `setting <n> is not supported`.

use serde_json::json;

use super::{Admission, AdmitError, Operation, PatchOps, replace};
use crate::simulator::Sim;

enum Rule {
    Text,
    Integer { min: Option<i64>, max: Option<i64> },
}

struct Definition {
    read_only: bool,
    rule: Rule,
}

fn definition(name: &str) -> Option<Definition> {
    let integer = |min, max| {
        Some(Definition {
            read_only: false,
            rule: Rule::Integer { min, max },
        })
    };
    match name {
        "current-longhorn-version" | "default-engine-image" => Some(Definition {
            read_only: true,
            rule: Rule::Text,
        }),
        // 1..MaxSnapshotNum (types/setting.go).
        "recurring-job-max-retention" => integer(Some(1), Some(250)),
        "recurring-successful-jobs-history-limit" | "recurring-failed-jobs-history-limit" => {
            integer(Some(0), None)
        }
        "backup-execution-timeout" => integer(Some(1), None),
        "taint-toleration"
        | "priority-class"
        | "registry-secret"
        | "system-managed-components-node-selector"
        | "default-data-path"
        | "storage-network" => Some(Definition {
            read_only: false,
            rule: Rule::Text,
        }),
        _ => None,
    }
}

/// v1.10+ normalizes `/value`; for the simple settings the ground knows the value is
/// kept as it is, and the op is emitted every time, as Longhorn does.
pub(super) fn mutate(_sim: &Sim, admission: &Admission) -> Result<PatchOps, AdmitError> {
    if admission.operation == Operation::Delete {
        return Ok(Vec::new());
    }
    Ok(vec![replace("/value", json!(admission.str_at("/value")))])
}

pub(super) async fn validate(sim: &Sim, admission: &Admission) -> Result<(), AdmitError> {
    let name = admission.name();
    let Some(definition) = definition(name) else {
        return Ok(());
    };
    match admission.operation {
        Operation::Delete => Err(AdmitError::invalid_field(
            format!("setting {name} can be modified but not deleted"),
            "metadata.name",
        )),
        Operation::Update | Operation::Create => {
            let annotated = |object: Option<&serde_json::Value>| {
                object
                    .and_then(|o| {
                        o.pointer("/metadata/annotations/longhorn.io~1update-setting-from-longhorn")
                    })
                    .is_some()
            };
            let from_longhorn =
                annotated(Some(&admission.object)) || annotated(admission.old_object.as_ref());
            if admission.operation == Operation::Update && definition.read_only && !from_longhorn {
                return Err(AdmitError::invalid_field(
                    format!("setting {name} is read-only"),
                    "metadata.name",
                ));
            }
            let value = admission.str_at("/value");
            validate_value(sim, name, value, &definition)
                .map_err(|e| AdmitError::invalid_field(e, "value"))
        }
        Operation::Other => Ok(()),
    }
}

fn validate_value(
    sim: &Sim,
    name: &str,
    value: &str,
    definition: &Definition,
) -> Result<(), String> {
    let Rule::Integer { min, max } = definition.rule else {
        return Ok(());
    };
    let outer = if sim.version.at_least(10) {
        format!(
            "failed to validate setting {name} with invalid value {value}: value {value} of settings {name} is invalid"
        )
    } else {
        format!(
            "failed to set the setting {name} with invalid value {value}: value {value} of settings {name} is invalid"
        )
    };
    let number: i64 = match value.trim().parse() {
        Ok(number) => number,
        Err(_) if sim.version.at_least(10) => {
            return Err(format!(
                "{outer}: failed to parse value {value} for setting {name}: strconv.ParseInt: parsing {value:?}: invalid syntax"
            ));
        }
        Err(_) => {
            return Err(format!(
                "{outer}: failed to validate the setting {name}: strconv.Atoi: parsing {value:?}: invalid syntax"
            ));
        }
    };
    let problem = match (min, max) {
        (Some(min), _) if number < min => Some(if sim.version.at_least(10) {
            format!("value {number} for data engine all should be larger than or equal to {min}")
        } else {
            format!(
                "failed to validate the setting {name}: value {number} should be larger than {min}"
            )
        }),
        (_, Some(max)) if number > max => Some(if sim.version.at_least(10) {
            format!("value {number} for data engine all should be less than or equal to {max}")
        } else {
            format!(
                "failed to validate the setting {name}: value {number} should be less than {max}"
            )
        }),
        _ => None,
    };
    match problem {
        Some(problem) => Err(format!("{outer}: {problem}")),
        None => Ok(()),
    }
}
