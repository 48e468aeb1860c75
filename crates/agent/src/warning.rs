//! Early warning: the mechanisms that wake the agent before a memory threshold is met, which of
//! them are armed and which the kernel (or the mount) refused, and the rule that no crossing is
//! lost while a watch is re-armed.
//!
//! The agent's reaction is only as good as the mechanism that wakes it. Which ones work depends
//! on the node: cgroup v1 has usage thresholds; cgroup v2 has none, only `memory.events` (which
//! changes at the limit, too late) and PSI (which needs `CAP_SYS_RESOURCE` for sub-second
//! windows and a writable pressure file: the DaemonSet's read-only `/proc` refuses it). A
//! refused mechanism used to be one warn line at start, easy to miss; [`Mechanisms`] keeps the
//! state of each, logs every change and exports it (`headroom_early_warning`).
//!
//! **Armed behind a crossing** (the v1 miss). A v1 usage threshold is re-armed at the end of a
//! pass from figures read at its start. The kernel counts a threshold at or below the usage it
//! sees at registration as already crossed and signals only the downward crossing; and closing
//! the old watch drops whatever it had signalled. So when usage crossed the new arming value
//! while the pass ran (or the value moved down past the usage), nothing would ever wake the
//! agent before the next period: 10 s, against ~0.5 s from crossing to OOM at 200 MiB/s in a
//! 512 MiB cgroup. [`catch_up_needed`] decides when the pass must run again at once instead.

use crate::metrics::Metrics;
use crate::usage_poll::{Check, UsagePoll};
use headroom_linux::notify::{FiredKind, Notifier, NotifyError, PsiKind, PsiTrigger, UsageThreshold, Watch};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Least time between two catch-up passes in a row (the 10 ms polling yardstick's period): a
/// usage hovering exactly at the arming value cannot make the agent spin.
pub const CATCH_UP_SPACING: Duration = Duration::from_millis(10);

/// One early-warning mechanism, as exported in the `mechanism` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Mechanism {
    /// cgroup v1 usage threshold on the memory root (`memory.available`).
    MemcgThresholdNode,
    /// cgroup v1 usage threshold on the pod cgroup root (`allocatableMemory.available`).
    MemcgThresholdPods,
    /// cgroup v2 inotify on the pod cgroup root's `memory.events`.
    MemoryEventsPods,
    /// PSI trigger on `/proc/pressure/memory`.
    PsiNode,
    /// PSI trigger on the pod cgroup root's `memory.pressure` (cgroup v2).
    PsiPods,
    /// Adaptive re-reads of the pod cgroup root's usage (see [`crate::usage_poll`]).
    UsagePollPods,
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Mechanism::MemcgThresholdNode => "memcg_threshold_node",
            Mechanism::MemcgThresholdPods => "memcg_threshold_pods",
            Mechanism::MemoryEventsPods => "memory_events_pods",
            Mechanism::PsiNode => "psi_node",
            Mechanism::PsiPods => "psi_pods",
            Mechanism::UsagePollPods => "usage_poll_pods",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    Armed(String),
    Refused(String),
}

/// The state of every mechanism tried so far; logs and exports each change.
#[derive(Default)]
pub struct Mechanisms {
    states: BTreeMap<Mechanism, State>,
}

impl Mechanisms {
    /// `m` is armed (`detail`: what exactly, for the log). Logged when it was not armed before;
    /// a re-arm at another value is not news.
    pub fn armed(&mut self, m: Mechanism, detail: &str, metrics: &Metrics) {
        let was_armed = matches!(self.states.get(&m), Some(State::Armed(_)));
        if !was_armed {
            tracing::info!("early warning {}: armed ({detail})", m.as_str());
        }
        metrics.set_early_warning(m.as_str(), true);
        self.states.insert(m, State::Armed(detail.to_string()));
    }

    /// `m` could not be armed, because `why`. Logged once per distinct reason.
    pub fn refused(&mut self, m: Mechanism, why: &str, metrics: &Metrics) {
        let state = State::Refused(why.to_string());
        if self.states.get(&m) != Some(&state) {
            tracing::warn!(
                "early warning {}: refused: {why} (the agent still passes every period and on \
                 the mechanisms that are armed)",
                m.as_str()
            );
        }
        metrics.set_early_warning(m.as_str(), false);
        self.states.insert(m, state);
    }

    pub fn is_refused(&self, m: Mechanism) -> bool {
        matches!(self.states.get(&m), Some(State::Refused(_)))
    }

    /// Mechanisms currently armed, for the start-up summary line and tests.
    pub fn armed_names(&self) -> Vec<&'static str> {
        self.states
            .iter()
            .filter(|(_, s)| matches!(s, State::Armed(_)))
            .map(|(m, _)| m.as_str())
            .collect()
    }

    /// Mechanisms refused, with why.
    pub fn refused_names(&self) -> Vec<(&'static str, &str)> {
        self.states
            .iter()
            .filter_map(|(m, s)| match s {
                State::Refused(why) => Some((m.as_str(), why.as_str())),
                State::Armed(_) => None,
            })
            .collect()
    }
}

/// After re-arming a usage threshold at the end of a pass: must the agent pass again at once?
///
/// * `crossed_before_armed`: the usage read right after the registration was already at or
///   beyond the new value, so the kernel will never signal this crossing upwards;
/// * `replaced_pending`: what the replaced watch had signalled and nobody had read (a crossing
///   during the pass);
/// * `met_this_pass`: this pass already saw the threshold met (and acted on it, or could not):
///   then the crossing is known and passing again would only spin.
pub fn catch_up_needed(
    crossed_before_armed: Option<u64>,
    replaced_pending: Option<&FiredKind>,
    met_this_pass: bool,
) -> bool {
    if met_this_pass {
        return false;
    }
    let pending_crossing = matches!(replaced_pending, Some(FiredKind::UsageThreshold { .. }));
    crossed_before_armed.is_some() || pending_crossing
}

/// A usage threshold re-armed by [`rearm_usage_threshold`].
#[derive(Debug)]
pub struct Rearmed {
    /// The new watch, for the log.
    pub detail: String,
    /// Usage read right after the registration, when already at or beyond the new value.
    pub crossed_before_armed: Option<u64>,
    /// What the replaced watch had signalled and nobody had read.
    pub replaced_pending: Option<FiredKind>,
    /// Pass again at once ([`catch_up_needed`]).
    pub catch_up: bool,
}

/// Arm a v1 usage threshold at `bytes` on `cgroup` under `key`, replacing the previous one with
/// no unwatched moment (the new one is registered before the old one is closed), and say
/// whether a crossing would otherwise be lost. `met_this_pass`: the pass that computed `bytes`
/// already saw this threshold met.
pub fn rearm_usage_threshold(
    notifier: &mut Notifier,
    key: &str,
    cgroup: &Path,
    bytes: u64,
    met_this_pass: bool,
) -> Result<Rearmed, NotifyError> {
    let threshold = UsageThreshold::arm(cgroup, bytes)?;
    let crossed_before_armed = threshold.crossed_before_armed();
    let watch = Watch::Usage(threshold);
    let detail = watch.describe();
    let replaced_pending = notifier.replace(key, watch);
    let catch_up = catch_up_needed(crossed_before_armed, replaced_pending.as_ref(), met_this_pass);
    Ok(Rearmed {
        detail,
        crossed_before_armed,
        replaced_pending,
        catch_up,
    })
}

/// Register a `some` PSI trigger on `path` under `key` (widened to 2 s windows without
/// `CAP_SYS_RESOURCE`, which is logged) and record whether it is armed.
#[allow(clippy::too_many_arguments)]
pub fn arm_psi(
    mechanisms: &mut Mechanisms,
    notifier: &mut Notifier,
    metrics: &Metrics,
    key: &str,
    mechanism: Mechanism,
    path: &Path,
    stall: Duration,
    window: Duration,
) {
    match PsiTrigger::register_or_widen(path, PsiKind::Some, stall, window) {
        Ok((t, note)) => {
            if let Some(note) = note {
                tracing::warn!("{note}");
            }
            let detail = format!("{:?} on {}", t.trigger(), path.display());
            mechanisms.armed(mechanism, &detail, metrics);
            notifier.set(key, Watch::Psi(t));
        }
        Err(e) => mechanisms.refused(mechanism, &e.to_string(), metrics),
    }
}

/// Open the adaptive re-reads of the pods cgroup usage file `path` and record the outcome;
/// measures the machine's growth bound ([`crate::growth_bound`]) first.
pub fn open_usage_poll(mechanisms: &mut Mechanisms, metrics: &Metrics, path: &Path) -> Option<UsagePoll> {
    let bound = crate::growth_bound::GrowthBound::measure();
    match UsagePoll::open(path, bound.rate) {
        Ok(p) => {
            let detail = format!(
                "re-reads of {}, faster near a threshold; growth from rest assumed up to {}",
                path.display(),
                bound.describe()
            );
            mechanisms.armed(Mechanism::UsagePollPods, &detail, metrics);
            Some(p)
        }
        Err(e) => {
            let why = format!("cannot read {}: {e}", path.display());
            mechanisms.refused(Mechanism::UsagePollPods, &why, metrics);
            None
        }
    }
}

/// Read the pods cgroup usage if due: `(usage, trip value)` when it found a threshold crossed
/// (then [`note_crossing`]).
pub fn usage_poll_crossing(poll: Option<&mut UsagePoll>) -> Option<(u64, u64)> {
    match poll?.check(Instant::now()) {
        Check::Crossed { usage, trip_at } => Some((usage, trip_at)),
        Check::Quiet | Check::Unreadable => None,
    }
}

/// Count and log a crossing the re-reads found (after the hot path: see
/// [`crate::prepared_kill`]).
pub fn note_crossing(poll: Option<&UsagePoll>, metrics: &Metrics, usage: u64, trip_at: u64) {
    metrics.inc_notification("pods usage", "usage_poll");
    tracing::info!(
        "notification: pods usage: {} is {usage} bytes, at or beyond {trip_at} \
         (a threshold is met there)",
        poll.map(|p| p.path().display().to_string()).unwrap_or_default()
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn crossing() -> FiredKind {
        FiredKind::UsageThreshold {
            cgroup: PathBuf::from("/sys/fs/cgroup/memory/kubepods"),
            bytes: 1,
            count: 1,
        }
    }

    #[test]
    fn a_crossing_during_the_pass_runs_the_pass_again() {
        assert!(catch_up_needed(Some(5), None, false));
        assert!(catch_up_needed(None, Some(&crossing()), false));
        assert!(!catch_up_needed(None, None, false));
        // A removed cgroup is not a crossing.
        let gone = FiredKind::Gone {
            path: PathBuf::from("/x"),
        };
        assert!(!catch_up_needed(None, Some(&gone), false));
    }

    #[test]
    fn a_threshold_this_pass_already_saw_met_does_not_spin() {
        assert!(!catch_up_needed(Some(5), Some(&crossing()), true));
    }

    #[test]
    fn states_are_exported_and_listed() {
        let metrics = Metrics::new();
        let mut m = Mechanisms::default();
        m.armed(Mechanism::PsiNode, "some 100000 1000000", &metrics);
        m.refused(Mechanism::PsiPods, "read-only file system", &metrics);
        assert_eq!(m.armed_names(), vec!["psi_node"]);
        assert_eq!(m.refused_names(), vec![("psi_pods", "read-only file system")]);
        let text = metrics.render(false);
        assert!(
            text.contains(r#"headroom_early_warning{mechanism="psi_pods",state="refused"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"headroom_early_warning{mechanism="psi_pods",state="armed"} 0"#),
            "{text}"
        );
        assert!(
            text.contains(r#"headroom_early_warning{mechanism="psi_node",state="armed"} 1"#),
            "{text}"
        );
        // Armed later (e.g. the pressure file became writable): the state flips.
        m.armed(Mechanism::PsiPods, "some 100000 1000000", &metrics);
        assert!(m.refused_names().is_empty());
    }
}
