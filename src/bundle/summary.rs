//! How a built bundle ([`Outcome`]) and an inspected one ([`inspect::Report`]) are
//! shown: kubectl-style tables and `Key: value` lines, or the same data as JSON/YAML.

use super::Outcome;
use super::inspect::{Report, Severity};
use crate::error::Result;
use crate::output::describe::Describe;
use crate::output::{self, Format, table};

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

/// The summary of `create --local`.
pub fn render_outcome(outcome: &Outcome, format: Format) -> Result<String> {
    match format {
        Format::Json | Format::Yaml => {
            output::serialize(&serde_json::to_value(outcome).unwrap_or_default(), format)
        }
        Format::Name => Ok(format!("{}\n", outcome.file.display())),
        Format::Table | Format::Wide => {
            let wide = format == Format::Wide;
            let rows = outcome
                .files
                .iter()
                .map(|f| {
                    let mut row = vec![f.path.clone(), f.kind.clone(), f.count.to_string()];
                    if wide {
                        row.insert(2, f.api_version.clone());
                    }
                    row
                })
                .collect();
            let headers: &[&str] = if wide {
                &["FILE", "KIND", "API-VERSION", "COUNT"]
            } else {
                &["FILE", "KIND", "COUNT"]
            };
            let mut text = table::render(headers, rows, false);
            let backups = &outcome.volume_backups;
            let mut fields = vec![
                ("Name", outcome.name.clone()),
                (
                    "Longhorn",
                    format!(
                        "{} (namespace {})",
                        outcome.longhorn_version, outcome.namespace
                    ),
                ),
                (
                    "Volume backups",
                    format!(
                        "{}: {} created, {} up to date, {} skipped (standby or linked clone)",
                        outcome.volume_backup_policy,
                        backups.backups.len(),
                        backups.up_to_date.len(),
                        backups.skipped.len()
                    ),
                ),
                (
                    "Bundle",
                    format!(
                        "{} ({}, {} bytes)",
                        outcome.file.display(),
                        human_bytes(outcome.bytes),
                        outcome.bytes
                    ),
                ),
                ("SHA-256", outcome.sha256.clone()),
            ];
            if outcome.volume_backup_policy == "disabled" {
                fields.remove(2);
            }
            if let Some(uploaded) = &outcome.uploaded {
                let sync = match &uploaded.sync_requested_at {
                    Some(at) => format!("Longhorn asked to sync at {at}"),
                    None => "not the cluster's backup target: Longhorn will not list it".into(),
                };
                fields.push(("Uploaded", format!("{} ({sync})", uploaded.location)));
            }
            text.push('\n');
            text.push_str(&Describe::new().fields(0, &fields).finish());
            Ok(text)
        }
    }
}

/// The warning about volumes without a backup, shared by `create --local` and
/// `inspect` so both say it the same way.
pub fn unbacked_warning(names: &[String]) -> Option<String> {
    if names.is_empty() {
        return None;
    }
    let shown: Vec<&str> = names.iter().take(10).map(String::as_str).collect();
    let more = if names.len() > shown.len() {
        format!(", … ({} more)", names.len() - shown.len())
    } else {
        String::new()
    };
    Some(format!(
        "{} volume{} no backup and will be restored empty: {}{more}",
        names.len(),
        if names.len() == 1 { " has" } else { "s have" },
        shown.join(", ")
    ))
}

/// The report of `inspect`.
pub fn render_report(report: &Report, format: Format) -> Result<String> {
    match format {
        Format::Json | Format::Yaml => {
            output::serialize(&serde_json::to_value(report).unwrap_or_default(), format)
        }
        Format::Name => Ok(format!("{}\n", report.name)),
        Format::Table | Format::Wide => {
            let metadata = |key: &str| {
                report
                    .metadata
                    .get(key)
                    .filter(|v| !v.is_empty())
                    .cloned()
                    .unwrap_or_else(|| "<none>".into())
            };
            let mut describe = Describe::new();
            describe.fields(
                0,
                &[
                    ("File", report.file.display().to_string()),
                    ("Name", report.name.clone()),
                    (
                        "Longhorn",
                        report
                            .longhorn_version
                            .clone()
                            .unwrap_or_else(|| "<unknown>".into()),
                    ),
                    ("Kubernetes", metadata("kubernetesversion")),
                    ("Manager image", metadata("managerimage")),
                    (
                        "Size",
                        format!("{} ({} bytes)", human_bytes(report.bytes), report.bytes),
                    ),
                    ("SHA-256", report.sha256.clone()),
                ],
            );
            describe.table(
                "Files",
                &["FILE", "KIND", "COUNT", "RESTORED"],
                report
                    .files
                    .iter()
                    .map(|f| {
                        vec![
                            f.path.clone(),
                            f.kind.clone(),
                            f.count.to_string(),
                            if f.restored { "yes" } else { "no" }.to_string(),
                        ]
                    })
                    .collect(),
            );
            describe.table(
                "Volumes",
                &["NAME", "LAST-BACKUP", "LAST-BACKUP-AT"],
                report
                    .volumes
                    .iter()
                    .map(|v| {
                        let none = |s: &str| {
                            if s.is_empty() {
                                "<none>".to_string()
                            } else {
                                s.to_string()
                            }
                        };
                        let last = if v.standby {
                            format!("{} (standby)", none(&v.last_backup))
                        } else {
                            none(&v.last_backup)
                        };
                        vec![v.name.clone(), last, none(&v.last_backup_at)]
                    })
                    .collect(),
            );
            describe.table(
                "Findings",
                &["SEVERITY", "MESSAGE"],
                report
                    .findings
                    .iter()
                    .map(|f| {
                        let severity = match f.severity {
                            Severity::Error => "error",
                            Severity::Warning => "warning",
                        };
                        vec![severity.to_string(), f.message.clone()]
                    })
                    .collect(),
            );
            Ok(describe.finish())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(human_bytes(812), "812 B");
        assert_eq!(human_bytes(4300), "4.2 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 + 300_000), "5.3 MiB");
    }

    #[test]
    fn unbacked_volumes_are_listed_briefly() {
        assert_eq!(unbacked_warning(&[]), None);
        let names: Vec<String> = (0..12).map(|i| format!("v{i}")).collect();
        let text = unbacked_warning(&names).unwrap();
        assert!(text.starts_with("12 volumes have no backup"), "{text}");
        assert!(text.ends_with("v9, … (2 more)"), "{text}");
    }
}
