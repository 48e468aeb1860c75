//! The pods cgroup's cache figures ([`CacheFigures`]), from what each input carries. The
//! policy reclaims on the pods cgroup, so these are its figures, never the node's (the node's
//! cache also holds system daemons' files, which a reclaim of the pods cgroup does not touch).
//!
//! | input | active_file | inactive_file | dirty, writeback | refaults |
//! | --- | --- | --- | --- | --- |
//! | a Summary (timeline, `status --summary`) | `workingSetBytes - rssBytes`: an upper bound (it also counts kernel memory on cgroup v2, shmem, and dirty pages) | `usageBytes - workingSetBytes` | unknown: 0 | unknown: 0 |
//! | a recording's raw sample | `memory.stat` | `memory.stat` | `memory.stat` | `memory.stat` (v2) |
//! | `status` on a host or tree | `memory.stat` | `memory.stat` | `memory.stat` | not read: 0 |

use headroom_core::reclaim::CacheFigures;
use headroom_core::summary::{MemoryStats, SYSTEM_CONTAINER_PODS, Summary};
use headroom_linux::memcg::MemcgSample;

/// Where the figures came from, for the output's notes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Basis {
    /// The Summary's `pods` system container: `workingSetBytes - rssBytes`.
    PodsContainer,
    /// No `pods` system container: the sum over the Summary's pods.
    PodSum,
    /// A recording's raw `memory.stat` of the pods cgroup.
    RecordedStat,
    /// `memory.stat` read by `status` from the host or a captured tree.
    KernelSplit,
}

impl Basis {
    /// What the figures assume, in a sentence for the notes.
    pub fn assumption(self) -> &'static str {
        match self {
            Basis::PodsContainer | Basis::PodSum => {
                "A Summary has no page-cache split: the pods' workingSetBytes - rssBytes is taken \
                 as clean file cache the kernel can drop, an upper bound (it also counts shmem, \
                 dirty pages and, on cgroup v2, kernel memory); refaults are unknown"
            }
            Basis::RecordedStat => {
                "The pods cgroup's recorded memory.stat: clean active file pages \
                 (active_file - dirty - writeback) are what the kernel can drop"
            }
            Basis::KernelSplit => {
                "The pods cgroup's memory.stat: clean active file pages \
                 (active_file - dirty - writeback) are what the kernel can drop"
            }
        }
    }
}

/// One cgroup's figures from its Summary memory stats; `None` without `workingSetBytes` and
/// `rssBytes` (nothing to tell cache from anonymous memory by).
pub fn from_memory_stats(m: &MemoryStats) -> Option<CacheFigures> {
    let ws = m.working_set_bytes?;
    let rss = m.rss_bytes?;
    Some(CacheFigures {
        active_file: ws.saturating_sub(rss),
        inactive_file: m.usage_bytes.map_or(0, |u| u.saturating_sub(ws)),
        ..CacheFigures::default()
    })
}

/// The pods cgroup's figures from a Summary: its `pods` system container, else the sum over
/// the pods (whose cgroups make up the pods cgroup). `None` when neither has the figures.
pub fn from_summary(summary: &Summary) -> Option<(CacheFigures, Basis)> {
    if let Some(f) = summary
        .node
        .system_container(SYSTEM_CONTAINER_PODS)
        .and_then(|c| c.memory.as_ref())
        .and_then(from_memory_stats)
    {
        return Some((f, Basis::PodsContainer));
    }
    let mut sum: Option<CacheFigures> = None;
    for f in summary
        .pods
        .iter()
        .filter_map(|p| p.memory.as_ref().and_then(from_memory_stats))
    {
        let s = sum.get_or_insert_with(CacheFigures::default);
        s.active_file = s.active_file.saturating_add(f.active_file);
        s.inactive_file = s.inactive_file.saturating_add(f.inactive_file);
    }
    sum.map(|f| (f, Basis::PodSum))
}

/// A recorded sample's figures: headroom-linux's reading of `memory.stat` (v1's `total_*`
/// subtree keys win; v2's are hierarchical), the one the agent plans from.
pub fn from_sample(s: &MemcgSample) -> CacheFigures {
    headroom_linux::reclaim::cache_figures(&s.stat)
}

/// One pod's share of clean cache in its working set (how a hypothetical reclaim is shared
/// among pods): `workingSetBytes - rssBytes`, 0 when unknown.
pub fn pod_cache(m: Option<&MemoryStats>) -> u64 {
    m.and_then(from_memory_stats).map_or(0, |f| f.active_file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::summary::{ContainerStats, NodeStats, PodStats};

    const MI: u64 = 1 << 20;

    fn stats(ws: u64, rss: Option<u64>, usage: Option<u64>) -> MemoryStats {
        MemoryStats {
            working_set_bytes: Some(ws),
            rss_bytes: rss,
            usage_bytes: usage,
            ..MemoryStats::default()
        }
    }

    #[test]
    fn a_summary_estimate_is_working_set_minus_rss() {
        let f = from_memory_stats(&stats(900 * MI, Some(200 * MI), Some(1000 * MI))).unwrap();
        assert_eq!(f.active_file, 700 * MI);
        assert_eq!(f.inactive_file, 100 * MI);
        assert_eq!((f.dirty, f.writeback, f.workingset_refault_file), (0, 0, 0));
        // rss above the working set (kernel memory accounting): no cache, not a wrap-around.
        assert_eq!(
            from_memory_stats(&stats(100, Some(200), None))
                .unwrap()
                .active_file,
            0
        );
        assert_eq!(from_memory_stats(&stats(100, None, None)), None);
    }

    #[test]
    fn the_pods_container_wins_over_the_sum_of_pods() {
        let pod = |ws, rss| PodStats {
            memory: Some(stats(ws, Some(rss), Some(ws))),
            ..PodStats::default()
        };
        let mut s = Summary {
            node: NodeStats::default(),
            pods: vec![pod(300 * MI, 100 * MI), pod(500 * MI, 50 * MI)],
        };
        let (f, basis) = from_summary(&s).unwrap();
        assert_eq!((f.active_file, basis), (650 * MI, Basis::PodSum));
        s.node.system_containers = Some(vec![ContainerStats {
            name: SYSTEM_CONTAINER_PODS.into(),
            memory: Some(stats(900 * MI, Some(200 * MI), Some(950 * MI))),
            ..ContainerStats::default()
        }]);
        let (f, basis) = from_summary(&s).unwrap();
        assert_eq!((f.active_file, f.inactive_file), (700 * MI, 50 * MI));
        assert_eq!(basis, Basis::PodsContainer);
        assert_eq!(from_summary(&Summary::default()), None);
    }
}
