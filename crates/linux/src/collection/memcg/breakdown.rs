//! The accounting: cAdvisor's figures for one cgroup from its raw [`MemcgSample`], with no
//! I/O ([`MemoryBreakdown::from_sample`]), and the kubelet's `MemoryStats`/`SwapStats` from
//! them. The v1 and v2 rules themselves are in [`super::v1`] and [`super::v2`].

use headroom_core::summary::{MemoryStats, SwapStats};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{CgroupVersion, MemcgSample, MemoryEvents, StatMap, UNLIMITED_ABOVE, v1, v2};
use crate::collection::psi::Psi;

/// One cgroup's memory, with cAdvisor's numbers. All amounts in bytes.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MemoryBreakdown {
    pub version: Option<CgroupVersion>,
    /// v1 `memory.usage_in_bytes`, v2 `memory.current` (root: `anon + file`).
    pub usage: u64,
    /// `usage - inactive_file`, clamped at 0 (usage when the key is absent).
    pub working_set: u64,
    /// v1 `total_rss` (mapped anonymous), v2 `anon`.
    pub rss: u64,
    /// v1 `total_cache`, v2 `file`.
    pub cache: u64,
    pub shmem: u64,
    pub active_file: u64,
    /// `total_inactive_file` (v1) / `inactive_file` (v2); `None` when the key is absent.
    pub inactive_file: Option<u64>,
    /// v1 `memory.kmem.usage_in_bytes`, v2 `memory.stat` `kernel` (5.18+); `None` when the
    /// kernel does not report it.
    pub kernel: Option<u64>,
    pub mapped_file: u64,
    pub dirty: u64,
    pub writeback: u64,
    /// Swap only (not memory+swap).
    pub swap: u64,
    /// Memory limit; `u64::MAX` or a value above 2^62 means unlimited. For the node root the
    /// collector sets `MemTotal`.
    pub limit: u64,
    /// The limit cAdvisor reports as the spec's `swap_limit`, which the kubelet subtracts
    /// `swap` from for `swapAvailableBytes`: v2 `memory.swap.max` (swap only), v1
    /// `memory.memsw.limit_in_bytes` (memory+swap: the kubelet's arithmetic is odd there, but
    /// this is what it does), node root `SwapTotal`. A missing or junk file is 0, as
    /// cAdvisor's `readUInt64` makes it (no swap accounting => `swapAvailableBytes: 0`); the
    /// v2 root has no `memory.max`, so cAdvisor never reads a figure there: 0 too. `None`
    /// only in breakdowns that were not read by [`MemcgReader`].
    pub swap_limit: Option<u64>,
    pub max_usage: u64,
    pub failcnt: u64,
    /// LOCAL page faults on v1 (cAdvisor's quirk), hierarchical on v2.
    pub pgfault: u64,
    pub pgmajfault: u64,
    /// v1 `memory.oom_control` `oom_kill` (this cgroup only) or v2 `memory.events` `oom_kill`.
    pub oom_kill: Option<u64>,
    /// v2 `memory.events` (not at the root, not on v1).
    pub events: Option<MemoryEvents>,
    /// v2 `memory.pressure` (never on v1/hybrid). Boxed: absent on v1, and snapshots hold
    /// thousands of breakdowns.
    pub psi: Option<Box<Psi>>,
    /// Malformed `memory.stat` lines that were skipped.
    pub malformed_stat_lines: usize,
    /// The whole `memory.stat`, when the reader was asked to keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<Box<StatMap>>,
    /// The raw readings these figures came from, when the reader was asked to keep them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Box<MemcgSample>>,
}

impl MemoryBreakdown {
    /// True when `limit` is a real limit (not above 2^62).
    pub fn has_limit(&self) -> bool {
        self.limit <= UNLIMITED_ABOVE
    }

    /// `limit - working_set` when the limit is known (saturating, see module docs).
    pub fn available(&self) -> Option<u64> {
        self.has_limit()
            .then(|| self.limit.saturating_sub(self.working_set))
    }

    /// The kubelet's `MemoryStats` for this cgroup. `with_psi` (the kubelet's `KubeletPSI`
    /// gate) adds the `psi` object: this cgroup's `memory.pressure`, or all zeros when there
    /// was none (v1/hybrid, PSI off), as the kubelet copies cAdvisor's zero-valued PSI.
    pub fn to_summary(&self, time: Timestamp, with_psi: bool) -> MemoryStats {
        MemoryStats {
            time: Some(time),
            available_bytes: self.available(),
            usage_bytes: Some(self.usage),
            working_set_bytes: Some(self.working_set),
            rss_bytes: Some(self.rss),
            page_faults: Some(self.pgfault),
            major_page_faults: Some(self.pgmajfault),
            psi: with_psi.then(|| self.psi.as_ref().map(|p| p.to_summary()).unwrap_or_default()),
        }
    }

    /// The kubelet's `SwapStats` (`swapAvailableBytes` only when the swap limit is known).
    pub fn to_summary_swap(&self, time: Timestamp) -> SwapStats {
        SwapStats {
            time: Some(time),
            swap_available_bytes: self
                .swap_limit
                .filter(|l| *l <= UNLIMITED_ABOVE)
                .map(|l| l.saturating_sub(self.swap)),
            swap_usage_bytes: Some(self.swap),
        }
    }
}

impl MemoryBreakdown {
    /// cAdvisor's figures from raw readings (the rules in the module docs). Pure: no file is
    /// read. The whole `memory.stat` is not copied (see [`MemcgReader::keep_stat`]).
    pub fn from_sample(s: &MemcgSample) -> MemoryBreakdown {
        let mut b = match s.version {
            CgroupVersion::V1 => v1::figures(s),
            CgroupVersion::V2 => v2::figures(s),
        };
        b.malformed_stat_lines = s.stat.malformed_lines();
        b
    }
}
