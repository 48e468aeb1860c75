//! A replayed step under a policy, as `simulate` and `replay` print it: the core's sync-step
//! keys `policy` and `reclaim` (docs/sync-step.md), plus `replayed`, what only a replay has
//! (where the cache figures came from, what the modelled reclaim did to the working set, and
//! what the kubelet policy did at the same step).

use headroom_core::manager::Decision;
use headroom_core::pod::Pod;
use headroom_core::reclaim::{Plan, Policy};
use headroom_core::view::{ReclaimView, SyncStep};

use super::figures::Basis;
use super::run::{ReclaimFirstSync, evicted};
use crate::status::units::human_bytes;

/// `replayed` in the JSON: present under `--policy reclaim-first` only.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replayed {
    /// Where the pods cgroup's cache figures came from (null: none, so reclaim-first evicts as
    /// the kubelet).
    pub basis: Option<Basis>,
    /// What the modelled reclaim took off the working set (it did not happen: the next step's
    /// figures are the recorded ones again). Absent when no reclaim was replayed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_set_drop_bytes: Option<u64>,
    /// The pods the kubelet policy evicts at this step (run beside it, on its own state).
    pub kubelet_evicted: Vec<String>,
}

/// The core's view of what reclaim-first did: the plan that decided, with the first plan's
/// shortfall and estimate and the modelled reclaim's bytes.
pub fn reclaim_view(rf: &ReclaimFirstSync) -> ReclaimView {
    let mut v = ReclaimView::new(rf.final_plan());
    if let Plan::Reclaim(ask) = &rf.plan {
        v.shortfall_bytes = Some(ask.shortfall);
        v.reclaimable_bytes = Some(ask.reclaimable.working_set_bytes);
    }
    if let Some((e, _)) = &rf.after {
        v.asked_bytes = Some(e.asked);
        v.reclaimed_bytes = Some(e.dropped);
    }
    v
}

/// The core's `kubeletWouldEvict`: what the kubelet policy evicts when reclaim-first holds.
pub fn with_kubelet(mut v: ReclaimView, kubelet: &Decision, pods: &[Pod]) -> ReclaimView {
    if v.plan == "hold" {
        v.kubelet_would_evict = evicted(kubelet, pods);
    }
    v
}

/// `step` named with `policy` (unchanged without one: no `--policy`); under reclaim-first
/// with its part and `replayed`.
pub fn name_step(
    step: SyncStep,
    policy: Option<Policy>,
    reclaim_first: Option<&(ReclaimFirstSync, Decision)>,
    pods: &[Pod],
) -> (SyncStep, Option<Replayed>) {
    let Some(policy) = policy else {
        return (step, None);
    };
    match reclaim_first {
        None => (step.with_policy(policy, None), None),
        Some((rf, kubelet)) => (
            step.with_policy(policy, Some(with_kubelet(reclaim_view(rf), kubelet, pods))),
            Some(Replayed {
                basis: rf.basis,
                working_set_drop_bytes: rf.after.as_ref().map(|(e, _)| e.working_set),
                kubelet_evicted: evicted(kubelet, pods),
            }),
        ),
    }
}

fn mib(bytes: u64) -> String {
    human_bytes(i128::from(bytes))
}

/// The text item for reclaim-first's part of a step, `None` when there is nothing to say (no
/// eviction in either policy).
pub fn text_item(r: &ReclaimView, replayed: &Replayed) -> Option<String> {
    let kubelet = if replayed.kubelet_evicted.is_empty() {
        "the kubelet policy evicts nobody".to_string()
    } else {
        format!(
            "the kubelet policy evicts {}",
            replayed.kubelet_evicted.join(", ")
        )
    };
    let reclaimed = match (r.reclaimed_bytes, replayed.working_set_drop_bytes) {
        (Some(dropped), Some(ws)) => format!(
            "reclaim {} of clean file cache (assumed: working set -{}, shortfall {}); ",
            mib(dropped),
            mib(ws),
            mib(r.shortfall_bytes.unwrap_or(0)),
        ),
        _ => String::new(),
    };
    let said = r.message.as_deref().unwrap_or("");
    let text = match (r.plan, r.because) {
        ("nothing", _) if replayed.kubelet_evicted.is_empty() => return None,
        ("nothing", _) => format!("no eviction; {kubelet}"),
        ("hold", Some("reclaimed")) => format!("{reclaimed}no eviction; {kubelet}"),
        // The step's `no eviction:` line gives the reason (reclaim-first-held).
        ("hold", _) => format!("holds back; {kubelet}"),
        ("evict", Some("still-met-after-reclaim")) => {
            format!("{reclaimed}threshold still met: evicts; {kubelet}")
        }
        ("evict", Some("cache-cannot-cover")) => format!(
            "evicts ({} of clean file cache cannot cover the {} shortfall); {kubelet}",
            mib(r.reclaimable_bytes.unwrap_or(0)),
            mib(r.shortfall_bytes.unwrap_or(0)),
        ),
        _ => format!("evicts ({said}); {kubelet}"),
    };
    Some(format!("reclaim-first: {text}"))
}
