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
//! So a fast pass collects pod cgroups without their containers
//! ([`headroom_linux::collect::Collector::collect_pods_at`]: the same reading code as a full
//! pass, node-level signals included) and is used only when none of those three needs can
//! arise: no local-storage limits can evict (as for the light pass), and every threshold that
//! is not a memory one is unmet on the fast figures ([`fast_suffices`]), so the threshold
//! reclaimed is a memory one and the ranking is the memory ranking. The pod chosen, the grace
//! period and the message's node part are then the full pass's (tested on random trees below);
//! the message lacks only the container lines. Otherwise the pass collects the whole tree.
//!
//! Grace: unchanged, the kubelet's. A hard threshold gives 1 s
//! (`immediateEvictionGracePeriodSeconds`, kubernetes#124063; it was 0, "the pod's own grace",
//! before ~v1.31), a soft one `evictionMaxPodGracePeriod` (capped by the pod's own). SIGTERM
//! first: a pod that exits on SIGTERM stops as fast as with SIGKILL.

use headroom_core::observe::observe;
use headroom_core::signal::Signal;
use headroom_core::summary::Summary;
use headroom_core::threshold::{Threshold, threshold_quantity};

/// Is `signal` ranked with the memory ranking (pod-level stats only)?
pub fn is_memory_signal(signal: Signal) -> bool {
    matches!(
        signal,
        Signal::MemoryAvailable | Signal::AllocatableMemoryAvailable
    )
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
        m
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
                "memory": mem(ws, cache * MIB, None),
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
                "systemContainers": [{"name": "pods", "memory": mem(total, 0, Some(pods_cap * MIB))}],
            },
            "pods": stat_pods,
        }))
        .unwrap();
        (summary, pods)
    }

    fn without_containers(s: &Summary) -> Summary {
        let mut fast = s.clone();
        for p in &mut fast.pods {
            p.containers.clear();
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

        /// The fast pass's figures (no container stats) choose the same pod with the same grace
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
            let fast = without_containers(&full);
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
