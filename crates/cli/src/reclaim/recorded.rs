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

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::summary::{MemoryStats, PodReference, PodStats, Summary};
    use headroom_linux::memcg::{CgroupKind, MemcgSample, StatMap};
    use headroom_record::model::{CgroupSample, PodSample};

    const MI: u64 = 1 << 20;

    fn sample(version: CgroupVersion, stat: &str) -> MemcgSample {
        let mut s = MemcgSample::empty(CgroupKind {
            version,
            is_root: false,
            host_swap_used: 0,
        });
        s.stat = StatMap::parse(stat);
        s
    }

    fn pod(uid: &str, ws: u64, rss: u64) -> PodStats {
        PodStats {
            pod_ref: PodReference {
                uid: uid.into(),
                ..PodReference::default()
            },
            memory: Some(MemoryStats {
                working_set_bytes: Some(ws),
                rss_bytes: Some(rss),
                ..MemoryStats::default()
            }),
            ..PodStats::default()
        }
    }

    #[test]
    fn a_v2_pass_gives_the_pods_cgroups_stat_and_each_pods_clean_cache() {
        let readings = Readings {
            summary: Summary {
                pods: vec![pod("a", 500 * MI, 100 * MI), pod("b", 300 * MI, 100 * MI)],
                ..Summary::default()
            },
            pods_cgroup: Some(CgroupSample {
                cgroup: "/kubepods".into(),
                sample: sample(
                    CgroupVersion::V2,
                    &format!(
                        "active_file {}\ninactive_file {}\nfile_dirty {}\nfile_writeback 0\n\
                         workingset_refault_file 7\nworkingset_activate_file 3\n",
                        400 * MI,
                        50 * MI,
                        10 * MI
                    ),
                ),
            }),
            // Pod b has no sample (a light pass): its Summary estimate stands in.
            pods: vec![PodSample {
                uid: "a".into(),
                qos: "BestEffort".into(),
                sample: sample(
                    CgroupVersion::V2,
                    &format!("active_file {}\nfile_dirty {}\n", 300 * MI, 20 * MI),
                ),
                containers: Vec::new(),
            }],
            ..Readings::default()
        };
        let c = cache_data(&readings);
        assert!(c.can_reclaim);
        let (f, basis) = c.figures.unwrap();
        assert_eq!(basis, Basis::RecordedStat);
        assert_eq!(
            (f.active_file, f.inactive_file, f.dirty),
            (400 * MI, 50 * MI, 10 * MI)
        );
        assert_eq!((f.workingset_refault_file, f.workingset_activate_file), (7, 3));
        assert_eq!(c.pod_caches, Some(vec![280 * MI, 200 * MI]));
    }

    #[test]
    fn a_v1_pass_cannot_reclaim_and_reads_the_hierarchical_keys() {
        let readings = Readings {
            pods_cgroup: Some(CgroupSample {
                cgroup: "/kubepods".into(),
                sample: sample(
                    CgroupVersion::V1,
                    "active_file 1\ntotal_active_file 900\ntotal_inactive_file 90\ntotal_dirty 9\n",
                ),
            }),
            ..Readings::default()
        };
        let c = cache_data(&readings);
        assert!(!c.can_reclaim);
        let (f, _) = c.figures.unwrap();
        assert_eq!((f.active_file, f.inactive_file, f.dirty), (900, 90, 9));
        assert_eq!(c.pod_caches, None);
    }
}
