//! Questions to the user (dialoguer, drawn on stderr). Only when a person can answer:
//! stdin and stderr are terminals. Elsewhere the caller must have been told by a flag.

use dialoguer::theme::ColorfulTheme;
use dialoguer::{Confirm, Input, Select};

use super::{Error, Result, Terminal};

fn prompt_error(e: dialoguer::Error) -> Error {
    match e {
        dialoguer::Error::IO(io) if io.kind() == std::io::ErrorKind::Interrupted => {
            Error::Interrupted
        }
        dialoguer::Error::IO(io) => Error::Prompt(io),
    }
}

/// Asks before a destructive step. `yes` (from `-y`) answers for the user; without a
/// terminal and without `-y` the answer is a refusal that says how to proceed.
pub fn confirm(terminal: Terminal, question: &str, yes: bool) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !terminal.can_prompt() {
        return Err(Error::NoTerminal);
    }
    Confirm::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .default(false)
        .interact()
        .map_err(prompt_error)
}

/// Asks for a line of text, re-asking until `validate` accepts it.
pub fn text(
    question: &str,
    validate: impl Fn(&String) -> std::result::Result<(), String>,
) -> Result<String> {
    Input::<String>::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .validate_with(|input: &String| validate(input))
        .interact_text()
        .map_err(prompt_error)
}

/// Asks to pick one of `items`; returns its index.
pub fn choose(question: &str, items: &[&str], default: usize) -> Result<usize> {
    Select::with_theme(&ColorfulTheme::default())
        .with_prompt(question)
        .items(items)
        .default(default)
        .interact()
        .map_err(prompt_error)
}
