//! The next run of a 5-field schedule, as robfig v1's `Next` finds it, on Go's
//! civil-time arithmetic in one zone.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use super::{STAR, Spec};

/// Civil fields of an instant in a zone, as Go's `time.Time` accessors give them.
struct Civil {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
    second: i64,
    weekday: i64,
}

/// Go's `time.Date`/`Time` arithmetic on Unix seconds in one zone.
pub(super) struct Clock<'a>(pub(super) &'a TimeZone);

impl Clock<'_> {
    fn offset(&self, t: i64) -> Option<i64> {
        Some(i64::from(
            self.0.to_offset(Timestamp::from_second(t).ok()?).seconds(),
        ))
    }

    fn civil(&self, t: i64) -> Option<Civil> {
        let local = t.checked_add(self.offset(t)?)?;
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Some(Civil {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs % 3600 / 60,
            second: secs % 60,
            weekday: (days + 4).rem_euclid(7),
        })
    }

    /// Go's `time.Date`: out-of-range months and days carry over, and a local time
    /// that falls in a DST gap or fold resolves as Go resolves it (look up the offset
    /// at the local time read as UTC, then once more at the corrected instant).
    fn date(
        &self,
        year: i64,
        month: i64,
        day: i64,
        hour: i64,
        minute: i64,
        second: i64,
    ) -> Option<i64> {
        let year = year + (month - 1).div_euclid(12);
        let month = (month - 1).rem_euclid(12) + 1;
        let days = days_from_civil(year, month, 1) + day - 1;
        let local = days.checked_mul(86_400)? + hour * 3600 + minute * 60 + second;
        let offset = self.offset(local - self.offset(local)?)?;
        local.checked_sub(offset)
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

fn has(set: u64, value: i64) -> bool {
    set & (1 << value) != 0
}

impl Spec {
    /// robfig v1 `dayMatches`: if either day field was written with `*` or `?`, both
    /// must match; otherwise either may.
    fn day_matches(&self, c: &Civil) -> bool {
        let (dom, dow) = (has(self.dom, c.day), has(self.dow, c.weekday));
        if (self.dom | self.dow) & STAR != 0 {
            dom && dow
        } else {
            dom || dow
        }
    }

    /// robfig v1 `SpecSchedule.Next` from the whole second `t` on: advance the first
    /// field that does not match, resetting the smaller ones once, and start over when
    /// a field wraps; give up five years after `t`.
    pub(super) fn next(&self, mut t: i64, clock: &Clock) -> Option<i64> {
        // An empty set can never match (robfig searches five years to find that out).
        let never = |a: u64, b: u64| a == 0 && (b & STAR != 0 || b == 0);
        let days_never = never(self.dom, self.dow) || never(self.dow, self.dom);
        if self.minute == 0 || self.hour == 0 || self.month == 0 || days_never {
            return None;
        }
        let mut added = false;
        let year_limit = clock.civil(t)?.year + 5;
        'wrap: loop {
            if clock.civil(t)?.year > year_limit {
                return None;
            }
            loop {
                let c = clock.civil(t)?;
                if has(self.month, c.month) {
                    break;
                }
                if !added {
                    added = true;
                    t = clock.date(c.year, c.month, 1, 0, 0, 0)?;
                }
                let c = clock.civil(t)?;
                t = clock.date(c.year, c.month + 1, c.day, c.hour, c.minute, c.second)?;
                if clock.civil(t)?.month == 1 {
                    continue 'wrap;
                }
            }
            loop {
                let c = clock.civil(t)?;
                if self.day_matches(&c) {
                    break;
                }
                if !added {
                    added = true;
                    t = clock.date(c.year, c.month, c.day, 0, 0, 0)?;
                }
                let c = clock.civil(t)?;
                t = clock.date(c.year, c.month, c.day + 1, c.hour, c.minute, c.second)?;
                if clock.civil(t)?.day == 1 {
                    continue 'wrap;
                }
            }
            loop {
                let c = clock.civil(t)?;
                if has(self.hour, c.hour) {
                    break;
                }
                if !added {
                    added = true;
                    t = clock.date(c.year, c.month, c.day, c.hour, 0, 0)?;
                }
                t += 3600;
                if clock.civil(t)?.hour == 0 {
                    continue 'wrap;
                }
            }
            loop {
                if has(self.minute, clock.civil(t)?.minute) {
                    break;
                }
                if !added {
                    added = true;
                    t -= t.rem_euclid(60);
                }
                t += 60;
                if clock.civil(t)?.minute == 0 {
                    continue 'wrap;
                }
            }
            // The seconds field is always 0.
            loop {
                if clock.civil(t)?.second == 0 {
                    break;
                }
                added = true;
                t += 1;
                if clock.civil(t)?.second == 0 {
                    continue 'wrap;
                }
            }
            return Some(t);
        }
    }
}
