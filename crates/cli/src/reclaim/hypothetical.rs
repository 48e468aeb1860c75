//! The kernel's part in a replayed reclaim: what writing `bytes` to the pods cgroup's
//! `memory.reclaim` would have done to the figures. It did not happen (the data was recorded
//! without it), so this is a model, and a cautious one:
//!
//! * the kernel drops clean file pages only (dirty and writeback pages wait for the disk);
//! * it drops the inactive list first: the working set (`usage - inactive_file`) falls only by
//!   what the reclaim takes beyond the clean inactive pages, at most the clean active pages;
//! * the drop is shared among the pods in proportion to each pod's cache in its working set
//!   (the kernel reclaims the children of the pods cgroup in proportion to their lists), and
//!   among a pod's containers the same way;
//! * the node's figures fall by as much as the pods cgroup's (it is inside the node);
//! * the node and pods cgroup figures are re-read 1 ms later (their `time` moves on, so the
//!   manager's next sync counts them as fresh stats, as the agent's re-read after a reclaim).

use headroom_core::reclaim::{CacheFigures, estimate};
use headroom_core::summary::{MemoryStats, SYSTEM_CONTAINER_PODS, Summary};

use super::figures;

/// What a reclaim would have dropped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Effect {
    /// Bytes asked (written to `memory.reclaim`).
    pub asked: u64,
    /// Bytes of clean file cache dropped: usage falls by this much.
    pub dropped: u64,
    /// Of those, working-set bytes (clean active file pages): `available` rises by this much.
    pub working_set: u64,
}

/// The effect of asking for `bytes` on a cgroup with figures `f` (rules in the module docs).
pub fn effect(bytes: u64, f: &CacheFigures) -> Effect {
    let r = estimate(f);
    let dropped = bytes.min(r.clean_file_bytes);
    let clean_inactive = r.clean_file_bytes.saturating_sub(r.working_set_bytes);
    Effect {
        asked: bytes,
        dropped,
        working_set: dropped.saturating_sub(clean_inactive).min(r.working_set_bytes),
    }
}

/// `summary` as it would read after `e`. `pod_caches[i]` is pod `i`'s cache in its working set
/// (the share it gives up); `None` takes it from the Summary (`workingSetBytes - rssBytes`).
pub fn apply(summary: &Summary, e: &Effect, pod_caches: Option<&[u64]>) -> Summary {
    let mut s = summary.clone();
    if e.working_set == 0 && e.dropped == 0 {
        return s;
    }
    if let Some(m) = s.node.memory.as_mut() {
        lower(m, e.working_set, e.dropped);
    }
    if let Some(c) = s.node.system_containers.as_mut().and_then(|cs| {
        cs.iter_mut()
            .find(|c| c.name == SYSTEM_CONTAINER_PODS)
            .and_then(|c| c.memory.as_mut())
    }) {
        lower(c, e.working_set, e.dropped);
    }
    let caches: Vec<u64> = match pod_caches {
        Some(c) => c.to_vec(),
        None => s
            .pods
            .iter()
            .map(|p| figures::pod_cache(p.memory.as_ref()))
            .collect(),
    };
    let shares = share(e.working_set, &caches);
    for (pod, take) in s.pods.iter_mut().zip(shares) {
        if take == 0 {
            continue;
        }
        if let Some(m) = pod.memory.as_mut() {
            lower(m, take, take);
        }
        let container_caches: Vec<u64> = pod
            .containers
            .iter()
            .map(|c| figures::pod_cache(c.memory.as_ref()))
            .collect();
        for (c, t) in pod.containers.iter_mut().zip(share(take, &container_caches)) {
            if let Some(m) = c.memory.as_mut() {
                lower(m, t, t);
            }
        }
    }
    s
}

/// `total` shared in proportion to `weights`, each share at most its weight.
fn share(total: u64, weights: &[u64]) -> Vec<u64> {
    let sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if sum == 0 {
        return vec![0; weights.len()];
    }
    weights
        .iter()
        .map(|&w| {
            let part = u128::from(total) * u128::from(w) / sum;
            u64::try_from(part).unwrap_or(u64::MAX).min(w)
        })
        .collect()
}

/// One cgroup's stats after dropping `usage` bytes, `ws` of them from its working set.
fn lower(m: &mut MemoryStats, ws: u64, usage: u64) {
    m.time = m
        .time
        .and_then(|t| t.checked_add(jiff::SignedDuration::from_millis(1)).ok());
    m.working_set_bytes = m.working_set_bytes.map(|v| v.saturating_sub(ws));
    m.usage_bytes = m.usage_bytes.map(|v| v.saturating_sub(usage));
    m.available_bytes = m.available_bytes.map(|v| v.saturating_add(ws));
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::summary::{ContainerStats, NodeStats, PodStats};

    const MI: u64 = 1 << 20;

    fn figures(active: u64, inactive: u64, dirty: u64) -> CacheFigures {
        CacheFigures {
            active_file: active,
            inactive_file: inactive,
            dirty,
            ..CacheFigures::default()
        }
    }

    #[test]
    fn the_inactive_list_goes_first_and_dirty_pages_stay() {
        let f = figures(400 * MI, 100 * MI, 50 * MI);
        // 100 MiB asked: all of it from the inactive list, the working set does not move.
        assert_eq!(effect(100 * MI, &f).working_set, 0);
        let e = effect(300 * MI, &f);
        assert_eq!((e.dropped, e.working_set), (300 * MI, 200 * MI));
        // More than there is: only the clean pages (350 active + 100 inactive - ... dirty).
        let e = effect(10_000 * MI, &f);
        assert_eq!((e.dropped, e.working_set), (450 * MI, 350 * MI));
    }

    fn stats(ws: u64, rss: u64, available: Option<u64>) -> Option<MemoryStats> {
        Some(MemoryStats {
            working_set_bytes: Some(ws),
            usage_bytes: Some(ws + 10 * MI),
            rss_bytes: Some(rss),
            available_bytes: available,
            ..MemoryStats::default()
        })
    }

    #[test]
    fn the_drop_is_shared_by_each_pods_cache() {
        let summary = Summary {
            node: NodeStats {
                memory: stats(3000 * MI, 1000 * MI, Some(1000 * MI)),
                ..NodeStats::default()
            },
            pods: vec![
                PodStats {
                    memory: stats(900 * MI, 100 * MI, None),
                    containers: vec![ContainerStats {
                        name: "a".into(),
                        memory: stats(900 * MI, 100 * MI, None),
                        ..ContainerStats::default()
                    }],
                    ..PodStats::default()
                },
                PodStats {
                    memory: stats(500 * MI, 300 * MI, None),
                    ..PodStats::default()
                },
            ],
        };
        let e = Effect {
            asked: 600 * MI,
            dropped: 600 * MI,
            working_set: 500 * MI,
        };
        let after = apply(&summary, &e, None);
        let node = after.node.memory.as_ref().unwrap();
        assert_eq!(node.working_set_bytes, Some(2500 * MI));
        assert_eq!(node.available_bytes, Some(1500 * MI));
        assert_eq!(node.usage_bytes, Some(2410 * MI));
        // Caches 800 and 200 MiB: shares 400 and 100 MiB.
        let ws = |i: usize| after.pods[i].memory.as_ref().unwrap().working_set_bytes;
        assert_eq!((ws(0), ws(1)), (Some(500 * MI), Some(400 * MI)));
        let c = after.pods[0].containers[0].memory.as_ref().unwrap();
        assert_eq!(c.working_set_bytes, Some(500 * MI));
        assert_eq!(share(10, &[0, 0]), vec![0, 0]);
        assert_eq!(share(100, &[10, 1000]), vec![0, 99]);
    }
}
