//! Prompts on a real pseudo-terminal (rexpect): `create` without a name asks for the
//! name and the volume backup policy as the Longhorn UI's dialog does; `delete` asks
//! before deleting and does nothing on "no".

use std::process::Command;

use crate::harness::{self, longhorn, plugin, system_backups};

/// dialoguer switches the terminal to raw mode after drawing; keys sent before that
/// would sit in the line buffer.
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(400));
}

pub fn pty(env: &longhorn_ground::Longhorn, args: &[&str]) -> rexpect::session::PtySession {
    let mut command = Command::new(harness::binary());
    command
        .args([
            "--kubeconfig",
            &env.kubeconfig().display().to_string(),
            "-n",
            env.namespace(),
        ])
        .args(args)
        .env("NO_COLOR", "1")
        .env("TERM", "xterm");
    rexpect::session::spawn_command(command, Some(30_000)).expect("spawn on a pty")
}

/// Runs the plugin on a pty, waits for each of `expect` in turn (the last one being
/// the question), answers `key`, and returns what followed until exit.
pub fn answer(
    env: &longhorn_ground::Longhorn,
    args: &[&str],
    expect: &[&str],
    key: &str,
) -> String {
    tokio::task::block_in_place(|| {
        let mut session = pty(env, args);
        for text in expect {
            session
                .exp_string(text)
                .unwrap_or_else(|e| panic!("no {text:?} on the terminal: {e}"));
        }
        settle();
        session.send(key).expect("answer");
        session.flush().expect("flush");
        session.exp_eof().expect("finishes")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_asks_for_name_and_policy() {
    let env = longhorn().await;
    let session_env = &env;
    let output = tokio::task::block_in_place(|| {
        let mut session = pty(session_env, &["create"]);
        session.exp_string("Name").expect("asks for the name");
        settle();
        session.send_line("Not Valid").expect("type");
        session
            .exp_string("lower case letters")
            .expect("says why the name is refused");
        // Clear the refused input, then a valid name.
        for _ in 0.."Not Valid".len() {
            session.send("\u{7f}").expect("erase");
            session.flush().expect("flush");
        }
        settle();
        session.send_line("from-tty").expect("type");
        session
            .exp_string("disabled: no volume backups")
            .expect("lists the policies");
        settle();
        session.send("\u{1b}[B").expect("down arrow");
        session.flush().expect("flush");
        session.send("\r").expect("enter");
        session.flush().expect("flush");
        session.exp_eof().expect("finishes")
    });
    assert!(
        output.contains("systembackup.longhorn.io/from-tty created"),
        "{output}"
    );
    let run = plugin(&env, &["get", "from-tty", "-o", "json"]).await;
    run.success();
    let object: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        object["spec"]["volumeBackupPolicy"], "always",
        "the second choice is always"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_asks_first() {
    let env = longhorn().await;
    plugin(
        &env,
        &[
            "create",
            "precious",
            "--volume-backup-policy",
            "disabled",
            "--wait",
        ],
    )
    .await
    .success();
    let declined = answer(
        &env,
        &["delete", "precious"],
        &[
            "systembackup.longhorn.io/precious",
            "deleted too",
            "Do you want to continue?",
        ],
        "n",
    );
    assert!(declined.contains("nothing was deleted"), "{declined}");
    assert_eq!(system_backups(&env).await, ["precious"]);

    let accepted = answer(
        &env,
        &["delete", "precious"],
        &["Do you want to continue?"],
        "y",
    );
    assert!(
        accepted.contains("systembackup.longhorn.io \"precious\" deleted"),
        "{accepted}"
    );
    assert!(system_backups(&env).await.is_empty());
}
