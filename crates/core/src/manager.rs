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

use std::cmp::Ordering;

use jiff::Timestamp;

use crate::config::EvictionConfig;
use crate::local_storage::{self, LOCAL_STORAGE_GRACE_SECONDS, StorageLimit};
use crate::message::{self, Annotations, ThresholdMet};
use crate::notifier::{self, NotifierArm, NotifierError};
use crate::observe::{Observations, PodStatsIndex, observe};
use crate::pod::Pod;
use crate::rank::{self, FsTopology, RankKind, RankedPod};
use crate::signal::{NodeCondition, Resource, Signal};
use crate::summary::Summary;
use crate::threshold::{Threshold, ThresholdValue, format_threshold_value, threshold_quantity};

/// Grace period the kubelet passes for hard-threshold evictions (since ≈v1.31).
pub const HARD_EVICTION_GRACE_SECONDS: i64 = 1;
/// The memcg notifiers are re-armed at most this often (ns).
pub const NOTIFIER_REFRESH_INTERVAL_NS: i128 = 10_000_000_000;
/// The kubelet's eviction loop period (ns); the simulator and agent use it between syncs.
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

/// A threshold met at this sync, with its bookkeeping.
#[derive(Clone, Debug, PartialEq)]
pub struct MetThreshold {
    pub id: usize,
    pub threshold: Threshold,
    pub first_observed: Timestamp,
    /// `now - first_observed >= grace period`.
    pub grace_satisfied: bool,
    /// Still met only because a fired threshold must recover `value + minReclaim`.
    pub held_by_min_reclaim: bool,
}

/// Why a pod is being evicted.
#[derive(Clone, Debug, PartialEq)]
pub enum EvictionCause {
    /// A node-pressure threshold.
    Threshold { signal: Signal, resource: Resource },
    /// The pod outgrew one of its own ephemeral-storage limits.
    LocalStorage(StorageLimit),
}

/// One pod the manager evicts.
#[derive(Clone, Debug, PartialEq)]
pub struct Eviction {
    /// Index into `SyncInputs::active_pods`.
    pub index: usize,
    pub cause: EvictionCause,
    /// The grace-period override passed to the pod killer.
    pub grace_period_seconds: i64,
    pub message: String,
    pub annotations: Annotations,
}

/// Everything one sync decided, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub time: Timestamp,
    pub observations: Observations,
    /// Thresholds met this sync (before the grace filter), configuration order.
    pub thresholds_met: Vec<MetThreshold>,
    /// Conditions reported after this sync.
    pub conditions: Vec<NodeCondition>,
    /// Thresholds acted upon: grace passed and stats updated, in eviction-priority order.
    pub actionable: Vec<Threshold>,
    /// The threshold whose resource is being reclaimed.
    pub reclaiming: Option<Threshold>,
    /// The kubelet would run node-level disk reclaim (image/container GC) first; the simulator
    /// assumes it freed nothing.
    pub node_reclaim_assumed_nothing: bool,
    pub rank_kind: Option<RankKind>,
    /// Active pods in eviction order (only when a threshold eviction was attempted).
    pub ranking: Vec<RankedPod>,
    /// Critical pods passed over (indices into the active pods).
    pub skipped_critical: Vec<usize>,
    /// At most one for thresholds; possibly several for local-storage limits.
    pub evictions: Vec<Eviction>,
    /// Why nothing was evicted (None when something was).
    pub no_eviction_reason: Option<String>,
    /// The sync failed before observing anything (the kubelet logs it and retries at the next
    /// sync): conditions are left as they were and nothing is evicted.
    pub error: Option<String>,
    /// The notifiers were re-armed at this sync.
    pub notifiers_refreshed: bool,
    /// The notifiers as re-armed at this sync (empty when not refreshed; the current arming is
    /// always in [`ManagerState::notifiers`]).
    pub notifiers: Vec<Result<NotifierArm, NotifierError>>,
}

impl Decision {
    fn empty(now: Timestamp) -> Self {
        Decision {
            time: now,
            observations: Observations::default(),
            thresholds_met: Vec::new(),
            conditions: Vec::new(),
            actionable: Vec::new(),
            reclaiming: None,
            node_reclaim_assumed_nothing: false,
            rank_kind: None,
            ranking: Vec::new(),
            skipped_critical: Vec::new(),
            evictions: Vec::new(),
            no_eviction_reason: None,
            error: None,
            notifiers_refreshed: false,
            notifiers: Vec::new(),
        }
    }
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

/// Derive containerfs thresholds for the detected topology (§4.7, upstream
/// `UpdateContainerFsThresholds`): copy nodefs.* (single fs, or split image/container fs) or
/// imagefs.* (dedicated image fs), hard and soft, bytes and inodes. A user's own containerfs
/// threshold is overwritten in place (same id); otherwise the copy is appended with an id after
/// the configured ones. A missing source yields no threshold (upstream writes an inert
/// placeholder with no operator, which can never be met).
///
/// A container fs apart from an image fs that is the root fs matches neither of upstream's
/// cases: the list is kept exactly as configured, user containerfs thresholds included.
pub fn derive_containerfs(config: &[Threshold], topology: FsTopology) -> Vec<TrackedThreshold> {
    let mut out: Vec<Option<TrackedThreshold>> = config
        .iter()
        .enumerate()
        .map(|(id, t)| {
            Some(TrackedThreshold {
                id,
                threshold: t.clone(),
            })
        })
        .collect();
    if topology.split_container_fs && !topology.dedicated_image_fs {
        return out.into_iter().flatten().collect();
    }
    let from_imagefs = topology.dedicated_image_fs && !topology.split_container_fs;
    let (bytes_src, inodes_src) = if from_imagefs {
        (Signal::ImageFsAvailable, Signal::ImageFsInodesFree)
    } else {
        (Signal::NodeFsAvailable, Signal::NodeFsInodesFree)
    };
    let wanted = [
        (bytes_src, Signal::ContainerFsAvailable, true),
        (bytes_src, Signal::ContainerFsAvailable, false),
        (inodes_src, Signal::ContainerFsInodesFree, true),
        (inodes_src, Signal::ContainerFsInodesFree, false),
    ];
    // Upstream remembers the last matching entry of each kind (a later one overwrites).
    let last = |signal: Signal, hard: bool| {
        config
            .iter()
            .rposition(|t| t.signal == signal && t.is_hard() == hard)
    };
    for (k, (src, dst, hard)) in wanted.into_iter().enumerate() {
        let derived = last(src, hard).map(|i| Threshold {
            signal: dst,
            ..config[i].clone()
        });
        match (last(dst, hard), derived) {
            (Some(user), derived) => {
                out[user] = derived.map(|threshold| TrackedThreshold { id: user, threshold });
            }
            (None, Some(threshold)) => out.push(Some(TrackedThreshold {
                id: config.len() + k,
                threshold,
            })),
            (None, None) => {}
        }
    }
    out.into_iter().flatten().collect()
}

/// The configured thresholds, tracked by their position.
fn configured(thresholds: &[Threshold]) -> Vec<TrackedThreshold> {
    thresholds
        .iter()
        .enumerate()
        .map(|(id, t)| TrackedThreshold {
            id,
            threshold: t.clone(),
        })
        .collect()
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

/// One iteration of the eviction manager (§6 steps 1–23).
pub fn synchronize(state: &mut ManagerState, config: &EvictionConfig, inputs: SyncInputs<'_>) -> Decision {
    let now = inputs.now;
    let mut d = Decision::empty(now);
    // 1. Nothing configured.
    if config.thresholds.is_empty() && !config.local_storage_capacity_isolation {
        d.no_eviction_reason = Some("no eviction thresholds are configured".into());
        return d;
    }
    // 2. First sync: detect the filesystem topology and derive the containerfs thresholds.
    //    This sync runs on the configured list with user containerfs entries overwritten;
    //    the appended copies apply from the next one.
    // A caller that reloads its configuration gets the new thresholds (derived the same way);
    // the kubelet itself never changes them without a restart.
    let reconfigured = state.thresholds.is_some()
        && (state.derived_from != config.thresholds
            || state.derived_with_separate_disk_gc != config.kubelet_separate_disk_gc);
    if reconfigured {
        // Threshold ids refer to the old list: start their bookkeeping afresh, as a restarted
        // kubelet would (conditions and last observations are kept).
        state.first_observed.clear();
        state.thresholds_met.clear();
    }
    let first_sync = state.thresholds.is_none() || reconfigured;
    let detected = state.topology.unwrap_or(inputs.fs_topology);
    if first_sync && detected.split_container_fs && !config.kubelet_separate_disk_gc {
        // Upstream has already recorded the image-fs detection when it returns this error, so
        // only this sync fails: the next ones skip detection and run on the configured
        // thresholds (no containerfs copies) with no ranking or node-reclaim functions.
        state.topology = Some(detected);
        state.thresholds = Some(configured(&config.thresholds));
        state.derived_from.clone_from(&config.thresholds);
        state.derived_with_separate_disk_gc = config.kubelet_separate_disk_gc;
        state.without_ranking = true;
        d.error = Some("KubeletSeparateDiskGC is turned off but we still have a split filesystem".into());
        d.no_eviction_reason = d.error.clone();
        d.conditions = state.node_conditions().to_vec();
        return d;
    }
    if first_sync {
        state.without_ranking = false;
    }
    let topology = *state.topology.get_or_insert(detected);
    let pre_update: Vec<TrackedThreshold>;
    let thresholds: &[TrackedThreshold] = if first_sync {
        let derived = derive_containerfs(&config.thresholds, topology);
        // Upstream's sync already holds its copy of the configured list when it derives the
        // containerfs thresholds: the copies appended at the end are not in it yet, but a
        // user's containerfs entry overwritten in place is (the two share one Go array).
        pre_update = derived
            .iter()
            .filter(|t| t.id < config.thresholds.len())
            .cloned()
            .collect();
        state.thresholds = Some(derived);
        state.derived_from.clone_from(&config.thresholds);
        state.derived_with_separate_disk_gc = config.kubelet_separate_disk_gc;
        &pre_update
    } else {
        state.thresholds.as_deref().unwrap_or_default()
    };
    // Field-by-field borrows from here on: `thresholds` borrows `state.thresholds`.
    let summary = inputs.summary;

    // 4. Re-arm memcg notifiers at most every 10 s.
    if config.kernel_memcg_notification {
        let due = state
            .notifiers_last_refreshed
            .is_none_or(|t| nanos_between(t, now) > NOTIFIER_REFRESH_INTERVAL_NS);
        if due {
            state.notifiers_last_refreshed = Some(now);
            state.notifiers = notifier::arm_all(&config.thresholds, summary, inputs.pod_cgroup_root);
            d.notifiers_refreshed = true;
            // Copied into the decision only when re-armed: the hot path stays allocation-free.
            d.notifiers = state.notifiers.clone();
        }
    }

    // 5–7. Observations; thresholds met now, plus fired thresholds not yet recovered by
    //      value + minReclaim.
    let obs = observe(summary);
    d.observations = obs;
    let mut met: Vec<(&TrackedThreshold, bool)> = thresholds
        .iter()
        .filter(|t| is_met(&t.threshold, &obs, false))
        .map(|t| (t, false))
        .collect();
    let previous_met = std::mem::take(&mut state.thresholds_met);
    for t in &previous_met {
        if is_met(&t.threshold, &obs, true)
            && !met
                .iter()
                .any(|(m, _)| same_threshold(&m.threshold, &t.threshold))
        {
            met.push((t, true));
        }
    }

    // 8. First-observed times: kept for thresholds still met, `now` for new ones, others forgotten.
    let mut first_observed = Vec::with_capacity(met.len());
    for (t, held) in &met {
        let since = state
            .first_observed
            .iter()
            .find(|(id, _)| *id == t.id)
            .map_or(now, |(_, s)| *s);
        first_observed.push((t.id, since));
        d.thresholds_met.push(MetThreshold {
            id: t.id,
            threshold: t.threshold.clone(),
            first_observed: since,
            grace_satisfied: grace_satisfied(&t.threshold, since, now),
            held_by_min_reclaim: *held,
        });
    }

    // 9–10. Conditions come from every met threshold, before grace: a soft threshold sets
    //       MemoryPressure as soon as it is crossed. They stay reported for the transition period.
    for m in &d.thresholds_met {
        state.conditions_last_observed[condition_slot(m.threshold.signal.condition())] = Some(now);
    }
    let reported: Vec<NodeCondition> = CONDITIONS
        .into_iter()
        .filter(|c| {
            state.conditions_last_observed[condition_slot(*c)]
                .is_some_and(|t| still_reported(t, now, config.pressure_transition_period_ns))
        })
        .collect();

    // 11–12. Grace filter; commit state.
    let mut next_met = Vec::with_capacity(met.len());
    for (t, _) in met.iter() {
        let since = first_observed
            .iter()
            .find(|(id, _)| *id == t.id)
            .map_or(now, |(_, s)| *s);
        if grace_satisfied(&t.threshold, since, now) {
            next_met.push((*t).clone());
        }
    }
    state.node_conditions.clone_from(&reported);
    d.conditions = reported;
    state.first_observed = first_observed;
    // 13. Act only on thresholds whose stats advanced since the last sync.
    let mut actionable: Vec<Threshold> = next_met
        .iter()
        .filter(|t| stats_updated(t.threshold.signal, &obs, &state.last_observations))
        .map(|t| t.threshold.clone())
        .collect();
    state.thresholds_met = next_met;
    state.last_observations = obs;

    let pods = inputs.active_pods;
    let mut stats_index: Option<PodStatsIndex<'_>> = None;

    // 14. Local-storage limits first; several pods may go at once.
    // Most nodes have no pod with a storage limit: index the stats only when one does.
    if config.local_storage_capacity_isolation && pods.iter().any(local_storage::has_storage_limits) {
        let stats = stats_index.get_or_insert_with(|| PodStatsIndex::new(summary));
        let storage = local_storage::evictions(pods, stats, topology.dedicated_image_fs);
        if !storage.is_empty() {
            d.evictions = storage
                .into_iter()
                .map(|e| Eviction {
                    index: e.index,
                    cause: EvictionCause::LocalStorage(e.limit),
                    grace_period_seconds: LOCAL_STORAGE_GRACE_SECONDS,
                    message: e.message,
                    annotations: Annotations::new(),
                })
                .collect();
            return d;
        }
    }

    // 15. Nothing to act on.
    if actionable.is_empty() {
        d.no_eviction_reason = Some(why_not_actionable(&d, now));
        return d;
    }

    // 16. Which resource to reclaim first.
    order_for_reclaim(&mut actionable);
    let reclaiming = actionable[0].clone();
    let resource = reclaiming.signal.resource();
    d.actionable = actionable;
    d.reclaiming = Some(reclaiming.clone());

    // 17. After a failed first sync the kubelet has no ranking (nor node-reclaim) function for
    //     any signal: it logs and evicts nothing.
    if state.without_ranking {
        d.no_eviction_reason = Some(format!(
            "{} is met but the kubelet has no ranking function: its first sync failed \
             (KubeletSeparateDiskGC is off on a split filesystem), so it evicts for no threshold \
             until restarted with the gate on",
            describe(&reclaiming)
        ));
        return d;
    }

    // 18. Node-level reclaim: assumed to free nothing, so re-check against the same stats.
    if has_node_reclaim(reclaiming.signal, topology) {
        d.node_reclaim_assumed_nothing = true;
        // Upstream re-checks its configured list, which already holds the containerfs copies.
        let in_force = state.thresholds.as_deref().unwrap_or(thresholds);
        if !in_force.iter().any(|t| is_met(&t.threshold, &obs, true)) {
            d.no_eviction_reason = Some(
                "node-level reclaim would be enough: no threshold is met once minimum reclaim is added"
                    .into(),
            );
            return d;
        }
    }

    // 19–21. Rank the active pods.
    if pods.is_empty() {
        d.no_eviction_reason = Some(format!("{} is met but no pods are active", describe(&reclaiming)));
        return d;
    }
    let kind = RankKind::for_signal(reclaiming.signal, topology);
    let stats = stats_index.get_or_insert_with(|| PodStatsIndex::new(summary));
    d.rank_kind = Some(kind);
    d.ranking = rank::rank(kind, pods, stats);

    // 22. Evict the first non-critical pod.
    let threshold_met = d
        .actionable
        .iter()
        .filter(|t| t.signal.resource() == resource)
        .find_map(|t| {
            obs.get(t.signal).map(|o| ThresholdMet {
                quantity: threshold_quantity(&t.value, &o.capacity),
                available: o.available,
            })
        });
    for r in &d.ranking {
        let pod = &pods[r.index];
        if pod.is_critical() {
            d.skipped_critical.push(r.index);
            continue;
        }
        let (message, annotations) =
            message::eviction_message(resource, pod, stats.get(&pod.metadata.uid), threshold_met);
        d.evictions.push(Eviction {
            index: r.index,
            cause: EvictionCause::Threshold {
                signal: reclaiming.signal,
                resource,
            },
            grace_period_seconds: grace_override(&reclaiming, pod, config.max_pod_grace_period_seconds),
            message,
            annotations,
        });
        return d;
    }
    // 23.
    d.no_eviction_reason = Some("every ranked pod is critical (static, mirror or system priority)".into());
    d
}

fn why_not_actionable(d: &Decision, now: Timestamp) -> String {
    if d.thresholds_met.is_empty() {
        return "no threshold is met".into();
    }
    let stale: Vec<String> = d
        .thresholds_met
        .iter()
        .filter(|m| m.grace_satisfied)
        .map(|m| describe(&m.threshold))
        .collect();
    if !stale.is_empty() {
        return format!(
            "stats for {} did not advance since the last sync, so the kubelet does not act on them",
            stale.join(", ")
        );
    }
    let pending: Vec<String> = d
        .thresholds_met
        .iter()
        .map(|m| {
            let waited = nanos_between(m.first_observed, now) / 1_000_000_000;
            format!(
                "{} met for {waited}s of its {}s grace period",
                describe(&m.threshold),
                m.threshold.grace_period_ns / 1_000_000_000
            )
        })
        .collect();
    pending.join("; ")
}

/// Compare two ranked pods' order (exposed for property tests and explanations).
pub fn ranking_order(kind: RankKind, a: &RankedPod, b: &RankedPod) -> Ordering {
    rank::compare(kind, &a.facts, &b.facts).0
}
