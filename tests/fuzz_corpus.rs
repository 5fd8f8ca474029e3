//! Replays the saved fuzzing corpus (fuzz/corpus/<target>/, kept by the campaigns of
//! `tests/tools/fuzz.sh`) on stable through the same entry points the fuzz targets call:
//! every input that once reached new code, and every crash found and fixed, must still
//! be read without a panic and within a time bound.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kubectl_longhorn_systembackup::fuzzing;

/// Far above what any input takes; an input over it has found a hang.
const PER_INPUT: Duration = Duration::from_secs(10);

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "{} holds no inputs: the corpus of fuzz target {target} is missing",
        dir.display()
    );
    files
}

/// Runs `read` on every input of `target`; returns how many it accepted.
fn replay(target: &str, read: impl Fn(&[u8]) -> bool) -> (usize, usize) {
    let files = corpus(target);
    let mut accepted = 0;
    for file in &files {
        let bytes = std::fs::read(file).unwrap();
        let started = Instant::now();
        if read(&bytes) {
            accepted += 1;
        }
        let took = started.elapsed();
        assert!(
            took < PER_INPUT,
            "{} took {took:?} (a hang found by fuzzing)",
            file.display()
        );
    }
    (files.len(), accepted)
}

#[test]
fn bundle_reader_corpus() {
    let (total, accepted) = replay("bundle_reader", fuzzing::read_bundle);
    // The seeds include readable bundles: the reader must still accept them.
    assert!(accepted >= 1, "no bundle of {total} was readable");
}

#[test]
fn cron_corpus() {
    let (total, accepted) = replay("cron", |bytes| {
        std::str::from_utf8(bytes).is_ok_and(fuzzing::parse_cron)
    });
    assert!(accepted >= 1, "no cron of {total} parsed");
}

#[test]
fn kubeconfig_corpus() {
    let (total, accepted) = replay("kubeconfig", |bytes| match bytes.split_first() {
        Some((which, rest)) if which % 2 == 0 => {
            std::str::from_utf8(rest).is_ok_and(fuzzing::read_kubeconfig)
        }
        Some((_, rest)) => fuzzing::read_exec_credential(rest),
        None => false,
    });
    assert!(
        accepted >= 2,
        "fewer than two of {total} kubeconfig inputs were read"
    );
}
