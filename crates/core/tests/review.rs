//! Second-pair-of-eyes checks of the decision core against the kubelet's rules (spec §4–§14),
//! each in this project's own data. One test per rule; edge cases first.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use headroom_core::admission::admit;
use headroom_core::config::KubeletConfig;
use headroom_core::manager::grace_override;
use headroom_core::message::eviction_message;
use headroom_core::notifier;
use headroom_core::observe::observe;
use headroom_core::pod::Pod;
use headroom_core::quantity::Quantity;
use headroom_core::signal::{NodeCondition, Resource, Signal};
use headroom_core::summary::Summary;
use serde_json::json;

fn pod_json(v: serde_json::Value) -> Pod {
    serde_json::from_value(v).unwrap()
}

#[test]
fn hard_and_soft_memory_both_actionable_reclaim_with_the_hard_one() {
    // Soft 1Gi (grace 10s) and hard 200Mi: both actionable once the soft grace has passed.
    let cfg = config(vec![
        threshold(Signal::MemoryAvailable, qty("1Gi"), 10, None),
        threshold(Signal::MemoryAvailable, qty("200Mi"), 0, None),
    ]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let d0 = sim.mem(0, 150 * MI, 4 * GI, &ws);
    // Only the hard one is actionable at t0.
    assert_eq!(d0.evictions.len(), 1);
    assert_eq!(d0.evictions[0].grace_period_seconds, 1);
    let d1 = sim.mem(10, 150 * MI, 4 * GI, &ws);
    assert_eq!(d1.actionable.len(), 2, "{d1:?}");
    let r = d1.reclaiming.clone().unwrap();
    assert!(r.is_hard(), "hard memory threshold is reclaimed first: {r:?}");
    assert_eq!(d1.evictions[0].grace_period_seconds, 1);
    assert!(
        d1.evictions[0].message.starts_with(
            "The node was low on resource: memory. Threshold quantity: 200Mi, available: 150Mi. "
        ),
        "{}",
        d1.evictions[0].message
    );
}

#[test]
fn min_reclaim_hold_keeps_first_observed_condition_and_evicts() {
    // Hard 100Mi with minReclaim 500Mi: fires at 50Mi, then 300Mi is above the threshold but
    // below threshold + minReclaim, so the fired threshold stays active (one entry, not two).
    let cfg = config(vec![threshold(
        Signal::MemoryAvailable,
        qty("100Mi"),
        0,
        Some(qty("500Mi")),
    )]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let d0 = sim.mem(0, 50 * MI, 4 * GI, &ws);
    assert_eq!(d0.thresholds_met.len(), 1);
    let d1 = sim.mem(10, 300 * MI, 4 * GI, &ws);
    assert_eq!(
        d1.thresholds_met.len(),
        1,
        "merge must not duplicate: {:?}",
        d1.thresholds_met
    );
    assert!(d1.thresholds_met[0].held_by_min_reclaim);
    assert_eq!(d1.thresholds_met[0].first_observed, at(0));
    assert_eq!(d1.conditions, vec![NodeCondition::MemoryPressure]);
    assert_eq!(d1.evictions.len(), 1, "a held threshold still evicts");
    // Message reports the threshold itself (min-reclaim not added).
    assert!(
        d1.evictions[0]
            .message
            .contains("Threshold quantity: 100Mi, available: 300Mi. "),
        "{}",
        d1.evictions[0].message
    );
    // 600Mi >= 100Mi + 500Mi: released and forgotten.
    let d2 = sim.mem(20, 600 * MI, 4 * GI, &ws);
    assert!(d2.thresholds_met.is_empty());
    assert!(d2.evictions.is_empty());
    assert!(sim.state.thresholds_met().is_empty());
    // A soft threshold never fired (still in grace) is not held by min-reclaim.
    let cfg = config(vec![threshold(
        Signal::MemoryAvailable,
        qty("100Mi"),
        60,
        Some(qty("500Mi")),
    )]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    sim.mem(0, 50 * MI, 4 * GI, &ws);
    let d = sim.mem(10, 300 * MI, 4 * GI, &ws);
    assert!(d.thresholds_met.is_empty(), "{:?}", d.thresholds_met);
}

#[test]
fn zero_stats_time_is_always_fresh() {
    let cfg = config(vec![threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let mut s = summary(at(0), 50 * MI, 4 * GI, &ws);
    s.node.memory.as_mut().unwrap().time = None;
    assert_eq!(sim.sync(at(0), &s).evictions.len(), 1);
    assert_eq!(
        sim.sync(at(10), &s).evictions.len(),
        1,
        "a zero stats time never counts as stale"
    );
}

#[test]
fn pid_available_can_go_negative_and_capacity_is_max_pid() {
    let s: Summary = serde_json::from_value(json!({"node": {"nodeName": "n",
        "rlimit": {"maxpid": 100, "curproc": 130}}}))
    .unwrap();
    let o = observe(&s);
    let pid = o.get(Signal::PidAvailable).unwrap();
    assert_eq!(pid.available, Quantity::count(-30));
    assert_eq!(pid.capacity, Quantity::count(100));
    // Node memory capacity is available + workingSet, not any node status field.
    let s: Summary = serde_json::from_value(json!({"node": {"nodeName": "n",
        "memory": {"availableBytes": 3 * GI, "workingSetBytes": GI}}}))
    .unwrap();
    assert_eq!(
        observe(&s).get(Signal::MemoryAvailable).unwrap().capacity,
        Quantity::bytes(4 * GI as i64)
    );
    // Missing working set: no observation at all.
    let s: Summary =
        serde_json::from_value(json!({"node": {"nodeName": "n", "memory": {"availableBytes": 3 * GI}}}))
            .unwrap();
    assert!(observe(&s).get(Signal::MemoryAvailable).is_none());
}

fn pid_pod(name: &str, prio: i32) -> Pod {
    pod(name, prio, None, None)
}

#[test]
fn pid_ranking_priority_before_missing_stats() {
    // Upstream PID chain is priority -> process count; the missing-stats rule only applies
    // inside the process comparator, so a low-priority pod with stats beats a pod without.
    let cfg = config(vec![threshold(Signal::PidAvailable, qty("100"), 0, None)]);
    let pods = vec![pid_pod("nostats", 0), pid_pod("low", -5), pid_pod("busy", 0)];
    let mut sim = Sim::new(cfg, pods);
    let s: Summary = serde_json::from_value(json!({"node": {"nodeName": "n",
        "rlimit": {"time": at(0).to_string(), "maxpid": 1000, "curproc": 950}},
        "pods": [
            {"podRef": {"name": "low", "namespace": "default", "uid": "uid-low"}, "processStats": {"processCount": 1}},
            {"podRef": {"name": "busy", "namespace": "default", "uid": "uid-busy"}, "processStats": {"processCount": 500}}
        ]}))
    .unwrap();
    let d = sim.sync(at(0), &s);
    let order: Vec<&str> = d
        .ranking
        .iter()
        .map(|r| sim.pods[r.index].metadata.name.as_str())
        .collect();
    assert_eq!(order, ["low", "nostats", "busy"]);
    assert!(
        d.evictions[0]
            .message
            .starts_with("The node was low on resource: pids. Threshold quantity: 100, available: 50. ")
    );
}

#[test]
fn admission_toleration_matching() {
    let be = |tolerations: serde_json::Value| {
        pod_json(json!({"metadata": {"name": "be", "uid": "1"},
            "spec": {"containers": [{"name": "c"}], "tolerations": tolerations}}))
    };
    let mp = [NodeCondition::MemoryPressure];
    let cases = [
        (json!([{"operator": "Exists"}]), true),
        (
            json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists"}]),
            true,
        ),
        (
            json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"}]),
            true,
        ),
        (
            json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoExecute"}]),
            false,
        ),
        (json!([{"key": "node.kubernetes.io/memory-pressure"}]), true),
        (
            json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Equal", "value": ""}]),
            true,
        ),
        (
            json!([{"key": "node.kubernetes.io/memory-pressure", "operator": "Equal", "value": "true"}]),
            false,
        ),
        (
            json!([{"key": "node.kubernetes.io/disk-pressure", "operator": "Exists"}]),
            false,
        ),
        (json!([]), false),
    ];
    for (tol, want) in cases {
        let r = admit(&be(tol.clone()), &mp);
        assert_eq!(r.admit, want, "{tol}");
        if !want {
            assert_eq!(r.message, "The node had condition: [MemoryPressure]. ");
            assert_eq!(r.reason, "Evicted");
        }
    }
    // Tolerations do not help once another condition is present.
    let r = admit(
        &be(json!([{"operator": "Exists"}])),
        &[NodeCondition::MemoryPressure, NodeCondition::PIDPressure],
    );
    assert!(!r.admit);
    assert_eq!(
        r.message,
        "The node had condition: [MemoryPressure PIDPressure]. "
    );
    // Critical pods always go in, even under DiskPressure.
    let crit = pod_json(json!({"metadata": {"name": "c", "uid": "2"},
        "spec": {"priority": 2000000000, "containers": [{"name": "c"}]}}));
    assert!(admit(&crit, &[NodeCondition::DiskPressure]).admit);
    let almost = pod_json(json!({"metadata": {"name": "c", "uid": "2"},
        "spec": {"priority": 1999999999, "containers": [{"name": "c"}]}}));
    assert!(!admit(&almost, &[NodeCondition::DiskPressure]).admit);
    // status.qosClass wins over the spec.
    let declared = pod_json(json!({"metadata": {"name": "d", "uid": "3"},
        "spec": {"containers": [{"name": "c"}]}, "status": {"qosClass": "Burstable"}}));
    assert!(admit(&declared, &mp).admit);
}

#[test]
fn effective_request_with_sidecars_init_and_overhead() {
    let mem = |v: &str| json!({"requests": {"memory": v}});
    let p = pod_json(json!({"metadata": {"name": "p", "uid": "p"}, "spec": {
        "containers": [{"name": "app", "resources": mem("100Mi")}],
        "initContainers": [
            {"name": "side1", "restartPolicy": "Always", "resources": mem("50Mi")},
            {"name": "init", "resources": mem("200Mi")},
            {"name": "side2", "restartPolicy": "Always", "resources": mem("30Mi")}
        ],
        "overhead": {"memory": "10Mi"}
    }}));
    // regular + sidecars = 180Mi; init step = 200Mi + 50Mi (only sidecars before it) = 250Mi.
    assert_eq!(p.request("memory"), Quantity::parse("260Mi").unwrap());
    // Overhead only when something was requested.
    let be = pod_json(json!({"metadata": {"name": "b", "uid": "b"}, "spec": {
        "containers": [{"name": "app"}], "overhead": {"memory": "10Mi"}}}));
    assert!(be.request("memory").is_zero());
}

#[test]
fn grace_override_rules() {
    let t_hard = threshold(Signal::MemoryAvailable, qty("1Gi"), 0, None);
    let t_soft = threshold(Signal::MemoryAvailable, qty("1Gi"), 30, None);
    let with_tgps = |s: i64| {
        pod_json(json!({"metadata": {"name": "p", "uid": "p"},
            "spec": {"terminationGracePeriodSeconds": s, "containers": [{"name": "c"}]}}))
    };
    let plain = pod("p", 0, None, None);
    assert_eq!(grace_override(&t_hard, &with_tgps(300), 60), 1);
    assert_eq!(grace_override(&t_soft, &plain, 60), 60);
    assert_eq!(grace_override(&t_soft, &with_tgps(20), 60), 20);
    assert_eq!(grace_override(&t_soft, &with_tgps(300), 60), 60);
    assert_eq!(grace_override(&t_soft, &with_tgps(30), 0), 0);
    assert_eq!(grace_override(&t_soft, &with_tgps(30), -1), -1);
}

#[test]
fn notifier_arming_hard_soft_allocatable() {
    let s: Summary = serde_json::from_value(json!({"node": {"nodeName": "n",
        "memory": {"availableBytes": GI, "workingSetBytes": 3 * GI, "usageBytes": 3 * GI + 512 * MI},
        "systemContainers": [{"name": "pods",
            "memory": {"availableBytes": GI, "workingSetBytes": GI, "usageBytes": GI + 256 * MI}}]}}))
    .unwrap();
    let cfg = KubeletConfig::parse(
        "evictionHard: {memory.available: 100Mi}\nevictionSoft: {memory.available: \"25%\"}\n\
         evictionSoftGracePeriod: {memory.available: 1m}\nkernelMemcgNotification: true\n",
        "kubelet.yaml",
    )
    .unwrap()
    .eviction()
    .unwrap();
    let arms: Vec<_> = notifier::arm_all(&cfg.thresholds, &s, "/kubepods")
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let got: Vec<(&str, i64)> = arms
        .iter()
        .map(|a| (a.description.as_str(), a.arm_at_bytes))
        .collect();
    let gi = GI as i64;
    let mi = MI as i64;
    assert_eq!(
        got,
        [
            ("hard memory eviction threshold", 4 * gi - 100 * mi + 512 * mi),
            ("soft memory eviction threshold", 4 * gi - gi + 512 * mi),
            (
                "hard allocatable memory eviction threshold",
                2 * gi - 100 * mi + 256 * mi
            ),
        ]
    );
    // Incomplete stats: an error naming what is missing, not a panic.
    let s: Summary = serde_json::from_value(json!({"node": {"nodeName": "n",
        "memory": {"availableBytes": GI, "workingSetBytes": 3 * GI}}}))
    .unwrap();
    let e = notifier::arm(&cfg.thresholds[0], &s, "/kubepods").unwrap_err();
    assert!(e.to_string().contains("summary was incomplete"), "{e}");
}

#[test]
fn soft_threshold_with_zero_grace_is_hard_everywhere() {
    let cfg = KubeletConfig::parse(
        "evictionHard: {}\nevictionSoft: {memory.available: 300Mi}\n\
         evictionSoftGracePeriod: {memory.available: 0s}\n",
        "kubelet.yaml",
    )
    .unwrap()
    .eviction()
    .unwrap();
    let signals: Vec<(Signal, bool)> = cfg.thresholds.iter().map(|t| (t.signal, t.is_hard())).collect();
    assert_eq!(
        signals,
        [
            (Signal::MemoryAvailable, true),
            (Signal::AllocatableMemoryAvailable, true)
        ]
    );
    assert_eq!(
        notifier::description(&cfg.thresholds[0]),
        "hard memory eviction threshold"
    );
}

#[test]
fn message_lines_only_for_containers_over_request() {
    let p = pod_json(
        json!({"metadata": {"name": "web", "namespace": "ns", "uid": "u"}, "spec": {
            "containers": [
                {"name": "exact", "resources": {"requests": {"memory": "100Mi"}}},
                {"name": "over", "resources": {"requests": {"memory": "100Mi"}}}
            ],
            "initContainers": [{"name": "side", "restartPolicy": "Always"}]
        }}),
    );
    let stats: headroom_core::summary::PodStats = serde_json::from_value(json!({
    "podRef": {"name": "web", "namespace": "ns", "uid": "u"},
    "containers": [
        {"name": "exact", "memory": {"workingSetBytes": 100 * MI}},
        {"name": "over", "memory": {"workingSetBytes": 150 * MI}},
        {"name": "side", "memory": {"workingSetBytes": 1000}},
        {"name": "ghost", "memory": {"workingSetBytes": GI}}
    ]}))
    .unwrap();
    let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&stats), None);
    assert_eq!(
        msg,
        "The node was low on resource: memory. \
         Container over was using 150Mi, request is 100Mi, has larger consumption of memory. \
         Container side was using 1k, request is 0, has larger consumption of memory. "
    );
    assert_eq!(ann["offending_containers"], "over,side");
    // Below 1024 a BinarySI quantity prints in decimal form, as apimachinery does: 1000 -> 1k.
    assert_eq!(ann["offending_containers_usage"], "150Mi,1k");
    assert_eq!(ann["starved_resource"], "memory");
    // Nobody over: empty annotations values, still present.
    let quiet: headroom_core::summary::PodStats = serde_json::from_value(json!({
        "podRef": {"name": "web", "namespace": "ns", "uid": "u"}, "containers": []}))
    .unwrap();
    let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&quiet), None);
    assert_eq!(msg, "The node was low on resource: memory. ");
    assert_eq!(ann["offending_containers"], "");
    assert_eq!(ann.len(), 3);
    // No stats: no annotations at all.
    let (_, ann) = eviction_message(Resource::Memory, &p, None, None);
    assert!(ann.is_empty());
}

#[test]
fn percentage_disable_forms_and_not_quite_disable() {
    let parse = |yaml: &str| {
        KubeletConfig::parse(yaml, "k.yaml")
            .unwrap()
            .eviction()
            .map(|e| e.thresholds)
    };
    assert!(
        parse("evictionHard: {memory.available: \"0%\"}\nenforceNodeAllocatable: []\n")
            .unwrap()
            .is_empty()
    );
    assert!(
        parse("evictionHard: {memory.available: \"100%\"}\nenforceNodeAllocatable: []\n")
            .unwrap()
            .is_empty()
    );
    let full = parse("evictionHard: {memory.available: \"100.0%\"}\nenforceNodeAllocatable: []\n").unwrap();
    assert_eq!(full.len(), 1);
    let cfg = config(full);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let d = sim.mem(0, 4 * GI - 1, 4 * GI, &ws);
    assert_eq!(d.conditions, vec![NodeCondition::MemoryPressure]);
    let zero = parse("evictionHard: {memory.available: \"0.0%\"}\nenforceNodeAllocatable: []\n").unwrap();
    assert_eq!(zero.len(), 1);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(config(zero), pods);
    assert!(sim.mem(0, 0, 4 * GI, &ws).conditions.is_empty());
}

#[test]
fn containerfs_copies_imagefs_on_a_dedicated_image_fs() {
    use headroom_core::manager::derive_containerfs;
    use headroom_core::rank::FsTopology;
    let cfg = vec![
        threshold(Signal::NodeFsAvailable, qty("1Gi"), 0, None),
        threshold(Signal::ImageFsAvailable, qty("2Gi"), 0, None),
        threshold(Signal::ImageFsAvailable, qty("3Gi"), 30, None),
        threshold(Signal::ContainerFsAvailable, qty("9Gi"), 0, None),
    ];
    let derived = |topology| {
        derive_containerfs(&cfg, topology)
            .into_iter()
            .filter(|t| t.threshold.signal == Signal::ContainerFsAvailable)
            .map(|t| (t.threshold.value.to_string(), t.threshold.is_hard()))
            .collect::<Vec<_>>()
    };
    let dedicated = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: false,
    };
    assert_eq!(
        derived(dedicated),
        [("2Gi".to_string(), true), ("3Gi".to_string(), false)]
    );
    assert_eq!(derived(FsTopology::default()), [("1Gi".to_string(), true)]);
    let split = FsTopology {
        dedicated_image_fs: true,
        split_container_fs: true,
    };
    assert_eq!(derived(split), [("1Gi".to_string(), true)]);
}

#[test]
fn reasons_print_percentages_as_written() {
    let cfg = config(vec![threshold(Signal::MemoryAvailable, pct(30.0), 60, None)]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let d = sim.mem(0, GI, 4 * GI, &ws);
    let reason = d.no_eviction_reason.unwrap();
    assert_eq!(
        reason,
        "soft memory.available<30% met for 0s of its 60s grace period"
    );
}

#[test]
fn disk_ranking_counts_only_local_ephemeral_volumes() {
    use headroom_core::rank::{FsTopology, RankKind, facts};
    // Current upstream (`IsLocalEphemeralVolume` + hostPath): hostPath, gitRepo, configMap and
    // emptyDir on the default medium. Not: downwardAPI, secret, Memory or HugePages emptyDirs.
    let p = pod_json(json!({"metadata": {"name": "p", "uid": "p"}, "spec": {
        "containers": [{"name": "c"}],
        "volumes": [
            {"name": "host", "hostPath": {"path": "/data"}},
            {"name": "git", "gitRepo": {"repository": "r"}},
            {"name": "cm", "configMap": {"name": "cm"}},
            {"name": "disk", "emptyDir": {}},
            {"name": "explicit-default", "emptyDir": {"medium": ""}},
            {"name": "downward", "downwardAPI": {}},
            {"name": "secret", "secret": {"secretName": "s"}},
            {"name": "ram", "emptyDir": {"medium": "Memory"}},
            {"name": "huge", "emptyDir": {"medium": "HugePages"}}
        ]
    }}));
    let names = [
        ("host", 1u64),
        ("git", 2),
        ("cm", 4),
        ("disk", 8),
        ("explicit-default", 16),
        ("downward", 32),
        ("secret", 64),
        ("ram", 128),
        ("huge", 256),
    ];
    let volume: Vec<_> = names
        .iter()
        .map(|(n, b)| json!({"name": n, "usedBytes": b * MI, "inodesUsed": b}))
        .collect();
    let stats: headroom_core::summary::PodStats = serde_json::from_value(json!({
        "podRef": {"name": "p", "uid": "p"}, "containers": [], "volume": volume}))
    .unwrap();
    let kind = RankKind::for_signal(Signal::NodeFsAvailable, FsTopology::default());
    let f = facts(kind, &p, Some(&stats));
    assert_eq!(f.usage, Quantity::bytes(31 * MI as i64));
    let kind = RankKind::for_signal(Signal::NodeFsInodesFree, FsTopology::default());
    assert_eq!(facts(kind, &p, Some(&stats)).usage, Quantity::count(31));
}

#[test]
fn pod_level_message_needs_memory_stats_but_not_a_working_set() {
    // Upstream checks only that the pod has memory stats; a missing working set counts as 0.
    let p = pod_json(
        json!({"metadata": {"name": "plr", "namespace": "ns", "uid": "u"}, "spec": {
            "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "2Gi"}},
            "containers": [{"name": "c"}]
        }}),
    );
    let with_ws: headroom_core::summary::PodStats = serde_json::from_value(json!({
        "podRef": {"name": "plr", "uid": "u"}, "memory": {"workingSetBytes": 3 * GI}, "containers": []}))
    .unwrap();
    let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&with_ws), None);
    assert_eq!(
        msg,
        "The node was low on resource: memory. Pod plr was using 3Gi, request is 1Gi, has larger consumption of memory. "
    );
    assert_eq!(ann["offending_pod"], "plr");
    assert_eq!(ann["offending_pod_usage"], "3Gi");
    let no_ws: headroom_core::summary::PodStats = serde_json::from_value(json!({
        "podRef": {"name": "plr", "uid": "u"}, "memory": {"rssBytes": 5}, "containers": []}))
    .unwrap();
    let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&no_ws), None);
    assert!(
        msg.ends_with("Pod plr was using 0, request is 1Gi, has larger consumption of memory. "),
        "{msg}"
    );
    assert_eq!(ann["offending_pod_usage"], "0");
    let no_memory: headroom_core::summary::PodStats = serde_json::from_value(json!({
        "podRef": {"name": "plr", "uid": "u"}, "containers": []}))
    .unwrap();
    let (msg, ann) = eviction_message(Resource::Memory, &p, Some(&no_memory), None);
    assert_eq!(msg, "The node was low on resource: memory. ");
    assert!(!ann.contains_key("offending_pod"));
    // Not for other resources.
    let (msg, _) = eviction_message(Resource::EphemeralStorage, &p, Some(&with_ws), None);
    assert_eq!(msg, "The node was low on resource: ephemeral-storage. ");
}

#[test]
fn an_explicit_go_zero_time_is_the_zero_time() {
    // Go's zero time written out ("0001-01-01T00:00:00Z") must behave like a missing time:
    // the updated-stats filter keeps the threshold at every sync.
    let cfg = config(vec![threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)]);
    let (pods, ws) = set_a();
    let mut sim = Sim::new(cfg, pods);
    let mut s = summary(at(0), 50 * MI, 4 * GI, &ws);
    s.node.memory.as_mut().unwrap().time = Some("0001-01-01T00:00:00Z".parse().unwrap());
    assert_eq!(observe(&s).get(Signal::MemoryAvailable).unwrap().time, None);
    assert_eq!(sim.sync(at(0), &s).evictions.len(), 1);
    assert_eq!(sim.sync(at(10), &s).evictions.len(), 1);
}
