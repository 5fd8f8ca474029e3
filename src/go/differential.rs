//! `parse_duration` against Go's `time.ParseDuration` itself, for generated texts
//! ([`super::oracle`]).

use proptest::prelude::*;
use serde_json::json;

use super::oracle;

fn duration_text() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => "[-+]?([0-9]{0,6}(\\.[0-9]{0,4})?(ns|us|µs|μs|ms|s|m|h)){1,4}",
        2 => "[-+]?[0-9]{15,22}(\\.[0-9]{0,12})?(ns|us|ms|s|m|h)",
        1 => "[-+]?0?(\\.[0-9]*)?",
        1 => "[-+ .0-9a-zµ]{0,8}",
        1 => "[0-9]{1,3}(d|w|y|H|S|sec|min|hr|mss|)",
    ]
}

#[test]
fn durations_agree_with_go() {
    let cases = oracle::generate("duration", duration_text());
    let requests: Vec<_> = cases
        .iter()
        .map(|text| json!({"kind": "duration", "text": text}))
        .collect();
    let answers = oracle::ask(&requests);
    let mut mismatches = Vec::new();
    let mut accepted = 0;
    for (text, go) in cases.iter().zip(&answers) {
        let ours = super::parse_duration(text);
        match (&ours, go["ok"].as_bool().unwrap_or(false)) {
            (Ok(nanos), true) => {
                accepted += 1;
                if go["nanos"].as_i64() != Some(*nanos) {
                    mismatches.push(format!("{text:?}: ours {nanos} ns, Go {}", go["nanos"]));
                }
            }
            (Err(_), false) => {}
            (Ok(nanos), false) => mismatches.push(format!(
                "{text:?}: we accept ({nanos} ns), Go says {}",
                go["error"]
            )),
            (Err(e), true) => mismatches.push(format!("{text:?}: Go accepts, we say {e}")),
        }
    }
    eprintln!(
        "duration: {} cases ({accepted} accepted by both)",
        cases.len()
    );
    oracle::assert_no_mismatch("duration", cases.len(), &mismatches);
}
