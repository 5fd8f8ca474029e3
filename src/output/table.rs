//! kubectl's table: no borders, upper-case headers, columns three spaces apart, no
//! trailing spaces (kubectl's tab writer, padding 3:
//! `kubernetes/cli-runtime:pkg/printers/tabwriter.go@v0.33.0`).

use comfy_table::{ColumnConstraint, ContentArrangement, Table, Width, presets};

/// Columns are this many spaces apart.
const GAP: u16 = 3;

/// Renders rows under headers; `no_headers` drops the header line.
pub fn render(headers: &[&str], rows: Vec<Vec<String>>, no_headers: bool) -> String {
    PagedTable::new(headers, no_headers).page(rows)
}

/// A table printed a page at a time, as a long list arrives: the header comes with the
/// first page, and every column is as wide as its widest cell so far, so pages line
/// up unless a later cell is wider than all before it.
pub struct PagedTable {
    headers: Vec<String>,
    header_pending: bool,
    widths: Vec<u16>,
}

impl PagedTable {
    pub fn new(headers: &[&str], no_headers: bool) -> Self {
        PagedTable {
            headers: headers.iter().map(|h| h.to_string()).collect(),
            header_pending: !no_headers,
            widths: vec![0; headers.len()],
        }
    }

    /// The lines of one page of rows (with the header before the first).
    pub fn page(&mut self, rows: Vec<Vec<String>>) -> String {
        let mut table = Table::new();
        table.load_style(presets::NOTHING);
        table.set_content_arrangement(ContentArrangement::Disabled);
        if std::mem::take(&mut self.header_pending) {
            table.set_header(self.headers.clone());
        }
        for row in rows {
            table.add_row(row);
        }
        for (width, content) in self
            .widths
            .iter_mut()
            .zip(table.column_max_content_widths())
        {
            *width = (*width).max(content);
        }
        for (column, width) in table.column_iter_mut().zip(&self.widths) {
            column.set_padding((0, GAP));
            column.set_constraint(ColumnConstraint::LowerBoundary(Width::Fixed(width + GAP)));
        }
        table
            .lines()
            .map(|line| format!("{}\n", line.trim_end()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_three_spaces_apart_without_trailing_space() {
        let text = render(
            &["NAME", "STATE", "AGE"],
            vec![
                vec!["demo".into(), "Ready".into(), "5m".into()],
                vec!["a-longer-name".into(), "".into(), "10s".into()],
            ],
            false,
        );
        assert_eq!(
            text,
            "NAME            STATE   AGE\ndemo            Ready   5m\na-longer-name           10s\n"
        );
    }

    #[test]
    fn no_headers_drops_the_header_line() {
        let text = render(&["NAME"], vec![vec!["demo".into()]], true);
        assert_eq!(text, "demo\n");
    }

    #[test]
    fn pages_line_up_with_the_widest_cell_so_far() {
        let mut table = PagedTable::new(&["NAME", "STATE"], false);
        let first = table.page(vec![vec!["a-long-name".into(), "Ready".into()]]);
        let second = table.page(vec![vec!["b".into(), "Error".into()]]);
        assert_eq!(
            format!("{first}{second}"),
            "NAME          STATE\na-long-name   Ready\nb             Error\n"
        );
        let mut bare = PagedTable::new(&["NAME", "STATE"], true);
        assert_eq!(bare.page(vec![vec!["ab".into(), "x".into()]]), "ab   x\n");
        assert_eq!(bare.page(vec![vec!["a".into(), "y".into()]]), "a    y\n");
    }

    #[test]
    fn ansi_colour_does_not_shift_columns() {
        let text = render(
            &["STATE", "AGE"],
            vec![vec!["\u{1b}[32mReady\u{1b}[0m".into(), "1s".into()]],
            false,
        );
        assert_eq!(text, "STATE   AGE\n\u{1b}[32mReady\u{1b}[0m   1s\n");
    }
}
