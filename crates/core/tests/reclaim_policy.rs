//! Reclaim-first planning (`reclaim::plan`): the rules one by one, and the two safety
//! properties: it never evicts where the kubelet policy would not, and it never holds back
//! when dropping every reclaimable byte could not lift the signal over the threshold.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use headroom_core::Timestamp;
use headroom_core::manager::{Decision, Eviction, EvictionCause};
use headroom_core::observe::{Observation, Observations};
use headroom_core::quantity::Quantity;
use headroom_core::reclaim::{
    Attempt, Budget, CacheFigures, EvictBecause, HoldBecause, Plan, PlanInputs, Policy, ReclaimLedger, plan,
    plan_after_reclaim, plan_rules_1_to_4, shortfall,
};
use headroom_core::signal::{Resource, Signal};
use headroom_core::threshold::{Threshold, ThresholdValue};
use proptest::prelude::*;

const MI: u64 = 1 << 20;

fn at(s: i64) -> Timestamp {
    Timestamp::from_second(1_700_000_000 + s).unwrap()
}

/// A sync at `at(secs)` that observed `available` of `capacity` bytes for `signal` with a hard
/// `signal<threshold` (and `min_reclaim`); it evicts pod 0 when `evicts`.
fn decision(
    secs: i64,
    signal: Signal,
    capacity: u64,
    available: u64,
    threshold: u64,
    min_reclaim: Option<u64>,
    evicts: bool,
) -> Decision {
    let mut observations = Observations::default();
    observations.set(
        signal,
        Observation {
            available: Quantity::bytes(available as i64),
            capacity: Quantity::bytes(capacity as i64),
            time: Some(at(secs)),
        },
    );
    let t = Threshold {
        signal,
        value: ThresholdValue::Quantity(Quantity::bytes(threshold as i64)),
        grace_period_ns: 0,
        min_reclaim: min_reclaim.map(|b| ThresholdValue::Quantity(Quantity::bytes(b as i64))),
    };
    let resource = if signal.is_memory() {
        Resource::Memory
    } else {
        Resource::EphemeralStorage
    };
    Decision {
        time: at(secs),
        observations,
        thresholds_met: Vec::new(),
        conditions: Vec::new(),
        actionable: vec![t.clone()],
        reclaiming: evicts.then_some(t),
        node_reclaim_assumed_nothing: false,
        rank_kind: None,
        ranking: Vec::new(),
        skipped_critical: Vec::new(),
        evictions: if evicts {
            vec![Eviction {
                index: 0,
                cause: EvictionCause::Threshold { signal, resource },
                grace_period_seconds: 1,
                message: "The node was low on resource: memory.".into(),
                annotations: Default::default(),
            }]
        } else {
            Vec::new()
        },
        no_eviction_reason: None,
        error: None,
        notifiers_refreshed: false,
        notifiers: Vec::new(),
    }
}

/// The hot-cache sync of issue #16: 768 MiB pods cgroup, 256 MiB threshold, 190 MiB available.
fn hot_cache(secs: i64) -> Decision {
    decision(
        secs,
        Signal::AllocatableMemoryAvailable,
        768 * MI,
        190 * MI,
        256 * MI,
        None,
        true,
    )
}

fn cache(active: u64, inactive: u64) -> CacheFigures {
    CacheFigures {
        active_file: active,
        inactive_file: inactive,
        ..CacheFigures::default()
    }
}

fn inputs<'a>(d: &'a Decision, c: Option<&'a CacheFigures>, ledger: &'a ReclaimLedger) -> PlanInputs<'a> {
    PlanInputs {
        policy: Policy::ReclaimFirst,
        decision: d,
        cache: c,
        can_reclaim: true,
        budget: Budget::default(),
        ledger,
        page_size: 4096,
    }
}

#[test]
fn hot_cache_reclaims_twice_the_shortfall_plus_inactive() {
    let d = hot_cache(0);
    let c = cache(449 * MI, 10 * MI);
    let ledger = ReclaimLedger::new();
    let Plan::Reclaim(ask) = plan(&inputs(&d, Some(&c), &ledger)) else {
        panic!("expected a reclaim")
    };
    assert_eq!(ask.shortfall, 66 * MI);
    assert_eq!(ask.bytes, 2 * 66 * MI + 10 * MI);
    assert_eq!(ask.signal, Signal::AllocatableMemoryAvailable);
}

#[test]
fn the_kubelet_policy_follows_the_decision() {
    let ledger = ReclaimLedger::new();
    let c = cache(449 * MI, 0);
    let d = hot_cache(0);
    let mut i = inputs(&d, Some(&c), &ledger);
    i.policy = Policy::Kubelet;
    assert_eq!(plan(&i), Plan::Evict(EvictBecause::KubeletPolicy));
    let quiet = decision(
        0,
        Signal::AllocatableMemoryAvailable,
        768 * MI,
        300 * MI,
        256 * MI,
        None,
        false,
    );
    assert_eq!(plan(&inputs(&quiet, Some(&c), &ledger)), Plan::Nothing);
}

#[test]
fn anonymous_growth_evicts_at_once() {
    let ledger = ReclaimLedger::new();
    let d = decision(
        0,
        Signal::AllocatableMemoryAvailable,
        768 * MI,
        100 * MI,
        256 * MI,
        None,
        true,
    );
    let c = CacheFigures {
        active_file: 170 * MI,
        dirty: 20 * MI,
        ..CacheFigures::default()
    };
    assert_eq!(
        plan(&inputs(&d, Some(&c), &ledger)),
        Plan::Evict(EvictBecause::CacheCannotCover {
            shortfall: 156 * MI,
            reclaimable: 150 * MI
        })
    );
}

#[test]
fn min_reclaim_is_part_of_the_shortfall() {
    let d = decision(
        0,
        Signal::MemoryAvailable,
        768 * MI,
        190 * MI,
        256 * MI,
        Some(100 * MI),
        true,
    );
    assert_eq!(shortfall(&d), Some((Signal::MemoryAvailable, 166 * MI)));
    let c = cache(150 * MI, 0);
    let ledger = ReclaimLedger::new();
    assert!(matches!(
        plan(&inputs(&d, Some(&c), &ledger)),
        Plan::Evict(EvictBecause::CacheCannotCover { .. })
    ));
}

#[test]
fn no_knob_or_no_figures_or_disk_falls_back_to_the_kubelet() {
    let ledger = ReclaimLedger::new();
    let d = hot_cache(0);
    let c = cache(449 * MI, 0);
    let mut v1 = inputs(&d, Some(&c), &ledger);
    v1.can_reclaim = false;
    assert_eq!(plan(&v1), Plan::Evict(EvictBecause::NoReclaimKnob));
    assert_eq!(
        plan(&inputs(&d, None, &ledger)),
        Plan::Evict(EvictBecause::NoCacheFigures)
    );
    let disk = decision(0, Signal::NodeFsAvailable, 100 * MI, 1, 10 * MI, None, true);
    assert_eq!(
        plan(&inputs(&disk, Some(&c), &ledger)),
        Plan::Evict(EvictBecause::NotMemory)
    );
}

#[test]
fn a_refaulted_reclaim_is_not_repeated() {
    let mut ledger = ReclaimLedger::new();
    ledger.record(Attempt {
        time: at(0),
        asked: 200 * MI,
        reclaimed: 200 * MI,
        after: CacheFigures {
            workingset_refault_file: 5,
            ..cache(249 * MI, 0)
        },
    });
    let d = hot_cache(3);
    // 150 MiB read back in since: hot.
    let c = CacheFigures {
        workingset_refault_file: 5 + 150 * 256,
        ..cache(449 * MI, 0)
    };
    let p = plan(&inputs(&d, Some(&c), &ledger));
    assert!(
        matches!(p, Plan::Hold(HoldBecause::Refaulting(ch)) if ch.refaulted_bytes == 150 * MI),
        "{p:?}"
    );
    assert!(p.avoids_eviction());
    // A minute later the evidence has aged out: one more try.
    let later = hot_cache(61);
    assert!(matches!(
        plan(&inputs(&later, Some(&c), &ledger)),
        Plan::Reclaim(_)
    ));
}

#[test]
fn a_spent_budget_holds_while_the_cache_covers() {
    let mut ledger = ReclaimLedger::new();
    for s in 0..6 {
        ledger.record(Attempt {
            time: at(s),
            asked: MI,
            reclaimed: MI,
            after: cache(449 * MI, 0),
        });
    }
    let d = hot_cache(10);
    let c = cache(449 * MI, 0);
    let p = plan(&inputs(&d, Some(&c), &ledger));
    assert_eq!(p.because(), Some("budget-spent"), "{p:?}");
}

#[test]
fn after_a_reclaim_evict_only_if_still_met() {
    assert_eq!(
        plan_after_reclaim(&hot_cache(1)),
        Plan::Evict(EvictBecause::StillMetAfterReclaim)
    );
    let lifted = decision(
        1,
        Signal::AllocatableMemoryAvailable,
        768 * MI,
        400 * MI,
        256 * MI,
        None,
        false,
    );
    assert_eq!(plan_after_reclaim(&lifted), Plan::Hold(HoldBecause::Reclaimed));
}

proptest! {
    #[test]
    fn reclaim_first_is_never_harsher_and_never_waits_on_anon(
        capacity_mi in 64u64..4096,
        available_frac in 0.0f64..1.2,
        threshold_mi in 1u64..1024,
        min_reclaim_mi in proptest::option::of(0u64..256),
        evicts in any::<bool>(),
        memory in any::<bool>(),
        active in 0u64..(4096 * MI),
        inactive in 0u64..(1024 * MI),
        dirty in 0u64..(512 * MI),
        can_reclaim in any::<bool>(),
        have_figures in any::<bool>(),
        past in proptest::collection::vec((0i64..120, 0u64..(2048 * MI), 0u64..400_000), 0..8),
        refaults in 0u64..400_000,
    ) {
        let capacity = capacity_mi * MI;
        let available = ((capacity as f64) * available_frac) as u64;
        let signal = if memory { Signal::AllocatableMemoryAvailable } else { Signal::NodeFsAvailable };
        let d = decision(120, signal, capacity, available, threshold_mi * MI, min_reclaim_mi.map(|m| m * MI), evicts);
        let c = CacheFigures { active_file: active, inactive_file: inactive, dirty, workingset_refault_file: refaults, ..CacheFigures::default() };
        let mut ledger = ReclaimLedger::new();
        let mut past = past;
        past.sort_by_key(|p| p.0);
        for (s, bytes, r) in past {
            ledger.record(Attempt { time: at(s), asked: bytes, reclaimed: bytes, after: CacheFigures { workingset_refault_file: r, ..c } });
        }
        let mut i = inputs(&d, have_figures.then_some(&c), &ledger);
        i.can_reclaim = can_reclaim;
        let p = plan(&i);
        // Never harsher: without a kubelet eviction there is nothing to do.
        if d.evictions.is_empty() {
            prop_assert_eq!(p, Plan::Nothing);
        } else {
            prop_assert_ne!(p, Plan::Nothing);
        }
        // Never waits on a shortage cache cannot cover.
        if let Some((_, lack)) = shortfall(&d) && evicts {
            let reclaimable = active.saturating_sub(dirty);
            if reclaimable < lack || !have_figures || !can_reclaim {
                prop_assert!(matches!(p, Plan::Evict(_)), "{:?}", p);
            }
        }
        if let Plan::Reclaim(ask) = p {
            prop_assert!(ask.bytes >= ask.shortfall);
            prop_assert!(ask.bytes <= Budget::default().bytes_per_minute.max(ask.shortfall));
            prop_assert!(ask.reclaimable.working_set_bytes >= ask.shortfall);
        }
        if !memory && evicts {
            prop_assert_eq!(p, Plan::Evict(EvictBecause::NotMemory));
        }
        // Every eviction and every "nothing" is decided by rules 1-4, blind to the refault
        // counters and the ledger: what the agent judges on the pass's own figures before it
        // reads anything more (the anonymous-growth path has nothing else in it).
        let blind = CacheFigures { workingset_refault_file: 0, workingset_activate_file: 0, ..c };
        let empty = ReclaimLedger::new();
        let mut j = inputs(&d, have_figures.then_some(&blind), &empty);
        j.can_reclaim = can_reclaim;
        match plan_rules_1_to_4(&j) {
            Ok(q) => prop_assert_eq!(q, p),
            Err(_) => prop_assert!(matches!(p, Plan::Hold(_) | Plan::Reclaim(_)), "{:?}", p),
        }
    }
}
