//! The fast pass: when the re-reads of the pods cgroup usage ([`crate::usage_poll`]) find a
//! memory threshold crossed, read what the decision needs and nothing more, then act before
//! the bookkeeping.
//!
//! On cgroup v2 the re-reads find the crossing within their 5 ms floor; what used to follow
//! was a full pass: every pod AND container cgroup, then the Summary published, metrics and
//! per-pod series exported, `/proc/vmstat` read, and only then the SIGTERM. The kubelet's
//! decision needs less:
//!
//! * ranking for memory (`memory.available`, `allocatableMemory.available`) uses the
//!   **pod-level** working set (`podStats.memory.workingSetBytes`, the pod cgroup's
//!   usage - inactive_file as cAdvisor reports it for the pod cgroup), the pod's requests and
//!   priority (kubelet `eviction/helpers.go`: `exceedMemoryRequests`, `memory`; see
//!   `crates/core/src/rank.rs`). Container stats are not read for it;
//! * container stats are read by the kubelet's sync only for: disk ranking (rootfs and logs per
//!   container), local-storage limit evictions (container ephemeral-storage limits), and the
//!   container part of the eviction message (`Container <name> was using ...`).
//!
//! So a fast pass collects pod cgroups without their containers, and of each cgroup only the
//! files the decision reads ([`headroom_linux::collect::Collector::collect_pods_at`]: on v2
//! `memory.stat`, `memory.current`, `memory.max`; no peak, swap, events, pressure, start
//! times or kubelet cgroup, which no eviction signal or ranking reads; meminfo, pids and the
//! filesystems as in a full pass: every node-level signal is observed), and is used only when
//! none of those three needs can
//! arise: no local-storage limits can evict (as for the light pass), and every threshold that
//! is not a memory one is unmet on the fast figures ([`fast_suffices`]), so the threshold
//! reclaimed is a memory one and the ranking is the memory ranking. The pod chosen, the grace
//! period and the message's node part are then the full pass's (tested on random trees below);
//! the message lacks only the container lines. Otherwise the pass collects the whole tree.
//!
//! Then the kill: the rails list the pod's processes and the first SIGTERM goes to that list
//! at once; the SIGKILL-deadline record, the newcomer sweep and the wait come after it
//! ([`headroom_linux::control::FirstSigterm`]).
//!
//! Grace: unchanged, the kubelet's. A hard threshold gives 1 s
//! (`immediateEvictionGracePeriodSeconds`, kubernetes#124063; it was 0, "the pod's own grace",
//! before ~v1.31), a soft one `evictionMaxPodGracePeriod` (capped by the pod's own). SIGTERM
//! first: a pod that exits on SIGTERM stops as fast as with SIGKILL.

use headroom_core::observe::observe;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_core::threshold::{Threshold, threshold_quantity};
use headroom_linux::collect::PodPassReads;

/// Is `signal` ranked with the memory ranking (pod-level stats only)?
pub fn is_memory_signal(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable
    )
}

/// What a fast pass reads of the node besides memory: pids and the filesystems only when a
/// threshold names one of their signals (a signal without a threshold decides nothing, and
/// [`fast_suffices`] checks every threshold that has one).
pub fn reads_for(thresholds: &[Threshold]) -> PodPassReads {
    let any = |f: fn(Signal) -> bool| thresholds.iter().any(|t| f(t.signal));
    PodPassReads {
        pids: any(|s| s == Signal::PidAvailable),
        filesystems: any(|s| !is_memory_signal(s) && s != Signal::PidAvailable),
    }
}

/// `Ok(())` when a pod-level Summary decides exactly as a full one: every threshold that is
/// not a memory one is unmet (or unobserved, which a full pass would not observe either).
/// Otherwise why not, for the debug log; the pass must collect the whole tree.
pub fn fast_suffices(thresholds: &[Threshold], summary: &Summary) -> Result<(), String> {
    let obs = observe(summary);
    for t in thresholds.iter().filter(|t| !is_memory_signal(t.signal)) {
        let Some(o) = obs.get(t.signal) else {
            continue;
        };
        let q = threshold_quantity(&t.value, &o.capacity);
        if o.available.nanos() < q.nanos() {
            return Err(format!(
                "{} is met (available {} < {}): its ranking may need container stats",
                t.signal.as_str(),
                o.available,
                q
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use headroom_core::Timestamp;
    use headroom_core::config::EvictionConfig;
    use headroom_core::manager::{self, ManagerState, SyncInputs};
    use headroom_core::pod::Pod;
    use headroom_core::quantity::Quantity;
    use headroom_core::rank::FsTopology;
    use headroom_core::threshold::ThresholdValue;
    use proptest::prelude::*;
    use serde_json::json;

    const MIB: u64 = 1 << 20;

    fn threshold(signal: Signal, value: &str, grace_s: i64) -> Threshold {
        Threshold {
            signal,
            value: ThresholdValue::Quantity(Quantity::parse(value).unwrap()),
            grace_period_ns: grace_s * 1_000_000_000,
            min_reclaim: None,
        }
    }

    fn mem(ws: u64, inactive: u64, cap: Option<u64>) -> serde_json::Value {
        let mut m = json!({
            "time": "2026-12-06T06:00:00Z",
            "workingSetBytes": ws,
            "usageBytes": ws + inactive,
        });
        if let Some(c) = cap {
            m["availableBytes"] = json!(c.saturating_sub(ws));
        }
        // What a full pass reads and the fast pass does not (see `as_read_by_a_fast_pass`).
        let psi = json!({"total": ws / 1000, "avg10": 1.5, "avg60": 0.5, "avg300": 0.1});
        m["psi"] = json!({"some": psi, "full": psi});
        m
    }

    fn swap(used: u64) -> serde_json::Value {
        json!({"time": "2026-12-06T06:00:00Z", "swapUsageBytes": used, "swapAvailableBytes": 0})
    }

    /// One pod: (priority, request MiB per container, working set MiB per container, page
    /// cache MiB of the pod).
    type PodSpec = (i32, Vec<(u64, u64)>, u64);

    fn tree(specs: &[PodSpec], pods_cap: u64, base: u64, node_free: u64) -> (Summary, Vec<Pod>) {
        let mut stat_pods = Vec::new();
        let mut pods = Vec::new();
        let mut total = base * MIB;
        for (i, (prio, ctrs, cache)) in specs.iter().enumerate() {
            let uid = format!("uid-{i}");
            let containers: Vec<_> = ctrs
                .iter()
                .enumerate()
                .map(|(j, (_, ws))| json!({"name": format!("c{j}"), "memory": mem(ws * MIB, 0, None)}))
                .collect();
            let ws: u64 = ctrs.iter().map(|(_, w)| w * MIB).sum();
            total += ws;
            stat_pods.push(json!({
                "podRef": {"name": format!("p{i}"), "namespace": "ns", "uid": uid},
                "startTime": "2026-12-06T05:00:00Z",
                "memory": mem(ws, cache * MIB, None),
                "swap": swap(cache * MIB),
                "containers": containers,
            }));
            let spec_ctrs: Vec<_> = ctrs
                .iter()
                .enumerate()
                .map(|(j, (req, _))| {
                    let res = if *req > 0 {
                        json!({"requests": {"memory": format!("{req}Mi")}})
                    } else {
                        json!({})
                    };
                    json!({"name": format!("c{j}"), "resources": res})
                })
                .collect();
            pods.push(
                serde_json::from_value(json!({
                    "metadata": {"name": format!("p{i}"), "namespace": "ns", "uid": uid},
                    "spec": {"priority": prio, "containers": spec_ctrs},
                }))
                .unwrap(),
            );
        }
        let node_cap = total + node_free * MIB;
        let summary = serde_json::from_value(json!({
            "node": {
                "nodeName": "n",
                "memory": mem(total, 0, Some(node_cap)),
                "swap": swap(base),
                "systemContainers": [{
                    "name": "pods",
                    "startTime": "2026-12-06T05:00:00Z",
                    "memory": mem(total, 0, Some(pods_cap * MIB)),
                    "swap": swap(base),
                }],
            },
            "pods": stat_pods,
        }))
        .unwrap();
        (summary, pods)
    }

    /// What a fast pass reads of a node (`Collector::collect_pods_at`): no containers, no
    /// PSI, swap or start times.
    fn as_read_by_a_fast_pass(s: &Summary) -> Summary {
        let mut fast = s.clone();
        let strip = |m: &mut Option<headroom_core::summary::MemoryStats>| {
            if let Some(m) = m.as_mut() {
                m.psi = None;
            }
        };
        strip(&mut fast.node.memory);
        fast.node.swap = None;
        for c in fast.node.system_containers.iter_mut().flatten() {
            strip(&mut c.memory);
            c.swap = None;
            c.start_time = None;
        }
        for p in &mut fast.pods {
            p.containers.clear();
            strip(&mut p.memory);
            p.swap = None;
            p.start_time = None;
        }
        fast
    }

    fn decide(cfg: &EvictionConfig, summary: &Summary, pods: &[Pod]) -> manager::Decision {
        let mut state = ManagerState::new();
        manager::synchronize(
            &mut state,
            cfg,
            SyncInputs {
                summary,
                active_pods: pods,
                now: "2026-12-06T06:00:01Z".parse::<Timestamp>().unwrap(),
                fs_topology: FsTopology::default(),
                pod_cgroup_root: "/kubepods.slice",
            },
        )
    }

    fn pod_spec() -> impl Strategy<Value = PodSpec> {
        (
            prop_oneof![Just(0), Just(0), Just(100), Just(-5), Just(2_000_000_000)],
            prop::collection::vec((prop_oneof![Just(0u64), 1u64..200], 0u64..300), 1..4),
            0u64..100,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// The fast pass's figures (no container stats, PSI, swap or start times: what
        /// `collect_pods_at` leaves out) choose the same pod with the same grace
        /// as the full pass's, rank every pod the same, and its message is the full message
        /// without the container lines.
        #[test]
        fn a_pod_level_summary_decides_as_the_full_one(
            specs in prop::collection::vec(pod_spec(), 1..12),
            pods_cap in 200u64..2000,
            base in 0u64..200,
            node_free in 0u64..600,
        ) {
            let cfg = EvictionConfig {
                local_storage_capacity_isolation: false,
                thresholds: vec![
                    threshold(Signal::AllocatableMemoryAvailable, "100Mi", 0),
                    threshold(Signal::MemoryAvailable, "200Mi", 0),
                ],
                ..EvictionConfig::default()
            };
            let (full, pods) = tree(&specs, pods_cap, base, node_free);
            let fast = as_read_by_a_fast_pass(&full);
            prop_assert_ne!(&fast, &full);
            prop_assert!(fast_suffices(&cfg.thresholds, &fast).is_ok());
            let a = decide(&cfg, &full, &pods);
            let b = decide(&cfg, &fast, &pods);
            let evicted = |d: &manager::Decision| -> Vec<(usize, i64)> {
                d.evictions.iter().map(|e| (e.index, e.grace_period_seconds)).collect()
            };
            prop_assert_eq!(evicted(&a), evicted(&b));
            let order = |d: &manager::Decision| -> Vec<usize> {
                d.ranking.iter().map(|r| r.index).collect()
            };
            prop_assert_eq!(order(&a), order(&b));
            prop_assert_eq!(&a.thresholds_met.len(), &b.thresholds_met.len());
            for (x, y) in a.evictions.iter().zip(&b.evictions) {
                prop_assert!(x.message.starts_with(y.message.as_str()), "{:?} vs {:?}", x.message, y.message);
            }
        }
    }

    #[test]
    fn pids_and_filesystems_are_read_only_for_a_threshold_on_them() {
        let mem = threshold(Signal::AllocatableMemoryAvailable, "100Mi", 0);
        let none = PodPassReads {
            pids: false,
            filesystems: false,
        };
        assert_eq!(reads_for(std::slice::from_ref(&mem)), none);
        let pid = threshold(Signal::PidAvailable, "100", 0);
        assert_eq!(
            reads_for(&[mem.clone(), pid]),
            PodPassReads {
                pids: true,
                filesystems: false
            }
        );
        for fs in [
            Signal::NodeFsAvailable,
            Signal::ImageFsInodesFree,
            Signal::ContainerFsAvailable,
        ] {
            let t = threshold(fs, "1Mi", 0);
            assert_eq!(
                reads_for(&[mem.clone(), t]),
                PodPassReads {
                    pids: false,
                    filesystems: true
                }
            );
        }
    }

    #[test]
    fn a_met_disk_threshold_needs_the_full_tree() {
        let (mut s, _) = tree(&[(0, vec![(0, 10)], 0)], 512, 0, 600);
        s.node.fs = Some(
            serde_json::from_value(json!({"availableBytes": 5 * MIB, "capacityBytes": 100 * MIB})).unwrap(),
        );
        let mem_only = [threshold(Signal::AllocatableMemoryAvailable, "100Mi", 0)];
        assert_eq!(fast_suffices(&mem_only, &s), Ok(()));
        let disk = [mem_only[0].clone(), threshold(Signal::NodeFsAvailable, "10Mi", 0)];
        let err = fast_suffices(&disk, &s).unwrap_err();
        assert!(err.contains("nodefs.available"), "{err}");
        // Unmet: fine.
        let low = [threshold(Signal::NodeFsAvailable, "1Mi", 0)];
        assert_eq!(fast_suffices(&low, &s), Ok(()));
    }
}
