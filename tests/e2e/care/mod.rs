//! Commands that go past what Longhorn offers: retrying a failed SystemBackup, a
//! summary of the namespace, ending a deletion that never ends, pruning, cleaning up snapshots, and
//! comparing backups.

mod cleanup;
mod diff;
mod force_delete;
mod prune;
mod retry;
mod status;

use longhorn_ground::Longhorn;
use serde_json::{Value, json};

use crate::harness::{self, plugin};

/// A SystemBackup `name` that Longhorn puts in Error (zip fails while Generating),
/// carrying `labels`; the fault is cleared afterwards, so the next one succeeds.
pub(super) async fn failed_backup(env: &Longhorn, name: &str, policy: &str, labels: Value) {
    env.knobs()
        .fail_at("Generating", "zip I/O error: No space left on device");
    plugin(env, &["create", name, "--volume-backup-policy", policy])
        .await
        .success();
    harness::patch(
        env,
        ("SystemBackup", "systembackups"),
        name,
        json!({"metadata": {"labels": labels}}),
    )
    .await;
    plugin(env, &["wait", name, "--timeout", "60s"])
        .await
        .failure(1)
        .stderr_has(" failed: ");
    env.knobs().clear_faults();
}
