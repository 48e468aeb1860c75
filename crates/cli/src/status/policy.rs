//! `status --policy`: the kubelet's verdict beside reclaim-first's, for this moment.
//!
//! Both are first syncs on the same figures (as the rest of the report): the kubelet's is the
//! report's own decision; reclaim-first's runs headroom-core's plan on the pods cgroup's cache
//! figures and, when the plan asks for a reclaim, synchronizes again on the figures that
//! reclaim would leave (`crate::reclaim::hypothetical`: the kernel was not asked, so that part
//! is a model). On cgroup v1 there is no `memory.reclaim`: reclaim-first decides as the kubelet.

use headroom_core::manager::{Decision, ManagerState};
use headroom_core::pod::Pod;
use headroom_core::reclaim::{Budget, CacheFigures, Plan, Policy, ReclaimLedger, estimate};
use headroom_core::view::ReclaimView;
use serde::Serialize;

use super::decision::{first_sync, sync_inputs};
use super::input::{MemorySplit, StatusInput};
use super::report::StatusReport;
use super::units::human_bytes;
use crate::reclaim::figures::{self, Basis};
use crate::reclaim::run::{CacheData, reclaim_first_sync};
use crate::reclaim::view::{reclaim_view, with_kubelet};

/// Both verdicts (`policyVerdicts` in the JSON).
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVerdicts {
    /// Both evict the same pod, or both nobody.
    pub agree: bool,
    pub kubelet: PolicyVerdict,
    pub reclaim_first: PolicyVerdict,
    /// What reclaim-first planned (the sync step's `reclaim` object).
    pub reclaim: ReclaimView,
    /// Where the pods cgroup's cache figures came from (null: none).
    pub basis: Option<Basis>,
    /// Why reclaim-first cannot reclaim on this node (cgroup v1), else null.
    pub fallback: Option<&'static str>,
    /// Both verdicts in words ("" when there is nothing to say: no eviction either way).
    pub text: String,
}

/// What one policy evicts now.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVerdict {
    pub evicted_uid: Option<String>,
    pub evicted_pod: Option<String>,
}

/// The fallback text on cgroup v1.
pub const V1_FALLBACK: &str =
    "cgroup v1 has no memory.reclaim: reclaim-first decides as the kubelet on this node";

/// The pods cgroup's cache as status knows it: the kernel's split when the files were read,
/// else the Summary's estimate.
fn cache_data(input: &StatusInput) -> CacheData {
    let Some(host) = &input.host else {
        // A Summary does not say the cgroup version: v2 is assumed (said in the notes).
        return CacheData {
            figures: figures::from_summary(&input.summary),
            pod_caches: None,
            can_reclaim: true,
        };
    };
    let pod_caches = input
        .summary
        .pods
        .iter()
        .map(|p| {
            host.pods
                .iter()
                .find(|c| c.uid == p.pod_ref.uid)
                .map(|c| estimate(&split_figures(&c.memory)).working_set_bytes)
                .unwrap_or_else(|| figures::pod_cache(p.memory.as_ref()))
        })
        .collect();
    CacheData {
        figures: host
            .pods_cgroup
            .as_ref()
            .map(|p| (split_figures(&p.memory), Basis::KernelSplit)),
        pod_caches: Some(pod_caches),
        can_reclaim: host.layout.starts_with("cgroup v2"),
    }
}

fn split_figures(m: &MemorySplit) -> CacheFigures {
    CacheFigures {
        active_file: m.active_file.unwrap_or(0),
        inactive_file: m.inactive_file.unwrap_or(0),
        dirty: m.dirty.unwrap_or(0),
        writeback: m.writeback.unwrap_or(0),
        ..CacheFigures::default()
    }
}

/// Both verdicts for `report` (built from `input` with `top`).
pub fn compare(input: &StatusInput, report: &StatusReport, top: usize) -> PolicyVerdicts {
    // The active pods as the report ranked them (its notes are already in the report).
    let (_, pods) = super::order::eviction_order(input, top, &mut Vec::new());
    let pods = pods.as_slice();
    let cache = cache_data(input);
    let kubelet = first_sync(input, pods);
    let rf = reclaim_first_sync(
        &mut ManagerState::new(),
        &input.eviction,
        sync_inputs(input, pods),
        &cache,
        &mut ReclaimLedger::new(),
        Budget::default(),
    );
    let verdict = |d: &Decision| {
        let pod = d.evictions.first().and_then(|e| pods.get(e.index));
        PolicyVerdict {
            evicted_uid: pod.map(|p| p.metadata.uid.clone()),
            evicted_pod: pod.map(|p| name_of(report, p)),
        }
    };
    let (k, r) = (verdict(&kubelet), verdict(&rf.decision));
    let fallback = (!cache.can_reclaim).then_some(V1_FALLBACK);
    let reclaim = with_kubelet(reclaim_view(&rf), &kubelet, pods);
    let reclaimable = reclaim
        .reclaimable_bytes
        .or_else(|| cache.figures.as_ref().map(|(f, _)| estimate(f).working_set_bytes));
    let text = words(&k, &r, &rf.plan, &reclaim, reclaimable, fallback);
    PolicyVerdicts {
        agree: k == r,
        kubelet: k,
        reclaim_first: r,
        reclaim,
        basis: rf.basis,
        fallback,
        text,
    }
}

/// The name the eviction order shows for `pod`.
fn name_of(report: &StatusReport, pod: &Pod) -> String {
    report
        .eviction_order
        .pods
        .iter()
        .find(|c| c.uid == pod.metadata.uid)
        .map(|c| c.display_name())
        .unwrap_or_else(|| pod.key())
}

fn h(bytes: u64) -> String {
    human_bytes(i128::from(bytes))
}

/// The side-by-side in plain words.
fn words(
    k: &PolicyVerdict,
    r: &PolicyVerdict,
    plan: &Plan,
    reclaim: &ReclaimView,
    reclaimable: Option<u64>,
    fallback: Option<&str>,
) -> String {
    let Some(kubelet_pod) = &k.evicted_pod else {
        return match (&r.evicted_pod, fallback) {
            (None, Some(f)) => format!("Reclaim-first: {f}; neither evicts anyone now."),
            (None, None) => String::new(),
            (Some(p), _) => format!("The kubelet would evict nobody now; reclaim-first would evict {p}."),
        };
    };
    let cache = reclaimable
        .map(|b| {
            format!(
                "{} of the pods cgroup's working set is clean file cache the kernel can drop",
                h(b)
            )
        })
        .unwrap_or_else(|| "the pods cgroup's file cache is unknown".to_string());
    if let Some(f) = fallback {
        return format!("The kubelet would evict {kubelet_pod} now; so would reclaim-first: {f}.");
    }
    let asked = reclaim.asked_bytes.map(h).unwrap_or_default();
    match (&r.evicted_pod, plan) {
        (None, Plan::Reclaim(_)) => format!(
            "The kubelet would evict {kubelet_pod} now; {cache} (reclaim-first would reclaim \
             {asked} first and evict nobody)."
        ),
        (None, _) => format!(
            "The kubelet would evict {kubelet_pod} now; reclaim-first would not: {}.",
            reclaim.message.as_deref().unwrap_or("it holds")
        ),
        (Some(p), Plan::Reclaim(_)) if p != kubelet_pod => format!(
            "The kubelet would evict {kubelet_pod} now; reclaim-first would reclaim {asked} of \
             clean file cache first, then evict {p}."
        ),
        (Some(_), Plan::Reclaim(_)) => format!(
            "Both policies evict {kubelet_pod} now: {cache}, but reclaiming {asked} of it would \
             not lift the signal over the threshold."
        ),
        (Some(_), Plan::Evict(_)) => match (reclaim.shortfall_bytes, reclaim.reclaimable_bytes) {
            (Some(short), Some(can)) => format!(
                "Both policies evict {kubelet_pod} now: the {} of clean file cache in the pods \
                 cgroup's working set cannot cover the {} shortfall.",
                h(can),
                h(short)
            ),
            _ => format!(
                "Both policies evict {kubelet_pod} now: {}.",
                reclaim
                    .message
                    .as_deref()
                    .unwrap_or("reclaim-first evicts as the kubelet")
            ),
        },
        (Some(p), _) => format!("The kubelet would evict {kubelet_pod} now; reclaim-first would evict {p}."),
    }
}

/// The header's `policy` fact.
pub fn header_fact(policy: Policy) -> &'static str {
    match policy {
        Policy::Kubelet => "kubelet (the kubelet's eviction manager, exactly)",
        Policy::ReclaimFirst => {
            "reclaim-first (drops clean file cache before evicting; docs/reclaim-first.md)"
        }
    }
}

/// The side-by-side under the verdict: always when either policy evicts (or reclaim-first
/// cannot reclaim here); when both evict nobody, one line in the verbose view only.
pub fn render_text(out: &mut String, v: &PolicyVerdicts, verbose: bool) {
    if !v.text.is_empty() {
        super::text::wrap(out, "", "", &v.text);
    } else if verbose {
        super::text::wrap(out, "", "", "Both policies agree: nobody is evicted now.");
    }
}

/// What the notes say with `--policy`: what the figures assume.
pub fn notes(v: &PolicyVerdicts, summary_only: bool) -> Vec<String> {
    let mut notes = Vec::new();
    if let Some(b) = v.basis {
        notes.push(format!("Reclaim-first's cache figures. {}.", b.assumption()));
    } else {
        notes.push(
            "Reclaim-first: no cache figures for the pods cgroup (not found), so it decides as \
             the kubelet."
                .to_string(),
        );
    }
    if summary_only {
        notes.push(
            "Reclaim-first: a Summary does not say the cgroup version; cgroup v2 \
             (memory.reclaim) is assumed. A reclaim it plans is not run: its effect is modelled \
             (docs/reclaim-first-replay.md)."
                .to_string(),
        );
    } else {
        notes.push(
            "Reclaim-first: a reclaim it plans is not run by status: its effect is modelled \
             (docs/reclaim-first-replay.md)."
                .to_string(),
        );
    }
    notes
}
