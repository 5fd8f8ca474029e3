//! Go's `strconv.Atoi` and `time.ParseDuration`, as robfig/cron v1.2.0 calls them:
//! the same accepted texts, limits and errors.

pub(super) enum AtoiError {
    Syntax,
    Range,
}

/// Go's `strconv.Atoi` on 64-bit: optional sign, decimal digits, no underscores.
pub(super) fn go_atoi(text: &str) -> Result<i64, AtoiError> {
    use std::num::IntErrorKind;
    text.parse::<i64>().map_err(|e| match e.kind() {
        IntErrorKind::PosOverflow | IntErrorKind::NegOverflow => AtoiError::Range,
        _ => AtoiError::Syntax,
    })
}

/// Go's `time.ParseDuration`, including its float64 arithmetic for fractions and its
/// overflow checks, in nanoseconds. The error is a short reason for [`CronError`].
pub(super) fn go_parse_duration(orig: &str) -> Result<i64, String> {
    let invalid = || "is not a duration".to_string();
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
        return Err(if orig.is_empty() {
            "is empty".to_string()
        } else {
            invalid()
        });
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(if s[0].is_ascii_whitespace() {
                "has extra whitespace".to_string()
            } else {
                invalid()
            });
        }
        let before = s.len();
        let (mut v, rest) =
            leading_int(s).ok_or_else(|| "is too large (at most about 292 years)".to_string())?;
        s = rest;
        let pre = before != s.len();
        let (mut fraction, mut scale, mut post) = (0, 1.0, false);
        if s.first() == Some(&b'.') {
            let before = s.len() - 1;
            (fraction, scale, s) = leading_fraction(&s[1..]);
            post = before != s.len();
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|c| *c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err("has a number without a unit".to_string());
        }
        let (unit, rest) = s.split_at(unit_len);
        s = rest;
        let unit: u64 = match unit {
            b"ns" => 1,
            b"us" => 1_000,
            _ if unit == "µs".as_bytes() || unit == "μs".as_bytes() => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ if unit.iter().any(u8::is_ascii_whitespace) => {
                return Err("contains whitespace (write e.g. 1h30m)".to_string());
            }
            _ => {
                return Err(format!(
                    "has the unknown unit {:?}",
                    String::from_utf8_lossy(unit)
                ));
            }
        };
        if v > (1 << 63) / unit {
            return Err("is too large (at most about 292 years)".to_string());
        }
        v *= unit;
        if fraction > 0 {
            v += (fraction as f64 * (unit as f64 / scale)) as u64;
            if v > 1 << 63 {
                return Err("is too large (at most about 292 years)".to_string());
            }
        }
        // Go adds in uint64 and can wrap exactly to 0 (2^63 + 2^63); so do we.
        total = total.wrapping_add(v);
        if total > 1 << 63 {
            return Err("is too large (at most about 292 years)".to_string());
        }
    }
    if negative {
        return Ok((total as i64).wrapping_neg());
    }
    i64::try_from(total).map_err(|_| "is too large (at most about 292 years)".to_string())
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
