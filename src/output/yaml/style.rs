//! Which style go-yaml v2 gives a string: what libyaml's emitter finds in it
//! (`yaml_emitter_analyze_scalar`), what go-yaml asks for (`stringv`), and what the
//! emitter settles on (`yaml_emitter_select_scalar_style`).

use super::resolve::{is_base60_float, resolves_to_string};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

/// A string the emitter writes plain whatever it analyses, checked without analysing
/// it: a letter, `_` or `/` first, then only `[A-Za-z0-9._/@+=-]` or a `:` that is not
/// last (so no indicator, space, break or special character), and not one of YAML 1.1's
/// words go-yaml resolves to something else. Most of a cluster's strings are such, and
/// this keeps the bundle's YAML fast; every other string takes the full analysis.
pub(super) fn is_simple_plain(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'/') {
        return false;
    }
    let safe = |b: u8| {
        b.is_ascii_alphanumeric()
            || matches!(b, b'.' | b'_' | b'/' | b'@' | b'+' | b'=' | b'-' | b':')
    };
    if !bytes.iter().all(|&b| safe(b)) || bytes.last() == Some(&b':') {
        return false;
    }
    // Words resolve finds special start with one of these letters (`y`, `null`, `~`…).
    !matches!(
        first,
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O'
    ) || resolves_to_string(s)
}

pub(super) fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable` (with go-yaml's unicode output): characters outside the
/// Basic Multilingual Plane are not.
pub(super) fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// What `yaml_emitter_analyze_scalar` finds out about a string.
/// (Only block context occurs here, so flow-context facts are not kept.)
#[derive(Debug, Default)]
pub(super) struct Analysis {
    pub(super) multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

pub(super) fn analyze(value: &str) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let chars: Vec<char> = value.chars().collect();
    let mut block_indicators = false;
    if value.starts_with("---") || value.starts_with("...") {
        block_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let (mut line_breaks, mut special_characters) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break, mut previous_space, mut previous_break) =
        (false, false, false, false);
    for (i, &c) in chars.iter().enumerate() {
        // go-yaml: the end or a blank follows; a blank, a break or NUL precedes.
        let followed_by_whitespace = matches!(chars.get(i + 1), None | Some(' ' | '\t'));
        block_indicators |= indicator(c, i == 0, preceded_by_whitespace, followed_by_whitespace);
        if !is_printable(c) {
            special_characters = true;
        }
        if c == ' ' {
            leading_space |= i == 0;
            trailing_space |= i + 1 == chars.len();
            break_space |= previous_break;
            previous_space = true;
            previous_break = false;
        } else if is_break(c) {
            line_breaks = true;
            leading_break |= i == 0;
            trailing_break |= i + 1 == chars.len();
            space_break |= previous_space;
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(c, ' ' | '\t' | '\0') || is_break(c);
    }
    Analysis {
        multiline: line_breaks,
        block_plain_allowed: !(leading_space
            || leading_break
            || trailing_space
            || trailing_break
            || line_breaks
            || break_space
            || space_break
            || special_characters
            || block_indicators),
        single_quoted_allowed: !(break_space || space_break || special_characters),
        block_allowed: !(trailing_space || space_break || special_characters),
    }
}

/// Whether `c` rules out a plain scalar in block context (libyaml's block indicators).
fn indicator(
    c: char,
    first: bool,
    preceded_by_whitespace: bool,
    followed_by_whitespace: bool,
) -> bool {
    match c {
        '#' | ',' | '[' | ']' | '{' | '}' | '&' | '*' | '!' | '|' | '>' | '\'' | '"' | '%'
        | '@' | '`'
            if first =>
        {
            true
        }
        ':' => followed_by_whitespace,
        '?' | '-' if first => followed_by_whitespace,
        '#' => preceded_by_whitespace,
        _ => false,
    }
}

/// `yaml_emitter_select_scalar_style` in block context.
pub(super) fn select(requested: Style, analysis: &Analysis, simple_key: bool) -> Style {
    let mut style = requested;
    // (An empty string is never plain here: it would read back as null.)
    if style == Style::Plain && !analysis.block_plain_allowed {
        style = Style::Single;
    }
    if style == Style::Single && !analysis.single_quoted_allowed {
        style = Style::Double;
    }
    if style == Style::Literal && (!analysis.block_allowed || simple_key) {
        style = Style::Double;
    }
    style
}

/// go-yaml's `stringv`: literal for multi-line text, plain when the text would read
/// back as a string, double-quoted when it would read back as something else.
pub(super) fn requested_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    }
}
