//! Go's standard-library parsing rules, where the tools the plugin stands beside apply
//! them to what users type: `time.ParseDuration` (kubectl's and client-go's duration
//! flags, robfig/cron's `@every`, Longhorn's poll intervals) and `strconv.Atoi`
//! (robfig/cron's numbers). Defined once here; the test ground uses them too.
//!
//! Both follow Go's source (`time/format.go` `ParseDuration`, `strconv/atoi.go`):
//! the same accepted texts, limits and float64 arithmetic for fractions.

#[cfg(test)]
mod differential;
pub mod flag;
#[cfg(test)]
pub(crate) mod oracle;
pub mod proxy;

use std::fmt;

pub use flag::{HumanDuration, parse_request_timeout};

/// Why `strconv.Atoi` rejected a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AtoiError {
    /// Not an optional sign followed by decimal digits.
    Syntax,
    /// Outside the 64-bit range.
    Range,
}

/// Go's `strconv.Atoi` on 64-bit: optional sign, decimal digits, no underscores.
pub fn atoi(text: &str) -> Result<i64, AtoiError> {
    use std::num::IntErrorKind;
    text.parse::<i64>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => AtoiError::Range,
        _ => AtoiError::Syntax,
    })
}

/// Why `time.ParseDuration` rejected a text. [`fmt::Display`] is Go's own error text
/// (`time: invalid duration "x"`); [`DurationError::reason`] says it in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DurationError {
    /// The text as given.
    pub input: String,
    pub kind: DurationErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DurationErrorKind {
    /// The empty string.
    Empty,
    /// White space before a number (Go: invalid duration).
    Whitespace,
    /// No number where one is expected (Go: invalid duration).
    NotANumber,
    /// A number without a unit.
    MissingUnit,
    /// A unit Go does not know; white space counts as one.
    UnknownUnit(String),
    /// Beyond about 292 years (Go: invalid duration).
    TooLarge,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let input = &self.input;
        match &self.kind {
            DurationErrorKind::MissingUnit => write!(f, "time: missing unit in duration {input:?}"),
            DurationErrorKind::UnknownUnit(unit) => {
                write!(f, "time: unknown unit {unit:?} in duration {input:?}")
            }
            _ => write!(f, "time: invalid duration {input:?}"),
        }
    }
}

impl DurationError {
    /// What is wrong, as the end of a sentence about the text ("… has no unit").
    pub fn reason(&self) -> String {
        match &self.kind {
            DurationErrorKind::Empty => "is empty".into(),
            DurationErrorKind::Whitespace => "has extra whitespace".into(),
            DurationErrorKind::NotANumber => "is not a duration".into(),
            DurationErrorKind::MissingUnit => "has a number without a unit".into(),
            DurationErrorKind::UnknownUnit(unit) if unit.chars().any(char::is_whitespace) => {
                "contains whitespace (write e.g. 1h30m)".into()
            }
            DurationErrorKind::UnknownUnit(unit) => format!("has the unknown unit {unit:?}"),
            DurationErrorKind::TooLarge => "is too large (at most about 292 years)".into(),
        }
    }
}

/// Go's `time.ParseDuration`, in nanoseconds (negative allowed).
pub fn parse_duration(orig: &str) -> Result<i64, DurationError> {
    let error = |kind| DurationError {
        input: orig.to_string(),
        kind,
    };
    let mut s = orig.as_bytes();
    let mut negative = false;
    if let Some(&c @ (b'-' | b'+')) = s.first() {
        negative = c == b'-';
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(error(if orig.is_empty() {
            DurationErrorKind::Empty
        } else {
            DurationErrorKind::NotANumber
        }));
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(error(if s[0].is_ascii_whitespace() {
                DurationErrorKind::Whitespace
            } else {
                DurationErrorKind::NotANumber
            }));
        }
        let before = s.len();
        let (mut v, rest) = leading_int(s).ok_or_else(|| error(DurationErrorKind::TooLarge))?;
        s = rest;
        let pre = before != s.len();
        let (mut fraction, mut scale, mut post) = (0, 1.0, false);
        if s.first() == Some(&b'.') {
            let before = s.len() - 1;
            (fraction, scale, s) = leading_fraction(&s[1..]);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(error(DurationErrorKind::NotANumber));
        }
        let unit_len = s
            .iter()
            .position(|c| *c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(error(DurationErrorKind::MissingUnit));
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match unit {
            b"ns" => 1,
            b"us" => 1_000,
            // U+00B5 (micro sign) and U+03BC (Greek mu), as Go accepts both.
            _ if unit == "µs".as_bytes() || unit == "μs".as_bytes() => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => {
                let unit = String::from_utf8_lossy(unit).into_owned();
                return Err(error(DurationErrorKind::UnknownUnit(unit)));
            }
        };
        if v > (1 << 63) / unit {
            return Err(error(DurationErrorKind::TooLarge));
        }
        v *= unit;
        if fraction > 0 {
            v += (fraction as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err(error(DurationErrorKind::TooLarge));
            }
        }
        // Go adds in uint64 and can wrap exactly to 0 (2^63 + 2^63); so do we.
        total = total.wrapping_add(v);
        if total > 1 << 63 {
            return Err(error(DurationErrorKind::TooLarge));
        }
    }
    if negative {
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| error(DurationErrorKind::TooLarge))
}

fn leading_int(s: &[u8]) -> Option<(u64, &[u8])> {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let mut x: u64 = 0;
    for &c in &s[..digits] {
        if x > (1 << 63) / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > 1 << 63 {
            return None;
        }
    }
    Some((x, &s[digits..]))
}

/// Digits after the decimal point; stops gaining precision instead of overflowing.
fn leading_fraction(s: &[u8]) -> (u64, f64, &[u8]) {
    let digits = s.iter().take_while(|c| c.is_ascii_digit()).count();
    let (mut x, mut scale, mut overflow) = (0u64, 1.0f64, false);
    for &c in &s[..digits] {
        if overflow {
            continue;
        }
        if x > ((1 << 63) - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > 1 << 63 {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_as_go_parses_them() {
        let cases: &[(&str, i64)] = &[
            ("0", 0),
            ("+0", 0),
            ("-0", 0),
            ("30s", 30_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("1.5s", 1_500_000_000),
            ("500ms", 500_000_000),
            ("2us", 2_000),
            ("2µs", 2_000),
            ("2μs", 2_000),
            ("3ns", 3),
            ("-1m", -60_000_000_000),
            ("-2ms", -2_000_000),
            (".5s", 500_000_000),
            ("1.s", 1_000_000_000),
            ("9223372036854775807ns", i64::MAX),
            ("-9223372036854775808ns", i64::MIN),
            // float64 arithmetic, as Go: 0.3333333333 * 1e9 truncated.
            (".3333333333s", 333_333_333),
        ];
        for (input, nanos) in cases {
            assert_eq!(parse_duration(input), Ok(*nanos), "{input}");
        }
    }

    /// Go's own texts, as `time.ParseDuration` returns them.
    #[test]
    fn errors_read_as_go_writes_them() {
        for (input, text) in [
            ("", "time: invalid duration \"\""),
            (".h", "time: invalid duration \".h\""),
            ("--1s", "time: invalid duration \"--1s\""),
            ("5", "time: missing unit in duration \"5\""),
            ("1.2.3s", "time: missing unit in duration \"1.2.3s\""),
            ("5y", "time: unknown unit \"y\" in duration \"5y\""),
            ("1h 30m", "time: unknown unit \"h \" in duration \"1h 30m\""),
            (
                "9223372036854775808ns",
                "time: invalid duration \"9223372036854775808ns\"",
            ),
            ("99999999999h", "time: invalid duration \"99999999999h\""),
        ] {
            assert_eq!(
                parse_duration(input).unwrap_err().to_string(),
                text,
                "{input:?}"
            );
        }
    }

    #[test]
    fn reasons_say_what_is_wrong() {
        let reason = |input| parse_duration(input).unwrap_err().reason();
        assert_eq!(reason(""), "is empty");
        assert_eq!(reason(" 5s"), "has extra whitespace");
        assert_eq!(reason("x"), "is not a duration");
        assert_eq!(reason("5"), "has a number without a unit");
        assert_eq!(reason("1d"), "has the unknown unit \"d\"");
        assert_eq!(reason("1h 30m"), "contains whitespace (write e.g. 1h30m)");
        assert_eq!(
            reason("99999999999h"),
            "is too large (at most about 292 years)"
        );
    }

    #[test]
    fn atoi_is_gos() {
        assert_eq!(atoi("-12"), Ok(-12));
        assert_eq!(atoi("+7"), Ok(7));
        assert_eq!(atoi("1_000"), Err(AtoiError::Syntax));
        assert_eq!(atoi(""), Err(AtoiError::Syntax));
        assert_eq!(atoi("99999999999999999999"), Err(AtoiError::Range));
    }
}
