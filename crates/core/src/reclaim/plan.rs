//! The planning function: given the kubelet's decision for a sync and what the kernel shows of
//! the pods cgroup's cache, what reclaim-first does.
//!
//! Order of the rules (each is a `match` arm below, and a code in logs and metrics):
//! 1. The kubelet policy, or a sync that evicts nothing: do what the kubelet decided.
//! 2. An eviction that is not for a memory threshold (disk, pids, local storage): evict.
//! 3. No cache figures, or no `memory.reclaim` (cgroup v1, kernel < 5.19): evict, as the
//!    kubelet would (the agent says so once).
//! 4. Dropping every reclaimable byte could not lift the signal over the threshold (plus its
//!    minimum reclaim): evict now. This is the anonymous-growth case; it never waits.
//! 5. The cache covers the shortfall, but the last reclaim was refaulted (half or more came
//!    back): hold, without reclaiming again; the kernel drops that cache itself before it
//!    OOM-kills, and rule 4 evicts as soon as the cache no longer covers the shortfall.
//! 6. The cache covers the shortfall, but the minute's budget is spent: hold, as in 5.
//! 7. Otherwise: reclaim (bounded), re-read, re-synchronize, and [`plan_after_reclaim`].

use std::fmt;

use crate::manager::{Decision, EvictionCause};
use crate::signal::Signal;
use crate::threshold::threshold_quantity;

use super::Policy;
use super::budget::{Budget, BudgetError, ReclaimLedger};
use super::estimate::{CacheFigures, Reclaimable, RefaultChurn, estimate};

/// What one sync needs to plan under a policy.
#[derive(Clone, Copy, Debug)]
pub struct PlanInputs<'a> {
    pub policy: Policy,
    /// The kubelet's decision for this sync (`synchronize`'s output).
    pub decision: &'a Decision,
    /// The pods cgroup's cache figures read with this sync's stats; `None` when unreadable.
    pub cache: Option<&'a CacheFigures>,
    /// The kernel offers proactive reclaim on the pods cgroup (cgroup v2 `memory.reclaim`).
    pub can_reclaim: bool,
    pub budget: Budget,
    pub ledger: &'a ReclaimLedger,
    /// Bytes per page, for the kernel's refault counters (4096 on x86-64).
    pub page_size: u64,
}

/// How much to ask the kernel to reclaim, and why that much.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimAsk {
    /// Bytes to write to `memory.reclaim`.
    pub bytes: u64,
    /// The memory signal whose threshold is met.
    pub signal: Signal,
    /// Bytes `available` lacks to reach the threshold plus its minimum reclaim.
    pub shortfall: u64,
    pub reclaimable: Reclaimable,
}

/// Why reclaim-first evicts (as the kubelet decided).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictBecause {
    /// `--policy kubelet`.
    KubeletPolicy,
    /// The eviction is for a disk, pid or local-storage signal: no cache to drop.
    NotMemory,
    /// The pods cgroup's `memory.stat` could not be read this pass.
    NoCacheFigures,
    /// No `memory.reclaim` (cgroup v1, or a kernel older than 5.19): the kubelet's policy.
    NoReclaimKnob,
    /// Dropping all clean cache would still leave the threshold met.
    CacheCannotCover { shortfall: u64, reclaimable: u64 },
    /// A reclaim ran and the fresh sync still evicts.
    StillMetAfterReclaim,
}

impl EvictBecause {
    /// Stable code (logs, JSON, metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            EvictBecause::KubeletPolicy => "kubelet-policy",
            EvictBecause::NotMemory => "not-memory",
            EvictBecause::NoCacheFigures => "no-cache-figures",
            EvictBecause::NoReclaimKnob => "no-reclaim-knob",
            EvictBecause::CacheCannotCover { .. } => "cache-cannot-cover",
            EvictBecause::StillMetAfterReclaim => "still-met-after-reclaim",
        }
    }
}

impl fmt::Display for EvictBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvictBecause::KubeletPolicy => f.write_str("the kubelet policy evicts"),
            EvictBecause::NotMemory => f.write_str("not a memory threshold: nothing to reclaim"),
            EvictBecause::NoCacheFigures => {
                f.write_str("the pods cgroup's memory.stat was not readable: evicting as the kubelet")
            }
            EvictBecause::NoReclaimKnob => {
                f.write_str("no memory.reclaim (cgroup v1 or kernel < 5.19): evicting as the kubelet")
            }
            EvictBecause::CacheCannotCover {
                shortfall,
                reclaimable,
            } => write!(
                f,
                "{reclaimable} bytes of clean file cache cannot cover the {shortfall}-byte shortfall"
            ),
            EvictBecause::StillMetAfterReclaim => f.write_str("the threshold is still met after reclaim"),
        }
    }
}

/// Why reclaim-first does not evict although the kubelet would at this sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldBecause {
    /// The last reclaim came back as refaults: the cache is hot, and the kernel drops it itself
    /// before an OOM kill.
    Refaulting(RefaultChurn),
    /// No reclaim budget left this minute; the cache still covers the shortfall.
    BudgetSpent(BudgetError),
    /// A reclaim lifted the signal: the fresh sync evicts nothing.
    Reclaimed,
}

impl HoldBecause {
    /// Stable code (logs, JSON, metric labels).
    pub fn as_str(self) -> &'static str {
        match self {
            HoldBecause::Refaulting(_) => "cache-refaulting",
            HoldBecause::BudgetSpent(_) => "budget-spent",
            HoldBecause::Reclaimed => "reclaimed",
        }
    }
}

impl fmt::Display for HoldBecause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HoldBecause::Refaulting(c) => write!(
                f,
                "{} of the {} bytes last reclaimed were read back in: the cache is hot; \
                 the kernel drops it before any OOM kill",
                c.refaulted_bytes, c.reclaimed_bytes
            ),
            HoldBecause::BudgetSpent(e) => write!(f, "{e}; the clean cache covers the shortfall"),
            HoldBecause::Reclaimed => f.write_str("the reclaim lifted the signal over the threshold"),
        }
    }
}

/// What reclaim-first does at a sync.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Plan {
    /// The kubelet evicts nothing at this sync; neither does reclaim-first.
    Nothing,
    /// Evict exactly what the kubelet's decision evicts.
    Evict(EvictBecause),
    /// Ask the kernel to reclaim, re-read, re-synchronize, then [`plan_after_reclaim`].
    Reclaim(ReclaimAsk),
    /// The kubelet would evict; reclaim-first does not, this sync.
    Hold(HoldBecause),
}

impl Plan {
    /// `nothing`, `evict`, `reclaim` or `hold`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Plan::Nothing => "nothing",
            Plan::Evict(_) => "evict",
            Plan::Reclaim(_) => "reclaim",
            Plan::Hold(_) => "hold",
        }
    }

    /// The rule's code (`kubelet-policy`, `cache-cannot-cover`, ...), `None` for nothing/reclaim.
    pub fn because(&self) -> Option<&'static str> {
        match self {
            Plan::Evict(b) => Some(b.as_str()),
            Plan::Hold(b) => Some(b.as_str()),
            Plan::Nothing | Plan::Reclaim(_) => None,
        }
    }

    /// The kubelet policy would evict at this sync but this plan does not.
    pub fn avoids_eviction(&self) -> bool {
        matches!(self, Plan::Hold(_))
    }
}

/// The memory signal a decision evicts for and the bytes its `available` lacks to reach the
/// threshold plus its minimum reclaim (what the kubelet itself wants back). `None` when the
/// decision evicts for anything else or has no observation of the signal.
pub fn shortfall(decision: &Decision) -> Option<(Signal, u64)> {
    let t = decision.reclaiming.as_ref()?;
    if !t.signal.is_memory() {
        return None;
    }
    let o = decision.observations.get(t.signal)?;
    let mut target = threshold_quantity(&t.value, &o.capacity).nanos();
    if let Some(mr) = &t.min_reclaim {
        target += threshold_quantity(mr, &o.capacity).nanos();
    }
    // Quantities are in nano-units; bytes are whole units. Round the lack up.
    let lack = target - o.available.nanos();
    let bytes = (lack.max(0) + 999_999_999) / 1_000_000_000;
    Some((t.signal, u64::try_from(bytes).unwrap_or(u64::MAX)))
}

fn evicts_only_for_memory(d: &Decision) -> bool {
    d.evictions
        .iter()
        .all(|e| matches!(e.cause, EvictionCause::Threshold { signal, .. } if signal.is_memory()))
}

/// The clean cache covers the shortfall: what rules 5 to 7 need to go on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Covered {
    /// The figures rule 4 judged (rules 5 to 7 read their refault counters).
    pub cache: CacheFigures,
    pub signal: Signal,
    pub shortfall: u64,
    pub reclaimable: Reclaimable,
}

/// Rules 1 to 4: they need nothing but the decision and the clean-cache figures (`active_file`,
/// `inactive_file`, dirty, writeback), which the pass's own collection read with the decision's
/// stats; the refault counters and the ledger in `i` are not looked at. `Ok(plan)`: the plan is
/// decided (nothing, or evict at once: the anonymous-growth case); `Err(covered)`: the cache
/// covers the shortfall, and only then does [`plan`] go on to rules 5 to 7 (which read the
/// refault counters). [`plan`] is this function first, so an eviction decided here never
/// waits for anything rules 5 to 7 read.
pub fn plan_rules_1_to_4(i: &PlanInputs<'_>) -> Result<Plan, Covered> {
    let d = i.decision;
    if d.evictions.is_empty() {
        return Ok(Plan::Nothing);
    }
    if i.policy == Policy::Kubelet {
        return Ok(Plan::Evict(EvictBecause::KubeletPolicy));
    }
    if !evicts_only_for_memory(d) {
        return Ok(Plan::Evict(EvictBecause::NotMemory));
    }
    let Some((signal, shortfall)) = shortfall(d) else {
        return Ok(Plan::Evict(EvictBecause::NotMemory));
    };
    if !i.can_reclaim {
        return Ok(Plan::Evict(EvictBecause::NoReclaimKnob));
    }
    let Some(cache) = i.cache else {
        return Ok(Plan::Evict(EvictBecause::NoCacheFigures));
    };
    let reclaimable = estimate(cache);
    if reclaimable.working_set_bytes < shortfall {
        return Ok(Plan::Evict(EvictBecause::CacheCannotCover {
            shortfall,
            reclaimable: reclaimable.working_set_bytes,
        }));
    }
    Err(Covered {
        cache: *cache,
        signal,
        shortfall,
        reclaimable,
    })
}

/// The plan for a sync (rules in the module documentation).
pub fn plan(i: &PlanInputs<'_>) -> Plan {
    let Covered {
        cache,
        signal,
        shortfall,
        reclaimable,
    } = match plan_rules_1_to_4(i) {
        Ok(decided) => return decided,
        Err(covered) => covered,
    };
    let d = i.decision;
    if let Some(churn) = i.ledger.churn(d.time, &cache, i.page_size)
        && churn.is_hot()
    {
        return Plan::Hold(HoldBecause::Refaulting(churn));
    }
    let allowance = match i.ledger.allowance(i.budget, d.time, shortfall) {
        Ok(bytes) => bytes,
        Err(e) => return Plan::Hold(HoldBecause::BudgetSpent(e)),
    };
    // Twice the shortfall so the next few seconds of growth do not re-meet the threshold at
    // once, plus the inactive list the kernel drops first on its way to the active pages;
    // never more than the clean cache or the budget left.
    let wanted = shortfall
        .saturating_mul(2)
        .saturating_add(reclaimable.inactive_file);
    let bytes = wanted
        .min(reclaimable.clean_file_bytes)
        .min(allowance)
        .max(shortfall);
    Plan::Reclaim(ReclaimAsk {
        bytes,
        signal,
        shortfall,
        reclaimable,
    })
}

/// After one reclaim and a fresh sync: evict only if that sync still evicts. There is no second
/// reclaim in a pass, so a real shortage costs at most one bounded reclaim.
pub fn plan_after_reclaim(fresh: &Decision) -> Plan {
    if fresh.evictions.is_empty() {
        Plan::Hold(HoldBecause::Reclaimed)
    } else {
        Plan::Evict(EvictBecause::StillMetAfterReclaim)
    }
}
