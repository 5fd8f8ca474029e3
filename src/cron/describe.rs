//! A schedule in English, for `schedule describe` and errors.

use super::{DOW_NAMES, Field, MONTH_NAMES, STAR, Spec, bits};

impl Spec {
    pub(super) fn describe(&self) -> String {
        let all = |set: u64, field: Field| {
            set & STAR != 0 && set & !STAR == bits(field.min(), field.max(), 1)
        };
        let single = |set: u64| {
            let set = set & !STAR;
            (set.count_ones() == 1).then(|| set.trailing_zeros())
        };
        let mut out = match (
            single(self.minute),
            single(self.hour),
            all(self.hour, Field::Hour),
        ) {
            (Some(m), Some(h), _) => format!("at {h:02}:{m:02}"),
            (Some(m), None, true) => format!("at minute {m} of every hour"),
            (None, _, true) if all(self.minute, Field::Minute) => "every minute".to_string(),
            _ => format!(
                "at minute {} past hour {}",
                list(self.minute, Field::Minute),
                list(self.hour, Field::Hour)
            ),
        };
        let (any_dom, any_dow) = (
            all(self.dom, Field::DayOfMonth),
            all(self.dow, Field::DayOfWeek),
        );
        let dom = format!("on day {} of the month", list(self.dom, Field::DayOfMonth));
        let dow = format!("on {}", list(self.dow, Field::DayOfWeek));
        out += &match (any_dom, any_dow) {
            (true, true) if out.starts_with("at ") && single(self.hour).is_some() => {
                " every day".to_string()
            }
            (true, true) => String::new(),
            (false, true) => format!(" {dom}"),
            (true, false) => format!(" {dow}"),
            _ if (self.dom | self.dow) & STAR != 0 => format!(" {dom} if it is also {}", &dow[3..]),
            _ => format!(" {dom} or {dow}"),
        };
        if !all(self.month, Field::Month) {
            out += &format!(" in {}", list(self.month, Field::Month));
        }
        out
    }
}

/// `1-5,7` style list of the values in `set`, with names for months and weekdays.
fn list(set: u64, field: Field) -> String {
    let name = |v: u64| match field {
        Field::Month => MONTH_NAMES[v as usize - 1].to_string(),
        Field::DayOfWeek => DOW_NAMES[v as usize].to_string(),
        _ => v.to_string(),
    };
    let mut parts = Vec::new();
    let mut v = field.min();
    while v <= field.max() {
        if set & (1 << v) == 0 {
            v += 1;
            continue;
        }
        let start = v;
        while v < field.max() && set & (1 << (v + 1)) != 0 {
            v += 1;
        }
        parts.push(match v - start {
            0 => name(start),
            1 => format!("{},{}", name(start), name(v)),
            _ => format!("{}-{}", name(start), name(v)),
        });
        v += 1;
    }
    if parts.is_empty() {
        "(none)".to_string()
    } else {
        parts.join(",")
    }
}
