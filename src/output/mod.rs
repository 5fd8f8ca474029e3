//! Output shaped like kubectl's: a borderless table with upper-case headers, `-o wide`
//! extra columns, `-o json|yaml` of the objects as the server sent them (a `List`
//! when several), and `-o name`.

pub mod age;
pub mod describe;
pub mod file;
pub mod progress;
pub mod prompt;
pub mod style;
pub mod table;
pub mod terminal;
pub mod yaml;

use clap::ValueEnum;
use serde_json::{Value, json};

pub use file::{AtomicFile, FileError};
pub use terminal::Terminal;

/// Output that could not be written or encoded, or a question nobody could answer.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The reader of stdout went away; the program ends quietly with success.
    #[error("broken pipe")]
    BrokenPipe,
    #[error("interrupted")]
    Interrupted,
    #[error("writing to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("reading the answer: {0}")]
    Prompt(#[source] std::io::Error),
    #[error(
        "refusing to go on without confirmation: no terminal to ask on; pass --yes (-y) to confirm"
    )]
    NoTerminal,
    #[error("could not encode JSON: {0}")]
    Json(#[source] serde_json::Error),
    #[error(transparent)]
    File(#[from] FileError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// `-o` values, as kubectl names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Wide,
    Json,
    Yaml,
    Name,
}

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

/// JSON as kubectl prints it: indented by 4 spaces, with Go's escapes.
pub fn json(value: &Value) -> Result<String> {
    let mut out = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    serde::Serialize::serialize(value, &mut serializer).map_err(Error::Json)?;
    let mut text = go_json_escapes(&String::from_utf8(out).unwrap_or_default());
    text.push('\n');
    Ok(text)
}

/// `-o json` or `-o yaml` of any serialisable data (a report, a summary), the way
/// kubectl prints objects: both from the same untyped value.
pub fn structured(data: &impl serde::Serialize, format: Format) -> Result<String> {
    let value = serde_json::to_value(data).map_err(Error::Json)?;
    match format {
        Format::Yaml => Ok(yaml::to_string(&value)),
        _ => json(&value),
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
        _ => json(&value),
    }
}

/// `-o name`: `<kind.group>/NAME` (e.g. `systembackup.longhorn.io/NAME`), one per line.
pub fn render_names(kind_group: &str, names: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    names
        .into_iter()
        .map(|name| format!("{kind_group}/{}\n", name.as_ref()))
        .collect()
}

/// kubectl wait's line for an object whose condition was reached.
pub fn condition_met(kind_group: &str, name: &str) -> String {
    format!("{kind_group}/{name} condition met\n")
}

/// Bytes as people read them: `812 B`, `4.2 KiB`, `1.3 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Writes to stdout. A closed pipe (`… | head`) is not an error worth a message:
/// it ends the program quietly, as kubectl and ripgrep do.
pub fn stdout(text: &str) -> Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(Error::BrokenPipe),
        other => other.map_err(Error::Stdout),
    }
}

/// The format `-o json|yaml` names for a command whose result is data, not objects;
/// `None` for its default text.
pub fn data_format(output: Option<&str>) -> Option<Format> {
    match output {
        Some("json") => Some(Format::Json),
        Some("yaml") => Some(Format::Yaml),
        _ => None,
    }
}

/// kubectl's message for an empty result (printed on stderr).
pub fn no_resources_found(namespace: &str) -> String {
    format!("No resources found in {namespace} namespace.")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let text = json(&json!({"a": "<b> & \u{2028}"})).unwrap();
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
    fn sizes_read_like_ls_h() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(4300), "4.2 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 300_000), "5.3 MiB");
    }

    #[test]
    fn names_use_kind_dot_group() {
        assert_eq!(
            render_names("systembackup.longhorn.io", ["a", "b"]),
            "systembackup.longhorn.io/a\nsystembackup.longhorn.io/b\n"
        );
    }
}
