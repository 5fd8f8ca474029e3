//! `--local` bad input and faults: nothing is left behind, the error says which.

use super::*;

/// Every refusal comes before anything is written, and leaves nothing behind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_leaves_nothing_behind() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();

    local(&env, path, "Bad_Name", "disabled", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("invalid SystemBackup name \"Bad_Name\"");
    local(&env, path, "b", "disabled", &["-o", "missing/b.zip"])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("does not exist");

    std::fs::write(path.join("b.zip"), b"precious").unwrap();
    local(&env, path, "b", "disabled", &[])
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("b.zip: already exists; pass --force");
    assert_eq!(std::fs::read(path.join("b.zip")).unwrap(), b"precious");
    assert_eq!(files_in(path), ["b.zip"]);
    local(&env, path, "b", "disabled", &["--force"])
        .await
        .success();
    assert_eq!(Bundle::read(&path.join("b.zip")).names[0], "b/");
    assert_eq!(files_in(path), ["b.zip"]);

    // A read-only directory. Root writes anywhere, so as root the plugin runs as
    // nobody (setpriv, from util-linux).
    let readonly = path.join("readonly");
    std::fs::create_dir(&readonly).unwrap();
    std::fs::set_permissions(&readonly, std::fs::Permissions::from_mode(0o555)).unwrap();
    let kubeconfig = path.join("kubeconfig");
    std::fs::copy(env.kubeconfig(), &kubeconfig).unwrap();
    std::fs::set_permissions(&kubeconfig, std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let readonly_text = readonly.display().to_string();
    let args = local_args(&kubeconfig, env.namespace(), &["-o", &readonly_text]);
    let run = if harness::is_root() {
        let mut wrapped: Vec<String> = ["--reuid=65534", "--regid=65534", "--clear-groups", "--"]
            .map(String::from)
            .to_vec();
        wrapped.push(harness::binary().display().to_string());
        wrapped.extend(args);
        harness::run_in("setpriv", wrapped, &[], Some(path)).await
    } else {
        harness::run_in(harness::binary(), args, &[], Some(path)).await
    };
    run.failure(1)
        .one_line_error()
        .stderr_has("readonly")
        .stderr_has("permission denied");
    assert!(files_in(&readonly).is_empty());
}

/// A full disk (here: a file size limit, `ulimit -f`) fails the write cleanly, whether
/// it hits a kind's file (4 blocks) or the bundle itself (40 blocks).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disk_full_leaves_nothing_behind() {
    let env = harness::longhorn().await;
    let dir = tempfile::tempdir().unwrap();
    for blocks in [4, 40] {
        let mut args = vec![
            "-c".to_string(),
            format!("ulimit -f {blocks}; exec \"$0\" \"$@\""),
            harness::binary().display().to_string(),
        ];
        args.extend(harness::plugin_args(&env, &LOCAL_DISABLED));
        harness::run_in("sh", args, &[], Some(dir.path()))
            .await
            .failure(1)
            .one_line_error()
            .stderr_has("file size limit was reached");
        assert!(
            files_in(dir.path()).is_empty(),
            "{:?}",
            files_in(dir.path())
        );
    }
}

/// The files a process has open under `dir` (from /proc/PID/fd).
fn open_files_in(pid: u32, dir: &Path) -> Vec<String> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with(&*dir.to_string_lossy()))
        .collect()
}

/// Ctrl-C while the kinds are being written removes the temporary file.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_mid_write_leaves_nothing_behind() {
    let mut options = Options::default();
    options.seed.volumes = 1000;
    options.seed.backed_up_every = 0;
    // A plane of its own: a thousand PVs would land in every other test's bundles.
    let env = dedicated(options).await;
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new(harness::binary())
        .args(harness::plugin_args(&env, &LOCAL_DISABLED))
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt while it writes: the output's temporary file is open and kinds are being
    // compressed into their spool files in the same directory. All are unlinked
    // (O_TMPFILE) where the file system allows it; elsewhere the output's is named
    // `.b.zip.<pid>.<random>.tmp`.
    let started = Instant::now();
    loop {
        let named = files_in(dir.path())
            .iter()
            .filter(|f| f.starts_with(".b.zip."))
            .count();
        let unlinked = open_files_in(child.id(), dir.path())
            .iter()
            .filter(|f| f.ends_with("(deleted)"))
            .count();
        if named + unlinked >= 4 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the plugin never got to writing"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    // Ctrl-C, as a terminal sends it (kill(1) from procps).
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success(), "kill -INT failed");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        output.status.code(),
        Some(130),
        "interrupted, not finished ({:?}, signal {:?}): {}",
        output.status,
        output.status.signal(),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        files_in(dir.path()).is_empty(),
        "{:?}",
        files_in(dir.path())
    );
}

/// RBAC refusing one kind names that kind and its scope; nothing is written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_kind_is_named() {
    // A plane of its own: the grant goes to the plane-wide "limited" user.
    let env = dedicated(Options::default()).await;
    let user = longhorn_ground::plane::LIMITED;
    env.grant_cluster(user, json!([
        {"apiGroups": ["longhorn.io"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["serviceaccounts", "configmaps", "services", "persistentvolumeclaims", "namespaces"], "verbs": ["get", "list"]},
        {"apiGroups": ["apps"], "resources": ["daemonsets", "deployments"], "verbs": ["get", "list"]},
        {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["*"], "verbs": ["get", "list"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["storageclasses"], "verbs": ["get", "list"]},
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": ["get", "list"]}
    ]))
    .await
    .unwrap();
    let kubeconfig = env.kubeconfig_for(user).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = local_args(&kubeconfig, env.namespace(), &[]);
    harness::run_in(harness::binary(), args, &[], Some(dir.path()))
        .await
        .failure(1)
        .one_line_error()
        .stderr_has(
            "you may not list persistentvolumes (cluster-wide): persistentvolumes is forbidden",
        );
    assert!(files_in(dir.path()).is_empty());
}

/// Without Longhorn there is nothing to back up: say so, write nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_without_longhorn() {
    let plane = longhorn_ground::ControlPlane::start().await.expect("plane");
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "--kubeconfig",
        &plane.kubeconfig_path().display().to_string(),
        "create",
        "b",
        "--local",
        "--volume-backup-policy",
        "disabled",
    ]
    .map(String::from)
    .to_vec();
    harness::run_in(harness::binary(), args, &[], Some(dir.path()))
        .await
        .failure(1)
        .one_line_error()
        .stderr_has("Longhorn is not installed");
    assert!(files_in(dir.path()).is_empty());
}

/// SIGKILL at any moment leaves no partial file: the bundle appears whole (0600) or
/// not at all, and the next run finds a clean directory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_at_any_moment_leaves_no_partial_file() {
    use std::os::unix::fs::PermissionsExt;
    let mut options = Options::default();
    options.seed.volumes = 1000;
    options.seed.backed_up_every = 0;
    let env = harness::longhorn_with(options).await;
    let dir = tempfile::tempdir().unwrap();
    for delay_ms in [30, 120, 300, 600, 1000, 1500, 2500] {
        let mut child = Command::new(harness::binary())
            .args(harness::plugin_args(&env, &LOCAL_DISABLED))
            .current_dir(dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let status = child.wait().unwrap();
        let files = files_in(dir.path());
        if status.success() {
            // It finished before the kill: the bundle is whole and private.
            assert_eq!(files, ["b.zip"], "after a finished run at {delay_ms} ms");
            let mode = std::fs::metadata(dir.path().join("b.zip"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "the bundle is 0600");
            assert_eq!(Bundle::read(&dir.path().join("b.zip")).names[0], "b/");
            std::fs::remove_file(dir.path().join("b.zip")).unwrap();
        } else {
            assert!(
                files.is_empty(),
                "killed after {delay_ms} ms, the plugin left {files:?}"
            );
        }
    }
}
