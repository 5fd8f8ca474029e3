//! Output shaped like kubectl's: a borderless table with upper-case headers, `-o wide`
//! extra columns, `-o json|yaml` of the objects as the server sent them (a `List`
//! when several), and `-o name`.

pub mod age;
pub mod describe;
pub mod table;
pub mod yaml;

use serde_json::{Value, json};

use crate::cli::OutputFormat;
use crate::error::{Error, Result};
use crate::longhorn::resources::LonghornKind;

/// What `-o` asked for, with the table as the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Wide,
    Json,
    Yaml,
    Name,
}

impl From<Option<OutputFormat>> for Format {
    fn from(output: Option<OutputFormat>) -> Self {
        match output {
            None => Format::Table,
            Some(OutputFormat::Wide) => Format::Wide,
            Some(OutputFormat::Json) => Format::Json,
            Some(OutputFormat::Yaml) => Format::Yaml,
            Some(OutputFormat::Name) => Format::Name,
        }
    }
}

impl Format {
    pub fn is_table(self) -> bool {
        matches!(self, Format::Table | Format::Wide)
    }
}

/// kubectl hides `managedFields` unless asked (`--show-managed-fields=false`).
pub fn strip_managed_fields(object: &mut Value) {
    if let Some(metadata) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("managedFields");
    }
}

/// Serialises as kubectl does: JSON indented by 4 spaces, YAML as sigs.k8s.io/yaml
/// (sorted keys, both come from the same untyped value).
pub fn serialize(value: &Value, format: Format) -> Result<String> {
    match format {
        Format::Json => {
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
            serde::Serialize::serialize(value, &mut serializer)
                .map_err(|e| Error::invalid(format!("could not encode JSON: {e}")))?;
            let mut text = go_json_escapes(&String::from_utf8(out).unwrap_or_default());
            text.push('\n');
            Ok(text)
        }
        Format::Yaml => serde_saphyr::to_string(value)
            .map_err(|e| Error::invalid(format!("could not encode YAML: {e}"))),
        _ => Err(Error::invalid("internal: serialize needs json or yaml")),
    }
}

/// Go's encoding/json (kubectl's JSON printer) escapes `<`, `>`, `&`, U+2028 and
/// U+2029 inside strings; outside strings JSON has none of them.
fn go_json_escapes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `-o json|yaml` of objects: the object itself when exactly one was asked for by
/// name, else a `List` (kubectl `get` semantics).
pub fn render_objects(mut objects: Vec<Value>, single: bool, format: Format) -> Result<String> {
    for object in &mut objects {
        strip_managed_fields(object);
    }
    let value = if single && objects.len() == 1 {
        objects.remove(0)
    } else {
        json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": objects})
    };
    match format {
        // Byte for byte what kubectl prints (go-yaml's styles and folding).
        Format::Yaml => Ok(yaml::to_string(&value)),
        _ => serialize(&value, format),
    }
}

/// `-o name`: `systembackup.longhorn.io/NAME`, one per line.
pub fn render_names(
    kind: LonghornKind,
    names: impl IntoIterator<Item = impl AsRef<str>>,
) -> String {
    names
        .into_iter()
        .map(|name| format!("{}/{}\n", kind.kind_group(), name.as_ref()))
        .collect()
}

/// Writes to stdout. A closed pipe (`… | head`) is not an error worth a message:
/// it ends the program quietly, as kubectl and ripgrep do.
pub fn stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::BrokenPipe),
        other => other.map_err(Error::io("writing to standard output")),
    }
}

/// kubectl's message for an empty result (printed on stderr).
pub fn no_resources_found(namespace: &str) -> String {
    format!("No resources found in {namespace} namespace.")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::longhorn::resources::SYSTEM_BACKUP;

    #[test]
    fn several_objects_become_a_list_and_lose_managed_fields() {
        let object =
            json!({"kind": "SystemBackup", "metadata": {"name": "a", "managedFields": [{}]}});
        let text = render_objects(vec![object.clone(), object], false, Format::Json).unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["kind"], "List");
        assert_eq!(parsed["items"].as_array().unwrap().len(), 2);
        assert!(
            parsed["items"][0]["metadata"]
                .get("managedFields")
                .is_none()
        );
        assert!(
            text.contains("\n    \"items\""),
            "kubectl indents JSON by four spaces"
        );
    }

    #[test]
    fn json_escapes_as_go_does() {
        let text = serialize(&json!({"a": "<b> & \u{2028}"}), Format::Json).unwrap();
        assert_eq!(
            text,
            "{\n    \"a\": \"\\u003cb\\u003e \\u0026 \\u2028\"\n}\n"
        );
    }

    #[test]
    fn one_named_object_prints_bare() {
        let object = json!({"kind": "SystemBackup", "metadata": {"name": "a"}});
        let text = render_objects(vec![object], true, Format::Yaml).unwrap();
        assert!(text.starts_with("kind: SystemBackup\n"), "{text}");
    }

    #[test]
    fn names_use_kind_dot_group() {
        assert_eq!(
            render_names(SYSTEM_BACKUP, ["a", "b"]),
            "systembackup.longhorn.io/a\nsystembackup.longhorn.io/b\n"
        );
    }
}
