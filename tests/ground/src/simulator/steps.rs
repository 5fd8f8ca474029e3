//! Long-running work per object and state. Longhorn runs states such as
//! `Generating` in goroutines started by a reconcile; the simulator does the same with
//! tasks, and makes sure one object never runs two tasks for the same state.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::task::AbortHandle;

/// The state a task works on, its id, and how to abort it.
type Running = (String, u64, Option<AbortHandle>);

#[derive(Default)]
pub(crate) struct Steps {
    /// uid → the task running for it
    running: Mutex<HashMap<String, Running>>,
    next_id: AtomicU64,
}

impl Steps {
    /// Starts `work` for the object's `state` unless a task for that state already
    /// runs; a task of an earlier state is aborted.
    pub fn launch<F>(self: &Arc<Self>, uid: &str, state: &str, work: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        // The lock is held while spawning, so the task cannot finish (and try to
        // unregister) before it is registered.
        let mut running = self.running.lock().expect("steps lock");
        if let Some((running_state, _, handle)) = running.get(uid) {
            if running_state == state {
                return;
            }
            if let Some(handle) = handle {
                handle.abort();
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let steps = self.clone();
        let key = uid.to_string();
        let task = tokio::spawn(async move {
            work.await;
            steps.finish(&key, id);
        });
        running.insert(
            uid.to_string(),
            (state.to_string(), id, Some(task.abort_handle())),
        );
    }

    /// Aborts whatever runs for the object.
    pub fn cancel(&self, uid: &str) {
        if let Some((_, _, Some(handle))) = self.running.lock().expect("steps lock").remove(uid) {
            handle.abort();
        }
    }

    fn finish(&self, uid: &str, id: u64) {
        let mut running = self.running.lock().expect("steps lock");
        if running
            .get(uid)
            .is_some_and(|(_, running_id, _)| *running_id == id)
        {
            running.remove(uid);
        }
    }
}
