//! Manager sequences for the other signals (pid, disk) and for thresholds produced by the real
//! KubeletConfiguration parser (allocatable copies, `0s` soft grace).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use headroom_core::config::KubeletConfig;
use headroom_core::manager::EvictionCause;
use headroom_core::rank::{FsTopology, RankKind};
use headroom_core::signal::{NodeCondition, Resource, Signal};
use serde_json::json;

#[test]
fn pid_pressure_ranks_by_priority_then_process_count() {
    let pods = vec![
        pod("p1", 1, None, None),
        pod("p2", 0, None, None),
        pod("p3", 0, None, None),
    ];
    let mut sim = Sim::new(
        config(vec![threshold(Signal::PidAvailable, qty("1000"), 0, None)]),
        pods,
    );
    let s: headroom_core::summary::Summary = serde_json::from_value(json!({
        "node": {"rlimit": {"time": at(0).to_string(), "maxpid": 10000, "curproc": 9500}},
        "pods": [
            {"podRef": {"name": "p1", "namespace": "default", "uid": "uid-p1"}, "process_stats": {"process_count": 5000}},
            {"podRef": {"name": "p2", "namespace": "default", "uid": "uid-p2"}, "process_stats": {"process_count": 100}},
            {"podRef": {"name": "p3", "namespace": "default", "uid": "uid-p3"}, "process_stats": {"process_count": 4000}}
        ]
    }))
    .unwrap();
    let d = sim.sync(at(0), &s);
    assert_eq!(d.conditions, [NodeCondition::PIDPressure]);
    assert_eq!(d.rank_kind, Some(RankKind::Pid));
    assert_eq!(sim.evicted(&d).as_deref(), Some("p3"));
    assert_eq!(
        d.evictions[0].message,
        "The node was low on resource: pids. Threshold quantity: 1k, available: 500. "
    );
    // No containers in the stats: annotations present, nothing offending.
    assert_eq!(d.evictions[0].annotations["starved_resource"], "pids");
    assert_eq!(
        d.evictions[0].cause,
        EvictionCause::Threshold {
            signal: Signal::PidAvailable,
            resource: Resource::Pids
        }
    );
}

#[test]
fn disk_pressure_evicts_by_disk_usage_and_rejects_all_admissions() {
    let pods = vec![pod("small", 0, None, None), pod("big", 0, None, None)];
    let mut c = config(vec![threshold(Signal::NodeFsAvailable, pct(10.0), 0, None)]);
    c.local_storage_capacity_isolation = false;
    let mut sim = Sim::new(c, pods);
    sim.topology = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: false,
    };
    let s: headroom_core::summary::Summary = serde_json::from_value(json!({
        "node": {"fs": {"time": at(0).to_string(), "availableBytes": GI, "capacityBytes": 100 * GI}},
        "pods": [
            {"podRef": {"name": "small", "namespace": "default", "uid": "uid-small"},
             "containers": [{"name": "app", "rootfs": {"usedBytes": 50 * GI}, "logs": {"usedBytes": MI}}]},
            {"podRef": {"name": "big", "namespace": "default", "uid": "uid-big"},
             "containers": [{"name": "app", "rootfs": {"usedBytes": MI}, "logs": {"usedBytes": 2 * GI}}]}
        ]
    }))
    .unwrap();
    let d = sim.sync(at(0), &s);
    assert_eq!(d.conditions, [NodeCondition::DiskPressure]);
    // Dedicated image fs: nodefs ranks by logs + volumes, so the rootfs-heavy pod is not first,
    // and there is no node-level reclaim for nodefs in this layout.
    assert_eq!(sim.evicted(&d).as_deref(), Some("big"));
    assert!(!d.node_reclaim_assumed_nothing);
    // 10% as the kubelet computes it (f32): 10737418400, not 10Gi.
    let msg = &d.evictions[0].message;
    assert!(msg.starts_with("The node was low on resource: ephemeral-storage. Threshold quantity: 10737418400, available: 1Gi. "), "{msg}");
    assert!(
        msg.contains(
            "Container app was using 2049Mi, request is 0, has larger consumption of ephemeral-storage. "
        ),
        "{msg}"
    );
    let burstable = pod("new", 0, Some(10), None);
    let r = headroom_core::admission::admit(&burstable, sim.state.node_conditions());
    assert!(!r.admit);
    assert_eq!(r.message, "The node had condition: [DiskPressure]. ");
}

#[test]
fn thresholds_from_a_kubelet_configuration() {
    let yaml = "evictionHard: {memory.available: 500Mi}\nevictionSoft: {memory.available: 1Gi}\nevictionSoftGracePeriod: {memory.available: 0s}\n";
    let eviction = KubeletConfig::parse(yaml, "kubelet.yaml")
        .unwrap()
        .eviction()
        .unwrap();
    // Hard, soft-with-0s (hard in effect) and both allocatable copies.
    let signals: Vec<_> = eviction
        .thresholds
        .iter()
        .map(|t| (t.signal, t.is_hard()))
        .collect();
    assert!(signals.contains(&(Signal::AllocatableMemoryAvailable, true)));
    assert!(eviction.thresholds.iter().all(|t| t.is_hard()));
    let (pods, ws) = set_a();
    let mut sim = Sim::new(eviction, pods);
    // 900Mi available: only the 1Gi "soft" one is met, and it acts at once with 1 s.
    let d = sim.mem(0, 900 * MI, 8 * GI, &ws);
    assert_eq!(d.evictions[0].grace_period_seconds, 1);
    assert!(
        d.evictions[0]
            .message
            .contains("Threshold quantity: 1Gi, available: 900Mi. ")
    );
    // Allocatable: the pods container near its limit triggers the copied threshold.
    let mut s = summary(at(10), 4 * GI, 8 * GI, &ws);
    s.node.system_containers = serde_json::from_value(json!([{"name": "pods",
        "memory": {"time": at(10).to_string(), "availableBytes": 100 * MI, "workingSetBytes": 6 * GI, "usageBytes": 6 * GI}}])).unwrap();
    let d = sim.sync(at(10), &s);
    assert_eq!(
        d.reclaiming.as_ref().unwrap().signal,
        Signal::AllocatableMemoryAvailable
    );
    assert_eq!(d.evictions.len(), 1);
}
