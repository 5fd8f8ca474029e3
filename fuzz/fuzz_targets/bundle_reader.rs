//! A bundle zip, as `inspect`, `restore` and `diff` read one.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    kubectl_longhorn_systembackup::fuzzing::read_bundle(bytes);
});
