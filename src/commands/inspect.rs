//! `inspect FILE.zip`: what a bundle holds and what Longhorn's restore will make of it
//! ([`crate::bundle::inspect`] produces the report; this renders it). Touches no
//! cluster. Exits 1 when restore would fail or restore nothing.

use std::path::PathBuf;

use clap::Args;

use super::error::{Error, Reported, Result};
use crate::bundle::inspect::{self, Limits, Report, Severity};
use crate::output::describe::Describe;
use crate::output::{self, Format, OutputFormat, human_bytes};

#[derive(Debug, Args)]
#[command(after_help = "\
Reads the zip without extracting it and reports what Longhorn's restore would make of it:
the backup name (the top-level folder), the Longhorn version, each file's kind and count,
the volumes and their last backup, the size and SHA-256. Exits 1 when restore would fail or
restore nothing (e.g. the top-level folder is not the backup's name), 0 otherwise.

Examples:
  kubectl longhorn systembackup inspect nightly.zip
  kubectl longhorn systembackup inspect system-backup.zip -o json")]
pub struct InspectArgs {
    /// The bundle to read (made by --local, or downloaded from the backup target)
    pub file: PathBuf,
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
}

pub async fn run(args: &InspectArgs) -> Result<()> {
    let format = Format::from(args.output);
    let path = args.file.clone();
    let report = tokio::task::spawn_blocking(move || inspect::inspect(&path, Limits::default()))
        .await
        .map_err(|source| Error::Internal {
            what: "reading the bundle",
            source,
        })??;
    output::stdout(&render(&report, format)?)?;
    if report.has_errors() {
        eprintln!(
            "error: {}: restore would fail or restore nothing (see the findings above)",
            args.file.display()
        );
        return Err(Reported::NotRestorable(args.file.clone()).into());
    }
    Ok(())
}

/// The report of `inspect`.
fn render(report: &Report, format: Format) -> output::Result<String> {
    match format {
        Format::Json | Format::Yaml => output::structured(report, format),
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
