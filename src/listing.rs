//! `get`/`list` for any Longhorn kind, kubectl-style: one paged LIST (or one GET per
//! name), then a table with the kind's columns, `-o wide`, `-o json|yaml` (a `List`
//! unless exactly one name was asked for), or `-o name`.

use jiff::Timestamp;
use serde_json::Value;

use crate::api;
use crate::cli::ListOutputArgs;
use crate::error::{Error, Result};
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::LonghornKind;
use crate::longhorn::systembackup::name;
use crate::output::{self, Format, table};
use crate::session::Session;

/// How a kind shows in a table: its headers, the extra `-o wide` headers, and a row.
pub struct Columns<'a> {
    pub headers: &'static [&'static str],
    pub wide_headers: &'static [&'static str],
    /// Cells of one object: the normal ones, followed by the wide ones when `wide`.
    pub row: &'a dyn Fn(&Value, &RowContext) -> Vec<String>,
}

/// What a row may depend on besides the object.
pub struct RowContext {
    pub now: Timestamp,
    pub wide: bool,
    pub color: bool,
}

/// Objects found, and not-found errors for names that were asked for.
pub struct Fetched {
    pub objects: Vec<Value>,
    pub missing: Vec<Error>,
}

/// All objects (matching `selector`), or the named ones: one GET per name, as kubectl
/// does, with missing names collected rather than fatal.
pub async fn fetch(
    session: &Session,
    kind: LonghornKind,
    namespace: &str,
    names: &[String],
    selector: Option<String>,
) -> Result<Fetched> {
    let resource = kind.api_resource();
    if names.is_empty() {
        let selector = api::Selector {
            labels: selector,
            ..Default::default()
        };
        let objects = api::list_items(session, &resource, Some(namespace), selector)
            .await
            .map_err(explain_missing(kind))?;
        return Ok(Fetched {
            objects,
            missing: Vec::new(),
        });
    }
    let mut fetched = Fetched {
        objects: Vec::new(),
        missing: Vec::new(),
    };
    for name in names {
        match api::get(session, &resource, Some(namespace), name)
            .await
            .map_err(explain_missing(kind))
        {
            Ok(object) => fetched.objects.push(object),
            Err(e @ Error::Api(_)) if e.is_not_found() => fetched.missing.push(e),
            Err(e) => return Err(e),
        }
    }
    Ok(fetched)
}

/// Renders and prints what [`fetch`] found, then reports missing names (exit 1).
pub fn print(
    session: &Session,
    kind: LonghornKind,
    namespace: &str,
    fetched: Fetched,
    single: bool,
    output: &ListOutputArgs,
    columns: &Columns<'_>,
) -> Result<()> {
    let format = Format::from(output.output);
    let Fetched { objects, missing } = fetched;
    // kubectl: an empty table is a message on stderr; -o json/yaml is an empty List.
    if objects.is_empty() && missing.is_empty() && (format.is_table() || format == Format::Name) {
        eprintln!("{}", output::no_resources_found(namespace));
        return Ok(());
    }
    let text = match format {
        Format::Table | Format::Wide => {
            let context = RowContext {
                now: Timestamp::now(),
                wide: format == Format::Wide,
                color: session.terminal.color(),
            };
            render_table(&objects, columns, &context, output.no_headers)
        }
        Format::Name => output::render_names(kind, objects.iter().map(name)),
        Format::Json | Format::Yaml => output::render_objects(objects, single, format)?,
    };
    if !text.is_empty() {
        output::stdout(&text)?;
    }
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

pub fn render_table(
    objects: &[Value],
    columns: &Columns<'_>,
    context: &RowContext,
    no_headers: bool,
) -> String {
    let rows = objects
        .iter()
        .map(|object| (columns.row)(object, context))
        .collect();
    let mut headers = columns.headers.to_vec();
    if context.wide {
        headers.extend_from_slice(columns.wide_headers);
    }
    table::render(&headers, rows, no_headers)
}

/// A list command in one call: fetch, then print.
pub async fn run(
    session: &Session,
    kind: LonghornKind,
    names: &[String],
    output: &ListOutputArgs,
    columns: &Columns<'_>,
) -> Result<()> {
    let namespace = session.namespace().await?;
    let fetched = fetch(session, kind, namespace, names, output.selector.clone()).await?;
    print(
        session,
        kind,
        namespace,
        fetched,
        names.len() == 1,
        output,
        columns,
    )
}

/// `<none>` for a missing value, as kubectl prints it in tables.
pub fn or_none(value: Option<&str>) -> String {
    value
        .filter(|v| !v.is_empty())
        .unwrap_or("<none>")
        .to_string()
}
