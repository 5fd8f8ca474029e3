//! A validator with the accept/reject behaviour and error texts of
//! `github.com/robfig/cron` v1.2.0 `ParseStandard` (parser.go), which Longhorn's
//! RecurringJob validator uses (simulator-spec.md §7.3). It only validates; nothing
//! here computes schedules. The tests' expectations were produced by running robfig/cron
//! v1.2.0 itself.

struct Bounds {
    min: u64,
    max: u64,
    names: &'static [(&'static str, u64)],
}

const SECONDS: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const MINUTES: Bounds = Bounds {
    min: 0,
    max: 59,
    names: &[],
};
const HOURS: Bounds = Bounds {
    min: 0,
    max: 23,
    names: &[],
};
const DAYS_OF_MONTH: Bounds = Bounds {
    min: 1,
    max: 31,
    names: &[],
};
const MONTHS: Bounds = Bounds {
    min: 1,
    max: 12,
    names: &[
        ("jan", 1),
        ("feb", 2),
        ("mar", 3),
        ("apr", 4),
        ("may", 5),
        ("jun", 6),
        ("jul", 7),
        ("aug", 8),
        ("sep", 9),
        ("oct", 10),
        ("nov", 11),
        ("dec", 12),
    ],
};
const DAYS_OF_WEEK: Bounds = Bounds {
    min: 0,
    max: 6,
    names: &[
        ("sun", 0),
        ("mon", 1),
        ("tue", 2),
        ("wed", 3),
        ("thu", 4),
        ("fri", 5),
        ("sat", 6),
    ],
};

/// `Ok(())` when robfig/cron v1.2.0 `ParseStandard(spec)` succeeds, else its error text.
pub fn parse_standard(spec: &str) -> Result<(), String> {
    if spec.is_empty() {
        return Err("Empty spec string".into());
    }
    if spec.starts_with('@') {
        return parse_descriptor(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Err(format!(
            "Expected exactly 5 fields, found {}: {spec}",
            fields.len()
        ));
    }
    // The standard parser has no seconds field: it is fixed at "0".
    let checks = [
        ("0", &SECONDS),
        (fields[0], &MINUTES),
        (fields[1], &HOURS),
        (fields[2], &DAYS_OF_MONTH),
        (fields[3], &MONTHS),
        (fields[4], &DAYS_OF_WEEK),
    ];
    checks
        .iter()
        .try_for_each(|(field, bounds)| check_field(field, bounds))
}

/// A field is a comma list of ranges; empty items are skipped (`strings.FieldsFunc`).
fn check_field(field: &str, bounds: &Bounds) -> Result<(), String> {
    field
        .split(',')
        .filter(|r| !r.is_empty())
        .try_for_each(|expr| check_range(expr, bounds))
}

/// `number | number "-" number [ "/" number ]`, `*` or `?` for the whole range.
fn check_range(expr: &str, bounds: &Bounds) -> Result<(), String> {
    let range_and_step: Vec<&str> = expr.split('/').collect();
    let low_and_high: Vec<&str> = range_and_step[0].split('-').collect();
    let single = low_and_high.len() == 1;

    let (start, mut end) = if low_and_high[0] == "*" || low_and_high[0] == "?" {
        // robfig ignores anything after a `*-`.
        (bounds.min, bounds.max)
    } else {
        let start = parse_int_or_name(low_and_high[0], bounds)?;
        match low_and_high.len() {
            1 => (start, start),
            2 => (start, parse_int_or_name(low_and_high[1], bounds)?),
            _ => return Err(format!("Too many hyphens: {expr}")),
        }
    };

    let step = match range_and_step.len() {
        1 => 1,
        2 => {
            let step = must_parse_int(range_and_step[1])?;
            // "N/step" means "N-max/step".
            if single {
                end = bounds.max;
            }
            step
        }
        _ => return Err(format!("Too many slashes: {expr}")),
    };

    if start < bounds.min {
        return Err(format!(
            "Beginning of range ({start}) below minimum ({}): {expr}",
            bounds.min
        ));
    }
    if end > bounds.max {
        return Err(format!(
            "End of range ({end}) above maximum ({}): {expr}",
            bounds.max
        ));
    }
    if start > end {
        return Err(format!(
            "Beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("Step of range should be a positive number: {expr}"));
    }
    Ok(())
}

fn parse_int_or_name(expr: &str, bounds: &Bounds) -> Result<u64, String> {
    let lower = expr.to_lowercase();
    if let Some((_, value)) = bounds.names.iter().find(|(name, _)| *name == lower) {
        return Ok(*value);
    }
    must_parse_int(expr)
}

fn must_parse_int(expr: &str) -> Result<u64, String> {
    let number = go_atoi(expr).map_err(|e| format!("Failed to parse int from {expr}: {e}"))?;
    if number < 0 {
        return Err(format!("Negative number ({number}) not allowed: {expr}"));
    }
    Ok(number as u64)
}

/// Go's `strconv.Atoi` on a 64-bit platform: optional sign, decimal digits only.
fn go_atoi(text: &str) -> Result<i64, String> {
    let syntax = || format!("strconv.Atoi: parsing {text:?}: invalid syntax");
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    text.parse::<i64>()
        .map_err(|_| format!("strconv.Atoi: parsing {text:?}: value out of range"))
}

fn parse_descriptor(descriptor: &str) -> Result<(), String> {
    match descriptor {
        "@yearly" | "@annually" | "@monthly" | "@weekly" | "@daily" | "@midnight" | "@hourly" => {
            Ok(())
        }
        _ => match descriptor.strip_prefix("@every ") {
            Some(duration) => go_parse_duration(duration)
                .map(|_| ())
                .map_err(|e| format!("Failed to parse duration {descriptor}: {e}")),
            None => Err(format!("Unrecognized descriptor: {descriptor}")),
        },
    }
}

/// Go's `time.ParseDuration`, in nanoseconds: `[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+`.
pub fn go_parse_duration(original: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration \"{original}\"");
    let mut s = original.as_bytes();
    let mut negative = false;
    if let Some((&sign @ (b'-' | b'+'), rest)) = s.split_first() {
        negative = sign == b'-';
        s = rest;
    }
    if s == b"0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    const LIMIT: u64 = 1 << 63;
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part.
        let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
        let mut value: u64 = 0;
        for &b in &s[..digits] {
            if value > LIMIT / 10 {
                return Err(invalid());
            }
            value = value * 10 + u64::from(b - b'0');
            if value > LIMIT {
                return Err(invalid());
            }
        }
        let had_integer = digits > 0;
        s = &s[digits..];
        // Fraction part: digits past what fits are consumed but ignored.
        let (mut fraction, mut scale, mut had_fraction) = (0u64, 1f64, false);
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
            let mut overflow = false;
            for &b in &s[..digits] {
                if overflow || fraction > (LIMIT - 1) / 10 {
                    overflow = true;
                    continue;
                }
                let next = fraction * 10 + u64::from(b - b'0');
                if next > LIMIT {
                    overflow = true;
                    continue;
                }
                fraction = next;
                scale *= 10.0;
            }
            had_fraction = digits > 0;
            s = &s[digits..];
        }
        if !had_integer && !had_fraction {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .take_while(|&&b| !(b == b'.' || b.is_ascii_digit()))
            .count();
        if unit_len == 0 {
            return Err(format!("time: missing unit in duration \"{original}\""));
        }
        let unit_text = String::from_utf8_lossy(&s[..unit_len]).into_owned();
        s = &s[unit_len..];
        let unit: u64 = match unit_text.as_str() {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit \"{unit_text}\" in duration \"{original}\""
                ));
            }
        };
        if value > LIMIT / unit {
            return Err(invalid());
        }
        value *= unit;
        if fraction > 0 {
            value += (fraction as f64 * (unit as f64 / scale)) as u64;
            if value > LIMIT {
                return Err(invalid());
            }
        }
        total += value;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if negative {
        return Ok((total as i128).wrapping_neg() as i64);
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_robfig_accepts() {
        for spec in [
            "0 0 * * *",
            "*/5 * * * ?",
            "0 12 1-15/2 jan-jun MON-fri",
            "5,10,,15 * * * *",
            "*-3 * * * *",
            "0 0 * * 6",
            "30 2 */3 * sun",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
            "@every 1h30m",
            "@every 1.5s",
            "@every -5m",
            "@every 0",
            "@every 1µs",
            "+5 * * * *",
            ", * * * *",
        ] {
            assert_eq!(parse_standard(spec), Ok(()), "{spec}");
        }
    }

    #[test]
    fn rejects_with_robfig_texts() {
        let cases = [
            ("", "Empty spec string"),
            ("0 0 * *", "Expected exactly 5 fields, found 4: 0 0 * *"),
            ("0 0 * * 7", "End of range (7) above maximum (6): 7"),
            ("60 * * * *", "End of range (60) above maximum (59): 60"),
            ("* * 0 * *", "Beginning of range (0) below minimum (1): 0"),
            (
                "5-1 * * * *",
                "Beginning of range (5) beyond end of range (1): 5-1",
            ),
            (
                "*/0 * * * *",
                "Step of range should be a positive number: */0",
            ),
            ("1-2-3 * * * *", "Too many hyphens: 1-2-3"),
            ("*/2/3 * * * *", "Too many slashes: */2/3"),
            (
                "x * * * *",
                "Failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
            (
                "-1 * * * *",
                "Failed to parse int from : strconv.Atoi: parsing \"\": invalid syntax",
            ),
            ("*/-1 * * * *", "Negative number (-1) not allowed: -1"),
            ("@daily ", "Unrecognized descriptor: @daily "),
            ("@every", "Unrecognized descriptor: @every"),
            (
                "@every 5",
                "Failed to parse duration @every 5: time: missing unit in duration \"5\"",
            ),
            (
                "@every 5y",
                "Failed to parse duration @every 5y: time: unknown unit \"y\" in duration \"5y\"",
            ),
            (
                "@every ",
                "Failed to parse duration @every : time: invalid duration \"\"",
            ),
            (
                "@every .h",
                "Failed to parse duration @every .h: time: invalid duration \".h\"",
            ),
            (
                "99999999999999999999 * * * *",
                "Failed to parse int from 99999999999999999999: strconv.Atoi: parsing \"99999999999999999999\": value out of range",
            ),
            (
                "1,x * * * *",
                "Failed to parse int from x: strconv.Atoi: parsing \"x\": invalid syntax",
            ),
        ];
        for (spec, error) in cases {
            assert_eq!(parse_standard(spec), Err(error.to_string()), "{spec:?}");
        }
    }

    #[test]
    fn durations_match_go() {
        assert_eq!(go_parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(go_parse_duration("1.5s"), Ok(1_500_000_000));
        assert_eq!(go_parse_duration("-2ms"), Ok(-2_000_000));
        assert!(go_parse_duration("9999999999999h").is_err());
    }
}
