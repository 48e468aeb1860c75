//! Timeline text (JSON or YAML, as `headroom simulate` reads it) -> `Timeline::parse` -> its
//! inline config (or the kubelet's defaults) -> the replay of at most 8 steps through
//! `synchronize` and admission, as the simulator runs them.
//!
//! Properties: a step's evictions name pods of the active list; at most one node-pressure
//! eviction per sync; admission admits every pod while no condition is reported; conditions
//! reported by the decision are the ones the state keeps for admission.
#![no_main]

use headroom_core::admission::admit;
use headroom_core::config::{EvictionConfig, KubeletConfig};
use headroom_core::manager::{ManagerState, SyncInputs, synchronize};
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use headroom_core::timeline::Timeline;
use libfuzzer_sys::fuzz_target;

mod invariants;

/// Keeps one input fast: a long timeline is the same code run more times.
const MAX_STEPS: usize = 8;

fn config_of(timeline: &Timeline) -> Option<EvictionConfig> {
    let kubelet = match &timeline.config {
        Some(text) => KubeletConfig::parse(text, "fuzz (config)").ok()?,
        None => KubeletConfig::default(),
    };
    kubelet.eviction().ok()
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(timeline) = Timeline::parse(text, "fuzz.yaml") else {
        return;
    };
    let Some(config) = config_of(&timeline) else {
        return;
    };
    let mut state = ManagerState::new();
    let mut pods: &[Pod] = &timeline.pods;
    for (n, step) in timeline.steps.iter().take(MAX_STEPS).enumerate() {
        if let Some(p) = &step.pods {
            pods = p;
        }
        let decision = synchronize(
            &mut state,
            &config,
            SyncInputs {
                summary: &step.summary,
                active_pods: pods,
                now: step.time,
                fs_topology: FsTopology::default(),
                pod_cgroup_root: &config.pod_cgroup_root,
            },
        );
        assert_eq!(decision.conditions, state.node_conditions(), "step {n}");
        invariants::evictions_are_sane(&decision, pods.len(), Some(n));
        for pod in &step.admit {
            let result = admit(pod, state.node_conditions());
            if state.node_conditions().is_empty() {
                assert!(result.admit, "step {n}: rejected without a condition: {result:?}");
            }
        }
    }
});
