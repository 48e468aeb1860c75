//! The agent's side of the flight recorder (`--record DIR`): hand each pass to
//! [`headroom_record::Recorder`] and keep a recording failure from stopping the agent (the
//! decisions matter more than their history; a failure is logged once per distinct message).

use headroom_core::Timestamp;
use headroom_record::{PassInput, Recorder};
use std::time::Duration;

/// The cadence while a memory threshold is within reach (see [`Recorder::near_threshold`]).
pub const DENSE_PERIOD: Duration = Duration::from_secs(1);

/// A recorder and the failures already reported.
pub struct Recording {
    recorder: Recorder,
    reported: std::collections::BTreeSet<String>,
}

impl Recording {
    pub fn new(recorder: Recorder) -> Recording {
        Recording {
            recorder,
            reported: Default::default(),
        }
    }

    fn report(&mut self, what: &str, e: headroom_record::StoreError) {
        let msg = format!("{what}: {e}");
        if self.reported.insert(msg.clone()) {
            tracing::error!("{msg} (the agent goes on without this record)");
        }
    }

    /// Store the pass (committed to disk when this returns).
    pub fn pass(&mut self, input: PassInput<'_>) {
        if let Err(e) = self.recorder.record(input) {
            self.report("recording the pass", e);
        }
    }

    /// Store what was done to a pod the manager chose (`acted`: the runner took the action
    /// and waits for the pod's cgroup to empty).
    pub fn action(&mut self, now: Timestamp, action: &str, pod: &str, acted: bool) {
        let result = if acted {
            "acted"
        } else {
            "not acted (refused, dry run or failed: see the log)"
        };
        if let Err(e) = self.recorder.record_action(now, action, pod, result) {
            self.report("recording the action", e);
        }
    }

    /// When the next pass should start at the latest: sooner than the period while a
    /// threshold is within reach.
    pub fn next_pass(&self, next_period: std::time::Instant) -> std::time::Instant {
        if self.recorder.near_threshold() {
            next_period.min(std::time::Instant::now() + DENSE_PERIOD)
        } else {
            next_period
        }
    }
}
