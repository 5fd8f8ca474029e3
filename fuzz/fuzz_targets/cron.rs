//! A RecurringJob's cron expression and its next runs.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| {
    kubectl_longhorn_systembackup::fuzzing::parse_cron(text);
});
