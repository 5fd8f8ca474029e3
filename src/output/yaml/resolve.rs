//! What go-yaml v2 reads a plain scalar as (`resolve.go`): a string, or a bool, null,
//! number or timestamp, which the encoder then quotes; and how it prints numbers
//! (`encode.go` `floatv`).

use serde_json::Number;

/// go-yaml v2 `resolve("", s)` yields `!!str`.
pub(super) fn resolves_to_string(s: &str) -> bool {
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
pub(super) fn is_base60_float(s: &str) -> bool {
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
pub(super) fn number(n: &Number) -> String {
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
