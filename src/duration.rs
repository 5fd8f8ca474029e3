//! Durations as kubectl and Go spell them on the command line: `30s`, `1h30m`,
//! `500ms`, `0`. Go's `time.ParseDuration` grammar (units ns, us/µs, ms, s, m, h,
//! decimals, concatenation), which is also what Longhorn's `@every` accepts.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A parsed `--timeout`-style value. Zero means "no limit" where a flag says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// `None` for zero ("wait forever"), else the duration.
    pub fn as_limit(self) -> Option<Duration> {
        (!self.0.is_zero()).then_some(self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason} (use a number with a unit, e.g. 90s, 15m, 2h or 1h30m)"
)]
pub struct ParseDurationError {
    pub input: String,
    pub reason: &'static str,
}

/// Parses Go's `time.ParseDuration` grammar into nanoseconds (negative allowed).
pub fn parse_go_duration(input: &str) -> Result<i128, ParseDurationError> {
    let error = |reason| ParseDurationError {
        input: input.to_string(),
        reason,
    };
    let mut rest = input;
    let negative = if let Some(r) = rest.strip_prefix('-') {
        rest = r;
        true
    } else {
        rest = rest.strip_prefix('+').unwrap_or(rest);
        false
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(error("empty"));
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number = &rest[..digits_end];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err(error("expected a number"));
        }
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "µs" | "μs" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60 * 1_000_000_000,
            "h" => 3_600 * 1_000_000_000,
            "" => return Err(error("missing unit")),
            _ => return Err(error("unknown unit")),
        };
        let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
        let whole: i128 = if whole.is_empty() {
            0
        } else {
            whole.parse().map_err(|_| error("number too large"))?
        };
        let mut value = whole
            .checked_mul(scale)
            .ok_or_else(|| error("out of range"))?;
        let mut place = scale;
        for digit in fraction.chars() {
            place /= 10;
            value += i128::from(digit.to_digit(10).unwrap_or(0)) * place;
        }
        total = total
            .checked_add(value)
            .ok_or_else(|| error("out of range"))?;
        if total > i128::from(i64::MAX) {
            return Err(error("out of range"));
        }
    }
    Ok(if negative { -total } else { total })
}

impl FromStr for HumanDuration {
    type Err = ParseDurationError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let nanos = parse_go_duration(input.trim())?;
        if nanos < 0 {
            return Err(ParseDurationError {
                input: input.to_string(),
                reason: "negative",
            });
        }
        Ok(HumanDuration(Duration::from_nanos(nanos as u64)))
    }
}

/// kubectl's `--request-timeout` (client-go `clientcmd.ParseTimeout`): a whole number
/// of seconds, or a duration with units; 0 means no limit.
pub fn parse_request_timeout(input: &str) -> Result<HumanDuration, ParseDurationError> {
    let input = input.trim();
    match input.parse::<u64>() {
        Ok(seconds) => Ok(HumanDuration(Duration::from_secs(seconds))),
        Err(_) => input.parse(),
    }
}

impl fmt::Display for HumanDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0.as_secs();
        if secs == 0 && self.0.subsec_nanos() == 0 {
            return write!(f, "0s");
        }
        let (h, m, s) = (secs / 3600, (secs % 3600) / 60, secs % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 || (h == 0 && m == 0) {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        let cases: &[(&str, i128)] = &[
            ("0", 0),
            ("30s", 30_000_000_000),
            ("1h30m", 5_400_000_000_000),
            ("1.5h", 5_400_000_000_000),
            ("500ms", 500_000_000),
            ("2us", 2_000),
            ("2µs", 2_000),
            ("3ns", 3),
            ("-1m", -60_000_000_000),
            (".5s", 500_000_000),
        ];
        for (input, nanos) in cases {
            assert_eq!(parse_go_duration(input), Ok(*nanos), "{input}");
        }
    }

    #[test]
    fn rejects_what_go_rejects() {
        for input in [
            "",
            "5",
            "1x",
            "h",
            "1.2.3s",
            "--1s",
            "1h 30m",
            "99999999999h",
        ] {
            assert!(
                parse_go_duration(input).is_err(),
                "{input} should be rejected"
            );
        }
    }

    #[test]
    fn flag_values_are_non_negative() {
        assert_eq!(
            "90s".parse::<HumanDuration>().unwrap().0,
            Duration::from_secs(90)
        );
        let err = "-5m".parse::<HumanDuration>().unwrap_err();
        assert_eq!(err.reason, "negative");
        assert!(err.to_string().contains("use a number with a unit"));
    }

    #[test]
    fn request_timeout_takes_seconds_or_a_duration() {
        let parse = |s| parse_request_timeout(s).map(|d| d.0);
        assert_eq!(parse("5"), Ok(Duration::from_secs(5)));
        assert_eq!(parse("0"), Ok(Duration::ZERO));
        assert_eq!(parse("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("250ms"), Ok(Duration::from_millis(250)));
        for bad in ["-5", "-1s", "abc", "5 s", ""] {
            assert!(parse(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(HumanDuration(Duration::from_secs(3600)).to_string(), "1h");
        assert_eq!(
            HumanDuration(Duration::from_secs(5430)).to_string(),
            "1h30m30s"
        );
        assert_eq!(HumanDuration(Duration::ZERO).to_string(), "0s");
    }
}
