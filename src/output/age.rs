//! Ages and timestamps the way kubectl prints them (apimachinery's
//! `duration.HumanDuration`: `45s`, `3m10s`, `5h`, `2d3h`, `1y30d`).

use jiff::{SignedDuration, Timestamp};

/// kubectl's short age of a duration.
pub fn human_duration(duration: SignedDuration) -> String {
    let seconds = duration.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let days = (hours / 24) % 365;
        return if days == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{days}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Age of an RFC 3339 timestamp relative to `now`; `<unknown>` if it does not parse,
/// `<none>` when absent (kubectl's placeholders).
pub fn age(timestamp: Option<&str>, now: Timestamp) -> String {
    match timestamp {
        None => "<none>".into(),
        Some(text) => match text.parse::<Timestamp>() {
            Ok(t) => human_duration(now.duration_since(t)),
            Err(_) => "<unknown>".into(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: i64) -> String {
        human_duration(SignedDuration::from_secs(s))
    }

    #[test]
    fn matches_kubectl_steps() {
        assert_eq!(secs(-5), "<invalid>");
        assert_eq!(secs(-1), "0s");
        assert_eq!(secs(119), "119s");
        assert_eq!(secs(120), "2m");
        assert_eq!(secs(190), "3m10s");
        assert_eq!(secs(600), "10m");
        assert_eq!(secs(3 * 3600), "3h");
        assert_eq!(secs(3 * 3600 + 60 * 5), "3h5m");
        assert_eq!(secs(10 * 3600), "10h");
        assert_eq!(secs(50 * 3600), "2d2h");
        assert_eq!(secs(10 * 86400), "10d");
        assert_eq!(secs(800 * 86400), "2y70d");
        assert_eq!(secs(9 * 365 * 86400), "9y");
    }

    #[test]
    fn ages_of_timestamps() {
        let now: Timestamp = "2026-01-01T00:10:00Z".parse().unwrap();
        assert_eq!(age(Some("2026-01-01T00:00:00Z"), now), "10m");
        assert_eq!(age(None, now), "<none>");
        assert_eq!(age(Some("garbage"), now), "<unknown>");
    }
}
