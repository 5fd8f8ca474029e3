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

/// Runs each `(args, exit code, text on stderr)` case: it must fail with that code and
/// text, and a failure of the plugin's own (exit 1) in one line.
pub async fn assert_bad_inputs(env: &Longhorn, cases: &[(&[&str], i32, &str)]) {
    for (args, code, text) in cases {
        let run = plugin(env, args).await;
        run.failure(*code).stderr_has(text);
        if *code == 1 {
            run.one_line_error();
        }
    }
}

/// An environment on a plane of its own, for tests whose objects other environments
/// would disturb (cluster-scoped ones, API server restarts, throttling).
pub async fn dedicated(options: Options) -> Longhorn {
    let version = Ground::default_version().expect("a supported LONGHORN_VERSION");
    Ground::dedicated_with(&version, options)
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
    /// Every run is checked for the ground's secrets: no output of any command, at
    /// any verbosity, in any error, may hold a token, key or store credential.
    #[track_caller]
    fn from(output: Output) -> Self {
        let run = Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        check_secrets(&run);
        run
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

/// Fails when a run printed a secret the ground made (tests that spawn the plugin
/// themselves call it on what they read).
#[track_caller]
pub fn check_secrets(run: &Run) {
    for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        if let Some(secret) = longhorn_ground::secrets::leaked_in(text) {
            panic!(
                "a run printed a secret of the ground on {stream} ({} characters starting {:?}):\n{text}",
                secret.len(),
                &secret[..4]
            );
        }
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
    let run = if is_root() {
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

/// Whether the tests run as root: a directory this process creates is owned by its
/// effective user.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    let dir = tempfile::tempdir().expect("temp dir");
    dir.path().metadata().expect("metadata").uid() == 0
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

/// Copies (or moves) a backup in the ground's store from `(version, name)` to another,
/// rewriting its cfg (the zip stays as it is; `created_at`, when given, replaces the
/// cfg's CreatedAt), and has Longhorn's BackupTarget controller sync it back as a
/// SystemBackup, waited for until Ready.
pub async fn copy_remote_backup(
    env: &Longhorn,
    from: (&str, &str),
    to: (&str, &str),
    keep_source: bool,
    created_at: Option<&str>,
) {
    let dir = |(version, name): (&str, &str)| {
        env.store_path()
            .join("backupstore/system-backups")
            .join(version)
            .join(name)
    };
    let (source, target) = (dir(from), dir(to));
    std::fs::create_dir_all(&target).unwrap();
    std::fs::copy(
        source.join("system-backup.zip"),
        target.join("system-backup.zip"),
    )
    .unwrap();
    let mut cfg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(source.join("system-backup.cfg")).unwrap()).unwrap();
    cfg["Name"] = serde_json::json!(to.1);
    cfg["LonghornVersion"] = serde_json::json!(to.0);
    if let Some(created_at) = created_at {
        cfg["CreatedAt"] = serde_json::json!(created_at);
    }
    std::fs::write(target.join("system-backup.cfg"), cfg.to_string()).unwrap();
    if !keep_source {
        std::fs::remove_dir_all(&source).unwrap();
    }
    env.request_backup_target_sync().await.unwrap();
    env.wait_for_system_backup(to.1, &["Ready"], std::time::Duration::from_secs(180))
        .await
        .unwrap();
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

type Replacer = dyn Fn(&regex::Captures) -> String;

/// Normalises what varies between runs so output can be pinned by snapshots, keeping
/// the layout the plugin printed: the namespace, timestamps, UIDs and generated names
/// become placeholders of their own width (`lh-xxxxxxxx`, `YYYY-MM-DDThh:mm:ssZ`, …),
/// resource versions `[RV]`, and ages in descriptions `[AGE]`. Columns of tables stay
/// where the plugin put them; tables with ages go through [`aligned_table`].
pub fn normalize(text: &str, env: &Longhorn) -> String {
    let mut text = text.replace(env.namespace(), &same_width("lh-", env.namespace(), 'x'));
    let replacements: [(&str, &Replacer); 5] = [
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z", &|c| {
            let fraction = c.get(1).map_or(0, |f| f.len() - 1);
            let digits = if fraction > 0 {
                format!(".{}", "f".repeat(fraction))
            } else {
                String::new()
            };
            format!("YYYY-MM-DDThh:mm:ss{digits}Z")
        }),
        (
            r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b",
            &|_| "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".into(),
        ),
        (r"system-backup-[0-9a-f]{16}\b", &|_| {
            format!("system-backup-{}", "x".repeat(16))
        }),
        (r#"("?resourceVersion"?: )"\d+""#, &|c| {
            format!("{}\"[RV]\"", &c[1])
        }),
        // An age at the end of a description's line: nothing is aligned after it.
        (r"\(\d+(\.\d+)?[smhdy](\d+[smhd])? ago\)", &|_| {
            "([AGE] ago)".into()
        }),
    ];
    for (pattern, replace) in replacements {
        text = regex::Regex::new(pattern)
            .expect("regex")
            .replace_all(&text, |c: &regex::Captures| replace(c))
            .into_owned();
    }
    text
}

/// `prefix` followed by `fill` to the width of `value`.
fn same_width(prefix: &str, value: &str, fill: char) -> String {
    let rest = value.chars().count().saturating_sub(prefix.chars().count());
    format!("{prefix}{}", fill.to_string().repeat(rest))
}

/// A kubectl table (columns three spaces apart) whose cells include ages: checks that
/// every column starts at the same place on every line, three spaces after the widest
/// cell of the column before, as kubectl aligns them; then puts `[AGE]` for each age
/// and aligns the columns again the same way (an age's width moves the columns after
/// it). A table the plugin misaligned fails here.
#[track_caller]
pub fn aligned_table(text: &str) -> String {
    let age = regex::Regex::new(r"^\d+(\.\d+)?[smhdy](\d+[smhd])?$").expect("regex");
    let gap = regex::Regex::new(" {3,}").expect("regex");
    let lines: Vec<&str> = text.lines().collect();
    // Each line's cells, with where each starts.
    let rows: Vec<Vec<(usize, &str)>> = lines
        .iter()
        .map(|line| {
            let mut cells = Vec::new();
            let mut start = 0;
            for separator in gap.find_iter(line) {
                cells.push((start, &line[start..separator.start()]));
                start = separator.end();
            }
            cells.push((start, &line[start..]));
            cells
        })
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    for column in 0..columns {
        let starts: Vec<usize> = rows
            .iter()
            .filter_map(|r| r.get(column).map(|c| c.0))
            .collect();
        assert!(
            starts.windows(2).all(|w| w[0] == w[1]) && starts.len() == rows.len(),
            "column {column} is not aligned:\n{text}"
        );
        if column > 0 {
            let widest = rows
                .iter()
                .map(|r| r[column - 1].0 + r[column - 1].1.len())
                .max()
                .unwrap_or(0);
            assert_eq!(
                starts[0],
                widest + 3,
                "column {column} is not three spaces after the one before:\n{text}"
            );
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|(_, cell)| {
                    if age.is_match(cell) {
                        "[AGE]".to_string()
                    } else {
                        cell.to_string()
                    }
                })
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..columns)
        .map(|c| cells.iter().map(|r| r[c].len()).max().unwrap_or(0))
        .collect();
    cells
        .iter()
        .map(|row| {
            let line: String = row
                .iter()
                .enumerate()
                .map(|(c, cell)| format!("{cell:<width$}", width = widths[c] + 3))
                .collect();
            format!("{}\n", line.trim_end())
        })
        .collect()
}

/// Runs the plugin with each `(label, args)` of `$shows` and pins its stdout, passed
/// through `$normalize`, as the snapshot `<$prefix>-<label>` of the calling module.
/// Tables (`table`, `wide`, `no-headers`) are checked and aligned by [`aligned_table`].
macro_rules! pin_outputs {
    ($env:expr, $prefix:expr, $shows:expr, $normalize:expr) => {
        for (label, args) in $shows {
            let run = $crate::harness::plugin($env, &args).await;
            run.success();
            // Events are written after the status change they report: leave them out.
            let text = $normalize(&$crate::harness::without_events(&run.stdout));
            let text = match label {
                "table" | "wide" | "no-headers" => $crate::harness::aligned_table(&text),
                _ => text,
            };
            insta::assert_snapshot!(format!("{}-{label}", $prefix), text);
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
