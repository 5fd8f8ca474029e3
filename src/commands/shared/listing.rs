//! `get`/`list` for any Longhorn kind, kubectl-style: one paged LIST (or one GET per
//! name), then a table with the kind's columns, `-o wide`, `-o json|yaml` (a `List`
//! unless exactly one name was asked for), or `-o name`.

use clap::Args;
use futures::StreamExt;
use jiff::Timestamp;
use serde_json::Value;

use crate::commands::error::{Reported, Result};
use crate::kube::selector::check_label_selector;
use crate::kube::{Selector, object};
use crate::longhorn::Longhorn;
use crate::longhorn::install::explain_missing;
use crate::longhorn::resources::LonghornKind;
use crate::output::table::{self, PagedTable};
use crate::output::{self, Format, OutputFormat};

/// Output flags shared by every listing command.
#[derive(Debug, Clone, Default, Args)]
pub struct ListOutputArgs {
    /// Output format: wide, json, yaml or name (default: a table)
    #[arg(short = 'o', long = "output", value_name = "FORMAT")]
    pub output: Option<OutputFormat>,
    /// Don't print the table header
    #[arg(long)]
    pub no_headers: bool,
    /// Label selector to filter on, e.g. -l key=value
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
}

impl ListOutputArgs {
    /// Refuses, before anything is sent, input the API server would refuse.
    pub fn check(&self) -> Result<()> {
        check_selector(self.selector.as_deref())
    }
}

/// Refuses a `-l` the API server would refuse, before anything is sent.
pub fn check_selector(selector: Option<&str>) -> Result<()> {
    if let Some(selector) = selector {
        check_label_selector(selector)?;
    }
    Ok(())
}

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
    pub missing: Vec<crate::kube::Error>,
}

/// All objects (matching `selector`), or the named ones: one GET per name, as kubectl
/// does, with missing names collected rather than fatal.
pub async fn fetch(
    longhorn: &Longhorn,
    kind: LonghornKind,
    names: &[String],
    selector: Option<String>,
) -> Result<Fetched> {
    let collection = kind.collection(longhorn.namespace());
    if names.is_empty() {
        let selector = Selector {
            labels: selector,
            ..Default::default()
        };
        let objects = longhorn
            .kube()
            .list_items(&collection, selector)
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
        match longhorn.kube().get(&collection.object(name)).await {
            Ok(object) => fetched.objects.push(object),
            Err(e) if e.is_not_found() && !e.is_missing_resource_type() => fetched.missing.push(e),
            Err(e) => return Err(explain_missing(kind)(e).into()),
        }
    }
    Ok(fetched)
}

/// What to print, and how.
pub struct Listing<'a> {
    pub kind: LonghornKind,
    /// Exactly one name was asked for: `-o json|yaml` prints the object, not a List.
    pub single: bool,
    pub output: &'a ListOutputArgs,
    pub columns: &'a Columns<'a>,
    pub color: bool,
}

/// Renders and prints what [`fetch`] found, then reports missing names (exit 1).
pub fn print(namespace: &str, fetched: Fetched, listing: &Listing<'_>) -> Result<()> {
    let format = Format::from(listing.output.output);
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
                color: listing.color,
            };
            render_table(
                &objects,
                listing.columns,
                &context,
                listing.output.no_headers,
            )
        }
        Format::Name => {
            output::render_names(&listing.kind.kind_group(), objects.iter().map(object::name))
        }
        Format::Json | Format::Yaml => output::render_objects(objects, listing.single, format)?,
    };
    if !text.is_empty() {
        output::stdout(&text)?;
    }
    let count = missing.len();
    for error in missing {
        eprintln!("{error}");
    }
    if count > 0 {
        Err(Reported::NotFound(count).into())
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

/// A list command in one call: fetch, then print; a table or names of every object
/// are printed page by page as the LIST arrives ([`stream`]).
pub async fn run(
    longhorn: &Longhorn,
    kind: LonghornKind,
    names: &[String],
    output: &ListOutputArgs,
    columns: &Columns<'_>,
    color: bool,
) -> Result<()> {
    let format = Format::from(output.output);
    if names.is_empty() && (format.is_table() || format == Format::Name) {
        let context = RowContext {
            now: Timestamp::now(),
            wide: format == Format::Wide,
            color,
        };
        return stream(longhorn, kind, output, columns, &context).await;
    }
    let fetched = fetch(longhorn, kind, names, output.selector.clone()).await?;
    let listing = Listing {
        kind,
        single: names.len() == 1,
        output,
        columns,
        color,
    };
    print(longhorn.namespace(), fetched, &listing)
}

/// Every object of `kind` (matching `-l`) as a table or names, each LIST page printed
/// as it arrives: the first rows show while later pages are still being asked for,
/// and memory holds one page.
async fn stream(
    longhorn: &Longhorn,
    kind: LonghornKind,
    output: &ListOutputArgs,
    columns: &Columns<'_>,
    context: &RowContext,
) -> Result<()> {
    let selector = Selector {
        labels: output.selector.clone(),
        ..Default::default()
    };
    let collection = kind.collection(longhorn.namespace());
    let pages = longhorn.kube().list_pages(&collection, selector);
    futures::pin_mut!(pages);
    let mut headers = columns.headers.to_vec();
    if context.wide {
        headers.extend_from_slice(columns.wide_headers);
    }
    let mut table = PagedTable::new(&headers, output.no_headers);
    let names_only = Format::from(output.output) == Format::Name;
    let mut printed = 0;
    while let Some(page) = pages.next().await {
        let mut page = page.map_err(explain_missing(kind))?;
        let items = match page.get_mut("items").map(Value::take) {
            Some(Value::Array(items)) => items,
            _ => continue,
        };
        if items.is_empty() {
            continue;
        }
        printed += items.len();
        let text = if names_only {
            output::render_names(&kind.kind_group(), items.iter().map(object::name))
        } else {
            table.page(items.iter().map(|o| (columns.row)(o, context)).collect())
        };
        output::stdout(&text)?;
    }
    if printed == 0 {
        eprintln!("{}", output::no_resources_found(longhorn.namespace()));
    }
    Ok(())
}

/// `<none>` for a missing value, as kubectl prints it in tables.
pub fn or_none(value: Option<&str>) -> String {
    value
        .filter(|v| !v.is_empty())
        .unwrap_or("<none>")
        .to_string()
}
