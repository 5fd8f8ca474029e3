//! Knobs: how a test steers what the ground does for Longhorn while it runs. Real
//! longhorn-manager code runs the state machines; the knobs act where a real cluster can
//! fail or stall: the backup store (every command of the engine binary), the archive tools
//! longhorn-manager runs (`zip` while Generating, `unzip` while Unpacking), and the parts the
//! simulator plays (volume and backing-image backups, snapshots, engine images).
//!
//! A `Knobs` is a cheap clone of one shared handle. Every change is written at once to the
//! fault file the engine stand-in reads (tests/longhorn/engine/faults.go) and bumps a watch
//! channel for the simulator.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::watch;

/// What a step does instead of succeeding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail with this message (a store or tool error; a volume or backing-image backup in
    /// state Error).
    Fail(String),
    /// Never finish (until the knob is cleared).
    Hang,
}

/// A snapshot of every knob.
#[derive(Clone, Debug)]
pub struct KnobValues {
    /// Time the simulated engine takes per snapshot, volume backup and backing-image
    /// backup.
    pub step_delay: Duration,
    /// Faults of the SystemBackup states, keyed by state (see [`Knobs::fail_at`]).
    pub system_backup_faults: HashMap<String, Fault>,
    /// Faults of the SystemRestore states, keyed by state (see [`Knobs::fail_restore_at`]).
    pub system_restore_faults: HashMap<String, Fault>,
    /// `Some(stderr)` makes every command of the engine binary fail with that text, as
    /// when the NFS share cannot be mounted or the bucket cannot be reached.
    pub store_failure: Option<String>,
    /// Every command of the engine binary blocks (until cleared, or until
    /// longhorn-manager's `backup-execution-timeout` kills it), as with a store that
    /// accepts connections and never answers.
    pub store_hanging: bool,
    /// `Some(message)` makes every volume Backup end in state Error with that message.
    pub volume_backup_error: Option<String>,
    /// `Some(message)` makes every BackupBackingImage end in state Error with it.
    pub backing_image_backup_error: Option<String>,
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
            store_hanging: false,
            volume_backup_error: None,
            backing_image_backup_error: None,
            snapshot_size: 0,
            engine_image_deployed: true,
        }
    }
}

/// The stderr of the engine binary when the store is unreachable and the test gave no
/// text of its own.
pub const DEFAULT_STORE_FAILURE: &str = "mount failed: Connection refused";

/// The command longhorn-manager runs in a SystemBackup state, where a fault of that state
/// takes effect. CreatingVolumeBackups and CreatingBackingImageBackups are the simulator's.
fn system_backup_command(state: &str) -> Option<&'static str> {
    match state {
        "Generating" => Some("zip"),
        "Uploading" => Some("system-backup upload"),
        _ => None,
    }
}

/// The command the rollout runs in a SystemRestore state.
fn system_restore_command(state: &str) -> Option<&'static str> {
    match state {
        "Downloading" => Some("system-backup download"),
        "Unpacking" => Some("unzip"),
        _ => None,
    }
}

const SIMULATED_BACKUP_STATES: [&str; 2] = ["CreatingVolumeBackups", "CreatingBackingImageBackups"];

#[derive(Clone)]
pub struct Knobs {
    values: Arc<Mutex<KnobValues>>,
    changed: Arc<watch::Sender<u64>>,
    faults_file: Option<PathBuf>,
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
            faults_file: None,
        }
    }

    /// Knobs whose store and tool faults go to `path` (the engine stand-in's fault file).
    pub fn with_faults_file(values: KnobValues, path: PathBuf) -> std::io::Result<Self> {
        let knobs = Self {
            faults_file: Some(path),
            ..Self::new(values)
        };
        knobs.write_faults(&knobs.get())?;
        Ok(knobs)
    }

    /// The current values.
    pub fn get(&self) -> KnobValues {
        self.values.lock().expect("knobs lock").clone()
    }

    /// Applies `change`, writes the fault file and wakes everyone waiting on the knobs.
    pub fn update(&self, change: impl FnOnce(&mut KnobValues)) {
        let values = {
            let mut values = self.values.lock().expect("knobs lock");
            change(&mut values);
            values.clone()
        };
        self.write_faults(&values)
            .expect("the ground writes its fault file");
        self.changed.send_modify(|generation| *generation += 1);
    }

    /// The fault file for these values: `{command: {"fail": text} | {"hang": true}}`.
    fn write_faults(&self, values: &KnobValues) -> std::io::Result<()> {
        let Some(path) = &self.faults_file else {
            return Ok(());
        };
        let mut faults = BTreeMap::<String, Value>::new();
        let entry = |fault: &Fault| match fault {
            Fault::Fail(message) => json!({"fail": message}),
            Fault::Hang => json!({"hang": true}),
        };
        if let Some(failure) = &values.store_failure {
            faults.insert("*".into(), json!({"fail": failure}));
        }
        if values.store_hanging {
            faults.insert("*".into(), json!({"hang": true}));
        }
        for (state, fault) in &values.system_backup_faults {
            if let Some(command) = system_backup_command(state) {
                faults.insert(command.into(), entry(fault));
            }
        }
        for (state, fault) in &values.system_restore_faults {
            if let Some(command) = system_restore_command(state) {
                faults.insert(command.into(), entry(fault));
            }
        }
        // Written whole and renamed, so the engine never reads half a file.
        let temporary = path.with_extension("json.tmp");
        std::fs::write(&temporary, serde_json::to_vec(&faults)?)?;
        std::fs::rename(&temporary, path)
    }

    /// A receiver that sees every later change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn set_step_delay(&self, delay: Duration) {
        self.update(|k| k.step_delay = delay);
    }

    /// The SystemBackup fails in `state` with `message`: the command longhorn-manager runs
    /// there fails with that text (Generating: `zip`; Uploading: the engine's
    /// `system-backup upload`), or the simulated backups of CreatingVolumeBackups and
    /// CreatingBackingImageBackups end in Error with it. What Longhorn records for it is
    /// Longhorn's business.
    ///
    /// # Panics
    /// For a state where nothing fails in a real cluster.
    pub fn fail_at(&self, state: &str, message: &str) {
        Self::check_backup_state(state);
        self.update(|k| {
            k.system_backup_faults
                .insert(state.to_string(), Fault::Fail(message.to_string()));
        });
    }

    /// SystemBackups stay in `state` until the fault is cleared: the command of the state
    /// blocks, or the simulated backups never finish.
    pub fn hang_at(&self, state: &str) {
        Self::check_backup_state(state);
        self.update(|k| {
            k.system_backup_faults
                .insert(state.to_string(), Fault::Hang);
        });
    }

    fn check_backup_state(state: &str) {
        assert!(
            system_backup_command(state).is_some() || SIMULATED_BACKUP_STATES.contains(&state),
            "no fault can be injected in SystemBackup state {state:?}: pick Generating, Uploading, CreatingVolumeBackups or CreatingBackingImageBackups"
        );
    }

    /// The SystemRestore fails in `state`: Downloading (the engine's `system-backup
    /// download` fails with `message`) or Unpacking (`unzip` does).
    pub fn fail_restore_at(&self, state: &str, message: &str) {
        Self::check_restore_state(state);
        self.update(|k| {
            k.system_restore_faults
                .insert(state.to_string(), Fault::Fail(message.to_string()));
        });
    }

    /// SystemRestores stay in Downloading or Unpacking until the fault is cleared.
    pub fn hang_restore_at(&self, state: &str) {
        Self::check_restore_state(state);
        self.update(|k| {
            k.system_restore_faults
                .insert(state.to_string(), Fault::Hang);
        });
    }

    fn check_restore_state(state: &str) {
        assert!(
            system_restore_command(state).is_some(),
            "no fault can be injected in SystemRestore state {state:?}: pick Downloading or Unpacking"
        );
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

    /// Makes every command of the engine binary block (`true`) or run again (`false`).
    pub fn set_store_hanging(&self, hanging: bool) {
        self.update(|k| k.store_hanging = hanging);
    }

    /// Shorthand: the store answers, or fails with [`DEFAULT_STORE_FAILURE`].
    pub fn set_store_reachable(&self, reachable: bool) {
        self.set_store_failure((!reachable).then_some(DEFAULT_STORE_FAILURE));
    }

    pub fn fail_volume_backups(&self, message: Option<&str>) {
        self.update(|k| k.volume_backup_error = message.map(str::to_string));
    }

    pub fn fail_backing_image_backups(&self, message: Option<&str>) {
        self.update(|k| k.backing_image_backup_error = message.map(str::to_string));
    }

    pub fn set_snapshot_size(&self, size: i64) {
        self.update(|k| k.snapshot_size = size);
    }

    pub fn set_engine_image_deployed(&self, deployed: bool) {
        self.update(|k| k.engine_image_deployed = deployed);
    }

    /// What the simulated volume backups do now: the fault of CreatingVolumeBackups,
    /// else the volume-backup error.
    pub(crate) fn volume_backup_fault(&self) -> Option<Fault> {
        let values = self.get();
        values
            .system_backup_faults
            .get("CreatingVolumeBackups")
            .cloned()
            .or(values.volume_backup_error.map(Fault::Fail))
    }

    /// What the simulated backing-image backups do now.
    pub(crate) fn backing_image_backup_fault(&self) -> Option<Fault> {
        let values = self.get();
        values
            .system_backup_faults
            .get("CreatingBackingImageBackups")
            .cloned()
            .or(values.backing_image_backup_error.map(Fault::Fail))
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
        knobs.hang_at("CreatingVolumeBackups");
        let waiting = {
            let knobs = knobs.clone();
            tokio::spawn(async move { knobs.pass_step(Knobs::volume_backup_fault).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished());
        knobs.fail_at("CreatingVolumeBackups", "boom");
        assert_eq!(waiting.await.unwrap(), Some("boom".to_string()));
    }

    #[test]
    fn faults_reach_the_commands_longhorn_runs() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("faults.json");
        let knobs = Knobs::with_faults_file(KnobValues::default(), path.clone()).unwrap();
        let read = || -> Value { serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap() };
        assert_eq!(read(), json!({}));
        knobs.hang_at("Generating");
        knobs.fail_at("Uploading", "bucket is full");
        knobs.fail_restore_at("Unpacking", "bad zip");
        knobs.set_store_reachable(false);
        assert_eq!(
            read(),
            json!({
                "*": {"fail": DEFAULT_STORE_FAILURE},
                "zip": {"hang": true},
                "system-backup upload": {"fail": "bucket is full"},
                "unzip": {"fail": "bad zip"},
            })
        );
        knobs.clear_faults();
        knobs.set_store_reachable(true);
        assert_eq!(read(), json!({}));
    }

    #[test]
    #[should_panic(expected = "no fault can be injected in SystemBackup state \"Ready\"")]
    fn a_state_without_a_fault_point_is_refused() {
        Knobs::default().fail_at("Ready", "x");
    }
}
