//! Credentials and connection flags as kubectl takes them: exec-credential
//! plugins, bearer tokens and client certificates in the kubeconfig, `--request-timeout`
//! (parsing and effect), and `-v=6` logging the traffic but never a credential.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use longhorn_ground::{Longhorn, plane};

use crate::harness::{self, Run, longhorn};

/// A kubeconfig whose user gets the admin token from an exec plugin (a shell script
/// printing an ExecCredential, as cloud login helpers do). Each call of the helper
/// appends a line to `calls`.
struct ExecKubeconfig {
    _dir: tempfile::TempDir,
    path: PathBuf,
    calls: PathBuf,
}

fn exec_kubeconfig(env: &Longhorn, script_body: &str) -> ExecKubeconfig {
    let dir = tempfile::tempdir().expect("temp dir");
    let calls = dir.path().join("calls");
    let helper = dir.path().join("get-token");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\necho \"$KUBERNETES_EXEC_INFO\" >> '{}'\n{script_body}\n",
            calls.display()
        ),
    )
    .expect("write the helper");
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let token = &env.plane().user(plane::ADMIN).token;
    let yaml = env.plane().kubeconfig_yaml(plane::ADMIN, None);
    let exec = format!(
        "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: {}\n      args: [\"--cluster\", \"ground\"]\n      interactiveMode: Never\n",
        helper.display()
    );
    let token_line = format!("    token: {token}\n");
    assert!(yaml.contains(&token_line), "a token kubeconfig:\n{yaml}");
    let path = dir.path().join("kubeconfig");
    std::fs::write(&path, yaml.replace(&token_line, &exec)).expect("write the kubeconfig");
    ExecKubeconfig {
        _dir: dir,
        path,
        calls,
    }
}

/// A helper body printing an ExecCredential carrying `token`.
fn credential(token: &str) -> String {
    format!(
        "cat <<'EOF'\n{{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {{\"token\": \"{token}\"}}}}\nEOF"
    )
}

/// A helper body printing a credential that expires `seconds` from now.
fn expiring_credential(token: &str, seconds: u32) -> String {
    format!(
        "printf '{{\"apiVersion\": \"client.authentication.k8s.io/v1\", \"kind\": \"ExecCredential\", \"status\": {{\"token\": \"{token}\", \"expirationTimestamp\": \"%s\"}}}}' \"$(date -u -d '+{seconds} seconds' +%Y-%m-%dT%H:%M:%SZ)\""
    )
}

async fn plugin_with(kubeconfig: &Path, namespace: &str, args: &[&str]) -> Run {
    let mut full = vec![
        "--kubeconfig".to_string(),
        kubeconfig.display().to_string(),
        "-n".to_string(),
        namespace.to_string(),
    ];
    full.extend(args.iter().map(|a| a.to_string()));
    harness::run(harness::binary(), full, &[]).await
}

async fn kubectl_with(kubeconfig: &Path, args: &[&str]) -> Run {
    let mut full = vec!["--kubeconfig".to_string(), kubeconfig.display().to_string()];
    full.extend(args.iter().map(|a| a.to_string()));
    harness::run("kubectl", full, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_credential_plugins_work_as_in_kubectl() {
    let env = longhorn().await;
    harness::create_backup(&env, "exec-auth", false).await;
    let token = env.plane().user(plane::ADMIN).token.clone();
    let config = exec_kubeconfig(&env, &credential(&token));

    let listed = plugin_with(&config.path, env.namespace(), &["list", "-o", "name"]).await;
    listed
        .success()
        .stdout_has("systembackup.longhorn.io/exec-auth");
    // Once per run, as client-go does (kube-client alone would run it three times).
    let calls = std::fs::read_to_string(&config.calls).expect("the helper ran");
    assert_eq!(calls.lines().count(), 1, "one credential per run: {calls}");
    let info: serde_json::Value = serde_json::from_str(calls.lines().next().unwrap_or_default())
        .expect("KUBERNETES_EXEC_INFO");
    assert_eq!(info["kind"], "ExecCredential");
    assert_eq!(info["spec"]["interactive"], false, "interactiveMode: Never");
    // A credential that stays valid is not asked for again; one about to expire (less
    // than a minute left) is refreshed before the request.
    let lasting = exec_kubeconfig(&env, &expiring_credential(&token, 3600));
    plugin_with(&lasting.path, env.namespace(), &["list"])
        .await
        .success();
    let calls = std::fs::read_to_string(&lasting.calls).expect("the helper ran");
    assert_eq!(calls.lines().count(), 1, "{calls}");
    let expiring = exec_kubeconfig(&env, &expiring_credential(&token, 30));
    plugin_with(&expiring.path, env.namespace(), &["list"])
        .await
        .success();
    let calls = std::fs::read_to_string(&expiring.calls).expect("the helper ran");
    assert_eq!(calls.lines().count(), 2, "refreshed once: {calls}");
    // Writes are authenticated the same way.
    plugin_with(
        &config.path,
        env.namespace(),
        &["create", "by-exec", "--volume-backup-policy", "disabled"],
    )
    .await
    .success()
    .stdout_has("systembackup.longhorn.io/by-exec created");

    // kubectl accepts the same kubeconfig (the test's own sanity check).
    kubectl_with(
        &config.path,
        &["get", "systembackups.longhorn.io", "-n", env.namespace()],
    )
    .await
    .success()
    .stdout_has("by-exec");

    // A helper that fails (an expired login): one line naming the cause, exit 1.
    let failing = exec_kubeconfig(&env, "echo 'session expired; run: login' >&2\nexit 1");
    let run = plugin_with(&failing.path, env.namespace(), &["list"]).await;
    // Its own message reaches the user (as with kubectl), then ours names it.
    run.failure(1)
        .one_line_error()
        .stderr_has("session expired; run: login\n")
        .stderr_has("credential helper")
        .stderr_has("get-token");
    // A helper handing out a token the server rejects.
    let wrong = exec_kubeconfig(&env, &credential("not-a-valid-token"));
    let run = plugin_with(&wrong.path, env.namespace(), &["list"]).await;
    run.failure(1).one_line_error();
    assert!(
        run.stderr.contains("Unauthorized") || run.stderr.contains("401"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_and_client_certificate_kubeconfigs() {
    let env = longhorn().await;
    harness::create_backup(&env, "cert-auth", false).await;
    let dir = tempfile::tempdir().expect("temp dir");

    let cert = dir.path().join("cert-kubeconfig");
    let yaml = env
        .plane()
        .kubeconfig_with_cert("cert-admin", &["system:masters"])
        .expect("a client certificate");
    assert!(yaml.contains("client-key-data:") && !yaml.contains("token:"));
    std::fs::write(&cert, yaml).expect("write");
    plugin_with(&cert, env.namespace(), &["get", "cert-auth", "-o", "name"])
        .await
        .success()
        .stdout_has("systembackup.longhorn.io/cert-auth");

    let token = env
        .kubeconfig_for(plane::ADMIN)
        .expect("a token kubeconfig");
    plugin_with(&token, env.namespace(), &["get", "cert-auth", "-o", "name"])
        .await
        .success()
        .stdout_has("systembackup.longhorn.io/cert-auth");

    // A certificate whose user has no rights: the server's RBAC answer, not a TLS error.
    let nobody = dir.path().join("nobody-kubeconfig");
    std::fs::write(
        &nobody,
        env.plane()
            .kubeconfig_with_cert("nobody", &[])
            .expect("a client certificate"),
    )
    .expect("write");
    let run = plugin_with(&nobody, env.namespace(), &["list"]).await;
    run.failure(1)
        .one_line_error()
        .stderr_has("forbidden")
        .stderr_has("\"nobody\"");
}

/// What `-v=6` logs: the request lines (so the level works), never a credential.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verbose_logs_requests_but_no_credentials() {
    let env = longhorn().await;
    harness::create_backup(&env, "logged", false).await;
    let token = env.plane().user(plane::ADMIN).token.clone();
    let dir = tempfile::tempdir().expect("temp dir");
    let cert_yaml = env
        .plane()
        .kubeconfig_with_cert("cert-admin", &["system:masters"])
        .expect("a client certificate");
    let cert = dir.path().join("cert-kubeconfig");
    std::fs::write(&cert, &cert_yaml).expect("write");
    let data = |key: &str| -> String {
        let line = cert_yaml
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .expect("the key is in the kubeconfig");
        line.split_once(':')
            .expect("key: value")
            .1
            .trim()
            .to_string()
    };
    let secrets = [
        token.clone(),
        data("client-key-data")[..40].to_string(),
        data("client-certificate-data")[..40].to_string(),
        "PRIVATE KEY".to_string(),
        "BEGIN CERTIFICATE".to_string(),
    ];
    let exec = exec_kubeconfig(&env, &credential(&token));
    let token_config = env.kubeconfig_for(plane::ADMIN).expect("token kubeconfig");
    let list_path = format!(
        "/apis/longhorn.io/v1beta2/namespaces/{}/systembackups",
        env.namespace()
    );
    for (label, kubeconfig) in [
        ("token", token_config.as_path()),
        ("exec", exec.path.as_path()),
        ("certificate", cert.as_path()),
    ] {
        for args in [
            vec!["list", "-v=6"],
            vec!["list", "-v=9"],
            vec!["describe", "logged", "-v=6"],
        ] {
            let run = plugin_with(kubeconfig, env.namespace(), &args).await;
            run.success().stdout_has("logged");
            assert!(
                run.stderr.contains(&list_path) || run.stderr.contains("logged"),
                "{label} {args:?}: -v logs the requests:\n{}",
                run.stderr
            );
            assert!(
                !run.stderr.contains('\u{1b}'),
                "no colour codes when stderr is not a terminal"
            );
            for secret in &secrets {
                assert!(
                    !run.stderr.contains(secret.as_str()) && !run.stdout.contains(secret.as_str()),
                    "{label} {args:?} leaks {secret:?}:\n{}",
                    run.stderr
                );
            }
            assert!(
                !run.stderr.to_ascii_lowercase().contains("bearer"),
                "{label} {args:?}: an Authorization header in the log:\n{}",
                run.stderr
            );
        }
    }

    // `list` makes one paged LIST and no discovery round-trips.
    let run = plugin_with(&token_config, env.namespace(), &["list", "-v=6"]).await;
    run.success();
    let requests: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.ends_with(": requesting"))
        .collect();
    assert_eq!(requests.len(), 1, "one request:\n{}", run.stderr);
    assert!(
        requests[0].contains(&format!("http.method=GET http.url={}", env.plane().server))
            && requests[0].contains(&format!("{list_path}?"))
            && requests[0].contains("limit=500"),
        "{}",
        requests[0]
    );
    // At the default level nothing but the output.
    let quiet = plugin_with(&token_config, env.namespace(), &["list"]).await;
    quiet.success();
    assert_eq!(quiet.stderr, "");
}

/// A server that accepts connections and never answers (a black-holed API server).
fn silent_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    format!("https://{address}")
}

fn silent_kubeconfig(dir: &Path) -> PathBuf {
    let path = dir.join("silent-kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: silent\n  cluster:\n    server: {}\n    insecure-skip-tls-verify: true\ncontexts:\n- name: silent\n  context:\n    cluster: silent\n    user: u\ncurrent-context: silent\nusers:\n- name: u\n  user:\n    token: t\n",
            silent_server()
        ),
    )
    .expect("write");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_is_parsed_and_applied() {
    let dir = tempfile::tempdir().expect("temp dir");
    let kubeconfig = silent_kubeconfig(dir.path());

    // kubectl's forms: a duration, or whole seconds. Anything else is a usage error.
    for bad in ["abc", "-1s", "5 m"] {
        let flag = format!("--request-timeout={bad}");
        let run = plugin_with(&kubeconfig, "x", &["list", &flag]).await;
        run.failure(2)
            .stderr_has("--request-timeout")
            .stderr_has("e.g. 90s");
    }

    // The limit ends a request the server never answers, and it is the given one.
    for (value, limit) in [("1", 1.0), ("3s", 3.0)] {
        let started = Instant::now();
        let run = plugin_with(&kubeconfig, "x", &["list", "--request-timeout", value]).await;
        let took = started.elapsed().as_secs_f64();
        run.failure(1)
            .one_line_error()
            .stderr_has("Unable to connect to the server")
            .stderr_has("no answer in time");
        assert!(
            took >= limit && took < limit + 3.0,
            "--request-timeout {value} took {took:.1}s"
        );
    }

    // From -v=6 the causes come first, one per line; the error is still the last line.
    let run = plugin_with(&kubeconfig, "x", &["list", "--request-timeout=1", "-v=6"]).await;
    run.failure(1).one_line_error().stderr_has("caused by: ");
    let quiet = plugin_with(&kubeconfig, "x", &["list", "--request-timeout=1"]).await;
    assert!(!quiet.stderr.contains("caused by: "), "{}", quiet.stderr);

    // Without it (0 = no limit) the plugin is still waiting when a short limit would
    // have ended it.
    let mut child = std::process::Command::new(harness::binary())
        .args(["--kubeconfig", &kubeconfig.display().to_string()])
        .args(["-n", "x", "list"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still_running = child.try_wait().expect("try_wait").is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(still_running, "no limit by default");
}
