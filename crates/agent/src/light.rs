//! The light pass: when nothing is near a threshold, read two cgroups instead of the whole tree.
//!
//! A full pass reads every pod and container cgroup (~220 `memory.stat` reads for 110 pods, a
//! few ms of kernel time each pass) although, while no threshold is met, the kubelet's
//! synchronize never looks at pod stats: ranking happens only once a threshold is met. The
//! memory signals need only the node (root cgroup) and the pod cgroup root; the disk and pid
//! signals are read the same way in both passes.
//!
//! So a pass may be light when:
//! * the previous decision met no threshold and reported no node condition (nothing pending a
//!   grace period, nothing held by minimum reclaim, no transition period running);
//! * it is a periodic pass or one woken by PSI only (the first pass, the pass after an
//!   eviction and a pass woken by a memcg usage threshold or `memory.events` are always full:
//!   those notifications are armed at the thresholds, so a light read would almost never be
//!   enough and would only delay the reaction);
//! * a full pass ran less than [`FULL_PASS_EVERY`] periods ago (keeps `/stats/summary` pod
//!   stats at most that old);
//! * local-storage limits cannot evict (that check needs pod stats).
//!
//! And its figures are used only if every threshold stays unmet by a margin that covers what a
//! light read can get wrong: without the children read first, a parent's hierarchical
//! `memory.stat` lags by up to a ~2 s flush (measured: up to 280 MiB of `inactive_file`; see
//! the test-machine spec). Working set = usage - inactive_file, so a stale, too-high
//! `inactive_file` overstates `available`:
//! * `allocatableMemory.available` (pod cgroup root, a real page counter for usage): by at most
//!   the reported `inactive_file` (the true value is >= 0), and in practice by at most
//!   [`LAG_MARGIN_BYTES`]: margin = min(inactive_file, LAG_MARGIN_BYTES);
//! * `memory.available` (the root cgroup, whose v1 usage is itself synthesised from the lagging
//!   counters): margin = [`LAG_MARGIN_BYTES`];
//! * other signals: read exactly as in a full pass, margin 0.
//!
//! Otherwise the pass collects the whole tree, as before. The decision is the same as a full
//! pass's whenever the light figures are used: no threshold met, so no ranking and no eviction.

use headroom_core::observe::observe;
use headroom_core::quantity::Quantity;
use headroom_core::signal::Signal;
use headroom_core::summary::{SYSTEM_CONTAINER_PODS, Summary};
use headroom_core::threshold::{Threshold, threshold_quantity};
use std::time::Duration;

/// A full pass runs at least every this many periods (1 min at the kubelet's 10 s).
pub const FULL_PASS_EVERY: u32 = 6;

/// Bound on how far a parent's unflushed hierarchical stats can overstate `available`
/// (the spec measured up to 280 MiB; rounded up with room to spare).
pub const LAG_MARGIN_BYTES: i64 = 512 << 20;

/// What triggered a pass: the runner's loop, the light-pass rule, the log, `/decision`, the
/// recording and `headroom_syncs_total` all take this type; [`Trigger::as_str`] is the code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trigger {
    Start,
    Period,
    /// Woken by PSI and nothing else (stalls say little about how near a threshold is).
    Pressure,
    /// Woken by a memcg usage threshold or `memory.events` (possibly with PSI).
    Notification,
    Cleanup,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::Period => "period",
            Trigger::Pressure | Trigger::Notification => "notification",
            Trigger::Cleanup => "cleanup",
        }
    }
}

/// The stable code (`trigger=` on log lines and metrics, `"trigger"` in JSON): PSI-only
/// wake-ups print as `notification`, as they always have.
impl std::fmt::Display for Trigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the previous pass left behind that matters here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Quiet {
    /// The previous decision met no threshold and reported no condition.
    pub nothing_pending: bool,
    /// Local-storage limit evictions are possible (isolation on and a pod has a limit).
    pub local_storage_limits: bool,
}

/// May this pass try a light collection?
pub fn may_try_light(trigger: Trigger, quiet: Quiet, since_full: Duration, period: Duration) -> bool {
    matches!(trigger, Trigger::Period | Trigger::Pressure)
        && quiet.nothing_pending
        && !quiet.local_storage_limits
        && since_full < period.saturating_mul(FULL_PASS_EVERY)
}

/// `Ok(())` if every threshold is unmet by its margin on this light Summary; otherwise why not
/// (for the debug log), and the pass must collect the whole tree.
pub fn light_suffices(thresholds: &[Threshold], summary: &Summary) -> Result<(), String> {
    let obs = observe(summary);
    for t in thresholds {
        let Some(o) = obs.get(t.signal) else {
            // Unobserved (e.g. a pod cgroup root without a memory limit has no available
            // figure): never met, for the kubelet too. A full pass reads the same node-level
            // files, so it would not observe it either.
            continue;
        };
        let q = threshold_quantity(&t.value, &o.capacity);
        let margin = Quantity::bytes(margin_bytes(t.signal, summary));
        if o.available.nanos() - q.nanos() <= margin.nanos() {
            return Err(format!(
                "{}: available {} is within {} of the threshold {}",
                t.signal.as_str(),
                o.available,
                margin,
                q
            ));
        }
    }
    Ok(())
}

/// How much a light read can overstate `available` for this signal (see the module docs).
fn margin_bytes(signal: Signal, summary: &Summary) -> i64 {
    match signal {
        Signal::MemoryAvailable => LAG_MARGIN_BYTES,
        Signal::AllocatableMemoryAvailable => {
            let inactive_file = summary
                .node
                .system_container(SYSTEM_CONTAINER_PODS)
                .and_then(|c| c.memory.as_ref())
                .and_then(|m| Some(m.usage_bytes?.saturating_sub(m.working_set_bytes?)))
                // Unknown: assume the worst.
                .unwrap_or(u64::MAX);
            i64::try_from(inactive_file)
                .unwrap_or(i64::MAX)
                .min(LAG_MARGIN_BYTES)
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::summary::{ContainerStats, MemoryStats, NodeStats};
    use headroom_core::threshold::ThresholdValue;

    const MIB: u64 = 1 << 20;

    fn mem(capacity: u64, usage: u64, inactive_file: u64) -> MemoryStats {
        let ws = usage - inactive_file;
        MemoryStats {
            time: Some(headroom_core::Timestamp::UNIX_EPOCH),
            usage_bytes: Some(usage),
            working_set_bytes: Some(ws),
            available_bytes: Some(capacity - ws),
            ..Default::default()
        }
    }

    /// Node of 8 GiB, pod cgroup root of `pods_cap`, both with the given usage/inactive_file.
    fn summary(node: (u64, u64), pods_cap: u64, pods: (u64, u64)) -> Summary {
        Summary {
            node: NodeStats {
                memory: Some(mem(8192 * MIB, node.0, node.1)),
                system_containers: Some(vec![ContainerStats {
                    name: SYSTEM_CONTAINER_PODS.into(),
                    memory: Some(mem(pods_cap, pods.0, pods.1)),
                    ..Default::default()
                }]),
                ..Default::default()
            },
            pods: Vec::new(),
        }
    }

    fn hard(signal: Signal, value: &str) -> Threshold {
        Threshold {
            signal,
            value: ThresholdValue::Quantity(Quantity::parse(value).unwrap()),
            grace_period_ns: 0,
            min_reclaim: None,
        }
    }

    #[test]
    fn only_quiet_periodic_or_notification_passes_try_light() {
        let p = Duration::from_secs(10);
        let quiet = Quiet {
            nothing_pending: true,
            local_storage_limits: false,
        };
        let recent = Duration::from_secs(5);
        assert!(may_try_light(Trigger::Period, quiet, recent, p));
        assert!(may_try_light(Trigger::Pressure, quiet, recent, p));
        assert!(!may_try_light(Trigger::Notification, quiet, recent, p));
        assert!(!may_try_light(Trigger::Start, quiet, recent, p));
        assert!(!may_try_light(Trigger::Cleanup, quiet, recent, p));
        let pending = Quiet {
            nothing_pending: false,
            ..quiet
        };
        assert!(!may_try_light(Trigger::Period, pending, recent, p));
        let storage = Quiet {
            local_storage_limits: true,
            ..quiet
        };
        assert!(!may_try_light(Trigger::Period, storage, recent, p));
        // A full pass is due every FULL_PASS_EVERY periods.
        let due = p * FULL_PASS_EVERY;
        assert!(may_try_light(
            Trigger::Period,
            quiet,
            due - Duration::from_millis(1),
            p
        ));
        assert!(!may_try_light(Trigger::Period, quiet, due, p));
    }

    #[test]
    fn allocatable_margin_is_the_inactive_file_capped_at_the_lag_bound() {
        let t = [hard(Signal::AllocatableMemoryAvailable, "100Mi")];
        // No page cache: nothing can lag, so any headroom at all is enough.
        let s = summary((1024 * MIB, 0), 512 * MIB, (411 * MIB, 0));
        assert_eq!(light_suffices(&t, &s), Ok(()));
        // Exactly at the threshold is "not met" for the kubelet, but not comfortably so.
        let s = summary((1024 * MIB, 0), 512 * MIB, (412 * MIB, 0));
        assert!(light_suffices(&t, &s).is_err());
        // 50 MiB inactive_file, 200 MiB working set: headroom 212 MiB > 50 MiB margin.
        let s = summary((1024 * MIB, 0), 512 * MIB, (250 * MIB, 50 * MIB));
        assert_eq!(light_suffices(&t, &s), Ok(()));
        // 300 MiB inactive_file, 100 MiB working set: headroom 312 MiB > 300 MiB margin.
        let s = summary((1024 * MIB, 0), 512 * MIB, (400 * MIB, 300 * MIB));
        assert_eq!(light_suffices(&t, &s), Ok(()));
        // 350 MiB inactive_file, 100 MiB working set: headroom 312 MiB < 350 MiB margin.
        let s = summary((1024 * MIB, 0), 512 * MIB, (450 * MIB, 350 * MIB));
        assert!(light_suffices(&t, &s).is_err());
        // A big cgroup full of cache: margin capped at LAG_MARGIN_BYTES.
        let s = summary((1024 * MIB, 0), 16384 * MIB, (15000 * MIB, 10000 * MIB));
        assert_eq!(light_suffices(&t, &s), Ok(()));
        let s = summary((1024 * MIB, 0), 16384 * MIB, (20000 * MIB, 4200 * MIB));
        // working set 15800 MiB: headroom 484 MiB < 512 MiB.
        assert!(light_suffices(&t, &s).is_err());
    }

    #[test]
    fn node_margin_is_the_lag_bound_and_percentages_use_capacity() {
        let t = [hard(Signal::MemoryAvailable, "100Mi")];
        // 8 GiB node, working set 7500 MiB: headroom 592 MiB > 512 MiB.
        let s = summary((7600 * MIB, 100 * MIB), 512 * MIB, (0, 0));
        assert_eq!(light_suffices(&t, &s), Ok(()));
        // Working set 7600 MiB: headroom 492 MiB.
        let s = summary((7700 * MIB, 100 * MIB), 512 * MIB, (0, 0));
        assert!(light_suffices(&t, &s).is_err());
        // 10% of 8 GiB = 819.2 MiB threshold.
        let pct = [Threshold {
            value: ThresholdValue::Percentage(0.1),
            ..hard(Signal::MemoryAvailable, "0")
        }];
        let s = summary((6800 * MIB, 0), 512 * MIB, (0, 0)); // available 1392 MiB
        assert_eq!(light_suffices(&pct, &s), Ok(()));
        let s = summary((6900 * MIB, 0), 512 * MIB, (0, 0)); // available 1292 MiB
        assert!(light_suffices(&pct, &s).is_err());
    }

    #[test]
    fn unobserved_signals_are_unmet_and_missing_usage_takes_the_full_margin() {
        let t = [hard(Signal::AllocatableMemoryAvailable, "100Mi")];
        let mut s = summary((1024 * MIB, 0), 512 * MIB, (0, 0));
        s.node.system_containers = None;
        assert_eq!(light_suffices(&t, &s), Ok(()));
        // ...but an observed signal next to it is still checked.
        let both = [t[0].clone(), hard(Signal::MemoryAvailable, "7800Mi")];
        assert!(light_suffices(&both, &s).is_err());
        // usage unknown: the margin cannot be bounded by inactive_file, so the lag bound applies.
        let mut s = summary((1024 * MIB, 0), 512 * MIB, (0, 0));
        if let Some(m) = s.node.system_containers.as_mut().unwrap()[0].memory.as_mut() {
            m.usage_bytes = None;
        }
        // available 512 MiB - 100 MiB = 412 MiB <= 512 MiB margin.
        assert!(light_suffices(&t, &s).is_err());
        // No thresholds: nothing to be near.
        assert_eq!(light_suffices(&[], &s), Ok(()));
    }
}
