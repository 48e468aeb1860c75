//! The loop: a pass, then wait for the period, a notification or the acted-on pods' cleanup.

use super::Runner;
use crate::actuator;
use crate::light::Trigger;
use crate::usage_poll::UsagePoll;
use crate::warning;
use headroom_linux::notify::FiredKind;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The kubelet's cleanup wait: poll every second, give up after 30 s.
const CLEANUP_TIMEOUT: Duration = Duration::from_secs(30);
const CLEANUP_POLL: Duration = Duration::from_secs(1);
const CLEANUP_POLL_NOTIFIED: Duration = Duration::from_millis(10);
/// Least time between the start of a pass that acted and the pass after its cleanup: a pod
/// that is chosen again at once (nothing to signal) cannot spin the loop.
const CLEANUP_REPASS_FLOOR: Duration = Duration::from_millis(100);

impl Runner {
    /// Run until `--once` or `max_passes` says stop (forever otherwise).
    pub fn run(&mut self) -> anyhow::Result<()> {
        let mut trigger = Trigger::Start;
        let mut next_period = self.clock.now();
        let mut passes = 0u64;
        let mut caught_up = false;
        loop {
            if !matches!(trigger, Trigger::Notification | Trigger::Pressure) {
                next_period = self.clock.now() + self.cfg.period;
            }
            let started = self.clock.now();
            let outcome = self.pass(trigger)?;
            self.woken_by.clear();
            self.sd.pass_done();
            passes += 1;
            if self.cfg.once || self.cfg.max_passes.is_some_and(|m| passes >= m) {
                return Ok(());
            }
            if !outcome.cleanup.is_empty() {
                self.wait_for_cleanup(&outcome.cleanup);
                let since = self.clock.now().saturating_duration_since(started);
                self.clock.sleep(CLEANUP_REPASS_FLOOR.saturating_sub(since));
                trigger = Trigger::Cleanup;
                continue;
            }
            if std::mem::take(&mut self.catch_up) {
                // Back to back only while the figures keep moving across the threshold
                // between a pass's reads and its re-arm; spaced so that cannot spin.
                if caught_up {
                    self.clock.sleep(warning::CATCH_UP_SPACING);
                }
                caught_up = true;
                trigger = Trigger::Notification;
                self.woken_by = vec![woke("re-arm", "catch_up", String::new())];
                continue;
            }
            caught_up = false;
            if let Some(r) = &self.recording {
                next_period = r.next_pass(next_period);
            }
            trigger = self.wait_for_trigger(next_period)?;
        }
    }

    /// Block until the period elapses or a notification fires; `woken_by` says which watches
    /// fired (for the recording).
    fn wait_for_trigger(&mut self, next_period: Instant) -> anyhow::Result<Trigger> {
        let trigger = self.wait(next_period)?;
        if self.woken_by_usage_poll {
            self.woken_by
                .push(woke("pods usage", "usage_poll", "a threshold is met".into()));
        }
        Ok(trigger)
    }

    fn wait(&mut self, next_period: Instant) -> anyhow::Result<Trigger> {
        loop {
            let now = self.clock.now();
            if now >= next_period {
                return Ok(Trigger::Period);
            }
            let wake = self
                .usage_poll
                .as_ref()
                .and_then(UsagePoll::deadline)
                .map_or(next_period, |d| d.min(next_period));
            let timeout = wake.saturating_duration_since(now);
            // Nothing armed (notifications off): the wait is the clock's.
            let fired = if self.notifier.is_empty() {
                self.clock.sleep(timeout);
                Vec::new()
            } else {
                self.notifier.wait(Some(timeout))?
            };
            if fired.is_empty() {
                let read_at = Instant::now();
                if let Some((usage, trip_at)) = warning::usage_poll_crossing(self.usage_poll.as_mut()) {
                    // The hot path first: the prepared kill's signal before any log line.
                    self.fire_prepared(read_at);
                    warning::note_crossing(self.usage_poll.as_ref(), &self.shared.metrics, usage, trip_at);
                    self.woken_by_usage_poll = true;
                    return Ok(Trigger::Notification);
                }
                self.maybe_prepare();
                continue;
            }
            // PSI alone says little about how near a threshold is (see [`crate::light`]).
            let psi_only = fired.iter().all(|f| matches!(f.kind, FiredKind::Psi { .. }));
            for f in &fired {
                let text = f.to_string();
                let detail = text.strip_prefix(&format!("{}: ", f.key)).unwrap_or(&text);
                self.woken_by
                    .push(woke(&f.key, f.kind.label(), detail.to_string()));
                self.shared.metrics.inc_notification(&f.key, f.kind.label());
                tracing::info!("notification: {f}");
                if matches!(f.kind, FiredKind::Gone { .. }) {
                    // Re-arm from scratch at the next pass if the cgroup comes back.
                    self.armed.remove(&f.key);
                }
            }
            return Ok(if psi_only {
                Trigger::Pressure
            } else {
                Trigger::Notification
            });
        }
    }

    /// Wait for the acted-on cgroups to release their processes (or give up after 30 s).
    fn wait_for_cleanup(&mut self, cgroups: &[PathBuf]) {
        let poll = if self.cfg.notifications {
            CLEANUP_POLL_NOTIFIED
        } else {
            CLEANUP_POLL
        };
        let t0 = self.clock.now();
        while self.clock.now().saturating_duration_since(t0) < CLEANUP_TIMEOUT {
            if cgroups.iter().all(|c| actuator::cgroup_released(c)) {
                return;
            }
            self.clock.sleep(poll);
        }
        tracing::warn!(
            "pods in {:?} still have processes after {}s; continuing (the kubelet gives up the same way)",
            cgroups,
            CLEANUP_TIMEOUT.as_secs()
        );
    }
}

fn woke(watch: &str, kind: &str, detail: String) -> headroom_record::model::Wake {
    headroom_record::model::Wake {
        watch: watch.to_string(),
        kind: kind.to_string(),
        detail,
    }
}
