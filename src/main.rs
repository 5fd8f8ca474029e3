use std::process::ExitCode;

fn main() -> ExitCode {
    kubectl_longhorn_systembackup::main_with_args(std::env::args_os().collect())
}
