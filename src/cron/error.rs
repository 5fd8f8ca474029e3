//! Why an expression was rejected, in words that point at the bad field and say what
//! it takes.

use std::fmt;

use crate::go::DurationError;

use super::{DOW_NAMES, Field, GRAMMAR, MONTH_NAMES, parse_descriptor};

/// Why an expression was rejected; [`fmt::Display`] names the expression, the bad part
/// and what the grammar allows there.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cron expression {expr:?}: {kind}")]
pub struct CronError {
    pub expr: String,
    pub kind: CronErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CronErrorKind {
    /// The empty string.
    Empty,
    /// Not exactly five fields.
    FieldCount { found: usize },
    /// A leading `TZ=…` or `CRON_TZ=…` (robfig/cron v3 syntax).
    TimeZonePrefix { prefix: String },
    /// Starts with `@` but is no descriptor.
    UnknownDescriptor { descriptor: String },
    /// `@every` with something Go's `time.ParseDuration` rejects.
    EveryDuration(DurationError),
    /// One of the five fields: `text` is the whole field, `item` the list item at fault.
    Field {
        field: Field,
        text: String,
        item: String,
        problem: FieldProblem,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FieldProblem {
    /// A range end that is neither a number nor a name of this field (`""` if missing).
    NotANumber {
        part: String,
    },
    /// A value outside the field's bounds, as written.
    OutOfRange {
        value: String,
    },
    /// `a-b` with `a > b` (ranges do not wrap around).
    Backwards {
        start: u64,
        end: u64,
    },
    TooManyHyphens,
    TooManySlashes,
    /// The step after `/` is not a number (`""` if missing).
    StepNotANumber {
        step: String,
    },
    /// The step after `/` is negative, zero or too large.
    StepOutOfRange {
        step: String,
    },
}

impl fmt::Display for CronErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CronErrorKind::Empty => write!(f, "the expression is empty; expected {GRAMMAR}"),
            CronErrorKind::FieldCount { found } => {
                write!(
                    f,
                    "expected 5 fields (minute hour day-of-month month day-of-week), found {found}"
                )?;
                match found {
                    6 => f.write_str(
                        "; there is no seconds field (if the first field is seconds, drop it) and no Quartz syntax",
                    )?,
                    7.. => f.write_str("; there are no seconds or year fields")?,
                    _ => {}
                }
                f.write_str(
                    "; or use one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly, \
                     @every <duration like 1h30m>",
                )
            }
            CronErrorKind::TimeZonePrefix { prefix } => write!(
                f,
                "the time-zone prefix {prefix:?} is not supported (Longhorn parses schedules with robfig/cron v1, \
                 which has no TZ= or CRON_TZ=); remove it and write {GRAMMAR}"
            ),
            CronErrorKind::UnknownDescriptor { descriptor } => {
                write!(f, "unknown descriptor {descriptor:?}")?;
                let trimmed = descriptor.trim();
                let known = |d: &str| parse_descriptor(d).is_ok();
                if known(trimmed) && trimmed != descriptor {
                    f.write_str(" (remove the surrounding whitespace)")?;
                } else if known(&trimmed.to_ascii_lowercase()) {
                    write!(
                        f,
                        " (descriptors are lower-case: {:?})",
                        trimmed.to_ascii_lowercase()
                    )?;
                } else if trimmed.starts_with("@every") {
                    f.write_str(" (@every takes one space and a duration, e.g. \"@every 1h30m\")")?;
                }
                f.write_str(
                    "; the descriptors are @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly \
                     and @every <duration like 1h30m>",
                )
            }
            CronErrorKind::EveryDuration(error) => write!(
                f,
                "@every duration {:?} {}; use exactly one space and a Go duration such as 90s, 15m \
                 or 1h30m (units ns, us, ms, s, m, h; at least 1s is used)",
                error.input,
                error.reason()
            ),
            CronErrorKind::Field {
                field,
                text,
                item,
                problem,
            } => {
                write!(f, "{field} field {text:?}")?;
                let subject = if item == text {
                    String::new()
                } else {
                    format!("{item:?} ")
                };
                match problem {
                    FieldProblem::OutOfRange { value } => {
                        let note = if *field == Field::DayOfWeek {
                            "; Sunday is 0, 7 is not allowed"
                        } else {
                            ""
                        };
                        if value == text {
                            write!(f, " is out of range ({}{note})", field.bounds())?;
                        } else {
                            write!(f, ": {value} is out of range ({}{note})", field.bounds())?;
                        }
                    }
                    FieldProblem::NotANumber { part } if part.is_empty() => {
                        write!(f, ": {subject}is missing a number")?;
                        if item.starts_with('-') {
                            f.write_str(" (negative numbers are not allowed)")?;
                        }
                    }
                    FieldProblem::NotANumber { part } => {
                        let named = if field.names().is_empty() {
                            "a number"
                        } else {
                            "a number or name"
                        };
                        let other = if MONTH_NAMES.iter().any(|n| part.eq_ignore_ascii_case(n)) {
                            " (month names go in the month field)"
                        } else if DOW_NAMES.iter().any(|n| part.eq_ignore_ascii_case(n)) {
                            " (day names go in the day-of-week field)"
                        } else if !field.names().is_empty() && part.chars().count() > 3 {
                            " (names are 3 letters)"
                        } else {
                            ""
                        };
                        if part == item {
                            write!(f, ": {part:?} is not {named}{other}")?
                        } else {
                            write!(f, ": {subject}has {part:?}, which is not {named}{other}")?
                        }
                    }
                    FieldProblem::Backwards { start, end } => {
                        write!(
                            f,
                            ": {subject}starts at {start}, after its end {end}; ranges do not wrap around"
                        )?;
                        let (lo, hi) = (field.min(), field.max());
                        if *start <= hi && *end >= lo {
                            let part = |a: u64, b: u64| {
                                if a == b {
                                    a.to_string()
                                } else {
                                    format!("{a}-{b}")
                                }
                            };
                            write!(
                                f,
                                ", use a list such as {}",
                                [part(*start, hi), part(lo, *end)].join(",")
                            )?;
                        }
                    }
                    FieldProblem::TooManyHyphens => write!(f, ": {subject}has more than one '-'")?,
                    FieldProblem::TooManySlashes => write!(f, ": {subject}has more than one '/'")?,
                    FieldProblem::StepNotANumber { step } if step.is_empty() => {
                        write!(f, ": {subject}is missing the step after '/'")?
                    }
                    FieldProblem::StepNotANumber { step } => {
                        write!(f, ": {subject}has the step {step:?}, which is not a number")?
                    }
                    FieldProblem::StepOutOfRange { step } => write!(
                        f,
                        ": {subject}has the step {step:?}; a step must be a positive number"
                    )?,
                }
                write!(
                    f,
                    "; the {field} field takes *, ?, a value {}, a range a-b, a step */n, a-b/n or a/n, \
                     or a comma list of these (e.g. {})",
                    field.bounds(),
                    field.examples()
                )
            }
        }
    }
}
