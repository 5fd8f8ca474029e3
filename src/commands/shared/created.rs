//! A SystemBackup a command created: kubectl's `created` line (or the object in the
//! `-o` format), and `--wait`: watch it until Ready (failing at once on Error), then
//! kubectl's `condition met` line.

use serde_json::Value;

use crate::commands::error::Result;
use crate::go::HumanDuration;
use crate::longhorn::Longhorn;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::longhorn::wait::{Target, Wait, wait_for};
use crate::output::{self, Format};

/// How `--wait` waits and reports.
pub struct WaitFlags {
    pub timeout: HumanDuration,
    pub format: Format,
    /// Draw the progress live (a terminal is watching).
    pub live: bool,
}

/// Until SystemBackup `name` reaches `target`, then `condition met` (tables only).
pub async fn wait_ready(
    longhorn: &Longhorn,
    name: &str,
    target: Target,
    uid: Option<&str>,
    flags: &WaitFlags,
) -> Result<()> {
    let wait = Wait {
        namespace: longhorn.namespace(),
        name,
        target,
        uid,
        timeout: flags.timeout.as_limit(),
        live: flags.live,
    };
    wait_for(longhorn.kube(), wait).await?;
    if flags.format == Format::Table {
        output::stdout(&output::condition_met(&SYSTEM_BACKUP.kind_group(), name))?;
    }
    Ok(())
}

/// kubectl's `created` line (with `suffix`, e.g. ` (dry run)`), or the object in the
/// `-o` format.
pub fn print_created(object: &Value, format: Format, suffix: &str) -> Result<()> {
    let name = sb::name(object);
    let text = match format {
        Format::Json | Format::Yaml => output::render_objects(vec![object.clone()], true, format)?,
        Format::Name => output::render_names(&SYSTEM_BACKUP.kind_group(), [name]),
        Format::Table | Format::Wide => {
            format!("{} created{suffix}\n", SYSTEM_BACKUP.named(name))
        }
    };
    Ok(output::stdout(&text)?)
}
