//! Duration flag values as kubectl takes them: `30s`, `1h30m`, `500ms`, `0`, in Go's
//! `time.ParseDuration` grammar ([`super::parse_duration`]).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::{DurationError, parse_duration};

/// A parsed `--timeout`-style value. Zero means "no limit" where a flag says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HumanDuration(pub Duration);

impl HumanDuration {
    /// `None` for zero ("wait forever"), else the duration.
    pub fn as_limit(self) -> Option<Duration> {
        (!self.0.is_zero()).then_some(self.0)
    }
}

/// A duration flag value that is not one; says what a valid one looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration {input:?}: {reason} (use a number with a unit, e.g. 90s, 15m, 2h or 1h30m)"
)]
pub struct FlagDurationError {
    pub input: String,
    pub reason: String,
    #[source]
    pub source: Option<DurationError>,
}

impl FromStr for HumanDuration {
    type Err = FlagDurationError;
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let nanos = parse_duration(input.trim()).map_err(|e| FlagDurationError {
            input: input.to_string(),
            reason: e.reason(),
            source: Some(e),
        })?;
        let nanos = u64::try_from(nanos).map_err(|_| FlagDurationError {
            input: input.to_string(),
            reason: "is negative".into(),
            source: None,
        })?;
        Ok(HumanDuration(Duration::from_nanos(nanos)))
    }
}

/// kubectl's `--request-timeout` (client-go `clientcmd.ParseTimeout`): a whole number
/// of seconds, or a duration with units; 0 means no limit.
pub fn parse_request_timeout(input: &str) -> Result<HumanDuration, FlagDurationError> {
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
    fn flag_values_are_go_durations() {
        for (input, expected) in [
            ("90s", Duration::from_secs(90)),
            ("1h30m", Duration::from_secs(5400)),
            ("1.5h", Duration::from_secs(5400)),
            ("500ms", Duration::from_millis(500)),
            (".5s", Duration::from_millis(500)),
            ("0", Duration::ZERO),
        ] {
            assert_eq!(
                input.parse::<HumanDuration>().unwrap().0,
                expected,
                "{input}"
            );
        }
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
                input.parse::<HumanDuration>().is_err(),
                "{input} should be rejected"
            );
        }
    }

    #[test]
    fn flag_values_are_non_negative_and_errors_say_what_works() {
        let err = "-5m".parse::<HumanDuration>().unwrap_err();
        assert_eq!(err.reason, "is negative");
        assert_eq!(
            "1d".parse::<HumanDuration>().unwrap_err().to_string(),
            "invalid duration \"1d\": has the unknown unit \"d\" (use a number with a unit, e.g. 90s, 15m, 2h or 1h30m)"
        );
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
