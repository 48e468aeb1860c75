//! `synchronize`, phase by phase as the kubelet's `managerImpl.synchronize`.

use jiff::Timestamp;

use super::containerfs::{configured, derive_containerfs};
use super::decision::{Decision, Eviction, EvictionCause, MetThreshold, NoEvictionCode};
use super::{
    CONDITIONS, ManagerState, NOTIFIER_REFRESH_INTERVAL_NS, SyncInputs, TrackedThreshold, condition_slot,
    describe, grace_override, grace_satisfied, has_node_reclaim, is_met, nanos_between, order_for_reclaim,
    same_threshold, stats_updated, still_reported,
};
use crate::config::EvictionConfig;
use crate::local_storage::{self, LOCAL_STORAGE_GRACE_SECONDS};
use crate::message::{self, Annotations, ThresholdMet};
use crate::notifier;
use crate::observe::{Observations, PodStatsIndex, observe};
use crate::pod::Pod;
use crate::rank::{self, FsTopology, RankKind};
use crate::signal::NodeCondition;
use crate::threshold::{Threshold, threshold_quantity};

/// One iteration of the eviction manager (§6 steps 1–23), phase by phase as the kubelet's
/// `managerImpl.synchronize` (pkg/kubelet/eviction/eviction_manager.go). Each phase is a
/// function named after the upstream step it follows:
///
/// | phase (here) | upstream |
/// |---|---|
/// | nothing configured | `len(thresholds) == 0 && !localStorageCapacityIsolation` |
/// | `thresholds_for_sync` | first sync: image-fs detection, `UpdateContainerFsThresholds` |
/// | `refresh_notifiers` | `UpdateThreshold` of every notifier, at most every 10 s |
/// | `observe` | `makeSignalObservations` |
/// | `thresholds_met` | `thresholdsMet` (and, with min-reclaim, `mergeThresholds`) |
/// | `thresholds_first_observed_at` | `thresholdsFirstObservedAt` |
/// | `node_conditions` | `nodeConditions`, `nodeConditionsLastObservedAt`, `nodeConditionsObservedSince` |
/// | `thresholds_met_grace_period` | `thresholdsMetGracePeriod`, then the state update |
/// | `thresholds_updated_stats` | `thresholdsUpdatedStats` |
/// | `local_storage_evictions` | `localStorageEviction` |
/// | `reclaim` | `byEvictionPriority`, `getReclaimableThreshold`, `reclaimNodeLevelResources`, the rank function, the eviction loop |
pub fn synchronize(state: &mut ManagerState, config: &EvictionConfig, inputs: SyncInputs<'_>) -> Decision {
    let mut d = Decision::empty(inputs.now);
    // 1. Nothing configured.
    if config.thresholds.is_empty() && !config.local_storage_capacity_isolation {
        d.no_eviction(
            NoEvictionCode::NoThresholds,
            "no eviction thresholds are configured",
        );
        return d;
    }
    // 2. First sync: filesystem topology and containerfs thresholds.
    let in_use = match thresholds_for_sync(state, config, inputs.fs_topology) {
        Ok(in_use) => in_use,
        Err(error) => {
            d.error = Some(error.into());
            d.no_eviction(NoEvictionCode::SyncFailed, error);
            d.conditions = state.node_conditions().to_vec();
            return d;
        }
    };
    // The thresholds in force are lent out of the state for the rest of the sync, so the phases
    // can update the other fields while reading them; they go back unchanged (moving the Vec
    // allocates nothing).
    let thresholds = state.thresholds.take().unwrap_or_default();
    observe_and_act(state, config, &inputs, &thresholds, in_use, &mut d);
    state.thresholds = Some(thresholds);
    d
}

/// The error of a first sync on a split filesystem with `KubeletSeparateDiskGC` off.
const SPLIT_FS_WITHOUT_GATE: &str =
    "KubeletSeparateDiskGC is turned off but we still have a split filesystem";

/// Which of the thresholds in force this sync works on, and on which filesystem layout.
#[derive(Clone, Copy)]
struct InUse {
    topology: FsTopology,
    /// Only thresholds with `id < limit` take part: on a first sync the containerfs copies
    /// appended after the configured ones apply from the next sync.
    limit: usize,
}

/// 2. The thresholds in force: on the first sync (or after a caller reloaded its configuration)
///    detect the filesystem topology and derive the containerfs thresholds.
///
/// That first sync runs on the configured list with user containerfs entries overwritten: the
/// appended copies apply from the next one, because upstream's sync already holds its copy of
/// the configured list when it derives them (a user entry overwritten in place shares the Go
/// array; the appended ones do not). A reloaded configuration is derived the same way; the
/// kubelet itself never changes its thresholds without a restart.
fn thresholds_for_sync(
    state: &mut ManagerState,
    config: &EvictionConfig,
    detected_now: FsTopology,
) -> Result<InUse, &'static str> {
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
    let detected = state.topology.unwrap_or(detected_now);
    if first_sync && detected.split_container_fs && !config.kubelet_separate_disk_gc {
        // Upstream has already recorded the image-fs detection when it returns this error, so
        // only this sync fails: the next ones skip detection and run on the configured
        // thresholds (no containerfs copies) with no ranking or node-reclaim functions.
        state.topology = Some(detected);
        state.thresholds = Some(configured(&config.thresholds));
        state.derived_from.clone_from(&config.thresholds);
        state.derived_with_separate_disk_gc = config.kubelet_separate_disk_gc;
        state.without_ranking = true;
        return Err(SPLIT_FS_WITHOUT_GATE);
    }
    if first_sync {
        state.without_ranking = false;
    }
    let topology = *state.topology.get_or_insert(detected);
    if !first_sync {
        return Ok(InUse {
            topology,
            limit: usize::MAX,
        });
    }
    state.thresholds = Some(derive_containerfs(&config.thresholds, topology));
    state.derived_from.clone_from(&config.thresholds);
    state.derived_with_separate_disk_gc = config.kubelet_separate_disk_gc;
    Ok(InUse {
        topology,
        limit: config.thresholds.len(),
    })
}

/// Steps 4–23 on the thresholds in force.
fn observe_and_act(
    state: &mut ManagerState,
    config: &EvictionConfig,
    inputs: &SyncInputs<'_>,
    thresholds: &[TrackedThreshold],
    in_use: InUse,
    d: &mut Decision,
) {
    let now = inputs.now;
    refresh_notifiers(state, config, inputs, d);

    // 5. Observations.
    let obs = observe(inputs.summary);
    d.observations = obs;
    // 6–7. Met now, plus fired thresholds not yet recovered by value + minReclaim.
    let previous_met = std::mem::take(&mut state.thresholds_met);
    let in_use_now = thresholds.iter().filter(|t| t.id < in_use.limit);
    let met = thresholds_met(in_use_now, &previous_met, &obs);
    // 8.
    let first_observed = thresholds_first_observed_at(state, &met, now, d);
    // 9–10.
    let reported = node_conditions(
        state,
        config.pressure_transition_period_ns,
        &d.thresholds_met,
        now,
    );
    // 11–12. Grace filter; then the manager's state is updated (under upstream's lock).
    let next_met = thresholds_met_grace_period(&met, &first_observed, now);
    state.node_conditions.clone_from(&reported);
    d.conditions = reported;
    state.first_observed = first_observed;
    // 13.
    let actionable = thresholds_updated_stats(&next_met, &obs, &state.last_observations);
    state.thresholds_met = next_met;
    state.last_observations = obs;

    // 14. Local-storage limits first; several pods may go at once.
    let mut stats_index: Option<PodStatsIndex<'_>> = None;
    let storage = local_storage_evictions(config, inputs, in_use.topology, &mut stats_index);
    if !storage.is_empty() {
        d.evictions = storage;
        return;
    }
    // 15. Nothing to act on.
    if actionable.is_empty() {
        let (code, why) = why_not_actionable(d, now);
        d.no_eviction(code, why);
        return;
    }
    reclaim(
        state,
        config,
        inputs,
        thresholds,
        in_use.topology,
        actionable,
        stats_index,
        d,
    );
}

/// 4. Re-arm the memcg notifiers at most every 10 s (only with kernelMemcgNotification).
fn refresh_notifiers(
    state: &mut ManagerState,
    config: &EvictionConfig,
    inputs: &SyncInputs<'_>,
    d: &mut Decision,
) {
    if !config.kernel_memcg_notification {
        return;
    }
    let due = state
        .notifiers_last_refreshed
        .is_none_or(|t| nanos_between(t, inputs.now) > NOTIFIER_REFRESH_INTERVAL_NS);
    if due {
        state.notifiers_last_refreshed = Some(inputs.now);
        state.notifiers = notifier::arm_all(&config.thresholds, inputs.summary, inputs.pod_cgroup_root);
        d.notifiers_refreshed = true;
        // Copied into the decision only when re-armed: the hot path stays allocation-free.
        d.notifiers = state.notifiers.clone();
    }
}

/// 6–7. Thresholds met now (without min-reclaim), then the previously met ones still short of
///      `value + minReclaim` that no threshold met now equals (`mergeThresholds`). The flag says
///      "held by min-reclaim".
fn thresholds_met<'a>(
    in_use: impl Iterator<Item = &'a TrackedThreshold>,
    previous_met: &'a [TrackedThreshold],
    obs: &Observations,
) -> Vec<(&'a TrackedThreshold, bool)> {
    let mut met: Vec<(&TrackedThreshold, bool)> = in_use
        .filter(|t| is_met(&t.threshold, obs, false))
        .map(|t| (t, false))
        .collect();
    for t in previous_met {
        if is_met(&t.threshold, obs, true)
            && !met
                .iter()
                .any(|(m, _)| same_threshold(&m.threshold, &t.threshold))
        {
            met.push((t, true));
        }
    }
    met
}

/// 8. First-observed times: kept for thresholds still met, `now` for new ones, others
///    forgotten. Records each met threshold in the decision.
fn thresholds_first_observed_at(
    state: &ManagerState,
    met: &[(&TrackedThreshold, bool)],
    now: Timestamp,
    d: &mut Decision,
) -> Vec<(usize, Timestamp)> {
    let mut first_observed = Vec::with_capacity(met.len());
    for (t, held) in met {
        let since = state.first_observed(t.id).unwrap_or(now);
        first_observed.push((t.id, since));
        d.thresholds_met.push(MetThreshold {
            id: t.id,
            threshold: t.threshold.clone(),
            first_observed: since,
            grace_satisfied: grace_satisfied(&t.threshold, since, now),
            held_by_min_reclaim: *held,
        });
    }
    first_observed
}

/// 9–10. Conditions come from every met threshold, before grace: a soft threshold sets
///       MemoryPressure as soon as it is crossed. They stay reported for the transition period.
fn node_conditions(
    state: &mut ManagerState,
    transition_period_ns: i64,
    met: &[MetThreshold],
    now: Timestamp,
) -> Vec<NodeCondition> {
    for m in met {
        state.conditions_last_observed[condition_slot(m.threshold.signal.condition())] = Some(now);
    }
    CONDITIONS
        .into_iter()
        .filter(|c| {
            state.conditions_last_observed[condition_slot(*c)]
                .is_some_and(|t| still_reported(t, now, transition_period_ns))
        })
        .collect()
}

/// 11. The met thresholds whose grace period has passed.
fn thresholds_met_grace_period(
    met: &[(&TrackedThreshold, bool)],
    first_observed: &[(usize, Timestamp)],
    now: Timestamp,
) -> Vec<TrackedThreshold> {
    let mut next_met = Vec::with_capacity(met.len());
    for (t, _) in met {
        let since = first_observed
            .iter()
            .find(|(id, _)| *id == t.id)
            .map_or(now, |(_, s)| *s);
        if grace_satisfied(&t.threshold, since, now) {
            next_met.push((*t).clone());
        }
    }
    next_met
}

/// 13. Act only on thresholds whose stats advanced since the last sync.
fn thresholds_updated_stats(
    met: &[TrackedThreshold],
    obs: &Observations,
    last: &Observations,
) -> Vec<Threshold> {
    met.iter()
        .filter(|t| stats_updated(t.threshold.signal, obs, last))
        .map(|t| t.threshold.clone())
        .collect()
}

/// 14. Pods over their own ephemeral-storage limits (empty when none or when isolation is off).
fn local_storage_evictions<'s>(
    config: &EvictionConfig,
    inputs: &SyncInputs<'s>,
    topology: FsTopology,
    stats_index: &mut Option<PodStatsIndex<'s>>,
) -> Vec<Eviction> {
    let pods = inputs.active_pods;
    // Most nodes have no pod with a storage limit: index the stats only when one does.
    if !config.local_storage_capacity_isolation || !pods.iter().any(local_storage::has_storage_limits) {
        return Vec::new();
    }
    let stats = stats_index.get_or_insert_with(|| PodStatsIndex::new(inputs.summary));
    local_storage::evictions(pods, stats, topology.dedicated_image_fs)
        .into_iter()
        .map(|e| Eviction {
            index: e.index,
            cause: EvictionCause::LocalStorage(e.limit),
            grace_period_seconds: LOCAL_STORAGE_GRACE_SECONDS,
            message: e.message,
            annotations: Annotations::new(),
        })
        .collect()
}

/// 16–23. Reclaim the first resource in eviction-priority order: node-level reclaim first
/// where the kubelet has it, else rank the active pods and evict the first non-critical one.
#[allow(clippy::too_many_arguments)]
fn reclaim<'s>(
    state: &ManagerState,
    config: &EvictionConfig,
    inputs: &SyncInputs<'s>,
    thresholds: &[TrackedThreshold],
    topology: FsTopology,
    mut actionable: Vec<Threshold>,
    mut stats_index: Option<PodStatsIndex<'s>>,
    d: &mut Decision,
) {
    // 16. Which resource to reclaim first.
    order_for_reclaim(&mut actionable);
    let Some(reclaiming) = actionable.first().cloned() else {
        return;
    };
    d.actionable = actionable;
    d.reclaiming = Some(reclaiming.clone());

    // 17. After a failed first sync the kubelet has no ranking (nor node-reclaim) function for
    //     any signal: it logs and evicts nothing.
    if state.without_ranking {
        d.no_eviction(
            NoEvictionCode::NoRankingFunction,
            format!(
                "{} is met but the kubelet has no ranking function: its first sync failed \
                 (KubeletSeparateDiskGC is off on a split filesystem), so it evicts for no threshold \
                 until restarted with the gate on",
                describe(&reclaiming)
            ),
        );
        return;
    }

    // 18. Node-level reclaim: assumed to free nothing, so re-check against the same stats.
    //     Upstream re-checks its configured list, which already holds the containerfs copies.
    if has_node_reclaim(reclaiming.signal, topology) {
        d.node_reclaim_assumed_nothing = true;
        if !thresholds
            .iter()
            .any(|t| is_met(&t.threshold, &d.observations, true))
        {
            d.no_eviction(
                NoEvictionCode::NodeReclaimSufficient,
                "node-level reclaim would be enough: no threshold is met once minimum reclaim is added",
            );
            return;
        }
    }

    // 19–21. Rank the active pods.
    let pods = inputs.active_pods;
    if pods.is_empty() {
        d.no_eviction(
            NoEvictionCode::NoActivePods,
            format!("{} is met but no pods are active", describe(&reclaiming)),
        );
        return;
    }
    let kind = RankKind::for_signal(reclaiming.signal, topology);
    let stats = stats_index.get_or_insert_with(|| PodStatsIndex::new(inputs.summary));
    d.rank_kind = Some(kind);
    d.ranking = rank::rank(kind, pods, stats);
    evict_first_non_critical(config, pods, stats, &reclaiming, d);
}

/// 22–23. The eviction loop: critical pods are passed over, the first other pod is evicted.
fn evict_first_non_critical(
    config: &EvictionConfig,
    pods: &[Pod],
    stats: &PodStatsIndex<'_>,
    reclaiming: &Threshold,
    d: &mut Decision,
) {
    let resource = reclaiming.signal.resource();
    let threshold_met = d
        .actionable
        .iter()
        .filter(|t| t.signal.resource() == resource)
        .find_map(|t| {
            d.observations.get(t.signal).map(|o| ThresholdMet {
                quantity: threshold_quantity(&t.value, &o.capacity),
                available: o.available,
            })
        });
    for r in &d.ranking {
        let Some(pod) = pods.get(r.index) else {
            continue;
        };
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
            grace_period_seconds: grace_override(reclaiming, pod, config.max_pod_grace_period_seconds),
            message,
            annotations,
        });
        return;
    }
    d.no_eviction(
        NoEvictionCode::AllPodsCritical,
        "every ranked pod is critical (static, mirror or system priority)",
    );
}

/// 15. Why no threshold is actionable: none met, stats that did not advance, or grace pending.
fn why_not_actionable(d: &Decision, now: Timestamp) -> (NoEvictionCode, String) {
    if d.thresholds_met.is_empty() {
        return (NoEvictionCode::NoThresholdMet, "no threshold is met".into());
    }
    let stale: Vec<String> = d
        .thresholds_met
        .iter()
        .filter(|m| m.grace_satisfied)
        .map(|m| describe(&m.threshold))
        .collect();
    if !stale.is_empty() {
        return (
            NoEvictionCode::StatsNotUpdated,
            format!(
                "stats for {} did not advance since the last sync, so the kubelet does not act on them",
                stale.join(", ")
            ),
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
    (NoEvictionCode::GracePeriodPending, pending.join("; "))
}
