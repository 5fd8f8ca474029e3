//! `diff A B` and `diff A --live`: two bundles made by longhorn-manager's own
//! SystemBackup controller (or one and the cluster now), compared as its rollout reads
//! them: a changed Setting shows its value before and after, a new ConfigMap is added,
//! and bookkeeping (status, resource versions) is no difference.

use longhorn_ground::{Longhorn, Options};
use serde_json::{Value, json};

use crate::harness::{self, Run, create_backup, dedicated, longhorn, plugin};

async fn diff(env: &Longhorn, args: &[&str]) -> Run {
    let mount = env.store_path().display().to_string();
    let mut all = vec!["diff"];
    all.extend(args);
    all.extend(["--mount-path", &mount]);
    plugin(env, &all).await
}

async fn set_setting(env: &Longhorn, name: &str, value: &str) {
    harness::patch(env, ("Setting", "settings"), name, json!({"value": value})).await;
}

/// The differences of `kind` in `-o json` output.
fn of_kind<'a>(data: &'a Value, kind: &str) -> &'a Value {
    data["diff"]["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == kind)
        .unwrap_or_else(|| panic!("no {kind} in {data}"))
}

/// On a plane of its own: a bundle holds cluster-scoped objects of every namespace
/// (PersistentVolumes, StorageClasses), which other tests on a shared plane change
/// between the two backups.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_backups_and_a_backup_against_the_cluster() {
    let env = dedicated(Options::default()).await;
    let ns = env.namespace().to_string();
    create_backup(&env, "before", true).await;
    set_setting(&env, "recurring-successful-jobs-history-limit", "3").await;
    let client = env.client().await.unwrap();
    let config_maps: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(client, &ns);
    let added = json!({"metadata": {"name": "team-notes"}, "data": {"owner": "storage"}});
    config_maps
        .create(&Default::default(), &serde_json::from_value(added).unwrap())
        .await
        .unwrap();
    create_backup(&env, "after", true).await;

    let run = diff(&env, &["before", "after", "-o", "json"]).await;
    run.success();
    let data: Value = serde_json::from_str(&run.stdout).unwrap();
    let settings = of_kind(&data, "Setting");
    assert_eq!(
        settings["changed"],
        json!([{"name": format!("{ns}/recurring-successful-jobs-history-limit"),
                "changes": [{"path": "value", "before": "1", "after": "3"}]}])
    );
    assert_eq!(
        of_kind(&data, "ConfigMap")["added"],
        json!([format!("{ns}/team-notes")])
    );
    assert_eq!(
        of_kind(&data, "Volume")["changed"],
        json!([]),
        "volumes are as they were"
    );
    assert_eq!(data["diff"]["totals"]["added"], 1);
    assert_eq!(data["diff"]["totals"]["changed"], 1);

    let run = diff(&env, &["before", "after"]).await;
    run.success();
    // The count of unchanged objects depends on the release (its CRDs, its settings).
    insta::with_settings!({snapshot_suffix => env.version().to_string()}, {
        insta::assert_snapshot!("diff-table", harness::normalize(&run.stdout, &env));
    });

    // A backup against itself, and against the cluster before and after a change.
    diff(&env, &["after", "after"])
        .await
        .success()
        .stdout_has("From after to after: 0 added, 0 removed, 0 changed,");
    diff(&env, &["after", "--live"])
        .await
        .success()
        .stdout_has("From after to the cluster now: 0 added, 0 removed, 0 changed,");
    set_setting(&env, "storage-minimal-available-percentage", "20").await;
    diff(&env, &["after", "--live"])
        .await
        .success()
        .stdout_has("storage-minimal-available-percentage")
        .stdout_has("value: 25 → 20");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_says_what_to_give() {
    let env = longhorn().await;
    create_backup(&env, "only", true).await;
    let cases: [(&[&str], i32, &str); 5] = [
        (&["diff", "only"], 1, "give a second NAME, or --live"),
        (&["diff", "only", "other", "--live"], 2, "--live"),
        (&["diff", "Bad_Name", "--live"], 1, "Bad_Name"),
        (&["diff", "only", "-o", "wide", "--live"], 2, "json"),
        (&["diff", "only", "missing"], 1, "missing"),
    ];
    for (args, code, text) in cases {
        let run = diff(&env, &args[1..]).await;
        run.failure(code).stderr_has(text);
        if code == 1 {
            run.one_line_error();
        }
    }
}
