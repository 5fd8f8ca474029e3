//! A kubeconfig file and a credential helper's output (the first byte picks which).
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    let Some((which, rest)) = bytes.split_first() else {
        return;
    };
    if which % 2 == 0 {
        if let Ok(text) = std::str::from_utf8(rest) {
            kubectl_longhorn_systembackup::fuzzing::read_kubeconfig(text);
        }
    } else {
        kubectl_longhorn_systembackup::fuzzing::read_exec_credential(rest);
    }
});
