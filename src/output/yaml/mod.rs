//! The one YAML writer: YAML exactly as kubectl prints it, for `-o yaml`, the
//! summaries' `-o yaml` and every file of a bundle (which longhorn-manager writes with
//! the same library). kubectl turns the object's JSON into YAML with
//! sigs.k8s.io/yaml, i.e. go-yaml v2's encoder and its libyaml-derived emitter: block
//! style, two-space indentation, sequences at their key's column, map keys in go-yaml's
//! "natural" order ([`order`]), and for each string the style the emitter picks
//! ([`style`]) — plain, single-quoted, double-quoted or literal (`|`) — with plain and
//! quoted strings folded at spaces past column 80. This module reproduces those rules
//! (go-yaml v2.4 `encode.go` `stringv`/`floatv`, `resolve.go`, `emitterc.go`
//! `yaml_emitter_analyze_scalar`, `select_scalar_style`, `write_*_scalar`); the
//! end-to-end tests compare it byte for byte with kubectl's output and decode every
//! bundle file with Kubernetes' own decoder (docs/design.md, "One YAML writer").
//!
//! It writes bytes, and most strings of a cluster take a fast path
//! ([`style::is_simple_plain`]) that skips the analysis; a bundle of thousands of
//! objects is written at the speed of the zip that compresses it.

#[cfg(test)]
mod differential;
mod order;
mod resolve;
mod style;
#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use order::sorted_keys;
use resolve::number;
use style::{Style, analyze, is_break, is_printable, is_simple_plain, requested_style, select};

/// The longest key go-yaml writes as a simple key (`key: value`); a longer one, or one
/// with a line break, is written `? key` / `: value` (emitterc.go `check_simple_key`).
const MAX_SIMPLE_KEY_BYTES: usize = 128;

/// Whether `key` can be a simple key.
fn is_simple_key(key: &str) -> bool {
    key.len() <= MAX_SIMPLE_KEY_BYTES && (is_simple_plain(key) || !analyze(key).multiline)
}

/// go-yaml's `best_width` and `best_indent`.
const BEST_WIDTH: usize = 80;
const INDENT: usize = 2;

/// The YAML document kubectl prints for `value` (a JSON object).
pub fn to_string(value: &Value) -> String {
    let mut emitter = Emitter::new();
    emitter.node(value, 0, Context::Root);
    emitter.end_document();
    into_string(emitter.out)
}

/// A mapping whose keys come in the given order, as yaml.v2 marshals a struct (its
/// fields in declaration order), with string values.
pub fn fields_in_order(fields: &[(&str, &str)]) -> String {
    let mut emitter = Emitter::new();
    for (key, value) in fields {
        emitter.key(key, 0);
        emitter.node(&Value::String((*value).to_string()), 0, Context::MapValue);
    }
    emitter.end_document();
    into_string(emitter.out)
}

fn into_string(bytes: Vec<u8>) -> String {
    // Only UTF-8 is ever written.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A `…List` document written item by item, byte for byte what [`to_string`] writes
/// for the whole list: `apiVersion`, then `items`, then `kind` and `metadata`. Take the
/// bytes written so far with [`ListDocument::take`].
pub struct ListDocument {
    emitter: Emitter,
    items: usize,
}

impl ListDocument {
    pub fn new(api_version: &str) -> Self {
        let mut emitter = Emitter::new();
        emitter.key("apiVersion", 0);
        emitter.node(
            &Value::String(api_version.to_string()),
            0,
            Context::MapValue,
        );
        ListDocument { emitter, items: 0 }
    }

    /// Appends one element of `items`.
    pub fn item(&mut self, item: &Value) {
        if self.items == 0 {
            self.emitter.key("items", 0);
        }
        // A sequence under a key is indentless: its dashes sit at the key's column.
        self.emitter.write_indent(0);
        self.emitter.indicator("-", true, false, true);
        self.emitter.node(item, 0, Context::Item);
        self.items += 1;
    }

    /// Ends the document with the list's `kind` and `metadata`.
    pub fn finish(&mut self, kind: &str, metadata: &Value) {
        if self.items == 0 {
            self.emitter.key("items", 0);
            self.emitter.indicator("[]", true, false, false);
        }
        self.emitter.key("kind", 0);
        self.emitter
            .node(&Value::String(kind.to_string()), 0, Context::MapValue);
        self.emitter.key("metadata", 0);
        self.emitter.node(metadata, 0, Context::MapValue);
        self.emitter.end_document();
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.emitter.out)
    }

    /// Items appended so far.
    pub fn count(&self) -> usize {
        self.items
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    /// A mapping value; its mapping is at the given column.
    MapValue,
    /// A sequence item.
    Item,
}

struct Emitter {
    out: Vec<u8>,
    /// Characters on the current line.
    column: usize,
    /// The last character written is white space (or the line is empty).
    whitespace: bool,
    /// Only indentation so far on this line.
    indention: bool,
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: Vec::with_capacity(4096),
            column: 0,
            whitespace: true,
            indention: true,
        }
    }

    /// Document end, then stream end. go-yaml writes no `...` after a kept final line
    /// break (`|+`): its `write_indicator` clears the open-ended flag as the chomping
    /// indicator is written (go-yaml/yaml:emitterc.go@v2.4.0), and documents here are
    /// objects, never a plain scalar at the root, the other way to set it.
    fn end_document(&mut self) {
        self.write_indent(0);
    }

    fn push_char(&mut self, c: char) {
        let mut buffer = [0u8; 4];
        self.out
            .extend_from_slice(c.encode_utf8(&mut buffer).as_bytes());
    }

    fn put(&mut self, c: char) {
        if c.is_ascii() {
            self.out.push(c as u8);
        } else {
            self.push_char(c);
        }
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
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

    /// `key:` of a block mapping at `indent`.
    fn key(&mut self, key: &str, indent: usize) {
        self.write_indent(indent);
        self.simple_key(key);
        self.indicator(":", false, false, false);
    }

    /// A node whose parent collection sits at `indent`.
    fn node(&mut self, value: &Value, indent: usize, context: Context) {
        match value {
            Value::Object(map) if !map.is_empty() => self.mapping(map, indent, context),
            Value::Array(items) if !items.is_empty() => self.sequence(items, indent, context),
            Value::Object(_) => self.indicator("{}", true, false, false),
            Value::Array(_) => self.indicator("[]", true, false, false),
            // Plain whatever the analysis: no indicator, space or special character.
            Value::Null => self.plain_ascii("null"),
            Value::Bool(b) => self.plain_ascii(if *b { "true" } else { "false" }),
            Value::Number(n) if n.is_i64() || n.is_u64() => self.plain_ascii(&n.to_string()),
            Value::Number(n) => self.plain_ascii(&number(n)),
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
        for key in sorted_keys(map) {
            let value = &map[key.as_str()];
            if is_simple_key(key) {
                self.key(key, indent);
                self.node(value, indent, Context::MapValue);
            } else {
                self.complex_entry(key, value, indent);
            }
        }
    }

    /// `? KEY` then `: VALUE`, for a key that cannot be a simple one: the key is a
    /// scalar like any value (folded, literal if it has line breaks), and the value
    /// starts on the `:` line, a sequence indented like a sequence item's.
    fn complex_entry(&mut self, key: &str, value: &Value, indent: usize) {
        self.write_indent(indent);
        self.indicator("?", true, false, true);
        self.scalar(key, requested_style(key), indent, Context::MapValue);
        self.write_indent(indent);
        self.indicator(":", true, false, true);
        self.node(value, indent, Context::Item);
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
        if is_simple_plain(key) {
            return self.plain_ascii(key);
        }
        let analysis = analyze(key);
        let mut style = requested_style(key);
        if analysis.multiline {
            style = Style::Double;
        }
        style = select(style, &analysis, true);
        self.write_scalar(key, style, 0, false);
    }

    fn scalar(&mut self, value: &str, requested: Style, parent: usize, context: Context) {
        if requested == Style::Plain && is_simple_plain(value) {
            return self.plain_ascii(value);
        }
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

    /// A plain scalar without spaces, breaks or non-ASCII characters (nothing to fold
    /// or escape), written as it is.
    fn plain_ascii(&mut self, value: &str) {
        if !self.whitespace {
            self.put(' ');
        }
        self.out.extend_from_slice(value.as_bytes());
        self.column += value.len();
        self.whitespace = false;
        self.indention = false;
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
        // go-yaml's `is_bom` reads the value's first bytes whatever the position it is
        // asked about (go-yaml/yaml:yamlprivateh.go@v2.4.0), so after a leading byte
        // order mark every character is escaped.
        let escape_all = value.starts_with('\u{FEFF}');
        let mut spaces = false;
        for (i, &c) in chars.iter().enumerate() {
            if escape_all || !is_printable(c) || is_break(c) || c == '"' || c == '\\' {
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
            self.push_char(c);
            self.column = 0;
        }
    }
}
