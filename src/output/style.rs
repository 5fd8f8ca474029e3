//! Colour for states, on a terminal only.

use console::Style;

/// A state for a table cell: `<none>` when empty, coloured when `color`.
pub fn state_cell(state: &str, color: bool) -> String {
    if state.is_empty() {
        return "<none>".into();
    }
    if !color {
        return state.to_string();
    }
    let style = match state {
        "Ready" | "Completed" => Style::new().green(),
        "Error" => Style::new().red().bold(),
        "Deleting" => Style::new().magenta(),
        _ => Style::new().yellow(),
    };
    style.force_styling(true).apply_to(state).to_string()
}
