//! `--policy` on `status`, `simulate` and `replay`: the reclaim-first policy of headroom-core
//! (`headroom_core::reclaim`, docs/reclaim-first.md) run on data that was not reclaimed.
//!
//! The policy itself (what counts as reclaimable, when to reclaim, when to evict anyway) is the
//! core's; this module only feeds it and plays the kernel's part:
//! * [`figures`]: the pods cgroup's cache figures from what each input has (a Summary's
//!   `workingSetBytes - rssBytes`, a recording's raw `memory.stat`, status's kernel split);
//! * [`hypothetical`]: what a reclaim the plan asks for would have done to a Summary (the
//!   kernel did not run it, so the recorded figures still show the cache);
//! * [`run`]: both policies side by side over a sequence of syncs, one manager state each;
//! * [`view`]: the step's policy outcome as JSON and text.
//!
//! Without `--policy` the commands print exactly what they printed before the flag existed.

pub mod figures;
pub mod hypothetical;
pub mod recorded;
pub mod run;
pub mod view;

use headroom_core::reclaim::Policy;

/// `--policy`: clap's list of accepted values and its error for any other word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PolicyArg {
    /// Exactly the kubelet's eviction manager.
    Kubelet,
    /// Ask the kernel to drop clean file cache first; evict only if the threshold is still met.
    ReclaimFirst,
}

impl From<PolicyArg> for Policy {
    fn from(p: PolicyArg) -> Policy {
        match p {
            PolicyArg::Kubelet => Policy::Kubelet,
            PolicyArg::ReclaimFirst => Policy::ReclaimFirst,
        }
    }
}

/// Bytes per page for the kernel's refault counters (x86-64 and arm64 with 4 KiB pages; a
/// recording does not say, and 64 KiB-page kernels are rare on Kubernetes nodes).
pub const PAGE_SIZE: u64 = 4096;
