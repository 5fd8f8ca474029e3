//! Shell completion: the static scripts of `completion SHELL`, and kubectl's plugin
//! completion (kubectl ≥ 1.26 runs `kubectl_complete-<plugin>`), driven through real
//! kubectl's `__complete` with live names from the ground.

use std::path::Path;

use kube::api::PostParams;
use longhorn_ground::objects::{recurring_job, system_backup_job, system_restore};
use longhorn_ground::{Kind, Longhorn};
use serde_json::json;

use crate::harness::{self, Run, longhorn};

/// Every verb of `kubectl longhorn systembackup`.
const VERBS: &[&str] = &[
    "create",
    "list",
    "describe",
    "wait",
    "delete",
    "prune",
    "cleanup",
    "status",
    "retry",
    "schedule",
    "restore",
    "diff",
    "inspect",
    "download",
    "sync",
    "completion",
];

async fn script(shell: &str) -> String {
    let run = harness::run(
        harness::binary(),
        vec!["completion".into(), shell.into()],
        &[],
    )
    .await;
    run.success();
    run.stdout
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scripts_name_the_binary_and_every_verb() {
    // How each shell's script registers the command.
    let registrations = [
        ("bash", "complete -F _kubectl__longhorn__systembackup"),
        ("zsh", "#compdef kubectl-longhorn-systembackup"),
        ("fish", "complete -c kubectl-longhorn-systembackup"),
        (
            "powershell",
            "Register-ArgumentCompleter -Native -CommandName 'kubectl-longhorn-systembackup'",
        ),
    ];
    for (shell, registration) in registrations {
        let text = script(shell).await;
        assert!(
            text.contains(registration),
            "{shell} script lacks {registration:?}"
        );
        for verb in VERBS {
            // Each shell quotes a subcommand name its own way; all of them write it
            // as a whole word.
            let word = regex::Regex::new(&format!(r"(^|[^\w-]){verb}([^\w-]|$)")).expect("regex");
            assert!(
                text.lines().any(|l| word.is_match(l)),
                "{shell} script lacks the verb {verb}"
            );
        }
        for flag in ["--kubeconfig", "--namespace", "--request-timeout"] {
            let bare = flag.trim_start_matches('-');
            assert!(
                text.contains(flag) || text.contains(&format!("-l {bare}")),
                "{shell} script lacks {flag}"
            );
        }
    }
}

/// The bash script really completes, in bash.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bash_script_completes_in_bash() {
    let bash = script("bash").await;
    let complete = |line: &str| {
        let words: Vec<&str> = line.split(' ').collect();
        format!(
            "{bash}\nCOMP_WORDS=({words}); COMP_CWORD={cword}; COMP_LINE='{line}'; COMP_POINT={point}\n\
             _kubectl__longhorn__systembackup kubectl-longhorn-systembackup '{cur}' '{prev}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            words = words
                .iter()
                .map(|w| format!("'{w}'"))
                .collect::<Vec<_>>()
                .join(" "),
            cword = words.len() - 1,
            point = line.len(),
            cur = words[words.len() - 1],
            prev = words[words.len() - 2],
        )
    };
    let run = |line: &str| {
        let program = complete(line);
        async move {
            let run = harness::run("bash", vec!["-c".into(), program], &[]).await;
            run.success();
            run.stdout.lines().map(str::to_string).collect::<Vec<_>>()
        }
    };
    let verbs = run("kubectl-longhorn-systembackup ").await;
    for verb in VERBS {
        assert!(verbs.iter().any(|v| v == verb), "no {verb} in {verbs:?}");
    }
    let policies = run("kubectl-longhorn-systembackup create x --volume-backup-policy ").await;
    let mut policies: Vec<&str> = policies.iter().map(String::as_str).collect();
    policies.sort();
    assert_eq!(policies, ["always", "disabled", "if-not-present"]);
}

/// A directory with the plugin and its completion executable under the names of
/// one krew name, to put first on PATH.
fn plugin_dir(krew_name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let link = krew_name.replace('-', "_");
    for name in [
        format!("kubectl-{link}"),
        format!("kubectl_complete-{link}"),
    ] {
        std::os::unix::fs::symlink(harness::binary(), dir.path().join(name)).expect("link");
    }
    dir
}

/// `kubectl __complete WORDS…` with `dir` first on PATH: the candidates and the
/// directive line.
async fn kubectl_complete(dir: &Path, words: &[&str]) -> (Vec<String>, String) {
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut args = vec!["__complete".to_string()];
    args.extend(words.iter().map(|w| w.to_string()));
    let run: Run = harness::run("kubectl", args, &[("PATH", &path)]).await;
    run.success();
    let mut lines: Vec<String> = run.stdout.lines().map(str::to_string).collect();
    let directive = lines.pop().unwrap_or_default();
    (lines, directive)
}

/// Candidates for `kubectl longhorn systembackup WORDS… --kubeconfig K -n NAMESPACE TYPED`.
async fn names(
    dir: &Path,
    env: &Longhorn,
    namespace: &str,
    words: &[&str],
    typed: &str,
) -> Vec<String> {
    let kubeconfig = env.kubeconfig().display().to_string();
    let mut line = vec!["longhorn", "systembackup"];
    line.extend_from_slice(words);
    line.extend(["--kubeconfig", &kubeconfig, "-n", namespace, typed]);
    let (names, directive) = kubectl_complete(dir, &line).await;
    assert_eq!(directive, ":4", "{line:?}");
    names
}

async fn seed(env: &Longhorn) {
    for name in ["alpha", "alpine", "beta"] {
        harness::create_backup(env, name, true).await;
    }
    let client = env.client().await.expect("client");
    let jobs = Kind::RecurringJob.api(&client, env.namespace());
    let params = PostParams::default();
    // A snapshot job is not the business of `schedule`: it is not offered.
    jobs.create(
        &params,
        &recurring_job("hourly-snap", "snapshot", "0 * * * *", 2, json!({})),
    )
    .await
    .expect("create a snapshot RecurringJob");
    if env.version().at_least(9) {
        jobs.create(
            &params,
            &system_backup_job(
                "nightly-sb",
                "0 1 * * *",
                2,
                json!({"volume-backup-policy": "disabled"}),
            ),
        )
        .await
        .expect("create a system-backup RecurringJob");
    }
    Kind::SystemRestore
        .api(&client, env.namespace())
        .create(&params, &system_restore("restore-alpha", "alpha"))
        .await
        .expect("create a SystemRestore");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_completes_live_names_through_the_plugin() {
    let env = longhorn().await;
    seed(&env).await;
    let kubeconfig = env.kubeconfig().display().to_string();
    let ns = env.namespace();
    let dir = plugin_dir("longhorn");
    let dir = dir.path();

    // The group word, then the verbs by their own names.
    let (words, directive) = kubectl_complete(dir, &["longhorn", ""]).await;
    assert_eq!(words, ["systembackup", "sb"]);
    assert_eq!(directive, ":4");
    let (verbs, _) = kubectl_complete(dir, &["longhorn", "systembackup", ""]).await;
    for verb in VERBS {
        assert!(verbs.iter().any(|v| v == verb), "no {verb} in {verbs:?}");
    }

    // SystemBackup names: flags after the verb, before the group, `=` forms.
    let kubeconfig_inline = format!("--kubeconfig={kubeconfig}");
    let cases: [Vec<&str>; 4] = [
        vec![
            "longhorn",
            "systembackup",
            "describe",
            "--kubeconfig",
            &kubeconfig,
            "-n",
            ns,
            "",
        ],
        vec![
            "longhorn",
            "--kubeconfig",
            &kubeconfig,
            "-n",
            ns,
            "systembackup",
            "describe",
            "",
        ],
        vec![
            "longhorn",
            "systembackup",
            "wait",
            "--namespace",
            ns,
            &kubeconfig_inline,
            "",
        ],
        vec![
            "longhorn",
            "sb",
            "-n",
            ns,
            "delete",
            "--kubeconfig",
            &kubeconfig,
            "",
        ],
    ];
    for words in cases {
        let (found, directive) = kubectl_complete(dir, &words).await;
        assert_eq!(found, ["alpha", "alpine", "beta"], "{words:?}");
        assert_eq!(directive, ":4");
    }
    assert_eq!(
        names(dir, &env, ns, &["get"], "alp").await,
        ["alpha", "alpine"]
    );

    // Another namespace has none of them; no cluster at all gives nothing.
    assert!(
        names(dir, &env, env.apps_namespace(), &["describe"], "")
            .await
            .is_empty()
    );
    let (none, directive) = kubectl_complete(
        dir,
        &[
            "longhorn",
            "systembackup",
            "describe",
            "--kubeconfig",
            "/nonexistent/kubeconfig",
            "",
        ],
    )
    .await;
    assert!(none.is_empty(), "{none:?}");
    assert_eq!(directive, ":4");

    // RecurringJobs of task system-backup only, and SystemRestores.
    let expected: &[&str] = if env.version().at_least(9) {
        &["nightly-sb"]
    } else {
        &[]
    };
    assert_eq!(
        names(dir, &env, ns, &["schedule", "describe"], "").await,
        expected
    );
    assert_eq!(
        names(dir, &env, ns, &["restore", "describe"], "").await,
        ["restore-alpha"]
    );
    // `restore NAME` takes a SystemBackup.
    assert_eq!(names(dir, &env, ns, &["restore"], "be").await, ["beta"]);
}

/// The alternative krew name: `kubectl longhorn-systembackup …` asks
/// `kubectl_complete-longhorn_systembackup`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_completes_the_longhorn_systembackup_name() {
    let env = longhorn().await;
    harness::create_backup(&env, "other-name", false).await;
    let kubeconfig = env.kubeconfig().display().to_string();
    let dir = plugin_dir("longhorn-systembackup");
    let (verbs, directive) = kubectl_complete(dir.path(), &["longhorn-systembackup", ""]).await;
    for verb in VERBS {
        assert!(verbs.iter().any(|v| v == verb), "no {verb} in {verbs:?}");
    }
    assert_eq!(directive, ":4");
    let (names, directive) = kubectl_complete(
        dir.path(),
        &[
            "longhorn-systembackup",
            "describe",
            "--kubeconfig",
            &kubeconfig,
            "-n",
            env.namespace(),
            "",
        ],
    )
    .await;
    assert_eq!(names, ["other-name"]);
    assert_eq!(directive, ":4");
    let (flags, _) =
        kubectl_complete(dir.path(), &["longhorn-systembackup", "list", "--no-h"]).await;
    assert_eq!(flags, ["--no-headers"]);
}
