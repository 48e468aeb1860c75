//! The core's decision for this moment: what a freshly started kubelet eviction manager
//! (`headroom_core::manager::synchronize`, its first sync) decides on these figures. The report
//! takes its met thresholds, its node conditions and the pod it would evict from here instead
//! of repeating the manager's steps.

use headroom_core::manager::{Decision, ManagerState, SyncInputs, synchronize};
use headroom_core::pod::Pod;
use headroom_core::rank::FsTopology;
use jiff::Timestamp;

use super::input::StatusInput;

/// One sync on `pods` (the active pods, as ranked in the eviction order) at the Summary's
/// sample time. A first sync: soft thresholds are met (and set their condition) but their
/// grace period has not passed, so they evict nobody; hard ones evict the first pod.
pub fn first_sync(input: &StatusInput, pods: &[Pod]) -> Decision {
    let mut state = ManagerState::new();
    synchronize(&mut state, &input.eviction, sync_inputs(input, pods))
}

/// What that sync works on (also reclaim-first's, `status --policy`).
pub fn sync_inputs<'a>(input: &'a StatusInput, pods: &'a [Pod]) -> SyncInputs<'a> {
    let now = input
        .summary
        .node
        .memory
        .as_ref()
        .and_then(|m| m.time)
        .unwrap_or(Timestamp::UNIX_EPOCH);
    SyncInputs {
        summary: &input.summary,
        active_pods: pods,
        now,
        // The filesystem layout decides only disk ranking and containerfs thresholds; the
        // Summary's imageFs/containerFs say as much as status can know.
        fs_topology: FsTopology::default(),
        pod_cgroup_root: &input.eviction.pod_cgroup_root,
    }
}
