//! Progress of a long wait. On a terminal: one live line with the current state and
//! how long each state took. Otherwise: a plain line per state change, for logs.

use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

pub struct StateProgress {
    label: String,
    bar: Option<ProgressBar>,
    current: Option<(String, Instant)>,
    finished: Vec<(String, Duration)>,
    started: Instant,
}

impl StateProgress {
    /// `live` = draw a spinner line on stderr (a terminal is watching).
    pub fn new(label: impl Into<String>, live: bool) -> Self {
        let bar = live.then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg} [{elapsed}]")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        StateProgress {
            label: label.into(),
            bar,
            current: None,
            finished: Vec::new(),
            started: Instant::now(),
        }
    }

    /// Records the state seen now; a change closes the previous state's timer.
    pub fn observe(&mut self, state: &str) {
        let state = if state.is_empty() { "Pending" } else { state };
        if self.current.as_ref().is_some_and(|(s, _)| s == state) {
            self.refresh();
            return;
        }
        if let Some((previous, since)) = self.current.take() {
            self.finished.push((previous, since.elapsed()));
        }
        self.current = Some((state.to_string(), Instant::now()));
        match &self.bar {
            Some(_) => self.refresh(),
            None => eprintln!(
                "{}: {state} (after {})",
                self.label,
                short(self.started.elapsed())
            ),
        }
    }

    fn refresh(&self) {
        let Some(bar) = &self.bar else { return };
        let mut parts: Vec<String> = self
            .finished
            .iter()
            .map(|(s, d)| format!("{s} {}", short(*d)))
            .collect();
        if let Some((state, since)) = &self.current {
            parts.push(format!("{state} {}…", short(since.elapsed())));
        }
        bar.set_message(format!("{}: {}", self.label, parts.join(" → ")));
    }

    /// Clears the live line (the caller prints the outcome).
    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

fn short(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 10.0 {
        format!("{secs:.1}s")
    } else {
        format!("{}s", duration.as_secs())
    }
}

/// Live counters, one line per task (e.g. per kind being listed), drawn on stderr when
/// a terminal is watching and invisible otherwise.
pub struct Counters {
    multi: indicatif::MultiProgress,
}

impl Counters {
    pub fn new(live: bool) -> Self {
        let target = if live {
            indicatif::ProgressDrawTarget::stderr()
        } else {
            indicatif::ProgressDrawTarget::hidden()
        };
        Counters {
            multi: indicatif::MultiProgress::with_draw_target(target),
        }
    }

    /// A new line labelled `label`, counting from 0.
    pub fn add(&self, label: &str) -> Counter {
        let bar = self.multi.add(ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {prefix:<44} {pos:>7} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        Counter { bar }
    }

    /// Removes every line (the caller prints the outcome).
    pub fn clear(&self) {
        let _ = self.multi.clear();
    }
}

/// One line of [`Counters`]; cheap to clone and to update from any thread.
#[derive(Clone)]
pub struct Counter {
    bar: ProgressBar,
}

impl Counter {
    pub fn inc(&self) {
        self.bar.inc(1);
    }

    pub fn set(&self, count: u64) {
        self.bar.set_position(count);
    }

    pub fn message(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// Stops the spinner and leaves the line with a final message.
    pub fn done(&self, message: impl Into<String>) {
        self.bar.set_style(
            ProgressStyle::with_template("✓ {prefix:<44} {pos:>7} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        self.bar.finish_with_message(message.into());
    }
}

/// A transfer's progress on stderr when a terminal is watching: bytes, total, rate.
pub struct Transfer {
    bar: Option<ProgressBar>,
}

impl Transfer {
    pub fn new(label: impl Into<String>, total: Option<u64>, live: bool) -> Self {
        let bar = live.then(|| {
            let bar = ProgressBar::new(total.unwrap_or(0));
            bar.set_style(
                ProgressStyle::with_template(
                    "{msg} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_message(label.into());
            bar
        });
        Transfer { bar }
    }

    /// `done` bytes so far, of `total` when the size became known.
    pub fn set(&self, done: u64, total: Option<u64>) {
        if let Some(bar) = &self.bar {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(done);
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}
