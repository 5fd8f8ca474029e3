//! Runs the real plugin binary against the test ground: a real kube-apiserver with
//! Longhorn's CRDs, longhorn-manager's own controllers and webhooks (tests/ground).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use longhorn_ground::{Ground, Longhorn, Options};

/// An environment on the shared plane of the Longhorn version under test.
pub async fn longhorn() -> Longhorn {
    longhorn_with(Options::default()).await
}

pub async fn longhorn_with(options: Options) -> Longhorn {
    let version = Ground::default_version().expect("a supported LONGHORN_VERSION");
    Ground::shared_with(&version, options)
        .await
        .expect("the test ground starts (see docs/testing.md)")
}

/// The plugin binary cargo built for these tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_kubectl-longhorn-systembackup"))
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    #[track_caller]
    pub fn success(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// A failure with exit code `code` and a single-line message on stderr.
    #[track_caller]
    pub fn failure(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}:\n{}",
            self.stdout
        );
        self
    }

    /// The error is one line (`error: …` or kubectl's server forms), with no panic.
    #[track_caller]
    pub fn one_line_error(&self) -> &Self {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert!(!lines.is_empty(), "no error message");
        let last = lines[lines.len() - 1];
        assert!(!self.stderr.contains("panicked"), "panic:\n{}", self.stderr);
        assert!(
            last.starts_with("error: ")
                || last.starts_with("Error from server")
                || last.starts_with("Unable to connect"),
            "last stderr line is not an error line: {last:?}\n{}",
            self.stderr
        );
        self
    }
}

/// Runs the plugin with `args` against `env` (its kubeconfig and namespace).
pub async fn plugin(env: &Longhorn, args: &[&str]) -> Run {
    run(binary(), plugin_args(env, args), &[]).await
}

/// Runs the plugin like [`plugin`], in `dir` (where `create --local` writes NAME.zip).
pub async fn plugin_in(env: &Longhorn, dir: &Path, args: &[&str]) -> Run {
    run_in(binary(), plugin_args(env, args), &[], Some(dir)).await
}

/// Runs the plugin like [`plugin_in`] without root's power to write anywhere: as
/// nobody (setpriv, from util-linux) when the tests run as root. `dir` is made
/// writable for that user and gets a readable copy of the kubeconfig.
pub async fn plugin_unprivileged(env: &Longhorn, dir: &Path, args: &[&str]) -> Run {
    use std::os::unix::fs::PermissionsExt;
    let kubeconfig = dir.join(".kubeconfig-unprivileged");
    std::fs::copy(env.kubeconfig(), &kubeconfig).expect("copy the kubeconfig");
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let mut full = vec![
        "--kubeconfig".to_string(),
        kubeconfig.display().to_string(),
        "-n".to_string(),
        env.namespace().to_string(),
    ];
    full.extend(args.iter().map(|a| a.to_string()));
    // SAFETY: geteuid has no preconditions.
    let run = if unsafe { libc::geteuid() } == 0 {
        let mut wrapped: Vec<String> = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            .map(String::from)
            .to_vec();
        wrapped.push(binary().display().to_string());
        wrapped.extend(full);
        run_in("setpriv", wrapped, &[], Some(dir)).await
    } else {
        run_in(binary(), full, &[], Some(dir)).await
    };
    let _ = std::fs::remove_file(&kubeconfig);
    run
}

/// `--kubeconfig … -n … ARGS` for `env`.
pub fn plugin_args(env: &Longhorn, args: &[&str]) -> Vec<String> {
    let mut full = vec![
        "--kubeconfig".to_string(),
        env.kubeconfig().display().to_string(),
        "-n".to_string(),
        env.namespace().to_string(),
    ];
    full.extend(args.iter().map(|a| a.to_string()));
    full
}

/// Creates a SystemBackup without volume backups (quick on the ground), and with
/// `wait` until it is Ready.
pub async fn create_backup(env: &Longhorn, name: &str, wait: bool) {
    let mut args = vec!["create", name, "--volume-backup-policy", "disabled"];
    if wait {
        args.push("--wait");
    }
    plugin(env, &args).await.success();
}

/// Runs `program` with `args` and extra environment, off the async threads.
pub async fn run(program: impl AsRef<Path>, args: Vec<String>, env: &[(&str, &str)]) -> Run {
    run_in(program, args, env, None).await
}

/// [`run`] in the working directory `dir`.
pub async fn run_in(
    program: impl AsRef<Path>,
    args: Vec<String>,
    env: &[(&str, &str)],
    dir: Option<&Path>,
) -> Run {
    let dir = dir.map(Path::to_path_buf);
    let program = program.as_ref().to_path_buf();
    let env: Vec<(String, String)> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let mut command = Command::new(&program);
        command
            .args(&args)
            .stdin(Stdio::null())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG");
        if let Some(dir) = &dir {
            command.current_dir(dir);
        }
        for (key, value) in env {
            command.env(key, value);
        }
        Run::from(
            command
                .output()
                .unwrap_or_else(|e| panic!("running {}: {e}", program.display())),
        )
    })
    .await
    .expect("the run finished")
}

pub fn longhorn_resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("longhorn.io", "v1beta2", kind),
        plural,
    )
}

/// Names of the objects of a Longhorn kind in the environment's namespace.
pub async fn names(env: &Longhorn, kind: &str, plural: &str) -> Vec<String> {
    let api: Api<DynamicObject> = Api::namespaced_with(
        env.client().await.expect("client"),
        env.namespace(),
        &longhorn_resource(kind, plural),
    );
    let mut names: Vec<String> = api
        .list(&Default::default())
        .await
        .expect("list")
        .items
        .into_iter()
        .filter_map(|o| o.metadata.name)
        .collect();
    names.sort();
    names
}

/// A JSON merge patch of a Longhorn object (`(kind, plural)`) in the environment.
pub async fn patch(env: &Longhorn, kind: (&str, &str), name: &str, patch: serde_json::Value) {
    let api: Api<DynamicObject> = Api::namespaced_with(
        env.client().await.expect("client"),
        env.namespace(),
        &longhorn_resource(kind.0, kind.1),
    );
    api.patch(name, &Default::default(), &kube::api::Patch::Merge(patch))
        .await
        .unwrap_or_else(|e| panic!("patching {} {name}: {e}", kind.0));
}

pub async fn system_backups(env: &Longhorn) -> Vec<String> {
    names(env, "SystemBackup", "systembackups").await
}

/// `describe` text without its Events section: events are written after the status
/// change they report, so their number at a given moment varies.
pub fn without_events(text: &str) -> String {
    match text.find("\nEvents:") {
        Some(at) => format!("{}\nEvents:  [EVENTS]\n", &text[..at]),
        None => text.to_string(),
    }
}

/// Normalises what varies between runs so output can be pinned by snapshots: the
/// namespace, ages, timestamps, uids, resource versions; and the column padding,
/// which follows the width of those values.
pub fn normalize(text: &str, env: &Longhorn) -> String {
    let mut text = text
        .replace(env.namespace(), "[NS]")
        .replace(env.apps_namespace(), "[APPS]");
    let patterns = [
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", "[TIME]"),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            "[UID]",
        ),
        (
            r#""resourceVersion": "\d+""#,
            r#""resourceVersion": "[RV]""#,
        ),
        (r#"resourceVersion: "\d+""#, r#"resourceVersion: "[RV]""#),
        (r"\b\d+(\.\d+)?(s|m|h|d|y)(\d+(s|m|h|d))?\b", "[AGE]"),
        (r"system-backup-[0-9a-f]{16}", "system-backup-[HEX]"),
        (r"(\S)  +", "$1  "),
    ];
    for (pattern, replacement) in patterns {
        text = regex::Regex::new(pattern)
            .expect("regex")
            .replace_all(&text, replacement)
            .into_owned();
    }
    text
}

/// Runs the plugin with each `(label, args)` of `$shows` and pins its stdout, passed
/// through `$normalize`, as the snapshot `<$prefix>-<label>` of the calling module.
macro_rules! pin_outputs {
    ($env:expr, $prefix:expr, $shows:expr, $normalize:expr) => {
        for (label, args) in $shows {
            let run = $crate::harness::plugin($env, &args).await;
            run.success();
            // Events are written after the status change they report: leave them out.
            let text = $crate::harness::without_events(&run.stdout);
            insta::assert_snapshot!(format!("{}-{label}", $prefix), $normalize(&text));
        }
    };
}
pub(crate) use pin_outputs;

/// Runs kubectl with `args` against `env` (its kubeconfig and namespace).
pub async fn kubectl(env: &Longhorn, args: &[&str]) -> Run {
    let mut all = vec![
        "--kubeconfig".to_string(),
        env.kubeconfig().display().to_string(),
        "-n".into(),
        env.namespace().to_string(),
    ];
    all.extend(args.iter().map(|a| a.to_string()));
    run("kubectl", all, &[]).await
}

/// `get` with `-o json|yaml|name` prints exactly what `kubectl get <resource>` prints
/// for the objects `first` and `second`. `verb` is the plugin's words before `get`.
pub async fn assert_get_matches_kubectl(env: &Longhorn, verb: &[&str], resource: &str) {
    for args in [
        vec!["first", "-o", "json"],
        vec!["first", "-o", "yaml"],
        vec!["first", "second", "-o", "json"],
        vec!["first", "second", "-o", "yaml"],
        vec!["-o", "name"],
    ] {
        let mut ours = verb.to_vec();
        ours.push("get");
        ours.extend(&args);
        let ours = plugin(env, &ours).await;
        ours.success();
        let mut theirs = vec!["get", resource];
        theirs.extend(&args);
        let theirs = kubectl(env, &theirs).await;
        theirs.success();
        assert_eq!(
            ours.stdout, theirs.stdout,
            "plugin {verb:?} get {args:?} differs from kubectl"
        );
    }
}
