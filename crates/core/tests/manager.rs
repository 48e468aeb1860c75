//! Manager-level sequences: synchronize called sync after sync, as the kubelet does.
//!
//! Over 600 lines on purpose: many short sync-after-sync sequences sharing one set of builders.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use headroom_core::manager::{EvictionCause, is_met, order_for_reclaim, stats_updated};
use headroom_core::observe::observe;
use headroom_core::rank::FsTopology;
use headroom_core::signal::{NodeCondition, Signal};
use headroom_core::threshold::Threshold;

const CAP: u64 = 8 * GI;

fn hard_100mi() -> Threshold {
    threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)
}

#[test]
fn strict_comparison_boundary_t14() {
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let d = sim.mem(0, 100 * MI, CAP, &ws);
    assert!(d.thresholds_met.is_empty());
    assert!(d.conditions.is_empty());
    assert!(d.evictions.is_empty());
    assert_eq!(d.no_eviction_reason.as_deref(), Some("no threshold is met"));
    let d = sim.mem(10, 100 * MI - 1, CAP, &ws);
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    assert_eq!(sim.evicted(&d).as_deref(), Some("a5-besteffort-low"));
}

#[test]
fn hard_eviction_of_set_a_message_and_grace() {
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let d = sim.mem(0, 90 * MI, CAP, &ws);
    let ranking: Vec<_> = d
        .ranking
        .iter()
        .map(|r| sim.pods[r.index].metadata.name.as_str())
        .collect();
    assert_eq!(
        ranking,
        [
            "a5-besteffort-low",
            "a3-burstable-above",
            "a4-besteffort-high",
            "a1-guaranteed",
            "a2-burstable-below"
        ]
    );
    let e = &d.evictions[0];
    assert_eq!(e.grace_period_seconds, 1);
    assert_eq!(
        e.cause,
        EvictionCause::Threshold {
            signal: Signal::MemoryAvailable,
            resource: headroom_core::signal::Resource::Memory
        }
    );
    assert_eq!(
        e.message,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 90Mi. \
         Container app was using 100Mi, request is 0, has larger consumption of memory. "
    );
    assert_eq!(e.annotations["offending_containers"], "app");
    assert_eq!(e.annotations["offending_containers_usage"], "100Mi");
    assert_eq!(e.annotations["starved_resource"], "memory");
    assert_eq!(d.evictions.len(), 1, "at most one pod per sync");
}

#[test]
fn soft_threshold_sets_condition_at_once_and_grace_resets_on_a_dip_t15() {
    let soft = threshold(Signal::MemoryAvailable, qty("2Gi"), 60, None);
    let (pods, ws) = set_a();
    let mut c = config(vec![soft]);
    c.max_pod_grace_period_seconds = 30;
    let mut sim = Sim::new(c, pods);
    let low = GI;
    let d = sim.mem(0, low, CAP, &ws);
    assert_eq!(
        d.conditions,
        [NodeCondition::MemoryPressure],
        "soft sets the condition before grace"
    );
    assert!(d.evictions.is_empty());
    assert!(
        d.no_eviction_reason
            .unwrap()
            .contains("met for 0s of its 60s grace period")
    );
    assert!(sim.mem(59, low, CAP, &ws).evictions.is_empty());
    let d = sim.mem(60, low, CAP, &ws);
    assert_eq!(sim.evicted(&d).as_deref(), Some("a5-besteffort-low"));
    assert_eq!(
        d.evictions[0].grace_period_seconds, 30,
        "soft: evictionMaxPodGracePeriod"
    );

    // Reset: met t0, not met t0+30s, met t0+40s -> actionable only from t0+100s.
    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![threshold(Signal::MemoryAvailable, qty("2Gi"), 60, None)]),
        pods,
    );
    sim.mem(0, low, CAP, &ws);
    let d = sim.mem(30, 3 * GI, CAP, &ws);
    assert!(d.thresholds_met.is_empty());
    assert_eq!(
        d.conditions,
        [NodeCondition::MemoryPressure],
        "transition period keeps it"
    );
    sim.mem(40, low, CAP, &ws);
    assert_eq!(sim.state.first_observed(0), Some(at(40)));
    assert!(sim.mem(99, low, CAP, &ws).evictions.is_empty());
    assert_eq!(sim.mem(100, low, CAP, &ws).evictions.len(), 1);
}

#[test]
fn soft_grace_override_is_capped_by_pod_termination_grace() {
    let mut p = pod("slow", 0, None, None);
    p.spec.termination_grace_period_seconds = Some(10);
    let mut c = config(vec![threshold(Signal::MemoryAvailable, qty("2Gi"), 0, None)]);
    c.thresholds
        .push(threshold(Signal::MemoryAvailable, qty("1Gi"), 5, None));
    c.max_pod_grace_period_seconds = 120;
    let stats = vec![("slow".to_string(), GI)];
    let mut sim = Sim::new(
        config(vec![threshold(Signal::MemoryAvailable, qty("1Gi"), 5, None)]),
        vec![p.clone()],
    );
    sim.config.max_pod_grace_period_seconds = 120;
    sim.mem(0, 512 * MI, CAP, &stats);
    let d = sim.mem(5, 512 * MI, CAP, &stats);
    assert_eq!(d.evictions[0].grace_period_seconds, 10, "min(120, pod's 10)");
    sim.config.max_pod_grace_period_seconds = 3;
    let d = sim.mem(10, 512 * MI, CAP, &stats);
    assert_eq!(d.evictions[0].grace_period_seconds, 3);
    // Hard and soft both actionable: hard is chosen (deterministic rule), grace 1 s.
    let mut sim = Sim::new(c, vec![p]);
    sim.mem(0, 512 * MI, CAP, &stats);
    let d = sim.mem(5, 512 * MI, CAP, &stats);
    assert!(d.reclaiming.as_ref().unwrap().is_hard());
    assert_eq!(d.evictions[0].grace_period_seconds, 1);
    assert!(
        d.evictions[0]
            .message
            .contains("Threshold quantity: 2Gi, available: 512Mi. ")
    );
}

#[test]
fn transition_period_keeps_condition_strictly_t16() {
    let (pods, ws) = set_a();
    let mut c = config(vec![hard_100mi()]);
    c.pressure_transition_period_ns = 300 * SEC;
    let mut sim = Sim::new(c, pods);
    sim.mem(0, 50 * MI, CAP, &ws);
    let d = sim.mem(10, 4 * GI, CAP, &ws);
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    assert!(d.evictions.is_empty());
    assert_eq!(
        sim.mem(299, 4 * GI, CAP, &ws).conditions,
        [NodeCondition::MemoryPressure]
    );
    assert!(
        sim.mem(300, 4 * GI, CAP, &ws).conditions.is_empty(),
        "exactly the period: cleared"
    );
    assert!(sim.state.node_conditions().is_empty());
}

#[test]
fn min_reclaim_keeps_a_fired_threshold_active_t13() {
    let t = threshold(Signal::MemoryAvailable, qty("1Gi"), 0, Some(qty("500Mi")));
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(vec![t]), pods);
    let d = sim.mem(0, 500 * MI, CAP, &ws);
    assert_eq!(d.evictions.len(), 1);
    // 1.05Gi available: above the threshold but below threshold + min reclaim.
    let d = sim.mem(10, GI + 51 * MI, CAP, &ws);
    assert_eq!(d.thresholds_met.len(), 1);
    assert!(d.thresholds_met[0].held_by_min_reclaim);
    assert_eq!(
        d.evictions.len(),
        1,
        "keeps evicting until value + minReclaim is available"
    );
    assert!(
        d.evictions[0]
            .message
            .contains("Threshold quantity: 1Gi, available: 1075Mi. ")
    );
    // Recovered past 1.5Gi: no longer met.
    let d = sim.mem(20, 2 * GI, CAP, &ws);
    assert!(d.thresholds_met.is_empty());
    // A fresh crossing into the min-reclaim band (never fired) is not met.
    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![threshold(
            Signal::MemoryAvailable,
            qty("1Gi"),
            0,
            Some(qty("500Mi")),
        )]),
        pods,
    );
    assert!(sim.mem(0, GI + 51 * MI, CAP, &ws).thresholds_met.is_empty());
}

#[test]
fn stale_stats_suppress_eviction_but_keep_condition_t17() {
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let s = summary(at(0), 50 * MI, CAP, &ws);
    assert_eq!(sim.sync(at(0), &s).evictions.len(), 1);
    // Same Summary (stats time did not advance) ten seconds later.
    let d = sim.sync(at(10), &s);
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    assert!(d.evictions.is_empty());
    assert!(d.no_eviction_reason.unwrap().contains("did not advance"));
    // Older stats than last time: also dropped; newer: acted on.
    let d = sim.sync(at(20), &summary(at(-5), 50 * MI, CAP, &ws));
    assert!(d.evictions.is_empty());
    assert_eq!(
        sim.sync(at(30), &summary(at(30), 50 * MI, CAP, &ws))
            .evictions
            .len(),
        1
    );

    // The primitive itself.
    let now = observe(&summary(at(60), 1, 2, &[]));
    let before = observe(&summary(at(0), 1, 2, &[]));
    let zero = {
        let mut s = summary(at(0), 1, 2, &[]);
        s.node.memory.as_mut().unwrap().time = None;
        observe(&s)
    };
    assert!(
        stats_updated(Signal::MemoryAvailable, &zero, &now),
        "zero current time: kept"
    );
    assert!(
        stats_updated(Signal::MemoryAvailable, &now, &Default::default()),
        "no previous: kept"
    );
    assert!(!stats_updated(Signal::MemoryAvailable, &before, &now));
    assert!(!stats_updated(Signal::MemoryAvailable, &now, &now));
    assert!(stats_updated(Signal::MemoryAvailable, &now, &before));
    assert!(
        !stats_updated(Signal::NodeFsAvailable, &now, &before),
        "no observation: dropped"
    );
}

#[test]
fn critical_pods_are_ranked_but_skipped() {
    let (mut pods, ws) = set_a();
    pods[4]
        .metadata
        .annotations
        .insert("kubernetes.io/config.source".into(), "file".into());
    pods[2]
        .metadata
        .annotations
        .insert("kubernetes.io/config.mirror".into(), "x".into());
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    assert_eq!(d.skipped_critical, [4, 2]);
    assert_eq!(sim.evicted(&d).as_deref(), Some("a4-besteffort-high"));
    // Everyone critical: nothing evicted, with a reason.
    for p in &mut sim.pods {
        p.spec.priority = Some(2_000_001_000);
    }
    let d = sim.mem(10, 50 * MI, CAP, &ws);
    assert!(d.evictions.is_empty());
    assert!(d.no_eviction_reason.unwrap().contains("critical"));
}

#[test]
fn pods_without_stats_go_first_and_no_pods_means_no_eviction() {
    let (mut pods, ws) = set_a();
    pods.push(pod("just-started", 1000, Some(4096), Some(4096)));
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    assert_eq!(sim.evicted(&d).as_deref(), Some("just-started"));
    assert_eq!(
        d.evictions[0].message,
        "The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. "
    );
    assert!(d.evictions[0].annotations.is_empty());
    let mut sim = Sim::new(config(vec![hard_100mi()]), vec![]);
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    assert!(d.evictions.is_empty());
    assert!(d.no_eviction_reason.unwrap().contains("no pods are active"));
}

#[test]
fn memory_beats_disk_when_both_are_met_t18() {
    let mut t = vec![
        threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
        threshold(Signal::PidAvailable, qty("100"), 0, None),
        threshold(Signal::AllocatableMemoryAvailable, qty("100Mi"), 0, None),
    ];
    order_for_reclaim(&mut t);
    let order: Vec<_> = t.iter().map(|t| t.signal).collect();
    assert_eq!(
        order,
        [
            Signal::AllocatableMemoryAvailable,
            Signal::NodeFsAvailable,
            Signal::PidAvailable
        ]
    );
    let mut t = vec![
        threshold(Signal::AllocatableMemoryAvailable, qty("100Mi"), 0, None),
        threshold(Signal::MemoryAvailable, qty("1Gi"), 30, None),
        threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None),
    ];
    order_for_reclaim(&mut t);
    assert_eq!(t[0].signal, Signal::MemoryAvailable);
    assert!(t[0].is_hard());
    assert_eq!(t[1].signal, Signal::AllocatableMemoryAvailable);

    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![
            threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
            hard_100mi(),
        ]),
        pods,
    );
    let mut s = summary(at(0), 50 * MI, CAP, &ws);
    s.node.fs = serde_json::from_value(
        serde_json::json!({"time": at(0).to_string(), "availableBytes": 1, "capacityBytes": 100 * GI}),
    )
    .unwrap();
    let d = sim.sync(at(0), &s);
    assert_eq!(
        d.conditions,
        [NodeCondition::MemoryPressure, NodeCondition::DiskPressure]
    );
    assert!(
        d.evictions[0]
            .message
            .starts_with("The node was low on resource: memory. ")
    );
    assert!(!d.node_reclaim_assumed_nothing);
}

#[test]
fn allocatable_pressure_uses_the_pods_container() {
    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![threshold(
            Signal::AllocatableMemoryAvailable,
            pct(10.0),
            0,
            None,
        )]),
        pods,
    );
    let mut s = summary(at(0), 6 * GI, CAP, &ws);
    s.node.system_containers = serde_json::from_value(serde_json::json!([{"name": "pods",
        "memory": {"time": at(0).to_string(), "availableBytes": 300 * MI, "workingSetBytes": 3796 * MI, "usageBytes": 4000 * MI}}])).unwrap();
    let d = sim.sync(at(0), &s);
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    // 10% of the 4Gi pods limit, with the kubelet's f32 rounding.
    let q = (4.0 * GI as f64 * f64::from(0.1f32)) as i64;
    assert!(
        d.evictions[0].message.starts_with(&format!(
            "The node was low on resource: memory. Threshold quantity: {q}, available: 300Mi. "
        )),
        "{}",
        d.evictions[0].message
    );
}

#[test]
fn percentage_arithmetic_t11_t12() {
    let cap = 1000 * MI;
    let t = threshold(Signal::MemoryAvailable, pct(10.0), 0, None);
    assert!(
        is_met(&t, &observe(&summary(at(0), 100 * MI, cap, &[])), false),
        "104857601 > 104857600"
    );
    let mem = threshold(Signal::MemoryAvailable, pct(20.0), 0, Some(pct(5.0)));
    assert!(is_met(&mem, &observe(&summary(at(0), 100 * MI, cap, &[])), false));
    assert!(!is_met(
        &mem,
        &observe(&summary(at(0), 300 * MI, cap, &[])),
        false
    ));
    assert!(is_met(&mem, &observe(&summary(at(0), 225 * MI, cap, &[])), true));
    assert!(!is_met(&mem, &observe(&summary(at(0), 300 * MI, cap, &[])), true));
}

#[test]
fn local_storage_evictions_come_first_and_skip_thresholds() {
    let (mut pods, mut ws) = set_a();
    let hog: headroom_core::pod::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "hog", "namespace": "default", "uid": "uid-hog"},
        "spec": {"containers": [{"name": "app", "resources": {"limits": {"ephemeral-storage": "1Gi"}}}]}
    }))
    .unwrap();
    pods.push(hog);
    ws.push(("hog".into(), MI));
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    let mut s = summary(at(0), 50 * MI, CAP, &ws);
    s.pods[5].ephemeral_storage = serde_json::from_value(serde_json::json!({"usedBytes": 2 * GI})).unwrap();
    let d = sim.sync(at(0), &s);
    assert_eq!(sim.evicted(&d).as_deref(), Some("hog"));
    assert_eq!(d.evictions[0].grace_period_seconds, 1);
    assert_eq!(
        d.evictions[0].message,
        "Pod ephemeral local storage usage exceeds the total limit of containers 1Gi. "
    );
    assert!(d.ranking.is_empty(), "threshold logic skipped this sync");
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    // Turned off: threshold eviction instead.
    sim.config.local_storage_capacity_isolation = false;
    let d = sim.sync(at(10), &summary(at(10), 50 * MI, CAP, &ws));
    assert_eq!(sim.evicted(&d).as_deref(), Some("a5-besteffort-low"));
}

#[test]
fn notifiers_are_armed_and_refreshed_at_most_every_10s() {
    let (pods, ws) = set_a();
    let mut c = config(vec![
        hard_100mi(),
        threshold(Signal::MemoryAvailable, qty("1Gi"), 30, None),
    ]);
    c.kernel_memcg_notification = true;
    let mut sim = Sim::new(c, pods);
    let d = sim.mem(0, 4 * GI, CAP, &ws);
    assert!(d.notifiers_refreshed);
    let arms: Vec<_> = d.notifiers.iter().map(|r| r.as_ref().unwrap().clone()).collect();
    assert_eq!(arms[0].description, "hard memory eviction threshold");
    assert_eq!(arms[1].description, "soft memory eviction threshold");
    assert_eq!(arms[0].cgroup, "");
    // usage = ws + 100Mi: arm at capacity - 100Mi + 100Mi inactive.
    assert_eq!(arms[0].arm_at_bytes, CAP as i64);
    assert!(
        !sim.mem(10, 3 * GI, CAP, &ws).notifiers_refreshed,
        "exactly 10 s: not yet"
    );
    let d = sim.mem(11, 3 * GI, CAP, &ws);
    assert!(d.notifiers_refreshed);
    // Without the pods container the allocatable notifier cannot be armed.
    let mut c = config(vec![threshold(
        Signal::AllocatableMemoryAvailable,
        qty("100Mi"),
        0,
        None,
    )]);
    c.kernel_memcg_notification = true;
    let mut sim = Sim::new(c, vec![]);
    let d = sim.mem(0, 4 * GI, CAP, &[]);
    assert!(
        d.notifiers[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("summary was incomplete")
    );
    // Off: nothing armed.
    let mut sim = Sim::new(config(vec![hard_100mi()]), vec![]);
    assert!(sim.mem(0, 4 * GI, CAP, &[]).notifiers.is_empty());
}

#[test]
fn containerfs_thresholds_are_derived_at_the_first_sync() {
    // Upstream derives the containerfs thresholds at its first sync. The copies it appends
    // count from the second sync; a user's own containerfs entry is overwritten in place, in the
    // array the first sync is already working on, so the user's value never counts.
    let fs = |t: i64, container_avail: u64| {
        let mut s = summary(at(t), 4 * GI, CAP, &[("p".into(), MI)]);
        s.node.fs = serde_json::from_value(serde_json::json!({"time": at(t).to_string(), "availableBytes": 50 * GI, "capacityBytes": 100 * GI})).unwrap();
        s.node.runtime = serde_json::from_value(serde_json::json!({"containerFs": {"time": at(t).to_string(), "availableBytes": container_avail, "capacityBytes": 100 * GI}})).unwrap();
        s
    };
    let mut c = config(vec![
        threshold(Signal::NodeFsAvailable, pct(10.0), 0, None),
        threshold(Signal::ContainerFsAvailable, pct(50.0), 0, None),
    ]);
    c.local_storage_capacity_isolation = false;
    let mut sim = Sim::new(c, vec![pod("p", 0, None, None)]);
    // 40% available: the user's 50% would be met, the nodefs copy (10%) is not.
    let d = sim.sync(at(0), &fs(0, 40 * GI));
    assert!(d.thresholds_met.is_empty(), "{:?}", d.thresholds_met);
    let d = sim.sync(at(10), &fs(10, 5 * GI));
    assert_eq!(d.thresholds_met.len(), 1);
    assert_eq!(d.thresholds_met[0].threshold.signal, Signal::ContainerFsAvailable);
    assert_eq!(d.thresholds_met[0].threshold.value, pct(10.0));
    assert_eq!(d.thresholds_met[0].id, 1, "the overwritten entry keeps its place");
    assert!(
        d.node_reclaim_assumed_nothing,
        "single fs: image GC first, assumed to free nothing"
    );
    // Without a user entry the copy is appended and counts from the second sync.
    let mut c = config(vec![threshold(Signal::NodeFsAvailable, pct(10.0), 0, None)]);
    c.local_storage_capacity_isolation = false;
    let mut sim = Sim::new(c, vec![pod("p", 0, None, None)]);
    assert!(sim.sync(at(0), &fs(0, 5 * GI)).thresholds_met.is_empty());
    let d = sim.sync(at(10), &fs(10, 5 * GI));
    assert_eq!(d.thresholds_met.len(), 1);
    assert_eq!(d.thresholds_met[0].threshold.signal, Signal::ContainerFsAvailable);
    // Dedicated image fs: containerfs copies imagefs instead.
    let mut sim = Sim::new(
        config(vec![threshold(Signal::ImageFsAvailable, pct(15.0), 0, None)]),
        vec![],
    );
    sim.topology = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: false,
    };
    sim.mem(0, 4 * GI, CAP, &[]);
    let eff = sim.state.effective_thresholds().unwrap();
    assert!(
        eff.iter()
            .any(|t| t.threshold.signal == Signal::ContainerFsAvailable && t.threshold.value == pct(15.0))
    );
}

#[test]
fn no_thresholds_and_no_isolation_does_nothing() {
    let mut c = config(vec![]);
    c.local_storage_capacity_isolation = false;
    let mut sim = Sim::new(c, vec![]);
    let d = sim.mem(0, 0, CAP, &[]);
    assert!(d.conditions.is_empty());
    assert!(d.no_eviction_reason.is_some());
}

#[test]
fn a_new_configuration_takes_effect() {
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    assert!(sim.mem(0, 500 * MI, CAP, &ws).thresholds_met.is_empty());
    sim.config.thresholds = vec![threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None)];
    let d = sim.mem(10, 500 * MI, CAP, &ws);
    assert_eq!(d.thresholds_met.len(), 1);
    assert_eq!(d.evictions.len(), 1);
}

#[test]
fn percentage_thresholds_on_memory_and_nodefs_t12() {
    use headroom_core::manager::still_reported;
    let mem = threshold(Signal::MemoryAvailable, pct(20.0), 0, Some(pct(5.0)));
    let nodefs = threshold(Signal::NodeFsAvailable, pct(30.0), 0, None);
    let obs = |mem_mi: u64, fs_gi: u64| {
        let mut s = summary(at(0), mem_mi * MI, 1000 * MI, &[]);
        s.node.fs = serde_json::from_value(
            serde_json::json!({"availableBytes": fs_gi * GI, "capacityBytes": 1000 * GI}),
        )
        .unwrap();
        observe(&s)
    };
    let met = |o: &headroom_core::observe::Observations| (is_met(&mem, o, false), is_met(&nodefs, o, false));
    assert_eq!(met(&obs(100, 100)), (true, true));
    assert_eq!(met(&obs(300, 400)), (false, false));
    assert_eq!(met(&obs(300, 100)), (false, true));
    assert_eq!(met(&obs(100, 400)), (true, false));
    // T16: condition last observed 1m ago.
    let last = at(0);
    assert!(still_reported(last, at(60), 120 * SEC));
    assert!(!still_reported(last, at(60), 30 * SEC));
    assert!(!still_reported(last, at(300), 300 * SEC));
}

#[test]
fn split_filesystem_with_kubelet_separate_disk_gc_off_fails_the_first_sync_then_never_ranks() {
    let (mut pods, mut ws) = set_a();
    let split = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: true,
    };
    let mut cfg = config(vec![hard_100mi()]);
    cfg.kubelet_separate_disk_gc = false;
    let mut sim = Sim::new(cfg, pods.clone());
    sim.topology = split;
    let d = sim.mem(0, 10 * MI, CAP, &ws);
    assert_eq!(
        d.error.as_deref(),
        Some("KubeletSeparateDiskGC is turned off but we still have a split filesystem")
    );
    assert!(d.thresholds_met.is_empty() && d.conditions.is_empty() && d.evictions.is_empty());
    assert!(sim.state.without_ranking());
    // The kubelet recorded the image-fs detection before failing, so later syncs run: the
    // condition is reported (admission refuses pods) but no threshold eviction ever happens.
    let d = sim.mem(10, 10 * MI, CAP, &ws);
    assert_eq!(d.error, None);
    assert_eq!(d.conditions, [NodeCondition::MemoryPressure]);
    assert!(d.evictions.is_empty());
    assert!(d.ranking.is_empty());
    assert!(!d.node_reclaim_assumed_nothing);
    assert!(
        d.no_eviction_reason
            .as_deref()
            .unwrap()
            .contains("no ranking function"),
        "{:?}",
        d.no_eviction_reason
    );
    // No containerfs copies were derived.
    assert_eq!(sim.state.effective_thresholds().unwrap().len(), 1);
    // Storage limits are still enforced.
    let hog: headroom_core::pod::Pod = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "hog", "namespace": "default", "uid": "uid-hog"},
        "spec": {"containers": [{"name": "app", "resources": {"limits": {"ephemeral-storage": "1Gi"}}}]}
    }))
    .unwrap();
    pods.push(hog);
    ws.push(("hog".into(), MI));
    sim.pods = pods.clone();
    let mut s = summary(at(20), 10 * MI, CAP, &ws);
    s.pods[5].ephemeral_storage = serde_json::from_value(serde_json::json!({"usedBytes": 2 * GI})).unwrap();
    let d = sim.sync(at(20), &s);
    assert_eq!(sim.evicted(&d).as_deref(), Some("hog"));
    // Turning the gate on (a restart with a new configuration) derives and ranks again.
    sim.config.kubelet_separate_disk_gc = true;
    let d = sim.mem(30, 10 * MI, CAP, &ws);
    assert!(!sim.state.without_ranking());
    assert_eq!(sim.evicted(&d).as_deref(), Some("a5-besteffort-low"));
    // Gate on from the start (the default since v1.31): the same node evicts at once.
    let mut sim = Sim::new(config(vec![hard_100mi()]), pods);
    sim.topology = split;
    let d = sim.mem(0, 10 * MI, CAP, &ws);
    assert_eq!(d.error, None);
    assert_eq!(sim.evicted(&d).as_deref(), Some("a5-besteffort-low"));
}
