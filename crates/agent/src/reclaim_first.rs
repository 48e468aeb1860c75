//! `--policy reclaim-first` in the agent (docs/reclaim-first.md): the kernel side of the core's
//! sans-IO policy ([`headroom_core::reclaim`]).
//!
//! Each pass the runner hands the kubelet's decision to [`ReclaimFirst::plan`]. When the plan is
//! to reclaim, [`ReclaimFirst::reclaim`] writes `memory.reclaim` on the **pods cgroup**
//! (`kubepods`), the runner re-collects and re-synchronizes, and [`ReclaimFirst::finish`] keeps
//! the fresh decision's eviction only if the threshold is still met. Why the pods cgroup and not
//! the first-ranked pods: the signal is the pods cgroup's (or the node's) working set, the
//! cache that inflates it may belong to any pod (page cache is charged to whoever faulted it
//! first, not to who uses it), and a reclaim on the parent takes the coldest pages across all
//! pods, as the kernel itself would at `memory.max`; a reclaim aimed at the first-ranked pod
//! would drop its hottest pages while colder cache elsewhere stays.
//!
//! Without `memory.reclaim` (cgroup v1, Linux < 5.19) the policy evicts as the kubelet's, says
//! so once at start, and `headroom_eviction_policy{effective="kubelet"}` shows it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use headroom_core::Timestamp;
use headroom_core::manager::{Decision, NoEvictionCode, NoEvictionReason};
use headroom_core::pod::Pod;
use headroom_core::reclaim::{
    Attempt, Budget, CacheFigures, HoldBecause, Plan, PlanInputs, Policy, ReclaimAsk, ReclaimLedger, plan,
    plan_rules_1_to_4,
};
use headroom_core::view::ReclaimView;
use headroom_linux::reclaim::{self as knob, Reclaimer};

use crate::metrics::Metrics;

/// No further `memory.reclaim` chunk is started after this long: the most a reclaim can delay
/// an eviction on a real shortage (plus one chunk of 64 MiB and one re-collection).
pub const RECLAIM_TIME_CAP: Duration = Duration::from_millis(500);

/// The policy's state across passes.
#[derive(Debug)]
pub struct ReclaimFirst {
    budget: Budget,
    ledger: ReclaimLedger,
    /// The pods cgroup's knob, or why there is none (then the kubelet's policy acts).
    knob: Result<Reclaimer, String>,
    pods_dir: PathBuf,
    page_size: u64,
    /// `workingset_refault_file` at the last churn reading (for the refault counter).
    refault_mark: Option<u64>,
}

impl ReclaimFirst {
    /// The policy for `--policy`, `None` for the kubelet's (nothing to do). `pods_dir` is the
    /// pods cgroup's directory (under `--root`).
    pub fn new(policy: Policy, pods_dir: &Path, metrics: &Metrics) -> Option<ReclaimFirst> {
        if policy == Policy::Kubelet {
            metrics.reclaim.set_policy(policy.as_str(), policy.as_str());
            return None;
        }
        let knob = Reclaimer::open(pods_dir).map_err(|e| e.to_string());
        match &knob {
            Ok(_) => metrics.reclaim.set_policy(policy.as_str(), policy.as_str()),
            Err(e) => {
                tracing::warn!("--policy reclaim-first: {e}");
                metrics
                    .reclaim
                    .set_policy(policy.as_str(), Policy::Kubelet.as_str());
            }
        }
        Some(ReclaimFirst {
            budget: Budget::default(),
            ledger: ReclaimLedger::new(),
            knob,
            pods_dir: pods_dir.to_path_buf(),
            page_size: knob::page_size(),
            refault_mark: None,
        })
    }

    /// The plan for the kubelet's `decision`; `pass` is the pods cgroup's clean-cache figures
    /// from the same pass's collection ([`knob::pass_cache_figures`]).
    ///
    /// Rules 1 to 4 are judged on `pass` alone, so when the clean cache cannot lift the signal
    /// (the anonymous-growth case) the eviction goes ahead with nothing read, written or waited
    /// for between the decision and the act: by construction as fast as the kubelet policy.
    /// The pods cgroup's `memory.stat` is read (for its refault counters) only when the cache
    /// covers the shortfall, when `pass` is missing, or when a reclaim within the last minute
    /// is being watched for refaults.
    pub fn plan(&mut self, decision: &Decision, pass: Option<&CacheFigures>, metrics: &Metrics) -> Plan {
        if let Some(cache) = pass
            && let Ok(decided @ Plan::Evict(_)) = plan_rules_1_to_4(&self.inputs(decision, Some(cache)))
        {
            return decided;
        }
        let watching = self.ledger.recent(decision.time).next().is_some();
        if decision.evictions.is_empty() && !watching {
            self.refault_mark = None;
            return Plan::Nothing;
        }
        let figures = match knob::read_cache_figures(&self.pods_dir) {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!("reclaim-first: {e}");
                None
            }
        };
        if let Some(f) = &figures {
            if let Some(mark) = self.refault_mark
                && let Some(delta) = f.workingset_refault_file.checked_sub(mark)
            {
                metrics
                    .reclaim
                    .add_refaulted(delta.saturating_mul(self.page_size));
            }
            self.refault_mark = watching.then_some(f.workingset_refault_file);
        }
        plan(&self.inputs(decision, figures.as_ref()))
    }

    fn inputs<'a>(&'a self, decision: &'a Decision, cache: Option<&'a CacheFigures>) -> PlanInputs<'a> {
        PlanInputs {
            policy: Policy::ReclaimFirst,
            decision,
            cache,
            can_reclaim: self.knob.is_ok(),
            budget: self.budget,
            ledger: &self.ledger,
            page_size: self.page_size,
        }
    }

    /// Ask the kernel for `ask.bytes`, bounded by [`RECLAIM_TIME_CAP`]; the view carries what
    /// it did. `now` is the pass time (the budget's clock).
    pub fn reclaim(&mut self, ask: &ReclaimAsk, now: Timestamp, metrics: &Metrics) -> ReclaimView {
        let mut view = ReclaimView::new(&Plan::Reclaim(*ask));
        view.asked_bytes = Some(ask.bytes);
        let Ok(reclaimer) = &self.knob else {
            return view;
        };
        match reclaimer.reclaim(ask.bytes, RECLAIM_TIME_CAP) {
            Ok(out) => {
                let seconds = out.elapsed.as_secs_f64();
                metrics
                    .reclaim
                    .observe_attempt(out.stop.as_str(), out.reclaimed, seconds);
                self.ledger.record(Attempt {
                    time: now,
                    asked: ask.bytes,
                    reclaimed: out.reclaimed,
                    after: out.after,
                });
                self.refault_mark = Some(out.after.workingset_refault_file);
                tracing::info!(
                    "reclaim-first: asked {} bytes of {}, the kernel reclaimed {} in {:.3}s ({})",
                    ask.bytes,
                    reclaimer.dir().display(),
                    out.reclaimed,
                    seconds,
                    out.stop.as_str()
                );
                view.reclaimed_bytes = Some(out.reclaimed);
                view.seconds = Some(seconds);
            }
            Err(e) => {
                // Counted against the budget all the same: a failing knob must not be retried
                // every pass.
                metrics.reclaim.observe_attempt("error", 0, 0.0);
                self.ledger.record(Attempt {
                    time: now,
                    asked: ask.bytes,
                    reclaimed: 0,
                    after: Default::default(),
                });
                tracing::warn!("reclaim-first: {e}");
            }
        }
        view
    }
}

/// Apply the final plan of a pass to the decision the runner acts on, and name it in `view`:
/// a hold takes the kubelet's evictions out of the decision (they are listed in
/// `kubeletWouldEvict`) and gives the reason `reclaim-first-held`.
pub fn finish(
    final_plan: &Plan,
    decision: &mut Decision,
    pods: &[Pod],
    mut view: ReclaimView,
    metrics: &Metrics,
) -> ReclaimView {
    let first = ReclaimView::new(final_plan);
    view.plan = first.plan;
    view.because = first.because;
    view.message = first.message;
    view.shortfall_bytes = view.shortfall_bytes.or(first.shortfall_bytes);
    view.reclaimable_bytes = view.reclaimable_bytes.or(first.reclaimable_bytes);
    if let Plan::Hold(because) = final_plan {
        hold(decision, pods, because, &mut view);
        metrics.reclaim.inc_avoided(because.as_str());
    }
    view
}

fn hold(decision: &mut Decision, pods: &[Pod], because: &HoldBecause, view: &mut ReclaimView) {
    view.kubelet_would_evict = decision
        .evictions
        .drain(..)
        .filter_map(|e| pods.get(e.index).map(Pod::key))
        .collect();
    decision.no_eviction_reason = Some(NoEvictionReason::new(
        NoEvictionCode::ReclaimFirstHeld,
        format!(
            "reclaim-first: the kubelet policy would evict {}; {because}",
            view.kubelet_would_evict.join(", ")
        ),
    ));
}
