//! `list` / `get`: SystemBackups as a kubectl-style table or as objects.

use jiff::Timestamp;
use serde_json::Value;

use crate::api;
use crate::cli::ListArgs;
use crate::error::{Error, Result};
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::SYSTEM_BACKUP;
use crate::longhorn::systembackup as sb;
use crate::output::{self, Format, age::age, table};
use crate::session::Session;
use crate::style::state_cell;

pub async fn run(session: &Session, args: &ListArgs) -> Result<()> {
    let namespace = session.namespace().await?;
    let format = Format::from(args.output.output);
    let resource = SYSTEM_BACKUP.api_resource();
    let (objects, missing) = if args.names.is_empty() {
        let selector = api::Selector {
            labels: args.output.selector.clone(),
            ..Default::default()
        };
        let items = api::list_items(session, &resource, Some(namespace), selector)
            .await
            .map_err(explain_missing(SYSTEM_BACKUP))?;
        (items, Vec::new())
    } else {
        get_named(session, namespace, &args.names).await?
    };

    // kubectl: an empty table is a message on stderr; -o json/yaml is an empty List.
    if objects.is_empty() && missing.is_empty() && (format.is_table() || format == Format::Name) {
        eprintln!("{}", output::no_resources_found(namespace));
        return Ok(());
    }
    let text = match format {
        Format::Table | Format::Wide => render_table(
            &objects,
            format == Format::Wide,
            args.output.no_headers,
            session.terminal.color(),
        ),
        Format::Name => output::render_names(SYSTEM_BACKUP, objects.iter().map(sb::name)),
        Format::Json | Format::Yaml => {
            output::render_objects(objects, args.names.len() == 1, format)?
        }
    };
    if !text.is_empty() {
        output::stdout(&text)?;
    }
    report_missing(missing)
}

/// `get NAME...`: one GET per name, as kubectl does; names that do not exist are
/// reported after the ones that do.
async fn get_named(
    session: &Session,
    namespace: &str,
    names: &[String],
) -> Result<(Vec<Value>, Vec<Error>)> {
    let resource = SYSTEM_BACKUP.api_resource();
    let mut found = Vec::new();
    let mut missing = Vec::new();
    for name in names {
        match api::get(session, &resource, Some(namespace), name).await {
            Ok(object) => found.push(object),
            Err(e) if api::is_missing_resource_type(&e) => {
                return Err(explain_missing(SYSTEM_BACKUP)(e));
            }
            Err(e) if e.is_not_found() => missing.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok((found, missing))
}

fn report_missing(missing: Vec<Error>) -> Result<()> {
    let count = missing.len();
    for error in missing {
        eprintln!("{error}");
    }
    if count > 0 {
        Err(Error::Reported(format!("{count} not found")))
    } else {
        Ok(())
    }
}

pub const HEADERS: &[&str] = &["NAME", "VERSION", "STATE", "CREATED", "LAST-SYNCED", "AGE"];
pub const WIDE_HEADERS: &[&str] = &["POLICY", "OWNER", "RECURRING-JOB", "MESSAGE"];

fn render_table(objects: &[Value], wide: bool, no_headers: bool, color: bool) -> String {
    let now = Timestamp::now();
    let none = || "<none>".to_string();
    let rows = objects
        .iter()
        .map(|object| {
            let mut row = vec![
                sb::name(object).to_string(),
                sb::version(object).map_or_else(none, str::to_string),
                state_cell(sb::state(object), color),
                sb::created_at(object).map_or_else(none, str::to_string),
                sb::last_synced_at(object).map_or_else(none, |t| age(Some(t), now)),
                age(sb::creation_timestamp(object), now),
            ];
            if wide {
                row.extend([
                    sb::policy(object).map_or_else(none, str::to_string),
                    sb::owner_node(object).map_or_else(none, str::to_string),
                    sb::recurring_job(object).map_or_else(none, str::to_string),
                    sb::error_message(object).map_or_else(none, str::to_string),
                ]);
            }
            row
        })
        .collect();
    let mut headers = HEADERS.to_vec();
    if wide {
        headers.extend_from_slice(WIDE_HEADERS);
    }
    table::render(&headers, rows, no_headers)
}
