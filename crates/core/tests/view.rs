//! The sync step (`view::SyncStep`): pods joined by value, reason codes, and what a renderer
//! can rely on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use headroom_core::manager::NoEvictionCode;
use headroom_core::signal::Signal;
use headroom_core::view::SyncStep;

const CAP: u64 = 8 * GI;

#[test]
fn pods_are_joined_by_value_and_critical_ones_named() {
    let (mut pods, ws) = set_a();
    pods[4]
        .metadata
        .annotations
        .insert("kubernetes.io/config.source".into(), "file".into());
    let mut sim = Sim::new(
        config(vec![threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)]),
        pods,
    );
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    let step = SyncStep::new(&d, &sim.pods, None);
    let critical = sim.pods[4].key();
    assert_eq!(step.skipped_critical, std::slice::from_ref(&critical));
    let evicted = step.evicted.as_ref().unwrap();
    assert_eq!(
        Some(evicted.pod.clone()),
        sim.evicted(&d).map(|n| format!("default/{n}"))
    );
    assert_eq!(step.ranking[0], critical);
    assert_eq!(step.reason, None);
    assert_eq!(step.reason_code, None);
    // No kernelMemcgNotification: the key is an empty list and the refresh flag absent.
    let json = step.to_json();
    assert_eq!(json["memcgNotifiers"], serde_json::json!([]));
    assert!(json.get("memcgNotifiersRefreshed").is_none());
    assert!(json.get("syncError").is_none() && json.get("nodeReclaim").is_none());
}

#[test]
fn a_pod_list_shorter_than_the_decision_never_panics() {
    // A renderer handed the wrong pod list must not index out of range: the view leaves out
    // what it cannot join (synchronize itself never produces such an index).
    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)]),
        pods,
    );
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    assert!(!d.evictions.is_empty());
    let step = SyncStep::new(&d, &[], None);
    assert!(step.evictions.is_empty() && step.evicted.is_none() && step.ranking.is_empty());
}

#[test]
fn every_no_eviction_reason_carries_its_code() {
    let (pods, ws) = set_a();
    let soft = threshold(Signal::MemoryAvailable, qty("1Gi"), 60, None);
    let mut sim = Sim::new(config(vec![soft]), pods.clone());
    let code = |d: &headroom_core::manager::Decision| d.no_eviction_reason.as_ref().map(|r| r.code());
    assert_eq!(
        code(&sim.mem(0, 4 * GI, CAP, &ws)),
        Some(NoEvictionCode::NoThresholdMet)
    );
    assert_eq!(
        code(&sim.mem(10, 512 * MI, CAP, &ws)),
        Some(NoEvictionCode::GracePeriodPending)
    );

    let mut sim = Sim::new(config(vec![]), pods.clone());
    sim.config.local_storage_capacity_isolation = false;
    assert_eq!(
        code(&sim.mem(0, 4 * GI, CAP, &ws)),
        Some(NoEvictionCode::NoThresholds)
    );

    let hard = threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None);
    let mut sim = Sim::new(config(vec![hard]), vec![]);
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    assert_eq!(code(&d), Some(NoEvictionCode::NoActivePods));
    let step = SyncStep::new(&d, &[], None);
    assert_eq!(step.reason_code, Some(NoEvictionCode::NoActivePods));
    assert_eq!(
        step.reason.as_deref(),
        Some(d.no_eviction_reason.as_deref().unwrap())
    );
    assert_eq!(step.to_json()["reasonCode"], "no-active-pods");
}

#[test]
fn policy_and_reclaim_keys_appear_only_when_set() {
    use headroom_core::reclaim::{EvictBecause, Plan, Policy};
    use headroom_core::view::ReclaimView;
    let (pods, ws) = set_a();
    let mut sim = Sim::new(
        config(vec![threshold(Signal::MemoryAvailable, qty("100Mi"), 0, None)]),
        pods,
    );
    let d = sim.mem(0, 50 * MI, CAP, &ws);
    let plain = SyncStep::new(&d, &[], None).to_json();
    assert!(
        plain.get("policy").is_none() && plain.get("reclaim").is_none(),
        "{plain}"
    );
    let plan = Plan::Evict(EvictBecause::CacheCannotCover {
        shortfall: 10,
        reclaimable: 4,
    });
    let named = SyncStep::new(&d, &[], None)
        .with_policy(Policy::ReclaimFirst, Some(ReclaimView::new(&plan)))
        .to_json();
    assert_eq!(named["policy"], "reclaim-first");
    assert_eq!(named["reclaim"]["plan"], "evict");
    assert_eq!(named["reclaim"]["because"], "cache-cannot-cover");
    assert_eq!(named["reclaim"]["shortfallBytes"], 10);
    assert_eq!(named["reclaim"]["reclaimableBytes"], 4);
    assert!(named["reclaim"].get("askedBytes").is_none());
}
