//! `-o yaml` exactly as kubectl prints it. kubectl turns the object's JSON into YAML
//! with sigs.k8s.io/yaml, i.e. go-yaml v2's encoder and its libyaml-derived emitter:
//! block style, two-space indentation, sequences at their key's column, map keys in
//! go-yaml's "natural" order, and for each string the style the emitter picks —
//! plain, single-quoted, double-quoted or literal (`|`) — with plain and quoted
//! strings folded at spaces past column 80. This module reproduces those rules
//! (go-yaml v2.4 `encode.go` `stringv`/`floatv`, `resolve.go`, `emitterc.go`
//! `yaml_emitter_analyze_scalar`, `select_scalar_style`, `write_*_scalar`).

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

/// go-yaml's `best_width` and `best_indent`.
const BEST_WIDTH: usize = 80;
const INDENT: usize = 2;

/// The YAML document kubectl prints for `value` (a JSON object).
pub fn to_string(value: &Value) -> String {
    let mut emitter = Emitter {
        whitespace: true,
        indention: true,
        ..Emitter::default()
    };
    emitter.node(value, 0, Context::Root);
    // Document end, then stream end ("..." after a kept final line break).
    emitter.write_indent(0);
    if emitter.open_ended {
        emitter.indicator("...", true, false, false);
        emitter.write_indent(0);
    }
    emitter.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    /// A mapping value; its mapping is at the given column.
    MapValue,
    /// A sequence item.
    Item,
}

#[derive(Default)]
struct Emitter {
    out: String,
    /// Characters on the current line.
    column: usize,
    /// The last character written is white space (or the line is empty).
    whitespace: bool,
    /// Only indentation so far on this line.
    indention: bool,
    open_ended: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

impl Emitter {
    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn indicator(
        &mut self,
        text: &str,
        need_whitespace: bool,
        is_whitespace: bool,
        is_indention: bool,
    ) {
        if need_whitespace && !self.whitespace {
            self.put(' ');
        }
        for c in text.chars() {
            self.put(c);
        }
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// A node whose parent collection sits at `indent`.
    fn node(&mut self, value: &Value, indent: usize, context: Context) {
        match value {
            Value::Object(map) if !map.is_empty() => self.mapping(map, indent, context),
            Value::Array(items) if !items.is_empty() => self.sequence(items, indent, context),
            Value::Object(_) => self.indicator("{}", true, false, false),
            Value::Array(_) => self.indicator("[]", true, false, false),
            Value::Null => self.scalar("null", Style::Plain, indent, context),
            Value::Bool(b) => self.scalar(
                if *b { "true" } else { "false" },
                Style::Plain,
                indent,
                context,
            ),
            Value::Number(n) => self.scalar(&number(n), Style::Plain, indent, context),
            Value::String(s) => self.scalar(s, requested_style(s), indent, context),
        }
    }

    fn mapping(&mut self, map: &Map<String, Value>, parent: usize, context: Context) {
        // Block mappings indent by two below their parent, except at the root.
        let indent = if context == Context::Root {
            0
        } else {
            parent + INDENT
        };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort_by(|a, b| natural_order(a, b));
        for key in keys {
            self.write_indent(indent);
            self.simple_key(key);
            self.indicator(":", false, false, false);
            let value = &map[key.as_str()];
            self.node(value, indent, Context::MapValue);
        }
    }

    fn sequence(&mut self, items: &[Value], parent: usize, context: Context) {
        // A sequence in a mapping is "indentless": its dashes sit at the key's column.
        let indent = match context {
            Context::Root => 0,
            Context::MapValue => parent,
            Context::Item => parent + INDENT,
        };
        for item in items {
            self.write_indent(indent);
            self.indicator("-", true, false, true);
            self.node(item, indent, Context::Item);
        }
    }

    fn simple_key(&mut self, key: &str) {
        let analysis = analyze(key);
        let mut style = requested_style(key);
        if analysis.multiline {
            style = Style::Double;
        }
        style = select(style, &analysis, true);
        self.write_scalar(key, style, 0, false);
    }

    fn scalar(&mut self, value: &str, requested: Style, parent: usize, context: Context) {
        let analysis = analyze(value);
        let style = select(requested, &analysis, false);
        // The emitter indents a scalar two past its collection's indentation.
        let indent = match context {
            Context::Root => 0,
            _ => parent + INDENT,
        };
        self.write_scalar(value, style, indent, true);
    }

    fn write_scalar(&mut self, value: &str, style: Style, indent: usize, allow_breaks: bool) {
        match style {
            Style::Plain => self.plain(value, indent, allow_breaks),
            Style::Single => self.single_quoted(value, indent, allow_breaks),
            Style::Double => self.double_quoted(value, indent, allow_breaks),
            Style::Literal => self.literal(value, indent),
        }
    }

    fn plain(&mut self, value: &str, indent: usize, allow_breaks: bool) {
        if !self.whitespace {
            self.put(' ');
        }
        self.folded_text(value, indent, allow_breaks, false);
    }

    fn single_quoted(&mut self, value: &str, indent: usize, allow_breaks: bool) {
        self.indicator("'", true, false, false);
        self.folded_text(value, indent, allow_breaks, true);
        self.indicator("'", false, false, false);
    }

    /// The body of a plain or single-quoted scalar: a space past column 80 becomes a
    /// line break (never the first or last character, nor one of several spaces;
    /// plain text has no leading or trailing spaces anyway), quotes are doubled.
    fn folded_text(&mut self, value: &str, indent: usize, allow_breaks: bool, quoted: bool) {
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        let mut breaks = false;
        for (i, &c) in chars.iter().enumerate() {
            if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                    && chars[i + 1] != ' '
                {
                    self.write_indent(indent);
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                if quoted && c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn double_quoted(&mut self, value: &str, indent: usize, allow_breaks: bool) {
        self.indicator("\"", true, false, false);
        let chars: Vec<char> = value.chars().collect();
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if !is_printable(c) || c == '\u{FEFF}' || is_break(c) || c == '"' || c == '\\' {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{A0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    other => {
                        let v = other as u32;
                        let (letter, width) = match v {
                            0..=0xFF => ('x', 2),
                            0x100..=0xFFFF => ('u', 4),
                            _ => ('U', 8),
                        };
                        self.put(letter);
                        for digit in format!("{v:0width$X}").chars() {
                            self.put(digit);
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i > 0
                    && i + 1 < chars.len()
                {
                    self.write_indent(indent);
                    if chars[i + 1] == ' ' {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn literal(&mut self, value: &str, indent: usize) {
        self.indicator("|", true, false, false);
        // Block scalar hints: an indentation indicator when the text starts with white
        // space, and the chomping indicator.
        if value.starts_with([' ', '\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']) {
            self.indicator(&INDENT.to_string(), false, false, false);
        }
        self.open_ended = false;
        let chars: Vec<char> = value.chars().collect();
        let chomp = match chars.as_slice() {
            [] => Some('-'),
            [.., last] if !is_break(*last) => Some('-'),
            [_] => Some('+'),
            [.., before, _] if is_break(*before) => Some('+'),
            _ => None,
        };
        if let Some(chomp) = chomp {
            self.indicator(&chomp.to_string(), false, false, false);
            if chomp == '+' {
                self.open_ended = true;
            }
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for &c in &chars {
            if is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent(indent);
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }

    /// libyaml's `write_break`: a line feed starts a new line; other breaks are copied.
    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }
}

fn is_break(c: char) -> bool {
    matches!(c, '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
}

/// libyaml's `is_printable` (with go-yaml's unicode output): characters outside the
/// Basic Multilingual Plane are not.
fn is_printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7E}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        && c != '\u{FEFF}'
}

/// What `yaml_emitter_analyze_scalar` finds out about a string.
/// (Only block context occurs here, so flow-context facts are not kept.)
#[derive(Debug, Default)]
struct Analysis {
    multiline: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
}

fn analyze(value: &str) -> Analysis {
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
fn select(requested: Style, analysis: &Analysis, simple_key: bool) -> Style {
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
fn requested_style(s: &str) -> Style {
    if s.contains('\n') {
        Style::Literal
    } else if resolves_to_string(s) && !is_base60_float(s) {
        Style::Plain
    } else {
        Style::Double
    }
}

/// go-yaml v2 `resolve("", s)` yields `!!str`.
fn resolves_to_string(s: &str) -> bool {
    const SPECIAL: [&str; 39] = [
        "y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE", "n", "N", "no",
        "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", "", "~", "null", "Null",
        "NULL", ".nan", ".NaN", ".NAN", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
        "-.Inf", "-.INF",
    ];
    let Some(first) = s.chars().next() else {
        return false;
    };
    let hint = match first {
        '+' | '-' | '0'..='9' => 'D',
        'y' | 'Y' | 'n' | 'N' | 't' | 'T' | 'f' | 'F' | 'o' | 'O' | '~' => 'M',
        '.' => '.',
        _ => return true,
    };
    if SPECIAL.contains(&s) || s == "<<" {
        return false;
    }
    match hint {
        '.' => !is_go_float(s),
        'D' => {
            if is_timestamp(s) {
                return false;
            }
            let plain = s.replace('_', "");
            !(is_go_int(&plain) || (is_yaml_style_float(&plain) && is_go_float(&plain)))
        }
        _ => true,
    }
}

/// `strconv.ParseInt(s, 0, 64)` or `ParseUint` succeed (sign, 0x/0o/0b/0 prefixes).
fn is_go_int(s: &str) -> bool {
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'+') => (false, &s[1..]),
        Some(b'-') => (true, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if body.is_empty() {
        return false;
    }
    match u64::from_str_radix(body, radix) {
        Ok(v) if negative => v <= 1 << 63,
        Ok(_) => true,
        Err(_) => false,
    }
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| digits(e.strip_prefix(['+', '-']).unwrap_or(e)));
    mantissa_ok && exponent_ok
}

/// `strconv.ParseFloat` succeeds without overflow, for the decimal forms reached here.
fn is_go_float(s: &str) -> bool {
    is_yaml_style_float(s) && s.parse::<f64>().is_ok_and(f64::is_finite)
}

/// go-yaml's `isBase60Float`: `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`.
fn is_base60_float(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (body, fraction) = match s.split_once('.') {
        Some((body, fraction)) => (body, Some(fraction)),
        None => (s, None),
    };
    let mut parts = body.split(':');
    let head = parts.next().unwrap_or_default();
    let head_ok = head.starts_with(|c: char| c.is_ascii_digit())
        && head.bytes().all(|b| b.is_ascii_digit() || b == b'_');
    let sixties: Vec<&str> = parts.collect();
    let sixties_ok = !sixties.is_empty()
        && sixties.iter().all(|p| {
            let b = p.as_bytes();
            match b {
                [d] => d.is_ascii_digit(),
                [t, d] => (b'0'..=b'5').contains(t) && d.is_ascii_digit(),
                _ => false,
            }
        });
    let fraction_ok = fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit() || b == b'_'));
    head_ok && sixties_ok && fraction_ok
}

/// go-yaml's `parseTimestamp`: `2006-1-2`, `2006-1-2 15:4:5.999999999` or
/// `2006-1-2T15:4:5.999999999Z07:00` (also with `t`), as Go's `time.Parse` takes them.
fn is_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 5 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' {
        return false;
    }
    let year: i64 = s[..4].parse().unwrap_or(0);
    let mut at = 5;
    // Go's non-padded fields take one or two digits.
    let number = |at: &mut usize| -> Option<i64> {
        let start = *at;
        while *at < b.len() && *at - start < 2 && b[*at].is_ascii_digit() {
            *at += 1;
        }
        (*at > start).then(|| s[start..*at].parse().ok()).flatten()
    };
    let Some(month) = number(&mut at) else {
        return false;
    };
    if at >= b.len() || b[at] != b'-' {
        return false;
    }
    at += 1;
    let Some(day) = number(&mut at) else {
        return false;
    };
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month) || day < 1 || day > days[month as usize - 1] {
        return false;
    }
    if at == b.len() {
        return true;
    }
    let zoned = match b[at] {
        b'T' | b't' => true,
        b' ' => false,
        _ => return false,
    };
    at += 1;
    let mut clock = [0i64; 3];
    for (i, part) in clock.iter_mut().enumerate() {
        if i > 0 {
            if at >= b.len() || b[at] != b':' {
                return false;
            }
            at += 1;
        }
        let Some(value) = number(&mut at) else {
            return false;
        };
        *part = value;
    }
    if clock[0] > 23 || clock[1] > 59 || clock[2] > 59 {
        return false;
    }
    if at < b.len() && matches!(b[at], b'.' | b',') && b.get(at + 1).is_some_and(u8::is_ascii_digit)
    {
        at += 1;
        while at < b.len() && b[at].is_ascii_digit() {
            at += 1;
        }
    }
    if !zoned {
        return at == b.len();
    }
    match &s[at..] {
        "Z" => true,
        zone => {
            let z = zone.as_bytes();
            z.len() == 6
                && matches!(z[0], b'+' | b'-')
                && z[1..3].iter().all(u8::is_ascii_digit)
                && z[3] == b':'
                && z[4..6].iter().all(u8::is_ascii_digit)
        }
    }
}

/// A JSON number as go-yaml prints what it decoded: integers as they are, other
/// numbers with Go's `strconv.FormatFloat(f, 'g', -1, 64)`.
fn number(n: &Number) -> String {
    if n.is_i64() || n.is_u64() {
        return n.to_string();
    }
    let f = n.as_f64().unwrap_or_default();
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    if f.is_nan() {
        return ".nan".into();
    }
    // Rust's shortest representation, in exponent form: d.ddde±x.
    let text = format!("{f:e}");
    let (mantissa, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if !(-4..6).contains(&exponent) {
        // Go's shortest 'g' switches to %e when the exponent is < -4 or >= 6.
        let (first, rest) = digits.split_at(1);
        let rest = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exp_sign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{first}{rest}e{exp_sign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!(
            "{sign}{digits}{}",
            "0".repeat(point as usize - digits.len())
        )
    } else {
        let (int, frac) = digits.split_at(point as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// go-yaml v2's `keyList.Less`: letters compare as characters, a non-letter before a
/// letter, runs of digits by their value.
fn natural_order(a: &str, b: &str) -> Ordering {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .wrapping_mul(10)
                .wrapping_add(i64::from(ar[ai] as u8 - b'0'));
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .wrapping_mul(10)
                .wrapping_add(i64::from(br[bi] as u8 - b'0'));
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn yaml(value: Value) -> String {
        to_string(&value)
    }

    #[test]
    fn layout_is_go_yamls() {
        assert_eq!(
            yaml(json!({"b": {"c": [1, {"d": "e", "f": []}], "g": {}}, "a": null, "h": [[1, 2]]})),
            "a: null\nb:\n  c:\n  - 1\n  - d: e\n    f: []\n  g: {}\nh:\n- - 1\n  - 2\n"
        );
    }

    #[test]
    fn strings_take_the_style_go_yaml_gives_them() {
        for (text, shown) in [
            ("plain", "plain"),
            ("", "\"\""),
            ("true", "\"true\""),
            ("yes", "\"yes\""),
            ("on", "\"on\""),
            ("null", "\"null\""),
            ("~", "\"~\""),
            ("123", "\"123\""),
            ("0x1F", "\"0x1F\""),
            ("08", "\"08\""),
            ("1e3", "\"1e3\""),
            ("1e400", "1e400"),
            (".5", "\".5\""),
            ("1:20", "\"1:20\""),
            ("2026-11-27T19:19:11Z", "\"2026-11-27T19:19:11Z\""),
            ("2026-1-2", "\"2026-1-2\""),
            ("2026-13-02", "2026-13-02"),
            ("v1.12.0", "v1.12.0"),
            ("0 2 * * *", "0 2 * * *"),
            ("*/30 9-17 * * mon-fri", "'*/30 9-17 * * mon-fri'"),
            ("@every 12h", "'@every 12h'"),
            ("a: b", "'a: b'"),
            ("a:b", "a:b"),
            ("- x", "'- x'"),
            ("-x", "-x"),
            ("a #b", "'a #b'"),
            ("a#b", "a#b"),
            (" lead", "' lead'"),
            ("trail ", "'trail '"),
            ("it's: x", "'it''s: x'"),
            ("tab\there", "\"tab\\there\""),
            ("emoji 😀", "\"emoji \\U0001F600\""),
            ("é", "é"),
            ("<<", "<<"),
            ("{x}", "'{x}'"),
        ] {
            assert_eq!(
                yaml(json!({"k": text})),
                format!("k: {shown}\n"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn long_strings_fold_past_column_80() {
        let text = "failed to unpack system backup from file: unzip: cannot find zipfile directory";
        assert_eq!(
            yaml(json!({"status": {"conditions": [{"message": text}]}})),
            "status:\n  conditions:\n  - message: 'failed to unpack system backup from file: unzip: cannot find zipfile\n      directory'\n"
        );
        let plain = "word ".repeat(20);
        let plain = plain.trim_end();
        assert_eq!(
            yaml(json!({"k": plain})),
            format!(
                "k: {}\n  {}\n",
                "word ".repeat(16).trim_end(),
                "word ".repeat(4).trim_end()
            )
        );
    }

    #[test]
    fn multi_line_text_is_a_literal_block() {
        assert_eq!(yaml(json!({"k": "a\nb"})), "k: |-\n  a\n  b\n");
        assert_eq!(yaml(json!({"k": "a\nb\n"})), "k: |\n  a\n  b\n");
        assert_eq!(yaml(json!({"k": "a\n\n"})), "k: |+\n  a\n\n...\n");
        assert_eq!(yaml(json!({"k": " a\nb"})), "k: |2-\n   a\n  b\n");
        assert_eq!(yaml(json!({"k": "a \nb"})), "k: \"a \\nb\"\n");
    }

    #[test]
    fn numbers_print_as_go_formats_them() {
        assert_eq!(
            yaml(
                json!({"a": 1, "b": 1.5, "c": 1e21, "d": 0.00001, "e": 1000000.0, "f": -2.0, "g": 123456.0, "h": 0.0001})
            ),
            "a: 1\nb: 1.5\nc: 1e+21\nd: 1e-05\ne: 1e+06\nf: -2\ng: 123456\nh: 0.0001\n"
        );
    }

    #[test]
    fn keys_sort_naturally() {
        assert_eq!(
            yaml(json!({"a10": 1, "a9": 2, "_x": 3, "Z": 4, "b": 5})),
            "_x: 3\nZ: 4\na9: 2\na10: 1\nb: 5\n"
        );
    }
}
