//! The rules are Longhorn's: every value `schedule create` refuses goes straight to
//! longhorn-manager's own webhooks, as the RecurringJob the plugin would create (a
//! server-side dry run). Where Longhorn refuses too, the plugin only refused first, with
//! its own message (tests/e2e/schedule/bad_input.rs checks those). Where Longhorn accepts, the
//! plugin is stricter than Longhorn: each such value is in [`STRICTER`], with the reason
//! docs/compatibility.md gives.

use kube::api::{DynamicObject, PostParams};
use longhorn_ground::{Ground, Kind, Longhorn};
use serde_json::json;

use crate::schedule::{BAD_CRONS, bad_names, task_version};

/// What the plugin refuses and Longhorn's webhooks accept, and why the plugin refuses it
/// (docs/compatibility.md, "Stricter than Longhorn").
pub const STRICTER: &[(&str, &str)] = &[
    (
        "--cron \"@every 30s\"",
        "each run makes a full system backup and volume backups; a 5-field cron cannot run more often than once a minute either",
    ),
    (
        "--retain 0",
        "Longhorn's mutator silently raises it to 1; the plugin refuses rather than keep another value than the one asked for",
    ),
    ("--retain -2", "the same: raised to 1 without a word"),
    (
        "name \"Nightly\"",
        "the RecurringJob's CronJob and Jobs are named after it, and their names must be lower case (RFC 1123)",
    ),
];

/// Longhorn's verdict on a system-backup RecurringJob: `Ok` if its webhooks and the API
/// server accept it, else their message.
async fn longhorn_verdict(
    env: &Longhorn,
    name: &str,
    cron: &str,
    retain: i64,
) -> Result<(), String> {
    let client = env.client().await.expect("client");
    let job: DynamicObject = serde_json::from_value(json!({
        "apiVersion": "longhorn.io/v1beta2", "kind": "RecurringJob",
        "metadata": {"name": name, "namespace": env.namespace()},
        "spec": {"name": name, "task": "system-backup", "cron": cron, "retain": retain, "concurrency": 1,
            "groups": [], "labels": {}, "parameters": {"volume-backup-policy": "if-not-present"}},
    }))
    .expect("a RecurringJob");
    let dry_run = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    match Kind::RecurringJob
        .api(&client, env.namespace())
        .create(&dry_run, &job)
        .await
    {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) => Err(status.message),
        Err(e) => panic!("dry-run create of RecurringJob {name}: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_schedule_create_refuses_longhorn_refuses_or_the_docs_justify() {
    let env = Ground::shared(&task_version())
        .await
        .expect("the test ground starts (see docs/testing.md)");
    // The control: what the plugin accepts, Longhorn accepts.
    assert_eq!(longhorn_verdict(&env, "good", "@daily", 1).await, Ok(()));

    let mut inputs: Vec<(String, String, &str, i64)> = Vec::new();
    for cron in BAD_CRONS {
        inputs.push((format!("--cron {cron:?}"), "bad".into(), cron, 1));
    }
    for retain in [0, -2, 101] {
        inputs.push((format!("--retain {retain}"), "bad".into(), "@daily", retain));
    }
    for name in &bad_names() {
        inputs.push((format!("name {name:?}"), name.to_string(), "@daily", 1));
    }
    let mut accepted = Vec::new();
    let mut refused = Vec::new();
    for (input, name, cron, retain) in &inputs {
        match longhorn_verdict(&env, name, cron, *retain).await {
            Ok(()) => accepted.push(input.clone()),
            Err(message) => refused.push(format!("{input}: {message}")),
        }
    }
    let stricter: Vec<String> = STRICTER
        .iter()
        .map(|(input, _)| input.to_string())
        .collect();
    assert_eq!(
        accepted,
        stricter,
        "the plugin refuses these, Longhorn accepts them; justify each in docs/compatibility.md and STRICTER, or stop refusing.\nLonghorn refused:\n{}",
        refused.join("\n")
    );
}
