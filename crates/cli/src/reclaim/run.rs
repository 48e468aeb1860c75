//! One sync under a policy, and a sequence of them with both policies side by side.
//!
//! Under reclaim-first a sync is: the manager's `synchronize` on the figures as recorded; the
//! core's [`plan`]; when it asks for a reclaim, the kernel's part is played by
//! [`hypothetical`] (what that reclaim would have dropped), the manager synchronizes again on
//! the lowered figures (as the agent re-reads and re-synchronizes), and [`plan_after_reclaim`]
//! says whether it still evicts. Nothing else is invented here: the rules are the core's.
//!
//! # What carries over from one step to the next
//!
//! A replayed reclaim is hypothetical: the next step's data still shows the cache, because the
//! kernel never dropped it. Each step is therefore judged again on its own recorded figures
//! (the reclaimed bytes are not carried forward as gone): a cache that was really re-read
//! comes back at once in the data, which is what a hot cache does after a real reclaim. What
//! does carry over is the policy's own memory: its [`ReclaimLedger`] (the minute's reclaim
//! budget and the refault counters since the last reclaim) and each policy's manager state
//! (grace periods, minimum reclaim, conditions). So a cache that stays over the threshold is
//! "reclaimed" again at each sync until the minute's budget is spent, as the agent would.

use headroom_core::config::EvictionConfig;
use headroom_core::manager::{
    Decision, ManagerState, NoEvictionCode, NoEvictionReason, SyncInputs, synchronize,
};
use headroom_core::pod::Pod;
use headroom_core::reclaim::{
    Attempt, Budget, CacheFigures, Plan, PlanInputs, Policy, ReclaimLedger, plan, plan_after_reclaim,
};

use super::PAGE_SIZE;
use super::figures::Basis;
use super::hypothetical::{self, Effect};

/// What one step knows of the pods cgroup's cache.
#[derive(Clone, Debug, Default)]
pub struct CacheData {
    pub figures: Option<(CacheFigures, Basis)>,
    /// Each pod's cache in its working set, in the Summary's pod order (`None`: from the
    /// Summary's `workingSetBytes - rssBytes`).
    pub pod_caches: Option<Vec<u64>>,
    /// The kernel offers `memory.reclaim` (cgroup v2, Linux 5.19+).
    pub can_reclaim: bool,
}

/// Reclaim-first at one sync.
#[derive(Clone, Debug)]
pub struct ReclaimFirstSync {
    /// The core's plan on the sync as recorded.
    pub plan: Plan,
    /// After the hypothetical reclaim, when the plan asked for one.
    pub after: Option<(Effect, Plan)>,
    /// The decision reclaim-first carries out: the fresh sync's after a reclaim, else the
    /// first sync's, with its evictions removed when the plan holds them back.
    pub decision: Decision,
    /// Where the cache figures came from (`None`: there were none).
    pub basis: Option<Basis>,
}

impl ReclaimFirstSync {
    /// The plan that decided: the one after the reclaim, else the first.
    pub fn final_plan(&self) -> &Plan {
        self.after.as_ref().map_or(&self.plan, |(_, p)| p)
    }
}

/// One reclaim-first sync on `state` (the inputs as recorded; see the module docs).
pub fn reclaim_first_sync(
    state: &mut ManagerState,
    config: &EvictionConfig,
    inputs: SyncInputs<'_>,
    cache: &CacheData,
    ledger: &mut ReclaimLedger,
    budget: Budget,
) -> ReclaimFirstSync {
    let first = synchronize(state, config, inputs);
    let figures = cache.figures.as_ref().map(|(f, _)| f);
    let basis = cache.figures.as_ref().map(|(_, b)| *b);
    let p = plan(&PlanInputs {
        policy: Policy::ReclaimFirst,
        decision: &first,
        cache: figures,
        can_reclaim: cache.can_reclaim,
        budget,
        ledger,
        page_size: PAGE_SIZE,
    });
    match (p, figures) {
        (Plan::Reclaim(ask), Some(f)) => {
            let effect = hypothetical::effect(ask.bytes, f);
            let lowered = hypothetical::apply(inputs.summary, &effect, cache.pod_caches.as_deref());
            ledger.record(Attempt {
                time: inputs.now,
                asked: ask.bytes,
                reclaimed: effect.dropped,
                after: *f,
            });
            let fresh = synchronize(
                state,
                config,
                SyncInputs {
                    summary: &lowered,
                    ..inputs
                },
            );
            let after = plan_after_reclaim(&fresh);
            ReclaimFirstSync {
                plan: p,
                after: Some((effect, after)),
                decision: fresh,
                basis,
            }
        }
        _ => {
            let mut decision = first;
            if let Plan::Hold(why) = p {
                // The kubelet's decision, held back: no eviction, and the core's code for it.
                decision.evictions.clear();
                decision.no_eviction_reason = Some(NoEvictionReason::new(
                    NoEvictionCode::ReclaimFirstHeld,
                    format!("reclaim-first held back: {why}"),
                ));
            }
            ReclaimFirstSync {
                plan: p,
                after: None,
                decision,
                basis,
            }
        }
    }
}

/// A sequence of syncs (a timeline, a recording) under one policy. Under reclaim-first the
/// kubelet policy runs beside it on its own manager state, to say what it would have done.
pub struct PolicyRun {
    pub policy: Policy,
    kubelet: ManagerState,
    reclaim_first: ManagerState,
    ledger: ReclaimLedger,
    budget: Budget,
}

/// One step of a [`PolicyRun`].
pub struct Stepped {
    /// The acting policy's decision: what the step prints.
    pub decision: Decision,
    /// Under reclaim-first: its plan, and the kubelet policy's decision at the same step.
    pub reclaim_first: Option<(ReclaimFirstSync, Decision)>,
}

impl PolicyRun {
    pub fn new(policy: Policy) -> Self {
        PolicyRun {
            policy,
            kubelet: ManagerState::new(),
            reclaim_first: ManagerState::new(),
            ledger: ReclaimLedger::new(),
            budget: Budget::default(),
        }
    }

    /// The acting policy's manager state (its notifiers and node conditions).
    pub fn state(&self) -> &ManagerState {
        match self.policy {
            Policy::Kubelet => &self.kubelet,
            Policy::ReclaimFirst => &self.reclaim_first,
        }
    }

    /// One sync. `cache` is asked for only under reclaim-first.
    pub fn step(
        &mut self,
        config: &EvictionConfig,
        inputs: SyncInputs<'_>,
        cache: impl FnOnce() -> CacheData,
    ) -> Stepped {
        let kubelet = synchronize(&mut self.kubelet, config, inputs);
        if self.policy == Policy::Kubelet {
            return Stepped {
                decision: kubelet,
                reclaim_first: None,
            };
        }
        let rf = reclaim_first_sync(
            &mut self.reclaim_first,
            config,
            inputs,
            &cache(),
            &mut self.ledger,
            self.budget,
        );
        Stepped {
            decision: rf.decision.clone(),
            reclaim_first: Some((rf, kubelet)),
        }
    }
}

/// `namespace/name` of each pod `d` evicts.
pub fn evicted(d: &Decision, pods: &[Pod]) -> Vec<String> {
    d.evictions
        .iter()
        .filter_map(|e| pods.get(e.index).map(Pod::key))
        .collect()
}
