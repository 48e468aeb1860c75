//! Which pod goes first: the kubelet's eviction ranking (§9 of the spec).
//!
//! Each pod's ranking inputs are computed once into [`RankFacts`]; the sort then compares facts
//! with the kubelet's comparator chain:
//! * memory: exceeds request -> priority (lower first) -> usage over request (larger first);
//! * pid: priority -> process count (more first);
//! * disk: exceeds request -> priority -> disk usage over the ephemeral-storage request.
//!
//! Missing-stats rule: inside the stats-based comparators a pod without stats sorts before a pod
//! with stats (a pod started a moment ago is the first candidate); two pods without stats tie.
//!
//! Ties: upstream sorts with Go's unstable sort over a list built from a map, so the order of
//! tied pods is effectively random there. headroom uses a stable sort and keeps ties in the
//! order of the active-pod input.

use std::cmp::Ordering;

use crate::observe::PodStatsIndex;
use crate::pod::{Pod, Volume};
use crate::quantity::{Format, Quantity};
use crate::signal::{Resource, Signal};
use crate::summary::{FsStats, PodStats};

/// How the node's filesystems are laid out; decides what disk usage a pod is charged with.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FsTopology {
    /// The runtime keeps images on a filesystem other than the kubelet's root (imagefs != nodefs).
    pub dedicated_image_fs: bool,
    /// Container writable layers live apart from images (KubeletSeparateDiskGC layout).
    pub split_container_fs: bool,
}

/// Which per-pod filesystem usage counts for a disk signal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FsStatTypes {
    /// Container writable layers (`rootfs`).
    pub root: bool,
    /// Container logs.
    pub logs: bool,
    /// Local ephemeral volumes (emptyDir on disk, configMap, gitRepo, downwardAPI, hostPath).
    pub local_volumes: bool,
    /// Images. The Summary carries no per-pod image usage, so this adds nothing to a pod's
    /// usage; it is recorded to mirror the kubelet's per-topology tables.
    pub images: bool,
}

/// The ranking used for one signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RankKind {
    Memory,
    Pid,
    Disk {
        /// `EphemeralStorage` for byte signals, `Inodes` for inode signals.
        resource: Resource,
        measure: FsStatTypes,
    },
}

impl RankKind {
    /// The ranking the kubelet uses for `signal` on a node with this filesystem topology.
    pub fn for_signal(signal: Signal, topology: FsTopology) -> RankKind {
        const ALL: FsStatTypes = FsStatTypes {
            root: true,
            logs: true,
            local_volumes: true,
            images: true,
        };
        const LOGS_VOLUMES: FsStatTypes = FsStatTypes {
            root: false,
            logs: true,
            local_volumes: true,
            images: false,
        };
        const ROOT_IMAGES: FsStatTypes = FsStatTypes {
            root: true,
            logs: false,
            local_volumes: false,
            images: true,
        };
        const LOGS_VOLUMES_ROOT: FsStatTypes = FsStatTypes {
            root: true,
            logs: true,
            local_volumes: true,
            images: false,
        };
        const IMAGES: FsStatTypes = FsStatTypes {
            root: false,
            logs: false,
            local_volumes: false,
            images: true,
        };
        let resource = signal.resource();
        let measure = match signal {
            Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable => return RankKind::Memory,
            Signal::PidAvailable => return RankKind::Pid,
            _ if !topology.dedicated_image_fs => ALL,
            Signal::NodeFsAvailable | Signal::NodeFsInodesFree if topology.split_container_fs => {
                LOGS_VOLUMES_ROOT
            }
            Signal::ContainerFsAvailable | Signal::ContainerFsInodesFree if topology.split_container_fs => {
                LOGS_VOLUMES_ROOT
            }
            Signal::ImageFsAvailable | Signal::ImageFsInodesFree if topology.split_container_fs => IMAGES,
            Signal::NodeFsAvailable | Signal::NodeFsInodesFree => LOGS_VOLUMES,
            _ => ROOT_IMAGES,
        };
        RankKind::Disk { resource, measure }
    }
}

/// The comparator that put one pod before the next.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Comparator {
    /// One pod had no stats in the Summary (pods without stats go first).
    MissingStats,
    /// One pod's usage exceeded its request and the other's did not.
    ExceedsRequest,
    /// Lower `spec.priority` first.
    Priority,
    /// Larger usage minus request first.
    UsageOverRequest,
    /// More processes first (PID pressure).
    ProcessCount,
}

impl Comparator {
    /// Plain-language name of the rule.
    pub fn describe(self) -> &'static str {
        match self {
            Comparator::MissingStats => "pods without stats go first",
            Comparator::ExceedsRequest => "pods using more than their request go first",
            Comparator::Priority => "lower priority goes first",
            Comparator::UsageOverRequest => "larger usage above request goes first",
            Comparator::ProcessCount => "more processes goes first",
        }
    }
}

/// Everything the ranking knows about one pod.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankFacts {
    /// The Summary had stats for this pod.
    pub has_stats: bool,
    /// `usage > request` (memory/disk; always false for pid ranking).
    pub exceeds_request: bool,
    /// `spec.priority` (unset = 0).
    pub priority: i32,
    /// Working set bytes (memory), process count (pid), bytes or inodes used (disk); 0 without stats.
    pub usage: Quantity,
    /// Effective pod request of the ranked resource (ephemeral-storage for disk; 0 for pid).
    pub request: Quantity,
    /// `usage - request`, as compared by the last memory/disk comparator.
    pub usage_over_request: Quantity,
}

/// One pod's place in a ranking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankedPod {
    /// Index into the active pod list given to [`rank`].
    pub index: usize,
    pub facts: RankFacts,
    /// The comparator that placed this pod before the next one; `None` for the last pod and
    /// for a tie (kept in input order).
    pub before_next: Option<Comparator>,
}

/// Compute a pod's ranking facts.
pub fn facts(kind: RankKind, pod: &Pod, stats: Option<&PodStats>) -> RankFacts {
    let zero = Quantity::bytes(0);
    let (usage, request, compare_request) = match kind {
        RankKind::Memory => {
            let usage = stats
                .and_then(|s| s.memory.as_ref())
                .and_then(|m| m.working_set_bytes)
                .map_or(zero, |b| Quantity::bytes(saturate(b)));
            let request = pod.request("memory");
            (usage, request, request)
        }
        RankKind::Pid => {
            let count = stats
                .and_then(|s| s.process_stats.as_ref())
                .and_then(|p| p.process_count)
                .map_or(0, saturate);
            (Quantity::count(count), Quantity::count(0), Quantity::count(0))
        }
        RankKind::Disk { resource, measure } => {
            let (bytes, inodes) = stats.map_or((0, 0), |s| disk_usage(pod, s, measure));
            let storage_request = pod.request("ephemeral-storage");
            if resource == Resource::Inodes {
                // Quirk kept from the kubelet: the "exceeds" step compares inode usage with a
                // request for the non-requestable resource `inodes` (always 0), while the
                // "over request" step subtracts the ephemeral-storage request.
                (Quantity::count(inodes), storage_request, Quantity::count(0))
            } else {
                (Quantity::bytes(bytes), storage_request, storage_request)
            }
        }
    };
    let usage_over_request = Quantity::from_nanos(usage.nanos() - request.nanos(), Format::BinarySI);
    RankFacts {
        has_stats: stats.is_some(),
        exceeds_request: kind != RankKind::Pid && usage.nanos() > compare_request.nanos(),
        priority: pod.priority(),
        usage,
        request,
        usage_over_request,
    }
}

fn saturate(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn fs_used(fs: Option<&FsStats>) -> (i64, i64) {
    fs.map_or((0, 0), |f| {
        (
            f.used_bytes.map_or(0, saturate),
            f.inodes_used.map_or(0, saturate),
        )
    })
}

/// Volumes the kubelet counts as the pod's local ephemeral storage.
fn is_local_volume(v: &Volume) -> bool {
    // Current upstream (`IsLocalEphemeralVolume`): only the default medium; older kubelets also
    // counted any non-Memory medium (HugePages) and downwardAPI volumes.
    if let Some(ed) = &v.empty_dir {
        return ed.medium.as_deref().unwrap_or("").is_empty();
    }
    ["hostPath", "gitRepo", "configMap"]
        .iter()
        .any(|k| v.other_sources.contains_key(*k))
}

/// (bytes, inodes) charged to the pod for the chosen filesystem stat types.
fn disk_usage(pod: &Pod, stats: &PodStats, measure: FsStatTypes) -> (i64, i64) {
    let mut bytes = 0i64;
    let mut inodes = 0i64;
    let mut add = |(b, i): (i64, i64)| {
        bytes = bytes.saturating_add(b);
        inodes = inodes.saturating_add(i);
    };
    for c in &stats.containers {
        if measure.root {
            add(fs_used(c.rootfs.as_deref()));
        }
        if measure.logs {
            add(fs_used(c.logs.as_deref()));
        }
    }
    if measure.local_volumes
        && let Some(volumes) = &stats.volume
    {
        for v in pod.spec.volumes.iter().filter(|v| is_local_volume(v)) {
            if let Some(vs) = volumes.iter().find(|s| s.name == v.name) {
                add(fs_used(Some(&vs.fs)));
            }
        }
    }
    (bytes, inodes)
}

/// Compare two pods' facts with the chain for `kind`. `Less` means `a` is evicted first.
/// Returns the comparator that decided, or `None` on a full tie.
pub fn compare(kind: RankKind, a: &RankFacts, b: &RankFacts) -> (Ordering, Option<Comparator>) {
    let steps: &[Comparator] = match kind {
        RankKind::Memory | RankKind::Disk { .. } => &[
            Comparator::ExceedsRequest,
            Comparator::Priority,
            Comparator::UsageOverRequest,
        ],
        RankKind::Pid => &[Comparator::Priority, Comparator::ProcessCount],
    };
    for step in steps {
        let (ord, by) = match step {
            Comparator::Priority => (a.priority.cmp(&b.priority), Comparator::Priority),
            stats_based => match (a.has_stats, b.has_stats) {
                (false, false) => (Ordering::Equal, *stats_based),
                (false, true) => (Ordering::Less, Comparator::MissingStats),
                (true, false) => (Ordering::Greater, Comparator::MissingStats),
                (true, true) => match stats_based {
                    Comparator::ExceedsRequest => (b.exceeds_request.cmp(&a.exceeds_request), *stats_based),
                    Comparator::ProcessCount => (b.usage.cmp(&a.usage), *stats_based),
                    _ => (
                        b.usage_over_request.cmp(&a.usage_over_request),
                        Comparator::UsageOverRequest,
                    ),
                },
            },
        };
        if ord != Ordering::Equal {
            return (ord, Some(by));
        }
    }
    (Ordering::Equal, None)
}

/// Rank `pods` for `kind`, evict-first first. Stable: ties keep input order.
pub fn rank(kind: RankKind, pods: &[Pod], stats: &PodStatsIndex<'_>) -> Vec<RankedPod> {
    let mut ranked: Vec<RankedPod> = pods
        .iter()
        .enumerate()
        .map(|(index, pod)| RankedPod {
            index,
            facts: facts(kind, pod, stats.get(&pod.metadata.uid)),
            before_next: None,
        })
        .collect();
    ranked.sort_by(|a, b| compare(kind, &a.facts, &b.facts).0);
    for i in 1..ranked.len() {
        let (ord, by) = compare(kind, &ranked[i - 1].facts, &ranked[i].facts);
        ranked[i - 1].before_next = if ord == Ordering::Less { by } else { None };
    }
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::Summary;

    const MI: i64 = 1 << 20;

    /// A pod with one container and the given memory request/limit (in Mi) and priority.
    fn pod(uid: &str, prio: i32, req_mi: Option<i64>, lim_mi: Option<i64>) -> Pod {
        let mut res = serde_json::json!({});
        if let Some(r) = req_mi {
            res["requests"] = serde_json::json!({"memory": format!("{r}Mi")});
        }
        if let Some(l) = lim_mi {
            res["limits"] = serde_json::json!({"memory": format!("{l}Mi")});
        }
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": uid, "namespace": "ns", "uid": uid},
            "spec": {"priority": prio, "containers": [{"name": "c", "resources": res}]}
        }))
        .unwrap()
    }

    fn stats(entries: &[(&str, i64)]) -> Summary {
        let pods: Vec<_> = entries
            .iter()
            .map(|(uid, ws)| {
                serde_json::json!({
                    "podRef": {"name": uid, "namespace": "ns", "uid": uid},
                    "memory": {"workingSetBytes": ws},
                    "process_stats": {"process_count": ws}
                })
            })
            .collect();
        serde_json::from_value(serde_json::json!({"node": {}, "pods": pods})).unwrap()
    }

    fn names(pods: &[Pod], ranked: &[RankedPod]) -> Vec<String> {
        ranked
            .iter()
            .map(|r| pods[r.index].metadata.name.clone())
            .collect()
    }

    #[test]
    fn set_a_memory_ranking() {
        let pods = vec![
            pod("a1", -1, Some(1024), Some(1024)),
            pod("a2", 0, Some(100), Some(1024)),
            pod("a3", 0, Some(100), Some(1024)),
            pod("a4", 1, None, None),
            pod("a5", -1, None, None),
        ];
        let s = stats(&[
            ("a1", 900 * MI),
            ("a2", 50 * MI),
            ("a3", 400 * MI),
            ("a4", 400 * MI),
            ("a5", 100 * MI),
        ]);
        let r = rank(RankKind::Memory, &pods, &PodStatsIndex::new(&s));
        assert_eq!(names(&pods, &r), ["a5", "a3", "a4", "a1", "a2"]);
        assert_eq!(r[0].before_next, Some(Comparator::Priority));
        assert_eq!(r[2].before_next, Some(Comparator::ExceedsRequest));
        assert_eq!(r[3].before_next, Some(Comparator::Priority));
        assert_eq!(r[4].before_next, None);
        assert_eq!(r[3].facts.usage_over_request.value(), -124 * MI);
        assert!(!r[3].facts.exceeds_request);
    }

    #[test]
    fn exceeding_beats_usage_t19() {
        let pods = vec![
            pod("below", -1, Some(200), None),
            pod("exceeds", 1, Some(100), None),
        ];
        let s = stats(&[("below", 199 * MI), ("exceeds", 101 * MI)]);
        let r = rank(RankKind::Memory, &pods, &PodStatsIndex::new(&s));
        assert_eq!(names(&pods, &r), ["exceeds", "below"]);
        assert_eq!(r[0].before_next, Some(Comparator::ExceedsRequest));
    }

    #[test]
    fn usage_over_request_t20() {
        let pods = [
            pod("b1", 0, None, None),
            pod("b2", 0, None, None),
            pod("b3", 0, Some(100), None),
            pod("b4", 0, Some(100), None),
            pod("g5", 0, Some(1024), Some(1024)),
            pod("g6", 0, Some(1024), Some(1024)),
        ];
        let s = stats(&[
            ("b1", 500 * MI),
            ("b2", 300 * MI),
            ("b3", 800 * MI),
            ("b4", 300 * MI),
            ("g5", 800 * MI),
            ("g6", 200 * MI),
        ]);
        let idx = PodStatsIndex::new(&s);
        let facts: Vec<_> = pods
            .iter()
            .map(|p| facts(RankKind::Memory, p, idx.get(&p.metadata.uid)))
            .collect();
        // The usage comparator alone, as in the upstream test.
        let mut order: Vec<usize> = (0..pods.len()).collect();
        order.sort_by(|&a, &b| facts[b].usage_over_request.cmp(&facts[a].usage_over_request));
        let got: Vec<_> = order.iter().map(|&i| pods[i].metadata.name.as_str()).collect();
        assert_eq!(got, ["b3", "b1", "b2", "b4", "g5", "g6"]);
    }

    #[test]
    fn zero_usage_best_effort_does_not_exceed_t22() {
        let pods = vec![pod("x", -5, None, None), pod("y", 10, Some(100), None)];
        let s = stats(&[("x", 0), ("y", 150 * MI)]);
        let r = rank(RankKind::Memory, &pods, &PodStatsIndex::new(&s));
        assert_eq!(names(&pods, &r), ["y", "x"]);
    }

    #[test]
    fn pods_without_stats_first() {
        let pods = vec![
            pod("old", -10, None, None),
            pod("new", 100, Some(1000), None),
            pod("new2", 5, None, None),
        ];
        let s = stats(&[("old", 500 * MI)]);
        let r = rank(RankKind::Memory, &pods, &PodStatsIndex::new(&s));
        // Both stat-less pods tie on the stats rule, then priority orders them.
        assert_eq!(names(&pods, &r), ["new2", "new", "old"]);
        assert_eq!(r[0].before_next, Some(Comparator::Priority));
        assert_eq!(r[1].before_next, Some(Comparator::MissingStats));
    }

    #[test]
    fn pid_ranking_t25() {
        let spec = [
            ("p1", 1, 900),
            ("p2", 0, 100),
            ("p3", 0, 400),
            ("p4", -1, 600),
            ("p5", -1, 50),
        ];
        let pods: Vec<_> = spec.iter().map(|(n, p, _)| pod(n, *p, None, None)).collect();
        let entries: Vec<_> = spec.iter().map(|(n, _, c)| (*n, *c as i64)).collect();
        let s = stats(&entries);
        let r = rank(RankKind::Pid, &pods, &PodStatsIndex::new(&s));
        assert_eq!(names(&pods, &r), ["p4", "p5", "p3", "p2", "p1"]);
        assert_eq!(r[0].before_next, Some(Comparator::ProcessCount));
    }

    #[test]
    fn disk_ranking_t26_and_inode_quirk() {
        let spec = [
            ("d1", 300, 0),
            ("d2", 100, 0),
            ("d3", 350, 100),
            ("d4", 110, 100),
            ("d5", 375, 400),
            ("d6", 120, 400),
        ];
        let pods: Vec<Pod> = spec
            .iter()
            .map(|(n, _, req)| {
                let res = if *req > 0 {
                    serde_json::json!({"requests": {"ephemeral-storage": format!("{req}Mi")}})
                } else {
                    serde_json::json!({})
                };
                serde_json::from_value(serde_json::json!({
                    "metadata": {"name": n, "uid": n},
                    "spec": {"containers": [{"name": "c", "resources": res}]}
                }))
                .unwrap()
            })
            .collect();
        let stat_pods: Vec<_> = spec
            .iter()
            .map(|(n, used, _)| {
                serde_json::json!({
                    "podRef": {"name": n, "uid": n},
                    "containers": [{"name": "c", "rootfs": {"usedBytes": used * MI, "inodesUsed": 10}}]
                })
            })
            .collect();
        let s: Summary = serde_json::from_value(serde_json::json!({"node": {}, "pods": stat_pods})).unwrap();
        let idx = PodStatsIndex::new(&s);
        let kind = RankKind::for_signal(Signal::NodeFsAvailable, FsTopology::default());
        let r = rank(kind, &pods, &idx);
        assert_eq!(names(&pods, &r), ["d1", "d3", "d2", "d4", "d5", "d6"]);
        // Inodes: every pod "exceeds" (request 0) and the ephemeral-storage request is subtracted.
        let kind = RankKind::for_signal(Signal::NodeFsInodesFree, FsTopology::default());
        let r = rank(kind, &pods, &idx);
        assert!(r.iter().all(|p| p.facts.exceeds_request));
        assert_eq!(names(&pods, &r), ["d1", "d2", "d3", "d4", "d5", "d6"]);
        // Dedicated image fs: nodefs ranks by logs + volumes only, so rootfs usage does not count.
        let kind = RankKind::for_signal(
            Signal::NodeFsAvailable,
            FsTopology {
                dedicated_image_fs: true,
                split_container_fs: false,
            },
        );
        assert!(rank(kind, &pods, &idx).iter().all(|p| p.facts.usage.is_zero()));
    }

    #[test]
    fn topology_tables() {
        let split = FsTopology {
            dedicated_image_fs: true,
            split_container_fs: true,
        };
        let dedicated = FsTopology {
            dedicated_image_fs: true,
            split_container_fs: false,
        };
        let measure = |s, t| match RankKind::for_signal(s, t) {
            RankKind::Disk { measure, .. } => measure,
            other => panic!("{other:?}"),
        };
        assert!(measure(Signal::ImageFsAvailable, dedicated).root);
        assert!(!measure(Signal::ImageFsAvailable, split).root);
        assert!(measure(Signal::ContainerFsAvailable, split).root);
        assert!(measure(Signal::NodeFsAvailable, split).logs);
        assert!(!measure(Signal::NodeFsAvailable, dedicated).root);
        assert_eq!(
            RankKind::for_signal(Signal::AllocatableMemoryAvailable, split),
            RankKind::Memory
        );
    }
}
