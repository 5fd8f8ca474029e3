//! The krew packaging proven with the real tools: `krew/release.sh` builds
//! the archive and the manifest, `validate-krew-manifest` (what krew-index CI runs)
//! accepts it, `kubectl krew install --manifest --archive` installs it offline into a
//! temporary KREW_ROOT, and kubectl's own plugin lookup then runs it against the test
//! ground, under both krew names (docs/testing.md, "krew, completion and
//! credentials").
//!
//! The archives here are built with `--profile dev` (the binary cargo already built
//! for these tests): the size-tuned release build takes minutes. The committed
//! top-level `plugin.yaml` comes from a real `krew/release.sh` release build.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::harness::{self, Run, longhorn};

const BIN: &str = "kubectl-longhorn-systembackup";
const VERSION: &str = concat!("v", env!("CARGO_PKG_VERSION"));

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The directory holding `kubectl-krew` and `validate-krew-manifest`, built once from
/// the Go module proxy and cached.
fn krew_tools() -> PathBuf {
    longhorn_ground::tools::install("krew", None).unwrap_or_else(|e| {
        panic!(
            "krew is needed for these tests; tests/tools/install.sh krew builds it from the Go module proxy (needs Go >= 1.25): {e}"
        )
    })
}

/// A PATH with `first` in front of the krew tools and the caller's PATH.
fn path_with(first: &[&Path]) -> String {
    let mut parts: Vec<String> = first.iter().map(|p| p.display().to_string()).collect();
    parts.push(krew_tools().display().to_string());
    parts.push(std::env::var("PATH").unwrap_or_default());
    parts.join(":")
}

/// Runs `kubectl` with krew's environment: KREW_ROOT, its bin directory first on PATH,
/// no upgrade check.
async fn kubectl(krew_root: &Path, args: &[&str]) -> Run {
    let path = path_with(&[&krew_root.join("bin")]);
    let root = krew_root.display().to_string();
    harness::run(
        "kubectl",
        args.iter().map(|a| a.to_string()).collect(),
        &[
            ("PATH", &path),
            ("KREW_ROOT", &root),
            ("KREW_NO_UPGRADE_CHECK", "1"),
        ],
    )
    .await
}

/// `validate-krew-manifest -skip-install`: structure, platforms, file name.
async fn validate(manifest: &Path) -> Run {
    harness::run(
        krew_tools().join("validate-krew-manifest"),
        vec![
            "-manifest".into(),
            manifest.display().to_string(),
            "-skip-install".into(),
        ],
        &[],
    )
    .await
}

/// `validate-krew-manifest` with its own install of every platform, as krew-index CI
/// runs it: it downloads the `uri` (with `kubectl krew`, which must be on PATH) and
/// requires a license file among what was installed.
async fn validate_with_install(manifest: &Path) -> Run {
    harness::run(
        krew_tools().join("validate-krew-manifest"),
        vec!["-manifest".into(), manifest.display().to_string()],
        &[("PATH", &path_with(&[]))],
    )
    .await
}

/// Serves `file` over HTTP on a loopback port and returns its URL: krew downloads
/// with `http.Get`, which has no `file://`
/// (`kubernetes-sigs/krew:internal/download/fetch.go`).
fn serve(file: &Path) -> String {
    use std::io::{BufRead, BufReader, Write};
    let body = std::fs::read(file).expect("read the archive");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                line.clear();
            }
            let mut stream = &stream;
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
        }
    });
    let name = file.file_name().expect("file name").to_string_lossy();
    format!("http://{address}/{name}")
}

fn read_manifest(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("read the manifest");
    serde_saphyr::from_str(&text).expect("the manifest is YAML")
}

fn sha256_hex(path: &Path) -> String {
    hex::encode(Sha256::digest(
        std::fs::read(path).expect("read the archive"),
    ))
}

/// What `krew/release.sh` produced.
struct Release {
    archive: PathBuf,
    manifest: PathBuf,
}

/// Runs `krew/release.sh --name NAME` into `out`, manifest `out/NAME.yaml` (the file
/// name validate-krew-manifest requires).
async fn release(name: &str, out: &Path) -> Release {
    let manifest = out.join(format!("{name}.yaml"));
    // Without the variables cargo sets for tests (CARGO_PKG_NAME, CARGO_MANIFEST_DIR
    // …): ring's build script tracks them, so the nested build would leave it stale
    // for the next `cargo test` (a rebuild of the whole TLS stack).
    let mut args: Vec<String> = std::env::vars()
        .map(|(key, _)| key)
        .filter(|key| key.starts_with("CARGO") && key != "CARGO_TARGET_DIR" && key != "CARGO_HOME")
        .flat_map(|key| ["-u".to_string(), key])
        .collect();
    args.extend([
        "bash".to_string(),
        repo().join("krew/release.sh").display().to_string(),
        "--profile".into(),
        "dev".into(),
        "--name".into(),
        name.into(),
        "--out".into(),
        out.display().to_string(),
        "--manifest".into(),
        manifest.display().to_string(),
    ]);
    harness::run("env", args, &[]).await.success();
    let archives: Vec<PathBuf> = std::fs::read_dir(out)
        .expect("read the release directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.to_string_lossy().ends_with(".tar.gz"))
        .collect();
    assert_eq!(archives.len(), 1, "one archive: {archives:?}");
    Release {
        archive: archives[0].clone(),
        manifest,
    }
}

/// The archive holds exactly the binary and LICENSE, and the manifest describes it.
fn check_release(name: &str, release: &Release) {
    let file = release
        .archive
        .file_name()
        .expect("archive name")
        .to_string_lossy()
        .into_owned();
    assert!(
        file.starts_with(&format!("{BIN}-{VERSION}-")) && file.ends_with(".tar.gz"),
        "archive named {BIN}-{VERSION}-<target>.tar.gz: {file}"
    );
    let listing = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(&release.archive)
        .output()
        .expect("tar -t");
    let mut entries: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    entries.sort();
    assert_eq!(entries, ["LICENSE", BIN]);

    let manifest = read_manifest(&release.manifest);
    assert_eq!(manifest["metadata"]["name"], name);
    assert_eq!(manifest["spec"]["version"], VERSION);
    let platforms = manifest["spec"]["platforms"].as_array().expect("platforms");
    assert_eq!(platforms.len(), 1, "only the archive really built");
    let platform = &platforms[0];
    assert_eq!(platform["sha256"], sha256_hex(&release.archive).as_str());
    assert_eq!(platform["bin"], BIN);
    let uri = platform["uri"].as_str().expect("uri");
    assert!(
        uri.ends_with(&format!("/releases/download/{VERSION}/{file}")),
        "uri names the archive: {uri}"
    );
    let usage = match name {
        "longhorn" => "kubectl longhorn systembackup",
        _ => "kubectl longhorn-systembackup",
    };
    let description = manifest["spec"]["description"].as_str().expect("text");
    assert!(description.contains(usage), "{description}");
    let caveats = manifest["spec"]["caveats"].as_str().expect("caveats");
    let link = name.replace('-', "_");
    assert!(
        caveats.contains(&format!("kubectl_complete-{link}")),
        "caveats say how to add completion: {caveats}"
    );
}

/// release.sh → validate → krew install → kubectl's plugin lookup on the ground →
/// krew uninstall, for one krew name. `words` is what the user types after `kubectl`.
async fn install_and_run(name: &str, words: &[&str]) {
    let env = longhorn().await;
    let backup = format!("via-krew-{}", name.len());
    harness::create_backup(&env, &backup, false).await;

    let work = tempfile::tempdir().expect("temp dir");
    let out = work.path().join("dist");
    std::fs::create_dir(&out).expect("dist dir");
    let release = release(name, &out).await;
    check_release(name, &release);
    validate(&release.manifest)
        .await
        .success()
        .stderr_has("structural validation OK");
    // The full check, with the uri served from this machine.
    let served = work.path().join("served");
    std::fs::create_dir(&served).expect("dir");
    let manifest_text = std::fs::read_to_string(&release.manifest).expect("manifest");
    let uri = read_manifest(&release.manifest)["spec"]["platforms"][0]["uri"]
        .as_str()
        .expect("uri")
        .to_string();
    let copy = served.join(format!("{name}.yaml"));
    std::fs::write(&copy, manifest_text.replace(&uri, &serve(&release.archive))).expect("write");
    validate_with_install(&copy)
        .await
        .success()
        .stderr_has("all 1 spec.platforms installed fine");

    let root = work.path().join("krew");
    let manifest = release.manifest.display().to_string();
    let archive = release.archive.display().to_string();
    let installed = kubectl(
        &root,
        &[
            "krew",
            "install",
            &format!("--manifest={manifest}"),
            &format!("--archive={archive}"),
        ],
    )
    .await;
    installed
        .success()
        .stderr_has(&format!("Installed plugin: {name}"));

    let link = root
        .join("bin")
        .join(format!("kubectl-{}", name.replace('-', "_")));
    let store = root.join("store").join(name).join(VERSION);
    assert_eq!(
        std::fs::read_link(&link).expect("krew links the plugin"),
        store.join(BIN)
    );
    assert_eq!(
        std::fs::read(store.join("LICENSE")).expect("LICENSE is installed"),
        std::fs::read(repo().join("LICENSE")).expect("the repo's LICENSE")
    );
    // kubectl finds the plugin in KREW_ROOT/bin and nowhere else.
    let plugins = kubectl(&root, &["plugin", "list"]).await;
    let found: Vec<&str> = plugins
        .stdout
        .lines()
        .filter(|l| {
            Path::new(l)
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("kubectl-longhorn"))
        })
        .collect();
    assert_eq!(
        found,
        [link.display().to_string()],
        "kubectl plugin list:\n{}{}",
        plugins.stdout,
        plugins.stderr
    );

    let kubeconfig = env.kubeconfig().display().to_string();
    let mut list: Vec<&str> = words.to_vec();
    list.extend(["list", "--kubeconfig", &kubeconfig, "-n", env.namespace()]);
    let listed = kubectl(&root, &list).await;
    listed.success().stdout_has(&backup);
    assert!(listed.stdout.starts_with("NAME "), "{}", listed.stdout);
    let mut help: Vec<&str> = words.to_vec();
    help.push("--help");
    kubectl(&root, &help)
        .await
        .success()
        .stdout_has(&format!("Usage: kubectl {} ", words.join(" ")));

    let receipts = kubectl(&root, &["krew", "list"]).await;
    // `list` and `uninstall` need an index, which an offline install never clones
    // (`kubernetes-sigs/krew:internal/index/indexscanner`).
    assert_eq!(receipts.code, 1, "krew list without an index");
    std::fs::create_dir_all(root.join("index/default/.git")).expect("index stand-in");
    kubectl(&root, &["krew", "list"])
        .await
        .success()
        .stdout_has(name);
    kubectl(&root, &["krew", "uninstall", name])
        .await
        .success()
        .stderr_has(&format!("Uninstalled plugin: {name}"));
    assert!(!link.exists() && std::fs::symlink_metadata(&link).is_err());
    assert!(!root.join("store").join(name).exists());
    let gone = kubectl(&root, &list).await;
    gone.failure(1).stderr_has("unknown command");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn krew_installs_it_as_longhorn() {
    install_and_run("longhorn", &["longhorn", "systembackup"]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn krew_installs_it_as_longhorn_systembackup() {
    install_and_run("longhorn-systembackup", &["longhorn-systembackup"]).await;
}

/// The committed `plugin.yaml`, written by a release build of `krew/release.sh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_plugin_yaml_is_a_valid_manifest() {
    let work = tempfile::tempdir().expect("temp dir");
    let manifest = work.path().join("longhorn.yaml");
    std::fs::copy(repo().join("plugin.yaml"), &manifest).expect("copy plugin.yaml");
    validate(&manifest)
        .await
        .success()
        .stderr_has("structural validation OK");

    let plugin = read_manifest(&manifest);
    assert_eq!(
        plugin["apiVersion"],
        "krew.googlecontainertools.github.com/v1alpha2"
    );
    assert_eq!(plugin["metadata"]["name"], "longhorn");
    assert_eq!(plugin["spec"]["version"], VERSION);
    let short = plugin["spec"]["shortDescription"].as_str().expect("text");
    assert!(
        short.chars().count() <= 50,
        "krew search cuts at 50: {short}"
    );
    let platforms = plugin["spec"]["platforms"].as_array().expect("platforms");
    assert!(!platforms.is_empty());
    let scheme = regex::Regex::new(&format!(
        r"^https://github\.com/[\w.-]+/[\w.-]+/releases/download/{VERSION}/{BIN}-{VERSION}-[a-z0-9_]+-[a-z0-9_]+-[a-z0-9_]+(-[a-z0-9_]+)?\.(tar\.gz|zip)$"
    ))
    .expect("regex");
    let sha = regex::Regex::new("^[0-9a-f]{64}$").expect("regex");
    for platform in platforms {
        let digest = platform["sha256"].as_str().expect("sha256");
        assert!(sha.is_match(digest), "64 lowercase hex: {digest}");
        assert_ne!(digest, "0".repeat(64), "a real digest, not a placeholder");
        let uri = platform["uri"].as_str().expect("uri");
        assert!(scheme.is_match(uri), "release.sh's archive name: {uri}");
        assert_eq!(platform["bin"], BIN);
    }
    let caveats = plugin["spec"]["caveats"].as_str().expect("caveats");
    assert!(caveats.contains("kubectl_complete-longhorn"), "{caveats}");
}

/// The krew-release-bot template covers every target the release workflow builds,
/// with the workflow's archive names, and renders into a manifest krew accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_bot_template_matches_the_release_workflow() {
    let template = std::fs::read_to_string(repo().join("krew/.krew.yaml")).expect("template");
    let workflow =
        std::fs::read_to_string(repo().join(".github/workflows/release.yml")).expect("workflow");
    let targets: Vec<(String, String)> = regex::Regex::new(r"target: ([\w-]+), archive: ([\w.]+)")
        .expect("regex")
        .captures_iter(&workflow)
        .map(|c| (c[1].to_string(), c[2].to_string()))
        .collect();
    assert_eq!(targets.len(), 5, "five release targets: {targets:?}");
    assert!(
        workflow.contains("${GITHUB_REF_NAME}-${{ matrix.target }}.tar.gz")
            && workflow.contains("$env:GITHUB_REF_NAME-${{ matrix.target }}.zip"),
        "the workflow names archives BIN-TAG-TARGET.EXT"
    );
    for (target, ext) in &targets {
        let asset = format!("{BIN}-{{{{ .TagName }}}}-{target}.{ext}");
        assert!(template.contains(&asset), "template lacks {asset}");
    }

    // Render it as krew-release-bot does (uri + sha256 in place of addURIAndSha),
    // with a stand-in digest: this copy only checks the structure.
    let tag = "v9.9.9";
    let add = regex::Regex::new(r#"\{\{addURIAndSha "([^"]+)" \.TagName \| indent 4 \}\}"#)
        .expect("regex");
    let rendered = template.replace("{{ .TagName }}", tag);
    let rendered = add.replace_all(&rendered, |c: &regex::Captures| {
        format!("uri: {}\n    sha256: {}", &c[1], "ab".repeat(32))
    });
    assert!(!rendered.contains("{{"), "fully rendered:\n{rendered}");
    let work = tempfile::tempdir().expect("temp dir");
    let manifest = work.path().join("longhorn.yaml");
    std::fs::write(&manifest, rendered.as_bytes()).expect("write");
    validate(&manifest)
        .await
        .success()
        .stderr_has("no overlapping spec.platform[].selector");
    let plugin = read_manifest(&manifest);
    let mut pairs: Vec<String> = plugin["spec"]["platforms"]
        .as_array()
        .expect("platforms")
        .iter()
        .map(|p| {
            let labels = &p["selector"]["matchLabels"];
            format!(
                "{}/{}",
                labels["os"].as_str().unwrap_or(""),
                labels["arch"].as_str().unwrap_or("")
            )
        })
        .collect();
    pairs.sort();
    assert_eq!(
        pairs,
        [
            "darwin/amd64",
            "darwin/arm64",
            "linux/amd64",
            "linux/arm64",
            "windows/amd64"
        ]
    );
}
