//! `inspect FILE.zip`: what a bundle holds and what Longhorn's restore will make of it
//! (`bundle::inspect`). Touches no cluster. Exits 1 when restore would fail or restore
//! nothing.

use crate::bundle::inspect::{self, Limits};
use crate::bundle::summary;
use crate::cli::InspectArgs;
use crate::error::{Error, Result};
use crate::output::{self, Format};

pub async fn run(args: &InspectArgs) -> Result<()> {
    let format = Format::from(args.output);
    let path = args.file.clone();
    let report = tokio::task::spawn_blocking(move || inspect::inspect(&path, Limits::default()))
        .await
        .map_err(|e| Error::invalid(format!("internal: reading the bundle failed: {e}")))??;
    output::stdout(&summary::render_report(&report, format)?)?;
    if report.has_errors() {
        eprintln!(
            "error: {}: restore would fail or restore nothing (see the findings above)",
            args.file.display()
        );
        return Err(Error::Reported(format!(
            "{}: restore would fail or restore nothing (see the errors above)",
            args.file.display()
        )));
    }
    Ok(())
}
