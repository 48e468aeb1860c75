//! What drives the memory signal: the seed question, "why were my pods evicted for memory
//! while `free` shows gigabytes of buff/cache?", answered with the node's numbers.
//!
//! The kubelet's working set is `usage - inactive_file`: the *active* page cache counts as used
//! although the kernel can reclaim it, while `free` counts all page cache as buff/cache. So
//! for the signal the kubelet acts on, this module says how much of the working set is active
//! page cache, what the signal would read without it, and from that which of the two is the
//! cause: the active page cache (without it the threshold would not be met) or anonymous
//! memory (it would still be met). The same split is given for the first pod to go.
//!
//! From the kernel files the split is exact (`memory.stat` `active_file`). A Summary only
//! carries `workingSetBytes` and `rssBytes`, so there it is estimated as their difference,
//! which also counts shmem (and on cgroup v2 kernel memory) as cache: said as an estimate.

use headroom_core::signal::Signal;
use headroom_core::summary::{MemoryStats, SYSTEM_CONTAINER_PODS};

use super::input::{MemorySplit, StatusInput};
use super::report::{CacheShare, CauseView, EvictionOrder, FreeComparison, PodCause, ThresholdRow};
use super::units::percent;

/// The kinds of cause, as in JSON.
pub const ACTIVE_PAGE_CACHE: &str = "activePageCache";
pub const ANONYMOUS_MEMORY: &str = "anonymousMemory";
pub const NONE: &str = "none";
pub const UNKNOWN: &str = "unknown";

fn share(working_set: u64, active_file: u64, estimated: bool) -> CacheShare {
    // Active page cache can exceed a sampled working set by a few pages; never report more
    // cache than working set.
    let active = active_file.min(working_set);
    CacheShare {
        working_set_bytes: working_set,
        active_file_bytes: active,
        other_bytes: working_set - active,
        active_file_percent: percent(i128::from(active), i128::from(working_set)),
        estimated,
    }
}

/// `workingSetBytes - rssBytes` from a Summary's memory stats.
fn estimated_share(m: &MemoryStats) -> Option<CacheShare> {
    let ws = m.working_set_bytes?;
    let rss = m.rss_bytes?;
    Some(share(ws, ws.saturating_sub(rss), true))
}

fn exact_share(working_set: u64, split: &MemorySplit) -> Option<CacheShare> {
    Some(share(working_set, split.active_file?, false))
}

/// The split of the cgroup behind `signal`: the node's root for memory.available, the pods
/// cgroup for allocatableMemory.available.
fn signal_share(signal: Signal, input: &StatusInput) -> Option<CacheShare> {
    let node = &input.summary.node;
    let (stats, split) = match signal {
        Signal::AllocatableMemoryAvailable => (
            node.system_container(SYSTEM_CONTAINER_PODS)?.memory.as_ref()?,
            input
                .host
                .as_ref()
                .map(|h| h.pods_cgroup.as_ref().map(|p| &p.memory)),
        ),
        _ => (node.memory.as_ref()?, input.host.as_ref().map(|h| Some(&h.node))),
    };
    match split {
        // Kernel files read: exact, or unknown (never an estimate next to exact figures).
        Some(split) => exact_share(stats.working_set_bytes?, split?),
        None => estimated_share(stats),
    }
}

fn pod_cause(order: &EvictionOrder) -> Option<PodCause> {
    let c = order.first_to_go()?;
    let memory = match (c.working_set_bytes, c.active_file_bytes) {
        (Some(ws), Some(active)) => Some(share(ws, active, c.active_file_estimated)),
        _ => None,
    };
    Some(PodCause {
        rank: c.rank,
        pod: c.display_name(),
        memory,
    })
}

fn free_comparison(input: &StatusInput) -> Option<FreeComparison> {
    let free = input.host.as_ref()?.free.as_ref()?;
    let m = input.summary.node.memory.as_ref()?;
    let ws = m.working_set_bytes?;
    let available = m.available_bytes?;
    let signed = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    Some(FreeComparison {
        kubelet_used_bytes: ws,
        free_used_bytes: free.used,
        used_difference_bytes: signed(ws).saturating_sub(signed(free.used)),
        kubelet_available_bytes: signed(available),
        free_available_bytes: free.available,
    })
}

/// The cause, given the threshold rows, the met threshold the kubelet acts on and the
/// eviction order.
pub fn cause(
    input: &StatusInput,
    thresholds: &[ThresholdRow],
    acting: Option<usize>,
    order: &EvictionOrder,
) -> CauseView {
    let acting = acting
        .and_then(|i| thresholds.get(i))
        .filter(|t| t.signal.is_memory());
    let signal = acting.map_or(Signal::MemoryAvailable, |t| t.signal);
    let memory = signal_share(signal, input);
    let available = match acting {
        Some(t) => t.available,
        None => thresholds
            .iter()
            .find(|t| t.signal == Signal::MemoryAvailable)
            .and_then(|t| t.available)
            .or_else(|| {
                let m = input.summary.node.memory.as_ref()?;
                i64::try_from(m.available_bytes?).ok()
            }),
    };
    let without = match (available, &memory) {
        (Some(a), Some(m)) => Some(a.saturating_add(i64::try_from(m.active_file_bytes).unwrap_or(i64::MAX))),
        _ => None,
    };
    let threshold = acting.and_then(|t| t.threshold);
    let kind = match (acting, threshold, without) {
        (None, _, _) => NONE,
        // The kubelet compares strictly: available < threshold is met.
        (Some(_), Some(th), Some(w)) if w >= th => ACTIVE_PAGE_CACHE,
        (Some(_), Some(_), Some(_)) => ANONYMOUS_MEMORY,
        _ => UNKNOWN,
    };
    CauseView {
        kind,
        signal: Some(signal),
        threshold_bytes: threshold,
        memory,
        available_bytes: available,
        available_without_active_file_bytes: without,
        first_pod: pod_cause(order),
        free: free_comparison(input),
    }
}
