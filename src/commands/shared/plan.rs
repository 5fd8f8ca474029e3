//! The plan a command that deletes by rule (`prune`, `cleanup snapshots`) shows: one
//! step per object, whether it goes and why. `--dry-run` prints it as a table (the
//! command's columns, then ACTION and WHY) or as data; otherwise the objects that go
//! are deleted after the usual confirmation, whose question also says why the others
//! stay.

use serde_json::{Map, Value, json};

use super::deletion::{self, DeletionFlags, Request, Targets};
use crate::commands::error::Result;
use crate::longhorn::Longhorn;
use crate::longhorn::resources::LonghornKind;
use crate::output::{self, Terminal, table};

/// One object of the plan.
pub struct Step {
    pub object: Value,
    pub deletes: bool,
    pub reason: String,
    /// The command's own columns of the table, in its header's order.
    pub cells: Vec<String>,
    /// The command's own fields of the data (`-o json|yaml`), before action and reason.
    pub fields: Map<String, Value>,
}

impl Step {
    fn action(&self) -> &'static str {
        if self.deletes { "delete" } else { "keep" }
    }
}

/// The plan as `--dry-run` prints it: a table with `headers` then ACTION and WHY, or
/// the data in `format` (`output::data_format`).
pub fn render(headers: &[&str], steps: &[Step], format: Option<output::Format>) -> Result<String> {
    if let Some(format) = format {
        let items: Vec<Value> = steps
            .iter()
            .map(|step| {
                let mut item = step.fields.clone();
                item.insert("action".into(), json!(step.action()));
                item.insert("reason".into(), json!(step.reason));
                Value::Object(item)
            })
            .collect();
        return Ok(output::structured(&json!({ "items": items }), format)?);
    }
    let headers: Vec<&str> = headers.iter().copied().chain(["ACTION", "WHY"]).collect();
    let rows = steps
        .iter()
        .map(|step| {
            let mut row = step.cells.clone();
            row.extend([step.action().to_string(), step.reason.clone()]);
            row
        })
        .collect();
    Ok(table::render(&headers, rows, false))
}

/// What carrying out the plan needs besides the steps.
pub struct Execution<'a> {
    pub kind: LonghornKind,
    pub flags: &'a DeletionFlags,
    /// Says that nothing goes, with how many objects the plan holds.
    pub nothing_to_do: String,
    /// Lines of the question after the list of what goes (before why the rest stays).
    pub consequences: Vec<String>,
    pub before_delete: Option<Value>,
}

/// Deletes the objects the plan lets go, after the confirmation; returns how many went.
pub async fn carry_out(
    longhorn: &Longhorn,
    terminal: Terminal,
    steps: &[Step],
    execution: Execution<'_>,
) -> Result<usize> {
    let kind = execution.kind;
    let (going, kept): (Vec<&Step>, Vec<&Step>) = steps.iter().partition(|s| s.deletes);
    let mut staying = vec!["They stay:".to_string()];
    staying.extend(kept.iter().map(|step| {
        let name = kind.named(crate::kube::object::name(&step.object));
        format!("  {name}: {}", step.reason)
    }));
    if going.is_empty() {
        eprintln!("{}", execution.nothing_to_do);
        for line in &staying {
            eprintln!("{line}");
        }
        return Ok(0);
    }
    let mut consequences = execution.consequences;
    if !kept.is_empty() {
        consequences.extend(staying);
    }
    let chosen: Vec<Value> = going.iter().map(|s| s.object.clone()).collect();
    let request = Request {
        kind,
        targets: Targets::Chosen(&chosen),
        yes: execution.flags.yes,
        wait: execution.flags.wait(),
        before_delete: execution.before_delete,
        consequences,
    };
    deletion::run(longhorn, terminal, request).await?;
    Ok(going.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, deletes: bool, reason: &str) -> Step {
        let mut fields = Map::new();
        fields.insert("name".into(), json!(name));
        Step {
            object: json!({"metadata": {"name": name}}),
            deletes,
            reason: reason.into(),
            cells: vec![name.into(), "3.0 MiB".into()],
            fields,
        }
    }

    /// The plan's table and data, as `prune` and `cleanup snapshots` print them.
    #[test]
    fn the_plan_is_a_kubectl_table_or_data() {
        let steps = [
            step(
                "system-backup-0a1b2c3d4e5f6a7b",
                true,
                "backed up by system-backup-0a1b2c3d4e5f6a7b (Completed)",
            ),
            step(
                "system-backup-ffeeddccbbaa9988",
                false,
                "the volume's newest backup system-backup-ffeeddccbbaa9988 was taken from it",
            ),
        ];
        let table = render(&["NAME", "SIZE"], &steps, None).unwrap();
        insta::assert_snapshot!("plan-table", table);
        let data = render(&["NAME", "SIZE"], &steps, Some(output::Format::Json)).unwrap();
        insta::assert_snapshot!("plan-json", data);
    }
}
