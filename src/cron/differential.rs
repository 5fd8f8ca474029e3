//! The cron parser against robfig/cron v1.2.0 itself (`ParseStandard`, as Longhorn's
//! RecurringJob validator calls it): accept or reject, and the next five runs, for
//! generated expressions ([`crate::go::oracle`]).

use jiff::Timestamp;
use jiff::tz::TimeZone;
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::json;

use crate::go::oracle;

/// One field: numbers, ranges, steps, names, wildcards, and some junk.
fn field() -> impl Strategy<Value = String> {
    let item = prop_oneof![
        4 => Just("*".to_string()),
        4 => "[0-9]{1,2}",
        3 => "[0-9]{1,2}-[0-9]{1,2}",
        3 => "\\*/[0-9]{1,2}",
        2 => "[0-9]{1,2}-[0-9]{1,2}/[0-9]{1,2}",
        2 => "[0-9]{1,2}/[0-9]{1,2}",
        2 => "(jan|feb|jun|dec|mon|tue|fri|sun|sat|JAN|Mon|foo)(-(mar|wed|SAT|nov))?",
        1 => Just("?".to_string()),
        1 => "[0-9a-z*/?,-]{1,5}",
    ];
    vec(item, 1..=3).prop_map(|items| items.join(","))
}

fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => vec(field(), 5).prop_map(|fields| fields.join(" ")),
        1 => vec(field(), 3..=7).prop_map(|fields| fields.join(" ")),
        1 => "@(yearly|annually|monthly|weekly|daily|midnight|hourly|Daily|fortnightly|every)",
        2 => "@every ([0-9]{1,4}(\\.[0-9]{1,3})?(ns|us|ms|s|m|h|d)){1,3}",
        1 => "[ ]{0,2}[0-9*]{1,2}[ \t]{1,3}[0-9*]{1,2}[ ]{1,2}\\* \\* \\*[ ]{0,2}",
    ]
}

#[test]
fn cron_agrees_with_robfig_cron() {
    let cases = oracle::generate("cron", (expression(), 946_684_800i64..4_102_444_800));
    let requests: Vec<_> = cases
        .iter()
        .map(|(text, after)| {
            let after = Timestamp::from_second(*after).unwrap().to_string();
            json!({"kind": "cron", "text": text, "after": after, "count": 5})
        })
        .collect();
    let answers = oracle::ask(&requests);
    let mut mismatches = Vec::new();
    let mut accepted = 0;
    for ((text, after), go) in cases.iter().zip(&answers) {
        let ours = super::validate(text);
        let go_ok = go["ok"].as_bool().unwrap_or(false);
        match (&ours, go_ok) {
            (Ok(schedule), true) => {
                accepted += 1;
                let next: Vec<String> = schedule
                    .next_runs(Timestamp::from_second(*after).unwrap(), &TimeZone::UTC, 5)
                    .iter()
                    .map(|z| z.timestamp().to_string())
                    .collect();
                if serde_json::json!(next) != go["next"] {
                    mismatches.push(format!(
                        "{text:?} after {after}: ours {next:?}, Go {}",
                        go["next"]
                    ));
                }
            }
            (Err(_), false) => {}
            (Ok(_), false) => {
                mismatches.push(format!("{text:?}: we accept, Go says {}", go["error"]))
            }
            (Err(e), true) => mismatches.push(format!("{text:?}: Go accepts, we say {e}")),
        }
    }
    eprintln!("cron: {} cases ({accepted} accepted by both)", cases.len());
    oracle::assert_no_mismatch("cron", cases.len(), &mismatches);
    assert!(
        accepted * 10 > cases.len(),
        "too few valid expressions ({accepted}) to test the run times"
    );
}
