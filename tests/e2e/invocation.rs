//! The plugin through real kubectl's plugin lookup, under each name it ships as
//! (`kubernetes/kubectl:pkg/cmd/plugin/plugin.go`), and usage lines in the form the user typed.

use std::path::Path;

use crate::harness::{self, Run, longhorn, plugin};

/// A directory holding the plugin under `name`, to put first on PATH.
fn plugin_dir(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::os::unix::fs::symlink(harness::binary(), dir.path().join(name)).expect("link the plugin");
    dir
}

async fn kubectl(dir: &Path, args: &[&str]) -> Run {
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    harness::run(
        "kubectl",
        args.iter().map(|a| a.to_string()).collect(),
        &[("PATH", &path)],
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_name_works_through_kubectl() {
    let env = longhorn().await;
    plugin(
        &env,
        &[
            "create",
            "through-kubectl",
            "--volume-backup-policy",
            "disabled",
        ],
    )
    .await
    .success();
    let kubeconfig = env.kubeconfig().display().to_string();
    let ns = env.namespace();
    let long_form = ["longhorn", "systembackup", "--help"];
    let cases: [(&str, Vec<&str>, &[&str], &str); 4] = [
        (
            "kubectl-longhorn",
            vec![
                "longhorn",
                "systembackup",
                "list",
                "--kubeconfig",
                &kubeconfig,
                "-n",
                ns,
            ],
            &long_form,
            "kubectl longhorn systembackup",
        ),
        // The vendor form takes global flags before `systembackup` too.
        (
            "kubectl-longhorn",
            vec![
                "longhorn",
                "--kubeconfig",
                &kubeconfig,
                "-n",
                ns,
                "systembackup",
                "list",
            ],
            &["longhorn", "--help"],
            "kubectl longhorn",
        ),
        (
            "kubectl-longhorn-systembackup",
            vec![
                "longhorn",
                "systembackup",
                "list",
                "--kubeconfig",
                &kubeconfig,
                "-n",
                ns,
            ],
            &long_form,
            "kubectl longhorn systembackup",
        ),
        (
            "kubectl-longhorn_systembackup",
            vec![
                "longhorn-systembackup",
                "list",
                "--kubeconfig",
                &kubeconfig,
                "-n",
                ns,
            ],
            &["longhorn-systembackup", "--help"],
            "kubectl longhorn-systembackup",
        ),
    ];
    for (name, args, help_args, usage) in cases {
        let dir = plugin_dir(name);
        let run = kubectl(dir.path(), &args).await;
        run.success().stdout_has("through-kubectl");
        let help = kubectl(dir.path(), help_args).await;
        help.success().stdout_has(&format!("Usage: {usage} "));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_name_the_form_the_user_typed() {
    let dir = plugin_dir("kubectl-longhorn");
    let run = kubectl(dir.path(), &["longhorn", "volumes"]).await;
    run.failure(2).stderr_has("kubectl longhorn");
    let run = kubectl(dir.path(), &["longhorn", "systembackup", "lsit"]).await;
    run.failure(2)
        .stderr_has("Usage: kubectl longhorn systembackup");
}
