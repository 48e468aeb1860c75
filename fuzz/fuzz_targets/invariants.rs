//! Properties every decision must hold, whatever the input: shared by the targets that run
//! `synchronize` (summary, pods, timeline). Included with `mod invariants;`.

use headroom_core::manager::{Decision, EvictionCause};

/// Every eviction names one of the `active_pods` pods, and at most one is for node pressure
/// (the kubelet evicts one pod per sync; storage-limit evictions are not limited). `step`
/// names the timeline step in the panic message.
pub fn evictions_are_sane(decision: &Decision, active_pods: usize, step: Option<usize>) {
    // Formatted only when an assertion fails.
    let at = || step.map(|n| format!("step {n}: ")).unwrap_or_default();
    let mut pressure_evictions = 0;
    for e in &decision.evictions {
        assert!(
            e.index < active_pods,
            "{}eviction of pod #{} of {active_pods}",
            at(),
            e.index
        );
        pressure_evictions += usize::from(matches!(e.cause, EvictionCause::Threshold { .. }));
    }
    assert!(
        pressure_evictions <= 1,
        "{}{pressure_evictions} node-pressure evictions in one sync",
        at()
    );
}
