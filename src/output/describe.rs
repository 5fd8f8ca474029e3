//! kubectl-describe-style text: `Key:  value` lines with aligned values, indented
//! sections, and small tables.

use super::table;

#[derive(Default)]
pub struct Describe {
    text: String,
}

impl Describe {
    pub fn new() -> Self {
        Describe::default()
    }

    /// Aligned `key: value` lines at `indent` spaces.
    pub fn fields(&mut self, indent: usize, fields: &[(&str, String)]) -> &mut Self {
        let width = fields.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
        for (key, value) in fields {
            let key = format!("{key}:");
            self.text
                .push_str(&format!("{:indent$}{key:<width$}  {value}\n", ""));
        }
        self
    }

    /// Aligned `key: value` lines whose values may have several lines: the first on
    /// the key's line, the others below it at the values' column.
    pub fn multi_fields(&mut self, fields: &[(&str, Vec<String>)]) -> &mut Self {
        let width = fields.iter().map(|(k, _)| k.len() + 1).max().unwrap_or(0);
        for (key, lines) in fields {
            let key = format!("{key}:");
            let mut lines = lines.iter();
            let first = lines.next().map(String::as_str).unwrap_or_default();
            self.text.push_str(&format!("{key:<width$}  {first}\n"));
            for line in lines {
                self.text.push_str(&format!("{:width$}  {line}\n", ""));
            }
        }
        self
    }

    /// A heading line (`Status:`) at `indent`.
    pub fn heading(&mut self, indent: usize, title: &str) -> &mut Self {
        self.text.push_str(&format!("{:indent$}{title}:\n", ""));
        self
    }

    /// A heading followed by a table, or `<none>` on the heading line when empty.
    pub fn table(&mut self, title: &str, headers: &[&str], rows: Vec<Vec<String>>) -> &mut Self {
        if rows.is_empty() {
            self.text.push_str(&format!("{title}:  <none>\n"));
            return self;
        }
        self.text.push_str(&format!("{title}:\n"));
        for line in table::render(headers, rows, false).lines() {
            self.text.push_str(&format!("  {line}\n"));
        }
        self
    }

    /// The `status.conditions` of a Longhorn object as a table.
    pub fn conditions(&mut self, conditions: &[serde_json::Value]) -> &mut Self {
        let rows = conditions
            .iter()
            .map(|c| {
                ["type", "status", "reason", "lastTransitionTime", "message"]
                    .iter()
                    .map(|k| {
                        c.get(*k)
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or_default()
                            .to_string()
                    })
                    .collect()
            })
            .collect();
        self.table(
            "Conditions",
            &["TYPE", "STATUS", "REASON", "LAST-TRANSITION", "MESSAGE"],
            rows,
        )
    }

    pub fn line(&mut self, text: &str) -> &mut Self {
        self.text.push_str(text);
        self.text.push('\n');
        self
    }

    pub fn finish(&self) -> String {
        self.text.clone()
    }
}

/// `key=value` pairs of a map on one line each, kubectl's way of showing labels.
pub fn map_lines(map: Option<&serde_json::Value>) -> String {
    let Some(map) = map
        .and_then(serde_json::Value::as_object)
        .filter(|m| !m.is_empty())
    else {
        return "<none>".into();
    };
    let pad = " ".repeat(14);
    map.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(&format!("\n{pad}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligns_fields_and_tables() {
        let text = Describe::new()
            .fields(0, &[("Name", "demo".into()), ("Namespace", "lh".into())])
            .heading(0, "Status")
            .fields(2, &[("State", "Ready".into())])
            .table(
                "Events",
                &["TYPE", "REASON"],
                vec![vec!["Normal".into(), "Start".into()]],
            )
            .table("Conditions", &["TYPE"], vec![])
            .finish();
        assert_eq!(
            text,
            "Name:       demo\nNamespace:  lh\nStatus:\n  State:  Ready\nEvents:\n  TYPE     REASON\n  Normal   Start\nConditions:  <none>\n"
        );
    }
}
