//! kubectl's table: no borders, upper-case headers, columns three spaces apart, no
//! trailing spaces (kubectl's tab writer, padding 3:
//! `kubernetes/cli-runtime:pkg/printers/tabwriter.go@v0.33.0`).

use comfy_table::{ContentArrangement, Table, presets};

/// Renders rows under headers; `no_headers` drops the header line.
pub fn render(headers: &[&str], rows: Vec<Vec<String>>, no_headers: bool) -> String {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    if !no_headers {
        table.set_header(headers.to_vec());
    }
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 3));
    }
    table
        .lines()
        .map(|line| format!("{}\n", line.trim_end()))
        .collect()
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
    fn ansi_colour_does_not_shift_columns() {
        let text = render(
            &["STATE", "AGE"],
            vec![vec!["\u{1b}[32mReady\u{1b}[0m".into(), "1s".into()]],
            false,
        );
        assert_eq!(text, "STATE   AGE\n\u{1b}[32mReady\u{1b}[0m   1s\n");
    }
}
