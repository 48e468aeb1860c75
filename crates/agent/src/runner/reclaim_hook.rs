//! The runner's hook for `--policy reclaim-first` ([`crate::reclaim_first`]): plan on the
//! kubelet's decision; on a reclaim, re-collect the whole tree and re-synchronize, so the rest
//! of the pass (log, export, act) works on what the kernel shows after the reclaim.

use super::Runner;
use super::pass::restamp;
use crate::reclaim_first;
use headroom_core::manager::Decision;
use headroom_core::pod::Pod;
use headroom_core::reclaim::{Plan, plan_after_reclaim};
use headroom_core::view::ReclaimView;
use headroom_linux::collect::NodeSnapshot;
use headroom_linux::reclaim as knob;

impl Runner {
    /// `None` under the kubelet policy (nothing changes); otherwise what reclaim-first did,
    /// with `decision`, `snapshot` and `pods` replaced by the fresh sync's after a reclaim, and
    /// the kubelet's evictions taken out of `decision` when reclaim-first holds.
    pub(super) fn reclaim_first_hook(
        &mut self,
        decision: &mut Decision,
        snapshot: &mut NodeSnapshot,
        pods: &mut Vec<Pod>,
    ) -> Option<ReclaimView> {
        let mut rf = self.reclaim_first.take()?;
        let metrics = self.shared.metrics.clone();
        let pass = snapshot
            .pods_cgroup
            .as_ref()
            .map(|p| knob::pass_cache_figures(&p.memory));
        let first = rf.plan(decision, pass.as_ref(), &metrics);
        let (final_plan, view) = match &first {
            Plan::Reclaim(ask) => {
                let view = rf.reclaim(ask, decision.time, &metrics);
                self.resync(decision, snapshot, pods);
                (plan_after_reclaim(decision), view)
            }
            other => (*other, ReclaimView::new(other)),
        };
        self.reclaim_first = Some(rf);
        Some(reclaim_first::finish(&final_plan, decision, pods, view, &metrics))
    }

    /// A full collection and a sync after a reclaim. When the collection fails the first
    /// decision stands (the kubelet's eviction goes ahead: never less safe than the kubelet).
    fn resync(&mut self, decision: &mut Decision, snapshot: &mut NodeSnapshot, pods: &mut Vec<Pod>) {
        let now = self.clock.timestamp();
        let mut fresh = match self.collector.collect_at(now) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(
                    "reclaim-first: re-collection after the reclaim failed ({e}); acting on the first decision"
                );
                return;
            }
        };
        restamp(&mut fresh.summary, now);
        let active = self.active_pods(&mut fresh);
        let active = self.leave_out_acted(active);
        *decision = super::synchronize(&self.cfg, &mut self.state, &fresh.summary, &active, now);
        *snapshot = fresh;
        *pods = active;
    }
}
