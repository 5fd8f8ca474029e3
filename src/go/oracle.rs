//! The differential oracle (`tests/oracle/differential`): the Go originals the plugin
//! reimplements (robfig/cron v1.2.0, `time.ParseDuration`, backupstore's system-backup
//! URLs, sigs.k8s.io/yaml), asked in one batch per test. Built from the Go module
//! proxy by `tests/tools/install.sh differential-oracle`.
//!
//! Each differential test generates [`cases`] inputs from a fixed seed, so a run is
//! reproducible; `DIFFERENTIAL_SEED` and `DIFFERENTIAL_CASES` explore further.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;

/// Generated cases per differential test and run, unless `DIFFERENTIAL_CASES` says.
pub const DEFAULT_CASES: usize = 10_000;

pub fn cases() -> usize {
    std::env::var("DIFFERENTIAL_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES)
}

/// The seed of this run (`DIFFERENTIAL_SEED`, else a fixed one), named in every
/// mismatch so that it can be replayed.
pub fn seed() -> u64 {
    std::env::var("DIFFERENTIAL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_261_204)
}

/// [`cases`] values of `strategy`, from [`seed`] and `label` (each test its own
/// stream).
pub fn generate<S: Strategy>(label: &str, strategy: S) -> Vec<S::Value> {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed().to_le_bytes());
    for (i, b) in label.bytes().enumerate() {
        bytes[8 + i % 24] ^= b;
    }
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
    let mut runner = TestRunner::new_with_rng(Config::default(), rng);
    (0..cases())
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .expect("the strategy generates")
                .current()
        })
        .collect()
}

/// The oracle's answer to each request, in order.
pub fn ask(requests: &[Value]) -> Vec<Value> {
    let oracle = longhorn_ground::tools::install("differential-oracle", None)
        .unwrap_or_else(|e| panic!("the differential oracle is missing ({e}); run tests/tools/install.sh differential-oracle"));
    let mut child = Command::new(&oracle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {}: {e}", oracle.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    // U+2028 and U+2029 escaped, as Go's encoding/json writes them: sigs.k8s.io/yaml
    // reads the JSON as YAML, where a raw one is a line break that folds what follows.
    let lines: Vec<String> = requests
        .iter()
        .map(|r| {
            r.to_string()
                .replace('\u{2028}', "\\u2028")
                .replace('\u{2029}', "\\u2029")
        })
        .collect();
    let writer = std::thread::spawn(move || {
        for line in lines {
            writeln!(stdin, "{line}").expect("write to the oracle");
        }
    });
    let answers: Vec<Value> = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map(|line| serde_json::from_str(&line.expect("read the oracle")).expect("JSON"))
        .collect();
    writer.join().expect("writer");
    assert!(
        child.wait().expect("the oracle exits").success(),
        "the oracle failed"
    );
    assert_eq!(answers.len(), requests.len(), "one answer per request");
    answers
}

/// Fails with every mismatch (the first 20 in full) and how to replay them.
pub fn assert_no_mismatch(what: &str, total: usize, mismatches: &[String]) {
    assert!(
        mismatches.is_empty(),
        "{} of {total} {what} cases differ from Go (DIFFERENTIAL_SEED={}):\n{}",
        mismatches.len(),
        seed(),
        mismatches
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}
