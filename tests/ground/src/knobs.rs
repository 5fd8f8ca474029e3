//! Knobs: how a test steers the simulator while it runs (speed, failures, hangs, the
//! backup store's reachability). A `Knobs` is a cheap clone of one shared handle;
//! every change bumps a watch channel so the simulator can react at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;

/// What a state does instead of succeeding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Leave the state with Longhorn's error record carrying this message.
    Fail(String),
    /// Never leave the state (until the knob is cleared).
    Hang,
}

/// A snapshot of every knob.
#[derive(Clone, Debug)]
pub struct KnobValues {
    /// Time each simulated state takes before the next one.
    pub step_delay: Duration,
    /// Faults of the SystemBackup state machine, keyed by state (`""` included).
    pub system_backup_faults: HashMap<String, Fault>,
    /// Faults of the SystemRestore state machine, keyed by state.
    pub system_restore_faults: HashMap<String, Fault>,
    /// `Some(stderr)` makes every backup-store operation fail with that text, as when
    /// the NFS share cannot be mounted or the bucket cannot be reached.
    pub store_failure: Option<String>,
    /// `Some(message)` makes every volume Backup end in state Error with that message.
    pub volume_backup_error: Option<String>,
    /// `status.size` of new snapshots. 0 means "no data written since the last backup",
    /// which makes `if-not-present` skip volumes whose last backup is intact.
    pub snapshot_size: i64,
    /// `status.state` of the engine images: `deployed` when true, `deploying` otherwise.
    pub engine_image_deployed: bool,
}

impl Default for KnobValues {
    fn default() -> Self {
        Self {
            step_delay: Duration::from_millis(50),
            system_backup_faults: HashMap::new(),
            system_restore_faults: HashMap::new(),
            store_failure: None,
            volume_backup_error: None,
            snapshot_size: 0,
            engine_image_deployed: true,
        }
    }
}

/// The stderr the simulated engine binary prints when the store is unreachable and the
/// test gave no text of its own.
pub const DEFAULT_STORE_FAILURE: &str = "mount failed: Connection refused";

#[derive(Clone)]
pub struct Knobs {
    values: Arc<Mutex<KnobValues>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self::new(KnobValues::default())
    }
}

impl std::fmt::Debug for Knobs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

impl Knobs {
    pub fn new(values: KnobValues) -> Self {
        Self {
            values: Arc::new(Mutex::new(values)),
            changed: Arc::new(watch::Sender::new(0)),
        }
    }

    /// The current values.
    pub fn get(&self) -> KnobValues {
        self.values.lock().expect("knobs lock").clone()
    }

    /// Applies `change` and wakes everyone waiting on the knobs.
    pub fn update(&self, change: impl FnOnce(&mut KnobValues)) {
        change(&mut self.values.lock().expect("knobs lock"));
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn set_step_delay(&self, delay: Duration) {
        self.update(|k| k.step_delay = delay);
    }

    /// The SystemBackup fails in `state` with `message` (condition and Warning event as
    /// Longhorn records them for that state).
    pub fn fail_at(&self, state: &str, message: &str) {
        self.update(|k| {
            k.system_backup_faults
                .insert(state.to_string(), Fault::Fail(message.to_string()));
        });
    }

    /// SystemBackups stay in `state` until the fault is cleared.
    pub fn hang_at(&self, state: &str) {
        self.update(|k| {
            k.system_backup_faults
                .insert(state.to_string(), Fault::Hang);
        });
    }

    pub fn fail_restore_at(&self, state: &str, message: &str) {
        self.update(|k| {
            k.system_restore_faults
                .insert(state.to_string(), Fault::Fail(message.to_string()));
        });
    }

    pub fn hang_restore_at(&self, state: &str) {
        self.update(|k| {
            k.system_restore_faults
                .insert(state.to_string(), Fault::Hang);
        });
    }

    /// Removes every fault of both state machines.
    pub fn clear_faults(&self) {
        self.update(|k| {
            k.system_backup_faults.clear();
            k.system_restore_faults.clear();
        });
    }

    /// Makes the backup store reachable (`None`) or failing with the given stderr.
    pub fn set_store_failure(&self, failure: Option<&str>) {
        self.update(|k| k.store_failure = failure.map(str::to_string));
    }

    /// Shorthand: the store answers, or fails with [`DEFAULT_STORE_FAILURE`].
    pub fn set_store_reachable(&self, reachable: bool) {
        self.set_store_failure((!reachable).then_some(DEFAULT_STORE_FAILURE));
    }

    pub fn fail_volume_backups(&self, message: Option<&str>) {
        self.update(|k| k.volume_backup_error = message.map(str::to_string));
    }

    pub fn set_snapshot_size(&self, size: i64) {
        self.update(|k| k.snapshot_size = size);
    }

    pub fn set_engine_image_deployed(&self, deployed: bool) {
        self.update(|k| k.engine_image_deployed = deployed);
    }

    /// The fault configured for a SystemBackup state, if any.
    pub(crate) fn system_backup_fault(&self, state: &str) -> Option<Fault> {
        self.get().system_backup_faults.get(state).cloned()
    }

    pub(crate) fn system_restore_fault(&self, state: &str) -> Option<Fault> {
        self.get().system_restore_faults.get(state).cloned()
    }

    /// Waits the step delay, then as long as `fault_of` says Hang; returns the fault
    /// that applies once the wait is over (`None`: proceed normally).
    pub(crate) async fn pass_step(
        &self,
        fault_of: impl Fn(&Knobs) -> Option<Fault>,
    ) -> Option<String> {
        tokio::time::sleep(self.get().step_delay).await;
        let mut changes = self.subscribe();
        loop {
            match fault_of(self) {
                Some(Fault::Hang) => {
                    if changes.changed().await.is_err() {
                        // The knobs are gone; so is the test. Stay put.
                        std::future::pending::<()>().await;
                    }
                }
                Some(Fault::Fail(message)) => return Some(message),
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hang_ends_when_the_fault_is_cleared() {
        let knobs = Knobs::default();
        knobs.set_step_delay(Duration::ZERO);
        knobs.hang_at("Generating");
        let waiting = {
            let knobs = knobs.clone();
            tokio::spawn(async move {
                knobs
                    .pass_step(|k| k.system_backup_fault("Generating"))
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        knobs.fail_at("Generating", "boom");
        assert_eq!(waiting.await.unwrap(), Some("boom".to_string()));
    }
}
