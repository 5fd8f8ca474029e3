//! Bad input is refused before the first network call: every case runs against a
//! "cluster" that is a loopback listener counting the connections it is offered, and
//! must end with one line naming the fault, a non-zero exit, and no connection at all.
//! (docs/reliability.md lists the cases.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::harness::{self, Run};

/// A TCP listener on loopback that accepts and drops connections, counting them.
struct CountingServer {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl CountingServer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counted.fetch_add(1, Ordering::SeqCst);
                drop(stream);
            }
        });
        Self { port, connections }
    }

    fn kubeconfig(&self, dir: &std::path::Path) -> std::path::PathBuf {
        let path = dir.join("kubeconfig");
        let text = format!(
            "apiVersion: v1\nkind: Config\n\
             clusters: [{{name: c, cluster: {{server: \"https://127.0.0.1:{}\", insecure-skip-tls-verify: true}}}}]\n\
             users: [{{name: u, user: {{token: not-a-real-token}}}}]\n\
             contexts: [{{name: c, context: {{cluster: c, user: u, namespace: longhorn-system}}}}]\n\
             current-context: c\n",
            self.port
        );
        std::fs::write(&path, text).expect("write the kubeconfig");
        path
    }

    fn take(&self) -> usize {
        self.connections.swap(0, Ordering::SeqCst)
    }
}

/// `(args, words the error must contain)`: each is bad input the plugin can see
/// without asking the cluster.
fn cases() -> Vec<(Vec<&'static str>, &'static str)> {
    vec![
        // names
        (vec!["create", "Bad_Name"], "invalid SystemBackup name"),
        (vec!["describe", "Bad_Name"], "invalid SystemBackup name"),
        (
            vec!["delete", "Bad_Name", "-y"],
            "invalid SystemBackup name",
        ),
        (vec!["wait", "Bad_Name"], "invalid SystemBackup name"),
        (
            vec!["restore", "Bad_Name", "-y"],
            "invalid SystemBackup name",
        ),
        (vec!["download", "Bad_Name"], "invalid SystemBackup name"),
        (
            vec!["restore", "delete", "Bad_Name", "-y"],
            "invalid SystemRestore name",
        ),
        (
            vec!["schedule", "create", "Bad_Name", "--cron", "0 3 * * *"],
            "invalid RecurringJob name",
        ),
        (
            vec!["schedule", "delete", "Bad_Name", "-y"],
            "invalid RecurringJob name",
        ),
        (
            vec!["schedule", "run", "Bad_Name"],
            "invalid RecurringJob name",
        ),
        // cron and retain
        (
            vec!["schedule", "create", "nightly", "--cron", "0 25 * * *"],
            "invalid cron expression",
        ),
        (
            vec!["schedule", "create", "nightly", "--cron", "@every 0s"],
            "at least one minute",
        ),
        (
            vec!["schedule", "create", "nightly", "--cron", "@every 30s"],
            "at least one minute",
        ),
        (
            vec!["schedule", "set", "nightly", "--cron", "@every 59s"],
            "at least one minute",
        ),
        (
            vec![
                "schedule",
                "create",
                "nightly",
                "--cron",
                "0 3 * * *",
                "--retain",
                "0",
            ],
            "--retain",
        ),
        (
            vec!["schedule", "set", "nightly", "--retain", "0"],
            "--retain",
        ),
        // the backup target and the output path
        (
            vec![
                "create", "nightly", "--local", "--upload", "--target", "ftp://x",
            ],
            "ftp",
        ),
        (
            vec![
                "create", "nightly", "--local", "--upload", "--target", "s3://",
            ],
            "s3://",
        ),
        (
            vec![
                "create",
                "nightly",
                "--local",
                "--upload",
                "--target",
                "nfs://server:/export",
            ],
            "--mount-path",
        ),
        (
            vec![
                "create",
                "nightly",
                "--local",
                "--upload",
                "--mount-path",
                "/nonexistent-mount",
            ],
            "/nonexistent-mount",
        ),
        (
            vec!["download", "nightly", "--mount-path", "/nonexistent-mount"],
            "/nonexistent-mount",
        ),
        (
            vec![
                "create",
                "nightly",
                "--local",
                "-o",
                "/nonexistent-dir/x.zip",
            ],
            "/nonexistent-dir",
        ),
        (
            vec!["download", "nightly", "-o", "/nonexistent-dir/x.zip"],
            "/nonexistent-dir",
        ),
        // selectors (`a==` is not among them: apimachinery reads it as `a` equal to "")
        (vec!["list", "-l", "a=b=c"], "selector"),
        (vec!["delete", "--all", "-l", "a in (", "-y"], "selector"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_before_any_connection() {
    let server = CountingServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = server.kubeconfig(dir.path());
    let mut failures = Vec::new();
    for (args, expected) in cases() {
        let mut full = vec!["--kubeconfig".to_string(), kubeconfig.display().to_string()];
        full.extend(args.iter().map(|a| a.to_string()));
        let run = harness::run_in(harness::binary(), full, &[], Some(dir.path())).await;
        let connections = server.take();
        if let Some(problem) = problem(&run, expected, connections) {
            failures.push(format!(
                "{args:?}: {problem}\n  stderr: {}",
                run.stderr.trim()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases were not refused offline:\n{}",
        failures.len(),
        cases().len(),
        failures.join("\n")
    );
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name != "kubeconfig")
        .collect();
    assert!(left.is_empty(), "refused runs left files behind: {left:?}");
}

/// Why a run is not an offline refusal naming `expected`, if it is not.
fn problem(run: &Run, expected: &str, connections: usize) -> Option<String> {
    if connections != 0 {
        return Some(format!("connected {connections} time(s) before refusing"));
    }
    if run.code == 0 {
        return Some("succeeded".into());
    }
    let lines: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .collect();
    if run.code == 1 && lines.len() != 1 {
        return Some(format!("printed {} lines, not one", lines.len()));
    }
    if !run.stderr.contains(expected) {
        return Some(format!("the message does not mention {expected:?}"));
    }
    None
}
