//! The eviction manager's control loop, one `synchronize` at a time (§6 of the spec).
//!
//! `synchronize` is pure: the Summary, the active pods and the time come in, a [`Decision`]
//! comes out, and [`ManagerState`] carries what the kubelet remembers between syncs. It never
//! kills anything; the caller (the agent, the simulator) acts on the decision.
//!
//! Deliberate determinism where upstream is random (documented deviations that never produce
//! an outcome the kubelet could not): thresholds are kept in configuration order; among several
//! actionable memory thresholds, hard comes before soft and `memory.available` before
//! `allocatableMemory.available` (§7); tied pods keep their input order; reported conditions are
//! listed MemoryPressure, DiskPressure, PIDPressure.
//!
//! Node-level disk reclaim (image and container garbage collection, which the kubelet runs
//! before evicting for some disk signals) cannot be simulated: headroom assumes it freed
//! nothing and re-checks the thresholds against the same Summary.

use jiff::Timestamp;

use crate::notifier::{NotifierArm, NotifierError};
use crate::observe::Observations;
use crate::pod::Pod;
use crate::rank::FsTopology;
use crate::signal::{NodeCondition, Signal};
use crate::summary::Summary;
use crate::threshold::{Threshold, ThresholdValue, format_threshold_value, threshold_quantity};

mod containerfs;
mod decision;
mod sync;

pub use containerfs::derive_containerfs;
pub use decision::{Decision, Eviction, EvictionCause, MetThreshold, NoEvictionCode, NoEvictionReason};
pub use sync::synchronize;

/// Grace period the kubelet passes for hard-threshold evictions (since ≈v1.31).
pub(crate) const HARD_EVICTION_GRACE_SECONDS: i64 = 1;
/// The memcg notifiers are re-armed at most this often (ns).
pub(crate) const NOTIFIER_REFRESH_INTERVAL_NS: i128 = 10_000_000_000;
/// The kubelet's eviction loop period (ns).
pub const MONITORING_PERIOD_NS: i64 = 10_000_000_000;

/// A threshold together with its identity (which configured threshold it is).
///
/// Upstream keys its bookkeeping by the threshold value, whose pointers make two configured
/// thresholds distinct even when they print the same; an index does the same job here.
#[derive(Clone, Debug, PartialEq)]
pub struct TrackedThreshold {
    /// Position in the configured list; derived containerfs thresholds get ids after it.
    pub id: usize,
    pub threshold: Threshold,
}

/// What the kubelet's eviction manager remembers between syncs (§1).
#[derive(Clone, Debug, Default)]
pub struct ManagerState {
    /// The thresholds in force after the first sync derived the containerfs ones.
    thresholds: Option<Vec<TrackedThreshold>>,
    /// The configured thresholds `thresholds` was derived from (a new configuration re-derives).
    derived_from: Vec<Threshold>,
    topology: Option<FsTopology>,
    first_observed: Vec<(usize, Timestamp)>,
    thresholds_met: Vec<TrackedThreshold>,
    node_conditions: Vec<NodeCondition>,
    conditions_last_observed: [Option<Timestamp>; 3],
    last_observations: Observations,
    notifiers_last_refreshed: Option<Timestamp>,
    notifiers: Vec<Result<NotifierArm, NotifierError>>,
    /// The `KubeletSeparateDiskGC` gate `thresholds` was derived under (a flip re-derives).
    derived_with_separate_disk_gc: bool,
    /// The first sync failed on a split filesystem with `KubeletSeparateDiskGC` off. The kubelet
    /// records the image-fs detection before returning that error, so it never detects again:
    /// it runs on without containerfs thresholds and with no ranking and no node-reclaim
    /// functions, i.e. it reports conditions and enforces storage limits but evicts for no
    /// threshold.
    without_ranking: bool,
}

impl ManagerState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Conditions currently reported on the Node (what admission sees).
    pub fn node_conditions(&self) -> &[NodeCondition] {
        &self.node_conditions
    }

    /// Thresholds that had passed their grace period at the last sync (kept active until
    /// `available >= value + minReclaim`).
    pub fn thresholds_met(&self) -> &[TrackedThreshold] {
        &self.thresholds_met
    }

    /// When a currently-met threshold was first seen met, by threshold id.
    pub fn first_observed(&self, id: usize) -> Option<Timestamp> {
        self.first_observed
            .iter()
            .find(|(i, _)| *i == id)
            .map(|(_, t)| *t)
    }

    /// When a condition was last observed (entries are never removed).
    pub fn condition_last_observed(&self, c: NodeCondition) -> Option<Timestamp> {
        self.conditions_last_observed[condition_slot(c)]
    }

    /// The notifiers as last armed (empty unless kernelMemcgNotification is on).
    pub fn notifiers(&self) -> &[Result<NotifierArm, NotifierError>] {
        &self.notifiers
    }

    /// Thresholds in force (None before the first sync).
    pub fn effective_thresholds(&self) -> Option<&[TrackedThreshold]> {
        self.thresholds.as_deref()
    }

    /// The manager has no ranking functions (its first sync failed on a split filesystem with
    /// `KubeletSeparateDiskGC` off), so it evicts for no threshold.
    pub fn without_ranking(&self) -> bool {
        self.without_ranking
    }
}

fn condition_slot(c: NodeCondition) -> usize {
    match c {
        NodeCondition::MemoryPressure => 0,
        NodeCondition::DiskPressure => 1,
        NodeCondition::PIDPressure => 2,
    }
}

const CONDITIONS: [NodeCondition; 3] = [
    NodeCondition::MemoryPressure,
    NodeCondition::DiskPressure,
    NodeCondition::PIDPressure,
];

/// What one sync works on.
#[derive(Clone, Copy, Debug)]
pub struct SyncInputs<'a> {
    /// `GET /stats/summary` for this sync.
    pub summary: &'a Summary,
    /// Pods the kubelet runs (non-terminal, including static pods).
    pub active_pods: &'a [Pod],
    /// The manager's clock for this sync.
    pub now: Timestamp,
    /// Filesystem layout; read at the first sync only, as the kubelet detects it once.
    pub fs_topology: FsTopology,
    /// The pod cgroup root (`kubepods`) that allocatable notifiers watch.
    pub pod_cgroup_root: &'a str,
}

/// Is the threshold met for this observation? `available < threshold (+ minReclaim)`, strict.
pub fn is_met(t: &Threshold, obs: &Observations, enforce_min_reclaim: bool) -> bool {
    let Some(o) = obs.get(t.signal) else {
        return false;
    };
    let mut q = threshold_quantity(&t.value, &o.capacity).nanos();
    if enforce_min_reclaim && let Some(mr) = &t.min_reclaim {
        q += threshold_quantity(mr, &o.capacity).nanos();
    }
    q > o.available.nanos()
}

/// Upstream `mergeThresholds` equality: signal, grace and value (min-reclaim ignored).
pub fn same_threshold(a: &Threshold, b: &Threshold) -> bool {
    a.signal == b.signal
        && a.grace_period_ns == b.grace_period_ns
        && match (&a.value, &b.value) {
            (ThresholdValue::Quantity(x), ThresholdValue::Quantity(y)) => x == y,
            (ThresholdValue::Percentage(x), ThresholdValue::Percentage(y)) => x == y,
            _ => false,
        }
}

fn nanos_between(earlier: Timestamp, later: Timestamp) -> i128 {
    later.as_nanosecond() - earlier.as_nanosecond()
}

/// Grace satisfied: `now - first_observed >= grace` (hard thresholds always pass).
pub fn grace_satisfied(t: &Threshold, first_observed: Timestamp, now: Timestamp) -> bool {
    nanos_between(first_observed, now) >= i128::from(t.grace_period_ns)
}

/// A condition last observed at `last` is still reported at `now`: `now - last < period`.
pub fn still_reported(last: Timestamp, now: Timestamp, transition_period_ns: i64) -> bool {
    nanos_between(last, now) < i128::from(transition_period_ns)
}

/// Updated-stats filter: act only when the signal's stats advanced since the last sync.
pub fn stats_updated(signal: Signal, obs: &Observations, last: &Observations) -> bool {
    let Some(current) = obs.get(signal) else {
        return false;
    };
    let Some(previous) = last.get(signal) else {
        return true;
    };
    match (current.time, previous.time) {
        (None, _) => true,
        // Any real time is after the Go zero time.
        (Some(_), None) => true,
        (Some(c), Some(p)) => c > p,
    }
}

/// §7 ordering key: memory class first; within it hard before soft, then memory.available
/// before allocatableMemory.available; all others share one key (stable sort keeps their order).
fn eviction_priority(t: &Threshold) -> (u8, u8, u8) {
    if t.signal.is_memory() {
        (
            0,
            u8::from(!t.is_hard()),
            u8::from(t.signal != Signal::MemoryAvailable),
        )
    } else {
        (1, 0, 0)
    }
}

/// Order thresholds for reclaim (§7), stable.
pub fn order_for_reclaim(thresholds: &mut [Threshold]) {
    thresholds.sort_by_key(eviction_priority);
}

/// Disk signals for which the kubelet first runs node-level reclaim (image/container GC).
fn has_node_reclaim(signal: Signal, topology: FsTopology) -> bool {
    match signal {
        Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable | Signal::PidAvailable => false,
        Signal::NodeFsAvailable | Signal::NodeFsInodesFree => {
            !topology.dedicated_image_fs || topology.split_container_fs
        }
        _ => true,
    }
}

/// The grace-period override for a threshold eviction (§10.2, current upstream): 1 s for hard
/// thresholds; for soft ones `evictionMaxPodGracePeriod`, capped by the pod's
/// `terminationGracePeriodSeconds` when set.
pub fn grace_override(threshold: &Threshold, pod: &Pod, max_pod_grace_period_seconds: i64) -> i64 {
    if threshold.is_hard() {
        return HARD_EVICTION_GRACE_SECONDS;
    }
    match pod.termination_grace_period_seconds() {
        Some(tgps) => max_pod_grace_period_seconds.min(tgps),
        None => max_pod_grace_period_seconds,
    }
}

fn describe(t: &Threshold) -> String {
    let value = format_threshold_value(&t.value);
    let kind = if t.is_hard() { "hard" } else { "soft" };
    format!("{kind} {}<{value}", t.signal)
}
