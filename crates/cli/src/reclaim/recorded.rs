//! A recording's pass as reclaim-first's input: the pods cgroup's raw `memory.stat` (active and
//! inactive file, dirty, writeback, refault counters) and each pod's, and the cgroup version
//! the node ran (v1 has no `memory.reclaim`: reclaim-first decides as the kubelet there).

use headroom_core::reclaim::estimate;
use headroom_linux::memcg::CgroupVersion;
use headroom_record::model::Readings;

use super::figures::{self, Basis};
use super::run::CacheData;

/// What `replay --policy reclaim-first` assumes, for its header.
pub const ASSUMPTION: &str = "The cache is the pods cgroup's recorded memory.stat: clean active \
    file pages (active_file - dirty - writeback) are what the kernel can drop; a cgroup v1 \
    recording has no memory.reclaim, so reclaim-first decides as the kubelet there";

/// The pass's cache figures. Without a recorded pods cgroup sample, the Summary's estimate.
pub fn cache_data(r: &Readings) -> CacheData {
    let version = r
        .pods_cgroup
        .as_ref()
        .map(|p| p.sample.version)
        .or(r.node.as_ref().map(|n| n.version));
    let figures = match &r.pods_cgroup {
        Some(p) => Some((figures::from_sample(&p.sample), Basis::RecordedStat)),
        None => figures::from_summary(&r.summary),
    };
    // Each pod's clean active file pages, in the Summary's pod order; a pod without a sample
    // (a light pass keeps the last full pass's pods) falls back to the Summary's estimate.
    let pod_caches = (!r.pods.is_empty()).then(|| {
        r.summary
            .pods
            .iter()
            .map(|p| {
                r.pods
                    .iter()
                    .find(|s| s.uid == p.pod_ref.uid)
                    .map(|s| estimate(&figures::from_sample(&s.sample)).working_set_bytes)
                    .unwrap_or_else(|| figures::pod_cache(p.memory.as_ref()))
            })
            .collect()
    });
    CacheData {
        figures,
        pod_caches,
        can_reclaim: version != Some(CgroupVersion::V1),
    }
}
